"""Trainer tests on the CPU (tiny model, synthetic corpus; ~20 s).

    /usr/bin/python3 -m unittest discover -s training/trainer -p 'test_*.py'
"""

import csv
import json
import os
import random
import sys
import tempfile
import unittest

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
TRAINING = os.path.dirname(HERE)
sys.path.insert(0, TRAINING)
sys.path.insert(0, os.path.join(TRAINING, "data"))

import train  # noqa: E402
import retrieval as R  # noqa: E402
from mnemo_ref import MnemoForCausalLM, load_file, save_file  # noqa: E402
from mnemo_ref.gdn import gated_delta_rule_chunked, gated_delta_rule_recurrent  # noqa: E402
from mnemo_ref.modules import l2_normalize  # noqa: E402
from trainer import transport  # noqa: E402
from trainer.data import Batches  # noqa: E402
from trainer.gdn_fast import gated_delta_rule_chunked_fast  # noqa: E402

TINY = os.path.join(TRAINING, "configs", "tiny_lalte.json")


def make_corpus(d: str, seq_len: int = 64) -> None:
    tok = R.ByteTokenizer()
    rng = random.Random(0)
    words = "the river ran past an old mill where a careful clockmaker fixed every clock".split()
    ids = []
    for _ in range(120):
        ids.append(tok.bos_id)
        lines = [" ".join(rng.choice(words) for _ in range(rng.randint(3, 12))) for _ in range(rng.randint(2, 8))]
        ids.extend(tok.encode("\n".join(lines)))
    arr = np.asarray(ids, dtype="<u2")
    arr.tofile(os.path.join(d, "train.bin"))
    arr[: len(arr) // 4].tofile(os.path.join(d, "heldout.bin"))
    hay = R.TextHaystack(ids, tok.encode("\n")[0], tok.bos_id)
    L = 2500
    samples = R.train_mixture(6, 0, tok, L, hay)
    np.asarray([s.ids for s in samples], dtype="<u2").tofile(os.path.join(d, "retrieval_train.bin"))
    with open(os.path.join(d, "retrieval_train.json"), "w") as f:
        json.dump({"n": 6, "length": L, "answers": [[list(a) for a in s.answers] for s in samples]}, f)


class GDNFastTest(unittest.TestCase):
    def test_matches_reference(self):
        g = torch.Generator().manual_seed(0)
        for T in (50, 64, 130):
            B, H, K, V = 2, 3, 8, 16
            q = l2_normalize(torch.randn(B, T, H, K, generator=g, dtype=torch.float64)) * K ** -0.5
            k = l2_normalize(torch.randn(B, T, H, K, generator=g, dtype=torch.float64))
            v = torch.randn(B, T, H, V, generator=g, dtype=torch.float64)
            gg = -torch.rand(B, T, H, generator=g, dtype=torch.float64)
            beta = torch.rand(B, T, H, generator=g, dtype=torch.float64)
            S0 = torch.randn(B, H, K, V, generator=g, dtype=torch.float64)
            o1, s1 = gated_delta_rule_chunked(q, k, v, gg, beta, S0, chunk_size=32)
            o2, s2 = gated_delta_rule_chunked_fast(q, k, v, gg, beta, S0, chunk_size=32)
            o3, _ = gated_delta_rule_recurrent(q, k, v, gg, beta, S0)
            self.assertLess((o1 - o2).abs().max().item(), 1e-10)
            self.assertLess((s1 - s2).abs().max().item(), 1e-10)
            self.assertLess((o3 - o2).abs().max().item(), 1e-10)

    def test_gradients(self):
        g = torch.Generator().manual_seed(1)
        B, T, H, K, V = 1, 40, 2, 4, 4
        xs = [l2_normalize(torch.randn(B, T, H, K, generator=g, dtype=torch.float64)),
              l2_normalize(torch.randn(B, T, H, K, generator=g, dtype=torch.float64)),
              torch.randn(B, T, H, V, generator=g, dtype=torch.float64),
              -torch.rand(B, T, H, generator=g, dtype=torch.float64),
              torch.rand(B, T, H, generator=g, dtype=torch.float64)]
        grads = []
        for fn in (gated_delta_rule_chunked, gated_delta_rule_chunked_fast):
            ins = [x.clone().requires_grad_(True) for x in xs]
            o, _ = fn(*ins, chunk_size=16)
            (o * o).sum().backward()
            grads.append([x.grad for x in ins])
        for a, b in zip(*grads):
            self.assertLess((a - b).abs().max().item(), 1e-9)


class TrainerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.corpus = os.path.join(cls.tmp.name, "corpus")
        os.makedirs(cls.corpus)
        make_corpus(cls.corpus)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def run_train(self, out, *extra):
        args = ["--config", TINY, "--out", out, "--corpus", self.corpus, "--seq-len", "64",
                "--micro-batch", "2", "--max-steps", "6", "--log-every", "1", "--eval-every", "3",
                "--val-windows", "2", "--warmup", "2", "--retrieval-fraction", "0.5",
                "--tokenizer", "/nonexistent"] + list(extra)
        self.assertEqual(train.main(args), 0)

    def losses(self, out):
        with open(os.path.join(out, "log.csv")) as f:
            return [r["lm_loss"] for r in csv.DictReader(f)]

    def test_resume_equals_uninterrupted_and_export(self):
        a = os.path.join(self.tmp.name, "a")
        b = os.path.join(self.tmp.name, "b")
        self.run_train(a, "--stop-at", "3", "--no-export")
        self.run_train(a)                                   # resumes at step 3
        self.run_train(b)
        self.assertEqual(self.losses(a), self.losses(b))
        self.assertEqual(len(self.losses(a)), 6)
        exp = os.path.join(a, "export")
        with open(os.path.join(exp, "training.json")) as f:
            info = json.load(f)
        self.assertTrue(info["finished"])
        self.assertEqual(info["steps"], 6)
        m = MnemoForCausalLM.from_pretrained(exp)
        sd = load_file(os.path.join(exp, "model.safetensors"))
        self.assertIn("model.l1_lambda", sd)                 # LTE buffers travel with the weights
        self.assertNotIn("lm_head.weight", sd)               # tied
        x = torch.randint(3, 200, (1, 40))
        self.assertEqual(m(x)["logits"].shape, (1, 40, 8192))

    def test_init_from_starts_from_the_exported_weights(self):
        a = os.path.join(self.tmp.name, "init_a")
        c = os.path.join(self.tmp.name, "init_c")
        self.run_train(a)
        self.run_train(c, "--init-from", os.path.join(a, "export"), "--time-limit", "0")   # 0 steps
        wa = load_file(os.path.join(a, "export", "model.safetensors"))
        wc = load_file(os.path.join(c, "export", "model.safetensors"))
        self.assertEqual(sorted(wa), sorted(wc))
        for k in wa:
            self.assertTrue(torch.equal(wa[k], wc[k]), k)
        with open(os.path.join(c, "export", "training.json")) as f:
            self.assertEqual(json.load(f)["init_from"], os.path.join(a, "export"))
        with self.assertRaises(SystemExit):
            self.run_train(os.path.join(self.tmp.name, "init_d"), "--init-from", self.tmp.name)

    def test_time_limit_stops_cleanly(self):
        c = os.path.join(self.tmp.name, "c")
        self.run_train(c, "--time-limit", "0")
        with open(os.path.join(c, "export", "training.json")) as f:
            info = json.load(f)
        self.assertFalse(info["finished"])
        self.assertEqual(info["steps"], 0)

    def test_batches_deterministic(self):
        d1 = Batches(self.corpus, 64, 4, seed=3, retrieval_fraction=0.5)
        d2 = Batches(self.corpus, 64, 4, seed=3, retrieval_fraction=0.5)
        x1, s1 = d1.batch(7, 0)
        x2, s2 = d2.batch(7, 0)
        self.assertTrue((x1 == x2).all())
        self.assertEqual(s1, s2)
        self.assertFalse((d1.batch(8, 0)[0] == x1).all())
        other_rank = Batches(self.corpus, 64, 4, seed=3, retrieval_fraction=0.5, rank=1, world=2)
        self.assertFalse((other_rank.batch(7, 0)[0] == x1).all())

    def test_schedule(self):
        self.assertAlmostEqual(train.lr_at(0, 100, 10, 1.0, 0.1), 0.1)
        self.assertAlmostEqual(train.lr_at(9, 100, 10, 1.0, 0.1), 1.0)
        self.assertAlmostEqual(train.lr_at(100, 100, 10, 1.0, 0.1), 0.1)
        self.assertAlmostEqual(train.lr_at(55, 100, 10, 1.0, 0.1), 0.55)

    def test_transport_round_trip(self):
        t = {"a": torch.randn(300, 7).to(torch.bfloat16), "b": torch.randn(5).to(torch.bfloat16)}
        src = os.path.join(self.tmp.name, "w.safetensors")
        save_file(t, src, metadata={"format": "pt"})
        parts = transport.pack(src, os.path.join(self.tmp.name, "w"), part_bytes=1000)
        self.assertGreater(len(parts), 1)
        dst = os.path.join(self.tmp.name, "w2.safetensors")
        transport.unpack(os.path.join(self.tmp.name, "w"), dst)
        with open(src, "rb") as f1, open(dst, "rb") as f2:
            self.assertEqual(f1.read(), f2.read())


if __name__ == "__main__":
    unittest.main()


class AnswerWeightTest(unittest.TestCase):
    """train.answer_weighted_loss: weight 1 is the plain next-token loss; a larger weight
    counts each answer token that many times (logits at p-1 predict token p)."""

    def test_weight_one_is_the_plain_loss_and_weights_count_answer_tokens(self):
        torch.manual_seed(0)
        B, T, V = 2, 12, 7
        logits = torch.randn(B, T, V)
        x = torch.randint(0, V, (B, T))
        spans = [[(5, 8)], []]
        ce = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, V), x[:, 1:].reshape(-1), reduction="none").view(B, -1)
        plain = train.answer_weighted_loss(logits, x, spans, 1.0)
        self.assertAlmostEqual(float(plain), float(ce.mean()), places=6)
        w = 4.0
        weights = torch.ones_like(ce)
        weights[0, 4:7] = w                      # tokens 5, 6, 7 are predicted at 4, 5, 6
        expected = (ce * weights).sum() / weights.sum()
        self.assertAlmostEqual(float(train.answer_weighted_loss(logits, x, spans, w)), float(expected), places=6)
        self.assertNotAlmostEqual(float(expected), float(plain), places=3)


class PackJobsTest(unittest.TestCase):
    """retrieval.py pack --jobs builds the same samples as one process (sample i depends
    only on (seed, i))."""

    def test_ranges_concatenate_to_the_whole(self):
        tok = R.ByteTokenizer()
        hay = R.TextHaystack([tok.bos_id] + tok.encode(("The quick brown fox.\n" * 2000)), tok.encode("\n")[0], tok.bos_id)
        whole = R.train_mixture(6, 3, tok, 4000, hay)
        parts = R.train_mixture_range(0, 4, 3, tok, 4000, hay) + R.train_mixture_range(4, 6, 3, tok, 4000, hay)
        self.assertEqual([s.ids for s in whole], [s.ids for s in parts])
        self.assertEqual([s.answers for s in whole], [s.answers for s in parts])
