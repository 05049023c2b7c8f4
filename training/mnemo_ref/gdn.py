"""Gated DeltaNet mixer: the recurrent (pure) and chunked (fast) gated delta rule."""

from __future__ import annotations

import math
from typing import Dict, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from .modules import GatedRMSNorm, RMSNorm, ShortConvolution, l2_normalize


def gated_delta_rule_recurrent(q, k, v, g, beta, initial_state=None):
    """Obviously-correct token loop. q, k: [B, T, H, K] (already L2-normalised and scaled);
    v: [B, T, H, V]; g (log decay, <= 0), beta: [B, T, H]; state S: [B, H, K, V].

        S <- exp(g_t) * S
        u_t = beta_t * (v_t - S^T k_t)
        S <- S + k_t u_t^T
        o_t = S^T q_t
    """
    B, T, H, K = k.shape
    V = v.shape[-1]
    S = q.new_zeros(B, H, K, V) if initial_state is None else initial_state.clone()
    out = []
    for t in range(T):
        S = S * torch.exp(g[:, t])[..., None, None]
        kt, vt, qt = k[:, t], v[:, t], q[:, t]
        u = beta[:, t, :, None] * (vt - torch.einsum("bhkv,bhk->bhv", S, kt))
        S = S + kt[..., :, None] * u[..., None, :]
        out.append(torch.einsum("bhkv,bhk->bhv", S, qt))
    return torch.stack(out, dim=1), S


def gated_delta_rule_chunked(q, k, v, g, beta, initial_state=None, chunk_size: int = 64):
    """Same contract as gated_delta_rule_recurrent, computed chunk by chunk (WY form).

    Within a chunk with cumulative log decay G_i = sum_{l<=i} g_l and start state S0:
      (I + A) U = beta*V - (beta*exp(G)) * (K S0),  A_ij = beta_i exp(G_i - G_j) k_i.k_j  (j < i)
      O = (exp(G) * Q) S0 + (M o Q K^T) U,          M_ij = exp(G_i - G_j)              (j <= i)
      S_end = exp(G_C) S0 + (exp(G_C - G) * K)^T U
    """
    B, T, H, K = k.shape
    V = v.shape[-1]
    S = q.new_zeros(B, H, K, V) if initial_state is None else initial_state.clone()
    # [B, H, T, *]
    q, k, v = (x.transpose(1, 2) for x in (q, k, v))
    g, beta = g.transpose(1, 2), beta.transpose(1, 2)
    outs = []
    for s in range(0, T, chunk_size):
        e = min(T, s + chunk_size)
        C = e - s
        qc, kc, vc, gc, bc = q[:, :, s:e], k[:, :, s:e], v[:, :, s:e], g[:, :, s:e], beta[:, :, s:e]
        G = torch.cumsum(gc, dim=-1)                                    # [B, H, C]
        diff = G[..., :, None] - G[..., None, :]                        # G_i - G_j
        lower_eq = torch.ones(C, C, dtype=torch.bool, device=q.device).tril()
        lower = lower_eq.clone().fill_diagonal_(False)
        decay = torch.exp(torch.where(lower_eq, diff, torch.full_like(diff, -math.inf)))
        kk = torch.matmul(kc, kc.transpose(-1, -2))
        A = bc[..., :, None] * decay * kk * lower                       # strictly lower
        eye = torch.eye(C, dtype=q.dtype, device=q.device)
        rhs = bc[..., None] * vc - (bc * torch.exp(G))[..., None] * torch.matmul(kc, S)
        U = torch.linalg.solve_triangular(eye + A, rhs, upper=False, unitriangular=True)
        qk = torch.matmul(qc, kc.transpose(-1, -2)) * decay            # decay is 0 above diagonal
        o = torch.exp(G)[..., None] * torch.matmul(qc, S) + torch.matmul(qk, U)
        outs.append(o)
        GC = G[..., -1:]
        S = torch.exp(GC)[..., None] * S + torch.matmul(
            (torch.exp(GC - G)[..., None] * kc).transpose(-1, -2), U)
    o = torch.cat(outs, dim=2).transpose(1, 2)
    return o, S


