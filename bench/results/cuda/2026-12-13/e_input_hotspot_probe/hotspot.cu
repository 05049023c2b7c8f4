// Probe (2026-12-13 e): does a projection's input staging wait on 264 blocks reading the same
// 12 KB from L2? A producer writes `copies` copies of a 1024-float row and a 1024-int64 row (the
// residual stream and the split MLP's fixed-point sum); then 264 blocks of 256 threads (the input
// projection's grid) each load one copy (block b reads copy b % copies) as the GEMV's staging does
// (4 floats and 4 int64 a thread, all requested before any is used), sum the squares, meet at a
// barrier. globaltimer stamps: a block's first thread before its loads and after the barrier.
// Build: nvcc -O3 -arch=sm_90 hotspot.cu -o hotspot
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <vector>
#include <cuda_runtime.h>

__device__ __forceinline__ uint64_t now_ns() {
    uint64_t t;
    asm volatile("mov.u64 %0, %globaltimer;" : "=l"(t));
    return t;
}

__global__ void produce(float* x, long long* r, int copies, int iter, unsigned long long* go) {
    if (blockIdx.x == 0 && threadIdx.x == 0) *go = 0;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < copies * 1024; i += gridDim.x * blockDim.x) {
        x[i] = 0.001f * ((i + iter) % 977);
        r[i] = (i * 7 + iter) % 1000003;
    }
}

// The split MLP's way: 132 blocks of 512 threads each add 1 024 shares into copy 0's int64 row.
__global__ void produce_atomics(float* x, long long* r, int iter, unsigned long long* go) {
    if (blockIdx.x == 0 && threadIdx.x == 0) *go = 0;
    for (int i = threadIdx.x; i < 1024; i += blockDim.x) {
        if (blockIdx.x == 0) x[i] = 0.001f * ((i + iter) % 977);
        atomicAdd(reinterpret_cast<unsigned long long*>(r + i), static_cast<unsigned long long>((i * 7 + iter + blockIdx.x) % 1000));
    }
}

// Mode 3: the step's hand-over. The producer lets the consumer launch first (programmatic dependent
// launch), spins ~5 µs, then writes copy 0; the consumer's blocks are placed beside it and pass
// griddepcontrol.wait when it has finished, as the GEMV after a split MLP does.
__global__ void produce_pdl(float* x, long long* r, int iter, unsigned long long* go) {
    asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
    const uint64_t until = now_ns() + 5000;
    while (now_ns() < until) {}
    if (blockIdx.x == 0 && threadIdx.x == 0) *go = 0;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < 1024; i += gridDim.x * blockDim.x) {
        x[i] = 0.001f * ((i + iter) % 977);
        r[i] = (i * 7 + iter) % 1000003;
    }
}

__global__ void __launch_bounds__(256, 2) consume(const float* x, const long long* r, int copies, uint64_t* stamps, float* sink,
                                                  unsigned long long* go, bool together, bool pdl,
                                                  const uint4* weights = nullptr, bool tma = false) {
    // Mode 5: the row brought into shared memory by two bulk copies (TMA) instead of the threads' loads.
    __shared__ alignas(128) float xin[1024];
    __shared__ alignas(128) long long rin[1024];
    __shared__ alignas(8) unsigned long long bar;
    const unsigned bar_at = static_cast<unsigned>(__cvta_generic_to_shared(&bar));
    if (tma && threadIdx.x == 0) {
        asm volatile("mbarrier.init.shared.b64 [%0], 1;" ::"r"(bar_at) : "memory");
        asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
    }
    if (tma) __syncthreads();
    // Mode 4: each warp holds 2 KB of "weights" requested before the wait (the GEMV's first pass),
    // from a 256 MB buffer at an offset that changes per launch (HBM, not L2).
    uint4 w[4];
    if (weights != nullptr) {
        const size_t warp_id = blockIdx.x * 8 + threadIdx.x / 32;
#pragma unroll
        for (int k = 0; k < 4; ++k) w[k] = __ldcs(weights + (warp_id * 4 + k) * 32 + threadIdx.x % 32);
    }
    __shared__ float partial[8];
    __shared__ float xs[1024];
    if (pdl) asm volatile("griddepcontrol.wait;" ::: "memory");
    if (together) {  // every block starts its loads at one time, as blocks passing one griddepcontrol.wait do
        __shared__ unsigned long long at;
        if (threadIdx.x == 0) {
            atomicCAS(go, 0ull, static_cast<unsigned long long>(now_ns() + 4000));
            at = *reinterpret_cast<volatile unsigned long long*>(go);
            while (now_ns() < at) {}
        }
        __syncthreads();
    }
    const uint64_t t0 = now_ns();
    const int c = blockIdx.x % copies;
    const float* xr = x + c * 1024;
    const long long* rr = r + c * 1024;
    float v[4];
    long long q[4];
    if (tma) {
        if (threadIdx.x == 0) {
            asm volatile("mbarrier.arrive.expect_tx.shared.b64 _, [%0], %1;" ::"r"(bar_at), "r"(12288) : "memory");
            asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];" ::"r"(
                             static_cast<unsigned>(__cvta_generic_to_shared(xin))),
                         "l"(xr), "r"(4096), "r"(bar_at)
                         : "memory");
            asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];" ::"r"(
                             static_cast<unsigned>(__cvta_generic_to_shared(rin))),
                         "l"(rr), "r"(8192), "r"(bar_at)
                         : "memory");
        }
        unsigned done = 0;
        while (!done)
            asm volatile("{ .reg .pred p; mbarrier.try_wait.parity.shared.b64 p, [%1], 0; selp.u32 %0, 1, 0, p; }"
                         : "=r"(done)
                         : "r"(bar_at)
                         : "memory");
