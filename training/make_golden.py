#!/usr/bin/env python3
"""Writes the golden vectors under tests/data/golden/<name>/ for the seven paper configurations.

    /usr/bin/python3 training/make_golden.py                # all seven, into tests/data/golden
    /usr/bin/python3 training/make_golden.py --only lalte   # one of them
    /usr/bin/python3 training/make_golden.py --verify       # recompute, compare with the files

Each folder: config.json (paper schema), model.safetensors (paper names, f32),
golden.safetensors (computed in float64 from the f32 weights, stored f32; ids int32) and
golden.json (what each tensor holds, checkpoints, tolerances, self-checks).
See tests/data/golden/README.md and training/SEMANTICS.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from mnemo_ref import SEMANTICS_VERSION, MnemoForCausalLM, load_file, parse_config, save_file  # noqa: E402
from mnemo_ref.lte import ranks_better  # noqa: E402

REPO = os.path.dirname(HERE)
DEFAULT_OUT = os.path.join(REPO, "tests", "data", "golden")

SEQ_LEN = 288
VOCAB = 256
HIDDEN = 64
LAYERS = 4

_COMMON = {
    "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "swish", "hidden_ratio": 4,
    "hidden_size": HIDDEN, "intermediate_size": None, "max_position_embeddings": 4096,
    "norm_eps": 1e-06, "num_hidden_layers": LAYERS, "tie_word_embeddings": True,
    "use_cache": True, "vocab_size": VOCAB, "initializer_range": 0.006,
    "fuse_cross_entropy": True, "fuse_norm": True, "fuse_swiglu": True,
}
_GDN = {"attn_mode": "chunk", "conv_size": 4, "expand_v": 1, "head_dim": 32, "num_heads": 2,
        "use_gate": True, "use_short_conv": True}
_LTE_ATTN = {
    "attn_type": "lte", "layers": [1, 3], "num_heads": 4, "num_kv_heads": 2, "qkv_bias": False,
    "window_size": 16, "rope_theta": 10000.0, "conv_size": [3, 3, 3], "conv_dilation": [2, 2, 2],
    "dropout_prob": 0.1, "buffer_size": 12, "sink_size": 4, "routing_method": "sigmoid",
    "routing_grad": True, "routing_shared": "head", "routing_freeze_steps": 0,
    "l1_lambda_init": 1e-9, "l1_lambda_min": 1e-9, "l1_lambda_max": 1.0, "l1_alpha": 1.5,
    "l1_alpha_neg": 2, "l1_warmup_steps": 0, "l1_lambda_initial_steps": 0,
    "l1_lambda_update_steps": 32, "l1_lambda_shared": "head", "l1_lambda_tolerate": [0.95, 1.0],
}

CONFIGS = {
    # GDN only; expand_v 2 exercises head_v_dim != head_k_dim
    "gdn": {**_COMMON, **_GDN, "model_type": "gated_deltanet", "head_dim": 16, "expand_v": 2},
    # GDN + sliding-window attention (GQA 4:2) on odd layers
    "gdn_swa": {**_COMMON, **_GDN, "model_type": "gated_deltanet",
                "attn": {"layers": [1, 3], "num_heads": 4, "num_kv_heads": 2, "qkv_bias": False,
                         "window_size": 16, "rope_theta": 10000.0}},
    # laLTE: GDN + LTE
    "lalte": {**_COMMON, **_GDN, "model_type": "hybrid_gated_deltanet", "attn": _LTE_ATTN},
    # laNSA: GDN + NSA (group size 16, as the reference kernels require)
    "lansa": {**_COMMON, **_GDN, "model_type": "hybrid_gated_deltanet",
              "attn": {"attn_type": "nsa", "layers": [1, 3], "num_heads": 16, "num_kv_heads": 1,
                       "head_dim": 16, "qkv_bias": False, "block_size": 16, "block_counts": 4,
                       "window_size": 32, "rope_theta": 10000.0}},
    # GDN + full attention; untied LM head
    "gdn_attn": {**_COMMON, **_GDN, "model_type": "gated_deltanet", "tie_word_embeddings": False,
                 "attn": {"layers": [1, 3], "num_heads": 4, "num_kv_heads": 4, "qkv_bias": False,
                          "window_size": None, "rope_theta": 10000.0}},
    # NSA only (the reference layer uses head_dim 64 whatever the config says; we write 64)
    "nsa": {**{k: v for k, v in _COMMON.items()}, "model_type": "nsa", "num_heads": 16,
            "num_kv_heads": 1, "head_dim": 64, "block_size": 16, "block_counts": 4,
            "window_size": 32, "rope_theta": 10000.0, "qkv_bias": False, "elementwise_affine": True},
    # Transformer: full attention, GQA 4:2, qkv bias
    "transformer": {**_COMMON, "model_type": "transformer", "num_heads": 4, "num_kv_heads": 2,
                    "qkv_bias": True, "qk_norm": False, "window_size": None, "rope_theta": 10000.0,
                    "elementwise_affine": True},
}
SEEDS = {"gdn": 101, "gdn_swa": 202, "lalte": 303, "lansa": 404, "gdn_attn": 505, "nsa": 606,
         "transformer": 707}
CHECKPOINTS = [24, 64, 160, SEQ_LEN - 1]
# quantile of router logits put at zero, per KV head (so that roughly half the scores are > 0)
ROUTER_POSITIVE_QUANTILES = [0.5, 0.55]
MIN_DECISION_MARGIN = 3e-5


def init_weights(model: MnemoForCausalLM, gen: torch.Generator) -> None:
    """Random weights with O(1) activations (the paper's 0.006-std init would make logits ~0)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            leaf = name.rsplit(".", 1)[-1]
            if name.endswith("embeddings.weight"):
                p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64))
            elif name.endswith("A_log"):
                p.copy_(torch.log(torch.empty(p.shape, dtype=torch.float64).uniform_(1.0, 16.0, generator=gen)))
            elif name.endswith("dt_bias"):
                dt = torch.exp(torch.rand(p.shape, generator=gen, dtype=torch.float64)
                               * (math.log(0.1) - math.log(0.001)) + math.log(0.001))
                p.copy_(dt + torch.log(-torch.expm1(-dt)))
            elif "norm" in name and leaf == "weight":
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=gen, dtype=torch.float64))
            elif "conv1d" in name:
                p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64) / math.sqrt(p.shape[-1]))
            elif "router" in name and leaf == "weight":
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64) * math.sqrt(2.0 / fan_in))
            elif leaf == "bias":
                p.copy_(0.1 * torch.randn(p.shape, generator=gen, dtype=torch.float64))
            elif p.dim() == 2:
                scale = 0.5 if ("o_proj" in name or "down_proj" in name) else 1.0
                p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64) * scale / math.sqrt(p.shape[1]))
            else:
                raise RuntimeError(f"no init rule for {name}")


