#!/usr/bin/env python3
"""Plots `mnemo bench --json` results: time and memory against context length.

    python3 bench/plot_bench.py RESULT.json [MORE.json ...] -o OUT.png [--title TEXT] [--markdown OUT.md]

One figure, four panels (log-scaled context on x): prefill tokens/s, decode ms/token
(p50 line, p50..p99 band), time to first token, and memory (peak process RSS solid,
the session's planned bytes dashed, GPU memory dotted on CUDA). Every run of every file is
one colour, labelled with the backend it ran on; the llama.cpp peer of a file, when
present, is drawn in grey (prefill and decode); a run's PyTorch-reference peer
(--peer-torch-reference) in the run's colour with triangles. Skipped contexts are marked on
the x axis with the reason in the legend's run label.
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


def mib(b):
    return f"{b / 2**20:.2f} MiB"


def pct(c, key):
    v = c.get(key)
    return f"{100 * v:.0f}%" if isinstance(v, (int, float)) else "n/a"


def rss(c):
    kept = c.get("kept_sessions_bytes", 0)
    text = mib(c["peak_rss_bytes"])
    return text + (f" ({mib(c['peak_rss_bytes'] - kept)} without the sessions kept for --interleave)" if kept else "")


def markdown(docs):
    """The tables of docs/performance.md, from the JSON files."""
    out = []
    for doc in docs:
        roof = doc.get("roofline")
        groof = doc.get("gpu_roofline")
        if groof:
            out.append(f"GPU roofline ({doc.get('gpu', {}).get('name', '?')}, measured in the same run): device copy "
                       f"{groof['copy_gbs']:.0f} GB/s; cuBLAS SGEMM {groof['sgemm_gflops']:.0f}, TF32 "
                       f"{groof['tf32_gflops']:.0f}, BF16 {groof['bf16_gflops']:.0f} GFLOP/s.")
            out.append("")
        if roof:
            out.append(f"Roofline ({roof['threads']} threads, best of the start and end of the run): bandwidth "
                       f"{roof['bandwidth_gbs']:.1f} GB/s (read {roof['read_gbs']:.1f}, copy {roof['copy_gbs']:.1f}, "
                       f"triad {roof['triad_gbs']:.1f}); FMA peak AVX2 {roof['fma_avx2_gflops']:.0f}, AVX-512 "
                       f"{roof['fma_avx512_gflops']:.0f} GFLOP/s; BLAS sgemm {(roof.get('blas_gflops') or 0):.0f} GFLOP/s "
                       f"({roof['blas']}).")
            out.append("")
        for run in doc.get("runs", []):
            m = run.get("model")
            if not m:
                continue
            backend = run.get("backend", doc.get("settings", {}).get("backend", "?"))
            cuda = backend == "cuda"
            out.append(f"**{run['label']}** ({backend}) — {m['layout']}, {m['weight_type']}, {m['n_params'] / 1e6:.1f}M "
                       f"parameters, {mib(m['weight_bytes'])} of weights; decode reads "
                       f"{mib(run['decode_weight_bytes_per_token'])} of weights per token"
                       + (f" (as the GPU holds them: {run.get('device_weight_type', '?')})" if cuda else "") + ".")
            against = run.get("fractions_against")
            if against:
                out.append(f"Fractions against {against['bandwidth']} ({against['bandwidth_gbs']:.0f} GB/s) and "
                           f"{against['matmul_peak']} ({against['matmul_peak_gflops']:.0f} GFLOP/s).")
            torch_peer = run.get("peer_torch")
            with_peer = bool(torch_peer and torch_peer.get("points"))
            out.append("")
            cols = ["context", "prefill tok/s", "TTFT", "decode p50", "decode p99", "session (planned)", "state in use",
                    "peak RSS"] + (["GPU memory"] if cuda else []) + ["decode % of bandwidth", "prefill % of matmul peak",
                                                                       "load avg"]
            if with_peer:
                cols += ["PyTorch ref. prefill tok/s", "PyTorch ref. decode p50"]
            out.append("| " + " | ".join(cols) + " |")
            out.append("|" + "---|" * len(cols))
            for c in run["contexts"]:
                if c["status"] != "ok":
                    out.append(f"| {label_context(c['context'])} | {c['status']}: {c.get('reason', '')} |" + "|" * (len(cols) - 2))
                    continue
                gpu = c.get("gpu_memory_bytes")
                cells = [label_context(c["context"]), f"{c['prefill_tokens_per_second']:.0f}", f"{c['ttft_ms'] / 1000:.2f} s",
                         f"{c['decode_ms_p50']:.2f} ms", f"{c['decode_ms_p99']:.2f} ms", mib(c["plan_total_bytes"]),
                         mib(c["state_bytes_used"]), rss(c)]
                if cuda:
                    cells.append(mib(gpu) if isinstance(gpu, (int, float)) else "n/a")
                cells += [pct(c, "decode_fraction_of_bandwidth"), pct(c, "prefill_fraction_of_blas_peak"),
                          f"{c.get('load_average', 0):.1f}"]
                if with_peer:
                    if "peer_torch_prefill_tokens_per_second" in c:
                        cells += [f"{c['peer_torch_prefill_tokens_per_second']:.0f}", f"{c['peer_torch_decode_ms_p50']:.2f} ms"]
                    else:
                        cells += [c.get("peer_torch_skipped", "not run"), ""]
                out.append("| " + " | ".join(cells) + " |")
            if torch_peer:
                what = (f"PyTorch reference ({torch_peer.get('dtype', '?')}, torch {torch_peer.get('torch', '?')}, "
                        f"`{torch_peer.get('command', '')}`)")
                for k in ("note", "error"):
                    if torch_peer.get(k):
                        what += f": {torch_peer[k]}"
                out.append("")
                out.append(f"Peer: {what}.")
            d = run.get("decode_interleaved")
            if d and d.get("contexts"):
                out.append("")
                cells = ", ".join(f"{label_context(n)} {v:.3f} ms" for n, v in zip(d["contexts"], d["decode_ms_p50"]))
                block = d.get("block", 1)
                turn = f"{block} tokens per context in turn, the first of each turn not counted" if block > 1 else "one token per context in turn"
                out.append(f"Interleaved decode ({d['rounds']} tokens per context, {turn}), p50: {cells}; "
                           f"last / first = {d['p50_last_over_first']:.3f}.")
            mm = run.get("matmul")
            if mm and mm.get("mnemo_gflops"):
                out.append("")
                out.append(f"Prefill matmuls at T = {mm['rows']} (the model's linear layers, FLOP-weighted): Mnemo "
                           f"{mm['mnemo_gflops']:.0f} GFLOP/s ({m['weight_type']} weights; f32 weights "
                           f"{mm['mnemo_f32_gflops']:.0f}), BLAS sgemm on the same shapes "
                           f"{(mm.get('blas_gflops') or 0):.0f} GFLOP/s (Mnemo / BLAS on the same shapes = "
                           f"{(mm.get('mnemo_over_blas_same_shapes') or 0):.2f}); Mnemo = "
                           f"{100 * (mm.get('mnemo_fraction_of_blas_peak') or 0):.0f}% of the run's BLAS peak.")
            out.append("")
        peer = doc.get("peer")
        if peer and peer.get("points"):
            out.append(f"**Peer: llama.cpp** `llama-bench` {peer.get('build', '')} on the same Transformer weights "
                       f"(llama architecture GGUF):")
            out.append("")
            out.append("| context | prefill tok/s (pp N) | decode tok/s (tg at depth N) | decode ms/token |")
            out.append("|---|---|---|---|")
            for p in peer["points"]:
                out.append(f"| {label_context(p['context'])} | {p['prefill_tokens_per_second']:.0f} | "
                           f"{p['decode_tokens_per_second']:.1f} | {p['decode_ms_per_token']:.2f} |")
            out.append("")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", nargs="+", help="JSON files written by mnemo bench --json")
    ap.add_argument("-o", "--output", required=True, help="PNG to write")
    ap.add_argument("--title", default=None)
    ap.add_argument("--markdown", default=None, help="also write the results as Markdown tables")
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
            name = f"{run['label']} [{run.get('backend', doc.get('settings', {}).get('backend', '?'))}]"
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
            gpu = [(c["context"], c["gpu_memory_bytes"] / 2**20) for c in ok if isinstance(c.get("gpu_memory_bytes"), (int, float))]
            if gpu:
                ax_mem.plot(*zip(*gpu), "d:", color=colour, label=name + " GPU memory")
            ref = [c for c in ok if "peer_torch_prefill_tokens_per_second" in c]
            if ref:
                rx = [c["context"] for c in ref]
                ax_pre.plot(rx, [c["peer_torch_prefill_tokens_per_second"] for c in ref], "^--", color=colour, alpha=0.7,
                            label=run["label"] + " PyTorch reference")
                ax_dec.plot(rx, [c["peer_torch_decode_ms_p50"] for c in ref], "^--", color=colour, alpha=0.7,
                            label=run["label"] + " PyTorch reference")
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
    groof = doc.get("gpu_roofline")
    if groof:
        sub += (f"; GPU {doc.get('gpu', {}).get('name', '?')}: copy {groof.get('copy_gbs', 0):.0f} GB/s, "
                f"BF16 GEMM {groof.get('bf16_gflops', 0) / 1000:.0f} TFLOP/s")
    fig.suptitle((args.title or "mnemo bench") + "\n" + sub, fontsize=11)
    fig.tight_layout()
    fig.savefig(args.output, dpi=110)
    print(f"wrote {args.output}")
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(markdown(docs) + "\n")
        print(f"wrote {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