#pragma unroll
        for (int k = 0; k < 4; ++k) v[k] = xin[threadIdx.x + 256 * k], q[k] = rin[threadIdx.x + 256 * k];
    } else {
#pragma unroll
        for (int k = 0; k < 4; ++k) v[k] = xr[threadIdx.x + 256 * k], q[k] = rr[threadIdx.x + 256 * k];
    }
    float ss = 0.0f;
#pragma unroll
    for (int k = 0; k < 4; ++k) {
        const float s = v[k] + __ll2float_rn(q[k]) * (1.0f / 65536.0f);
        xs[threadIdx.x + 256 * k] = s;
        ss += s * s;
    }
    for (int o = 16; o > 0; o >>= 1) ss += __shfl_xor_sync(0xffffffffu, ss, o);
    if (threadIdx.x % 32 == 0) partial[threadIdx.x / 32] = ss;
    __syncthreads();
    const uint64_t t1 = now_ns();
    if (weights != nullptr) {
        unsigned acc = 0;
#pragma unroll
        for (int k = 0; k < 4; ++k) acc ^= w[k].x ^ w[k].y ^ w[k].z ^ w[k].w;
        if (acc == 0x12345678u) sink[0] = 1.0f;
    }
    if (threadIdx.x == 0) {
        float t = 0.0f;
        for (int w = 0; w < 8; ++w) t += partial[w];
        sink[blockIdx.x] = t + xs[blockIdx.x % 1024];
        stamps[2 * blockIdx.x] = t0;
        stamps[2 * blockIdx.x + 1] = t1;
    }
}

int main() {
    const int blocks = 264, max_copies = 264, iters = 300;
    float *x, *sink;
    long long* r;
    uint64_t* stamps;
    unsigned long long* go;
    cudaMalloc(&go, 8);
    cudaMalloc(&x, max_copies * 1024 * sizeof(float));
    cudaMalloc(&r, max_copies * 1024 * sizeof(long long));
    cudaMalloc(&sink, blocks * sizeof(float));
    cudaMalloc(&stamps, 2 * blocks * sizeof(uint64_t));
    std::vector<uint64_t> h(2 * blocks);
    uint4* weights = nullptr;
    const size_t weight_bytes = size_t{256} << 20, per_launch = size_t{blocks} * 8 * 2048;
    cudaMalloc(&weights, weight_bytes);
    cudaMemset(weights, 1, weight_bytes);
    for (int together = 0; together < 7; ++together) {
    std::printf("%s\ncopies  block load+barrier ns: p10 p50 p90 max   last block end - first block start ns: p50\n",
                together == 6 ? "as mode 4 (weights in flight), the row brought in by two bulk copies (TMA)"
                : together == 5 ? "as mode 3 (PDL, no weights), the row brought in by two bulk copies (TMA)"
                : together == 4 ? "as the last, each warp also holding 2 KB of weights requested before its wait (4.3 MB from HBM)"
                : together == 3 ? "blocks launched early (PDL) beside a producer of 16 blocks, stamped from their griddepcontrol.wait"
                : together == 2 ? "blocks start their loads together, the int64 row summed by 132 x 1024 atomics just before"
                : together ? "blocks start their loads together" : "blocks as launched");
    for (int copies : {1, 2, 4, 8, 33, 132, 264}) {
        if (together >= 2 && copies > 1) break;
        std::vector<double> per_block, spans;
        for (int it = 0; it < iters; ++it) {
            if (together >= 3) {
                produce_pdl<<<16, 256>>>(x, r, it, go);
                cudaLaunchConfig_t cfg = {};
                cfg.gridDim = dim3(blocks);
                cfg.blockDim = dim3(256);
                cudaLaunchAttribute attr;
                attr.id = cudaLaunchAttributeProgrammaticStreamSerialization;
                attr.val.programmaticStreamSerializationAllowed = 1;
                cfg.attrs = &attr;
                cfg.numAttrs = 1;
                const uint4* wl = together == 4 || together == 6 ? weights + (it % (weight_bytes / per_launch)) * (per_launch / 16) : nullptr;
                cudaLaunchKernelEx(&cfg, consume, static_cast<const float*>(x), static_cast<const long long*>(r), copies, stamps, sink, go, false, true,
                                   wl, together >= 5);
            } else {
                if (together == 2) produce_atomics<<<132, 512>>>(x, r, it, go);
                else produce<<<64, 256>>>(x, r, copies, it, go);
                consume<<<blocks, 256>>>(x, r, copies, stamps, sink, go, together >= 1, false);
            }
            cudaMemcpy(h.data(), stamps, h.size() * 8, cudaMemcpyDeviceToHost);
            if (it < 20) continue;  // warm-up
            uint64_t first = ~0ull, last = 0;
            for (int b = 0; b < blocks; ++b) {
                per_block.push_back(static_cast<double>(h[2 * b + 1] - h[2 * b]));
                first = std::min(first, h[2 * b]);
                last = std::max(last, h[2 * b + 1]);
            }
            spans.push_back(static_cast<double>(last - first));
        }
        std::sort(per_block.begin(), per_block.end());
        std::sort(spans.begin(), spans.end());
        const auto at = [](const std::vector<double>& v, double p) { return v[static_cast<size_t>(p * (v.size() - 1))]; };
        std::printf("%6d  %6.0f %6.0f %6.0f %6.0f   %8.0f\n", copies, at(per_block, 0.1), at(per_block, 0.5), at(per_block, 0.9),
                    per_block.back(), at(spans, 0.5));
    }
    }
    const cudaError_t e = cudaDeviceSynchronize();
    std::printf("%s\n", cudaGetErrorString(e));
    return e == cudaSuccess ? 0 : 1;
}
