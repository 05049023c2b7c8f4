"""LTE training form: straight-through score gradient, L1 regulariser with adaptive lambda."""

import unittest

import torch

from .helpers import random_ids, tiny_model
from mnemo_ref.lte import StraightThroughScore
from mnemo_ref.regularizer import LTERegularizer


class StraightThroughTest(unittest.TestCase):
    def test_gradient(self):
        g = torch.Generator().manual_seed(0)
        v = torch.randn(2, 5, 3, 4, generator=g, dtype=torch.float64, requires_grad=True)
        s = torch.randn(2, 5, 3, generator=g, dtype=torch.float64, requires_grad=True)
        w = torch.randn(2, 5, 3, 4, generator=g, dtype=torch.float64)
        out = StraightThroughScore.apply(v, s)
        self.assertTrue(torch.equal(out, v))
        (out * w).sum().backward()
        self.assertTrue(torch.allclose(v.grad, w))
        self.assertTrue(torch.allclose(s.grad, (w * v.detach()).sum(-1)))

    def test_router_gets_gradient(self):
        m = tiny_model("lalte").train()
        ids = random_ids(64)
        out = m(ids, labels=ids, mode="fast", lte_mode="train")
        out["loss"].backward()
        for li in m.cfg.lte_layers:
            gw = m.model.layers[li].attn.router.conv_stack.convs[0].weight.grad
            self.assertIsNotNone(gw)
            self.assertGreater(gw.abs().max().item(), 0)

    def test_train_form_mask(self):
        m = tiny_model("lalte")
        ids = random_ids(50)
        with torch.no_grad():
            out = m(ids, mode="pure", lte_mode="train")
        sel = out["lte"][1]["selected"][0]
        sc = out["lte"][1]["score"][0]
        self.assertTrue(sel[:4].all())                            # sink
        self.assertTrue(torch.equal(sel[4:], sc[4:] > 0))
        m.model.layers[1].attn.router.enabled = False             # warm-up: everything visible
        with torch.no_grad():
            self.assertTrue(m(ids, mode="pure", lte_mode="train")["lte"][1]["selected"].all())


class RegularizerTest(unittest.TestCase):
    def test_loss_formula(self):
        m = tiny_model("lalte")
        reg = LTERegularizer(m, seq_len=40)
        m.model.l1_lambda.copy_(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
        out = m(random_ids(40), mode="fast", lte_mode="train")
        loss = reg.loss(out["lte"])
        trim = 6                                                  # floor(13 / 2)
        parts = []
        for n, li in enumerate((1, 3)):
            sc = out["lte"][li]["score"][:, :-trim].clamp(min=0)
            parts.append(sc * m.model.l1_lambda[n])
        expect = torch.stack(parts).mean()
        self.assertAlmostEqual(loss.item(), expect.item(), 10)

    def test_adaptive_lambda(self):
        m = tiny_model("lalte")
        a = m.cfg.raw["attn"]
        reg = LTERegularizer(m, seq_len=100)
        lam = m.model.l1_lambda
        b = a["buffer_size"]                                       # 12; tolerate [0.95, 1.0]
        cycle = a["l1_lambda_update_steps"]

        def step(n, kept):
            reg._sparsity = [torch.full((2, 2), kept / 100.0, dtype=torch.float64)]
            reg._length = 100
            reg.update(n)

        m.model.num_kept.fill_(50.0)                               # far above b: "large"
        step(cycle, 50.0)                                          # first update: lambda_init where large
        self.assertTrue(torch.allclose(lam, torch.full_like(lam, a["l1_lambda_init"])))
        step(2 * cycle, 50.0)                                      # large: *= alpha
        self.assertTrue(torch.allclose(lam, torch.full_like(lam, a["l1_lambda_init"] * a["l1_alpha"])))
        step(2 * cycle + 1, 50.0)                                  # not an update step
        self.assertTrue(torch.allclose(lam, torch.full_like(lam, a["l1_lambda_init"] * a["l1_alpha"])))
        m.model.num_kept.fill_(1.0)
        step(3 * cycle, 1.0)                                       # small: /= alpha_neg, then < min -> 0
        self.assertTrue(torch.equal(lam, torch.zeros_like(lam)))
        m.model.num_kept.fill_(40.0)
        step(4 * cycle, 40.0)                                      # 0 and large -> lambda_min
        self.assertTrue(torch.allclose(lam, torch.full_like(lam, a["l1_lambda_min"])))
        m.model.num_kept.fill_(0.97 * b)
        lam.fill_(3e-6)
        step(5 * cycle, 0.97 * b)                                  # inside [0.95 b, b]: unchanged
        self.assertTrue(torch.allclose(lam, torch.full_like(lam, 3e-6)))

    def test_num_kept_ema(self):
        m = tiny_model("lalte")
        reg = LTERegularizer(m, seq_len=100)
        m.model.num_kept.fill_(10.0)
        reg._sparsity = [torch.full((2, 2), 0.3, dtype=torch.float64)]
        reg._length = 100
        reg.update(1)
        alpha = 2 / (1 + 32 // 2)
        self.assertTrue(torch.allclose(m.model.num_kept, torch.full_like(m.model.num_kept, 10 * (1 - alpha) + 30 * alpha)))


if __name__ == "__main__":
    unittest.main()
