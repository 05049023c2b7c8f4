"""A faster, numerically equivalent chunked gated delta rule for training.

mnemo_ref's `gated_delta_rule_chunked` solves one triangular system per chunk inside the
sequential loop. Here everything that does not depend on the running state is computed for
all chunks at once (the WY form of fla's chunked kernels), leaving four small matrix products
per chunk in the loop:

    (I + A) [U0 | W] = [beta*V | beta*exp(G)*K]      (all chunks in one batched solve)
    U   = U0 - W S
    O   = (exp(G) * Q) S + (M o Q K^T) U
    S'  = exp(G_C) S + (exp(G_C - G) * K)^T U

It runs in float32 with autocast disabled (the triangular solve has no bf16 kernel, and the
state recurrence wants the precision); outputs are cast back to the input dtype.
`install()` swaps it into mnemo_ref.gdn so GatedDeltaNet(mode="fast") uses it.
"""

from __future__ import annotations

import math

import torch

_ORIGINAL = None


def gated_delta_rule_chunked_fast(q, k, v, g, beta, initial_state=None, chunk_size: int = 64):
    """Same contract as mnemo_ref.gdn.gated_delta_rule_chunked: q, k [B, T, H, K]; v [B, T, H, V];
    g, beta [B, T, H]; returns (o [B, T, H, V], S [B, H, K, V])."""
    out_dtype = v.dtype
    dev_type = q.device.type
    with torch.autocast(device_type=dev_type, enabled=False):
        work = torch.float64 if q.dtype == torch.float64 else torch.float32
        q, k, v, g, beta = (x.to(work) for x in (q, k, v, g, beta))
        B, T, H, K = k.shape
        V = v.shape[-1]
        C = chunk_size
        N = (T + C - 1) // C
        pad = N * C - T
        if pad:
            # zero k, v, beta and g: padded steps leave the state unchanged
            q, k, v = (torch.nn.functional.pad(x, (0, 0, 0, 0, 0, pad)) for x in (q, k, v))
            g, beta = (torch.nn.functional.pad(x, (0, 0, 0, pad)) for x in (g, beta))
        # [B, H, N, C, *]
        q = q.reshape(B, N, C, H, K).permute(0, 3, 1, 2, 4)
        k = k.reshape(B, N, C, H, K).permute(0, 3, 1, 2, 4)
        v = v.reshape(B, N, C, H, V).permute(0, 3, 1, 2, 4)
        g = g.reshape(B, N, C, H).permute(0, 3, 1, 2)
        beta = beta.reshape(B, N, C, H).permute(0, 3, 1, 2)
        G = torch.cumsum(g, dim=-1)                                        # [B, H, N, C]
        diff = G[..., :, None] - G[..., None, :]
        lower_eq = torch.ones(C, C, dtype=torch.bool, device=q.device).tril()
        lower = torch.ones(C, C, dtype=torch.bool, device=q.device).tril(-1)
        decay = torch.exp(torch.where(lower_eq, diff, torch.full_like(diff, -math.inf)))
        kk = k @ k.transpose(-1, -2)
        A = (beta[..., :, None] * decay * kk) * lower
        eye = torch.eye(C, dtype=work, device=q.device)
        eG = torch.exp(G)
        rhs = torch.cat([beta[..., None] * v, (beta * eG)[..., None] * k], dim=-1)
        X = torch.linalg.solve_triangular(eye + A, rhs, upper=False, unitriangular=True)
        U0, W = X[..., :V], X[..., V:]
        qk = (q @ k.transpose(-1, -2)) * decay                               # [B, H, N, C, C]
        qg = eG[..., None] * q
        GC = G[..., -1:]                                                    # [B, H, N, 1]
        kd = (torch.exp(GC - G)[..., None] * k).transpose(-1, -2)           # [B, H, N, K, C]
        eGC = torch.exp(GC)[..., None]                                      # [B, H, N, 1, 1]
        S = q.new_zeros(B, H, K, V) if initial_state is None else initial_state.to(work)
        outs = []
        for n in range(N):
            U = U0[:, :, n] - W[:, :, n] @ S
            outs.append(qg[:, :, n] @ S + qk[:, :, n] @ U)
            S = eGC[:, :, n] * S + kd[:, :, n] @ U
        o = torch.stack(outs, dim=2).reshape(B, H, N * C, V)[:, :, :T].transpose(1, 2)
    return o.to(out_dtype), S.to(out_dtype)


def install() -> None:
    """Make mnemo_ref's GatedDeltaNet(mode='fast') use the fast kernel."""
    global _ORIGINAL
    from mnemo_ref import gdn
    if _ORIGINAL is None:
        _ORIGINAL = gdn.gated_delta_rule_chunked
    gdn.gated_delta_rule_chunked = gated_delta_rule_chunked_fast


def uninstall() -> None:
    from mnemo_ref import gdn
    if _ORIGINAL is not None:
        gdn.gated_delta_rule_chunked = _ORIGINAL


def fp32_reference(q, k, v, g, beta, initial_state=None, chunk_size: int = 64):
    """mnemo_ref's own chunked kernel, run in float32 with autocast off."""
    fn = _ORIGINAL
    if fn is None:
        from mnemo_ref import gdn
        fn = gdn.gated_delta_rule_chunked
    out_dtype = v.dtype
    with torch.autocast(device_type=q.device.type, enabled=False):
        work = torch.float64 if q.dtype == torch.float64 else torch.float32
        o, S = fn(*(x.to(work) for x in (q, k, v, g, beta)),
                  None if initial_state is None else initial_state.to(work), chunk_size)
    return o.to(out_dtype), S.to(out_dtype)


def choose(device, B: int = 8, T: int = 2048, H: int = 6, K: int = 64, V: int = 64, reps: int = 3) -> str:
    """Times both kernels (forward + backward) on `device` and installs the faster one.
    Returns a one-line report."""
    import time
    from mnemo_ref import gdn
    global _ORIGINAL
    if _ORIGINAL is None:
        _ORIGINAL = gdn.gated_delta_rule_chunked
    gen = torch.Generator(device="cpu").manual_seed(0)
    mk = lambda *s: torch.randn(*s, generator=gen).to(device)
    q = torch.nn.functional.normalize(mk(B, T, H, K), dim=-1) * K ** -0.5
    k = torch.nn.functional.normalize(mk(B, T, H, K), dim=-1)
    v = mk(B, T, H, V)
    g = -torch.rand(B, T, H, generator=gen).to(device) * 0.3
    beta = torch.rand(B, T, H, generator=gen).to(device)
    times = {}
    for name, fn in (("reference", fp32_reference), ("fast", gated_delta_rule_chunked_fast)):
        best = float("inf")
        for _ in range(reps):
            xs = [x.detach().clone().requires_grad_(True) for x in (q, k, v, g, beta)]
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.time()
            o, _ = fn(*xs)
            o.float().square().mean().backward()
            if device.type == "cuda":
                torch.cuda.synchronize()
            best = min(best, time.time() - t0)
        times[name] = best
    pick = min(times, key=times.get)
    gdn.gated_delta_rule_chunked = gated_delta_rule_chunked_fast if pick == "fast" else fp32_reference
    return f"gdn kernel: reference {times['reference'] * 1e3:.1f} ms, fast {times['fast'] * 1e3:.1f} ms -> {pick}"
