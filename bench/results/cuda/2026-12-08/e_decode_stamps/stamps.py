#!/usr/bin/env python3
"""Reads the decode kernels' globaltimer stamps (apply_stamps.py) and reports, per kernel of a
step, the medians over steps of: when its blocks entered and passed the wait, relative to the
last block end of the kernel before it, and where its own last block ended."""
import sys, numpy as np
KIND = {1: 'gemv', 2: 'mlp', 3: 'kv', 4: 'gdn'}
a = np.fromfile(sys.argv[1], dtype=np.uint64).reshape(-1, 6)
meta = a[:, 0]
kind = (meta & 0xff).astype(int); grid = ((meta >> 8) & 0xffff).astype(int)
t = a[:, 1:5].astype(np.int64)
t -= t[:, 1].min()
# launches: per kind, sorted by the wait time, split where the wait times jump by > 1.5 us
launches = []
for k in KIND:
    idx = np.where(kind == k)[0]
    if len(idx) == 0: continue
    idx = idx[np.argsort(t[idx, 1])]
    w = t[idx, 1]
    cuts = np.where(np.diff(w) > 1500)[0] + 1
    for g in np.split(idx, cuts):
        launches.append((k, int(grid[g[0]]), g))
launches.sort(key=lambda L: t[L[2], 1].min())
rows = []
for i in range(1, len(launches)):
    k, gr, g = launches[i]
    pk, pgr, pg = launches[i - 1]
    prev_end = t[pg, 3].max()
    rows.append((f'{KIND[pk]}{pgr}>{KIND[k]}{gr}',
                 t[g, 0].min() - prev_end, t[g, 0].max() - prev_end,   # first / last block entry
                 t[g, 1].min() - prev_end, t[g, 1].max() - prev_end,   # first / last past the wait
                 t[g, 2].max() - prev_end,                              # staged (gemv, mlp) / cluster sync (kv)
                 np.median(t[g, 3] - t[g, 1]),                          # a block's wait-to-end, median
                 t[g, 3].max() - prev_end, len(g)))                     # last block end
# group by transition, skip the first 20% of launches (prefill, warm-up)
from collections import defaultdict
d = defaultdict(list)
for r in rows[len(rows) // 5:]:
    d[r[0]].append(r[1:])
print('ns after the previous kernel\'s last block end (medians over steps); n = launches')
print(f'{"transition":22s} {"n":>5s} {"entry0":>7s} {"entryN":>7s} {"wait0":>7s} {"waitN":>7s} {"staged":>7s} {"blk w>e":>7s} {"end":>7s} {"blocks":>6s}')
for key, v in sorted(d.items(), key=lambda kv: -len(kv[1])):
    m = np.median(np.array(v, dtype=float), axis=0)
    print(f'{key:22s} {len(v):5d} ' + ' '.join(f'{x:7.0f}' for x in m))
