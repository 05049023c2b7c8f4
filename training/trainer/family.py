#!/usr/bin/env python3
"""Trains several family members one after the other inside one device call, within a
wall-clock deadline, and packs what must come back (bf16 weights in <= 16 MB parts, logs).

    python3 training/trainer/family.py --corpus out/gpu_corpus --results $OUT --deadline 450 \\
        lalte:budget=175 gdn:tokens=lalte

Model specs: NAME[:key=value,...] with NAME a file training/configs/NAME.json and keys
  budget=S      time-budgeted run: the trainer probes its step time and fits its schedule in S s
  tokens=N|REF  fixed token budget (N, or REF = the tokens another run of this call used, or
                a number from --family-tokens)
  mb=M, accum=A micro-batch and gradient accumulation (global batch = M * A)
  weights=0     do not pack the weights (only logs and the retrieval evaluation come back)
  init=DIR      start from the weights of an export (a later stage of a curriculum)
With --parallel all runs start at once and share the GPU (the models are small and the
pure-PyTorch kernels leave it mostly idle); each gets the whole deadline minus --reserve.
Each run gets a time limit that keeps the whole call inside --deadline (a run stopped by it is
exported as it is and marked unfinished in its training.json).

Results (in --results): NAME.mpk.0, NAME.mpk.1 (training/trainer/transport.py; unpack with
`python3 training/trainer/transport.py unpack DIR/NAME model.safetensors`) and NAME-logs.tar.gz
(log.csv, loss.png, args.json, config.json, training.json, retrieval_eval.json, train.log).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TRAINING = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import transport  # noqa: E402

DEFAULTS = dict(mb=16, accum=1)
PER_MODEL = {"lansa": dict(mb=4, accum=4)}     # dense NSA masks: smaller micro-batches


def parse_spec(s: str):
    """NAME[@CONFIG][:k=v,...] (CONFIG defaults to NAME)."""
    name, _, rest = s.partition(":")
    opts = dict(DEFAULTS, **PER_MODEL.get(name.split("@")[-1], {}))
    for kv in filter(None, rest.split(",")):
        k, v = kv.split("=", 1)
        opts[k] = v
    return name, opts


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+")
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--runs", default="/tmp/mnemo_runs")
    ap.add_argument("--deadline", type=float, default=450.0, help="seconds for the whole call")
    ap.add_argument("--reserve", type=float, default=55.0, help="seconds kept per run for start-up, export and eval")
    ap.add_argument("--lr", default="1.5e-3")
    ap.add_argument("--warmup", default="50")
    ap.add_argument("--family-tokens", type=float, default=None)
    ap.add_argument("--no-eval", action="store_true")
    ap.add_argument("--parallel", action="store_true")
    ap.add_argument("--seq-len", default="2048")
    ap.add_argument("--eval-max-len", default="8192")
    ap.add_argument("--retrieval-fraction", default="0.1", help="share of synthetic retrieval rows")
    ap.add_argument("--answer-weight", default="1", help="loss weight of retrieval answer tokens")
    args = ap.parse_args(argv)
    t0 = time.time()
    os.makedirs(args.results, exist_ok=True)
    os.makedirs(args.runs, exist_ok=True)
    specs = [parse_spec(s) for s in args.models]
    specs = [((n.split("@")[0]), dict(o, config=n.split("@")[-1])) for n, o in specs]
    done = {}

    def command(i, name, o):
        left = args.deadline - (time.time() - t0)
        n_after = 0 if args.parallel else len(specs) - i - 1
        run = os.path.join(args.runs, name)
        cmd = [sys.executable, os.path.join(TRAINING, "train.py"), "--config",
               os.path.join(TRAINING, "configs", o["config"] + ".json"), "--out", run, "--corpus", args.corpus,
               "--micro-batch", str(o["mb"]), "--grad-accum", str(o["accum"]), "--lr", args.lr,
               "--warmup", args.warmup, "--export-dtype", "bf16", "--log-every", "10",
               "--eval-every", "100", "--ckpt-every", "100000", "--seq-len", args.seq_len,
               "--eval-max-len", args.eval_max_len, "--retrieval-fraction", args.retrieval_fraction,
               "--answer-weight", args.answer_weight]
        if not args.no_eval:
            cmd += ["--eval-retrieval"]
        if "init" in o:
            cmd += ["--init-from", o["init"]]
        # time this run may take: what is left, minus what the later runs need at least
        share = left - args.reserve if n_after == 0 else (left - args.reserve * (n_after + 1)) / (n_after + 1)
        if "budget" in o:
            budget = min(float(o["budget"]), share)
            cmd += ["--time-budget", f"{budget:.0f}", "--time-limit", f"{budget + 20:.0f}"]
        else:
            tok = o.get("tokens")
            if tok is None and args.family_tokens:
                tok = args.family_tokens
            if tok in done:
                tok = done[tok]["tokens"]
            if tok is None:
                raise SystemExit(f"{name}: no token budget")
            cmd += ["--tokens", str(int(float(tok))), "--time-limit", f"{max(30.0, share):.0f}"]
        print(f"[family {time.time() - t0:.0f}s] {name}: {' '.join(cmd[2:])}", flush=True)
        os.makedirs(run, exist_ok=True)
        return run, cmd

    def finish(name, o, run, rc):
        logf = run + ".log"
        info_path = os.path.join(run, "export", "training.json")
        if rc != 0 or not os.path.exists(info_path):
            print(f"[family] {name} failed (rc {rc})", flush=True)
            with tarfile.open(os.path.join(args.results, f"{name}-logs.tar.gz"), "w:gz") as tf:
                tf.add(logf, arcname=f"{name}/train.log")
            return
        info = json.load(open(info_path))
        done[name] = info
        parts = []
        if str(o.get("weights", "1")) != "0":
            parts = transport.pack(os.path.join(run, "export", "model.safetensors"), os.path.join(args.results, name))
        with tarfile.open(os.path.join(args.results, f"{name}-logs.tar.gz"), "w:gz") as tf:
            for fn in ("log.csv", "loss.png", "args.json", "config.json", "retrieval_eval.json"):
                if os.path.exists(os.path.join(run, fn)):
                    tf.add(os.path.join(run, fn), arcname=f"{name}/{fn}")
            tf.add(info_path, arcname=f"{name}/training.json")
            tf.add(logf, arcname=f"{name}/train.log")
        print(f"[family {time.time() - t0:.0f}s] {name}: {info['steps']} steps, {info['tokens'] / 1e6:.1f} M tokens, "
              f"train loss {info['final_train_loss']:.3f}, held-out {info['final_val_loss']:.3f}, "
              f"finished {info['finished']}; parts {[os.path.basename(p) for p in parts]}", flush=True)

    def echo(name, line):
        if line.startswith("step="):
            st = int(line.split()[0][5:])
            if st != 1 and st % 100:
                return
        print(f"  {name}: {line.rstrip()}", flush=True)

    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if args.parallel:
        import threading
        procs = []
        for i, (name, o) in enumerate(specs):
            run, cmd = command(i, name, o)
            lf = open(run + ".log", "w")
            p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)

            def pump(p=p, lf=lf, name=name):
                for line in p.stdout:
                    lf.write(line)
                    lf.flush()
                    echo(name, line)
            th = threading.Thread(target=pump, daemon=True)
            th.start()
            procs.append((name, o, run, p, th, lf))
        for name, o, run, p, th, lf in procs:
            rc = p.wait()
            th.join()
            lf.close()
            finish(name, o, run, rc)
    else:
        for i, (name, o) in enumerate(specs):
            run, cmd = command(i, name, o)
            with open(run + ".log", "w") as lf:
                p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
                for line in p.stdout:
                    lf.write(line)
                    echo(name, line)
                rc = p.wait()
            finish(name, o, run, rc)
    print(json.dumps({k: {kk: v[kk] for kk in ("steps", "tokens", "final_train_loss", "final_val_loss",
                                                 "finished", "elapsed_s")} for k, v in done.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
