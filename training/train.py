#!/usr/bin/env python3
"""Trains any model of Mnemo's reference (training/mnemo_ref) from a paper-schema config.json.

    # one GPU (or CPU), resumes automatically from RUN/ckpt.pt when it exists
    python3 training/train.py --config training/configs/lalte.json --out out/runs/lalte

    # several GPUs, unchanged code: DDP through torch.distributed
    torchrun --nproc_per_node=2 training/train.py --config ... --out ...

What it does: bf16 autocast (GPU), AdamW, linear warm-up then cosine decay, gradient clipping,
LTE's adaptive L1 regulariser (mnemo_ref.regularizer.LTERegularizer) for laLTE models,
resumable checkpoints (model + optimiser + step; the data position is the step, see
trainer/data.py), a CSV log and loss-curve PNG, a time limit that stops cleanly (checkpoint +
export) so a run can span several device calls, and the export of the final model in Hugging
Face layout (config.json + model.safetensors with the paper's parameter names, through
mnemo_ref's save_file) plus the tokenizer, ready for `mnemo convert`.

Run directory (--out):
  ckpt.pt              latest checkpoint (model, optimiser, step, tokens, RNG states)
  log.csv              one row per logged step (train loss, val loss, lr, grad norm, ...)
  loss.png             loss curves (matplotlib, when available)
  export/              config.json, model.safetensors, tokenizer.model, training.json
  retrieval_eval.json  end-of-run retrieval accuracy on held-out haystacks (--eval-retrieval)
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import shutil
import sys
import time
from typing import Dict, List, Optional

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from mnemo_ref import MnemoForCausalLM, parse_config  # noqa: E402
from mnemo_ref.regularizer import LTERegularizer  # noqa: E402
from trainer import gdn_fast  # noqa: E402
from trainer.data import Batches, heldout_windows, load_eval_set  # noqa: E402

LOG_FIELDS = ["step", "tokens", "lr", "loss", "lm_loss", "l1_loss", "grad_norm", "val_loss",
              "ret_acc", "lte_kept", "lte_lambda", "tok_per_s", "elapsed_s"]


# ============================================================================ setup helpers

def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True, help="paper-schema config.json")
    ap.add_argument("--out", required=True, help="run directory")
    ap.add_argument("--corpus", default=os.path.join(REPO, "out", "corpus"))
    ap.add_argument("--tokenizer", default=os.path.join(REPO, "models", "tokenizer", "mnemo-8k.model"))
    ap.add_argument("--seq-len", type=int, default=2048)
    ap.add_argument("--micro-batch", type=int, default=8, help="sequences per GPU per micro-step")
    ap.add_argument("--grad-accum", type=int, default=1)
    ap.add_argument("--max-steps", type=int, default=None, help="optimiser steps (else from --tokens)")
    ap.add_argument("--tokens", type=float, default=None, help="token budget (sets --max-steps)")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--min-lr-ratio", type=float, default=0.1)
    ap.add_argument("--warmup", type=float, default=0.05, help="warm-up steps (or fraction if < 1)")
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--beta1", type=float, default=0.9)
    ap.add_argument("--beta2", type=float, default=0.95)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--init-std", type=float, default=0.02)
    ap.add_argument("--dtype", choices=["bf16", "fp32"], default=None, help="autocast (default: bf16 on GPU)")
    ap.add_argument("--device", default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--retrieval-fraction", type=float, default=0.10)
    ap.add_argument("--answer-weight", type=float, default=1.0,
                    help="loss weight of the answer tokens of retrieval rows (1 = plain LM loss)")
    ap.add_argument("--log-every", type=int, default=10)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--val-windows", type=int, default=16)
    ap.add_argument("--ckpt-every", type=int, default=200)
    ap.add_argument("--time-limit", type=float, default=None, help="seconds; stop, save and export")
    ap.add_argument("--time-budget", type=float, default=None,
                    help="seconds of training loop: after a probe of the step time (steps 5-25) the "
                         "step count is set so that the schedule ends within the budget (needs an "
                         "absolute --warmup >= 25)")
    ap.add_argument("--stop-at", type=int, default=None, help="stop (save) after this step (testing)")
    ap.add_argument("--no-resume", action="store_true")
    ap.add_argument("--init-from", default=None,
                    help="an export directory (config.json + model.safetensors) whose weights start this "
                         "run instead of a random init: a later stage of a curriculum (fresh optimiser "
                         "and schedule; the configs must match)")
    ap.add_argument("--export-dtype", choices=["f32", "bf16"], default="f32")
    ap.add_argument("--no-export", action="store_true")
    ap.add_argument("--eval-retrieval", action="store_true", help="retrieval accuracy at the end")
    ap.add_argument("--eval-max-len", type=int, default=8192)
    ap.add_argument("--eval-per-cell", type=int, default=8)
    ap.add_argument("--gdn-kernel", choices=["auto", "fast", "reference"], default="auto")
    ap.add_argument("--compile", action="store_true", help="torch.compile the MLPs (GPU)")
    return ap.parse_args(argv)


def dist_setup():
    """(rank, world, local_rank); initialises torch.distributed under torchrun."""
    if "RANK" in os.environ and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        import torch.distributed as dist
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
        return dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0"))
    return 0, 1, 0


def init_weights(model: MnemoForCausalLM, std: float) -> None:
    """GPT-style init: N(0, std) for embeddings and linear layers, residual output projections
    scaled by 1/sqrt(2 L); mixer-specific parameters (GDN decay, short convs, LTE router)
    keep their module initialisation; norms are ones."""
    L = model.cfg.num_hidden_layers
    with torch.no_grad():
        for name, mod in model.named_modules():
            if "router" in name:
                continue
            if isinstance(mod, nn.Linear):
                s = std / math.sqrt(2 * L) if name.endswith(("o_proj", "down_proj")) else std
                mod.weight.normal_(0.0, s)
                if mod.bias is not None:
                    mod.bias.zero_()
            elif isinstance(mod, nn.Embedding):
                mod.weight.normal_(0.0, std)


def lr_at(step: int, max_steps: int, warmup: int, lr: float, min_ratio: float) -> float:
    """Linear warm-up to lr over `warmup` steps, then cosine decay to lr * min_ratio at max_steps."""
    if step < warmup:
        return lr * (step + 1) / warmup
    t = min(1.0, (step - warmup) / max(1, max_steps - warmup))
    return lr * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * t)))


def param_groups(model: nn.Module, wd: float):
    decay, no_decay = [], []
    seen = set()
    for n, p in model.named_parameters():
        if not p.requires_grad or id(p) in seen:
            continue
        seen.add(id(p))
        if p.dim() < 2 or n.endswith(("A_log", "dt_bias")) or "norm" in n:
            no_decay.append(p)
        else:
            decay.append(p)
    return [{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}]


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())


# ============================================================================ checkpoints

def save_checkpoint(path: str, model, opt, step: int, tokens: int, elapsed: float, args,
                    max_steps: Optional[int] = None) -> None:
    state = {
        "max_steps": max_steps,
        "model": model.state_dict(), "optimizer": opt.state_dict(), "step": step,
        "tokens": tokens, "elapsed": elapsed, "config": model.cfg.raw, "args": vars(args),
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
    }
    tmp = path + ".tmp"
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str, model, opt, device):
    state = torch.load(path, map_location=device)
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    torch.set_rng_state(state["torch_rng"].cpu())
    if state.get("cuda_rng") is not None and torch.cuda.is_available():
        try:
            torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda_rng"]])
        except Exception:
            pass
    return state["step"], state["tokens"], state.get("elapsed", 0.0)


# ============================================================================ evaluation

@torch.no_grad()
def val_loss(model, windows: np.ndarray, device, amp, batch: int = 4) -> float:
    if len(windows) == 0:
        return float("nan")
    model.eval()
    tot, n = 0.0, 0
    for i in range(0, len(windows), batch):
        x = torch.from_numpy(windows[i:i + batch]).to(device)
        with amp():
            out = model(x, labels=x, mode="fast", lte_mode="train")
        tot += out["loss"].item() * len(x)
        n += len(x)
    model.train()
    return tot / n


def answer_weighted_loss(logits, x, spans, weight: float):
    """Next-token cross entropy where the answer tokens of retrieval rows weigh `weight`
    and every other token 1, normalised by the total weight (so the plain LM loss is the
    weight-1 case). Answers are a few tokens in 2048; weighting them makes the copy signal
    visible to the optimiser without changing what is learned from the text."""
    ce = F.cross_entropy(logits[:, :-1].float().reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1),
                         reduction="none").view(x.shape[0], -1)
    w = torch.ones_like(ce)
    for b, sp in enumerate(spans):
        for a_, e_ in sp:
            w[b, a_ - 1:e_ - 1] = weight     # logits at p-1 predict token p
    return (ce * w).sum() / w.sum()


@torch.no_grad()
def eval_retrieval(model, corpus: str, device, amp, max_len: int, per_cell: int) -> Optional[Dict]:
    """Teacher-forced exact-match accuracy of the answers, with the bounded-cache semantics
    (lte_mode='cache') for LTE layers; per task and length."""
    es = load_eval_set(corpus)
    if es is None:
        return None
    model.eval()
    cells: Dict[str, Dict[int, List[float]]] = {}
    for s in es["samples"]:
        if s["length"] > max_len or s["index"] >= per_cell:
            continue
        x = torch.from_numpy(s["ids"][None]).to(device)
        with amp():
            logits = model(x, mode="fast", lte_mode="cache")["logits"][0]
        pred = logits.argmax(-1).cpu().numpy()
        ok = []
        for a, b in s["answers"]:
            ok.append(all(int(pred[p - 1]) == int(s["ids"][p]) for p in range(a, b)))
        cells.setdefault(s["task"], {}).setdefault(s["length"], []).append(float(np.mean(ok)))
    model.train()
    return {t: {str(L): float(np.mean(v)) for L, v in sorted(d.items())} for t, d in cells.items()}


# ============================================================================ plots

def plot_log(csv_path: str, png_path: str, title: str) -> bool:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception:
        return False
    with open(csv_path) as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return False
    f = lambda r, k: float(r[k]) if r.get(k) not in (None, "", "nan") else float("nan")
    tok = np.array([f(r, "tokens") for r in rows]) / 1e6
    has_lte = any(r.get("lte_kept") not in ("", None) for r in rows)
    fig, axes = plt.subplots(1, 2 if has_lte else 1, figsize=(11 if has_lte else 6, 4), squeeze=False)
    ax = axes[0][0]
    ax.plot(tok, [f(r, "lm_loss") for r in rows], lw=0.8, label="train LM loss")
    vv = [(t, f(r, "val_loss")) for t, r in zip(tok, rows) if r.get("val_loss") not in ("", None)]
    if vv:
        ax.plot([a for a, _ in vv], [b for _, b in vv], "o-", ms=3, label="held-out loss")
    ax.set_xlabel("tokens (M)")
    ax.set_ylabel("cross-entropy (nats)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    if has_lte:
        ax2 = axes[0][1]
        ax2.plot(tok, [f(r, "lte_kept") for r in rows], label="mean tokens kept (EMA)")
        ax2.set_xlabel("tokens (M)")
        ax2.set_ylabel("retained tokens per head")
        ax2.grid(alpha=0.3)
        ax2.legend()
    fig.tight_layout()
    fig.savefig(png_path, dpi=110)
    plt.close(fig)
    return True


# ============================================================================ main

def main(argv=None) -> int:
    args = parse_args(argv)
    rank, world, local_rank = dist_setup()
    if args.device:
        device = torch.device(args.device)
    elif torch.cuda.is_available():
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    is_cuda = device.type == "cuda"
    dtype = args.dtype or ("bf16" if is_cuda else "fp32")
    if is_cuda:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True

    def amp():
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=(dtype == "bf16"))

    master = rank == 0
    log = (lambda *a: print(*a, flush=True)) if master else (lambda *a: None)
    os.makedirs(args.out, exist_ok=True)
    with open(args.config) as f:
        raw = json.load(f)
    cfg = parse_config(raw)
    torch.manual_seed(args.seed)
    model = MnemoForCausalLM(cfg)
    init_weights(model, args.init_std)
    if args.init_from:
        src = os.path.join(args.init_from, "model.safetensors")
        if not os.path.exists(src):
            raise SystemExit(f"--init-from {args.init_from}: no model.safetensors there (an export of train.py?)")
        from mnemo_ref.safetensors_io import load_file
        model.load_paper_state_dict({k: v.float() for k, v in load_file(src).items()})
        log(f"weights from {args.init_from}")
    model.to(device)
    n_params = count_params(model)
    log(f"model {os.path.basename(args.config)}: {cfg.model_type}, layers "
        f"{''.join(s.kind[0] for s in cfg.layers)} ({[s.kind for s in cfg.layers]}), {n_params / 1e6:.2f} M parameters")

    # GDN kernel
    if any(s.kind == "gdn" for s in cfg.layers):
        if args.gdn_kernel == "auto":
            if is_cuda:
                gdn_params = [s.params for s in cfg.layers if s.kind == "gdn"][0]
                log(gdn_fast.choose(device, B=args.micro_batch, T=args.seq_len,
                                    H=gdn_params["num_heads"], K=gdn_params["head_dim"],
                                    V=int(gdn_params["head_dim"] * gdn_params["expand_v"])))
            else:
                gdn_fast.install()       # CPU: float32 either way; keep one code path
                from mnemo_ref import gdn as _g
                _g.gated_delta_rule_chunked = gdn_fast.fp32_reference
        elif args.gdn_kernel == "fast":
            gdn_fast.install()
        else:
            gdn_fast.install()
            from mnemo_ref import gdn as _g
            _g.gated_delta_rule_chunked = gdn_fast.fp32_reference

    if args.compile and is_cuda:
        for layer in model.model.layers:
            layer.mlp = torch.compile(layer.mlp)

    global_batch = args.micro_batch * args.grad_accum * world
    tokens_per_step = global_batch * args.seq_len
    max_steps = args.max_steps
    if max_steps is None and args.tokens is not None:
        max_steps = int(math.ceil(args.tokens / tokens_per_step))
    if max_steps is None:
        if args.time_budget is None:
            raise SystemExit("give --max-steps, --tokens or --time-budget")
        max_steps = 10 ** 7                      # provisional, set after the probe
    if args.time_budget is not None and args.warmup < 25:
        raise SystemExit("--time-budget needs an absolute --warmup of at least 25 steps")
    warmup = int(args.warmup * max_steps) if args.warmup < 1 else int(args.warmup)
    warmup = max(1, warmup)
    probe = (5, 25) if args.time_budget is not None else None

    opt_kwargs = dict(lr=args.lr, betas=(args.beta1, args.beta2), eps=1e-8)
    if is_cuda:
        opt_kwargs["fused"] = True
    try:
        opt = torch.optim.AdamW(param_groups(model, args.weight_decay), **opt_kwargs)
    except (TypeError, RuntimeError):
        opt_kwargs.pop("fused", None)
        opt = torch.optim.AdamW(param_groups(model, args.weight_decay), **opt_kwargs)

    ckpt_path = os.path.join(args.out, "ckpt.pt")
    step, tokens, elapsed_before = 0, 0, 0.0
    if os.path.exists(ckpt_path) and not args.no_resume:
        step, tokens, elapsed_before = load_checkpoint(ckpt_path, model, opt, device)
        saved_max = torch.load(ckpt_path, map_location="cpu").get("max_steps")
        if probe is not None and saved_max:
            max_steps, probe = saved_max, None
        log(f"resumed from {ckpt_path} at step {step} ({tokens / 1e6:.1f} M tokens)")

    ddp_model = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel as DDP
        ddp_model = DDP(model, device_ids=[local_rank] if is_cuda else None)

    reg = LTERegularizer(model, args.seq_len) if cfg.lte_layers else None
    attn_cfg = raw.get("attn") or {}
    freeze_steps = int(attn_cfg.get("routing_freeze_steps", 0) or 0)
    l1_warmup = int(attn_cfg.get("l1_warmup_steps", 0) or 0)
    lte_attn = [model.model.layers[i].attn for i in cfg.lte_layers]

    data = Batches(args.corpus, args.seq_len, args.micro_batch, seed=args.seed,
                   retrieval_fraction=args.retrieval_fraction, rank=rank, world=world)
    val = heldout_windows(args.corpus, args.seq_len, args.val_windows) if master else None
    log(f"data: {len(data.tokens) / 1e6:.2f} M training tokens, retrieval fraction "
        f"{data.retrieval_fraction:.2f}; batch {global_batch} x {args.seq_len} = {tokens_per_step} tokens/step; "
        f"{max_steps} steps = {max_steps * tokens_per_step / 1e6:.1f} M tokens; warm-up {warmup}; "
        f"device {device}, {dtype}, world {world}")

    csv_path = os.path.join(args.out, "log.csv")
    if master:
        new = not os.path.exists(csv_path) or step == 0
        if new:
            with open(csv_path, "w", newline="") as f:
                csv.writer(f).writerow(LOG_FIELDS)
        with open(os.path.join(args.out, "config.json"), "w") as f:
            json.dump(raw, f, indent=2)
        with open(os.path.join(args.out, "args.json"), "w") as f:
            json.dump(dict(vars(args), max_steps=max_steps, world=world, params=n_params), f, indent=2)

    t_start = time.time()
    t_last, tok_last = time.time(), tokens
    last_loss = float("nan")
    stop_reason = "done"
    model.train()
    while step < max_steps:
        if args.time_limit is not None and elapsed_before + time.time() - t_start > args.time_limit:
            stop_reason = "time limit"
            break
        if args.stop_at is not None and step >= args.stop_at:
            stop_reason = "stop-at"
            break
        lr = lr_at(step, max_steps, warmup, args.lr, args.min_lr_ratio)
        for gr in opt.param_groups:
            gr["lr"] = lr
        for a in lte_attn:
            a.router.enabled = step >= freeze_steps
        lm_acc, l1_acc, ret_ok, ret_n = 0.0, 0.0, 0, 0
        for micro in range(args.grad_accum):
            x_np, spans = data.batch(step, micro)
            x = torch.from_numpy(x_np).to(device, non_blocking=True)
            sync = micro == args.grad_accum - 1
            ctx = ddp_model.no_sync() if (world > 1 and not sync) else _null()
            with ctx:
                with amp():
                    out = ddp_model(x, labels=x, mode="fast", lte_mode="train")
                    loss = out["loss"]
                    lm = loss.detach()
                    if args.answer_weight != 1.0 and any(spans):
                        loss = answer_weighted_loss(out["logits"], x, spans, args.answer_weight)
                    if reg is not None:
                        l1 = reg.loss(out["lte"])
                        if step >= l1_warmup:
                            loss = loss + l1
                        l1_acc += l1.detach().float().item() / args.grad_accum
                (loss / args.grad_accum).backward()
            lm_acc += lm.float().item() / args.grad_accum
            if any(spans):
                with torch.no_grad():
                    logits = out["logits"]
                    for b, sp in enumerate(spans):
                        for a_, e_ in sp:
                            pred = logits[b, a_ - 1:e_ - 1].argmax(-1)
                            ret_ok += int(torch.equal(pred, x[b, a_:e_]))
                            ret_n += 1
            del out, loss
        gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        opt.step()
        opt.zero_grad(set_to_none=True)
        step += 1
        tokens += tokens_per_step
        if reg is not None:
            reg.update(step)
        if probe is not None:
            if step == probe[0]:
                t_probe = time.time()
            elif step == probe[1]:
                sps = (time.time() - t_probe) / (probe[1] - probe[0])
                remaining = args.time_budget - (time.time() - t_start)
                max_steps = max(step + 1, step + int(0.95 * remaining / sps))
                if args.max_steps is not None:
                    max_steps = min(max_steps, args.max_steps)
                probe = None
                msg = (f"time budget {args.time_budget:.0f} s: {sps:.3f} s/step -> {max_steps} steps "
                       f"({max_steps * tokens_per_step / 1e6:.1f} M tokens)")
                log(msg)
                if world > 1:
                    import torch.distributed as dist
                    t = torch.tensor([max_steps], device=device)
                    dist.broadcast(t, 0)
                    max_steps = int(t.item())
        last_loss = lm_acc
        if master and (step % args.log_every == 0 or step == 1 or step == max_steps):
            now = time.time()
            tps = (tokens - tok_last) / max(1e-9, now - t_last)
            t_last, tok_last = now, tokens
            vl = ""
            if step % args.eval_every == 0 or step == max_steps:
                vl = val_loss(model, val, device, amp)
            kept = lam = ""
            if reg is not None:
                kept = float(model.model.num_kept.float().mean())
                lam = float(model.model.l1_lambda.float().mean())
            row = dict(step=step, tokens=tokens, lr=f"{lr:.3e}", loss=f"{lm_acc + l1_acc:.4f}",
                       lm_loss=f"{lm_acc:.4f}", l1_loss=f"{l1_acc:.3e}" if reg is not None else "",
                       grad_norm=f"{float(gnorm):.3f}", val_loss=f"{vl:.4f}" if vl != "" else "",
                       ret_acc=f"{ret_ok / ret_n:.3f}" if ret_n else "",
                       lte_kept=f"{kept:.1f}" if kept != "" else "", lte_lambda=f"{lam:.2e}" if lam != "" else "",
                       tok_per_s=f"{tps:.0f}", elapsed_s=f"{elapsed_before + now - t_start:.1f}")
            with open(csv_path, "a", newline="") as f:
                csv.writer(f).writerow([row[k] for k in LOG_FIELDS])
            log(" ".join(f"{k}={row[k]}" for k in LOG_FIELDS if row[k] != ""))
        if master and step % args.ckpt_every == 0 and step < max_steps:
            save_checkpoint(ckpt_path, model, opt, step, tokens, elapsed_before + time.time() - t_start, args,
                            max_steps)

    elapsed = elapsed_before + time.time() - t_start
    if master:
        save_checkpoint(ckpt_path, model, opt, step, tokens, elapsed, args, max_steps)
        log(f"stopped ({stop_reason}) at step {step}/{max_steps}, {tokens / 1e6:.1f} M tokens, "
            f"{elapsed:.0f} s; checkpoint {ckpt_path}")
        plot_log(csv_path, os.path.join(args.out, "loss.png"), os.path.basename(args.config).replace(".json", ""))
        finished = step >= max_steps
        if not args.no_export:
            exp = os.path.join(args.out, "export")
            model.save_pretrained(exp, dtype=torch.float32 if args.export_dtype == "f32" else torch.bfloat16)
            if os.path.exists(args.tokenizer):
                shutil.copy(args.tokenizer, os.path.join(exp, "tokenizer.model"))
            vl = val_loss(model, val, device, amp)
            info = {"config": os.path.basename(args.config), "params": n_params, "steps": step,
                    "max_steps": max_steps, "finished": finished, "tokens": tokens,
                    "seq_len": args.seq_len, "global_batch": global_batch, "final_train_loss": last_loss,
                    "final_val_loss": vl, "elapsed_s": elapsed, "device": str(device),
                    "gpu": torch.cuda.get_device_name(device) if is_cuda else None, "dtype": dtype,
                    "world": world, "lr": args.lr, "retrieval_fraction": data.retrieval_fraction,
                    "init_from": args.init_from}
            with open(os.path.join(exp, "training.json"), "w") as f:
                json.dump(info, f, indent=2)
            log(f"exported {exp} (final held-out loss {vl:.4f})")
        if args.eval_retrieval:
            t_ev = time.time()
            res = eval_retrieval(model, args.corpus, device, amp, args.eval_max_len, args.eval_per_cell)
            if res is not None:
                with open(os.path.join(args.out, "retrieval_eval.json"), "w") as f:
                    json.dump(res, f, indent=1)
                for t, d in res.items():
                    log(f"retrieval {t:20s} " + " ".join(f"{L}:{v:.2f}" for L, v in d.items()))
                log(f"retrieval eval took {time.time() - t_ev:.0f} s")
    if world > 1:
        import torch.distributed as dist
        dist.barrier()
        dist.destroy_process_group()
    return 0


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


if __name__ == "__main__":
    sys.exit(main())
