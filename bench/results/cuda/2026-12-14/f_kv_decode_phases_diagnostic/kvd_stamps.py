#!/usr/bin/env python3
"""DIAGNOSTIC (2026-12-14 f): kv_decode's phases from apply_kvd_stamps.py's dump, each launch lined up
with the kernel trace (the GEMV before it). usage: kvd_stamps.py STAMPS.bin TRACE.csv.gz"""
import csv, gzip, statistics as st, sys
import numpy as np
a = np.fromfile(sys.argv[1], dtype=np.uint64).reshape(-1, 16).astype(np.int64)
T = a[:, 1:]
order = np.argsort(T[:, 2])
T = T[order]; meta = a[order, 0]
# launches: past-wait times within 5 us of each other
cuts = np.where(np.diff(T[:, 2]) > 5000)[0] + 1
groups = np.split(np.arange(len(T)), cuts)
groups = [g for g in groups if len(g) >= 64]
print(f"{len(T)} block records, {len(groups)} launches")
rows = list(csv.DictReader(gzip.open(sys.argv[2], "rt")))
for r in rows:
    r["s"] = int(r["start_ns"]); r["e"] = int(r["end_ns"])
rows.sort(key=lambda r: r["s"])
kvd = [r for r in rows if "kv_decode" in r["name"]]
# offset between the trace's clock and globaltimer: the launch's trace start against its first block's T0
starts = np.array([T[g, 0].min() for g in groups])
ks = np.array([r["s"] for r in kvd])
n = min(len(starts), len(ks))
d = ks[:n] - starts[:n]
off = int(np.median(d))
print("offset spread (ns): p10 %d p50 %d p90 %d over %d launches (stamps %d, trace %d)" % (np.percentile(d, 10), off, np.percentile(d, 90), n, len(starts), len(ks)))
print("trace - globaltimer offset (ns, median of 50):", off)
names = ["start", "scan done (pre-wait done)", "past wait", "q/plan done", "copies landed", "scores", "softmax", "P.V", "partial pushed", "past cluster.sync", "end", "first copies issued", "pos stored", "past meta barrier", "retained copies issued"]
per = {k: [] for k in range(15)}
head_end = {}
ends, costs, release = [], [], []
prev_end = {}
ends_sorted = sorted(rows, key=lambda r: r["e"])
import bisect
end_list = [r["e"] for r in ends_sorted]
for g in groups:
    t = T[g] + off
    s0 = t[:, 0].min()
    j = int(np.argmin(np.abs(ks - s0)))
    k = kvd[j]
    # the kernel that ended last before kv_decode's end, other than itself: its predecessor (the GEMV)
    i = bisect.bisect_left(end_list, k["e"]) - 1
    while i >= 0 and ends_sorted[i] is k: i -= 1
    gemv_end = ends_sorted[i]["e"]
    if abs(k["s"] - s0) > 3000: continue
    for q in range(15):
        per[q].append(np.median(t[:, q]) - gemv_end)
    hs = (meta[g] >> 8) & 0xff
    rk = meta[g] & 0xff
    for hh in np.unique(hs):
        sel = (hs == hh) & (rk == 0)
        if sel.any(): head_end.setdefault(int(hh), []).append(t[sel, 10].max() - gemv_end)
    per.setdefault("max_end", []).append(t[:, 10].max() - gemv_end)
    per.setdefault("last_past_wait", []).append(t[:, 2].max() - gemv_end)
    per.setdefault("last_copies", []).append(t[:, 4].max() - gemv_end)
    per.setdefault("last_pushed", []).append(t[:, 8].max() - gemv_end)
    costs.append(k["e"] - gemv_end)
print(f"{len(costs)} launches matched; kv_decode cost (trace) p50 {st.median(costs)/1e3:.2f} us")
print("phase (median over blocks of a launch, us after the GEMV before it ended; p50 over launches)")
for q in [0, 11, 12, 13, 14, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]:
    print(f"  {names[q]:26s} {st.median(per[q])/1e3:7.2f}")
print("block 0's end by head (p50 over launches, us after the GEMV's end):", " ".join(f"{h}:{st.median(v)/1e3:.2f}" for h, v in sorted(head_end.items())))
for k in ["last_past_wait", "last_copies", "last_pushed", "max_end"]:
    print(f"  {k:20s} {st.median(per[k])/1e3:7.2f}")