def round_to_f32(model: MnemoForCausalLM) -> None:
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.float().double())


@torch.no_grad()
def calibrate_router_bias(model: MnemoForCausalLM, ids: torch.Tensor) -> None:
    """Shift each LTE layer's final router bias so that the chosen quantile of its logits is 0."""
    for li in model.cfg.lte_layers:
        out = model(ids, mode="fast", lte_mode="cache")
        sc = out["lte"][li]["score"][0]                      # [T, H] = sigmoid(logit) - 0.5
        logit = torch.log((sc + 0.5) / (0.5 - sc))
        bias = model.model.layers[li].attn.router.conv_stack.proj.bias
        for h in range(logit.shape[1]):
            qv = ROUTER_POSITIVE_QUANTILES[h % len(ROUTER_POSITIVE_QUANTILES)]
            bias[h] -= torch.quantile(logit[:, h], 1.0 - qv)


def decision_margins(attn, score: torch.Tensor) -> dict:
    """How far the LTE eviction decisions are from a tie, for f32 runtimes. score: [T, H] final."""
    T, H = score.shape
    w, s, cap = attn.window_size, attn.sink_size, max(0, attn.buffer_size - attn.sink_size)
    sc = score[: T - attn.margin_right]                      # final scores only
    pos = torch.arange(sc.shape[0])
    zero_margin = sc[s:].abs().min().item()
    boundary = math.inf
    for h in range(H):
        for t in range(w + 1 + s, T):
            el = (pos <= t - w - 1) & (pos >= s) & (sc[:, h] > 0)
            v = sc[el, h].sort(descending=True).values
            if v.numel() > cap:
                boundary = min(boundary, (v[cap - 1] - v[cap]).item())
    return {"min_abs_score": zero_margin, "min_topk_boundary_gap": boundary}


