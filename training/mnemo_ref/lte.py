"""laLTE mixer: sliding-window attention + attention sink + learned token retention.

Three forms of the same layer:
  * `forward_parallel(..., lte_mode="train")`: the reference's differentiable training form:
    a query sees its window (w+1 tokens), the sink, and every past token with r > 0 (no buffer
    limit); the value path carries the straight-through score gradient.
  * `forward_parallel(..., lte_mode="cache")`: Mnemo's bounded-cache semantics computed in
    parallel: query t sees sink + window + the top-(b-s) positive-scored tokens among those
    that have left its window (order: higher r first, equal r -> lower position first).
    `lte_mode="paper_eval"` reproduces the reference's prefill / eval-without-cache outputs
    (the retained set is the one at the end of the prompt, restricted to tokens <= t-w-1).
  * `forward_cached(...)`: the bounded inference cache of DESIGN §2, token by token
    (`method="greedy"`: the literal eviction rule) or chunk by chunk (`method="batched"`:
    top-k of the union). Both equal `lte_mode="cache"`.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import lte_receptive_margins
from .modules import apply_rope, fast_attention, masked_softmax_attention, repeat_kv


# ----------------------------------------------------------------------------- router

class LTEConvolutionStack(nn.Module):
    """Grouped 1-D CNN over the sequence. Parameters are stored as the reference's nn.Conv2d
    ([out, in/groups, 1, k]) so checkpoints load unchanged; the computation is a 1-D conv.

    For each layer i: x <- dropout(x); x <- conv_i(x) with zero 'same' padding
    (left = d(k-1)//2, right = d(k-1) - left); x <- silu(x). Then a grouped 1x1 conv (`proj`)
    gives one logit per group. Positions outside the sequence are zero in *every* layer's input.
    """

    def __init__(self, hidden_size: int, kernel_sizes: List[int], kernel_dilations: List[int],
                 group_size: int = 1, dropout_prob: float = 0.0):
        super().__init__()
        self.kernel_sizes = list(kernel_sizes)
        self.kernel_dilations = list(kernel_dilations)
        self.group_size = group_size
        self.convs = nn.ModuleList()
        size = hidden_size
        for k, d in zip(kernel_sizes, kernel_dilations):
            if size % group_size or (size // 2) % group_size:
                raise ValueError("LTE router channels must stay divisible by the number of groups")
            self.convs.append(nn.Conv2d(size, size // 2, kernel_size=(1, k), dilation=(1, d),
                                        groups=group_size))
            size //= 2
        self.proj = nn.Conv2d(size, group_size, kernel_size=(1, 1), groups=group_size)
        self.dropout = nn.Dropout(dropout_prob)
        self.margins = lte_receptive_margins(self.kernel_sizes, self.kernel_dilations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: [N, L, C] (position 0 of x is treated as preceded by zeros) -> logits [N, L, G]."""
        h = x.transpose(1, 2)  # [N, C, L]
        for conv, k, d in zip(self.convs, self.kernel_sizes, self.kernel_dilations):
            h = self.dropout(h)
            total = d * (k - 1)
            h = F.pad(h, (total // 2, total - total // 2))
            h = F.conv1d(h, conv.weight[:, :, 0, :], conv.bias, dilation=d, groups=self.group_size)
            h = F.silu(h)
        h = F.conv1d(h, self.proj.weight[:, :, 0, :], self.proj.bias, groups=self.group_size)
        return h.transpose(1, 2)


class LTERouter(nn.Module):
    def __init__(self, head_dim: int, num_kv_heads: int, kernel_sizes, kernel_dilations,
                 routing_method: str = "sigmoid", routing_grad: bool = True,
                 routing_shared: str = "head", dropout_prob: float = 0.0,
                 shared_stack: Optional[LTEConvolutionStack] = None):
        super().__init__()
        self.num_kv_heads = num_kv_heads
        self.routing_method = routing_method
        self.routing_grad = routing_grad
        self.routing_shared = routing_shared
        self.enabled = True
        c = 2 * head_dim
        if routing_shared == "head":
            self.conv_stack = LTEConvolutionStack(c * num_kv_heads, kernel_sizes, kernel_dilations,
                                                  group_size=num_kv_heads, dropout_prob=dropout_prob)
        elif routing_shared == "layer":
            self.conv_stack = LTEConvolutionStack(c, kernel_sizes, kernel_dilations,
                                                  dropout_prob=dropout_prob)
        elif routing_shared == "all":
            self.conv_stack = shared_stack if shared_stack is not None else \
                LTEConvolutionStack(c, kernel_sizes, kernel_dilations, dropout_prob=dropout_prob)
        else:
            raise ValueError(routing_shared)
        self.margins = self.conv_stack.margins

    def logits(self, k_pre: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """k_pre (before RoPE), v: [B, L, H, D] -> router logits [B, L, H]. Input channels per
        head are [k_h (D), v_h (D)]; with routing_shared='head' head h is conv group h."""
        x = torch.cat([k_pre, v], dim=-1)
        if not self.routing_grad:
            x = x.detach()
        B, L, H, C = x.shape
        if self.routing_shared == "head":
            return self.conv_stack(x.reshape(B, L, H * C))
        y = self.conv_stack(x.permute(0, 2, 1, 3).reshape(B * H, L, C))   # [(B H), L, 1]
        return y.reshape(B, H, L).transpose(1, 2)

    def score(self, logits: torch.Tensor) -> torch.Tensor:
        if self.routing_method == "sigmoid":
            return torch.sigmoid(logits) - 0.5
        return F.relu(logits)


class StraightThroughScore(torch.autograd.Function):
    """Identity on v; d(loss)/d(score) = sum over the head dim of d(loss)/d(v) * v."""

    @staticmethod
    def forward(ctx, value, score):
        ctx.save_for_backward(value)
        return value.view_as(value)

    @staticmethod
    def backward(ctx, grad_out):
        (value,) = ctx.saved_tensors
        return grad_out, (grad_out * value).sum(dim=-1)


def ranks_better(score: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
    """better[..., a, b] = candidate a ranks above b: higher score, or equal score and lower
    position. score: [..., N], pos: [N] or [..., N]."""
    sa, sb = score[..., :, None], score[..., None, :]
    pa, pb = pos[..., :, None], pos[..., None, :]
    return (sa > sb) | ((sa == sb) & (pa < pb))


# ----------------------------------------------------------------------------- cache

class LTECache:
    """Bounded per-sequence LTE state for one layer (batch size 1).

    Per KV head h: sink (positions < s that have left the window; shared by all heads),
    window (the last w+1 tokens), retained (at most b-s entries, each with its score).
    Also kept: pre-RoPE keys of the window (the router input), and a log of every final score
    and of the retained sets (for probes and golden vectors only; not part of the bounded state).
    """

    def __init__(self, num_kv_heads: int, head_dim: int, window_size: int, buffer_size: int,
                 sink_size: int, dtype, device):
        H, D = num_kv_heads, head_dim
        self.H, self.D = H, D
        self.w, self.s = window_size, sink_size
        self.cap = max(0, buffer_size - sink_size)
        self.t = 0
        e = lambda *shape: torch.zeros(*shape, dtype=dtype, device=device)
        self.win_pos = torch.zeros(0, dtype=torch.long, device=device)
        self.win_kpre, self.win_krot, self.win_v = e(0, H, D), e(0, H, D), e(0, H, D)
        self.win_score = e(0, H)          # NaN until final
        self.sink_pos = torch.zeros(0, dtype=torch.long, device=device)
        self.sink_krot, self.sink_v = e(0, H, D), e(0, H, D)
        self.ret_pos = torch.full((H, self.cap), -1, dtype=torch.long, device=device)
        self.ret_score = e(H, self.cap)
        self.ret_krot, self.ret_v = e(H, self.cap, D), e(H, self.cap, D)
        self.score_log: Dict[int, torch.Tensor] = {}
        self.retained_log: Dict[int, torch.Tensor] = {}

    def retained_positions(self) -> torch.Tensor:
        """[H, b-s] int64, ascending, -1 padded."""
        p = self.ret_pos.clone()
        p[p < 0] = torch.iinfo(torch.long).max
        p = p.sort(dim=1).values
        p[p == torch.iinfo(torch.long).max] = -1
        return p


class LTEAttention(nn.Module):
    def __init__(self, hidden_size: int, num_heads: int, num_kv_heads: int, head_dim: int,
                 window_size: int, buffer_size: int, sink_size: int, kernel_sizes, kernel_dilations,
                 qkv_bias: bool = False, rope_theta: float = 10000.0, dropout_prob: float = 0.0,
                 routing_method: str = "sigmoid", routing_grad: bool = True,
                 routing_shared: str = "head", shared_stack=None, **_):
        super().__init__()
        self.num_heads, self.num_kv_heads, self.head_dim = num_heads, num_kv_heads, head_dim
        self.window_size, self.buffer_size, self.sink_size = window_size, buffer_size, sink_size
        self.rope_theta = rope_theta
        if num_heads % num_kv_heads:
            raise ValueError("num_heads must be a multiple of num_kv_heads")
        self.q_proj = nn.Linear(hidden_size, num_heads * head_dim, bias=qkv_bias)
        self.k_proj = nn.Linear(hidden_size, num_kv_heads * head_dim, bias=qkv_bias)
        self.v_proj = nn.Linear(hidden_size, num_kv_heads * head_dim, bias=qkv_bias)
        self.o_proj = nn.Linear(num_heads * head_dim, hidden_size, bias=False)
        self.router = LTERouter(head_dim, num_kv_heads, kernel_sizes, kernel_dilations,
                                routing_method=routing_method, routing_grad=routing_grad,
                                routing_shared=routing_shared, dropout_prob=dropout_prob,
                                shared_stack=shared_stack)
        self.margin_left, self.margin_right = self.router.margins
        if window_size < self.margin_left + self.margin_right:
            raise ValueError(f"lte window_size {window_size} must be >= receptive field - 1 "
                             f"({self.margin_left + self.margin_right})")

    # ---------------------------------------------------------------- projections
    def _project(self, x: torch.Tensor, pos: torch.Tensor):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.num_heads, self.head_dim)
        k = self.k_proj(x).view(B, T, self.num_kv_heads, self.head_dim)
        v = self.v_proj(x).view(B, T, self.num_kv_heads, self.head_dim)
        return apply_rope(q, pos, self.rope_theta), k, apply_rope(k, pos, self.rope_theta), v

    def _attend(self, q, k, v, allowed, mode):
        """q: [B, T, Hq, D]; k, v: [B, S, Hkv, D]; allowed: [B, Hkv, T, S] -> [B, T, Hq*D]."""
        G = self.num_heads // self.num_kv_heads
        qh = q.transpose(1, 2)
        kh = repeat_kv(k.transpose(1, 2), G, 1)
        vh = repeat_kv(v.transpose(1, 2), G, 1)
        mask = repeat_kv(allowed, G, 1)
        attn = masked_softmax_attention if mode == "pure" else fast_attention
        o = attn(qh, kh, vh, mask, self.head_dim ** -0.5)
        B, T = q.shape[:2]
        return o.transpose(1, 2).reshape(B, T, self.num_heads * self.head_dim)

    # ---------------------------------------------------------------- parallel forms
    def forward_parallel(self, x: torch.Tensor, lte_mode: str = "train", mode: str = "pure"):
        """Returns (out [B, T, hidden], aux) with aux = {'score': [B, T, Hkv],
        'selected': [B, T, Hkv] (train) or visible mask [B, Hkv, T, T]}."""
        B, T, _ = x.shape
        pos = torch.arange(T, device=x.device)
        q, k_pre, k, v = self._project(x, pos)
        logits = self.router.logits(k_pre, v)
        score = self.router.score(logits)
        w, s = self.window_size, self.sink_size
        d = pos[:, None] - pos[None, :]                       # query - key
        causal = d >= 0
        in_window = causal & (d <= w)
        if lte_mode == "train":
            selected = score > 0
            selected[:, :s] = True
            if not self.router.enabled:
                selected = torch.ones_like(selected)
            v = StraightThroughScore.apply(v, score)
            allowed = (selected.transpose(1, 2)[:, :, None, :] | in_window) & causal   # [B,H,T,T]
            out = self._attend(q, k, v, allowed, mode)
            return self.o_proj(out), {"score": score, "selected": selected}
        if lte_mode == "cache":
            vis = self.cache_visibility(score.detach())
        elif lte_mode == "paper_eval":
            vis = self.paper_prefill_visibility(score.detach())
        else:
            raise ValueError(lte_mode)
        allowed = vis | in_window | ((pos[None, :] < s) & causal)
        out = self._attend(q, k, v, allowed, mode)
        return self.o_proj(out), {"score": score, "selected": vis}

    def cache_visibility(self, score: torch.Tensor) -> torch.Tensor:
        """Retained-buffer membership of Mnemo's cache, in parallel. score: [B, T, H] ->
        vis[b, h, t, j] = j is in the retained buffer used by query t.

        Candidate j (s <= j, r_j > 0) becomes eligible at step j+w+1; it is retained at step t
        iff it is eligible and fewer than b-s eligible candidates rank above it."""
        B, T, H = score.shape
        w, s, cap = self.window_size, self.sink_size, max(0, self.buffer_size - self.sink_size)
        pos = torch.arange(T, device=score.device)
        sc = score.transpose(1, 2)                              # [B, H, T]
        cand = (sc > 0) & (pos >= s)                            # [B, H, T]
        better = ranks_better(sc, pos) & cand[..., :, None]     # [B, H, a, b]: a ranks above b
        # eligible_at[t, a] = a <= t - w - 1
        elig = (pos[None, :] <= pos[:, None] - w - 1)           # [t, a]
        n_better = torch.einsum("ta,bhac->bhtc", elig.to(sc.dtype), better.to(sc.dtype))
        vis = cand[:, :, None, :] & elig[None, None] & (n_better < cap - 0.5)
        return vis

    def paper_prefill_visibility(self, score: torch.Tensor) -> torch.Tensor:
        """The reference's prefill: the top-(b-s) positive tokens in [s, T-w-2] (end of prompt),
        each visible to queries t >= j + w + 1."""
        B, T, H = score.shape
        w, s, cap = self.window_size, self.sink_size, max(0, self.buffer_size - self.sink_size)
        pos = torch.arange(T, device=score.device)
        sc = score.transpose(1, 2)
        cand = (sc > 0) & (pos >= s) & (pos <= T - w - 2)
        better = ranks_better(sc, pos) & cand[..., :, None]
        final = cand & (better.sum(-2) < cap)                    # [B, H, T]
        elig = (pos[None, :] <= pos[:, None] - w - 1)
        return final[:, :, None, :] & elig[None, None]

    # ---------------------------------------------------------------- cache form
    def init_state(self, batch_size: int, dtype, device) -> LTECache:
        if batch_size != 1:
            raise ValueError("the LTE cache form supports batch size 1")
        return LTECache(self.num_kv_heads, self.head_dim, self.window_size, self.buffer_size,
                        self.sink_size, dtype, device)

    def forward(self, x: torch.Tensor, state: Optional[LTECache] = None, mode: str = "pure",
                lte_mode: str = "cache", method: str = "batched", prefill: str = "mnemo"):
        """prefill='paper': the first chunk's outputs follow the reference's prefill (retained set
        of the end of the chunk); the cache state is the same as with 'mnemo'."""
        if state is None:
            return self.forward_parallel(x, lte_mode=lte_mode, mode=mode)
        if prefill == "paper" and state.t == 0:
            self._chunk_batched(x, state, mode)
            return self.forward_parallel(x, lte_mode="paper_eval", mode=mode)[0], state
        if method == "greedy":
            outs = [self._step_greedy(x[:, i:i + 1], state, mode) for i in range(x.shape[1])]
            return torch.cat(outs, dim=1), state
        return self._chunk_batched(x, state, mode), state

    def _final_scores(self, ctx_pos, ctx_kpre, ctx_v, targets: torch.Tensor) -> torch.Tensor:
        """Router scores of `targets` (positions), computed on the context window ctx (which
        must hold [max(0, j - margin_left), j + margin_right] for every target j)."""
        if ctx_pos.numel() and int(ctx_pos[0]) > 0:
            lo = int(targets.min()) - self.margin_left
            assert lo >= int(ctx_pos[0]), "router context is no longer in the window"
        logits = self.router.logits(ctx_kpre[None], ctx_v[None])[0]     # [L, H]
        sc = self.router.score(logits)
        idx = targets - ctx_pos[0]
        return sc[idx]

    def _step_greedy(self, x: torch.Tensor, st: LTECache, mode: str) -> torch.Tensor:
        """One token, the literal rule of DESIGN §2."""
        t = st.t
        pos = torch.tensor([t], device=x.device)
        q, k_pre, k, v = self._project(x, pos)
        # 1. the new token enters the window
        st.win_pos = torch.cat([st.win_pos, pos])
        st.win_kpre = torch.cat([st.win_kpre, k_pre[0]])
        st.win_krot = torch.cat([st.win_krot, k[0]])
        st.win_v = torch.cat([st.win_v, v[0]])
        st.win_score = torch.cat([st.win_score, torch.full((1, st.H), float("nan"),
                                                           dtype=st.win_score.dtype, device=x.device)])
        # 2. the score of token t - margin_right becomes final
        j = t - self.margin_right
        if j >= 0:
            r = self._final_scores(st.win_pos, st.win_kpre, st.win_v, torch.tensor([j], device=x.device))[0]
            st.win_score[st.win_pos == j] = r
            st.score_log[j] = r.detach().clone()
        # 3. the oldest token leaves the window
        if st.win_pos.numel() > self.window_size + 1:
            jp = int(st.win_pos[0])
            kr, vv, r = st.win_krot[0], st.win_v[0], st.win_score[0]
            st.win_pos, st.win_kpre, st.win_krot = st.win_pos[1:], st.win_kpre[1:], st.win_krot[1:]
            st.win_v, st.win_score = st.win_v[1:], st.win_score[1:]
            if jp < st.s:
                st.sink_pos = torch.cat([st.sink_pos, torch.tensor([jp], device=x.device)])
                st.sink_krot = torch.cat([st.sink_krot, kr[None]])
                st.sink_v = torch.cat([st.sink_v, vv[None]])
            else:
                for h in range(st.H):
                    self._offer(st, h, jp, r[h], kr[h], vv[h])
        st.retained_log[t] = st.retained_positions()
        # 4. attention over sink + retained + window, per KV head
        out = self._attend_cache(q, st, mode)
        st.t += 1
        return self.o_proj(out)

    @staticmethod
    def _offer(st: LTECache, h: int, jp: int, r: torch.Tensor, kr, vv) -> None:
        assert not torch.isnan(r), "score of a token leaving the window is not final"
        if not bool(r > 0) or st.cap == 0:
            return                                   # evicted
        slots = st.ret_pos[h]
        free = (slots < 0).nonzero()
        if free.numel():
            i = int(free[0])
        else:
            # the lowest-ranked entry: lowest score; among equal scores the most recent
            sc = st.ret_score[h]
            m = sc.min()
            ties = (sc == m).nonzero().flatten()
            i = int(ties[slots[ties].argmax()])
            if not bool(r > m):
                return                               # evicted (equal score: incumbent stays)
        st.ret_pos[h, i] = jp
        st.ret_score[h, i] = r
        st.ret_krot[h, i] = kr
        st.ret_v[h, i] = vv

    def _attend_cache(self, q: torch.Tensor, st: LTECache, mode: str) -> torch.Tensor:
        """q: [1, 1, Hq, D] of the current token (the newest window entry)."""
        outs = []
        G = self.num_heads // self.num_kv_heads
        scale = self.head_dim ** -0.5
        for h in range(st.H):
            keep = st.ret_pos[h] >= 0
            kk = torch.cat([st.sink_krot[:, h], st.ret_krot[h][keep], st.win_krot[:, h]])
            vv = torch.cat([st.sink_v[:, h], st.ret_v[h][keep], st.win_v[:, h]])
            qh = q[0, 0, h * G:(h + 1) * G]                          # [G, D]
            p = torch.softmax((qh @ kk.T) * scale, dim=-1)
            outs.append(p @ vv)
        return torch.cat(outs, dim=0).reshape(1, 1, -1)

    def _chunk_batched(self, x: torch.Tensor, st: LTECache, mode: str) -> torch.Tensor:
        """A chunk of n tokens at once: scores of the tokens that become final, the retained
        buffer of every step as a top-k of the union, one masked attention, then the new state."""
        n = x.shape[1]
        t0, t1 = st.t, st.t + n
        w, s, cap, H = self.window_size, st.s, st.cap, st.H
        dev = x.device
        pos = torch.arange(t0, t1, device=dev)
        q, k_pre, k, v = self._project(x, pos)
        ctx_pos = torch.cat([st.win_pos, pos])
        ctx_kpre = torch.cat([st.win_kpre, k_pre[0]])
        ctx_krot = torch.cat([st.win_krot, k[0]])
        ctx_v = torch.cat([st.win_v, v[0]])
        ctx_score = torch.cat([st.win_score, torch.full((n, H), float("nan"), dtype=st.win_score.dtype, device=dev)])
        # scores that become final in this chunk: j in [t0 - mr, t1 - 1 - mr]
        lo, hi = max(0, t0 - self.margin_right), t1 - 1 - self.margin_right
        if hi >= lo:
            targets = torch.arange(lo, hi + 1, device=dev)
            r = self._final_scores(ctx_pos, ctx_kpre, ctx_v, targets)
            ctx_score[targets - ctx_pos[0]] = r
            for jj, rr in zip(targets.tolist(), r):
                st.score_log[jj] = rr.detach().clone()
        # candidates: current retained entries (eligible from the start) + tokens leaving the
        # window during the chunk (token p leaves at step p + w + 1) with p >= s and r > 0
        leave = (ctx_pos <= t1 - 1 - w - 1)                          # [C]
        leave_idx = leave.nonzero().flatten()
        assert not torch.isnan(ctx_score[leave_idx]).any()
        L = leave_idx.numel()
        cand_pos = torch.cat([st.ret_pos, ctx_pos[leave_idx][None].expand(H, L)], dim=1)       # [H, N]
        cand_score = torch.cat([st.ret_score, ctx_score[leave_idx].T], dim=1)
        valid = torch.cat([st.ret_pos >= 0, ((ctx_pos[leave_idx] >= s)[None] & (ctx_score[leave_idx].T > 0))], dim=1)
        enter = torch.cat([torch.full_like(st.ret_pos, -1), cand_pos[:, cap:] + w + 1], dim=1)  # step of eligibility
        elig = valid[:, None, :] & (enter[:, None, :] <= pos[None, :, None])                    # [H, n, N]
        better = ranks_better(cand_score, cand_pos)                                            # [H, N, N]
        n_better = torch.einsum("htn,hnm->htm", elig.to(cand_score.dtype), better.to(cand_score.dtype))
        in_buf = elig & (n_better < cap - 0.5)                                                  # [H, n, N]
        # key list: sink, retained candidates (old), context (window before the chunk + chunk)
        ns, nr, nc = st.sink_pos.numel(), cap, ctx_pos.numel()
        d = pos[:, None] - ctx_pos[None, :]                                                    # [n, C]
        ctx_vis = ((d >= 0) & (d <= w)) | ((ctx_pos[None, :] < s) & (d >= 0))                  # window or sink-in-context
        ctx_vis = ctx_vis[None].expand(H, n, nc).clone()
        if L:
            ctx_vis[:, :, leave_idx] |= in_buf[:, :, cap:]
        allowed = torch.cat([torch.ones(H, n, ns, dtype=torch.bool, device=dev), in_buf[:, :, :cap], ctx_vis], dim=2)
        keys = torch.cat([st.sink_krot.transpose(0, 1), st.ret_krot, ctx_krot.transpose(0, 1)], dim=1)  # [H, S, D]
        vals = torch.cat([st.sink_v.transpose(0, 1), st.ret_v, ctx_v.transpose(0, 1)], dim=1)
        out = self._attend(q, keys.transpose(0, 1)[None], vals.transpose(0, 1)[None], allowed[None], mode)
        # retained sets per step (for probes / goldens)
        for i in range(n):
            p = torch.where(in_buf[:, i], cand_pos, torch.full_like(cand_pos, -1))
            p[p < 0] = torch.iinfo(torch.long).max
            p = p.sort(dim=1).values[:, :cap]
            p[p == torch.iinfo(torch.long).max] = -1
            st.retained_log[t0 + i] = p
        # new state
        final = in_buf[:, -1]                                                                  # [H, N]
        new_pos = torch.full_like(st.ret_pos, -1)
        new_score = torch.zeros_like(st.ret_score)
        new_krot, new_v = torch.zeros_like(st.ret_krot), torch.zeros_like(st.ret_v)
        cand_krot = torch.cat([st.ret_krot, ctx_krot[leave_idx].transpose(0, 1)], dim=1)
        cand_v = torch.cat([st.ret_v, ctx_v[leave_idx].transpose(0, 1)], dim=1)
        for h in range(H):
            idx = final[h].nonzero().flatten()
            m = idx.numel()
            new_pos[h, :m], new_score[h, :m] = cand_pos[h, idx], cand_score[h, idx]
            new_krot[h, :m], new_v[h, :m] = cand_krot[h, idx], cand_v[h, idx]
        st.ret_pos, st.ret_score, st.ret_krot, st.ret_v = new_pos, new_score, new_krot, new_v
        sink_new = leave_idx[ctx_pos[leave_idx] < s]
        st.sink_pos = torch.cat([st.sink_pos, ctx_pos[sink_new]])
        st.sink_krot = torch.cat([st.sink_krot, ctx_krot[sink_new]])
        st.sink_v = torch.cat([st.sink_v, ctx_v[sink_new]])
        keep = slice(max(0, nc - (w + 1)), nc)
        st.win_pos, st.win_kpre, st.win_krot = ctx_pos[keep], ctx_kpre[keep], ctx_krot[keep]
        st.win_v, st.win_score = ctx_v[keep], ctx_score[keep]
        st.t = t1
        return self.o_proj(out)
