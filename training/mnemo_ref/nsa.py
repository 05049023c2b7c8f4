"""Native sparse attention mixer (compressed + selected + sliding-window branches, gated)."""

from __future__ import annotations

from typing import Dict, Optional, Tuple

import torch
import torch.nn as nn

from .modules import apply_rope, fast_attention, repeat_kv


def next_power_of_2(n: int) -> int:
    p = 1
    while p < n:
        p *= 2
    return p


class NativeSparseAttention(nn.Module):
    def __init__(self, hidden_size: int, num_heads: int, num_kv_heads: int, head_dim: int,
                 block_size: int = 64, block_counts: int = 16, window_size: Optional[int] = 512,
                 qkv_bias: bool = False, rope_theta: float = 10000.0, **_):
        super().__init__()
        if num_heads % num_kv_heads:
            raise ValueError("num_heads must be a multiple of num_kv_heads")
        self.num_heads, self.num_kv_heads, self.head_dim = num_heads, num_kv_heads, head_dim
        self.block_size = block_size
        self.block_counts = block_counts
        # the reference rounds an integer block count up to a power of two
        self.num_selected = next_power_of_2(block_counts)
        self.window_size = window_size if window_size else 0
        self.rope_theta = rope_theta
        self.q_proj = nn.Linear(hidden_size, num_heads * head_dim, bias=qkv_bias)
        self.k_proj = nn.Linear(hidden_size, num_kv_heads * head_dim, bias=qkv_bias)
        self.v_proj = nn.Linear(hidden_size, num_kv_heads * head_dim, bias=qkv_bias)
        self.g_proj = nn.Linear(hidden_size, num_heads * 3, bias=False)
        self.o_proj = nn.Linear(num_heads * head_dim, hidden_size, bias=False)

    def init_state(self, batch_size: int, dtype, device) -> Dict:
        z = torch.zeros(batch_size, 0, self.num_kv_heads, self.head_dim, dtype=dtype, device=device)
        return {"k": z, "v": z.clone(), "t": 0}

    def forward(self, x: torch.Tensor, state: Optional[Dict] = None,
                mode: str = "pure") -> Tuple[torch.Tensor, Optional[Dict]]:
        B, T, _ = x.shape
        t0 = state["t"] if state is not None else 0
        pos = torch.arange(t0, t0 + T, device=x.device)
        q = apply_rope(self.q_proj(x).view(B, T, self.num_heads, self.head_dim), pos, self.rope_theta)
        k = apply_rope(self.k_proj(x).view(B, T, self.num_kv_heads, self.head_dim), pos, self.rope_theta)
        v = self.v_proj(x).view(B, T, self.num_kv_heads, self.head_dim)
        gates = torch.sigmoid(self.g_proj(x).view(B, T, self.num_heads, 3))   # (cmp, slc, swa)
        new_state = None
        if state is not None:
            k = torch.cat([state["k"], k], dim=1)
            v = torch.cat([state["v"], v], dim=1)
            new_state = {"k": k, "v": v, "t": t0 + T}
        fn = self._pure if mode == "pure" else self._fast
        o = fn(q, k, v, gates, pos)
        return self.o_proj(o.reshape(B, T, self.num_heads * self.head_dim)), new_state

    # ------------------------------------------------------------------ helpers
    def _select_blocks(self, imp: torch.Tensor, IC: int) -> torch.Tensor:
        """imp: [..., IC+1] importance of blocks 0..IC -> bool mask of selected blocks.
        Descending importance; equal importance: lower block index first."""
        n = imp.shape[-1]
        order = torch.sort(imp, dim=-1, descending=True, stable=True).indices[..., : self.num_selected]
        sel = torch.zeros_like(imp, dtype=torch.bool)
        sel.scatter_(-1, order, True)
        return sel

    def _pure(self, q, k, v, gates, qpos) -> torch.Tensor:
        """Per query token, per KV head: the obviously-correct form."""
        B, T, Hq, D = q.shape
        Hk = self.num_kv_heads
        G = Hq // Hk
        BS = self.block_size
        scale = D ** -0.5
        out = torch.zeros_like(q)
        for b in range(B):
            for i in range(T):
                t = int(qpos[i])
                NC, IC = (t + 1) // BS, t // BS
                for h in range(Hk):
                    K, V = k[b, : t + 1, h], v[b, : t + 1, h]            # [t+1, D]
                    qs = q[b, i, h * G:(h + 1) * G]                      # [G, D]
                    gs = gates[b, i, h * G:(h + 1) * G]                  # [G, 3]
                    # compressed branch over complete blocks
                    if NC > 0:
                        kc = K[: NC * BS].reshape(NC, BS, D).mean(1)
                        vc = V[: NC * BS].reshape(NC, BS, D).mean(1)
                        s = (qs @ kc.T) * scale                          # [G, NC]
                        lse = torch.logsumexp(s, dim=-1, keepdim=True)
                        o_cmp = torch.softmax(s, dim=-1) @ vc
                        p = torch.exp(s - lse)
                    else:
                        o_cmp = torch.zeros_like(qs)
                        p = qs.new_zeros(G, 0)
                    # block importance: forced blocks 0, IC-1, IC count 1 per query head
                    imp = qs.new_zeros(IC + 1)
                    if IC > 0:
                        imp[:IC] = p[:, :IC].sum(0)
                    for c in {0, IC - 1, IC}:
                        if c >= 0:
                            imp[c] = float(G)
                    sel = self._select_blocks(imp, IC)
                    tok = torch.zeros(t + 1, dtype=torch.bool, device=q.device)
                    for c in sel.nonzero().flatten().tolist():
                        tok[c * BS: min((c + 1) * BS, t + 1)] = True
                    o_slc = torch.softmax((qs @ K[tok].T) * scale, dim=-1) @ V[tok]
                    o = gs[:, 1:2] * o_slc + gs[:, 0:1] * o_cmp
                    if self.window_size > 0:
                        lo = max(0, t - self.window_size + 1)
                        o_swa = torch.softmax((qs @ K[lo:].T) * scale, dim=-1) @ V[lo:]
                        o = o + gs[:, 2:3] * o_swa
                    out[b, i, h * G:(h + 1) * G] = o
        return out

    def _fast(self, q, k, v, gates, qpos) -> torch.Tensor:
        """Vectorised over queries: dense masks, same semantics as `_pure`."""
        B, T, Hq, D = q.shape
        Tk = k.shape[1]
        Hk = self.num_kv_heads
        G = Hq // Hk
        BS = self.block_size
        scale = D ** -0.5
        dev = q.device
        NB = Tk // BS                                             # complete blocks in the keys
        qh = q.transpose(1, 2)                                    # [B, Hq, T, D]
        kh, vh = repeat_kv(k.transpose(1, 2), G, 1), repeat_kv(v.transpose(1, 2), G, 1)
        NCq = (qpos + 1) // BS                                    # [T]
        ICq = qpos // BS
        # compressed branch
        if NB > 0:
            kc = k[:, : NB * BS].reshape(B, NB, BS, Hk, D).mean(2)
            vc = v[:, : NB * BS].reshape(B, NB, BS, Hk, D).mean(2)
            kch = repeat_kv(kc.transpose(1, 2), G, 1)            # [B, Hq, NB, D]
            vch = repeat_kv(vc.transpose(1, 2), G, 1)
            cidx = torch.arange(NB, device=dev)
            cmask = cidx[None, :] < NCq[:, None]                  # [T, NB]
            s = torch.matmul(qh, kch.transpose(-1, -2)) * scale
            s = s.masked_fill(~cmask, float("-inf"))
            has = cmask.any(-1)[None, None, :, None]
            lse = torch.logsumexp(s, dim=-1, keepdim=True)
            lse = torch.where(has, lse, torch.zeros_like(lse))
            p = torch.where(cmask[None, None], torch.exp(s - lse), torch.zeros_like(s))
            o_cmp = torch.matmul(p, vch)                          # zero rows when NC = 0
        else:
            o_cmp = torch.zeros_like(qh)
            p = qh.new_zeros(B, Hq, T, 0)
        # importance over blocks 0..max IC
        NBall = (Tk + BS - 1) // BS
        imp = qh.new_zeros(B, Hk, T, NBall)
        if NB > 0:
            imp[..., :NB] = p.view(B, Hk, G, T, NB).sum(2)
        ball = torch.arange(NBall, device=dev)
        imp = imp.masked_fill(ball[None, :] >= ICq[:, None], 0.0)          # only c < IC by score
        forced = (ball[None, :] == 0) | (ball[None, :] == ICq[:, None]) | (ball[None, :] == ICq[:, None] - 1)
        imp = torch.where(forced, torch.full_like(imp, float(G)), imp)
        valid = ball[None, :] <= ICq[:, None]                                # [T, NBall]
        imp = imp.masked_fill(~valid, float("-inf"))
        order = torch.sort(imp, dim=-1, descending=True, stable=True).indices[..., : self.num_selected]
        sel = torch.zeros_like(imp, dtype=torch.bool).scatter_(-1, order, True) & valid
        kpos = torch.arange(Tk, device=dev)
        tok = sel[..., kpos // BS] & (kpos[None, :] <= qpos[:, None])     # [B, Hk, T, Tk]
        # SDPA (fast_attention) needs an allowed key in every row: block IC (the query's own) is
        # always selected, and the window always holds the query itself.
        o_slc = fast_attention(qh, kh, vh, repeat_kv(tok, G, 1), scale)
        g = gates.transpose(1, 2)                                          # [B, Hq, T, 3]
        o = g[..., 1:2] * o_slc + g[..., 0:1] * o_cmp
        if self.window_size > 0:
            dd = qpos[:, None] - kpos[None, :]
            wmask = (dd >= 0) & (dd < self.window_size)
            o = o + g[..., 2:3] * fast_attention(qh, kh, vh, wmask[None, None], scale)
        return o.transpose(1, 2)