@torch.no_grad()
def build_model(name: str, raw=None, seq_len: int = SEQ_LEN, verbose: bool = True):
    """The golden model of `name` (or of config `raw` with `name`'s seed): weights rounded to
    float32 values, held in float64; LTE router biases calibrated; seeds re-rolled until the LTE
    decisions are at least MIN_DECISION_MARGIN away from a tie. Returns (model, ids, margins, seed)."""
    raw = json.loads(json.dumps(CONFIGS[name] if raw is None else raw))
    cfg = parse_config(raw)
    seed = SEEDS[name]
    for attempt in range(20):
        used_seed = seed + 1000 * attempt
        gen = torch.Generator().manual_seed(used_seed)
        torch.manual_seed(used_seed)
        model = MnemoForCausalLM(cfg).double().eval()
        init_weights(model, gen)
        ids = torch.randint(3, cfg.vocab_size, (1, seq_len), generator=gen)
        if cfg.lte_layers:
            round_to_f32(model)
            calibrate_router_bias(model, ids)
        round_to_f32(model)
        margins = {}
        ok = True
        if cfg.lte_layers:
            par = model(ids, mode="fast", lte_mode="cache")
            for li in cfg.lte_layers:
                margins[str(li)] = decision_margins(model.model.layers[li].attn, par["lte"][li]["score"][0])
                ok &= min(margins[str(li)].values()) >= MIN_DECISION_MARGIN
        if ok:
            return model, ids, margins, used_seed
        if verbose:
            print(f"  {name}: decision margin too small {margins}, re-seeding")
    raise RuntimeError(f"{name}: no seed with decision margins >= {MIN_DECISION_MARGIN}")


@torch.no_grad()
def compute(name: str, verbose: bool = True):
    model, ids, margins, used_seed = build_model(name, verbose=verbose)
    cfg = model.cfg

    t0 = time.time()
    # golden: token-by-token cache semantics, float64, literal eviction rule
    cache = model.init_cache()
    logits, hidden, final = [], [[] for _ in range(LAYERS)], []
    for t in range(SEQ_LEN):
        o = model.forward_cached(ids[:, t:t + 1], cache, mode="pure", lte_method="greedy",
                                 output_hidden_states=True)
        logits.append(o["logits"][0, 0])
        for li in range(LAYERS):
            hidden[li].append(o["hidden_states"][li][0, 0])
        final.append(o["final_norm"][0, 0])
    logits = torch.stack(logits)
    tensors = {"input_ids": ids[0].to(torch.int32), "logits": logits.float(),
               "hidden.final_norm": torch.stack(final).float()}
    for li in range(LAYERS):
        tensors[f"hidden.{li}"] = torch.stack(hidden[li]).float()
    step_seconds = time.time() - t0

    # self-consistency: parallel (pure, fast), batched chunks, float32 run
    checks = {}
    par_pure = model(ids, mode="pure", lte_mode="cache", output_hidden_states=True)
    par_fast = model(ids, mode="fast", lte_mode="cache")
    checks["parallel_pure_vs_step"] = (par_pure["logits"][0] - logits).abs().max().item()
    checks["parallel_fast_vs_step"] = (par_fast["logits"][0] - logits).abs().max().item()
    for chunk in (7, 64, SEQ_LEN):
        c2 = model.init_cache()
        lg = torch.cat([model.forward_cached(ids[:, i:i + chunk], c2, mode="fast")["logits"][0]
                        for i in range(0, SEQ_LEN, chunk)])
        checks[f"chunked_{chunk}_vs_step"] = (lg - logits).abs().max().item()
    m32 = MnemoForCausalLM(cfg).eval()
    m32.load_state_dict({k: v.float() for k, v in model.state_dict().items()})
    c32 = m32.init_cache()
    lg32 = torch.cat([m32.forward_cached(ids[:, i:i + 32], c32, mode="fast")["logits"][0]
                      for i in range(0, SEQ_LEN, 32)])
    checks["float32_reference_vs_golden_logits"] = (lg32.double() - logits).abs().max().item()

    lte_info = {}
    for li in cfg.lte_layers:
        st = cache[li]
        attn = model.model.layers[li].attn
        full = par_pure["lte"][li]["score"][0]                                  # [T, H]
        n_final = SEQ_LEN - attn.margin_right
        logged = torch.stack([st.score_log[j] for j in range(n_final)])
        checks[f"lte{li}_step_scores_vs_parallel"] = (logged - full[:n_final]).abs().max().item()
        tensors[f"lte.{li}.scores"] = full.T.contiguous().float()
        vis = par_pure["lte"][li]["selected"][0]                                # [H, T, T]
        ret32 = c32[li]
        s32 = torch.stack([ret32.score_log[j] for j in range(n_final)]).double()
        checks[f"lte{li}_float32_reference_vs_golden_scores"] = (s32 - logged).abs().max().item()
        for t in CHECKPOINTS:
            r = st.retained_log[t]
            tensors[f"lte.{li}.retained.t{t}"] = r.to(torch.int32)
            # parallel form agrees
            for h in range(r.shape[0]):
                pv = vis[h, t].nonzero().flatten().tolist()
                assert pv == [p for p in r[h].tolist() if p >= 0], (name, li, t, h)
            assert torch.equal(ret32.retained_log[t], r), f"float32 retained set differs at t={t}"
        full_buf = [int((st.retained_log[t] >= 0).sum(1).min()) for t in range(SEQ_LEN)]
        lte_info[str(li)] = {
            "num_kv_heads": attn.num_kv_heads, "window_size": attn.window_size,
            "buffer_size": attn.buffer_size, "sink_size": attn.sink_size,
            "retained_capacity": max(0, attn.buffer_size - attn.sink_size),
            "router_margin_left": attn.margin_left, "router_margin_right": attn.margin_right,
            "final_scores": n_final,
            "positive_fraction_per_head": (full[:n_final] > 0).double().mean(0).tolist(),
            "first_step_buffer_full_all_heads": next((t for t, n in enumerate(full_buf)
                                                      if n == attn.buffer_size - attn.sink_size), None),
            "decision_margins": margins[str(li)],
        }
    meta = {
        "name": name, "semantics_version": SEMANTICS_VERSION, "seq_len": SEQ_LEN,
        "model_type": cfg.model_type, "mixers": [s.kind for s in cfg.layers],
        "checkpoints": CHECKPOINTS if cfg.lte_layers else [],
        "lte_layers": lte_info,
        "seed": used_seed,
        "weights_init": "see training/make_golden.py init_weights (torch.Generator seeded with `seed`)",
        "compute_dtype": "float64 (weights are the float32 values of model.safetensors)",
        "tolerances": {"logits": {"atol": 1e-3, "rtol": 1e-4},
                       "hidden": {"atol": 1e-3, "rtol": 1e-4},
                       "lte_scores": {"atol": 1e-5},
                       "lte_retained": "exact"},
        "tensors": describe(cfg, CHECKPOINTS),
        "self_checks_max_abs": checks,
        "golden_step_seconds": round(step_seconds, 2),
    }
    return model, tensors, meta


