#!/usr/bin/env python3
"""Plots the loss curves of several runs side by side.

    /usr/bin/python3 training/trainer/plot_family.py out/runs docs/models/family_loss.png lalte gdn gdn_swa gdn_attn transformer

MNEMO_PLOT_YLIM="LO,HI" changes the loss axis (default 3,6; runs on mostly synthetic rows reach lower).
"""

import csv
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

LABELS = {"lalte": "laLTE (GDN+LTE)", "gdn": "GDN", "gdn_swa": "GDN+SWA", "lansa": "laNSA (GDN+NSA)",
          "gdn_attn": "GDN+Attn", "transformer": "Transformer"}


def main(argv):
    runs, out, names = argv[0], argv[1], argv[2:]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.2))
    for n in names:
        path = os.path.join(runs, n, "log.csv")
        if not os.path.exists(path):
            continue
        rows = list(csv.DictReader(open(path)))
        tok = [float(r["tokens"]) / 1e6 for r in rows]
        lm = [float(r["lm_loss"]) for r in rows]
        k = 5                                   # moving average over 5 logged points
        sm = [sum(lm[max(0, i - k + 1):i + 1]) / len(lm[max(0, i - k + 1):i + 1]) for i in range(len(lm))]
        lab = LABELS.get(n, n)
        a1.plot(tok, sm, lw=1.2, label=lab)
        vv = [(float(r["tokens"]) / 1e6, float(r["val_loss"])) for r in rows if r["val_loss"]]
        a2.plot([a for a, _ in vv], [b for _, b in vv], "o-", ms=3, lw=1.2, label=lab)
    for ax, t in ((a1, "training LM loss (moving average)"), (a2, "held-out loss")):
        ax.set_xlabel("tokens (M)")
        ax.set_ylabel("cross-entropy (nats)")
        ax.set_title(t)
        ax.set_ylim(*(float(v) for v in os.environ.get("MNEMO_PLOT_YLIM", "3,6").split(",")))
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    fig.savefig(out, dpi=100)
    print(out)


if __name__ == "__main__":
    main(sys.argv[1:])
