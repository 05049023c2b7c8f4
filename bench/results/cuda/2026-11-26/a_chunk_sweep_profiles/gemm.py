# GEMM shapes of a 0.4B prefill chunk: separate launches vs strided-batched (bmm) vs one concatenated matrix.
import torch, sys
torch.backends.cuda.matmul.allow_bf16_reduced_precision_reduction = False
def t(fn, n=50):
    for _ in range(5): fn()
    s, e = torch.cuda.Event(True), torch.cuda.Event(True)
    torch.cuda.synchronize(); s.record()
    for _ in range(n): fn()
    e.record(); torch.cuda.synchronize(); return s.elapsed_time(e) * 1000 / n
for T in (1024, 2048, 4096):
    x = torch.randn(T, 1024, device='cuda', dtype=torch.bfloat16)
    for name, rows, count, K in (("qkvg", 1024, 4, 1024), ("qkv", 1024, 3, 1024), ("gate_up", 2816, 2, 1024), ("down", 1024, 1, 2816), ("ab", 8, 2, 1024)):
        xin = x if K == 1024 else torch.randn(T, K, device='cuda', dtype=torch.bfloat16)
        W = torch.randn(count, rows, K, device='cuda', dtype=torch.bfloat16)
        outs = [torch.empty(T, rows, device='cuda', dtype=torch.float32) for _ in range(count)]
        sep = t(lambda: [torch.mm(xin, W[i].t()) for i in range(count)])
        bat = t(lambda: torch.bmm(xin.expand(count, T, K), W.transpose(1, 2)))
        Wc = W.reshape(count * rows, K)
        cat = t(lambda: torch.mm(xin, Wc.t()))
        print(f"T={T} {name:8s} {count} x [{rows}x{K}]: separate {sep:7.1f} us  bmm {bat:7.1f} us  concatenated {cat:7.1f} us", flush=True)
