"""Softmax attention mixer: full causal (`attn`) or sliding-window (`swa`), RoPE, GQA."""

from __future__ import annotations

from typing import Dict, Optional, Tuple

import torch
import torch.nn as nn

from .modules import RMSNorm, apply_rope, fast_attention, masked_softmax_attention, repeat_kv


def causal_window_mask(q_pos: torch.Tensor, k_pos: torch.Tensor, window: Optional[int]) -> torch.Tensor:
    """allowed[i, j] = k_j <= q_i and (window is None or q_i - k_j < window).

    The reference `Attention` passes flash-attn window (window_size-1, 0): a query sees itself
    and the window_size-1 tokens before it (window_size keys in all)."""
    d = q_pos[:, None] - k_pos[None, :]
    allowed = d >= 0
    if window is not None:
        allowed &= d < window
    return allowed


class Attention(nn.Module):
    def __init__(self, hidden_size: int, num_heads: int, num_kv_heads: int, head_dim: int,
                 qkv_bias: bool = False, window_size: Optional[int] = None,
                 rope_theta: float = 10000.0, qk_norm: bool = False, **_):
        super().__init__()
        self.num_heads = num_heads
        self.num_kv_heads = num_kv_heads
        self.head_dim = head_dim
        self.window_size = window_size
        self.rope_theta = rope_theta
        self.qk_norm = qk_norm
        if num_heads % num_kv_heads:
            raise ValueError("num_heads must be a multiple of num_kv_heads")
        self.q_proj = nn.Linear(hidden_size, num_heads * head_dim, bias=qkv_bias)
        self.k_proj = nn.Linear(hidden_size, num_kv_heads * head_dim, bias=qkv_bias)
        self.v_proj = nn.Linear(hidden_size, num_kv_heads * head_dim, bias=qkv_bias)
        self.o_proj = nn.Linear(num_heads * head_dim, hidden_size, bias=False)
        if qk_norm:
            self.q_norm = RMSNorm(head_dim, eps=1e-5)   # reference RMSNorm default eps
            self.k_norm = RMSNorm(head_dim, eps=1e-5)

    def init_state(self, batch_size: int, dtype, device) -> Dict[str, torch.Tensor]:
        z = torch.zeros(batch_size, 0, self.num_kv_heads, self.head_dim, dtype=dtype, device=device)
        return {"k": z, "v": z.clone(), "pos": torch.zeros(0, dtype=torch.long, device=device), "t": 0}

    def forward(self, x: torch.Tensor, state: Optional[Dict] = None,
                mode: str = "pure") -> Tuple[torch.Tensor, Optional[Dict]]:
        B, T, _ = x.shape
        t0 = state["t"] if state is not None else 0
        pos = torch.arange(t0, t0 + T, device=x.device)
        q = self.q_proj(x).view(B, T, self.num_heads, self.head_dim)
        k = self.k_proj(x).view(B, T, self.num_kv_heads, self.head_dim)
        v = self.v_proj(x).view(B, T, self.num_kv_heads, self.head_dim)
        if self.qk_norm:
            q, k = self.q_norm(q), self.k_norm(k)
        q = apply_rope(q, pos, self.rope_theta)
        k = apply_rope(k, pos, self.rope_theta)
        new_state = None
        if state is not None:
            k_all = torch.cat([state["k"], k], dim=1)
            v_all = torch.cat([state["v"], v], dim=1)
            k_pos = torch.cat([state["pos"], pos])
            keep = k_all.shape[1] if self.window_size is None else min(k_all.shape[1], self.window_size)
            new_state = {"k": k_all[:, -keep:], "v": v_all[:, -keep:], "pos": k_pos[-keep:], "t": t0 + T}
        else:
            k_all, v_all, k_pos = k, v, pos
        allowed = causal_window_mask(pos, k_pos, self.window_size)
        G = self.num_heads // self.num_kv_heads
        qh = q.transpose(1, 2)
        kh = repeat_kv(k_all.transpose(1, 2), G, 1)
        vh = repeat_kv(v_all.transpose(1, 2), G, 1)
        scale = self.head_dim ** -0.5
        attn = masked_softmax_attention if mode == "pure" else fast_attention
        o = attn(qh, kh, vh, allowed[None, None], scale)
        o = self.o_proj(o.transpose(1, 2).reshape(B, T, self.num_heads * self.head_dim))
        return o, new_state
