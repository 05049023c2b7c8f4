"""The committed golden vectors are consistent with this reference (fast parallel form, float64)."""

import json
import os
import unittest

import torch

from . import _TRAINING
from mnemo_ref import SEMANTICS_VERSION, MnemoForCausalLM, load_file

GOLDEN = os.path.join(os.path.dirname(_TRAINING), "tests", "data", "golden")
NAMES = ("gdn", "gdn_swa", "lalte", "lansa", "gdn_attn", "nsa", "transformer")


class GoldenFilesTest(unittest.TestCase):
    def test_sizes(self):
        if not os.path.isdir(GOLDEN):
            self.skipTest("no golden folder")
        total = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(GOLDEN) for f in fs)
        self.assertLess(total, 20 * 1024 * 1024)

    def test_each(self):
        for name in NAMES:
            d = os.path.join(GOLDEN, name)
            if not os.path.isdir(d):
                continue
            with self.subTest(golden=name):
                with open(os.path.join(d, "golden.json")) as f:
                    meta = json.load(f)
                self.assertEqual(meta["semantics_version"], SEMANTICS_VERSION)
                g = load_file(os.path.join(d, "golden.safetensors"))
                m = MnemoForCausalLM.from_pretrained(d, dtype=torch.float64).eval()
                ids = g["input_ids"].long()[None]
                self.assertEqual(ids.shape[1], meta["seq_len"])
                with torch.no_grad():
                    out = m(ids, mode="fast", lte_mode="cache", output_hidden_states=True)

                def close(a, b, what):
                    b = b.double()
                    err = ((a.double() - b).abs() / (1e-6 + b.abs())).max().item()
                    self.assertLess(err, 1e-5, what)   # stored as float32

                close(out["logits"][0], g["logits"], "logits")
                for i, h in enumerate(out["hidden_states"]):
                    close(h[0], g[f"hidden.{i}"], f"hidden.{i}")
                close(out["final_norm"][0], g["hidden.final_norm"], "final_norm")
                for li in m.cfg.lte_layers:
                    self.assertLess((out["lte"][li]["score"][0].T - g[f"lte.{li}.scores"].double()).abs().max().item(), 1e-6)
                    vis = out["lte"][li]["selected"][0]
                    for t in meta["checkpoints"]:
                        r = g[f"lte.{li}.retained.t{t}"]
                        for h in range(r.shape[0]):
                            self.assertEqual(vis[h, t].nonzero().flatten().tolist(),
                                             [p for p in r[h].tolist() if p >= 0])


if __name__ == "__main__":
    unittest.main()
