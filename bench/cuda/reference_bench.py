#!/usr/bin/env python3
"""Times the PyTorch reference of training/ (mnemo_ref, its fast path: chunked gated
delta rule, batched LTE scoring) at the paper's 0.4B shape with random weights (f32 by default), on
the GPU: prefill tokens/s (chunks of --chunk tokens through forward_cached) and decode
ms/token (p50 of single-token forward_cached calls) at each context. The peer of
`mnemo bench --backend cuda` in docs/performance-cuda.md.

    python3 bench/cuda/reference_bench.py --mixer lte --contexts 1024,16384 --json out.json
"""
import argparse, json, os, statistics, sys, time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "training"))
from mnemo_ref.config import parse_config  # noqa: E402
from mnemo_ref.model import MnemoForCausalLM  # noqa: E402


def config(mixer: str) -> dict:
    """The paper's 0.4B hybrid (tools/bench_model.cpp's 'paper-0.4b'): 24 layers, hidden
    1024, GDN 8 heads x 128 on even layers, the sparse mixer (16 heads) on odd ones."""
    attn = {"attn_type": "lte" if mixer == "lte" else "attn", "layers": list(range(1, 24, 2)),
            "num_heads": 16, "num_kv_heads": 16, "qkv_bias": False, "rope_theta": 10000.0}
    if mixer == "lte":
        attn.update(window_size=768, buffer_size=512, sink_size=4, conv_size=[3, 3, 3], conv_dilation=[2, 2, 2],
                    routing_method="sigmoid", routing_shared="head")
    else:
        attn.update(window_size=None)
    return {"model_type": "hybrid_gated_deltanet", "hidden_size": 1024, "num_hidden_layers": 24, "vocab_size": 32000,
            "intermediate_size": 2816, "num_heads": 8, "head_dim": 128, "expand_v": 1, "conv_size": 4,
            "use_gate": True, "use_short_conv": True, "tie_word_embeddings": True, "norm_eps": 1e-6, "attn": attn}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
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
    model = MnemoForCausalLM(parse_config(config(a.mixer))).to("cuda", getattr(torch, a.dtype)).eval()
    params = sum(p.numel() for p in model.parameters())
    rows, tps = [], None
    for ctx in [int(c) for c in a.contexts.split(",")]:
        if tps is not None and ctx / tps > a.max_seconds:
            rows.append({"context": ctx, "skipped": f"prefill estimated at {ctx / tps:.0f} s"})
            print(f"{a.mixer} @ {ctx}: skipped (prefill estimated at {ctx / tps:.0f} s)", flush=True)
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
        print(f"{a.mixer} @ {ctx}: prefill {tps:.0f} tok/s, decode p50 {row['decode_ms_p50']:.2f} ms", flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"peer": "training/mnemo_ref (fast path)", "dtype": a.dtype, "mixer": a.mixer, "params": params,
                       "chunk": a.chunk, "rows": rows}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
