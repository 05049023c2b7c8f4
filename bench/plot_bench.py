#!/usr/bin/env python3
"""Plots `mnemo bench --json` results: time and memory against context length.

    python3 bench/plot_bench.py RESULT.json [MORE.json ...] -o OUT.png [--title TEXT]

One figure, four panels (log-scaled context on x): prefill tokens/s, decode ms/token
(p50 line, p50..p99 band), time to first token, and memory (peak process RSS solid,
the session's planned bytes dashed). Every run of every file is one colour; the llama.cpp
peer of a file, when present, is drawn in grey (prefill and decode). Skipped contexts are
marked on the x axis with the reason in the legend's run label.
"""
import argparse
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def label_context(n):
    if n >= 1 << 20 and n % (1 << 20) == 0:
        return f"{n >> 20}M"
    if n >= 1024 and n % 1024 == 0:
        return f"{n >> 10}K"
    return str(n)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", nargs="+", help="JSON files written by mnemo bench --json")
    ap.add_argument("-o", "--output", required=True, help="PNG to write")
    ap.add_argument("--title", default=None)
    args = ap.parse_args()

    docs = []
    for path in args.results:
        with open(path) as f:
            docs.append(json.load(f))

    fig, axes = plt.subplots(2, 2, figsize=(13, 9))
    ax_pre, ax_dec, ax_ttft, ax_mem = axes[0][0], axes[0][1], axes[1][0], axes[1][1]
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    all_contexts = set()
    i = 0
    for doc in docs:
        for run in doc.get("runs", []):
            ok = [c for c in run.get("contexts", []) if c.get("status") == "ok"]
            skipped = [c for c in run.get("contexts", []) if c.get("status") != "ok"]
            if not ok:
                continue
            colour = colours[i % len(colours)]
            i += 1
            name = run["label"]
            if skipped:
                name += f" (stops after {label_context(ok[-1]['context'])})"
            x = [c["context"] for c in ok]
            all_contexts.update(x)
            ax_pre.plot(x, [c["prefill_tokens_per_second"] for c in ok], "o-", color=colour, label=name)
            p50 = [c["decode_ms_p50"] for c in ok]
            p99 = [c["decode_ms_p99"] for c in ok]
            ax_dec.plot(x, p50, "o-", color=colour, label=name)
            ax_dec.fill_between(x, p50, p99, color=colour, alpha=0.15)
            ax_ttft.plot(x, [c["ttft_ms"] / 1000.0 for c in ok], "o-", color=colour, label=name)
            ax_mem.plot(x, [c["peak_rss_bytes"] / 2**20 for c in ok], "o-", color=colour, label=name + " peak RSS")
            ax_mem.plot(x, [c["plan_total_bytes"] / 2**20 for c in ok], "s--", color=colour, alpha=0.7,
                        label=name + " session (planned)")
        peer = doc.get("peer")
        if peer and peer.get("points"):
            pts = peer["points"]
            pre = [(p["context"], p["prefill_tokens_per_second"]) for p in pts if p.get("prefill_tokens_per_second", 0) > 0]
            dec = [(p["context"], p["decode_ms_per_token"]) for p in pts if p.get("decode_ms_per_token", 0) > 0]
            if pre:
                ax_pre.plot(*zip(*pre), "x:", color="grey", label="llama.cpp (Transformer, same weights)")
            if dec:
                ax_dec.plot(*zip(*dec), "x:", color="grey", label="llama.cpp (Transformer, same weights)")

    ticks = sorted(all_contexts)
    for ax, title, ylabel, logy in (
        (ax_pre, "prefill throughput", "tokens / s", True),
        (ax_dec, "decode latency (p50 line, band to p99)", "ms / token", True),
        (ax_ttft, "time to first token", "seconds", True),
        (ax_mem, "memory", "MiB", True),
    ):
        ax.set_xscale("log", base=2)
        if logy:
            ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xlabel("context (tokens)")
        ax.set_ylabel(ylabel)
        if ticks:
            ax.set_xticks(ticks)
            ax.set_xticklabels([label_context(t) for t in ticks])
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)

    doc = docs[0]
    machine = doc.get("machine", {})
    settings = doc.get("settings", {})
    roof = doc.get("roofline", {})
    sub = f"{machine.get('cpu', '?')}, {settings.get('threads', '?')} threads, backend {settings.get('backend', '?')}"
    if roof:
        sub += (f"; roofline {roof.get('bandwidth_gbs', 0):.0f} GB/s, BLAS "
                f"{(roof.get('blas_gflops') or 0):.0f} GFLOP/s")
    fig.suptitle((args.title or "mnemo bench") + "\n" + sub, fontsize=11)
    fig.tight_layout()
    fig.savefig(args.output, dpi=110)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
