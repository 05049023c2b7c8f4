import json
import os
import shutil
import subprocess
import unittest

import torch

from .helpers import GOLDEN_CONFIGS, tiny_config
from mnemo_ref import MnemoForCausalLM, parse_config
from mnemo_ref.config import mlp_intermediate_size

PAPER_REPO = "/work/.mirror/idiap+hybrid-linear-sparse-attention/repo"


def paper_configs():
    """The reference's configs/*.json, read from its mirror when present (nothing copied)."""
    if not os.path.isdir(PAPER_REPO) or shutil.which("git") is None:
        return {}
    try:
        names = subprocess.run(["git", "-C", PAPER_REPO, "ls-tree", "--name-only", "HEAD", "configs/"],
                               capture_output=True, text=True, check=True).stdout.split()
        out = {}
        for n in names:
            if n.endswith(".json"):
                txt = subprocess.run(["git", "-C", PAPER_REPO, "show", f"HEAD:{n}"],
                                     capture_output=True, text=True, check=True).stdout
                out[os.path.basename(n)] = json.loads(txt)
        return out
    except (subprocess.CalledProcessError, OSError):
        return {}


EXPECTED_KINDS = {
    "gated_delta_net": {"gdn"},
    "gated_delta_net_swa": {"gdn", "swa"},
    "gated_delta_net_attn": {"gdn", "attn"},
    "gated_delta_net_lte": {"gdn", "lte"},
    "gated_delta_net_nsa": {"gdn", "nsa"},
    "nsa": {"nsa"},
    "transformer": {"attn"},
}