def describe(cfg, checkpoints) -> dict:
    d = {
        "input_ids": "int32 [T] token ids fed from position 0 (no BOS added)",
        "logits": "f32 [T, vocab] logits of every position; identical for token-by-token decode and "
                  "for prefill in chunks of any size (chunk-size-invariant cache semantics)",
        "hidden.<i>": "f32 [T, hidden] residual stream after block i (mixer + MLP), i = 0..L-1",
        "hidden.final_norm": "f32 [T, hidden] model.norm(hidden.<L-1>), the LM head's input",
    }
    if cfg.lte_layers:
        d["lte.<i>.scores"] = ("f32 [n_kv_heads, T] retention scores r = sigmoid(logit) - 0.5 of "
                               "LTE layer i; entries j < T - router_margin_right are final, the "
                               "last router_margin_right use zero padding past the end of the input "
                               "(provisional; no decision depends on them)")
        d["lte.<i>.retained.t<t>"] = ("int32 [n_kv_heads, buffer_size - sink_size] positions in the "
                                      "retained buffer used by query t (after token t arrived and "
                                      "token t-w-1 left the window), ascending, -1 padded; sink and "
                                      "window tokens are not listed")
    return d


def write(name: str, out_root: str, model, tensors, meta) -> None:
    d = os.path.join(out_root, name)
    os.makedirs(d, exist_ok=True)
    model.save_pretrained(d, dtype=torch.float32)
    save_file(tensors, os.path.join(d, "golden.safetensors"),
              metadata={"semantics_version": str(SEMANTICS_VERSION), "name": name})
    with open(os.path.join(d, "golden.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")


def verify(name: str, out_root: str, tensors) -> float:
    ref = load_file(os.path.join(out_root, name, "golden.safetensors"))
    worst = 0.0
    assert set(ref) == set(tensors), f"{name}: tensor names differ"
    for k, v in tensors.items():
        if v.dtype == torch.int32:
            assert torch.equal(ref[k], v), f"{name}: {k} differs"
        else:
            worst = max(worst, (ref[k].double() - v.double()).abs().max().item())
    return worst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--only", nargs="*", choices=sorted(CONFIGS))
    ap.add_argument("--verify", action="store_true", help="recompute and compare with existing files")
    args = ap.parse_args()
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    for name in args.only or list(CONFIGS):
        t = time.time()
        model, tensors, meta = compute(name)
        if args.verify:
            print(f"{name}: max |recomputed - stored| = {verify(name, args.out, tensors):.3g}")
            continue
        write(name, args.out, model, tensors, meta)
        print(f"{name}: wrote in {time.time() - t:.1f}s; checks "
              + ", ".join(f"{k}={v:.2g}" for k, v in meta["self_checks_max_abs"].items()))


if __name__ == "__main__":
    main()
