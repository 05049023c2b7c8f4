#!/usr/bin/env python3
"""Retrieval results of the family: accuracy x context length x model, with state bytes.

Reads the `mnemo eval --json` files of a family evaluation (one file per model and length,
named MODEL.LENGTH.json, as training/trainer/device_family.sh writes them), merges them and
writes a Markdown table (per suite: accuracy per length and model; state bytes per length
and model) and a PNG (one panel per suite, accuracy against length, plus state bytes).

    /usr/bin/python3 training/trainer/plot_results.py EVAL_DIR docs/models/retrieval.png --markdown out.md
"""

import argparse
import glob
import json
import os
import sys

ORDER = ["lalte", "gdn", "gdn_swa", "lansa", "gdn_attn", "transformer"]
LABELS = {"lalte": "laLTE", "gdn": "GDN", "gdn_swa": "GDN+SWA", "lansa": "laNSA", "gdn_attn": "GDN+Attn",
          "transformer": "Transformer"}
SUITES = ["niah-single-repeat", "niah-single", "niah-single-uuid", "niah-multikey", "mqar", "passkey"]


def load(eval_dir: str):
    """{model: {"accuracy": {suite: {len: acc}}, "token_accuracy": ..., "state_bytes": {len: b}, "skipped": {len: why}}}"""
    out = {}
    for path in sorted(glob.glob(os.path.join(eval_dir, "*.json"))):
        model = os.path.basename(path).split(".")[0]
        try:
            j = json.load(open(path))
        except (json.JSONDecodeError, OSError):
            continue                                  # a length cut off by the deadline
        m = out.setdefault(model, {"accuracy": {}, "token_accuracy": {}, "state_bytes": {}, "skipped": {}})
        for key in ("accuracy", "token_accuracy"):
            for suite, cells in j.get(key, {}).items():
                for L, v in cells.items():
                    if v is not None:                 # null: the sample failed (reason in "skipped")
                        m[key].setdefault(suite, {})[int(L)] = float(v)
        for L, b in j.get("state_bytes", {}).items():
            m["state_bytes"][int(L)] = int(b)
        for L, why in j.get("skipped", {}).items():
            m["skipped"][int(L)] = why
    return out


def label_len(L: int) -> str:
    return f"{L // 1024}K" if L % 1024 == 0 else str(L)


def markdown(res) -> str:
    models = [m for m in ORDER if m in res] + sorted(m for m in res if m not in ORDER)
    lengths = sorted({L for m in res.values() for s in m["accuracy"].values() for L in s} |
                     {L for m in res.values() for L in m["skipped"]})
    lines = []
    for suite in SUITES:
        if not any(suite in res[m]["accuracy"] for m in models):
            continue
        lines += [f"**{suite}** (exact match; answer tokens right in parentheses)", "",
                  "| model | " + " | ".join(label_len(L) for L in lengths) + " |",
                  "|---|" + "---|" * len(lengths)]
        for m in models:
            cells = []
            for L in lengths:
                acc = res[m]["accuracy"].get(suite, {}).get(L)
                tok = res[m]["token_accuracy"].get(suite, {}).get(L)
                if acc is None:
                    cells.append("skipped" if L in res[m]["skipped"] else "—")
                else:
                    cells.append(f"{100 * acc:.0f} %" + (f" ({100 * tok:.0f})" if tok is not None else ""))
            lines.append(f"| {LABELS.get(m, m)} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["**Mean over the suites** (exact match; only where every suite has a value)", "",
              "| model | " + " | ".join(label_len(L) for L in lengths) + " |", "|---|" + "---|" * len(lengths)]
    for m in models:
        cells = []
        for L in lengths:
            accs = [res[m]["accuracy"].get(s, {}).get(L) for s in SUITES]
            cells.append(f"{100 * sum(accs) / len(accs):.0f} %" if None not in accs else "—")
        lines.append(f"| {LABELS.get(m, m)} | " + " | ".join(cells) + " |")
    lines.append("")
    lines += ["**State per sequence** (bytes the session holds for one sequence, from the memory plan)", "",
              "| model | " + " | ".join(label_len(L) for L in lengths) + " |", "|---|" + "---|" * len(lengths)]
    for m in models:
        cells = []
        for L in lengths:
            b = res[m]["state_bytes"].get(L)
            cells.append(f"{b / 2**20:.2f} MiB" if b is not None else ("skipped" if L in res[m]["skipped"] else "—"))
        lines.append(f"| {LABELS.get(m, m)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(res, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    models = [m for m in ORDER if m in res] + sorted(m for m in res if m not in ORDER)
    suites = [s for s in SUITES if any(s in res[m]["accuracy"] for m in models)]
    n = len(suites) + 1
    cols = 4
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3.2 * rows), squeeze=False)
    colors = {m: f"C{i}" for i, m in enumerate(models)}
    for ax, suite in zip(axes.flat, suites):
        for m in models:
            cells = sorted(res[m]["accuracy"].get(suite, {}).items())
            if cells:
                ax.plot([L for L, _ in cells], [100 * a for _, a in cells], marker="o", color=colors[m], label=LABELS.get(m, m))
            # answer tokens right (dashed): shows partial copying before exact matches appear
            tok = sorted(res[m]["token_accuracy"].get(suite, {}).items())
            if tok:
                ax.plot([L for L, _ in tok], [100 * a for _, a in tok], linestyle="--", marker=".", color=colors[m], alpha=0.6)
        ax.set_xscale("log", base=2)
        ax.set_ylim(-5, 105)
        ax.set_title(suite)
        ax.set_xlabel("context (tokens)")
        ax.set_ylabel("%")
        ax.grid(alpha=0.3)
    ax = axes.flat[len(suites)]
    for m in models:
        cells = sorted(res[m]["state_bytes"].items())
        if cells:
            ax.plot([L for L, _ in cells], [b / 2**20 for _, b in cells], marker="o", color=colors[m], label=LABELS.get(m, m))
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_title("state per sequence")
    ax.set_xlabel("context (tokens)")
    ax.set_ylabel("MiB")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    for extra in list(axes.flat)[n:]:
        extra.axis("off")
    fig.suptitle("retrieval accuracy (solid: exact match; dashed: answer tokens right) and state per sequence")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("eval_dir")
    ap.add_argument("png")
    ap.add_argument("--markdown")
    args = ap.parse_args(argv)
    res = load(args.eval_dir)
    if not res:
        print(f"no mnemo eval JSON files in {args.eval_dir}", file=sys.stderr)
        return 1
    md = markdown(res)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(md)
    print(md)
    plot(res, args.png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
