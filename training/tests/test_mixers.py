"""Pure (obviously correct) vs fast forms agree."""

import unittest

import torch

from .helpers import max_diff, random_ids, tiny_model
from mnemo_ref.gdn import gated_delta_rule_chunked, gated_delta_rule_recurrent
from mnemo_ref.modules import apply_rope, l2_normalize


class GatedDeltaRuleTest(unittest.TestCase):
    def _inputs(self, B=2, T=150, H=3, K=8, V=12, seed=0):
        g = torch.Generator().manual_seed(seed)
        r = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64)
        q = l2_normalize(r(B, T, H, K)) * K ** -0.5
        k = l2_normalize(r(B, T, H, K))
        v = r(B, T, H, V)
        gate = -torch.rand(B, T, H, generator=g, dtype=torch.float64) * 2.0
        beta = torch.rand(B, T, H, generator=g, dtype=torch.float64)
        S0 = r(B, H, K, V)
        return q, k, v, gate, beta, S0

    def test_chunked_equals_recurrent(self):
        q, k, v, g, b, S0 = self._inputs()
        for chunk in (1, 16, 64, 200):
            for init in (None, S0):
                o1, s1 = gated_delta_rule_recurrent(q, k, v, g, b, init)
                o2, s2 = gated_delta_rule_chunked(q, k, v, g, b, init, chunk_size=chunk)
                self.assertLess(max_diff(o1, o2), 1e-10, chunk)
                self.assertLess(max_diff(s1, s2), 1e-10, chunk)

    def test_chunked_float32_strong_decay(self):
        q, k, v, g, b, S0 = self._inputs(T=130)
        g = g * 10           # exp(G_i - G_j) spans many orders of magnitude inside a chunk
        o1, _ = gated_delta_rule_recurrent(q, k, v, g, b, S0)
        o2, _ = gated_delta_rule_chunked(*(x.float() for x in (q, k, v, g, b, S0)))
        self.assertLess(max_diff(o1, o2), 1e-4)

    def test_recurrence_definition(self):
        """One step by hand: S = e^g S0 + k beta (v - e^g S0^T k)^T; o = S^T q."""
        q, k, v, g, b, S0 = self._inputs(B=1, T=1, H=1)
        o, S = gated_delta_rule_recurrent(q, k, v, g, b, S0)
        S_dec = torch.exp(g[0, 0, 0]) * S0[0, 0]
        u = b[0, 0, 0] * (v[0, 0, 0] - S_dec.T @ k[0, 0, 0])
        S_ref = S_dec + torch.outer(k[0, 0, 0], u)
        self.assertLess(max_diff(S[0, 0], S_ref), 1e-12)
        self.assertLess(max_diff(o[0, 0, 0], S_ref.T @ q[0, 0, 0]), 1e-12)


class RopeTest(unittest.TestCase):
    def test_rotate_half_layout(self):
        x = torch.zeros(1, 1, 1, 4, dtype=torch.float64)
        x[..., 0] = 1.0                                     # pairs are (i, i + D/2)
        y = apply_rope(x, torch.tensor([3]), 10000.0)
        self.assertAlmostEqual(y[0, 0, 0, 0].item(), torch.cos(torch.tensor(3.0, dtype=torch.float64)).item(), 12)
        self.assertAlmostEqual(y[0, 0, 0, 2].item(), torch.sin(torch.tensor(3.0, dtype=torch.float64)).item(), 12)
        x = torch.zeros(1, 1, 1, 4, dtype=torch.float64)
        x[..., 1] = 1.0                                     # frequency base^(-2/4) = 0.01
        y = apply_rope(x, torch.tensor([5]), 10000.0)
        self.assertAlmostEqual(y[0, 0, 0, 3].item(), torch.sin(torch.tensor(0.05, dtype=torch.float64)).item(), 12)


class ModelPureFastTest(unittest.TestCase):
    def test_all_golden_configs(self):
        ids = random_ids(80)
        for name in ("gdn", "gdn_swa", "lalte", "lansa", "gdn_attn", "nsa", "transformer"):
            with self.subTest(model=name):
                m = tiny_model(name)
                with torch.no_grad():
                    for lte_mode in (("train", "cache", "paper_eval") if name == "lalte" else ("cache",)):
                        a = m(ids, mode="pure", lte_mode=lte_mode)["logits"]
                        b = m(ids, mode="fast", lte_mode=lte_mode)["logits"]
                        self.assertLess(max_diff(a, b), 1e-9, lte_mode)

    def test_gdn_long_sequence_spans_chunks(self):
        m = tiny_model("gdn")
        ids = random_ids(200)
        with torch.no_grad():
            self.assertLess(max_diff(m(ids, mode="pure")["logits"], m(ids, mode="fast")["logits"]), 1e-9)

    def test_batch_and_float32(self):
        m = tiny_model("lalte")
        ids = torch.cat([random_ids(60, seed=1), random_ids(60, seed=2)])
        with torch.no_grad():
            both = m(ids, mode="fast", lte_mode="cache")["logits"]
            one = m(ids[1:], mode="pure", lte_mode="cache")["logits"]
            self.assertLess(max_diff(both[1:], one), 1e-9)
            m32 = tiny_model("lalte", dtype=torch.float32)
            self.assertLess(max_diff(m32(ids, mode="fast", lte_mode="cache")["logits"], both), 1e-3)


if __name__ == "__main__":
    unittest.main()
