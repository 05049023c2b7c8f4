import os
import struct
import json
import tempfile
import unittest

import torch

from .helpers import tiny_model
from mnemo_ref import MnemoForCausalLM, load_file, load_file_with_metadata, save_file


class SafetensorsTest(unittest.TestCase):
    def test_round_trip_dtypes(self):
        g = torch.Generator().manual_seed(0)
        tensors = {
            "f64": torch.randn(3, 4, generator=g, dtype=torch.float64),
            "f32": torch.randn(5, generator=g),
            "f16": torch.randn(2, 3, generator=g).half(),
            "bf16": torch.randn(7, generator=g).bfloat16(),
            "i32": torch.arange(-5, 5, dtype=torch.int32).reshape(2, 5),
            "i64": torch.arange(4, dtype=torch.int64),
            "u8": torch.arange(9, dtype=torch.uint8),
            "bool": torch.tensor([True, False, True]),
            "scalar": torch.tensor(3.5),
            "empty": torch.zeros(0, 4),
        }
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "x.safetensors")
            save_file(tensors, p, metadata={"format": "pt", "n": 3})
            back, meta = load_file_with_metadata(p)
            self.assertEqual(meta, {"format": "pt", "n": "3"})
            self.assertEqual(set(back), set(tensors))
            for k, v in tensors.items():
                self.assertEqual(back[k].dtype, v.dtype, k)
                self.assertEqual(tuple(back[k].shape), tuple(v.shape), k)
                self.assertTrue(torch.equal(back[k], v), k)
            # layout: u64 header length, JSON header padded to 8 bytes, contiguous offsets
            with open(p, "rb") as f:
                raw = f.read()
            (n,) = struct.unpack("<Q", raw[:8])
            self.assertEqual(n % 8, 0)
            header = json.loads(raw[8:8 + n])
            end = max(v["data_offsets"][1] for k, v in header.items() if k != "__metadata__")
            self.assertEqual(8 + n + end, len(raw))

    def test_model_save_load(self):
        m = tiny_model("lalte", dtype=torch.float32)
        with tempfile.TemporaryDirectory() as d:
            m.save_pretrained(d)
            sd = load_file(os.path.join(d, "model.safetensors"))
            self.assertNotIn("lm_head.weight", sd)           # tied: omitted, as the reference saves
            self.assertIn("model.l1_lambda", sd)
            m2 = MnemoForCausalLM.from_pretrained(d)
            for k, v in m.state_dict().items():
                self.assertTrue(torch.equal(v, m2.state_dict()[k]), k)
            self.assertIs(m2.lm_head.weight, m2.model.embeddings.weight)

    def test_untied_head_saved(self):
        m = tiny_model("gdn_attn", dtype=torch.float32)
        with tempfile.TemporaryDirectory() as d:
            m.save_pretrained(d)
            self.assertIn("lm_head.weight", load_file(os.path.join(d, "model.safetensors")))


if __name__ == "__main__":
    unittest.main()