class PaperConfigTest(unittest.TestCase):
    def test_paper_configs_parse(self):
        cfgs = paper_configs()
        if not cfgs:
            self.skipTest("reference repository mirror not present")
        self.assertGreaterEqual(len(cfgs), 14)
        for fname, raw in cfgs.items():
            with self.subTest(config=fname):
                cfg = parse_config(raw)
                stem = fname.rsplit("_", 1)[0]
                self.assertEqual({s.kind for s in cfg.layers}, EXPECTED_KINDS[stem])
                self.assertEqual(len(cfg.layers), raw["num_hidden_layers"])
                if "attn" in raw and cfg.model_type != "nsa":
                    for s in cfg.layers:
                        self.assertEqual(s.kind != "gdn", s.index in raw["attn"]["layers"])
                if stem == "gated_delta_net_lte":
                    p = [s for s in cfg.layers if s.kind == "lte"][0].params
                    self.assertEqual(p["head_dim"], raw["hidden_size"] // raw["attn"]["num_heads"])
                    self.assertEqual((p["window_size"], p["buffer_size"], p["sink_size"]), (768, 512, 4))
                    self.assertEqual(p["kernel_dilations"], [2, 2, 2])
                if cfg.model_type == "nsa":
                    self.assertEqual(cfg.layers[0].params["head_dim"], 64)

    def test_paper_configs_build_scaled_down(self):
        """Each paper config, shrunk (same structure), builds and runs."""
        cfgs = paper_configs()
        if not cfgs:
            self.skipTest("reference repository mirror not present")
        for fname, raw in cfgs.items():
            if "0.4B" not in fname:
                continue
            with self.subTest(config=fname):
                raw = json.loads(json.dumps(raw))
                raw.update(hidden_size=64, num_hidden_layers=4, vocab_size=64)
                if raw["model_type"] in ("gated_deltanet", "hybrid_gated_deltanet"):
                    raw.update(num_heads=2, head_dim=16)
                if "attn" in raw:
                    raw["attn"]["layers"] = [1, 3]
                    a = raw["attn"]
                    if a.get("attn_type") == "nsa":
                        a.update(num_heads=16, num_kv_heads=1, head_dim=8, block_size=8, block_counts=2, window_size=8)
                    else:
                        a.update(num_heads=4, num_kv_heads=4)
                    if a.get("attn_type") == "lte":
                        a.update(window_size=12, buffer_size=8)
                    elif a.get("window_size"):
                        a["window_size"] = 8
                if raw["model_type"] == "nsa":
                    raw.update(num_heads=16, num_kv_heads=1, block_size=8, block_counts=2, window_size=8)
                if raw["model_type"] == "transformer":
                    raw.update(num_heads=4)
                m = MnemoForCausalLM(parse_config(raw)).eval()
                ids = torch.randint(0, 64, (1, 20))
                with torch.no_grad():
                    out = m(ids, lte_mode="cache")["logits"]
                self.assertEqual(tuple(out.shape), (1, 20, 64))
                self.assertTrue(torch.isfinite(out).all())


class ConfigRulesTest(unittest.TestCase):
    def test_golden_configs_kinds(self):
        kinds = {n: [s.kind for s in parse_config(c).layers] for n, c in GOLDEN_CONFIGS.items()}
        self.assertEqual(kinds["gdn"], ["gdn"] * 4)
        self.assertEqual(kinds["gdn_swa"], ["gdn", "swa", "gdn", "swa"])
        self.assertEqual(kinds["lalte"], ["gdn", "lte", "gdn", "lte"])
        self.assertEqual(kinds["lansa"], ["gdn", "nsa", "gdn", "nsa"])
        self.assertEqual(kinds["gdn_attn"], ["gdn", "attn", "gdn", "attn"])
        self.assertEqual(kinds["nsa"], ["nsa"] * 4)
        self.assertEqual(kinds["transformer"], ["attn"] * 4)

    def test_intermediate_size_rule(self):
        self.assertEqual(mlp_intermediate_size(64, 4, None), 256)
        self.assertEqual(mlp_intermediate_size(1024, 4, None), 2816)
        self.assertEqual(mlp_intermediate_size(2048, 4, None), 5632)
        self.assertEqual(mlp_intermediate_size(64, 4, 100), 100)

    def test_gated_deltanet_ignores_attn_type(self):
        cfg = tiny_config("gdn_swa", attn={"attn_type": "lte"})
        self.assertEqual(cfg.layers[1].kind, "swa")

    def test_nsa_model_head_dim_is_64(self):
        cfg = tiny_config("nsa", head_dim=32)
        self.assertEqual(cfg.layers[0].params["head_dim"], 64)

    def test_lte_window_must_cover_receptive_field(self):
        with self.assertRaises(ValueError):
            MnemoForCausalLM(tiny_config("lalte", attn={"window_size": 11}))

    def test_bad_values_rejected(self):
        with self.assertRaises(ValueError):
            parse_config({"model_type": "mamba"})
        with self.assertRaises(ValueError):
            tiny_config("lalte", attn={"routing_method": "softmax"})


class ParameterNamesTest(unittest.TestCase):
    def test_hybrid_lte_names(self):
        """Names of the reference's HybridGatedDeltaNetForCausalLM state_dict (read from its modules)."""
        m = MnemoForCausalLM(tiny_config("lalte"))
        names = set(m.paper_state_dict())
        gdn = ["attn.q_proj.weight", "attn.k_proj.weight", "attn.v_proj.weight", "attn.a_proj.weight",
               "attn.b_proj.weight", "attn.A_log", "attn.dt_bias", "attn.q_conv1d.weight",
               "attn.k_conv1d.weight", "attn.v_conv1d.weight", "attn.g_proj.weight",
               "attn.o_norm.weight", "attn.o_proj.weight"]
        lte = ["attn.q_proj.weight", "attn.k_proj.weight", "attn.v_proj.weight", "attn.o_proj.weight"] + [
            f"attn.router.conv_stack.convs.{i}.{p}" for i in range(3) for p in ("weight", "bias")] + [
            "attn.router.conv_stack.proj.weight", "attn.router.conv_stack.proj.bias"]
        block = ["attn_norm.weight", "mlp_norm.weight", "mlp.gate_proj.weight", "mlp.up_proj.weight",
                 "mlp.down_proj.weight"]
        expected = {"model.embeddings.weight", "model.norm.weight", "model.l1_lambda", "model.num_kept"}
        for i in range(4):
            for n in block + (lte if i in (1, 3) else gdn):
                expected.add(f"model.layers.{i}.{n}")
        self.assertEqual(names, expected)
        sd = m.paper_state_dict()
        self.assertEqual(tuple(sd["model.layers.1.attn.router.conv_stack.convs.0.weight"].shape), (32, 32, 1, 3))
        self.assertEqual(tuple(sd["model.layers.1.attn.router.conv_stack.proj.weight"].shape), (2, 4, 1, 1))
        self.assertEqual(tuple(sd["model.layers.0.attn.q_conv1d.weight"].shape), (64, 1, 4))
        self.assertEqual(tuple(sd["model.l1_lambda"].shape), (2, 2))

    def test_nsa_names(self):
        m = MnemoForCausalLM(tiny_config("lansa"))
        names = {n for n in m.paper_state_dict() if n.startswith("model.layers.1.attn.")}
        self.assertEqual(names, {f"model.layers.1.attn.{p}_proj.weight" for p in "qkvgo"})
        self.assertEqual(tuple(m.paper_state_dict()["model.layers.1.attn.g_proj.weight"].shape), (48, 64))


if __name__ == "__main__":
    unittest.main()
