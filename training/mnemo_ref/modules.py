"""Small building blocks shared by the mixers. Parameter names follow the reference."""

from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F


class RMSNorm(nn.Module):
    """y = x / sqrt(mean(x^2) + eps) * weight (statistics in the input dtype)."""

    def __init__(self, hidden_size: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(hidden_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return rms_norm(x, self.weight, self.eps)


def rms_norm(x: torch.Tensor, weight: Optional[torch.Tensor], eps: float) -> torch.Tensor:
    y = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)
    return y * weight if weight is not None else y


class GatedRMSNorm(nn.Module):
    """y = rmsnorm(x) * weight * silu(gate), per head over the last dim (FusedRMSNormGated, 'swish')."""

    def __init__(self, hidden_size: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(hidden_size))

    def forward(self, x: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
        return rms_norm(x, self.weight, self.eps) * F.silu(gate)


def l2_normalize(x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """x / sqrt(sum(x^2) + eps) over the last dim (eps inside the square root)."""
    return x * torch.rsqrt(x.pow(2).sum(-1, keepdim=True) + eps)


class ShortConvolution(nn.Module):
    """Depthwise causal conv1d + SiLU. weight: [D, 1, W] (nn.Conv1d layout, no bias by default).

    y[t, d] = silu( sum_{i=0}^{W-1} weight[d, 0, i] * x[t - (W-1) + i, d] ), x[<0] = 0.
    """

    def __init__(self, hidden_size: int, kernel_size: int, bias: bool = False):
        super().__init__()
        self.hidden_size = hidden_size
        self.kernel_size = kernel_size
        self.weight = nn.Parameter(torch.empty(hidden_size, 1, kernel_size))
        self.bias = nn.Parameter(torch.zeros(hidden_size)) if bias else None
        nn.init.normal_(self.weight, std=1.0 / math.sqrt(kernel_size))

    def forward(self, x: torch.Tensor, cache: Optional[torch.Tensor] = None) -> torch.Tensor:
        """x: [B, T, D]; cache: [B, W-1, D] raw inputs preceding x (zeros at sequence start)."""
        B, T, D = x.shape
        W = self.kernel_size
        if cache is None:
            cache = x.new_zeros(B, W - 1, D)
        xx = torch.cat([cache, x], dim=1)  # [B, W-1+T, D]
        y = F.conv1d(xx.transpose(1, 2), self.weight, self.bias, groups=D)  # [B, D, T]
        return F.silu(y.transpose(1, 2))

    @staticmethod
    def next_cache(cache: Optional[torch.Tensor], x: torch.Tensor, kernel_size: int) -> torch.Tensor:
        B, T, D = x.shape
        if cache is None:
            cache = x.new_zeros(B, kernel_size - 1, D)
        return torch.cat([cache, x], dim=1)[:, -(kernel_size - 1):] if kernel_size > 1 else cache


class GatedMLP(nn.Module):
    """SwiGLU: down_proj(silu(gate_proj(x)) * up_proj(x))."""

    def __init__(self, hidden_size: int, intermediate_size: int):
        super().__init__()
        self.gate_proj = nn.Linear(hidden_size, intermediate_size, bias=False)
        self.up_proj = nn.Linear(hidden_size, intermediate_size, bias=False)
        self.down_proj = nn.Linear(intermediate_size, hidden_size, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


def rope_angles(positions: torch.Tensor, head_dim: int, base: float) -> torch.Tensor:
    """angle[t, i] = pos_t * base^(-2i/head_dim), i in [0, head_dim/2); computed in float64."""
    i = torch.arange(0, head_dim, 2, dtype=torch.float64, device=positions.device)
    inv_freq = 1.0 / (base ** (i / head_dim))
    return positions.to(torch.float64)[:, None] * inv_freq[None, :]


def apply_rope(x: torch.Tensor, positions: torch.Tensor, base: float) -> torch.Tensor:
    """Rotate-half (GPT-NeoX) RoPE. x: [..., T, H, D]; positions: [T] (absolute).

    With x = [x1, x2] (halves of D): y = [x1*cos - x2*sin, x2*cos + x1*sin].
    """
    D = x.shape[-1]
    if D % 2:
        raise ValueError("RoPE needs an even head_dim")
    ang = rope_angles(positions, D, base)
    cos = torch.cos(ang).to(x.dtype)[:, None, :]   # [T, 1, D/2]
    sin = torch.sin(ang).to(x.dtype)[:, None, :]
    x1, x2 = x[..., : D // 2], x[..., D // 2:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


def repeat_kv(x: torch.Tensor, groups: int, dim: int) -> torch.Tensor:
    """GQA: query head h uses KV head h // groups (consecutive grouping)."""
    return x if groups == 1 else torch.repeat_interleave(x, groups, dim=dim)


def masked_softmax_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                             allowed: torch.Tensor, scale: float) -> torch.Tensor:
    """Dense reference attention. q: [B, Hq, Tq, D]; k, v: [B, Hq, Tk, D];
    allowed: bool broadcastable to [B, Hq, Tq, Tk]. Rows with nothing allowed give 0."""
    s = torch.matmul(q, k.transpose(-1, -2)) * scale
    s = s.masked_fill(~allowed, float("-inf"))
    m = s.amax(-1, keepdim=True)
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    p = torch.exp(s - m)
    denom = p.sum(-1, keepdim=True)
    p = p / torch.where(denom > 0, denom, torch.ones_like(denom))
    return torch.matmul(p, v)


def fast_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                   allowed: torch.Tensor, scale: float) -> torch.Tensor:
    """Same contract as masked_softmax_attention; uses SDPA where this PyTorch has it.
    Every row must have at least one allowed key (true for all causal masks here)."""
    sdpa = getattr(F, "scaled_dot_product_attention", None)
    if sdpa is None:
        return masked_softmax_attention(q, k, v, allowed, scale)
    allowed = allowed.expand(q.shape[0], q.shape[1], q.shape[2], k.shape[2])
    try:
        return sdpa(q, k, v, attn_mask=allowed, scale=scale)
    except TypeError:  # PyTorch 2.0 has no `scale` argument
        return sdpa(q * (scale * math.sqrt(q.shape[-1])), k, v, attn_mask=allowed)
