"""A CPU model of the *reference implementation's* LTE inference algorithm (not Mnemo's).

Written from reading the reference (fla/layers/lte.py forward_prefill / forward_decode and
fla/ops/lte/cache.py), to check on CPU where its results equal Mnemo's cache semantics and
where they differ. Batch size 1. What it models:

prefill of L tokens
  * scores on the whole prompt (zero padding past its end); sink positions get +inf;
  * a ring of W = w+1 slots holds the last min(L, W) tokens (older slots blank, score -inf);
  * the past buffer (b slots, sink included) holds the top-b positive scores among positions
    [0, L-W), sorted by position;
  * prompt query q attends to its window [q-w, q] and to past-buffer entries j <= q - W
    (so it sees the retained set *of the end of the prompt*).
decode of token t (one at a time)
  * every W - 2m steps (m = floor(R/2)), when next_pos + m == W - m: the ring is rotated to
    oldest-first, window keys are de-roped with offset max(t - W, 0) (+ slot index) and the
    router is re-run on the W window tokens alone (blank slots masked); slots [m, W) get the
    new scores (slots [0, m) keep theirs);
  * the slot at next_pos (the token leaving the window) is offered to the past buffer:
    score > 0 and buffer not full -> appended; full -> replaces the first argmin slot if
    min < score; then the new token takes the ring slot (its score slot is stale until the next
    recomputation);
  * attention over the W ring slots (non-blank) + the filled past-buffer slots.
"""

from __future__ import annotations

import torch

from .modules import apply_rope, rope_angles


