"""LTE sparsity regulariser: L1 on positive retention scores with an adaptive lambda.

Semantics follow the reference trainer (`lte_utils.py`), re-implemented:
  * per LTE layer, scores [B, T, H] of the training form, the last floor(R/2) positions dropped
    (their right context is not real);
  * loss_l1 = mean over [B, T, layers, H] of lambda[layer, head] * relu(score);
  * kept = fraction of score > 0 per head, times T; num_kept <- EMA(kept) with
    alpha = 2 / (1 + update_steps // 2), every step;
  * every `l1_lambda_update_steps` steps (after `l1_lambda_initial_steps`): with
    (lo, hi) = l1_lambda_tolerate, large = kept > b*lo, small = kept < b*hi:
      first update: lambda = l1_lambda_init where large else 0;
      later: lambda *= l1_alpha if only large, / l1_alpha_neg if only small, unchanged if both
      or neither; clamp to <= l1_lambda_max; values < l1_lambda_min -> 0; 0 and large -> l1_lambda_min.
"""

from __future__ import annotations

from typing import Dict, List, Optional

import torch
import torch.nn.functional as F

from .config import lte_receptive_margins


class LTERegularizer:
    def __init__(self, model, seq_len: int):
        cfg = model.cfg
        self.model = model
        self.attn = cfg.raw["attn"]
        self.layers = cfg.lte_layers
        spec = [s for s in cfg.layers if s.kind == "lte"][0].params
        left, right = lte_receptive_margins(spec["kernel_sizes"], spec["kernel_dilations"])
        self.trim = (left + right + 1) // 2          # floor(R / 2), as the reference
        self.buffer_size = spec["buffer_size"]
        self.seq_len = seq_len
        self._sparsity: List[torch.Tensor] = []
        self._length = seq_len

    def get(self, key, default):
        return self.attn.get(key, default)

    def lambda_matrix(self) -> torch.Tensor:
        lam = self.model.model.l1_lambda
        shared = self.get("l1_lambda_shared", "head")
        if shared == "layer":
            lam = lam[:, None]
        return lam

    def loss(self, lte_aux: Dict[int, Dict[str, torch.Tensor]]) -> torch.Tensor:
        """lte_aux: the `lte` entry of the model's training-form output."""
        scores = []
        sparsity = []
        for i in self.layers:
            sc = lte_aux[i]["score"]
            if self.trim > 0:
                sc = sc[:, : -self.trim]
            scores.append(F.relu(sc))
            sparsity.append((sc > 0).to(sc.dtype).mean(1).detach())   # [B, H]
        self._length = scores[0].shape[1]
        self._sparsity.append(torch.stack([s.mean(0) for s in sparsity]))   # [Nl, H]
        allsc = torch.stack(scores).permute(1, 2, 0, 3)                       # [B, T, Nl, H]
        return (self.lambda_matrix().to(allsc.dtype) * allsc).mean()

    @torch.no_grad()
    def update(self, step: int) -> None:
        """Call once per optimiser step, after the micro-batches' `loss` calls."""
        m = self.model.model
        kept_now = torch.stack(self._sparsity).mean(0) * self._length
        self._sparsity = []
        cycle = int(self.get("l1_lambda_update_steps", 32))
        alpha = 2.0 / (1 + cycle // 2)
        m.num_kept.mul_(1 - alpha).add_(kept_now.to(m.num_kept.dtype) * alpha)
        initial = int(self.get("l1_lambda_initial_steps", 0))
        if step <= initial or step % cycle != 0:
            return
        shared = self.get("l1_lambda_shared", "head")
        kept = {"all": m.num_kept.mean(), "layer": m.num_kept.mean(-1), "head": m.num_kept}[shared]
        lo, hi = self.get("l1_lambda_tolerate", [0.95, 1.0])
        large = kept > self.buffer_size * lo
        small = kept < self.buffer_size * hi
        lam = m.l1_lambda
        if step // cycle == initial // cycle + 1:
            lam.copy_(torch.where(large, torch.full_like(lam, self.get("l1_lambda_init", 1e-9)),
                                  torch.zeros_like(lam)))
            return
        up = torch.full_like(lam, float(self.get("l1_alpha", 1.5)))
        down = torch.full_like(lam, 1.0 / float(self.get("l1_alpha_neg", 2)))
        sign = large.to(torch.int) - small.to(torch.int)
        coeff = torch.where(sign > 0, up, down)
        coeff = torch.where(sign == 0, torch.ones_like(coeff), coeff)
        lam.mul_(coeff).clamp_(max=float(self.get("l1_lambda_max", 1.0)))
        lmin = float(self.get("l1_lambda_min", 1e-9))
        lam.copy_(torch.where(lam < lmin, torch.zeros_like(lam), lam))
        lam.copy_(torch.where((lam == 0) & large, torch.full_like(lam, lmin), lam))
