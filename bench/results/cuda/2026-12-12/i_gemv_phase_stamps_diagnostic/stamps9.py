#!/usr/bin/env python3
"""2026-12-12 i: the decode kernels' globaltimer stamps (9-word records), with the GEMV's staging split:
past the wait -> inputs summed (A) -> block_sum (B) -> staged (barrier) -> warp 0's first row (C) -> end.
Per transition (kernel before > kernel), medians over launches of the block medians, and of the block maxima."""
import sys, numpy as np
from collections import defaultdict
KIND = {1: 'gemv', 2: 'mlp', 3: 'kv', 4: 'gdn'}
a = np.fromfile(sys.argv[1], dtype=np.uint64).reshape(-1, 9)
meta = a[:, 0]
kind = (meta & 0xff).astype(int); grid = ((meta >> 8) & 0xffff).astype(int)
t = a[:, 1:9].astype(np.int64)
base = t[:, 1].min()
t0 = t.copy()
for c in range(8):
    nz = t0[:, c] != 0
    t0[nz, c] -= base
launches = []
for k in KIND:
    idx = np.where(kind == k)[0]
    if len(idx) == 0: continue
    idx = idx[np.argsort(t0[idx, 1])]
    w = t0[idx, 1]
    cuts = np.where(np.diff(w) > 1500)[0] + 1
    for g in np.split(idx, cuts):
        launches.append((k, int(grid[g[0]]), g))
launches.sort(key=lambda L: t0[L[2], 1].min())
d = defaultdict(list)
for i in range(1, len(launches)):
    k, gr, g = launches[i]
    pk, pgr, pg = launches[i - 1]
    if k != 1: continue
    prev_end = t0[pg, 3].max()
    T = t0[g]
    st0, st1, st2, end, ta, tb, tc = T[:, 0], T[:, 1], T[:, 2], T[:, 3], T[:, 5], T[:, 6], T[:, 7]
    normed = (ta > 0).all()
    row = [st1.max() - prev_end, st2.max() - prev_end, end.max() - prev_end,
           np.median(st2 - st1), np.median(tc - st2), np.median(end - tc), np.median(end - st1)]
    if normed:
        row += [np.median(ta - st1), np.median(tb - ta), np.median(st2 - tb), np.max(ta - st1)]
    else:
        row += [np.nan] * 4
    d[f'{KIND[pk]}{pgr}>gemv{gr}'].append(row)
print('GEMV launches, ns; columns 1-3 after the previous kernel\'s last block end (latest block), 4-11 per-block medians (or max)')
print(f'{"transition":20s} {"n":>5s} {"waitN":>6s} {"stagedN":>7s} {"endN":>6s} | {"w>stg":>6s} {"row1":>6s} {"rest":>6s} {"w>end":>6s} | {"w>A":>6s} {"A>B":>6s} {"B>stg":>6s} {"maxw>A":>6s}')
for key, v in sorted(d.items(), key=lambda kv: -len(kv[1])):
    v = np.array(v[len(v) // 5:], dtype=float)
    m = np.nanmedian(v, axis=0)
    print(f'{key:20s} {len(v):5d} ' + ' '.join(f'{x:6.0f}' for x in m[:3]) + ' | ' + ' '.join(f'{x:6.0f}' for x in m[3:7]) + ' | ' + ' '.join(f'{x:6.0f}' for x in m[7:]))