def _derope(x: torch.Tensor, positions: torch.Tensor, base: float) -> torch.Tensor:
    D = x.shape[-1]
    ang = rope_angles(positions, D, base)
    cos = torch.cos(ang).to(x.dtype)[:, None, :]
    sin = -torch.sin(ang).to(x.dtype)[:, None, :]
    x1, x2 = x[..., : D // 2], x[..., D // 2:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


@torch.no_grad()
def paper_lte_layer(attn, x: torch.Tensor, prompt_len: int, fix_derope: bool = False,
                    fix_sink: bool = False) -> torch.Tensor:
    """attn: an LTEAttention; x: [1, T, hidden] (the layer's normalised input).
    Returns the layer output [1, T, hidden]: prefill of x[:, :prompt_len], then token-by-token.
    fix_derope / fix_sink switch off the two short-prompt defects (for analysis only)."""
    assert x.shape[0] == 1
    T = x.shape[1]
    L = prompt_len
    w, s, b = attn.window_size, attn.sink_size, attn.buffer_size
    W = w + 1
    H, D = attn.num_kv_heads, attn.head_dim
    G = attn.num_heads // H
    m = (attn.margin_left + attn.margin_right + 1) // 2
    scale = D ** -0.5
    pos = torch.arange(T)
    q_all, kpre_all, k_all, v_all = attn._project(x, pos)
    q_all, kpre_all, k_all, v_all = q_all[0], kpre_all[0], k_all[0], v_all[0]
    dt = x.dtype
    outs = []

    # ---------------- prefill
    score = attn.router.score(attn.router.logits(kpre_all[None, :L], v_all[None, :L]))[0].clone()  # [L, H]
    score[:s] = float("inf")
    wc = min(L, W)
    ring_k = torch.zeros(W, H, D, dtype=dt)
    ring_v = torch.zeros(W, H, D, dtype=dt)
    ring_s = torch.full((W, H), float("-inf"), dtype=dt)
    ring_pos = torch.full((W,), -1, dtype=torch.long)     # bookkeeping for fix_sink only
    ring_pos[W - wc:] = torch.arange(L - wc, L)
    ring_k[W - wc:] = k_all[L - wc:L]
    ring_v[W - wc:] = v_all[L - wc:L]
    ring_s[W - wc:] = score[L - wc:L]
    blank = W - wc
    past_k = torch.zeros(b, H, D, dtype=dt)
    past_v = torch.zeros(b, H, D, dtype=dt)
    past_s = torch.full((b, H), float("-inf"), dtype=dt)
    past_len = [0] * H
    past_pos = [[] for _ in range(H)]
    n_sel = min(b, L - wc)
    for h in range(H):
        if n_sel > 0:
            vals, idx = torch.topk(score[: L - wc, h], n_sel)
            keep = sorted(int(i) for i, vv in zip(idx, vals) if vv > 0)
            for slot, j in enumerate(keep):
                past_k[slot, h], past_v[slot, h], past_s[slot, h] = k_all[j, h], v_all[j, h], score[j, h]
            past_len[h] = len(keep)
            past_pos[h] = keep
    for qi in range(L):
        o = []
        for h in range(H):
            lo = max(0, qi - w)
            idx = list(range(lo, qi + 1)) + [j for j in past_pos[h] if j <= qi - W]
            kk, vv = k_all[idx, h], v_all[idx, h]
            qh = q_all[qi, h * G:(h + 1) * G]
            o.append(torch.softmax((qh @ kk.T) * scale, -1) @ vv)
        outs.append(torch.cat(o).reshape(-1))

    # ---------------- decode
    nrp = 0
    for t in range(L, T):
        if nrp + m == W - m:
            if nrp > 0:
                ring_k = torch.cat([ring_k[nrp:], ring_k[:nrp]])
                ring_v = torch.cat([ring_v[nrp:], ring_v[:nrp]])
                ring_s = torch.cat([ring_s[nrp:], ring_s[:nrp]])
                ring_pos = torch.cat([ring_pos[nrp:], ring_pos[:nrp]])
                nrp = 0
            off = max(t - W, 0) if not fix_derope else t - W
            kd = _derope(ring_k, torch.arange(off, off + W), attn.rope_theta)
            mask = (torch.arange(W) >= blank).to(dt)
            # the reference masks the router input and every conv output (before its activation)
            xin = torch.cat([kd, ring_v], -1) * mask[:, None, None]
            sc = _masked_router(attn.router, xin, mask)
            sc[mask == 0] = float("-inf")
            if fix_sink:   # never overwrite a sink token's +inf
                is_sink = ((ring_pos[m:W] >= 0) & (ring_pos[m:W] < s))[:, None]
                sc[m:W] = torch.where(is_sink, torch.full_like(sc[m:W], float("inf")), sc[m:W])
            ring_s[m:W] = sc[m:W]
        out_s = ring_s[nrp]
        for h in range(H):
            r = out_s[h]
            if not bool(r > 0):
                continue
            if past_len[h] < b:
                tgt = past_len[h]
            else:
                tgt = int(torch.argmin(past_s[:, h]))
                if not bool(past_s[tgt, h] < r):
                    continue
            past_k[tgt, h], past_v[tgt, h], past_s[tgt, h] = ring_k[nrp, h], ring_v[nrp, h], r
            past_len[h] = min(past_len[h] + 1, b)
        ring_k[nrp], ring_v[nrp] = k_all[t], v_all[t]
        ring_pos[nrp] = t
        blank = max(blank - 1, 0)
        nrp = (nrp + 1) % W
        o = []
        for h in range(H):
            kk = torch.cat([ring_k[:, h][_ring_valid(W, blank, nrp)], past_k[: past_len[h], h]])
            vv = torch.cat([ring_v[:, h][_ring_valid(W, blank, nrp)], past_v[: past_len[h], h]])
            qh = q_all[t, h * G:(h + 1) * G]
            o.append(torch.softmax((qh @ kk.T) * scale, -1) @ vv)
        outs.append(torch.cat(o).reshape(-1))
    return attn.o_proj(torch.stack(outs)[None])


def _ring_valid(W: int, blank: int, nrp: int) -> torch.Tensor:
    """Slots that hold a token: the reference masks [nrp, nrp + blank) as blanks."""
    idx = torch.arange(W)
    return ~((idx >= nrp) & (idx < nrp + blank))


def _masked_router(router, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Router on one window x [W, H, 2D] with the reference's masking of blank positions:
    each conv's output is multiplied by the mask before its activation."""
    import torch.nn.functional as F
    stack = router.conv_stack
    Wn, H, C = x.shape
    if router.routing_shared == "head":
        h = x.reshape(1, Wn, H * C).transpose(1, 2)
    else:
        h = x.permute(1, 0, 2).transpose(1, 2)                # [H, C, W]
    for conv, k, d in zip(stack.convs, stack.kernel_sizes, stack.kernel_dilations):
        total = d * (k - 1)
        h = F.pad(h, (total // 2, total - total // 2))
        h = F.conv1d(h, conv.weight[:, :, 0, :], conv.bias, dilation=d, groups=stack.group_size)
        h = F.silu(h * mask)
    h = F.conv1d(h, stack.proj.weight[:, :, 0, :], stack.proj.bias, groups=stack.group_size)
    logits = h.transpose(1, 2)[0] if router.routing_shared == "head" else h[:, 0, :].T
    return router.score(logits)