class GatedDeltaNet(nn.Module):
    """Parameter names and shapes as the reference `GatedDeltaNet` layer."""

    def __init__(self, hidden_size: int, head_dim: int, num_heads: int, expand_v: float = 2,
                 num_v_heads: Optional[int] = None, use_gate: bool = True,
                 use_short_conv: bool = True, conv_size: int = 4, allow_neg_eigval: bool = False,
                 norm_eps: float = 1e-5, **_):
        super().__init__()
        self.hidden_size = hidden_size
        self.num_heads = num_heads
        self.num_v_heads = num_v_heads if num_v_heads is not None else num_heads
        self.head_k_dim = head_dim
        self.head_v_dim = int(round(head_dim * expand_v))
        if abs(head_dim * expand_v - self.head_v_dim) > 1e-5:
            raise ValueError(f"expand_v={expand_v} does not give an integer head_v_dim")
        if self.num_v_heads % self.num_heads:
            raise ValueError("num_v_heads must be a multiple of num_heads")
        self.key_dim = self.num_heads * self.head_k_dim
        self.value_dim = self.num_v_heads * self.head_v_dim
        self.use_gate = use_gate
        self.use_short_conv = use_short_conv
        self.conv_size = conv_size
        self.allow_neg_eigval = allow_neg_eigval

        self.q_proj = nn.Linear(hidden_size, self.key_dim, bias=False)
        self.k_proj = nn.Linear(hidden_size, self.key_dim, bias=False)
        self.v_proj = nn.Linear(hidden_size, self.value_dim, bias=False)
        self.a_proj = nn.Linear(hidden_size, self.num_v_heads, bias=False)
        self.b_proj = nn.Linear(hidden_size, self.num_v_heads, bias=False)
        self.A_log = nn.Parameter(torch.log(torch.empty(self.num_v_heads).uniform_(1, 16)))
        dt = torch.exp(torch.rand(self.num_v_heads) * (math.log(0.1) - math.log(0.001)) + math.log(0.001))
        dt = torch.clamp(dt, min=1e-4)
        self.dt_bias = nn.Parameter(dt + torch.log(-torch.expm1(-dt)))
        if use_short_conv:
            self.q_conv1d = ShortConvolution(self.key_dim, conv_size)
            self.k_conv1d = ShortConvolution(self.key_dim, conv_size)
            self.v_conv1d = ShortConvolution(self.value_dim, conv_size)
        if use_gate:
            self.g_proj = nn.Linear(hidden_size, self.value_dim, bias=False)
            self.o_norm = GatedRMSNorm(self.head_v_dim, eps=norm_eps)
        else:
            self.o_norm = RMSNorm(self.head_v_dim, eps=norm_eps)
        self.o_proj = nn.Linear(self.value_dim, hidden_size, bias=False)

    def init_state(self, batch_size: int, dtype, device) -> Dict[str, torch.Tensor]:
        st = {"S": torch.zeros(batch_size, self.num_v_heads, self.head_k_dim, self.head_v_dim,
                               dtype=dtype, device=device)}
        if self.use_short_conv:
            W = self.conv_size
            st["conv_q"] = torch.zeros(batch_size, W - 1, self.key_dim, dtype=dtype, device=device)
            st["conv_k"] = torch.zeros(batch_size, W - 1, self.key_dim, dtype=dtype, device=device)
            st["conv_v"] = torch.zeros(batch_size, W - 1, self.value_dim, dtype=dtype, device=device)
        return st

    def forward(self, x: torch.Tensor, state: Optional[Dict[str, torch.Tensor]] = None,
                mode: str = "pure") -> Tuple[torch.Tensor, Optional[Dict[str, torch.Tensor]]]:
        """x: [B, T, hidden]. With `state`, continues from it and returns the updated state
        (chunk-size invariant). mode: 'pure' (token loop) or 'fast' (chunked)."""
        B, T, _ = x.shape
        qp, kp, vp = self.q_proj(x), self.k_proj(x), self.v_proj(x)
        new_state = None
        if state is not None:
            new_state = {}
        if self.use_short_conv:
            cq = state["conv_q"] if state is not None else None
            ck = state["conv_k"] if state is not None else None
            cv = state["conv_v"] if state is not None else None
            q = self.q_conv1d(qp, cq)
            k = self.k_conv1d(kp, ck)
            v = self.v_conv1d(vp, cv)
            if state is not None:
                W = self.conv_size
                new_state["conv_q"] = ShortConvolution.next_cache(cq, qp, W)
                new_state["conv_k"] = ShortConvolution.next_cache(ck, kp, W)
                new_state["conv_v"] = ShortConvolution.next_cache(cv, vp, W)
        else:
            q, k, v = F.silu(qp), F.silu(kp), F.silu(vp)
        q = q.view(B, T, self.num_heads, self.head_k_dim)
        k = k.view(B, T, self.num_heads, self.head_k_dim)
        v = v.view(B, T, self.num_v_heads, self.head_v_dim)
        if self.num_v_heads > self.num_heads:
            rep = self.num_v_heads // self.num_heads
            q = torch.repeat_interleave(q, rep, dim=2)
            k = torch.repeat_interleave(k, rep, dim=2)
        beta = torch.sigmoid(self.b_proj(x))
        if self.allow_neg_eigval:
            beta = beta * 2.0
        g = -torch.exp(self.A_log.to(x.dtype)) * F.softplus(self.a_proj(x) + self.dt_bias.to(x.dtype))
        q = l2_normalize(q, 1e-6) * (self.head_k_dim ** -0.5)
        k = l2_normalize(k, 1e-6)
        S0 = state["S"] if state is not None else None
        if mode == "pure":
            o, S = gated_delta_rule_recurrent(q, k, v, g, beta, S0)
        elif mode == "fast":
            o, S = gated_delta_rule_chunked(q, k, v, g, beta, S0)
        else:
            raise ValueError(f"unknown mode {mode!r}")
        if state is not None:
            new_state["S"] = S
        if self.use_gate:
            gate = self.g_proj(x).view(B, T, self.num_v_heads, self.head_v_dim)
            o = self.o_norm(o, gate)
        else:
            o = self.o_norm(o)
        o = self.o_proj(o.reshape(B, T, self.value_dim))
        return o, new_state
