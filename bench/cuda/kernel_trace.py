#!/usr/bin/env python3
"""What each kernel of a single-token decode step costs the step, from a kernel_trace CSV.

A step starts at a one-block `embed_kernel` (a prefill chunk's embedding has a block a token) or,
where the first GEMV reads the embedding itself, at the first kernel after the GPU idled.
The steps of the most common kernel count (the scoring steps, one in 16, have more) are lined
up kernel by kernel in order of end time; each kernel is charged the time from the end of the
kernel before it to its own end ("cost"): the costs sum to the step's span from the first
kernel's end to the last's, so they say where the step's time goes with PDL's overlap included.
"early" is how long before the previous kernel's end the kernel started (its blocks resident
and running their pre-wait part).

usage: kernel_trace.py TRACE.csv[.gz] [--skip N] [--top K]
"""
import argparse
import collections
import csv
import gzip
import statistics
import sys


def load(path):
    with (gzip.open(path, "rt") if path.endswith(".gz") else open(path)) as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        for k in ("start_ns", "end_ns", "stream", "graph_node", "grid", "block"):
            r[k] = int(r[k])
        r["short"] = r["name"].replace("mnemo::cuda::", "").replace("mnemo::", "").replace("(anonymous namespace)::", "")
    rows.sort(key=lambda r: r["start_ns"])
    return rows


def steps_of(rows, idle_ns=5_000):
    """Decode steps: each starts at a one-block embed_kernel, or, where the step's first GEMV reads
    the embedding itself (no such launch), at the first kernel after the GPU idled idle_ns or more
    (the host's round trip between steps; kernels within a step overlap or follow at once)."""
    starts = [i for i, r in enumerate(rows) if r["short"].startswith("embed_kernel") and r["grid"] == 1]
    if not starts:
        end = None
        for i, r in enumerate(rows):
            if end is None or r["start_ns"] - end >= idle_ns:
                starts.append(i)
            end = r["end_ns"] if end is None else max(end, r["end_ns"])
    out = []
    for a, b in zip(starts, starts[1:] + [len(rows)]):
        out.append(rows[a:b])
    return out


def analyse(rows, skip):
    """The single-token steps after `skip` (the last dropped), those of the kernel count that holds
    the most kernels (count x steps: pieces a host pause split off a step, one kernel each, can
    outnumber the whole steps), and per kernel position its medians (us): cost (end after the
    previous end), dur, early."""
    steps = steps_of(rows)[skip:]
    if len(steps) < 2:
        raise ValueError(f"only {len(steps)} decode steps after skipping {skip}")
    steps = steps[:-1]  # the last may run into whatever follows decode
    counts = collections.Counter(len(s) for s in steps)
    n = max(counts, key=lambda c: (c * counts[c], c))
    plain = [s for s in steps if len(s) == n]
    per_pos = collections.defaultdict(lambda: {"cost": [], "dur": [], "early": []})
    names = {}
    for s in plain:
        prev_end = None
        for i in sorted(range(n), key=lambda i: s[i]["end_ns"]):
            r = s[i]
            names[i] = (r["short"], r["grid"], r["block"], r["stream"])
            per_pos[i]["cost"].append(r["end_ns"] - (prev_end if prev_end is not None else r["start_ns"]))
            per_pos[i]["dur"].append(r["end_ns"] - r["start_ns"])
            per_pos[i]["early"].append((prev_end - r["start_ns"]) if prev_end is not None else 0)
            prev_end = r["end_ns"]
    med = {i: {k: statistics.median(v) / 1e3 for k, v in d.items()} for i, d in per_pos.items()}
    spans = [max(r["end_ns"] for r in s) - s[0]["start_ns"] for s in steps]
    plain_spans = [max(r["end_ns"] for r in s) - s[0]["start_ns"] for s in plain]
    return {"steps": len(steps), "counts": dict(counts), "n": n, "plain": len(plain), "span_us": statistics.median(spans) / 1e3,
            "plain_span_us": statistics.median(plain_spans) / 1e3, "med": med, "names": names}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("trace")
    ap.add_argument("--skip", type=int, default=8, help="decode steps to leave out at the start (warm-up)")
    ap.add_argument("--top", type=int, default=0, help="print only the K costliest positions (0: all)")
    a = ap.parse_args()
    try:
        r = analyse(load(a.trace), a.skip)
    except ValueError as e:
        sys.exit(f"kernel_trace.py: {a.trace}: {e}")
    med, names, n = r["med"], r["names"], r["n"]
    print(f"{r['steps']} decode steps; kernel counts {r['counts']}; using the {r['plain']} of {n} kernels")
    print(f"step span (first start to last end) p50 {r['span_us']:.1f} us, of the {n}-kernel steps {r['plain_span_us']:.1f} us")
    total = sum(m["cost"] for m in med.values())
    print(f"sum of median costs {total:.1f} us\n")
    by_name = collections.defaultdict(lambda: [0, 0.0, 0.0])
    for i, m in med.items():
        e = by_name[names[i][0]]
        e[0] += 1
        e[1] += m["cost"]
        e[2] += m["dur"]
    print(f"{'kernel':60s} {'n':>4s} {'cost us':>9s} {'each':>6s} {'dur us':>9s}")
    for name, (c, cost, dur) in sorted(by_name.items(), key=lambda kv: -kv[1][1]):
        print(f"{name[:60]:60s} {c:4d} {cost:9.1f} {cost / c:6.2f} {dur:9.1f}")
    print(f"\n{'pos':>4s} {'kernel':48s} {'grid':>5s} {'thr':>4s} {'strm':>4s} {'cost':>6s} {'dur':>6s} {'early':>6s}")
    order = sorted(med, key=lambda i: -med[i]["cost"])[: a.top] if a.top else sorted(med)
    for i in order:
        name, grid, block, stream = names[i]
        m = med[i]
        print(f"{i:4d} {name[:48]:48s} {grid:5d} {block:4d} {stream:4d} {m['cost']:6.2f} {m['dur']:6.2f} {m['early']:6.2f}")


if __name__ == "__main__":
    main()
