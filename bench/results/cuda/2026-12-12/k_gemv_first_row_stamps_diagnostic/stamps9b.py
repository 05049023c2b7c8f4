#!/usr/bin/env python3
"""2026-12-12 k: the GEMV's first row split: staged -> warp 0's row summed by its lanes (D) -> warp_sum (E) -> row stored, next set up (C) -> end."""
import sys, numpy as np
from collections import defaultdict
KIND = {1: 'gemv', 2: 'mlp', 3: 'kv', 4: 'gdn'}
a = np.fromfile(sys.argv[1], dtype=np.uint64).reshape(-1, 9)
meta = a[:, 0]
kind = (meta & 0xff).astype(int); grid = ((meta >> 8) & 0xffff).astype(int)
t = a[:, 1:9].astype(np.int64)
base = t[:, 1].min()
for c in range(8):
    nz = t[:, c] != 0
    t[nz, c] -= base
launches = []
for k in KIND:
    idx = np.where(kind == k)[0]
    if len(idx) == 0: continue
    idx = idx[np.argsort(t[idx, 1])]
    cuts = np.where(np.diff(t[idx, 1]) > 1500)[0] + 1
    for g in np.split(idx, cuts):
        launches.append((k, int(grid[g[0]]), g))
launches.sort(key=lambda L: t[L[2], 1].min())
d = defaultdict(list)
for i in range(1, len(launches)):
    k, gr, g = launches[i]
    pk, pgr, pg = launches[i - 1]
    if k != 1: continue
    T = t[g]
    st1, st2, end, td, te, tc = T[:, 1], T[:, 2], T[:, 3], T[:, 5], T[:, 6], T[:, 7]
    d[f'{KIND[pk]}{pgr}>gemv{gr}'].append([np.median(st2 - st1), np.median(td - st2), np.median(te - td), np.median(tc - te), np.median(end - tc)])
print('GEMV, per-block medians (ns): wait>staged | staged>row summed (D) | warp_sum (E) | store and next row set up (C) | rest to end')
for key, v in sorted(d.items(), key=lambda kv: -len(kv[1])):
    v = np.array(v[len(v) // 5:], dtype=float)
    print(f'{key:20s} {len(v):5d} ' + ' '.join(f'{x:7.0f}' for x in np.median(v, axis=0)))
