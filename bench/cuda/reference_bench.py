#!/usr/bin/env python3
"""Times the PyTorch reference of training/ (mnemo_ref, its fast path: chunked gated
delta rule, batched LTE scoring) at the paper's 0.4B shape with random weights (f32 by default), on
the GPU (or --shape paper-1.4b): prefill tokens/s (chunks of --chunk tokens through forward_cached) and decode
ms/token (p50 of single-token forward_cached calls) at each context. The peer of
`mnemo bench --backend cuda` in docs/performance-cuda.md; `mnemo bench --peer-torch-reference
THIS_FILE` runs it in the same run and reads its --json output. A warm-up (one short chunk
and two decode steps on a throwaway cache) precedes the timed contexts.

    python3 bench/cuda/reference_bench.py --shape paper-0.4b --mixer lte --contexts 1024,16384 --json out.json
"""
import argparse, json, os, statistics, sys, time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "training"))
from mnemo_ref.config import parse_config  # noqa: E402
from mnemo_ref.model import MnemoForCausalLM  # noqa: E402


# The shapes of tools/bench_model.cpp's kShapes (the paper's public configs): hidden,
# layers, MLP width, tied embeddings, GDN heads x head size, sparse-mixer heads / KV heads.
SHAPES = {
    "paper-0.4b": dict(hidden=1024, layers=24, intermediate=2816, tied=True, gdn_heads=8, gdn_head_dim=128,
                       attn_heads=16, attn_kv_heads=16),
    "paper-1.4b": dict(hidden=2048, layers=24, intermediate=5632, tied=False, gdn_heads=8, gdn_head_dim=256,
                       attn_heads=32, attn_kv_heads=8),
}


def config(mixer: str, shape: str = "paper-0.4b") -> dict:
    """The paper's hybrid at `shape` (tools/bench_model.cpp's 'paper-0.4b' / 'paper-1.4b'):
    GDN on even layers, the sparse mixer (laLTE or full attention) on odd ones, vocab 32000."""
    s = SHAPES[shape]
    attn = {"attn_type": "lte" if mixer == "lte" else "attn", "layers": list(range(1, s["layers"], 2)),
            "num_heads": s["attn_heads"], "num_kv_heads": s["attn_kv_heads"], "qkv_bias": False, "rope_theta": 10000.0}
    if mixer == "lte":
        attn.update(window_size=768, buffer_size=512, sink_size=4, conv_size=[3, 3, 3], conv_dilation=[2, 2, 2],
                    routing_method="sigmoid", routing_shared="head")
    else:
        attn.update(window_size=None)
    return {"model_type": "hybrid_gated_deltanet", "hidden_size": s["hidden"], "num_hidden_layers": s["layers"],
            "vocab_size": 32000, "intermediate_size": s["intermediate"], "num_heads": s["gdn_heads"],
            "head_dim": s["gdn_head_dim"], "expand_v": 1, "conv_size": 4, "use_gate": True, "use_short_conv": True,
            "tie_word_embeddings": s["tied"], "norm_eps": 1e-6, "attn": attn}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", default="paper-0.4b", choices=sorted(SHAPES))
    ap.add_argument("--mixer", default="lte", choices=["lte", "attn"])
    ap.add_argument("--contexts", default="1024,16384")
    ap.add_argument("--chunk", type=int, default=1024)
    ap.add_argument("--decode-tokens", type=int, default=32)
    ap.add_argument("--max-seconds", type=float, default=120.0, help="skip contexts whose prefill is estimated longer")
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"],
                    help="bfloat16 needs a triangular solve PyTorch lacks on CUDA for bf16 (mnemo_ref's chunked form)")
    ap.add_argument("--json")
    a = ap.parse_args()
    torch.manual_seed(1)
    model = MnemoForCausalLM(parse_config(config(a.mixer, a.shape))).to("cuda", getattr(torch, a.dtype)).eval()
    params = sum(p.numel() for p in model.parameters())
    with torch.no_grad():  # warm-up: CUDA context, cuBLAS handles, kernel caches
        warm = model.init_cache(1)
        ids = torch.randint(0, 32000, (1, min(a.chunk, 256) + 2), device="cuda")
        model.forward_cached(ids[:, :-2], warm, mode="fast")
        for i in (2, 1):
            model.forward_cached(ids[:, -i:ids.shape[1] - i + 1], warm, mode="fast")["logits"].argmax(-1).item()
        del warm
    rows, tps = [], None
    for ctx in [int(c) for c in a.contexts.split(",")]:
        if tps is not None and ctx / tps > a.max_seconds:
            rows.append({"context": ctx, "skipped": f"prefill estimated at {ctx / tps:.0f} s"})
            print(f"{a.shape}/{a.mixer} @ {ctx}: skipped (prefill estimated at {ctx / tps:.0f} s)", flush=True)
            continue
        ids = torch.randint(0, 32000, (1, ctx + a.decode_tokens), device="cuda")
        cache = model.init_cache(1)
        with torch.no_grad():
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            for s in range(0, ctx, a.chunk):
                model.forward_cached(ids[:, s:min(ctx, s + a.chunk)], cache, mode="fast")
            torch.cuda.synchronize()
            prefill_s = time.perf_counter() - t0
            steps = []
            for i in range(a.decode_tokens):
                t = time.perf_counter()
                out = model.forward_cached(ids[:, ctx + i:ctx + i + 1], cache, mode="fast")
                out["logits"].argmax(-1).item()
                steps.append((time.perf_counter() - t) * 1000)
        tps = ctx / prefill_s
        row = {"context": ctx, "prefill_tokens_per_second": tps, "decode_ms_p50": statistics.median(steps),
               "decode_ms_max": max(steps)}
        rows.append(row)
        print(f"{a.shape}/{a.mixer} @ {ctx}: prefill {tps:.0f} tok/s, decode p50 {row['decode_ms_p50']:.2f} ms", flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"peer": "training/mnemo_ref (fast path)", "shape": a.shape, "dtype": a.dtype, "mixer": a.mixer,
                       "params": params, "chunk": a.chunk, "decode_tokens": a.decode_tokens, "torch": torch.__version__,
                       "device": torch.cuda.get_device_name(0), "rows": rows}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
