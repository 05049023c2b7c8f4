// Device operations of the CUDA backend (see ops.h). Written for clarity first: each
// kernel follows its CPU counterpart's formula and order of operations where that
// matters for parity (RoPE tables in f32, softplus threshold, replace-min ranking).
#include "copy_async.cuh"
#include "mma.cuh"
#include "ops.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <cooperative_groups.h>
#include <cub/block/block_scan.cuh>
#include <cublas_v2.h>
#include <dlfcn.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <type_traits>
#include <utility>
#include <cstring>
#include <cstdlib>

namespace mnemo::cuda {
namespace {

constexpr int kWarp = 32;
constexpr int32_t kUnchanged = INT32_MIN;  // KvScratch::sources: slot keeps its content

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = kWarp / 2; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float silu(float x) { return x / (1.0f + expf(-x)); }

// mlp_split()'s sums: 64-bit fixed point with kMlpFixedBits fractional bits (exact scaling).
__device__ __forceinline__ float fixed_to_float(int64_t v) { return __ll2float_rn(v) * (1.0f / static_cast<float>(1ull << kMlpFixedBits)); }

// Sum over a block of up to 1024 threads (every thread gets the result).
__device__ float block_sum(float v) {
    __shared__ float partial[32];
    const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp;
    v = warp_sum(v);
    __syncthreads();
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    const int n_warps = (blockDim.x + kWarp - 1) / kWarp;
    float total = 0.0f;
    for (int i = 0; i < n_warps; ++i) total += partial[i];
    return total;
}

// Programmatic dependent launch: every kernel of this file is launched with programmatic
// stream serialisation and starts with pdl_wait(), so its blocks can be scheduled while
// the kernel before it drains and wait there until that kernel's writes are visible;
// then it lets the next kernel launch. A decode step is ~280 small kernels, whose launch
// gaps would otherwise cost as much as their work. Kernels launched the ordinary way
// (cub, the chunked gated delta rule, sampling) simply wait for completion as before.
// What a kernel may read before its wait follows: when it starts, the kernel two launches
// back has finished, or three when the one before it is a GEMV (below).
__device__ __forceinline__ void pdl_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.wait;" ::: "memory");
    asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}
// The GEMV lets the next kernel launch before its own wait, so that kernel's blocks start
// loading as the GEMV's do (graph decode 0.663–0.677 against 0.675–0.678 ms,
// bench/results/cuda/2026-12-05/j_…). The next kernel may then start before the GEMV's
// predecessor has finished: nothing that follows a GEMV reads before its wait what that
// predecessor writes (the mixers read their own state and caches from earlier steps, the
// split MLP, the scorer and GEMVs constants). Every kernel letting the next launch first was
// no faster and would break that for GDN's o_proj, which reads the projections' gate early.
__device__ __forceinline__ void pdl_let_next_then_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
    asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

// An attribute of the current device, or `fallback` when none answers.
int device_attribute(cudaDeviceAttr attr, int fallback) {
    int device = 0, value = 0;
    if (cudaGetDevice(&device) != cudaSuccess || cudaDeviceGetAttribute(&value, attr, device) != cudaSuccess) {
        cudaGetLastError();
        return fallback;
    }
    return value;
}

// The current device's compute capability (major version; 0 when none answers), asked once.
int device_major() {
    static const int major = device_attribute(cudaDevAttrComputeCapabilityMajor, 0);
    return major;
}

bool pdl_enabled() {
    static const bool enabled = [] {
        const char* env = std::getenv("MNEMO_CUDA_PDL");  // "0": plain launches (A/B measurements)
        if (env != nullptr && std::strcmp(env, "0") == 0) return false;
        return device_major() >= 9;
    }();
    return enabled;
}

// `cluster` of more than one block: thread-block clusters of that shape (sm_90; a number is
// that many blocks along x).
template <typename... Params, typename... Args>
void launch_kernel_in_clusters(dim3 cluster, void (*kernel)(Params...), dim3 grid, dim3 block, size_t smem, Stream stream,
                               Args&&... args) {
    cudaLaunchAttribute attributes[2];
    unsigned n = 0;
    if (pdl_enabled()) {
        attributes[n].id = cudaLaunchAttributeProgrammaticStreamSerialization;
        attributes[n++].val.programmaticStreamSerializationAllowed = 1;
    }
    if (cluster.x * cluster.y * cluster.z > 1) {
        attributes[n].id = cudaLaunchAttributeClusterDimension;
        attributes[n++].val.clusterDim = {cluster.x, cluster.y, cluster.z};
    }
    cudaLaunchConfig_t config{};
    config.gridDim = grid;
    config.blockDim = block;
    config.dynamicSmemBytes = smem;
    config.stream = stream;
    config.attrs = attributes;
    config.numAttrs = n;
    cudaLaunchKernelEx(&config, kernel, std::forward<Args>(args)...);
}

template <typename... Params, typename... Args>
void launch_kernel(void (*kernel)(Params...), dim3 grid, dim3 block, size_t smem, Stream stream, Args&&... args) {
    launch_kernel_in_clusters(1, kernel, grid, block, smem, stream, std::forward<Args>(args)...);
}

__device__ __forceinline__ float q8_scale(const DeviceMatrix& w, int64_t r, int64_t block) {
    return __half2float(static_cast<const __half*>(w.scales)[r * (w.cols / kQ8Block) + block]);
}

// W[r][c] as f32.
__device__ __forceinline__ float load_weight(const DeviceMatrix& w, int64_t r, int64_t c) {
    const int64_t i = r * w.cols + c;
    if (w.type == WeightType::f32) return static_cast<const float*>(w.data)[i];
    if (w.type == WeightType::bf16) return __bfloat162float(static_cast<const __nv_bfloat16*>(w.data)[i]);
    return q8_scale(w, r, c / kQ8Block) * static_cast<float>(static_cast<const int8_t*>(w.data)[i]);
}

// Four int8 of a word as floats without int-to-float conversions (a quarter-rate
// instruction that would bound a q8_0 GEMV): the biased byte becomes the low mantissa
// bits of 2²³, and the subtraction removes 2²³ and the bias.
__device__ __forceinline__ void int8x4_to_float(uint32_t word, float* f) {
    const uint32_t biased = word ^ 0x80808080u;
    f[0] = __uint_as_float(__byte_perm(biased, 0x4B000000u, 0x7650)) - 8388736.0f;
    f[1] = __uint_as_float(__byte_perm(biased, 0x4B000000u, 0x7651)) - 8388736.0f;
    f[2] = __uint_as_float(__byte_perm(biased, 0x4B000000u, 0x7652)) - 8388736.0f;
    f[3] = __uint_as_float(__byte_perm(biased, 0x4B000000u, 0x7653)) - 8388736.0f;
}

// ---------------------------------------------------------------- linear (GEMV)
// At decode sizes a linear layer is a read of its weights: warps walk output rows, every
// lane with kGemvLoads 16-byte loads per pass (the whole row of a 1024-wide bf16 matrix in
// one pass) and the next pass in flight while it multiplies (gemv_kernel below). Several
// matrices that read the same input share one launch.
constexpr int kGemvLoads = 4;
constexpr int kThreadsGemv = 256;
constexpr int kGemvBlocksPerSm = 2;  // the default grid, and what the kernel's registers are bounded for
constexpr int kNormWeightsAhead = 4;  // a 1024-wide input norm's weights, read before the wait

// Row i's logit l as a key whose largest is argmax()'s choice: the larger logit, the lower index
// among equals (−0 equal to +0), NaN as −∞; every key of a row is above 0, the empty key.
__device__ __forceinline__ unsigned long long argmax_key_of(float l, int64_t i) {
    if (isnan(l)) l = -INFINITY;
    if (l == 0.0f) l = 0.0f;
    const unsigned bits = __float_as_uint(l);
    const unsigned ordered = (bits & 0x80000000u) != 0 ? ~bits : bits | 0x80000000u;
    return static_cast<unsigned long long>(ordered) << 32 | (0xffffffffu - static_cast<unsigned>(i));
}
__device__ __forceinline__ int32_t argmax_of_key(unsigned long long key) {
    return key == 0 ? 0 : static_cast<int32_t>(0xffffffffu - static_cast<unsigned>(key & 0xffffffffu));
}

// GDN's gates (cpu formula): beta = sigmoid(b); g = −exp(A_log[h]) · softplus(a + dt_bias[h]).
__device__ __forceinline__ float apply_epilogue(const Epilogue& e, float v, int64_t row) {
    if (e.kind == Epilogue::sigmoid) return 1.0f / (1.0f + expf(-v));
    if (e.kind == Epilogue::gdn_decay) {
        const float z = v + e.dt_bias[row];
        const float sp = z > 20.0f ? z : log1pf(expf(z));
        return sp * -expf(e.a_log[row]);
    }
    return v;
}

__global__ void epilogue_kernel(float* y, int64_t n, int64_t rows, Epilogue e) {
    pdl_wait();
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < n) y[i] = apply_epilogue(e, y[i], i % rows);
}

struct GemvBatch {
    DeviceMatrix w[kMaxLinearBatch];
    float* y[kMaxLinearBatch];
    int64_t first_row[kMaxLinearBatch + 1];  // matrix m owns launch rows [first_row[m], first_row[m + 1])
    int32_t n = 0;
    bool swiglu = false;  // n == 1: y[0] = silu(x · w[0]ᵀ) · (x · w[1]ᵀ)
    InputNorm norm;       // applied to x on the way in when normed
    bool normed = false;
    Epilogue epilogue[kMaxLinearBatch];
    unsigned long long* argmax_key = nullptr;  // one token, one matrix: the greedy choice (argmax_key_of)
    bool halves = false;  // the staged input in halves (xs_at): bf16 or q8_0 matrices whose rows are whole vectors
};

// Where input value i of a row of `cols` is staged in shared memory. A bf16 lane reads the 8
// inputs of its 16-byte weight vector v (a q8_0 lane those of its 8 quants) as two float4s;
// stored in order, a warp's lanes read them 32 bytes apart, two shared-memory wavefronts where
// one does. In `halves`, the first four inputs of every vector come first (vector v's at 4v) and
// the last four after them (at cols / 2 + 4v), so consecutive lanes read consecutive float4s.
// The same values in the same sums, so the same bits; decode −6 µs with bf16 weights, −37 µs
// with q8_0 (bench/results/cuda/2026-12-12/l_…, o_…).
__device__ __forceinline__ int64_t xs_at(int64_t i, int64_t cols, bool halves) {
    return halves ? ((i & 7) >> 2) * (cols >> 1) + ((i >> 3) << 2) + (i & 3) : i;
}

constexpr int kNormThreads = 256;  // add_rms_norm and the GEMV's input norm: same sums, same bits
constexpr int kGatedNormThreads = 128;  // rms_norm_gated's block
constexpr int kL2NormThreads = 64;      // l2_norm's block

// Σ x[i]² over i < n summed as block_sum() sums it in a block of Threads threads (thread j
// takes i = j, j + Threads, …; each warp's butterfly; the warps in order), by one warp: lane
// l plays thread w·32 + l of each warp w in turn, so a warp per row gives the bits of a
// block per row. Warps past n would add zeros.
template <int Threads>
__device__ __forceinline__ float sum_squares_as_block(const float* x, int64_t n) {
    const int lane = threadIdx.x % kWarp;
    float total = 0.0f;
    for (int w = 0; w < Threads / kWarp && w * kWarp < n; ++w) {
        float ss = 0.0f;
        for (int64_t i = w * kWarp + lane; i < n; i += Threads) ss += x[i] * x[i];
        total += warp_sum(ss);
    }
    return total;
}

// One pass of a warp over a row: kGemvLoads / NR 16-byte loads per lane of each of the NR
// matrices' rows (SwiGLU's gate and up: both rows in flight before either is used, the same
// bytes in flight per warp as one row). A q8_0 slot holds two 8-byte vectors (8 quants each,
// a quarter of a block, with their scales): lanes then read their 8 inputs from shared
// memory as bf16 lanes do (xs_at), instead of 64 bytes apart.
template <int NR>
struct GemvPass {
    static constexpr int kLoads = kGemvLoads / NR;
    uint4 v[NR][kLoads];
    float d[NR][kLoads][2];
};

// Vectors in a row of w (16 bytes; q8_0: 8 bytes), or 0 when its rows are not 16-byte
// aligned (the scalar path).
__device__ __forceinline__ int64_t row_vectors(const DeviceMatrix& w) {
    if (w.type == WeightType::bf16) return w.cols % 8 == 0 ? w.cols / 8 : 0;
    if (w.type == WeightType::f32) return w.cols % 4 == 0 ? w.cols / 4 : 0;
    return w.cols / 8;
}
// Vectors a pass covers.
template <int NR>
__device__ __forceinline__ int64_t pass_vectors(WeightType type) {
    return (type == WeightType::q8_0 ? 2 : 1) * GemvPass<NR>::kLoads * kWarp;
}

// Matrix k of launch matrix m's row: SwiGLU's gate and up (b.n == 1) when NR == 2. Read from the
// kernel's parameters where used (a pointer or a copy held across the loop would cost a local
// copy of the batch or dozens of registers).
template <int NR>
__device__ __forceinline__ DeviceMatrix matrix_of(const GemvBatch& b, int m, int k) {
    return b.w[NR == 2 ? k : m];
}

template <int NR>
__device__ __forceinline__ void load_pass(const GemvBatch& b, int m, int64_t row, int64_t base, int64_t n_vec, GemvPass<NR>& p) {
    const int lane = threadIdx.x % kWarp;
#pragma unroll
    for (int k = 0; k < NR; ++k) {
        const DeviceMatrix w = matrix_of<NR>(b, m, k);
        if (w.type == WeightType::q8_0) {
            const uint2* wr = reinterpret_cast<const uint2*>(static_cast<const int8_t*>(w.data) + row * n_vec * 8);
#pragma unroll
            for (int u = 0; u < GemvPass<NR>::kLoads; ++u) {
#pragma unroll
                for (int h = 0; h < 2; ++h) {
                    const int64_t j = base + (2 * u + h) * kWarp + lane;
                    const uint2 q = j < n_vec ? __ldcs(wr + j) : make_uint2(0, 0);
                    if (h == 0) p.v[k][u].x = q.x, p.v[k][u].y = q.y;
                    else p.v[k][u].z = q.x, p.v[k][u].w = q.y;
                    p.d[k][u][h] = j < n_vec ? q8_scale(w, row, j / 4) : 0.0f;
                }
            }
            continue;
        }
        const uint4* wr = reinterpret_cast<const uint4*>(static_cast<const char*>(w.data) + row * n_vec * 16);
#pragma unroll
        for (int u = 0; u < GemvPass<NR>::kLoads; ++u) {
            const int64_t i = base + u * kWarp + lane;
            p.v[k][u] = i < n_vec ? __ldcs(wr + i) : make_uint4(0, 0, 0, 0);  // streamed: read once, evict first
        }
    }
}

// acc[k][t] += this lane's share of the pass's weights · x[t] (bf16, f32).
template <int MaxT, int NR>
__device__ __forceinline__ void consume_pass(WeightType type, int64_t cols, int64_t base, int64_t n_vec, const GemvPass<NR>& p, const float* x,
                                             int n_tokens, float (&acc)[NR][MaxT], bool halves) {
    const int lane = threadIdx.x % kWarp;
#pragma unroll
    for (int u = 0; u < GemvPass<NR>::kLoads; ++u) {
        const int64_t i = base + u * kWarp + lane;
        if (i >= n_vec) break;
#pragma unroll
        for (int k = 0; k < NR; ++k) {
            const uint4 v = p.v[k][u];
            if (type == WeightType::bf16) {
                const __nv_bfloat162* wv = reinterpret_cast<const __nv_bfloat162*>(&v);
                const float2 w0 = __bfloat1622float2(wv[0]), w1 = __bfloat1622float2(wv[1]), w2 = __bfloat1622float2(wv[2]),
                             w3 = __bfloat1622float2(wv[3]);
#pragma unroll
                for (int t = 0; t < MaxT; ++t) {
                    if (t >= n_tokens) break;
                    const float4* xr = reinterpret_cast<const float4*>(x + t * cols);
                    const float4 a = halves ? xr[i] : xr[2 * i], b = halves ? xr[(cols >> 3) + i] : xr[2 * i + 1];
                    acc[k][t] += w0.x * a.x + w0.y * a.y + w1.x * a.z + w1.y * a.w + w2.x * b.x + w2.y * b.y + w3.x * b.z + w3.y * b.w;
                }
            } else if (type == WeightType::f32) {
                const float4 w = *reinterpret_cast<const float4*>(&v);
#pragma unroll
                for (int t = 0; t < MaxT; ++t) {
                    if (t >= n_tokens) break;
                    const float4 a = reinterpret_cast<const float4*>(x + t * cols)[i];
                    acc[k][t] += w.x * a.x + w.y * a.y + w.z * a.z + w.w * a.w;
                }
            }
        }
    }
}

// The q8_0 form of consume_pass: 8 quants per vector j, scale p.d of block j / 4.
template <int MaxT, int NR>
__device__ __forceinline__ void consume_pass_q8_0(int64_t cols, int64_t base, int64_t n_vec, const GemvPass<NR>& p, const float* x,
                                                  int n_tokens, float (&acc)[NR][MaxT], bool halves) {
    const int lane = threadIdx.x % kWarp;
#pragma unroll
    for (int u = 0; u < GemvPass<NR>::kLoads; ++u) {
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            const int64_t j = base + (2 * u + h) * kWarp + lane;
            if (j >= n_vec) break;
#pragma unroll
            for (int k = 0; k < NR; ++k) {
                const uint32_t w0 = h == 0 ? p.v[k][u].x : p.v[k][u].z, w1 = h == 0 ? p.v[k][u].y : p.v[k][u].w;
                const float d = p.d[k][u][h];
                float q[8];
                int8x4_to_float(w0, q);
                int8x4_to_float(w1, q + 4);
#pragma unroll
                for (int t = 0; t < MaxT; ++t) {
                    if (t >= n_tokens) break;
                    const float4* xr = reinterpret_cast<const float4*>(x + t * cols);
                    const float4 a = halves ? xr[j] : xr[2 * j], b = halves ? xr[(cols >> 3) + j] : xr[2 * j + 1];
                    acc[k][t] += d * (q[0] * a.x + q[1] * a.y + q[2] * a.z + q[3] * a.w + q[4] * b.x + q[5] * b.y + q[6] * b.z + q[7] * b.w);
                }
            }
        }
    }
}

// Rows whose width is not a whole number of 16-byte vectors (small test models): a value per lane.
template <int MaxT, int NR>
__device__ void scalar_rows(const GemvBatch& b, int m, int64_t row, const float* x, int n_tokens, float (&acc)[NR][MaxT]) {
    const int64_t cols = b.w[0].cols;
    for (int64_t c = threadIdx.x % kWarp; c < cols; c += kWarp) {
#pragma unroll
        for (int k = 0; k < NR; ++k) {
            const float wv = load_weight(matrix_of<NR>(b, m, k), row, c);
#pragma unroll
            for (int t = 0; t < MaxT; ++t) {
                if (t >= n_tokens) break;
                acc[k][t] += wv * x[t * cols + c];
            }
        }
    }
}

// One input row under a grouped InputNorm: a warp per group, summing as the kernel that
// materialises the norm above GEMV sizes sums it, so decode and prefill normalise alike.
__device__ void stage_groups_normed(const InputNorm& nm, const float* x, const float* gate, float* xo, int64_t cols, bool halves) {
    const int lane = threadIdx.x % kWarp;
    const int64_t g = nm.group;
    for (int64_t start = threadIdx.x / kWarp * g; start < cols; start += kNormThreads / kWarp * g) {
        const float* xr = x + start;
        const float ss = gate != nullptr ? sum_squares_as_block<kGatedNormThreads>(xr, g) : sum_squares_as_block<kNormThreads>(xr, g);
        const float inv = rsqrtf(ss / static_cast<float>(g) + nm.eps);
        for (int64_t i = lane; i < g; i += kWarp) {
            float v = xr[i] * inv * nm.weight[i];
            if (gate != nullptr) v *= silu(gate[start + i]);
            xo[xs_at(start + i, cols, halves)] = v;
        }
    }
}

// v[k] = x[i] + residual[i] (res, or res_fixed as mlp_split() sums it, or none: + 0) for
// i = threadIdx.x + k · kNormThreads, k < kNormWeightsAhead, i < cols (0 past cols). Every load is
// requested before any sum is used: the callers then store the sums (block 0 keeps the residual
// stream), which the compiler cannot tell apart from x, and in one loop each value's loads waited
// for the store before them, an L2 round trip each (bench/results/cuda/2026-12-08/a_…).
__device__ __forceinline__ void residual_sums_ahead(const float* x, const float* res, const int64_t* res_fixed, int64_t cols,
                                                    float (&v)[kNormWeightsAhead]) {
    float r[kNormWeightsAhead];
#pragma unroll
    for (int k = 0; k < kNormWeightsAhead; ++k) {
        const int64_t i = threadIdx.x + k * kNormThreads;
        v[k] = i < cols ? x[i] : 0.0f;
        r[k] = i >= cols ? 0.0f : res != nullptr ? res[i] : res_fixed != nullptr ? fixed_to_float(res_fixed[i]) : 0.0f;
    }
#pragma unroll
    for (int k = 0; k < kNormWeightsAhead; ++k) v[k] += r[k];
}

// The whole-row input norm's weights a thread applies (i = threadIdx.x + k · kNormThreads,
// k < kNormWeightsAhead; the block's first kNormThreads threads), read ahead of the wait: they
// are constants. The GEMV and the split MLP both normalise with them.
__device__ __forceinline__ void load_norm_weights_ahead(const InputNorm& nm, int64_t cols, float (&w)[kNormWeightsAhead]) {
#pragma unroll
    for (int k = 0; k < kNormWeightsAhead; ++k) {
        const int64_t i = threadIdx.x + k * kNormThreads;
        w[k] = threadIdx.x < kNormThreads && i < cols ? nm.weight[i] : 0.0f;
    }
}

// GDN's output norm at decode (one token; groups of g ≤ kWarp · kNormWeightsAhead values, g a
// multiple of kWarp, at most one group a warp): lane l takes values l + 32k of its warp's group,
// which are what sub-warp k of sum_squares_as_block sums, so the group's sum is the same warp
// sums in the same order. The norm's weights and silu(gate) are read before the wait: the gate
// comes from the projections, launches before the kernel this GEMV waits on (the rule), which
// has passed its own wait when this one starts (it lets the next launch only then: pdl_wait).
// Only x, the rule's output, is read after it.
__host__ __device__ inline bool group_norm_ahead(const InputNorm& nm, int64_t cols, int n_tokens) {
    return n_tokens == 1 && nm.group > 0 && nm.group % kWarp == 0 && nm.group <= kWarp * kNormWeightsAhead &&
           cols <= static_cast<int64_t>(kThreadsGemv / kWarp) * nm.group;
}
struct GroupNormAhead {
    float weight[kNormWeightsAhead];
    float gate[kNormWeightsAhead];  // silu(gate)
};
__device__ __forceinline__ void load_group_norm_ahead(const InputNorm& nm, int64_t cols, GroupNormAhead& a) {
    const int lane = threadIdx.x % kWarp;
    const int64_t g = nm.group, start = threadIdx.x / kWarp * g;
#pragma unroll
    for (int k = 0; k < kNormWeightsAhead; ++k) {
        const int64_t i = lane + k * kWarp;
        const bool in = start < cols && i < g;
        a.weight[k] = in ? nm.weight[i] : 0.0f;
        a.gate[k] = in && nm.gate != nullptr ? silu(nm.gate[start + i]) : 1.0f;
    }
}
__device__ __forceinline__ void stage_group_ahead(const InputNorm& nm, const GroupNormAhead& a, const float* x, float* xo, int64_t cols,
                                                  bool halves) {
    const int lane = threadIdx.x % kWarp;
    const int64_t g = nm.group, start = threadIdx.x / kWarp * g;
    if (start >= cols) return;
    float v[kNormWeightsAhead];
#pragma unroll
    for (int k = 0; k < kNormWeightsAhead; ++k) v[k] = lane + k * kWarp < g ? x[start + lane + k * kWarp] : 0.0f;
    float total = 0.0f;
#pragma unroll
    for (int k = 0; k < kNormWeightsAhead; ++k)
        if (k * kWarp < g) total += warp_sum(v[k] * v[k]);
    const float inv = rsqrtf(total / static_cast<float>(g) + nm.eps);
#pragma unroll
    for (int k = 0; k < kNormWeightsAhead; ++k) {
        if (k * kWarp >= g) break;
        float y = v[k] * inv * a.weight[k];
        if (nm.gate != nullptr) y *= a.gate[k];
        xo[xs_at(start + lane + k * kWarp, cols, halves)] = y;
    }
}

// Launch row r of a batch: its matrix m and the row within it.
struct GemvRow {
    int m = 0;
    int64_t row = -1;  // < 0: past the batch
    int64_t n_vec = 0;
};
__device__ __forceinline__ GemvRow gemv_row(const GemvBatch& b, int64_t r) {
    GemvRow g;
    if (r >= b.first_row[b.n]) return g;
    while (r >= b.first_row[g.m + 1]) ++g.m;
    g.row = r - b.first_row[g.m];
    g.n_vec = row_vectors(b.w[g.m]);
    return g;
}

// A warp walks rows r, r + (warps in the grid), …, with the next pass's loads (the rest of
// this row, or the next row) in flight while it multiplies the current one. The grid is a few
// blocks per SM, so every block stages its input once for many rows. The first pass is loaded
// before the wait: weights are constants, so with programmatic dependent launch their reads
// overlap the kernel still running before this one.
// Every block stages its input rows in shared memory (they are read by all its warps),
// normalising them on the way when the batch carries an InputNorm: a block recomputes one
// row's RMS (a few KB from L2) instead of a launch of its own; block 0 writes the residual sum.
// For bf16 and q8_0 matrices the row is staged in halves (xs_at), so a warp's reads are conflict-free.
template <int MaxT, int NR>
__global__ void __launch_bounds__(kThreadsGemv, kGemvBlocksPerSm) gemv_kernel(GemvBatch b, const float* x, int n_tokens) {
    const int64_t stride = static_cast<int64_t>(gridDim.x) * (blockDim.x / kWarp);
    int64_t r = static_cast<int64_t>(blockIdx.x) * (blockDim.x / kWarp) + threadIdx.x / kWarp;
    GemvRow cur = gemv_row(b, r);
    GemvPass<NR> next;
    if (cur.row >= 0 && cur.n_vec > 0) load_pass<NR>(b, cur.m, cur.row, 0, cur.n_vec, next);
    // The input norm's weights (constants) too, up to kNormWeightsAhead a thread: one round trip
    // fewer after the wait.
    const int64_t cols = b.w[0].cols;
    float norm_w[kNormWeightsAhead];
    if (b.normed && b.norm.group == 0) load_norm_weights_ahead(b.norm, cols, norm_w);
    // The embedding folded in (InputNorm::token): the row's values i = threadIdx.x + k · kThreadsGemv.
    const bool embedded = b.normed && b.norm.token != nullptr;
    float emb[kNormWeightsAhead];
    if (embedded) {
        const int64_t row = *b.norm.token;
#pragma unroll
        for (int k = 0; k < kNormWeightsAhead; ++k) {
            const int64_t i = threadIdx.x + k * kThreadsGemv;
            emb[k] = i < cols ? load_weight(b.norm.embedding, row, i) : 0.0f;
        }
    }
    const bool group_ahead = b.normed && group_norm_ahead(b.norm, cols, n_tokens);
    GroupNormAhead ahead;
    if (group_ahead) load_group_norm_ahead(b.norm, cols, ahead);
    pdl_let_next_then_wait();
    extern __shared__ float xs[];  // [n_tokens][cols]
    // A whole-row input norm (the embedding's too) stages x · weight and scales each row's sum by
    // 1/RMS: the warps' sums of squares meet at the barrier the staging needs anyway, where
    // block_sum() took two more and a pass rescaling the staged row a third. An input projection
    // 6.2 → 5.7 µs, decode −11 to −15 µs (bench/results/cuda/2026-12-13/b_…).
    const bool row_normed = b.normed && b.norm.group == 0;
    __shared__ float norm_partial[MaxT][kThreadsGemv / kWarp];
    const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp;
    if (embedded) {
        const InputNorm& nm = b.norm;
        for (int64_t i = static_cast<int64_t>(blockIdx.x) * kThreadsGemv + threadIdx.x; i < nm.n_clear;
             i += static_cast<int64_t>(gridDim.x) * kThreadsGemv)
            nm.clear[i] = 0;
        // The norm path's sums below, in its order (the same bits as embed() then the GEMV).
        float ss = 0.0f;
#pragma unroll
        for (int k = 0; k < kNormWeightsAhead; ++k) {
            const int64_t i = threadIdx.x + k * kThreadsGemv;
            if (i >= cols) break;
            emb[k] += 0.0f;  // as the norm path adds its (absent) residual: −0 becomes +0
            if (nm.sum != nullptr && blockIdx.x == 0) nm.sum[i] = emb[k];
            xs[xs_at(i, cols, b.halves)] = emb[k] * norm_w[k];
            ss += emb[k] * emb[k];
        }
        ss = warp_sum(ss);
        if (lane == 0) norm_partial[0][warp] = ss;
    }
    for (int t = 0; t < n_tokens && !embedded; ++t) {
        const float* xr = x + t * cols;
        float* xo = xs + t * cols;
        // The loops stride by the compile-time block size, so the compiler unrolls them and keeps
        // several input loads in flight; with blockDim.x each waited for the one before (down's
        // 2 816 inputs: 4.9 against 3.6 µs, bench/results/cuda/2026-11-30/b_gemv_stage_stride/).
        if (!b.normed) {
            for (int64_t i = threadIdx.x; i < cols; i += kThreadsGemv) xo[xs_at(i, cols, b.halves)] = xr[i];
            continue;
        }
        const InputNorm& nm = b.norm;
        if (group_ahead) {
            stage_group_ahead(nm, ahead, xr, xo, cols, b.halves);
            continue;
        }
        if (nm.group > 0) {
            stage_groups_normed(nm, xr, nm.gate != nullptr ? nm.gate + t * cols : nullptr, xo, cols, b.halves);
            continue;
        }
        const float* res = nm.residual != nullptr ? nm.residual + t * cols : nullptr;
        const int64_t* res_fixed = nm.residual_fixed != nullptr ? nm.residual_fixed + t * cols : nullptr;
        float ss = 0.0f;
        for (int64_t i0 = 0; i0 < cols; i0 += kNormWeightsAhead * kThreadsGemv) {  // one pass up to 1 024 values
            float v[kNormWeightsAhead];
            residual_sums_ahead(xr + i0, res != nullptr ? res + i0 : nullptr, res_fixed != nullptr ? res_fixed + i0 : nullptr, cols - i0, v);
#pragma unroll
            for (int k = 0; k < kNormWeightsAhead; ++k) {
                const int64_t i = i0 + threadIdx.x + k * kThreadsGemv;
                if (i >= cols) break;
                if (nm.sum != nullptr && blockIdx.x == 0) nm.sum[t * cols + i] = v[k];
                xo[xs_at(i, cols, b.halves)] = v[k] * (i0 == 0 ? norm_w[k] : nm.weight[i]);
                ss += v[k] * v[k];
            }
        }
        ss = warp_sum(ss);
        if (lane == 0) norm_partial[t][warp] = ss;
    }
    __syncthreads();
    // Token t's whole-row 1/RMS, from the warps' sums in block_sum()'s order (its bits), scaling
    // the rows' sums (1 without that norm). One token keeps it in a register; more read it again
    // at each row (eight in registers spilled).
    const auto scale_of = [&](int t) {
        if (!row_normed) return 1.0f;
        float total = 0.0f;
#pragma unroll
        for (int w = 0; w < kThreadsGemv / kWarp; ++w) total += norm_partial[t][w];
        return rsqrtf(total / static_cast<float>(cols) + b.norm.eps);
    };
    float scale_one = 1.0f;
    if (MaxT == 1 && n_tokens == 1) scale_one = scale_of(0);
    unsigned long long best = 0;  // argmax_key: the best of this warp's rows (lane 0)
    while (cur.row >= 0) {
        float acc[NR][MaxT];
#pragma unroll
        for (int k = 0; k < NR; ++k)
#pragma unroll
            for (int t = 0; t < MaxT; ++t) acc[k][t] = 0.0f;
        const GemvRow after = gemv_row(b, r + stride);
        const WeightType type = b.w[cur.m].type;
        if (cur.n_vec == 0) {
            scalar_rows<MaxT, NR>(b, cur.m, cur.row, xs, n_tokens, acc);
            if (after.row >= 0 && after.n_vec > 0) load_pass<NR>(b, after.m, after.row, 0, after.n_vec, next);
        } else {
            const int64_t step = pass_vectors<NR>(type);
            for (int64_t base = 0; base < cur.n_vec; base += step) {
                const GemvPass<NR> now = next;
                if (base + step < cur.n_vec) load_pass<NR>(b, cur.m, cur.row, base + step, cur.n_vec, next);
                else if (after.row >= 0 && after.n_vec > 0) load_pass<NR>(b, after.m, after.row, 0, after.n_vec, next);
                if (type == WeightType::q8_0) consume_pass_q8_0<MaxT, NR>(cols, base, cur.n_vec, now, xs, n_tokens, acc, b.halves);
                else consume_pass<MaxT, NR>(type, cols, base, cur.n_vec, now, xs, n_tokens, acc, b.halves);
            }
        }
        const float* bias = b.w[cur.m].bias;
#pragma unroll
        for (int t = 0; t < MaxT; ++t) {
            if (t >= n_tokens) break;
            const float scale = MaxT == 1 ? scale_one : scale_of(t);
            float s = warp_sum(acc[0][t]) * scale + (bias != nullptr ? bias[cur.row] : 0.0f);
            if (NR == 2) s = silu(s) * (warp_sum(acc[NR - 1][t]) * scale + (b.w[1].bias != nullptr ? b.w[1].bias[cur.row] : 0.0f));
            if (lane == 0) {
                const float out = apply_epilogue(b.epilogue[cur.m], s, cur.row);
                b.y[cur.m][t * b.w[cur.m].rows + cur.row] = out;
                if (b.argmax_key != nullptr) best = max(best, argmax_key_of(out, cur.row));
            }
        }
        r += stride;
        cur = after;
    }
    if (b.argmax_key != nullptr) {  // the block's best, then one atomic a block
        __shared__ unsigned long long warp_best[kThreadsGemv / kWarp];
        if (lane == 0) warp_best[threadIdx.x / kWarp] = best;
        __syncthreads();
        if (threadIdx.x == 0) {
            for (int w = 1; w < kThreadsGemv / kWarp; ++w) best = max(best, warp_best[w]);
            if (best != 0) atomicMax(b.argmax_key, best);
        }
    }
}

// ---------------------------------------------------------------- the MLP in one launch (ops.h: mlp_split)
// One block an SM, 16 warps. Block b owns the MLP rows [r0, r0 + S) (runs of 8, S ≤ 32): warp w
// sums gate and up rows w and w + 16 (a lane's 4 + 4 loads hold a whole 1024-wide row), and
// thread t the columns [r0, r0 + S) of down's rows t and t + 512 (one 16-byte load per run of 8).
// All of it is loaded into registers before the wait (124 registers, no spills). The first blocks,
// placed while o_proj still runs, take 4 runs each and the later ones share the rest (MlpSplit):
// an even split left the blocks that start as o_proj ends loading their 128 KB after it.
// The input norm sums its squares as the GEMV does (256 threads, the same 1/RMS) but rescales the
// staged row, where the GEMV scales its sums: done the GEMV's way, the MLPs after the LTE layers
// took ~2 µs longer each (2026-12-13/b_…). The down shares go out as integer atomics, so their
// order cannot change the sum. Its input stays in order: staged in halves as the GEMV's (xs_at),
// the MLP took 6.77 against 6.59 µs (2026-12-12/m_…).
constexpr int kSplitCols = 1024;
constexpr int kSplitMaxRuns = 4;                              // runs of 8 MLP rows a block
constexpr int kSplitRowLoads = kSplitCols / 8 / kWarp;        // 16-byte loads a lane takes of a gate/up row
constexpr float kFixedLimit = 8388608.0f;                     // 2^23: a share stays within 2^55, 256 of them within 2^63
constexpr int kSplitThreads = 512;                            // a block an SM: 124 registers a thread
constexpr int kSplitWarps = kSplitThreads / kWarp;
constexpr int kSplitRowsPerWarp = 2;                          // gate/up rows a warp: 8 · kSplitMaxRuns ≤ 32
constexpr int kSplitDownRows = kSplitCols / kSplitThreads;    // down rows a thread
static_assert(kSplitRowsPerWarp * kSplitWarps >= 8 * kSplitMaxRuns, "a block's gate/up rows fit its warps");
static_assert(kSplitCols <= kNormWeightsAhead * kNormThreads, "the input norm's weights are all read ahead");

// Which runs of 8 MLP rows block b takes: the first `early` blocks share `early_runs` runs, the
// rest share what is left (each side as evenly as it divides).
struct MlpSplit {
    int64_t runs = 0, early_runs = 0;
    int early = 0;
    __host__ __device__ void range(int b, int blocks, int64_t* v0, int64_t* v1) const {
        if (b < early) {
            *v0 = b * early_runs / early, *v1 = (b + 1) * early_runs / early;
            return;
        }
        const int64_t late = blocks - early, rest = runs - early_runs;
        *v0 = early_runs + (b - early) * rest / late, *v1 = early_runs + (b - early + 1) * rest / late;
    }
};

__global__ void __launch_bounds__(kSplitThreads, 1) mlp_split_kernel(DeviceMatrix gate, DeviceMatrix up, DeviceMatrix down, InputNorm nm,
                                                                    MlpSplit split, int64_t* y, int64_t* clear) {
    const int64_t runs = split.runs;
    int64_t v0 = 0, v1 = 0;
    split.range(blockIdx.x, gridDim.x, &v0, &v1);
    const int S = static_cast<int>(8 * (v1 - v0));
    const int64_t r0 = 8 * v0;
    const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
    uint4 wg[kSplitRowsPerWarp][kSplitRowLoads], wu[kSplitRowsPerWarp][kSplitRowLoads];
#pragma unroll
    for (int k = 0; k < kSplitRowsPerWarp; ++k) {
        const int s = warp + k * kSplitWarps;
        const uint4* g = static_cast<const uint4*>(gate.data) + (r0 + s) * (kSplitCols / 8);
        const uint4* u = static_cast<const uint4*>(up.data) + (r0 + s) * (kSplitCols / 8);
#pragma unroll
        for (int q = 0; q < kSplitRowLoads; ++q) {
            wg[k][q] = s < S ? __ldcs(g + q * kWarp + lane) : make_uint4(0, 0, 0, 0);
            wu[k][q] = s < S ? __ldcs(u + q * kWarp + lane) : make_uint4(0, 0, 0, 0);
        }
    }
    uint4 wd[kSplitDownRows][kSplitMaxRuns];
#pragma unroll
    for (int i = 0; i < kSplitDownRows; ++i) {
        const uint4* d = static_cast<const uint4*>(down.data) + (threadIdx.x + i * kSplitThreads) * runs;
#pragma unroll
        for (int v = 0; v < kSplitMaxRuns; ++v) wd[i][v] = v0 + v < v1 ? __ldcs(d + v0 + v) : make_uint4(0, 0, 0, 0);
    }
    float norm_w[kNormWeightsAhead];
    load_norm_weights_ahead(nm, kSplitCols, norm_w);
    pdl_wait();
    if (clear != nullptr)
        for (int64_t i = blockIdx.x * kSplitThreads + threadIdx.x; i < kSplitCols; i += static_cast<int64_t>(gridDim.x) * kSplitThreads) clear[i] = 0;

    __shared__ float xs[kSplitCols];
    __shared__ float hs[kSplitRowsPerWarp * kSplitWarps];
    __shared__ float partial[kSplitWarps];
    // The GEMV's sums in the GEMV's order (the same bits), with one barrier fewer than its
    // block_sum, which guards a partial array reused token after token: 0.3 µs an MLP, ~10 µs a
    // decode step, when this called block_sum (measured in the 2026-12-03 review).
    float ss = 0.0f;
    if (threadIdx.x < kNormThreads) {
        float v[kNormWeightsAhead];
        residual_sums_ahead(nm.x, nm.residual, nullptr, kSplitCols, v);
#pragma unroll
        for (int k = 0; k < kNormWeightsAhead; ++k) {
            const int i = threadIdx.x + k * kNormThreads;
            if (nm.sum != nullptr && blockIdx.x == 0) nm.sum[i] = v[k];
            xs[i] = v[k];
            ss += v[k] * v[k];
        }
    }
    ss = warp_sum(ss);
    if (lane == 0) partial[warp] = ss;
    __syncthreads();
    float total = 0.0f;
#pragma unroll
    for (int w = 0; w < kNormThreads / kWarp; ++w) total += partial[w];
    const float inv = rsqrtf(total / static_cast<float>(kSplitCols) + nm.eps);
    if (threadIdx.x < kNormThreads)
#pragma unroll
        for (int k = 0; k < kNormWeightsAhead; ++k) {
            const int i = threadIdx.x + k * kNormThreads;
            xs[i] = xs[i] * inv * norm_w[k];
        }
    __syncthreads();

#pragma unroll
    for (int k = 0; k < kSplitRowsPerWarp; ++k) {
        const int s = warp + k * kSplitWarps;
        if (s >= S) break;
        float g = 0.0f, u = 0.0f;
#pragma unroll
        for (int q = 0; q < kSplitRowLoads; ++q) {
            const __nv_bfloat162* gv = reinterpret_cast<const __nv_bfloat162*>(&wg[k][q]);
            const __nv_bfloat162* uv = reinterpret_cast<const __nv_bfloat162*>(&wu[k][q]);
            const float* xr = xs + (q * kWarp + lane) * 8;
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                const float2 a = __bfloat1622float2(gv[e]), b = __bfloat1622float2(uv[e]);
                g += a.x * xr[2 * e] + a.y * xr[2 * e + 1];
                u += b.x * xr[2 * e] + b.y * xr[2 * e + 1];
            }
        }
        g = warp_sum(g);
        u = warp_sum(u);
        if (lane == 0) hs[s] = silu(g) * u;
    }
    __syncthreads();

#pragma unroll
    for (int i = 0; i < kSplitDownRows; ++i) {
        float p = 0.0f;
#pragma unroll
        for (int v = 0; v < kSplitMaxRuns; ++v) {
            if (v0 + v >= v1) break;
            const __nv_bfloat162* dv = reinterpret_cast<const __nv_bfloat162*>(&wd[i][v]);
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                const float2 a = __bfloat1622float2(dv[e]);
                p += hs[8 * v + 2 * e] * a.x + hs[8 * v + 2 * e + 1] * a.y;
            }
        }
        p = fminf(fmaxf(p, -kFixedLimit), kFixedLimit);
        const long long q = __float2ll_rn(p * static_cast<float>(1ull << kMlpFixedBits));
        atomicAdd(reinterpret_cast<unsigned long long*>(y + threadIdx.x + i * kSplitThreads), static_cast<unsigned long long>(q));
    }
}

__global__ void add_bias_kernel(float* y, const float* bias, int64_t rows, int64_t n) {
    pdl_wait();
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < n) y[i] += bias[i % rows];
}

// A q8_0 matrix as bf16 for cuBLAS (d · q rounded once, as the bf16 upload of q8_0 was).
__global__ void dequantize_q8_0_kernel(DeviceMatrix w, __nv_bfloat16* out) {
    pdl_wait();
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < w.rows * w.cols) out[i] = __float2bfloat16(load_weight(w, i / w.cols, i % w.cols));
}

__global__ void to_bf16_kernel(const float* x, __nv_bfloat16* y, int64_t n) {
    pdl_wait();
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < n) y[i] = __float2bfloat16(x[i]);
}
// Group i of four bf16 values (y 8-byte aligned) from v.
__device__ __forceinline__ void store_bf16x4(__nv_bfloat16* y, int64_t i, const float4& v) {
    __nv_bfloat162* out = reinterpret_cast<__nv_bfloat162*>(y) + 2 * i;
    out[0] = __floats2bfloat162_rn(v.x, v.y);
    out[1] = __floats2bfloat162_rn(v.z, v.w);
}
// Four values a thread (x 16-byte and y 8-byte aligned): n4 groups of four.
__global__ void to_bf16_x4_kernel(const float* x, __nv_bfloat16* y, int64_t n4) {
    pdl_wait();
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < n4) store_bf16x4(y, i, reinterpret_cast<const float4*>(x)[i]);
}

// cuBLAS entry points, resolved with dlopen.
struct Blas {
    void* lib = nullptr;
    cublasHandle_t handle = nullptr;
    decltype(&cublasCreate_v2) create = nullptr;
    decltype(&cublasDestroy_v2) destroy = nullptr;
    decltype(&cublasSetStream_v2) set_stream = nullptr;
    decltype(&cublasSgemm_v2) sgemm = nullptr;
    using GemmEx = cublasStatus_t (*)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int, const void*, const void*,
                                      cudaDataType, int, const void*, cudaDataType, int, const void*, void*, cudaDataType, int,
                                      cublasComputeType_t, cublasGemmAlgo_t);
    GemmEx gemm_ex = nullptr;
    int users = 0;
};
Blas g_blas;

int blocks_for(int64_t n, int threads) { return static_cast<int>((n + threads - 1) / threads); }
// Whether p may be read as vectors of `bytes` (the four-values-a-thread elementwise kernels).
bool aligned(const void* p, uintptr_t bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }

}  // namespace

bool blas_init(Stream stream, const char** why) {
    Blas& b = g_blas;
    if (b.handle == nullptr) {
        for (const char* name : {"libcublas.so.13", "libcublas.so.12", "libcublas.so"}) {
            b.lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
            if (b.lib != nullptr) break;
        }
        if (b.lib == nullptr) {
            *why = "cannot load libcublas.so (install the CUDA toolkit's cuBLAS); using the GEMV kernel for every size";
            return false;
        }
        b.create = reinterpret_cast<decltype(b.create)>(dlsym(b.lib, "cublasCreate_v2"));
        b.destroy = reinterpret_cast<decltype(b.destroy)>(dlsym(b.lib, "cublasDestroy_v2"));
        b.set_stream = reinterpret_cast<decltype(b.set_stream)>(dlsym(b.lib, "cublasSetStream_v2"));
        b.sgemm = reinterpret_cast<decltype(b.sgemm)>(dlsym(b.lib, "cublasSgemm_v2"));
        b.gemm_ex = reinterpret_cast<decltype(b.gemm_ex)>(dlsym(b.lib, "cublasGemmEx"));
        if (!b.create || !b.destroy || !b.set_stream || !b.sgemm || !b.gemm_ex || b.create(&b.handle) != CUBLAS_STATUS_SUCCESS) {
            *why = "libcublas.so lacks the expected entry points or cublasCreate failed";
            b.handle = nullptr;
            return false;
        }
    }
    ++b.users;
    b.set_stream(b.handle, stream);
    return true;
}

void blas_shutdown() {
    Blas& b = g_blas;
    if (b.handle != nullptr && --b.users == 0) {
        b.destroy(b.handle);
        b.handle = nullptr;
    }
}

namespace {

constexpr int kGemvMaxSmem = 160 * 1024;

// Blocks per SM of a GEMV launch (MNEMO_CUDA_GEMV_BLOCKS_PER_SM overrides, for measurements):
// enough warps for the bytes in flight that saturate memory, few enough that each block's
// staged input serves many rows and the next launch's blocks find room to start early.
int sm_count() {
    static const int sms = device_attribute(cudaDevAttrMultiProcessorCount, 132);
    return sms;
}

int64_t gemv_grid(int64_t rows) {
    const int sms = sm_count();
    static const int64_t per_sm = [] {
        const char* env = std::getenv("MNEMO_CUDA_GEMV_BLOCKS_PER_SM");
        return env != nullptr && std::atoi(env) > 0 ? std::atoi(env) : kGemvBlocksPerSm;
    }();
    return std::min<int64_t>(blocks_for(rows, kThreadsGemv / kWarp), per_sm * sms);
}

// MNEMO_CUDA_INPUT_HALVES=0 stages the GEMV's input in order instead of in halves (xs_at; A/B
// measurements, tests); read at every launch, so a test can set it between launches.
bool input_halves_wanted() {
    const char* env = std::getenv("MNEMO_CUDA_INPUT_HALVES");
    return env == nullptr || std::strcmp(env, "0") != 0;
}

void launch_gemv(const GemvBatch& b, const float* x, int64_t T, float* const* y, Stream stream, int64_t max_blocks = 0) {
    static_assert(kThreadsGemv == kNormThreads, "the input norm must sum like add_rms_norm");
    static bool configured = false;  // inputs of more than 48 KiB (8 tokens of 1536+ values)
    if (!configured) {
        cudaFuncSetAttribute(gemv_kernel<1, 1>, cudaFuncAttributeMaxDynamicSharedMemorySize, kGemvMaxSmem);
        cudaFuncSetAttribute(gemv_kernel<1, 2>, cudaFuncAttributeMaxDynamicSharedMemorySize, kGemvMaxSmem);
        cudaFuncSetAttribute(gemv_kernel<kGemvMaxTokens, 1>, cudaFuncAttributeMaxDynamicSharedMemorySize, kGemvMaxSmem);
        cudaFuncSetAttribute(gemv_kernel<kGemvMaxTokens, 2>, cudaFuncAttributeMaxDynamicSharedMemorySize, kGemvMaxSmem);
        configured = true;
    }
    const int64_t cols = b.w[0].cols;
    GemvBatch part = b;
    // f32 rows read 4 inputs a lane, in order; bf16 and q8_0 rows 8 (xs_at).
    const auto eight_wide = [](const DeviceMatrix& w) { return w.type == WeightType::bf16 || w.type == WeightType::q8_0; };
    part.halves = input_halves_wanted() && cols % 8 == 0;
    for (int m = 0; m < b.n; ++m) part.halves = part.halves && eight_wide(b.w[m]);
    if (b.swiglu) part.halves = part.halves && eight_wide(b.w[1]);
    const int64_t token_bytes = cols * static_cast<int64_t>(sizeof(float));  // the staged input
    const int64_t fit = std::max<int64_t>(1, kGemvMaxSmem / token_bytes);
    const int64_t per_launch = std::min<int64_t>(kGemvMaxTokens, fit);
    const int64_t full = gemv_grid(b.first_row[b.n]);
    const int grid = static_cast<int>(max_blocks > 0 ? std::min(full, max_blocks) : full);
    for (int64_t t0 = 0; t0 < T; t0 += per_launch) {
        const int n = static_cast<int>(T - t0 < per_launch ? T - t0 : per_launch);
        for (int m = 0; m < b.n; ++m) part.y[m] = y[m] + t0 * b.w[m].rows;
        if (b.normed) {
            part.norm.residual = b.norm.residual != nullptr ? b.norm.residual + t0 * cols : nullptr;
            part.norm.sum = b.norm.sum != nullptr ? b.norm.sum + t0 * cols : nullptr;
            part.norm.gate = b.norm.gate != nullptr ? b.norm.gate + t0 * cols : nullptr;
        }
        const size_t smem = static_cast<size_t>(n * token_bytes);
        const float* xt = x + t0 * cols;
        if (b.swiglu) {
            if (n == 1) launch_kernel(gemv_kernel<1, 2>, grid, kThreadsGemv, smem, stream, part, xt, n);
            else launch_kernel(gemv_kernel<kGemvMaxTokens, 2>, grid, kThreadsGemv, smem, stream, part, xt, n);
        } else {
            if (n == 1) launch_kernel(gemv_kernel<1, 1>, grid, kThreadsGemv, smem, stream, part, xt, n);
            else launch_kernel(gemv_kernel<kGemvMaxTokens, 1>, grid, kThreadsGemv, smem, stream, part, xt, n);
        }
    }
}

// y = x · Wᵀ (+ bias) through cuBLAS; x_bf16 already holds x in bf16 when W is not f32, and
// a q8_0 W is dequantised into the scratch after it (linear_scratch_bf16).
void blas_linear(const DeviceMatrix& w, const float* x, void* x_bf16, int64_t T, float* y, Stream stream) {
    // Column-major view: yᵀ [rows × T] = W [rows × cols] (row-major = colmajor Wᵀ) · xᵀ.
    const float one = 1.0f, zero = 0.0f;
    g_blas.set_stream(g_blas.handle, stream);
    const int m = static_cast<int>(w.rows), n = static_cast<int>(T), k = static_cast<int>(w.cols);
    if (w.type == WeightType::f32)
        g_blas.sgemm(g_blas.handle, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &one, static_cast<const float*>(w.data), k, x, k, &zero, y, m);
    else {
        const void* w_bf16 = w.data;
        if (w.type == WeightType::q8_0) {
            __nv_bfloat16* dequantised = static_cast<__nv_bfloat16*>(x_bf16) + T * w.cols;
            launch_kernel(dequantize_q8_0_kernel, blocks_for(w.rows * w.cols, 256), 256, 0, stream, w, dequantised);
            w_bf16 = dequantised;
        }
        g_blas.gemm_ex(g_blas.handle, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &one, w_bf16, CUDA_R_16BF, k, x_bf16, CUDA_R_16BF, k, &zero, y,
                       CUDA_R_32F, m, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
    }
    if (w.bias != nullptr) launch_kernel(add_bias_kernel, blocks_for(T * w.rows, 256), 256, 0, stream, y, w.bias, w.rows, T * w.rows);
}

bool use_gemv(int64_t T) { return T <= kGemvMaxTokens || g_blas.handle == nullptr; }

// Which forms of the input cuBLAS reads for these matrices: f32 (f32 weights), bf16 (the rest).
struct InputForms {
    bool f32 = false, bf16 = false;
};
InputForms input_forms(const DeviceMatrix* const* w, int n) {
    InputForms f;
    for (int m = 0; m < n; ++m) (w[m]->type == WeightType::f32 ? f.f32 : f.bf16) = true;
    return f;
}

// Above GEMV sizes the input norm gets a launch of its own, into the linear's x and (for
// lower-precision weights) straight into x_bf16.
void materialise_input_norm(const InputNorm& nm, float* x, void* x_bf16, int64_t T, int64_t cols, Stream stream) {
    if (nm.group == 0) add_rms_norm(nm.x, nm.residual, nm.sum, nm.weight, x, T, cols, nm.eps, stream, x_bf16);
    else if (nm.gate != nullptr) rms_norm_gated(nm.x, nm.gate, nm.weight, x, T * cols / nm.group, nm.group, nm.eps, stream, x_bf16);
    else add_rms_norm(nm.x, nullptr, nullptr, nm.weight, x, T * cols / nm.group, nm.group, nm.eps, stream, x_bf16);
}

// The input of n matrices that read the same x, in the forms cuBLAS reads for them: normalised
// on the way when `norm` is set (x then receives the f32 rows only where an f32 matrix reads them),
// else x converted to bf16 once where a lower-precision matrix reads it.
void prepare_blas_input(const DeviceMatrix* const* w, int n, const InputNorm* norm, float* x, int64_t T, void* x_bf16, Stream stream) {
    const InputForms f = input_forms(w, n);
    if (norm != nullptr) {
        materialise_input_norm(*norm, f.f32 ? x : nullptr, f.bf16 ? x_bf16 : nullptr, T, w[0]->cols, stream);
        return;
    }
    if (!f.bf16) return;
    const int64_t count = T * w[0]->cols;
    if (count % 4 == 0 && aligned(x, 16) && aligned(x_bf16, 8)) launch_kernel(to_bf16_x4_kernel, blocks_for(count / 4, 256), 256, 0, stream, x, static_cast<__nv_bfloat16*>(x_bf16), count / 4);
    else launch_kernel(to_bf16_kernel, blocks_for(count, 256), 256, 0, stream, x, static_cast<__nv_bfloat16*>(x_bf16), count);
}

}  // namespace

void split_q8_0_blocks(const void* blocks, int64_t n_blocks, int8_t* quants, uint16_t* scales) {
    constexpr int64_t kBlockBytes = 2 + kQ8Block;
    const auto* src = static_cast<const unsigned char*>(blocks);
    for (int64_t b = 0; b < n_blocks; ++b) {
        std::memcpy(scales + b, src + b * kBlockBytes, 2);
        std::memcpy(quants + b * kQ8Block, src + b * kBlockBytes + 2, kQ8Block);
    }
}

int64_t linear_scratch_bf16(const DeviceMatrix& w, int64_t T) {
    return T * w.cols + (w.type == WeightType::q8_0 && T > kGemvMaxTokens ? w.rows * w.cols : 0);
}

void linear_batch(const DeviceMatrix* const* w, float* const* y, int n, float* x, int64_t T, void* x_bf16, Stream stream,
                  const InputNorm* norm, const Epilogue* epilogues, int64_t max_blocks, unsigned long long* argmax_key) {
    if (use_gemv(T)) {
        GemvBatch b;
        b.n = n;
        b.argmax_key = T == 1 && n == 1 ? argmax_key : nullptr;
        b.first_row[0] = 0;
        for (int m = 0; m < n; ++m) {
            b.w[m] = *w[m];
            b.first_row[m + 1] = b.first_row[m] + w[m]->rows;
            if (epilogues != nullptr) b.epilogue[m] = epilogues[m];
        }
        if (norm != nullptr) {
            b.norm = *norm;
            b.normed = true;
        }
        launch_gemv(b, norm != nullptr ? norm->x : x, T, y, stream, max_blocks);
        return;
    }
    prepare_blas_input(w, n, norm, x, T, x_bf16, stream);
    for (int m = 0; m < n; ++m) {
        blas_linear(*w[m], x, x_bf16, T, y[m], stream);
        if (epilogues != nullptr && epilogues[m].kind != Epilogue::none)
            launch_kernel(epilogue_kernel, blocks_for(T * w[m]->rows, 256), 256, 0, stream, y[m], T * w[m]->rows, w[m]->rows, epilogues[m]);
    }
}

void linear(const DeviceMatrix& w, float* x, int64_t T, float* y, void* x_bf16, Stream stream, const InputNorm* norm, int64_t max_blocks,
            unsigned long long* argmax_key) {
    const DeviceMatrix* ws[1] = {&w};
    float* ys[1] = {y};
    linear_batch(ws, ys, 1, x, T, x_bf16, stream, norm, nullptr, max_blocks, argmax_key);
}

void linear_swiglu(const DeviceMatrix& gate, const DeviceMatrix& up, float* x, int64_t T, float* out, float* up_scratch, void* x_bf16,
                   Stream stream, const InputNorm* norm, void* out_bf16) {
    if (use_gemv(T) && gate.type != up.type) {  // (not in converted models) two launches and the product
        linear(gate, x, T, out, x_bf16, stream, norm);
        linear(up, x, T, up_scratch, x_bf16, stream, norm);
        swiglu(out, up_scratch, T * gate.rows, stream);
        return;
    }
    if (use_gemv(T)) {
        GemvBatch b;
        b.n = 1;
        b.swiglu = true;
        b.w[0] = gate;
        b.w[1] = up;
        b.first_row[0] = 0;
        b.first_row[1] = gate.rows;
        if (norm != nullptr) {
            b.norm = *norm;
            b.normed = true;
        }
        float* ys[1] = {out};
        launch_gemv(b, norm != nullptr ? norm->x : x, T, ys, stream);
        return;
    }
    const DeviceMatrix* ws[2] = {&gate, &up};
    prepare_blas_input(ws, 2, norm, x, T, x_bf16, stream);
    blas_linear(gate, x, x_bf16, T, out, stream);
    blas_linear(up, x, x_bf16, T, up_scratch, stream);
    swiglu(out, up_scratch, T * gate.rows, stream, out_bf16);
}

void mlp(const DeviceMatrix& gate, const DeviceMatrix& up, const DeviceMatrix& down, float* x, int64_t T, float* hidden, float* up_scratch,
         float* y, void* x_bf16, Stream stream, const InputNorm* norm) {
    if (use_gemv(T) || down.type == WeightType::f32) {
        linear_swiglu(gate, up, x, T, hidden, up_scratch, x_bf16, stream, norm);
        linear(down, hidden, T, y, x_bf16, stream);
        return;
    }
    // x_bf16 is free once both projections have read it: the product goes there, as down's input.
    linear_swiglu(gate, up, x, T, hidden, up_scratch, x_bf16, stream, norm, x_bf16);
    blas_linear(down, hidden, x_bf16, T, y, stream);
}

bool embedding_foldable(int64_t cols) { return cols <= static_cast<int64_t>(kNormWeightsAhead) * kThreadsGemv; }

int64_t gemv_blocks_before_mlp_split() { return std::max(1, sm_count() / 2); }

namespace {
// MNEMO_CUDA_MLP_EARLY_RUNS (A/B measurements): runs of 8 MLP rows each early block of a split
// MLP takes (at most kSplitMaxRuns); 0 shares them evenly over all blocks.
int64_t mlp_early_runs_each() {
    static const int64_t n = [] {
        const char* env = std::getenv("MNEMO_CUDA_MLP_EARLY_RUNS");
        return std::min<int64_t>(env != nullptr ? std::max<int64_t>(0, std::atoll(env)) : kSplitMaxRuns, kSplitMaxRuns);
    }();
    return n;
}

// The early blocks: 7/16 of the grid. The MLP's blocks are placed in index order as SMs free up,
// and o_proj before it holds half the SMs (gemv_blocks_before_mlp_split), so about half of them
// start loading before o_proj ends; swept on the H100 at 40–66 of 132 blocks, 52–60 were best and
// equal (bench/results/cuda/2026-12-06/a_…), the half itself 4–5 µs a step slower.
MlpSplit mlp_split_of(int64_t runs, int blocks) {
    MlpSplit s;
    s.runs = runs;
    const int64_t each = mlp_early_runs_each();
    if (each == 0 || blocks < 2) return s;  // even: every block a "late" one
    s.early = blocks * 7 / 16;
    const int64_t late = blocks - s.early;
    // The early blocks take `each` runs (all there are at most), and more when the late ones
    // could not hold the rest.
    s.early_runs = std::max(std::min(s.early * each, runs), runs - late * kSplitMaxRuns);
    return s;
}
}  // namespace

bool mlp_split_fits(const DeviceMatrix& gate, const DeviceMatrix& up, const DeviceMatrix& down) {
    for (const DeviceMatrix* w : {&gate, &up, &down})
        if (w->type != WeightType::bf16 || w->bias != nullptr) return false;
    const int64_t rows = gate.rows;
    return gate.cols == kSplitCols && up.cols == kSplitCols && down.rows == kSplitCols && up.rows == rows && down.cols == rows &&
           rows % 8 == 0 && rows > 0 && (rows / 8 + sm_count() - 1) / sm_count() <= kSplitMaxRuns;
}

void mlp_split(const DeviceMatrix& gate, const DeviceMatrix& up, const DeviceMatrix& down, const InputNorm& norm, int64_t* y_fixed,
               int64_t* clear, Stream stream) {
    const int blocks = sm_count();
    launch_kernel(mlp_split_kernel, static_cast<unsigned>(blocks), kSplitThreads, 0, stream, gate, up, down, norm,
                  mlp_split_of(gate.rows / 8, blocks), y_fixed, clear);
}

// ---------------------------------------------------------------- elementwise, norms
namespace {

// Loads a thread keeps in flight in the single-block loops below (embed, argmax): with a loop
// that loads one value and uses it, each load waits for the one before (an L2 round trip each).
constexpr int kLoadsInFlight = 8;
constexpr int kEmbedThreads = 256;

__global__ void __launch_bounds__(kEmbedThreads) embed_kernel(const int32_t* tokens, DeviceMatrix table, float* x, int64_t* clear,
                                                               int64_t n_clear) {
    pdl_wait();
    if (blockIdx.x == 0)
        for (int64_t i = threadIdx.x; i < n_clear; i += kEmbedThreads) clear[i] = 0;
    const int64_t row = tokens[blockIdx.x], dim = table.cols;
    for (int64_t i0 = threadIdx.x; i0 < dim; i0 += kLoadsInFlight * kEmbedThreads) {
        float v[kLoadsInFlight];
#pragma unroll
        for (int u = 0; u < kLoadsInFlight; ++u) v[u] = i0 + u * kEmbedThreads < dim ? load_weight(table, row, i0 + u * kEmbedThreads) : 0.0f;
#pragma unroll
        for (int u = 0; u < kLoadsInFlight; ++u)
            if (i0 + u * kEmbedThreads < dim) x[blockIdx.x * dim + i0 + u * kEmbedThreads] = v[u];
    }
}

// The same sums and order as input_norm() below, so both give the same bits.
__global__ void add_rms_norm_kernel(const float* x, const float* residual, float* sum, const float* w, float* y, __nv_bfloat16* y_bf16,
                                    int64_t dim, float eps) {
    pdl_wait();
    const int64_t row = static_cast<int64_t>(blockIdx.x) * dim;
    float ss = 0.0f;
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) {
        const float v = x[row + i] + (residual != nullptr ? residual[row + i] : 0.0f);
        if (sum != nullptr) sum[row + i] = v;
        ss += v * v;
    }
    const float inv = rsqrtf(block_sum(ss) / static_cast<float>(dim) + eps);
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) {
        const float v = x[row + i] + (residual != nullptr ? residual[row + i] : 0.0f), out = v * inv * w[i];
        if (y != nullptr) y[row + i] = out;
        if (y_bf16 != nullptr) y_bf16[row + i] = __float2bfloat16(out);
    }
}

__global__ void rms_norm_gated_kernel(const float* x, const float* gate, const float* w, float* y, __nv_bfloat16* y_bf16, int64_t dim,
                                      float eps) {
    pdl_wait();
    const float* xr = x + blockIdx.x * dim;
    float ss = 0.0f;
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) ss += xr[i] * xr[i];
    const float inv = rsqrtf(block_sum(ss) / static_cast<float>(dim) + eps);
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) {
        const float out = xr[i] * inv * w[i] * silu(gate[blockIdx.x * dim + i]);
        if (y != nullptr) y[blockIdx.x * dim + i] = out;
        if (y_bf16 != nullptr) y_bf16[blockIdx.x * dim + i] = __float2bfloat16(out);
    }
}

// A warp per row, summing as a block of kL2NormThreads would (the bits the decode step's fused
// conv + norm gives): no barriers, and 8 rows a block of 256 threads.
constexpr int kL2NormRowsPerBlock = 8;
__global__ void l2_norm_kernel(float* x, int64_t n_rows, int64_t dim, float eps) {
    pdl_wait();
    const int64_t row = static_cast<int64_t>(blockIdx.x) * kL2NormRowsPerBlock + threadIdx.x / kWarp;
    if (row >= n_rows) return;
    float* xr = x + row * dim;
    const float inv = rsqrtf(sum_squares_as_block<kL2NormThreads>(xr, dim) + eps);
    for (int64_t i = threadIdx.x % kWarp; i < dim; i += kWarp) xr[i] *= inv;
}

__global__ void swiglu_kernel(float* gate, const float* up, __nv_bfloat16* out_bf16, int64_t n) {
    pdl_wait();
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const float v = silu(gate[i]) * up[i];
    if (out_bf16 != nullptr) out_bf16[i] = __float2bfloat16(v);
    else gate[i] = v;
}
// Four values a thread (gate and up 16-byte, out_bf16 8-byte aligned): n4 groups of four.
__global__ void swiglu_x4_kernel(float* gate, const float* up, __nv_bfloat16* out_bf16, int64_t n4) {
    pdl_wait();
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= n4) return;
    const float4 g = reinterpret_cast<const float4*>(gate)[i], u = reinterpret_cast<const float4*>(up)[i];
    const float4 v = make_float4(silu(g.x) * u.x, silu(g.y) * u.y, silu(g.z) * u.z, silu(g.w) * u.w);
    if (out_bf16 != nullptr) store_bf16x4(out_bf16, i, v);
    else reinterpret_cast<float4*>(gate)[i] = v;
}

// One channel of a short conv, walked token by token by one thread with the last K−1
// inputs in registers, so the tail moves in the same launch (read before any token
// overwrites it; x may be y: token t is read before it is written, by the same thread).
template <int K>
struct ConvChannel {
    const float* x = nullptr;
    float* tail = nullptr;  // null without weights (SiLU only)
    int64_t channels = 0, c = 0;
    float w[K], hist[K];  // hist[K − 1] is the current input

    // Ready to compute tokens from t0 on: the K − 1 inputs before t0 (from the tail before token 0).
    __device__ __forceinline__ void load(const ShortConv& cv, int64_t channel, int64_t t0 = 0) {
        x = cv.x;
        tail = cv.weight != nullptr ? cv.tail : nullptr;
        channels = cv.channels;
        c = channel;
        if (tail == nullptr) return;
#pragma unroll
        for (int j = 0; j < K; ++j) w[j] = cv.weight[c * K + j];
#pragma unroll
        for (int j = 0; j < K - 1; ++j) hist[j] = input(t0 - (K - 1) + j);
    }
    // Input of token u, u < 0 from the tail (tail[j] is token j − (K − 1)).
    __device__ __forceinline__ float input(int64_t u) const { return u >= 0 ? x[u * channels + c] : tail[(u + K - 1) * channels + c]; }
    // silu(conv) at token t.
    __device__ __forceinline__ float next(int64_t t) { return step(x[t * channels + c]); }
    // silu(conv) at the token whose input is v (tokens in order).
    __device__ __forceinline__ float step(float v) {
        if (tail == nullptr) return silu(v);
        hist[K - 1] = v;
        float acc = 0.0f;
#pragma unroll
        for (int j = 0; j < K; ++j) acc += w[j] * hist[j];
#pragma unroll
        for (int j = 0; j < K - 1; ++j) hist[j] = hist[j + 1];
        return silu(acc);
    }
    __device__ __forceinline__ void store_tail() const {
        if (tail == nullptr) return;
#pragma unroll
        for (int j = 0; j < K - 1; ++j) tail[j * channels + c] = hist[j];
    }
};

// A chunk's convs: a block owns kConvChannels channels and splits the chunk into kConvSegments
// runs of tokens, a thread per (channel, run) — a thread walking every token left most of the
// GPU idle (~285 µs a GDN layer at 1024 tokens). The convs run in place, so every thread reads
// the inputs before its run (and run 0 the chunk's last inputs, the new tail) before a barrier,
// and only then writes; within its run a thread loads kConvBatch inputs before it writes their
// outputs (its own tokens: no other thread reads them after the barrier).
constexpr int kConvChannels = 32, kConvSegments = 16, kConvBatch = 8;

template <int K>
__global__ void short_conv_kernel(ShortConvBatch b, int64_t T) {
    pdl_wait();
    const ShortConv& cv = b.convs[blockIdx.y];
    const int64_t c = static_cast<int64_t>(blockIdx.x) * kConvChannels + threadIdx.x % kConvChannels;
    const int64_t seg = threadIdx.x / kConvChannels, len = (T + kConvSegments - 1) / kConvSegments;
    const int64_t t0 = min(T, seg * len), t1 = min(T, t0 + len);
    const bool mine = c < cv.channels;
    ConvChannel<K> conv;
    float new_tail[K > 1 ? K - 1 : 1];
    if (mine) {
        conv.load(cv, c, t0);
        if (seg == 0 && conv.tail != nullptr)
#pragma unroll
            for (int j = 0; j < K - 1; ++j) new_tail[j] = conv.input(T - (K - 1) + j);
    }
    __syncthreads();
    if (!mine) return;
    for (int64_t t = t0; t < t1; t += kConvBatch) {
        float in[kConvBatch];
#pragma unroll
        for (int u = 0; u < kConvBatch; ++u) in[u] = t + u < t1 ? cv.x[(t + u) * cv.channels + c] : 0.0f;
#pragma unroll
        for (int u = 0; u < kConvBatch; ++u)
            if (t + u < t1) cv.y[(t + u) * cv.channels + c] = conv.step(in[u]);
    }
    if (seg == 0 && conv.tail != nullptr)
#pragma unroll
        for (int j = 0; j < K - 1; ++j) conv.tail[j * cv.channels + c] = new_tail[j];
}

// A GDN layer's convs with q's and k's L2 norm per head (short_conv_silu_l2 at decode sizes).
// Blocks [0, heads) own a head of q, [heads, 2·heads) a head of k, with thread i on the head's
// channel i; the rest of the grid owns v, blockDim channels a block. A head's sum of squares
// goes through shared memory and is summed as l2_norm's block sums it, for the same bits.
constexpr int kMaxConvL2Head = 256;  // gated_delta_rule's largest key head

// A channel's weights and tail (the inputs before the chunk) are read before waiting on the
// kernel before: that kernel (the input projections) writes neither, and every conv before it has
// finished (pdl_wait: at least the kernel three launches back has).
template <int K>
__global__ void short_conv_l2_kernel(ShortConvBatch b, int64_t T, int64_t head_dim, int64_t heads, float eps) {
    const int64_t block = blockIdx.x;
    ConvChannel<K> conv;
    if (block >= 2 * heads) {
        const ShortConv& cv = b.convs[2];
        const int64_t c = (block - 2 * heads) * blockDim.x + threadIdx.x;
        if (c < cv.channels) conv.load(cv, c);
        pdl_wait();
        if (c >= cv.channels) return;
        for (int64_t t = 0; t < T; ++t) cv.y[t * cv.channels + c] = conv.next(t);
        conv.store_tail();
        return;
    }
    __shared__ float head[kMaxConvL2Head];
    const ShortConv& cv = b.convs[block / heads];
    const bool owner = threadIdx.x < head_dim;  // the other threads only help sum
    const int64_t c = (block % heads) * head_dim + threadIdx.x;
    if (owner) conv.load(cv, c);
    pdl_wait();
    for (int64_t t = 0; t < T; ++t) {
        const float y = owner ? conv.next(t) : 0.0f;
        if (owner) head[threadIdx.x] = y;
        __syncthreads();
        float ss = 0.0f;
        if (threadIdx.x < kL2NormThreads)
            for (int64_t i = threadIdx.x; i < head_dim; i += kL2NormThreads) ss += head[i] * head[i];
        const float inv = rsqrtf(block_sum(ss) + eps);  // its barriers also keep head[] until all have read it
        if (owner) cv.y[t * cv.channels + c] = y * inv;
    }
    if (owner) conv.store_tail();
}

// Calls launch(std::integral_constant<int, K>{}) for a conv size K in [1, 8].
template <typename Launch>
void with_conv_size(int64_t K, Launch&& launch) {
    switch (K) {
        case 1: launch(std::integral_constant<int, 1>{}); break;
        case 2: launch(std::integral_constant<int, 2>{}); break;
        case 3: launch(std::integral_constant<int, 3>{}); break;
        case 4: launch(std::integral_constant<int, 4>{}); break;
        case 5: launch(std::integral_constant<int, 5>{}); break;
        case 6: launch(std::integral_constant<int, 6>{}); break;
        case 7: launch(std::integral_constant<int, 7>{}); break;
        default: launch(std::integral_constant<int, 8>{}); break;
    }
}


// A block per (head, 32 value columns): lane = column j, warp w owns rows
// [w·DK/8, (w+1)·DK/8) of S[:, j] in registers (a whole column per thread spilled at
// DK = 128 and left most of the GPU idle); the two sums over rows (kᵀS and qᵀS) are
// finished across the warps in shared memory.
constexpr int kGdrWarps = 8;

// One token of the rule for a block's value columns (lane = column): S ← e^g S, u = β (v − kᵀS),
// S ← S + k u, o = qᵀS, with q and k in shared memory and each warp's rows of S in s. The sums over
// rows are finished across the warps in shared memory; warp 0 gets o.
template <int DK>
__device__ __forceinline__ float gdr_token(float (&s)[DK / kGdrWarps], const float* qs, const float* ks, float v, float decay, float b,
                                           float (*kv_part)[kWarp], float (*o_part)[kWarp]) {
    constexpr int R = DK / kGdrWarps;
    const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp, i0 = warp * R;
    float kv = 0.0f;
#pragma unroll
    for (int i = 0; i < R; ++i) {
        s[i] *= decay;
        kv += ks[i0 + i] * s[i];
    }
    kv_part[warp][lane] = kv;
    __syncthreads();
    kv = 0.0f;
#pragma unroll
    for (int w = 0; w < kGdrWarps; ++w) kv += kv_part[w][lane];
    const float u = b * (v - kv);
    float o = 0.0f;
#pragma unroll
    for (int i = 0; i < R; ++i) {
        s[i] += ks[i0 + i] * u;
        o += qs[i0 + i] * s[i];
    }
    o_part[warp][lane] = o;
    __syncthreads();
    o = 0.0f;
    if (warp == 0)
#pragma unroll
        for (int w = 0; w < kGdrWarps; ++w) o += o_part[w][lane];
    return o;
}

template <int DK>
__global__ void gated_delta_rule_kernel(const float* q, const float* k, const float* v, const float* g, const float* beta,
                                        float* state, float* out, int64_t T, int64_t H, int64_t dv, float scale) {
    constexpr int R = DK / kGdrWarps;
    const int64_t h = blockIdx.x;
    const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp;
    const int64_t j = static_cast<int64_t>(blockIdx.y) * kWarp + lane;
    __shared__ float qs[DK], ks[DK], kv_part[kGdrWarps][kWarp], o_part[kGdrWarps][kWarp];
    const bool active = j < dv;
    float s[R];
    float* sp = state + h * DK * dv;
    const int i0 = warp * R;
    // The state is read before waiting on the kernel before (the convs), which does not write it;
    // the rule's kernels of earlier steps have finished (pdl_wait: the kernel two launches back has).
#pragma unroll
    for (int i = 0; i < R; ++i) s[i] = active ? sp[(i0 + i) * dv + j] : 0.0f;
    pdl_wait();
    for (int64_t t = 0; t < T; ++t) {
        const int64_t qk = (t * H + h) * DK;
        for (int i = threadIdx.x; i < DK; i += blockDim.x) {
            qs[i] = q[qk + i];
            ks[i] = k[qk + i];
        }
        __syncthreads();
        const float vj = active ? v[(t * H + h) * dv + j] : 0.0f;
        const float o = gdr_token<DK>(s, qs, ks, vj, expf(g[t * H + h]), beta[t * H + h], kv_part, o_part);
        if (warp == 0 && active) out[(t * H + h) * dv + j] = o * scale;
    }
    if (active) {
#pragma unroll
        for (int i = 0; i < R; ++i) sp[(i0 + i) * dv + j] = s[i];
    }
}

// A decode step's GDN convs, q/k L2 norms and gated delta rule in one launch (gdn_decode_step):
// the rule's grid, a block per (head, 32 value columns), and the head's blocks one cluster. Every
// block recomputes its head's q and k convs (thread i: q channel i, thread DK + i: k channel i) and
// their L2 norms, summed as short_conv_l2_kernel sums them (sum_squares_as_block of its 64 threads),
// and warp 0 its 32 v channels; then the rule of gated_delta_rule_kernel on them. The same
// operations in the same order: the bits of the two launches. The q/k conv tails are shared by the
// head's blocks: each reads them before the wait and arrives at the cluster barrier; the first block
// waits on it before writing the new tails, so no block reads a tail already moved on.
template <int K, int DK>
__global__ void __launch_bounds__(kGdrWarps * kWarp) gdn_decode_kernel(ShortConvBatch b, const float* g, const float* beta, float* state,
                                                                        float* out, int64_t H, int64_t dv, float scale, float eps) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    static_assert(2 * DK <= kGdrWarps * kWarp, "a thread per q and k channel of the head");
    constexpr int R = DK / kGdrWarps;
    const int64_t h = blockIdx.x;
    const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp;
    const int64_t j = static_cast<int64_t>(blockIdx.y) * kWarp + lane;
    __shared__ float qs[DK], ks[DK], vs[kWarp], inv[2], kv_part[kGdrWarps][kWarp], o_part[kGdrWarps][kWarp];
    const bool active = j < dv;
    float s[R];
    float* sp = state + h * DK * dv;
    const int i0 = warp * R;
    // Before the wait: the state, the convs' weights and tails (the projections write none of them).
#pragma unroll
    for (int i = 0; i < R; ++i) s[i] = active ? sp[(i0 + i) * dv + j] : 0.0f;
    const bool qk = threadIdx.x < 2 * DK, is_v = warp == 0 && active;
    ConvChannel<K> conv, conv_v;
    if (threadIdx.x < DK) conv.load(b.convs[0], h * DK + threadIdx.x);
    else if (qk) conv.load(b.convs[1], h * DK + threadIdx.x - DK);
    if (is_v) conv_v.load(b.convs[2], h * dv + j);
    asm volatile("barrier.cluster.arrive.release.aligned;" ::: "memory");
    pdl_wait();
    if (qk) (threadIdx.x < DK ? qs : ks)[threadIdx.x % DK] = conv.next(0);
    if (is_v) vs[lane] = conv_v.next(0);
    __syncthreads();
    if (warp < 2) {
        const float ss = sum_squares_as_block<kL2NormThreads>(warp == 0 ? qs : ks, DK);
        if (lane == 0) inv[warp] = rsqrtf(ss + eps);
    }
    __syncthreads();
    if (qk) {
        float* row = threadIdx.x < DK ? qs : ks;
        row[threadIdx.x % DK] *= inv[threadIdx.x < DK ? 0 : 1];
    }
    __syncthreads();
    const float o = gdr_token<DK>(s, qs, ks, active ? vs[lane] : 0.0f, expf(g[h]), beta[h], kv_part, o_part);
    if (warp == 0 && active) out[h * dv + j] = o * scale;
    if (active) {
#pragma unroll
        for (int i = 0; i < R; ++i) sp[(i0 + i) * dv + j] = s[i];
    }
    if (is_v) conv_v.store_tail();
    asm volatile("barrier.cluster.wait.acquire.aligned;" ::: "memory");
    if (qk && blockIdx.y == 0) conv.store_tail();
#endif
}

// RoPE of the pair (x1, x2) = (r[i], r[i + hd/2]) at position p, with the CPU's table
// (cpu/rope.cpp): inv_freq and angle in f32, cos/sin in double. Rounded operation by
// operation (no contraction), so every kernel that rotates gives the same bits.
__device__ __forceinline__ void rope_pair(float& x1, float& x2, int64_t i, int64_t hd, int64_t p, float theta) {
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(hd);
    const float inv_freq = 1.0f / powf(theta, exponent);
    const float angle = static_cast<float>(p) * inv_freq;
    double sd, cd;
    sincos(static_cast<double>(angle), &sd, &cd);
    const float c = static_cast<float>(cd), s = static_cast<float>(sd);
    const float a = __fsub_rn(__fmul_rn(x1, c), __fmul_rn(x2, s));
    const float b = __fadd_rn(__fmul_rn(x2, c), __fmul_rn(x1, s));
    x1 = a;
    x2 = b;
}

// One thread per (token, head, rotation pair) of q and then k; k's values before the
// rotation are copied to k_pre on the way (the LTE scorer's input).
// Index is the type of the flat (token, head, pair) index: 32 bits when it fits (a 64-bit
// division is a long instruction sequence, and a chunk needs three per pair).
template <typename Index>
__global__ void rope_kernel(float* q, int64_t q_heads, float* k, int64_t k_heads, float* k_pre, int64_t T, int64_t hd,
                            const int64_t* position, float theta) {
    pdl_wait();
    const Index half = static_cast<Index>(hd / 2), heads = static_cast<Index>(q_heads + k_heads);
    const Index idx = static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (static_cast<int64_t>(idx) >= T * heads * half) return;
    const int64_t i = idx % half, head = (idx / half) % heads, t = idx / (half * heads);
    const bool is_q = head < q_heads;
    float* r = is_q ? q + (t * q_heads + head) * hd : k + (t * k_heads + head - q_heads) * hd;
    float x1 = r[i], x2 = r[i + half];
    if (!is_q && k_pre != nullptr) {
        float* pre = k_pre + (t * k_heads + head - q_heads) * hd;
        pre[i] = x1;
        pre[i + half] = x2;
    }
    rope_pair(x1, x2, i, hd, *position + t, theta);
    r[i] = x1;
    r[i + half] = x2;
}

// The larger logit, the lower index among equals (NaN counts as −∞): the CPU sampler's greedy rule.
__device__ __forceinline__ void argmax_take(float& best, int32_t& best_i, float l, int32_t i) {
    if (isnan(l)) l = -INFINITY;
    if (l > best || (l == best && i < best_i)) {
        best = l;
        best_i = i;
    }
}

__device__ __forceinline__ void warp_argmax(float& best, int32_t& best_i) {
    for (int o = kWarp / 2; o > 0; o >>= 1)
        argmax_take(best, best_i, __shfl_xor_sync(0xffffffffu, best, o), __shfl_xor_sync(0xffffffffu, best_i, o));
}

constexpr int kArgmaxThreads = 1024;
__global__ void __launch_bounds__(kArgmaxThreads) argmax_kernel(const float* logits, int64_t n, int32_t* out, TokenPublish publish) {
    pdl_wait();
    float best = -INFINITY;
    int32_t best_i = INT32_MAX;
    for (int64_t i0 = threadIdx.x; i0 < n; i0 += kLoadsInFlight * kArgmaxThreads) {
        float l[kLoadsInFlight];
#pragma unroll
        for (int u = 0; u < kLoadsInFlight; ++u) l[u] = i0 + u * kArgmaxThreads < n ? logits[i0 + u * kArgmaxThreads] : -INFINITY;
#pragma unroll
        for (int u = 0; u < kLoadsInFlight; ++u)
            if (i0 + u * kArgmaxThreads < n) argmax_take(best, best_i, l[u], static_cast<int32_t>(i0 + u * kArgmaxThreads));
    }
    // Each warp's best, then warp 0's over the warps' (the rule picks the same winner in any order).
    warp_argmax(best, best_i);
    __shared__ float sv[kArgmaxThreads / kWarp];
    __shared__ int32_t si[kArgmaxThreads / kWarp];
    const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp;
    if (lane == 0) {
        sv[warp] = best;
        si[warp] = best_i;
    }
    __syncthreads();
    if (warp != 0) return;
    best = sv[lane];
    best_i = si[lane];
    warp_argmax(best, best_i);
    if (lane == 0) {
        *out = best_i == INT32_MAX ? 0 : best_i;
        publish_token(publish, *out);
    }
}

// The step's last launch: the position moves on, and with argmax_key the greedy choice the LM
// head left there goes to token, and the key is emptied for the next step's LM head.
__global__ void advance_kernel(int64_t* position, int64_t n, unsigned long long* argmax_key, int32_t* token, TokenPublish publish) {
    pdl_wait();
    *position += n;
    if (argmax_key != nullptr) {
        *token = argmax_of_key(*argmax_key);
        *argmax_key = 0;
        publish_token(publish, *token);
    }
}

// Rows [first_row, first_row + n_rows) of `w` into L2 (no data back to the SM), its q8_0 scales
// too: thread t takes every stride-th 128-byte line of each array.
__device__ void prefetch_matrix_l2(const DeviceMatrix& w, int64_t first_row, int64_t n_rows, int64_t t, int64_t stride) {
    const auto lines = [&](const void* array, int64_t row_bytes) {
        const char* at = static_cast<const char*>(array) + first_row * row_bytes;
        for (int64_t off = t * 128; off < n_rows * row_bytes; off += stride * 128) asm volatile("prefetch.global.L2 [%0];" ::"l"(at + off));
    };
    lines(w.data, w.cols * (w.type == WeightType::f32 ? 4 : w.type == WeightType::bf16 ? 2 : 1));
    if (w.type == WeightType::q8_0) lines(w.scales, w.cols / kQ8Block * 2);
}

// After a decode step: the next step's first GEMV's matrices (and, with a token, its embedding
// row) requested into L2 while the host reads the token and launches that step.
__global__ void prefetch_step_start_kernel(StepStart s) {
    pdl_wait();  // after the launch that published the token
    const int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x, stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
    if (s.token != nullptr && blockIdx.x == 0) prefetch_matrix_l2(s.embedding, *s.token, 1, threadIdx.x, blockDim.x);
    for (int i = 0; i < s.n; ++i) prefetch_matrix_l2(s.matrices[i], 0, s.matrices[i].rows, t, stride);
}

}  // namespace

void embed(const int32_t* tokens, int64_t T, const DeviceMatrix& table, float* x, Stream stream, int64_t* clear, int64_t n_clear) {
    launch_kernel(embed_kernel, static_cast<unsigned>(T), kEmbedThreads, 0, stream, tokens, table, x, clear, clear != nullptr ? n_clear : 0);
}
void add_rms_norm(const float* x, const float* residual, float* sum, const float* weight, float* y, int64_t n_rows, int64_t dim,
                  float eps, Stream stream, void* y_bf16) {
    launch_kernel(add_rms_norm_kernel, static_cast<unsigned>(n_rows), kNormThreads, 0, stream, x, residual, sum, weight, y,
                  static_cast<__nv_bfloat16*>(y_bf16), dim, eps);
}
void rms_norm_gated(const float* x, const float* gate, const float* weight, float* y, int64_t n_rows, int64_t dim, float eps,
                    Stream stream, void* y_bf16) {
    launch_kernel(rms_norm_gated_kernel, static_cast<unsigned>(n_rows), kGatedNormThreads, 0, stream, x, gate, weight, y,
                  static_cast<__nv_bfloat16*>(y_bf16), dim, eps);
}
void l2_norm(float* x, int64_t n_rows, int64_t dim, float eps, Stream stream) {
    launch_kernel(l2_norm_kernel, blocks_for(n_rows, kL2NormRowsPerBlock), kL2NormRowsPerBlock * kWarp, 0, stream, x, n_rows, dim, eps);
}
void swiglu(float* gate, const float* up, int64_t n, Stream stream, void* out_bf16) {
    if (n % 4 == 0 && aligned(gate, 16) && aligned(up, 16) && aligned(out_bf16, 8))
        launch_kernel(swiglu_x4_kernel, blocks_for(n / 4, 256), 256, 0, stream, gate, up, static_cast<__nv_bfloat16*>(out_bf16), n / 4);
    else
        launch_kernel(swiglu_kernel, blocks_for(n, 256), 256, 0, stream, gate, up, static_cast<__nv_bfloat16*>(out_bf16), n);
}
void short_conv_silu(const ShortConv* convs, int n, int64_t T, int64_t K, Stream stream) {
    ShortConvBatch b;
    int64_t widest = 1;
    for (int i = 0; i < n; ++i) {
        b.convs[i] = convs[i];
        widest = std::max(widest, convs[i].channels);
    }
    const dim3 grid(static_cast<unsigned>(blocks_for(widest, kConvChannels)), static_cast<unsigned>(n));
    with_conv_size(K, [&](auto k) {
        launch_kernel(short_conv_kernel<decltype(k)::value>, grid, kConvChannels * kConvSegments, 0, stream, b, T);
    });
}
void short_conv_silu_l2(const ShortConv (&qkv)[3], int64_t T, int64_t K, int64_t head_dim, float eps, Stream stream) {
    const int64_t heads = qkv[0].channels / head_dim;
    if (T > kGemvMaxTokens || head_dim > kMaxConvL2Head) {
        short_conv_silu(qkv, 3, T, K, stream);
        // q and k side by side (as the GDN layer keeps them): both norms in one launch.
        if (qkv[1].y == qkv[0].y + T * qkv[0].channels) {
            l2_norm(qkv[0].y, 2 * T * heads, head_dim, eps, stream);
        } else {
            l2_norm(qkv[0].y, T * heads, head_dim, eps, stream);
            l2_norm(qkv[1].y, T * heads, head_dim, eps, stream);
        }
        return;
    }
    ShortConvBatch b;
    for (int i = 0; i < 3; ++i) b.convs[i] = qkv[i];
    const int threads = static_cast<int>(std::max<int64_t>(128, head_dim));
    const unsigned grid = static_cast<unsigned>(2 * heads + blocks_for(qkv[2].channels, threads));
    with_conv_size(K, [&](auto k) {
        launch_kernel(short_conv_l2_kernel<decltype(k)::value>, grid, threads, 0, stream, b, T, head_dim, heads, eps);
    });
}
bool gated_delta_rule(const float* q, const float* k, const float* v, const float* g, const float* beta, float* state, float* out,
                      int64_t T, int64_t H, int64_t dk, int64_t dv, float scale, Stream stream) {
    constexpr int kThreads = kGdrWarps * kWarp;
    const dim3 grid(static_cast<unsigned>(H), static_cast<unsigned>(blocks_for(dv, kWarp)));
    switch (dk) {
        case 16: launch_kernel(gated_delta_rule_kernel<16>, grid, kThreads, 0, stream, q, k, v, g, beta, state, out, T, H, dv, scale); return true;
        case 32: launch_kernel(gated_delta_rule_kernel<32>, grid, kThreads, 0, stream, q, k, v, g, beta, state, out, T, H, dv, scale); return true;
        case 64: launch_kernel(gated_delta_rule_kernel<64>, grid, kThreads, 0, stream, q, k, v, g, beta, state, out, T, H, dv, scale); return true;
        case 128: launch_kernel(gated_delta_rule_kernel<128>, grid, kThreads, 0, stream, q, k, v, g, beta, state, out, T, H, dv, scale); return true;
        case 256: launch_kernel(gated_delta_rule_kernel<256>, grid, kThreads, 0, stream, q, k, v, g, beta, state, out, T, H, dv, scale); return true;
        default: return false;
    }
}
bool gdn_decode_step(const ShortConv (&qkv)[3], int64_t K, const float* g, const float* beta, float* state, float* out, int64_t H, int64_t dk,
                     int64_t dv, float scale, float eps, Stream stream) {
    static const bool capable = device_major() >= 9;  // thread-block clusters
    const int64_t column_blocks = blocks_for(dv, kWarp);
    if (!capable || dv < 1 || column_blocks > 8 || K < 1 || K > 8) return false;
    ShortConvBatch b;
    for (int i = 0; i < 3; ++i) b.convs[i] = qkv[i];
    const dim3 grid(static_cast<unsigned>(H), static_cast<unsigned>(column_blocks));
    constexpr int kThreads = kGdrWarps * kWarp;
    bool launched = true;
    with_conv_size(K, [&](auto k) {
        constexpr int KS = decltype(k)::value;
        const unsigned cluster_y = static_cast<unsigned>(column_blocks);
        const auto launch = [&](auto kernel) {
            launch_kernel_in_clusters(dim3(1, cluster_y), kernel, grid, kThreads, 0, stream, b, g, beta, state, out, H, dv, scale, eps);
        };
        switch (dk) {
            case 16: launch(gdn_decode_kernel<KS, 16>); break;
            case 32: launch(gdn_decode_kernel<KS, 32>); break;
            case 64: launch(gdn_decode_kernel<KS, 64>); break;
            case 128: launch(gdn_decode_kernel<KS, 128>); break;
            default: launched = false;
        }
    });
    return launched;
}
void rope(float* q, int64_t q_heads, float* k, int64_t k_heads, float* k_pre, int64_t T, int64_t hd, const int64_t* position,
          float theta, Stream stream) {
    const int64_t n = T * (q_heads + k_heads) * (hd / 2);
    if (n < (int64_t{1} << 31)) launch_kernel(rope_kernel<uint32_t>, blocks_for(n, 256), 256, 0, stream, q, q_heads, k, k_heads, k_pre, T, hd, position, theta);
    else launch_kernel(rope_kernel<int64_t>, blocks_for(n, 256), 256, 0, stream, q, q_heads, k, k_heads, k_pre, T, hd, position, theta);
}
void argmax(const float* logits, int64_t n, int32_t* out, Stream stream, TokenPublish publish) {
    launch_kernel(argmax_kernel, 1, kArgmaxThreads, 0, stream, logits, n, out, publish);
}
void advance_position(int64_t* position, int64_t n, Stream stream, unsigned long long* argmax_key, int32_t* token, TokenPublish publish) {
    launch_kernel(advance_kernel, 1, 1, 0, stream, position, n, argmax_key, token, publish);
}
void prefetch_step_start(const StepStart& s, Stream stream) {
    launch_kernel(prefetch_step_start_kernel, static_cast<unsigned>(sm_count()), 256, 0, stream, s);
}

const char* last_error() {
    const cudaError_t e = cudaGetLastError();
    return e == cudaSuccess ? "" : cudaGetErrorString(e);
}

// ---------------------------------------------------------------- bounded KV cache
namespace {

// Chunk bookkeeping in KvScratch::meta.
enum Meta : int {
    kPos0 = 0,        // position of the chunk's first token
    kRingStart0,      // window ring start / count at the chunk start
    kRingCount0,
    kNextUnscored0,   // LTE: first position without a final score at the chunk start
    kRingStart1,      // ... and after the chunk
    kRingCount1,
    kSink1,
};

// Where the k/v of a token are during a chunk: a cache slot (content at the chunk
// start) as a value >= 0, or chunk row r as −(r + 1).
__device__ __forceinline__ int32_t ref_of_position(int64_t p, const int64_t* meta, const DeviceKvCache& c) {
    const int64_t pos0 = meta[kPos0];
    if (p >= pos0) return -static_cast<int32_t>(p - pos0) - 1;
    const int64_t oldest = pos0 - meta[kRingCount0];
    const int64_t base = c.sink_capacity + c.retained_capacity;
    return static_cast<int32_t>(base + (meta[kRingStart0] + (p - oldest)) % c.window_capacity);
}

__device__ __forceinline__ const float* key_of(int32_t ref, int32_t h, const DeviceKvCache& c, const KvChunk& ch) {
    const int64_t width = static_cast<int64_t>(c.n_kv_heads) * c.head_dim;
    return ref >= 0 ? c.keys + (h * c.slots + ref) * c.head_dim : ch.k + static_cast<int64_t>(-ref - 1) * width + h * c.head_dim;
}
__device__ __forceinline__ const float* value_of(int32_t ref, int32_t h, const DeviceKvCache& c, const KvChunk& ch) {
    const int64_t width = static_cast<int64_t>(c.n_kv_heads) * c.head_dim;
    return ref >= 0 ? c.values + (h * c.slots + ref) * c.head_dim : ch.v + static_cast<int64_t>(-ref - 1) * width + h * c.head_dim;
}
__device__ __forceinline__ const float* pre_rope_key_of(int32_t ref, int32_t h, const DeviceKvCache& c, const KvChunk& ch) {
    const int64_t width = static_cast<int64_t>(c.n_kv_heads) * c.head_dim;
    const int64_t base = c.sink_capacity + c.retained_capacity;
    return ref >= 0 ? c.pre_rope + (ref - base) * width + h * c.head_dim : ch.k_pre + static_cast<int64_t>(-ref - 1) * width + h * c.head_dim;
}

// Where KvScratch::new_scores holds the score of position p for head h in a chunk starting at pos0.
__device__ __forceinline__ int64_t new_score_index(int64_t p, int32_t h, const DeviceKvCache& c, int64_t pos0) {
    return (p - (pos0 - c.window_capacity)) * c.n_kv_heads + h;
}

// Score of position p for head h when it leaves the window during the chunk.
__device__ __forceinline__ float leaving_score(int64_t p, int32_t h, const DeviceKvCache& c, const KvScratch& s, const int64_t* meta) {
    if (!c.learned) return 0.0f;
    if (p >= meta[kNextUnscored0]) return s.new_scores[new_score_index(p, h, c, meta[kPos0])];
    const int32_t slot = ref_of_position(p, meta, c);  // scored before the chunk: still in the ring
    return c.scores[h * c.slots + slot];
}

// The scorer runs layer by layer over every position it needs, each layer's rows computed
// once per chunk (a decode step scores one position: 9 + 5 + 1 rows of the paper's three
// layers, then the projection), a warp per output channel and launch per layer, so a
// step's ~2 × 10⁵ multiply-adds per head spread over the GPU. Row r of the activation
// buffers holds position first − left + r (first = *next_unscored at the chunk start), in
// every layer; layer l (l == n_layers: the 1×1 projection and the routing) writes the
// positions the layers after it read: [first − left_after(l), last + right_after(l)].
constexpr int kLteRows = 16;     // output rows per warp pass (accumulators in registers)
constexpr int64_t kLteTiledMinRows = 64;  // chunks with this many rows take the tensor-core kernels
constexpr int kLteWarps = 8;     // output channels per block
constexpr int kLteWeights = 24;  // weights per lane in registers: a K·cin row of up to 768 in one pass

struct LteLayerShape {
    const float* weight;  // [groups][cout][K][cin]
    const float* bias;    // [groups][cout] or null
    int32_t K, d, cin, cout, pl;
};

__host__ __device__ inline LteLayerShape lte_layer_shape(const LteScorerDevice& sc, int32_t l, int32_t hd) {
    LteLayerShape L;
    const bool proj = l == sc.n_layers;
    L.weight = proj ? sc.proj_weight : sc.weight[l];
    L.bias = proj ? sc.proj_bias : sc.bias[l];
    L.K = proj ? 1 : sc.kernel_size[l];
    L.d = proj ? 1 : sc.dilation[l];
    L.cin = proj ? (sc.n_layers > 0 ? sc.out_per_group[sc.n_layers - 1] : 2 * hd) : sc.in_per_group[l];
    L.cout = proj ? 1 : sc.out_per_group[l];
    L.pl = L.d * (L.K - 1) / 2;
    return L;
}

// Layer l's rows: inputs at positions [out_lo − pl, out_hi + pr], outputs [out_lo, out_hi]
// (inclusive), row r of the activation buffers = position base + r.
struct LteLayerRows {
    int64_t pos0, end, out_lo, out_hi, base, in_width, out_width;
    const float* in_act;
    int64_t meta[8];
};

// The receptive-field contexts of the scorer layers after layer l: rows before (lo) and after (hi)
// layer l's outputs that they read.
__host__ __device__ inline void lte_context_after(const LteScorerDevice& sc, int32_t l, int32_t& lo, int32_t& hi) {
    lo = hi = 0;
    for (int32_t i = l + 1; i < sc.n_layers; ++i) {
        const int32_t total = sc.dilation[i] * (sc.kernel_size[i] - 1);
        lo += total / 2;
        hi += total - total / 2;
    }
}

__device__ LteLayerRows lte_layer_rows(const DeviceKvCache& c, const KvChunk& ch, const LteScorerDevice& sc, const KvScratch& s,
                                       const LteLayerShape& L, int32_t l, bool committed) {
    LteLayerRows R;
    R.pos0 = *ch.position + (committed ? ch.n_tokens : 0);
    R.end = committed ? R.pos0 : R.pos0 + ch.n_tokens;
    const int64_t first = *sc.next_unscored, last = R.end - 1 - sc.right;
    int32_t after_left = 0, after_right = 0;
    lte_context_after(sc, l, after_left, after_right);
    R.out_lo = first - after_left;
    R.out_hi = last + after_right;
    R.base = first - sc.left;
    R.in_width = static_cast<int64_t>(c.n_kv_heads) * L.cin;
    R.out_width = static_cast<int64_t>(c.n_kv_heads) * L.cout;
    R.in_act = l > 0 ? s.lte_act[(l - 1) % 2] : nullptr;
    R.meta[kPos0] = R.pos0;
    R.meta[kRingStart0] = c.window_meta[0];
    R.meta[kRingCount0] = c.window_meta[1];
    return R;
}

// Layer l's input at position q for head h into row[ci], ci = first, first + stride, ...: zero
// before the sequence start (and past the last known token, only reached by rows beyond out_hi);
// layer 0 reads [k before RoPE, v] from the cache or the chunk, later layers the activations.
__device__ __forceinline__ void lte_input_row(float* row, int64_t q, int32_t l, const LteLayerShape& L, const LteLayerRows& R, int32_t h,
                                              const DeviceKvCache& c, const KvChunk& ch, int first, int stride) {
    if (q < 0 || q >= R.end) {
        for (int32_t ci = first; ci < L.cin; ci += stride) row[ci] = 0.0f;
    } else if (l > 0) {
        const float* src = R.in_act + (q - R.base) * R.in_width + static_cast<int64_t>(h) * L.cin;
        for (int32_t ci = first; ci < L.cin; ci += stride) row[ci] = src[ci];
    } else {
        const int32_t ref = ref_of_position(q, R.meta, c);
        const float* kp = pre_rope_key_of(ref, h, c, ch);
        const float* vp = value_of(ref, h, c, ch);
        for (int32_t ci = first; ci < L.cin; ci += stride) row[ci] = ci < c.head_dim ? kp[ci] : vp[ci - c.head_dim];
    }
}

// Output channel o of layer l at position p (≤ out_hi): SiLU into the activations ('same' zero
// padding before the sequence start), or for the projection the routing into the score.
__device__ __forceinline__ void lte_store(float sum, int64_t p, int32_t o, int32_t l, int32_t g, int32_t h, const LteLayerShape& L,
                                          const LteLayerRows& R, const DeviceKvCache& c, const LteScorerDevice& sc, const KvScratch& s,
                                          bool committed) {
    const float bias = L.bias != nullptr ? L.bias[g * L.cout + o] : 0.0f;
    if (l < sc.n_layers) {
        s.lte_act[l % 2][(p - R.base) * R.out_width + static_cast<int64_t>(h) * L.cout + o] = p >= 0 ? silu(sum + bias) : 0.0f;
    } else {
        const float logit = sum + bias;
        const float score = sc.relu ? fmaxf(logit, 0.0f) : 1.0f / (1.0f + expf(-logit)) - 0.5f;
        if (committed) c.scores[h * c.slots + ref_of_position(p, R.meta, c)] = score;
        else s.new_scores[new_score_index(p, h, c, R.pos0)] = score;
    }
}

// Layer l for KV head h (blockIdx.y): a warp per output channel (blockIdx.z · warps +
// warp), kLteRows rows at a time; lanes split the K·cin inputs of a row, the rows' inputs
// wait in shared memory. The warp's weights are loaded before waiting on the kernel
// before (they are constants), all at once. Made for a decode step's few rows.
//
// `committed`: the chunk is already in the ring (after kv_commit): every row comes from the
// cache, and the scores go straight into the cache's score slots (lte_score_committed).
__global__ void lte_layer_kernel(DeviceKvCache c, KvChunk ch, LteScorerDevice sc, KvScratch s, int32_t l, bool committed) {
    extern __shared__ float lte_in[];  // [kLteRows + d(K−1)][cin]
    const int32_t h = blockIdx.y;
    const int32_t g = sc.per_head_groups ? h : 0;
    const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp, warps = blockDim.x / kWarp;
    const LteLayerShape L = lte_layer_shape(sc, l, c.head_dim);
    const int32_t o = blockIdx.z * warps + warp;
    const int32_t n_w = L.K * L.cin;
    const float* w = L.weight + (static_cast<int64_t>(g) * L.cout + (o < L.cout ? o : 0)) * n_w;
    float wv[kLteWeights];
#pragma unroll
    for (int u = 0; u < kLteWeights; ++u) {
        const int32_t i = u * kWarp + lane;
        wv[u] = o < L.cout && i < n_w ? w[i] : 0.0f;
    }
    pdl_wait();
    const LteLayerRows R = lte_layer_rows(c, ch, sc, s, L, l, committed);
    const int32_t span = kLteRows + L.d * (L.K - 1);
    for (int64_t p0 = R.out_lo + static_cast<int64_t>(blockIdx.x) * kLteRows; p0 <= R.out_hi; p0 += static_cast<int64_t>(gridDim.x) * kLteRows) {
        __syncthreads();
        for (int32_t i = warp; i < span; i += warps) lte_input_row(lte_in + i * L.cin, p0 - L.pl + i, l, L, R, h, c, ch, lane, kWarp);
        __syncthreads();
        if (o >= L.cout) continue;
        float acc[kLteRows];
#pragma unroll
        for (int r = 0; r < kLteRows; ++r) acc[r] = 0.0f;
        for (int32_t w0 = 0; w0 < n_w; w0 += kLteWeights * kWarp) {
#pragma unroll
            for (int u = 0; u < kLteWeights; ++u) {
                const int32_t i = w0 + u * kWarp + lane;
                if (i >= n_w) break;
                const float wi = w0 == 0 ? wv[u] : w[i];  // rows longer than one pass: the rest from memory
                const int32_t j = i / L.cin, ci = i - j * L.cin;
                const float* in = lte_in + j * L.d * L.cin + ci;
#pragma unroll
                for (int r = 0; r < kLteRows; ++r) acc[r] += wi * in[r * L.cin];
            }
        }
#pragma unroll
        for (int r = 0; r < kLteRows; ++r) {
            const float sum = warp_sum(acc[r]);
            const int64_t p = p0 + r;
            if (lane == r && p <= R.out_hi) lte_store(sum, p, o, l, g, h, L, R, c, sc, s, committed);
        }
    }
}

// The same layer for a chunk's many rows, as a small GEMM per head on tensor cores: a block
// takes kLteTileRows output rows (a warp per 16) and up to kLteTileChannels output channels
// (blockIdx.z the channel block; a warp covers them all, 8 at a time). The block's input rows
// wait in shared memory; the weights pass through in slabs of kLteSlab of the K·cin inputs,
// double-buffered, the first slab copied before waiting on the kernel before (constants).
// Layers whose cin or cout is not a multiple of 8 take lte_layer_kernel instead.
//
// 3xTF32: each operand is split into a tf32 value and its f32 remainder (split_tf32), and
// big·small + small·big + big·big are accumulated in f32, which keeps f32's accuracy (one tf32
// product would keep 10 bits of the scores that rank tokens against the CPU's). The sums run
// in the tensor cores' order, not the CPU's or a decode step's: scores agree to f32 rounding
// (the kernel test bounds them against double at 5e-5; the session tests compare retained sets).
constexpr int kLteTileRows = 64;
constexpr int kLteTileChannels = 64;
constexpr int kLteSlab = 32;  // four blocks of 4 warps an SM: shared memory ~54 KB a block at cin 128
constexpr int kLteMmaThreads = kLteTileRows / 16 * kWarp;
constexpr int kLteSlabStride = kLteSlab + 4;  // ≡ 4 (mod 8): a fragment's 8 rows × 4 columns hit 32 banks

// A warp's 16 rows × 8·NT channels of a scorer conv layer, inputs k0 .. k0 + kn of each
// channel's K·cin (k = tap j · cin + ci; cin and kn multiples of 8): acc[n] (the m16n8 C
// fragment of channel tile n: rows g and g + 8, channels 2t and 2t + 1, g = lane / 4,
// t = lane % 4) += Σ_k in[(r + j·d)·in_stride + ci] · w[channel·w_stride + k − k0]. `in` is the
// warp's first row, `w` channel tile 0's input k0, both in shared memory with strides ≡ 4
// (mod 8), so every fragment load is free of bank conflicts. NT is fixed at compile time so
// the tiles' loads, splits and products interleave.
template <int NT>
__device__ __forceinline__ void lte_conv_mma(float (&acc)[NT][4], const float* in, int in_stride, int cin, int d, const float* w, int w_stride,
                                             int k0, int kn) {
    const int lane = threadIdx.x % kWarp, g = lane / 4, t = lane % 4;
    int j = k0 / cin, ci = k0 - j * cin;
    const float* wt = w + g * w_stride + t;
    for (int kk = 0; kk < kn; kk += 8) {
        const float* a = in + (j * d + g) * in_stride + ci + t;
        uint32_t ab[4], as[4];
        split_tf32(a[0], ab[0], as[0]);
        split_tf32(a[8 * in_stride], ab[1], as[1]);
        split_tf32(a[4], ab[2], as[2]);
        split_tf32(a[8 * in_stride + 4], ab[3], as[3]);
#pragma unroll
        for (int n = 0; n < NT; ++n) {
            const float* b = wt + 8 * n * w_stride + kk;
            uint32_t b0b, b0s, b1b, b1s;
            split_tf32(b[0], b0b, b0s);
            split_tf32(b[4], b1b, b1s);
            mma_tf32_1688(acc[n], as, b0b, b1b);
            mma_tf32_1688(acc[n], ab, b0s, b1s);
            mma_tf32_1688(acc[n], ab, b0b, b1b);
        }
        if ((ci += 8) == cin) {
            ci = 0;
            ++j;
        }
    }
}

// Layer l's input rows q0 .. q0 + rows − 1 of head h into dst (dst_stride floats apart) as
// 16-byte copies in flight together (cin and the head size multiples of 4), zeros outside the
// sequence, as lte_input_row reads them. Every thread of the block calls it; commit, wait and a
// barrier follow.
__device__ __forceinline__ void lte_stage_rows_async(float* dst, int dst_stride, int64_t q0, int32_t rows, int32_t l, const LteLayerShape& L,
                                                     const LteLayerRows& R, int32_t h, const DeviceKvCache& c, const KvChunk& ch) {
    const int32_t per_row = L.cin / 4;
    for (int32_t idx = threadIdx.x; idx < rows * per_row; idx += blockDim.x) {
        const int32_t r = idx / per_row, ci = idx % per_row * 4;
        const int64_t q = q0 + r;
        float* to = dst + r * dst_stride + ci;
        const float* src;
        if (q < 0 || q >= R.end) {
            *reinterpret_cast<float4*>(to) = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
            continue;
        } else if (l > 0) {
            src = R.in_act + (q - R.base) * R.in_width + static_cast<int64_t>(h) * L.cin + ci;
        } else {
            const int32_t ref = ref_of_position(q, R.meta, c);
            src = ci < c.head_dim ? pre_rope_key_of(ref, h, c, ch) + ci : value_of(ref, h, c, ch) + (ci - c.head_dim);
        }
        copy_async<16>(to, src);
    }
}

__host__ __device__ inline bool lte_layer_on_tensor_cores(const LteLayerShape& L) { return L.cin % 8 == 0 && L.cout % 8 == 0; }

// Channel tiles of 8 a block of layer L (a power of two, channels past cout computed on zeros).
__host__ __device__ inline int32_t lte_mma_tiles(const LteLayerShape& L) {
    int32_t nt = 1;
    while (nt < kLteTileChannels / 8 && 8 * nt < L.cout) nt *= 2;
    return nt;
}
__host__ __device__ inline size_t lte_mma_smem_floats(const LteLayerShape& L, int32_t* in_stride, int32_t* in_floats) {
    *in_stride = L.cin + 4;  // ≡ 4 (mod 8)
    *in_floats = (kLteTileRows + L.d * (L.K - 1)) * *in_stride;
    return static_cast<size_t>(*in_floats) + 2 * 8 * lte_mma_tiles(L) * kLteSlabStride;
}

template <int NT>  // channel tiles of 8 a block: up to kLteTileChannels / 8
__global__ void __launch_bounds__(kLteMmaThreads) lte_layer_mma_kernel(DeviceKvCache c, KvChunk ch, LteScorerDevice sc, KvScratch s, int32_t l) {
    extern __shared__ __align__(16) float lte_smem[];
    const int32_t h = blockIdx.y;
    const int32_t g = sc.per_head_groups ? h : 0;
    const LteLayerShape L = lte_layer_shape(sc, l, c.head_dim);
    int32_t in_stride = 0, in_floats = 0;
    lte_mma_smem_floats(L, &in_stride, &in_floats);
    float* in = lte_smem;  // [kLteTileRows + d(K − 1)][in_stride]
    constexpr int kSlabFloats = 8 * NT * kLteSlabStride;
    float* slabs = in + in_floats;  // [2][8·NT][kLteSlabStride], channels past cout zero
    const int32_t n_w = L.K * L.cin, o0 = blockIdx.z * 8 * NT;
    const int32_t n_ch = min(8 * NT, L.cout - o0);
    const float* w = L.weight + (static_cast<int64_t>(g) * L.cout + o0) * n_w;
    const auto stage_slab = [&](int32_t k0, float* dst) {
        for (int32_t idx = threadIdx.x; idx < 8 * NT * kLteSlab / 4; idx += kLteMmaThreads) {
            const int32_t o = idx / (kLteSlab / 4), kk = idx % (kLteSlab / 4) * 4;
            float* to = dst + o * kLteSlabStride + kk;
            if (o < n_ch && k0 + kk < n_w) copy_async<16>(to, w + static_cast<int64_t>(o) * n_w + k0 + kk);
            else *reinterpret_cast<float4*>(to) = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        }
        copy_async_commit();
    };
    stage_slab(0, slabs);
    pdl_wait();
    const LteLayerRows R = lte_layer_rows(c, ch, sc, s, L, l, false);
    const int64_t p0 = R.out_lo + static_cast<int64_t>(blockIdx.x) * kLteTileRows;
    if (p0 > R.out_hi) {
        copy_async_wait<0>();
        return;
    }
    lte_stage_rows_async(in, in_stride, p0 - L.pl, kLteTileRows + L.d * (L.K - 1), l, L, R, h, c, ch);
    copy_async_commit();
    const int warp = threadIdx.x / kWarp;
    float acc[NT][4] = {};
    for (int32_t k0 = 0, b = 0; k0 < n_w; k0 += kLteSlab, b ^= 1) {
        if (k0 + kLteSlab < n_w) {
            stage_slab(k0 + kLteSlab, slabs + (b ^ 1) * kSlabFloats);
            copy_async_wait<1>();  // all but the slab just issued
        } else {
            copy_async_wait<0>();
        }
        __syncthreads();  // slab b and the inputs are in
        lte_conv_mma(acc, in + 16 * warp * in_stride, in_stride, L.cin, L.d, slabs + b * kSlabFloats, kLteSlabStride, k0, min(kLteSlab, n_w - k0));
        __syncthreads();  // slab b is read: the next iteration's copies may overwrite it
    }
#pragma unroll
    for (int n = 0; n < NT; ++n) {
        if (8 * n >= n_ch) break;
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            const int64_t p = p0 + 16 * warp + mma_c_row(e);
            if (p <= R.out_hi) lte_store(acc[n][e], p, o0 + 8 * n + mma_c_col(e), l, g, h, L, R, c, sc, s, false);
        }
    }
}

// Layers 1 .. n_layers − 1 and the projection of a chunk in one launch (after layer 0 in the
// mma kernel): a block per (kLteTileRows final rows, head) computes each layer's rows that its
// tile needs — the tile widened by the receptive fields of the layers after it — into shared
// memory. Every layer's weights are staged before waiting on the kernel before (constants).
// Layers whose channels are multiples of 8 run on tensor cores as lte_layer_mma_kernel does (a
// warp per 16 rows × 8 channels); the others and the projection take a thread per (4 rows,
// channel), summing tap by tap, channel by channel.
constexpr int kLteTailThreads = 256;
constexpr size_t kLteTailMaxSmem = 160 * 1024;  // above it (key head sizes over 128), a launch per layer

// Input rows of layer l (1 ≤ l ≤ n_layers) for the tail kernel's tile: the tile widened by the
// contexts of the layers after l (lte_context_after) and of l itself.
__host__ __device__ inline int32_t lte_tail_rows_in(const LteScorerDevice& sc, const LteLayerShape& L, int32_t l) {
    int32_t lo = 0, hi = 0;
    lte_context_after(sc, l, lo, hi);
    return kLteTileRows + lo + hi + L.d * (L.K - 1);
}

// The tail's shared memory: layer l's input rows in buffer (l − 1) % 2, cin + 4 floats apart,
// as many as its outputs computed in whole m-tiles of 16 read; every layer's weights one after
// the other, a channel's K·cin inputs + 4 apart on tensor cores (≡ 4 mod 8), + 1 otherwise.
struct LteTailSmem {
    int32_t act_floats[2];
    int32_t weight_at[kMaxLteLayers + 2];  // layer l's weights start at weight_at[l]
    size_t bytes;
};
__host__ __device__ inline int32_t lte_tail_weight_stride(const LteLayerShape& L) {
    return L.K * L.cin + (lte_layer_on_tensor_cores(L) ? 4 : 1);
}
__host__ __device__ inline LteTailSmem lte_tail_smem(const LteScorerDevice& sc) {
    LteTailSmem t{};
    int32_t w = 0;
    for (int32_t l = 1; l <= sc.n_layers; ++l) {
        const LteLayerShape L = lte_layer_shape(sc, l, 0);  // l ≥ 1: cin is the layer before's output
        const int32_t rows = lte_tail_rows_in(sc, L, l) - L.d * (L.K - 1);
        const int32_t rows_read = (rows + 15) / 16 * 16 + L.d * (L.K - 1);
        t.act_floats[(l - 1) % 2] = max(t.act_floats[(l - 1) % 2], (rows_read * (L.cin + 4) + 3) / 4 * 4);
        t.weight_at[l] = w;
        w += (L.cout * lte_tail_weight_stride(L) + 3) / 4 * 4;
    }
    t.weight_at[sc.n_layers + 1] = w;
    t.bytes = (static_cast<size_t>(t.act_floats[0]) + t.act_floats[1] + w) * sizeof(float);
    return t;
}

__global__ void __launch_bounds__(kLteTailThreads) lte_tail_kernel(DeviceKvCache c, KvChunk ch, LteScorerDevice sc, KvScratch s) {
    extern __shared__ __align__(16) float tail_smem[];
    const int32_t h = blockIdx.y, g = sc.per_head_groups ? h : 0, n = sc.n_layers;
    const LteTailSmem sm = lte_tail_smem(sc);
    float* act[2] = {tail_smem, tail_smem + sm.act_floats[0]};
    float* weights = tail_smem + sm.act_floats[0] + sm.act_floats[1];
    for (int32_t l = 1; l <= n; ++l) {
        const LteLayerShape L = lte_layer_shape(sc, l, c.head_dim);
        const int32_t n_w = L.K * L.cin, stride = lte_tail_weight_stride(L);
        const float* w = L.weight + static_cast<int64_t>(g) * L.cout * n_w;
        float* ws = weights + sm.weight_at[l];
        if (lte_layer_on_tensor_cores(L)) {
            for (int32_t idx = threadIdx.x; idx < L.cout * n_w / 4; idx += kLteTailThreads) {
                const int32_t o = idx / (n_w / 4), k = idx % (n_w / 4) * 4;
                copy_async<16>(ws + o * stride + k, w + static_cast<int64_t>(o) * n_w + k);
            }
        } else {
            for (int32_t idx = threadIdx.x; idx < L.cout * n_w; idx += kLteTailThreads) ws[(idx / n_w) * stride + idx % n_w] = w[idx];
        }
    }
    copy_async_commit();
    const LteLayerShape Lp = lte_layer_shape(sc, n, c.head_dim);
    pdl_wait();
    const LteLayerRows Rp = lte_layer_rows(c, ch, sc, s, Lp, n, false);
    const int64_t p0 = Rp.out_lo + static_cast<int64_t>(blockIdx.x) * kLteTileRows;
    if (p0 > Rp.out_hi) {
        copy_async_wait<0>();
        return;
    }
    {
        // Layer 1's input rows: layer 0's outputs (zero outside the sequence).
        const LteLayerShape L1 = lte_layer_shape(sc, 1, c.head_dim);
        const LteLayerRows R1 = lte_layer_rows(c, ch, sc, s, L1, 1, false);
        int32_t lo = 0, hi = 0;
        lte_context_after(sc, 1, lo, hi);
        const int32_t rows_in = lte_tail_rows_in(sc, L1, 1);
        if (L1.cin % 4 == 0) {
            lte_stage_rows_async(act[0], L1.cin + 4, p0 - lo - L1.pl, rows_in, 1, L1, R1, h, c, ch);
        } else {
            for (int32_t i = threadIdx.x / kWarp; i < rows_in; i += kLteTailThreads / kWarp)
                lte_input_row(act[0] + i * (L1.cin + 4), p0 - lo - L1.pl + i, 1, L1, R1, h, c, ch, threadIdx.x % kWarp, kWarp);
        }
        copy_async_commit();
    }
    copy_async_wait<0>();
    const int warp = threadIdx.x / kWarp;
    for (int32_t l = 1; l <= n; ++l) {
        __syncthreads();  // this layer's inputs (and, the first time, every layer's weights) are in
        const LteLayerShape L = lte_layer_shape(sc, l, c.head_dim);
        const int32_t n_w = L.K * L.cin, in_stride = L.cin + 4, out_stride = L.cout + 4, w_stride = lte_tail_weight_stride(L);
        const float* ws = weights + sm.weight_at[l];
        int32_t lo = 0, hi = 0;
        lte_context_after(sc, l, lo, hi);
        const int32_t rows_out = kLteTileRows + lo + hi;
        const float* in = act[(l - 1) % 2];
        float* out = act[l % 2];
        // Output row r, channel o: SiLU into the next layer's inputs (zero before the sequence
        // start and past the last token), or from the projection the score.
        const auto put = [&](float sum, int32_t r, int32_t o) {
            const int64_t p = p0 - lo + r;
            if (r >= rows_out) return;
            if (l < n) {
                const float bias = L.bias != nullptr ? L.bias[g * L.cout + o] : 0.0f;
                out[r * out_stride + o] = p >= 0 && p < Rp.end ? silu(sum + bias) : 0.0f;
            } else if (p <= Rp.out_hi) {
                lte_store(sum, p, o, l, g, h, L, Rp, c, sc, s, false);
            }
        };
        if (l < n && lte_layer_on_tensor_cores(L)) {
            // A warp per 16 rows × up to four channel tiles (independent products in flight).
            const int32_t m_tiles = (rows_out + 15) / 16, n_tiles = L.cout / 8;
            const auto run = [&](auto tiles) {
                constexpr int NT = decltype(tiles)::value;
                for (int32_t task = warp; task < m_tiles * (n_tiles / NT); task += kLteTailThreads / kWarp) {
                    const int32_t m = task / (n_tiles / NT), n0 = task % (n_tiles / NT) * NT;
                    float acc[NT][4] = {};
                    lte_conv_mma(acc, in + 16 * m * in_stride, in_stride, L.cin, L.d, ws + 8 * n0 * w_stride, w_stride, 0, n_w);
#pragma unroll
                    for (int nt = 0; nt < NT; ++nt)
#pragma unroll
                        for (int e = 0; e < 4; ++e) put(acc[nt][e], 16 * m + mma_c_row(e), 8 * (n0 + nt) + mma_c_col(e));
                }
            };
            if (n_tiles % 4 == 0) run(std::integral_constant<int, 4>{});
            else if (n_tiles % 2 == 0) run(std::integral_constant<int, 2>{});
            else run(std::integral_constant<int, 1>{});
        } else {
            // A thread per (4 rows, channel): four sums in flight, one weight read for four products.
            for (int32_t idx = threadIdx.x; idx < (rows_out + 3) / 4 * L.cout; idx += kLteTailThreads) {
                const int32_t r0 = idx / L.cout * 4, o = idx % L.cout;
                const float* wr = ws + o * w_stride;
                float acc[4] = {};
                for (int32_t j = 0; j < L.K; ++j) {
                    const float* a = in + (r0 + j * L.d) * in_stride;
                    for (int32_t ci = 0; ci < L.cin; ++ci) {
                        const float wv = wr[j * L.cin + ci];
#pragma unroll
                        for (int q = 0; q < 4; ++q) acc[q] += a[q * in_stride + ci] * wv;
                    }
                }
#pragma unroll
                for (int q = 0; q < 4; ++q) put(acc[q], r0 + q, o);
            }
        }
    }
}

// Replace-min's order: a ranks above x (higher score; among equal scores the lower position).
// Positions of entries are distinct, so this is a total order.
__device__ __forceinline__ bool ranks_above(float sa, int64_t pa, float sx, int64_t px) { return sa > sx || (sa == sx && pa < px); }

// `worst` becomes `candidate` (a held slot, or −1 for none) when it ranks below it (a total
// order, so any order of comparisons finds the same entry).
__device__ __forceinline__ void keep_lowest(int32_t& worst, int32_t candidate, const float* score, const int64_t* pos) {
    if (candidate < 0) return;
    if (worst < 0 || ranks_above(score[worst], pos[worst], score[candidate], pos[candidate])) worst = candidate;
}

// Replace-min's scan over the retained slots [S, S + R) by a block of Threads: the lowest free
// slot (INT32_MAX if none) and the lowest-ranked held entry (−1 if none), to every thread (each
// merges the warps' candidates in the same order). Every thread of the block must call it.
template <int Threads>
__device__ void retained_scan(int32_t S, int32_t R, const float* score, const int64_t* pos, int32_t& free_slot, int32_t& worst) {
    __shared__ int32_t warp_free[Threads / kWarp], warp_worst[Threads / kWarp];
    const int tid = threadIdx.x, lane = tid % kWarp, warp = tid / kWarp;
    free_slot = INT32_MAX;
    worst = -1;
    for (int32_t i = tid; i < R; i += Threads) {
        const int32_t slot = S + i;
        if (pos[slot] < 0) free_slot = min(free_slot, slot);
        else keep_lowest(worst, slot, score, pos);
    }
    for (int o = kWarp / 2; o > 0; o >>= 1) {
        free_slot = min(free_slot, __shfl_xor_sync(0xffffffffu, free_slot, o));
        keep_lowest(worst, __shfl_xor_sync(0xffffffffu, worst, o), score, pos);
    }
    if (lane == 0) {
        warp_free[warp] = free_slot;
        warp_worst[warp] = worst;
    }
    __syncthreads();
    for (int w = 0; w < Threads / kWarp; ++w) {
        free_slot = min(free_slot, warp_free[w]);
        keep_lowest(worst, warp_worst[w], score, pos);
    }
    __syncthreads();  // the next call rewrites warp_free / warp_worst
}

// Replace-min's choice for a leaving token with a positive score sc, given retained_scan's
// result: the free slot, else the lowest-ranked entry if sc beats it, else none (−1).
__device__ __forceinline__ int32_t retained_target(float sc, int32_t free_slot, int32_t worst, const float* score) {
    return free_slot != INT32_MAX ? free_slot : (sc > score[worst] ? worst : -1);
}

// What a plan leaves for kv_commit: the chunk's start and the ring / sink after it.
__device__ __forceinline__ void record_plan(const KvScratch& s, int64_t pos0, int64_t ring_start0, int64_t ring_count0, int64_t ring_start1,
                                            int64_t ring_count1, int64_t next_unscored0, int64_t sink1) {
    s.meta[kPos0] = pos0;
    s.meta[kRingStart0] = ring_start0;
    s.meta[kRingCount0] = ring_count0;
    s.meta[kRingStart1] = ring_start1;
    s.meta[kRingCount1] = ring_count1;
    s.meta[kNextUnscored0] = next_unscored0;
    s.meta[kSink1] = sink1;
}

constexpr int kPlanThreads = 1024;
constexpr int32_t kNotEntry = -1;  // plan_work's evict: not a retained entry (empty slot, no candidate, rejected)

// The chunk's window arithmetic: the ring holds c0 tokens at the start; from step t_first on,
// every step's token pushes the oldest, leaving(t), out of the window.
struct PlanChunk {
    int64_t pos0, T, W, c0, t_first;
    __device__ PlanChunk(const DeviceKvCache& c, const int64_t* meta, int64_t n_tokens)
        : pos0(meta[kPos0]), T(n_tokens), W(c.window_capacity), c0(meta[kRingCount0]),
          t_first(c.window_capacity - meta[kRingCount0] > 0 ? c.window_capacity - meta[kRingCount0] : 0) {}
    __device__ int64_t leaving(int64_t t) const { return pos0 + t - W; }
};

__device__ __forceinline__ void plan_meta(int64_t (&meta)[8], const DeviceKvCache& c, const KvChunk& ch, const int64_t* next_unscored) {
    meta[kPos0] = *ch.position;
    meta[kRingStart0] = c.window_meta[0];
    meta[kRingCount0] = c.window_meta[1];
    meta[kNextUnscored0] = next_unscored != nullptr ? *next_unscored : 0;
}

// Score of the retained candidate leaving the window at step t: NaN when that step has none
// (no token leaves, it goes to the sink, or its score is not positive).
__device__ __forceinline__ float candidate_score(int64_t t, int32_t h, const DeviceKvCache& c, const KvScratch& s, const int64_t* meta,
                                                 const PlanChunk& pc) {
    if (t < pc.t_first || pc.leaving(t) < c.sink_capacity) return NAN;
    const float sc = leaving_score(pc.leaving(t), h, c, s, meta);
    return sc > 0.0f ? sc : NAN;
}

// Per KV head: evict[retained + T] (retained slot i, then chunk step t: the step that evicts the
// entry, T if it stays, kNotEntry), evicted_at[T] (entry evicted at step t), and per step the
// slot a new entry takes (slot) or the step whose slot it takes (link), double-buffered.
struct PlanWork {
    int32_t *evict, *evicted_at, *slot[2], *link[2];
};
__device__ __forceinline__ PlanWork plan_work(const KvScratch& s, const DeviceKvCache& c, int64_t T, int32_t h) {
    int32_t* w = s.plan_work + h * (c.retained_capacity + 6 * T);
    PlanWork p;
    p.evict = w;
    p.evicted_at = w + c.retained_capacity + T;
    p.slot[0] = p.evicted_at + T;
    p.slot[1] = p.slot[0] + T;
    p.link[0] = p.slot[1] + T;
    p.link[1] = p.link[0] + T;
    return p;
}

// Calls use(i, k) for every i in [0, n) with pred(i), k its rank among them in index order;
// returns how many. Every thread of the block must call it.
template <typename Pred, typename Use>
__device__ int32_t block_compact(int64_t n, Pred pred, Use use) {
    using Scan = cub::BlockScan<int32_t, kPlanThreads>;
    __shared__ typename Scan::TempStorage scan;
    int32_t total = 0;
    for (int64_t base = 0; base < n; base += kPlanThreads) {
        const int64_t i = base + threadIdx.x;
        const int32_t flag = i < n && pred(i) ? 1 : 0;
        int32_t rank = 0, tile = 0;
        Scan(scan).ExclusiveSum(flag, rank, tile);
        if (flag) use(i, total + rank);
        total += tile;
        __syncthreads();  // scan storage is reused
    }
    return total;
}

// The ranking (learned caches with retained slots): a warp per entry — a retained slot at the
// chunk start, or the candidate of a step — counts the held entries ranked above it, then walks
// the chunk's candidates in step order: the one that brings the count to the capacity evicts it
// (before the entry's own step: it never enters). Entries ranked above one never leave before it.
// `staged`: the chunk's candidate scores are computed once into shared memory (each warp's walk
// then reads a float a step instead of repeating the ring lookup behind every candidate's score).
__global__ void __launch_bounds__(kPlanThreads) kv_plan_rank_kernel(DeviceKvCache c, KvChunk ch, const int64_t* next_unscored, KvScratch s,
                                                                      bool staged) {
    pdl_wait();
    extern __shared__ unsigned char rank_smem[];
    const int32_t h = blockIdx.x, S = c.sink_capacity, R = c.retained_capacity;
    const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp;
    int64_t* held_pos = reinterpret_cast<int64_t*>(rank_smem);  // [R]
    float* held_score = reinterpret_cast<float*>(held_pos + R);  // [R]
    int64_t meta[8];
    plan_meta(meta, c, ch, next_unscored);
    const PlanChunk pc(c, meta, ch.n_tokens);
    float* cand = held_score + R;                                // [T] when staged
    for (int32_t i = threadIdx.x; i < R; i += kPlanThreads) {
        held_pos[i] = c.positions[h * c.slots + S + i];
        held_score[i] = c.scores[h * c.slots + S + i];
    }
    if (staged)
        for (int64_t t = threadIdx.x; t < pc.T; t += kPlanThreads) cand[t] = candidate_score(t, h, c, s, meta, pc);
    __syncthreads();
    const auto score_of = [&](int64_t t) { return staged ? cand[t] : candidate_score(t, h, c, s, meta, pc); };
    const PlanWork w = plan_work(s, c, pc.T, h);
    const int64_t e = static_cast<int64_t>(blockIdx.y) * (kPlanThreads / kWarp) + warp;
    if (e >= R + pc.T) return;
    const int64_t tx = e < R ? -1 : e - R;
    const float sx = e < R ? (held_pos[e] >= 0 ? held_score[e] : NAN) : score_of(tx);
    const int64_t px = e < R ? held_pos[e] : pc.leaving(tx);
    if (isnan(sx)) {
        if (lane == 0) w.evict[e] = kNotEntry;
        return;
    }
    int32_t above = 0;
    for (int32_t i = lane; i < R; i += kWarp) above += held_pos[i] >= 0 && ranks_above(held_score[i], held_pos[i], sx, px);
    for (int o = kWarp / 2; o > 0; o >>= 1) above += __shfl_xor_sync(0xffffffffu, above, o);
    int64_t evict = above >= R ? -1 : pc.T;  // a held entry always has fewer than R above it
    for (int64_t base = pc.t_first; evict == pc.T && base < pc.T; base += kWarp) {
        const int64_t t = base + lane;
        const bool a = t < pc.T && t != tx && ranks_above(score_of(t), pc.leaving(t), sx, px);
        unsigned bits = __ballot_sync(0xffffffffu, a);
        const int32_t n = __popc(bits);
        if (above + n >= R) {
            for (int32_t j = R - above; j > 1; --j) bits &= bits - 1;  // the (R − above)-th candidate above
            evict = base + __ffs(bits) - 1;
        }
        above += n;
    }
    if (lane != 0) return;
    if (tx >= 0 && evict < tx) {
        w.evict[e] = kNotEntry;
    } else {
        w.evict[e] = static_cast<int32_t>(evict);
        if (evict < pc.T) w.evicted_at[evict] = static_cast<int32_t>(e);
    }
}

// The plan, a block per KV head, exactly like KvCache's pop / keep_in_sink / offer_retained /
// push over the chunk but moving references, not data: the visible list (retained and sink
// entries at the start, then the entries the chunk adds, each with the tokens that see it), the
// slots new entries take (free slots lowest first, in step order; then the slot of the entry each
// evicts, resolved by pointer jumping), and the slots' final contents for kv_commit.
__global__ void __launch_bounds__(kPlanThreads) kv_plan_kernel(DeviceKvCache c, KvChunk ch, const int64_t* next_unscored, KvScratch s,
                                                                 bool ranked) {
    pdl_wait();
    extern __shared__ unsigned char plan_smem[];
    const int32_t h = blockIdx.x;
    const int tid = threadIdx.x;
    const int32_t S = c.sink_capacity, R = c.retained_capacity, SR = S + R;
    int64_t* pos = reinterpret_cast<int64_t*>(plan_smem);  // [SR]
    float* score = reinterpret_cast<float*>(pos + SR);      // [SR]
    int32_t* src = reinterpret_cast<int32_t*>(score + SR);  // [SR]
    int32_t* free_slots = src + SR;                         // [R]
    int64_t meta[8];
    plan_meta(meta, c, ch, next_unscored);
    const PlanChunk pc(c, meta, ch.n_tokens);
    const int64_t T = pc.T;
    const int32_t sink0 = *c.sink_meta;
    for (int32_t i = tid; i < SR; i += kPlanThreads) {
        pos[i] = c.positions[h * c.slots + i];
        score[i] = c.scores[h * c.slots + i];
        src[i] = kUnchanged;
    }
    if (h == 0)
        for (int64_t t = tid; t < T; t += kPlanThreads) s.window_counts[t] = static_cast<int32_t>(min(pc.c0 + t + 1, pc.W));
    __syncthreads();
    const PlanWork w = plan_work(s, c, T, h);
    const int64_t first_leaving = pc.leaving(pc.t_first);
    const auto sink_slot = [&](int64_t t) -> int32_t {  // the sink slot step t's leaving token takes, or −1
        if (t < pc.t_first || pc.leaving(t) >= S) return -1;
        const int64_t slot = sink0 + (pc.leaving(t) - first_leaving);
        return slot < S ? static_cast<int32_t>(slot) : -1;
    };
    const auto entering = [&](int64_t t) { return ranked && t >= pc.t_first && pc.leaving(t) >= S && w.evict[R + t] != kNotEntry; };
    const auto held_until = [&](int32_t i) -> int64_t {  // sink/retained slot i at the start: held until this step
        if (i < S) return i < sink0 ? T : 0;
        if (pos[i] < 0) return 0;
        return ranked ? w.evict[i - S] : T;
    };

    // 1. The visible list: the start's entries in slot order, then new ones in step order.
    const int64_t stride = SR + T;
    int32_t* list = s.lists + h * stride;
    int2* span = reinterpret_cast<int2*>(s.spans) + h * stride;
    const int32_t n = block_compact(
        stride, [&](int64_t i) { return i < SR ? held_until(static_cast<int32_t>(i)) > 0 : sink_slot(i - SR) >= 0 || entering(i - SR); },
        [&](int64_t i, int32_t k) {
            if (i < SR) {
                list[k] = static_cast<int32_t>(i);
                span[k] = make_int2(0, static_cast<int32_t>(held_until(static_cast<int32_t>(i))));
            } else {
                const int64_t t = i - SR;
                list[k] = ref_of_position(pc.leaving(t), meta, c);
                span[k] = make_int2(static_cast<int32_t>(t), static_cast<int32_t>(sink_slot(t) >= 0 ? T : w.evict[R + t]));
            }
        });
    if (tid == 0) s.counts[h] = n;

    if (ranked) {
        // 2. Slots of the entries the chunk adds.
        const int32_t n_free = block_compact(R, [&](int64_t i) { return pos[S + i] < 0; },
                                             [&](int64_t i, int32_t k) { free_slots[k] = static_cast<int32_t>(S + i); });
        for (int64_t t = tid; t < T; t += kPlanThreads) w.slot[0][t] = w.link[0][t] = -1;  // steps without a new entry
        block_compact(T, entering, [&](int64_t t, int32_t k) {  // same thread as the line above for each t
            int32_t slot = -1, link = -1;
            if (k < n_free) {
                slot = free_slots[k];
            } else {
                const int32_t evicted = w.evicted_at[t];
                if (evicted < R) slot = S + evicted;
                else link = evicted - R;
            }
            w.slot[0][t] = slot;
            w.link[0][t] = link;
        });
        __syncthreads();
        int b = 0;
        for (;;) {
            bool open = false;
            for (int64_t t = tid; t < T; t += kPlanThreads) {
                int32_t slot = w.slot[b][t], link = w.link[b][t];
                if (slot < 0 && link >= 0) {
                    if (w.slot[b][link] >= 0) slot = w.slot[b][link];
                    else link = w.link[b][link];
                    open = open || slot < 0;
                }
                w.slot[1 - b][t] = slot;
                w.link[1 - b][t] = link;
            }
            b = 1 - b;
            if (!__syncthreads_or(open)) break;
        }
        // 3. Each slot's last new entry: the one that stays.
        for (int64_t t = tid; t < T; t += kPlanThreads) {
            if (!entering(t) || w.evict[R + t] != T) continue;
            const int32_t slot = w.slot[b][t];
            if (slot < S) continue;  // cannot happen: every new entry resolves to a retained slot
            pos[slot] = pc.leaving(t);
            score[slot] = leaving_score(pc.leaving(t), h, c, s, meta);
            src[slot] = ref_of_position(pc.leaving(t), meta, c);
        }
    }
    for (int64_t t = tid; t < T; t += kPlanThreads) {
        const int32_t slot = sink_slot(t);
        if (slot < 0) continue;
        pos[slot] = pc.leaving(t);
        score[slot] = c.learned ? leaving_score(pc.leaving(t), h, c, s, meta) : 0.0f;
        src[slot] = ref_of_position(pc.leaving(t), meta, c);
    }
    __syncthreads();
    // Sink and retained positions/scores are final now (their k/v move in kv_commit).
    for (int32_t i = tid; i < SR; i += kPlanThreads) {
        c.positions[h * c.slots + i] = pos[i];
        c.scores[h * c.slots + i] = score[i];
        s.sources[h * SR + i] = src[i];
    }
    if (h == 0 && tid == 0) {
        const int64_t pops = T > pc.t_first ? T - pc.t_first : 0;
        const int64_t to_sink = first_leaving < S ? min(static_cast<int64_t>(S) - first_leaving, pops) : 0;
        const int64_t sink1 = min(static_cast<int64_t>(S), sink0 + to_sink);
        record_plan(s, pc.pos0, meta[kRingStart0], pc.c0, (meta[kRingStart0] + pops) % pc.W, min(pc.c0 + T, pc.W), meta[kNextUnscored0], sink1);
    }
}

constexpr int kAttnWarps = 4;
constexpr int kMaxGroup = 8;
constexpr int kMaxHeadDim = 256;

// Attention of token t's query group (KV head h) over split `blockIdx.z` of its
// visible entries: sink/retained list, then the window (oldest first). PL = head_dim
// / 32 values per lane, a compile-time constant so the accumulators stay in registers.
template <int PL>
__global__ void kv_attend_kernel(DeviceKvCache c, KvChunk ch, const float* q, int32_t n_q_heads, float* out, KvScratch s) {
    pdl_wait();
    const int64_t t = blockIdx.x;
    const int32_t h = blockIdx.y;
    const int32_t split = blockIdx.z;
    const int32_t G = n_q_heads / c.n_kv_heads;
    const int64_t hd = c.head_dim;
    const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp;
    const float scale = rsqrtf(static_cast<float>(hd));
    int64_t meta[8];
    meta[kPos0] = s.meta[kPos0];
    meta[kRingStart0] = s.meta[kRingStart0];
    meta[kRingCount0] = s.meta[kRingCount0];
    const int64_t now = meta[kPos0] + t;
    const int64_t stride = c.sink_capacity + c.retained_capacity + ch.n_tokens;
    const int32_t* list = s.lists + h * stride;
    const int2* span = reinterpret_cast<const int2*>(s.spans) + h * stride;
    const int32_t n_list = s.counts[h];
    const int64_t n_window = s.window_counts[t];
    const int64_t n_vis = n_list + n_window;
    const int64_t per_split = (n_vis + s.splits - 1) / s.splits;
    const int64_t begin = split * per_split, end = begin + per_split < n_vis ? begin + per_split : n_vis;

    float qr[kMaxGroup][PL], m[kMaxGroup], l[kMaxGroup], acc[kMaxGroup][PL];
#pragma unroll
    for (int g = 0; g < kMaxGroup; ++g) {
        m[g] = -INFINITY;
        l[g] = 0.0f;
#pragma unroll
        for (int e = 0; e < PL; ++e) {
            const int64_t d = lane + e * kWarp;
            qr[g][e] = g < G && d < hd ? q[(t * n_q_heads + h * G + g) * hd + d] * scale : 0.0f;
            acc[g][e] = 0.0f;
        }
    }
    for (int64_t i = begin + warp; i < end; i += kAttnWarps) {
        if (i < n_list && (t < span[i].x || t >= span[i].y)) continue;  // an entry this token does not see
        const int32_t ref = i < n_list ? list[i] : ref_of_position(now - n_window + 1 + (i - n_list), meta, c);
        const float* kp = key_of(ref, h, c, ch);
        const float* vp = value_of(ref, h, c, ch);
        float kr[PL], vr[PL];
#pragma unroll
        for (int e = 0; e < PL; ++e) {
            const int64_t d = lane + e * kWarp;
            kr[e] = d < hd ? kp[d] : 0.0f;
            vr[e] = d < hd ? vp[d] : 0.0f;
        }
#pragma unroll
        for (int g = 0; g < kMaxGroup; ++g) {
            if (g >= G) break;
            float dot = 0.0f;
#pragma unroll
            for (int e = 0; e < PL; ++e) dot += qr[g][e] * kr[e];
            dot = warp_sum(dot);
            const float m_new = fmaxf(m[g], dot);
            const float correction = expf(m[g] - m_new);
            const float p = expf(dot - m_new);
            l[g] = l[g] * correction + p;
#pragma unroll
            for (int e = 0; e < PL; ++e) acc[g][e] = acc[g][e] * correction + p * vr[e];
            m[g] = m_new;
        }
    }
    // Combine the warps: partial (m, l, acc) per warp in shared memory.
    __shared__ float sm_m[kAttnWarps][kMaxGroup], sm_l[kAttnWarps][kMaxGroup];
    __shared__ float sm_acc[kAttnWarps][kMaxGroup][kMaxHeadDim];
#pragma unroll
    for (int g = 0; g < kMaxGroup; ++g) {
        if (g >= G) break;
        if (lane == 0) {
            sm_m[warp][g] = m[g];
            sm_l[warp][g] = l[g];
        }
#pragma unroll
        for (int e = 0; e < PL; ++e) {
            const int64_t d = lane + e * kWarp;
            if (d < hd) sm_acc[warp][g][d] = acc[g][e];
        }
    }
    __syncthreads();
    for (int64_t idx = threadIdx.x; idx < G * hd; idx += blockDim.x) {
        const int g = static_cast<int>(idx / hd);
        const int64_t d = idx % hd;
        float M = -INFINITY;
        for (int w = 0; w < kAttnWarps; ++w) M = fmaxf(M, sm_m[w][g]);
        float L = 0.0f, A = 0.0f;
        if (M != -INFINITY) {
            for (int w = 0; w < kAttnWarps; ++w) {
                const float f = expf(sm_m[w][g] - M);
                L += sm_l[w][g] * f;
                A += sm_acc[w][g][d] * f;
            }
        }
        const int64_t head = h * G + g;
        if (s.splits == 1) {
            out[(t * n_q_heads + head) * hd + d] = L > 0.0f ? A / L : 0.0f;
        } else {
            float* part = s.partial + ((t * n_q_heads + head) * s.splits + split) * (hd + 2);
            part[2 + d] = A;
            if (d == 0) {
                part[0] = M;
                part[1] = L;
            }
        }
    }
}

// The same attention for caches without sink/retained entries (full attention, SWA),
// where every token sees a contiguous range of positions (its window): a block takes
// kTileRows (token, group head) rows of consecutive tokens, loads 32 keys and values at
// a time into shared memory once for all of them, and each warp runs the online softmax
// of its rows over the tile, lanes = keys for the scores, lanes = dimensions for the sums.
constexpr int kTileRows = 16;
constexpr int kKeyTile = 32;

template <int PL>
__global__ void kv_attend_window_kernel(DeviceKvCache c, KvChunk ch, const float* q, int32_t n_q_heads, float* out, KvScratch s) {
    pdl_wait();
    extern __shared__ float sm[];
    const int64_t hd = c.head_dim;
    const int32_t h = blockIdx.y, split = blockIdx.z;
    const int32_t G = n_q_heads / c.n_kv_heads;
    const int64_t tokens_per_block = kTileRows / G;
    const int64_t t0 = static_cast<int64_t>(blockIdx.x) * tokens_per_block;
    const int64_t T = ch.n_tokens;
    const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp;
    float* K = sm;                                  // [kKeyTile][hd + 1]
    float* V = K + kKeyTile * (hd + 1);             // [kKeyTile][hd]
    float* Q = V + kKeyTile * hd;                   // [kTileRows][hd], scaled
    int64_t meta[8];
    meta[kPos0] = s.meta[kPos0];
    meta[kRingStart0] = s.meta[kRingStart0];
    meta[kRingCount0] = s.meta[kRingCount0];
    const float scale = rsqrtf(static_cast<float>(hd));
    const int64_t t_last = min(T, t0 + tokens_per_block) - 1;
    // Key range of the tile: from the first token's window start to the last token.
    int64_t lo = INT64_MAX;
    for (int64_t t = t0; t <= t_last; ++t) lo = min(lo, meta[kPos0] + t - s.window_counts[t] + 1);
    const int64_t hi = meta[kPos0] + t_last;
    const int64_t per_split = (hi - lo + 1 + s.splits - 1) / s.splits;
    const int64_t begin = lo + split * per_split, end = min(hi + 1, begin + per_split);
    for (int64_t idx = threadIdx.x; idx < kTileRows * hd; idx += blockDim.x) {
        const int64_t r = idx / hd, d = idx % hd, t = t0 + r / G;
        Q[idx] = t <= t_last ? q[(t * n_q_heads + h * G + r % G) * hd + d] * scale : 0.0f;
    }
    constexpr int kRowsPerWarp = kTileRows / kAttnWarps;
    float m[kRowsPerWarp], l[kRowsPerWarp], acc[kRowsPerWarp][PL];
#pragma unroll
    for (int i = 0; i < kRowsPerWarp; ++i) {
        m[i] = -INFINITY;
        l[i] = 0.0f;
#pragma unroll
        for (int e = 0; e < PL; ++e) acc[i][e] = 0.0f;
    }
    for (int64_t k0 = begin; k0 < end; k0 += kKeyTile) {
        __syncthreads();
        for (int64_t idx = threadIdx.x; idx < kKeyTile * hd; idx += blockDim.x) {
            const int64_t j = idx / hd, d = idx % hd, p = k0 + j;
            float kv = 0.0f, vv = 0.0f;
            if (p < end) {
                const int32_t ref = ref_of_position(p, meta, c);
                kv = key_of(ref, h, c, ch)[d];
                vv = value_of(ref, h, c, ch)[d];
            }
            K[j * (hd + 1) + d] = kv;
            V[j * hd + d] = vv;
        }
        __syncthreads();
#pragma unroll
        for (int i = 0; i < kRowsPerWarp; ++i) {
            const int r = warp * kRowsPerWarp + i;
            const int64_t t = t0 + r / G;
            if (t > t_last) break;
            const int64_t now = meta[kPos0] + t, first = now - s.window_counts[t] + 1;
            const int64_t p = k0 + lane;
            const bool visible = p < end && p >= first && p <= now;
            float score = -INFINITY;
            if (visible) {
                score = 0.0f;
                for (int64_t d = 0; d < hd; ++d) score += Q[r * hd + d] * K[lane * (hd + 1) + d];
            }
            float tile_max = score;
#pragma unroll
            for (int o = kWarp / 2; o > 0; o /= 2) tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, o));
            if (tile_max == -INFINITY) continue;
            const float m_new = fmaxf(m[i], tile_max);
            const float correction = expf(m[i] - m_new);
            const float pr = visible ? expf(score - m_new) : 0.0f;
            l[i] = l[i] * correction + warp_sum(pr);
#pragma unroll
            for (int e = 0; e < PL; ++e) acc[i][e] *= correction;
            for (int j = 0; j < kKeyTile; ++j) {
                const float pj = __shfl_sync(0xffffffffu, pr, j);
#pragma unroll
                for (int e = 0; e < PL; ++e) {
                    const int64_t d = lane + e * kWarp;
                    if (d < hd) acc[i][e] += pj * V[j * hd + d];
                }
            }
            m[i] = m_new;
        }
    }
#pragma unroll
    for (int i = 0; i < kRowsPerWarp; ++i) {
        const int r = warp * kRowsPerWarp + i;
        const int64_t t = t0 + r / G;
        if (t > t_last) break;
        const int64_t head = h * G + r % G;
#pragma unroll
        for (int e = 0; e < PL; ++e) {
            const int64_t d = lane + e * kWarp;
            if (d >= hd) continue;
            if (s.splits == 1) {
                out[(t * n_q_heads + head) * hd + d] = l[i] > 0.0f ? acc[i][e] / l[i] : 0.0f;
            } else {
                float* part = s.partial + ((t * n_q_heads + head) * s.splits + split) * (hd + 2);
                part[2 + d] = acc[i][e];
                if (d == 0) {
                    part[0] = m[i];
                    part[1] = l[i];
                }
            }
        }
    }
}

// The window attention on tensor cores (AttnPrecision::bf16_tensor_cores; bf16-weight
// models only, see kv_attend): flash-attention style. A block takes kTcRows = 64 query
// rows (row r = token r / G, query head h·G + r % G, so any group size packs densely),
// 16 per warp; the keys and values of its range come in tiles of kTcKeys = 64 positions,
// gathered from the cache (ring slots or chunk rows, f32) into shared memory as bf16.
// Q·Kᵀ and P·V are mma.sync m16n8k16 (bf16 × bf16 → f32); the online softmax runs in
// registers in the log2 domain (exp2), P is rounded to bf16 for P·V, the row sums l stay
// f32. head_dim up to 128 (padded to HD = 64 or 128 with zeros). Masks are exact: token
// t sees positions [pos0 + t − window_counts[t] + 1, pos0 + t], as the f32 kernel, and
// (LTE, StreamingLLM) the sink/retained entries of kv_plan's list whose span holds t: the list
// comes first, in tiles of its own, and a list tile no token of the block sees is skipped.
constexpr int kTcWarps = 4;
constexpr int kTcRows = kTcWarps * 16;
constexpr int kTcKeys = 64;
constexpr int kTcThreads = kTcWarps * kWarp;
constexpr int kTcGatherBatch = 4;  // float4 loads of K and of V in flight per thread

__device__ __forceinline__ uint32_t pack_bf16x2(float lo, float hi) {
    const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);  // lo in the low half (the lower column)
    uint32_t u;
    memcpy(&u, &v, 4);
    return u;
}


// Four blocks an SM at HD 64 (128 registers, 44 bytes spilled), where three (168 registers) left
// the schedulers short of eligible warps: 244 against 263 µs a 4K chunk (H100, 2026-11-27/c_).
template <int HD>
__global__ void __launch_bounds__(kTcThreads, HD <= 64 ? 4 : 2) kv_attend_tc_kernel(DeviceKvCache c, KvChunk ch, const float* q, int32_t n_q_heads,
                                                                   float* out, KvScratch s) {
    pdl_wait();
    constexpr int kStride = HD + 8;  // bf16 per shared row: 16-byte aligned rows, conflict-free ldmatrix
    constexpr int kChunks = HD / 4;  // float4 chunks per key row
    __shared__ __align__(16) __nv_bfloat16 Ks[kTcKeys * kStride];
    __shared__ __align__(16) __nv_bfloat16 Vs[kTcKeys * kStride];
    const int32_t hd = c.head_dim;
    const int32_t h = blockIdx.y, split = blockIdx.z;
    const int32_t G = n_q_heads / c.n_kv_heads;
    const int64_t T = ch.n_tokens;
    const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp;
    const int gq = lane >> 2, t4 = lane & 3;
    const int64_t pos0 = s.meta[kPos0], ring_start = s.meta[kRingStart0], ring_count = s.meta[kRingCount0];
    const int64_t oldest = pos0 - ring_count, base = c.sink_capacity + c.retained_capacity;
    const int64_t width = static_cast<int64_t>(c.n_kv_heads) * hd;
    const int64_t row0 = static_cast<int64_t>(blockIdx.x) * kTcRows;
    const int64_t t_first = row0 / G, t_last = min(T - 1, (row0 + kTcRows - 1) / G);

    // Key range of the block: from the earliest window start of its tokens to its last token.
    int64_t lo = INT64_MAX;
    for (int64_t t = t_first + lane; t <= t_last; t += kWarp) lo = min(lo, pos0 + t - s.window_counts[t] + 1);
#pragma unroll
    for (int o = kWarp / 2; o > 0; o >>= 1) lo = min(lo, static_cast<int64_t>(__shfl_xor_sync(0xffffffffu, static_cast<long long>(lo), o)));
    const int64_t hi = pos0 + t_last;
    // Keys are numbered the sink/retained list first (kv_plan's, padded to whole tiles), then the
    // window positions lo..hi; the splits divide that range in whole tiles.
    const int64_t stride = base + T;
    const int32_t* list = s.lists + h * stride;
    const int2* span = reinterpret_cast<const int2*>(s.spans) + h * stride;
    const int64_t n_list = base > 0 ? s.counts[h] : 0;
    const int64_t list_keys = (n_list + kTcKeys - 1) / kTcKeys * kTcKeys;
    const int64_t n_keys = list_keys + (hi - lo + 1);
    int64_t per_split = (n_keys + s.splits - 1) / s.splits;
    per_split = (per_split + kTcKeys - 1) / kTcKeys * kTcKeys;  // whole tiles per split (trailing splits may be empty)
    const int64_t begin = split * per_split, end = min(n_keys, begin + per_split);

    // This thread's two rows (fragment rows gq and gq + 8 of its warp): window and query.
    int64_t first[2], now[2], t_row[2];
    int32_t head[2];
    bool valid[2];
#pragma unroll
    for (int i = 0; i < 2; ++i) {
        const int64_t r = row0 + warp * 16 + gq + 8 * i;
        t_row[i] = r / G;
        head[i] = h * G + static_cast<int32_t>(r % G);
        valid[i] = t_row[i] < T;
        now[i] = valid[i] ? pos0 + t_row[i] : INT64_MIN;
        first[i] = valid[i] ? now[i] - s.window_counts[t_row[i]] + 1 : INT64_MAX;
    }
    // Q as A fragments, scaled by 1/sqrt(hd)·log2(e) in f32 before the rounding to bf16.
    const float qscale = rsqrtf(static_cast<float>(hd)) * 1.4426950408889634f;
    uint32_t qf[HD / 16][4];
#pragma unroll
    for (int kk = 0; kk < HD / 16; ++kk) {
#pragma unroll
        for (int half = 0; half < 2; ++half) {
#pragma unroll
            for (int i = 0; i < 2; ++i) {
                const int d = kk * 16 + half * 8 + 2 * t4;
                float2 v = make_float2(0.0f, 0.0f);
                if (valid[i] && d < hd) v = *reinterpret_cast<const float2*>(q + (t_row[i] * n_q_heads + head[i]) * hd + d);
                qf[kk][i + 2 * half] = pack_bf16x2(v.x * qscale, v.y * qscale);
            }
        }
    }
    float o[HD / 8][4];
#pragma unroll
    for (int j = 0; j < HD / 8; ++j) o[j][0] = o[j][1] = o[j][2] = o[j][3] = 0.0f;
    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};  // l: this thread's columns only (summed over the quad at the end)

    const bool vec4 = hd % 4 == 0 && ((reinterpret_cast<uintptr_t>(c.keys) | reinterpret_cast<uintptr_t>(c.values) |
                                       reinterpret_cast<uintptr_t>(ch.k) | reinterpret_cast<uintptr_t>(ch.v)) & 15) == 0;
    // Where the tile's key and value rows are (a list entry's slot or chunk row; a ring slot at
    // the chunk start or a chunk row; null past the range or for a list entry no token of the
    // block sees), written by the first kTcKeys threads for the tile to come while the current
    // one is being used, so the gather itself is plain loads. A list entry's tokens go beside it.
    __shared__ const float* rows_k[kTcKeys];
    __shared__ const float* rows_v[kTcKeys];
    __shared__ int2 rows_span[2][kTcKeys];  // by tile parity: the next tile's are written while these are used
    const auto locate = [&](int64_t k0) {
        if (threadIdx.x >= kTcKeys) return;
        const float *kp = nullptr, *vp = nullptr;
        if (k0 < list_keys) {
            const int64_t i = k0 + threadIdx.x;
            int2 sp = make_int2(0, 0);
            if (i < n_list && i < end) sp = span[i];
            if (sp.x <= t_last && sp.y > t_first) {
                kp = key_of(list[i], h, c, ch);
                vp = value_of(list[i], h, c, ch);
            }
            rows_span[(k0 / kTcKeys) & 1][threadIdx.x] = sp;
            rows_k[threadIdx.x] = kp;
            rows_v[threadIdx.x] = vp;
            return;
        }
        const int64_t p = lo + (k0 - list_keys) + threadIdx.x;
        if (p < lo + (end - list_keys)) {
            if (p >= pos0) {
                kp = ch.k + (p - pos0) * width + h * hd;
                vp = ch.v + (p - pos0) * width + h * hd;
            } else {
                int64_t i = ring_start + (p - oldest);
                if (i >= c.window_capacity) i -= c.window_capacity;
                kp = c.keys + (h * c.slots + base + i) * hd;
                vp = c.values + (h * c.slots + base + i) * hd;
            }
        }
        rows_k[threadIdx.x] = kp;
        rows_v[threadIdx.x] = vp;
    };
    if (begin < end) locate(begin);
    for (int64_t k0 = begin; k0 < end; k0 += kTcKeys) {
        __syncthreads();  // the previous tile's readers are done; this tile's row addresses are written
        constexpr int kPerThread = kTcKeys * kChunks / kTcThreads;
        static_assert(kPerThread % kTcGatherBatch == 0 && kTcThreads % kChunks == 0, "gather layout");
        const int d = (threadIdx.x % kChunks) * 4;  // the same columns for every row this thread moves
#pragma unroll
        for (int b0 = 0; b0 < kPerThread; b0 += kTcGatherBatch) {
            float4 kv[kTcGatherBatch], vv[kTcGatherBatch];
#pragma unroll
            for (int u = 0; u < kTcGatherBatch; ++u) {
                const int j = ((b0 + u) * kTcThreads + threadIdx.x) / kChunks;
                const float *kp = rows_k[j], *vp = rows_v[j];
                kv[u] = vv[u] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
                if (kp != nullptr && d < hd) {
                    if (vec4) {
                        kv[u] = *reinterpret_cast<const float4*>(kp + d);
                        vv[u] = *reinterpret_cast<const float4*>(vp + d);
                    } else {  // hd even: pairs
                        const float2 k01 = *reinterpret_cast<const float2*>(kp + d), v01 = *reinterpret_cast<const float2*>(vp + d);
                        kv[u].x = k01.x, kv[u].y = k01.y, vv[u].x = v01.x, vv[u].y = v01.y;
                        if (d + 2 < hd) {
                            const float2 k23 = *reinterpret_cast<const float2*>(kp + d + 2), v23 = *reinterpret_cast<const float2*>(vp + d + 2);
                            kv[u].z = k23.x, kv[u].w = k23.y, vv[u].z = v23.x, vv[u].w = v23.y;
                        }
                    }
                }
            }
#pragma unroll
            for (int u = 0; u < kTcGatherBatch; ++u) {
                const int j = ((b0 + u) * kTcThreads + threadIdx.x) / kChunks;
                *reinterpret_cast<uint2*>(&Ks[j * kStride + d]) = make_uint2(pack_bf16x2(kv[u].x, kv[u].y), pack_bf16x2(kv[u].z, kv[u].w));
                *reinterpret_cast<uint2*>(&Vs[j * kStride + d]) = make_uint2(pack_bf16x2(vv[u].x, vv[u].y), pack_bf16x2(vv[u].z, vv[u].w));
            }
        }
        const bool listed = k0 < list_keys;
        // A list tile that no token of the block sees is skipped by every thread alike.
        const bool live = __syncthreads_or(threadIdx.x < kTcKeys && rows_k[threadIdx.x] != nullptr);
        const int64_t p0 = lo + (k0 - list_keys), p_end = lo + (end - list_keys);  // window tiles: positions
        bool any = false, all = true;
        if (listed) {
            any = live;
            all = false;
        } else {
            // Which of the warp's rows see the tile: none (skip), all of it (no mask), some.
            const int64_t k_end = min(p0 + kTcKeys, p_end);  // one past the tile's last real key
#pragma unroll
            for (int i = 0; i < 2; ++i) {
                if (!valid[i]) continue;
                any = any || (p0 <= now[i] && k_end - 1 >= first[i]);
                all = all && (first[i] <= p0 && p0 + kTcKeys - 1 <= now[i] && p0 + kTcKeys <= p_end);
            }
        }
        const bool skip = !__any_sync(0xffffffffu, any), unmasked = __all_sync(0xffffffffu, all);
        if (k0 + kTcKeys < end) locate(k0 + kTcKeys);  // read after the next barrier
        if (skip) continue;

        // S = Q·Kᵀ: 16 rows × 64 keys per warp, 8 n-tiles of 8 keys.
        float sc[kTcKeys / 8][4];
#pragma unroll
        for (int j = 0; j < kTcKeys / 8; ++j) sc[j][0] = sc[j][1] = sc[j][2] = sc[j][3] = 0.0f;
#pragma unroll
        for (int kk = 0; kk < HD / 16; ++kk) {
#pragma unroll
            for (int jp = 0; jp < kTcKeys / 16; ++jp) {
                uint32_t b[4];  // keys 16jp + 8(lane/16) + lane%8, dims 16kk + 8((lane/8)%2)
                ldmatrix_x4<false>(b, &Ks[(16 * jp + (lane / 16) * 8 + lane % 8) * kStride + kk * 16 + ((lane / 8) % 2) * 8]);
                mma_bf16_16816(sc[2 * jp], qf[kk], b[0], b[1]);
                mma_bf16_16816(sc[2 * jp + 1], qf[kk], b[2], b[3]);
            }
        }
        if (listed) {
            const int2* spans = rows_span[(k0 / kTcKeys) & 1];
#pragma unroll
            for (int j = 0; j < kTcKeys / 8; ++j) {
#pragma unroll
                for (int e = 0; e < 4; ++e) {
                    const int2 sp = spans[8 * j + 2 * t4 + (e & 1)];
                    const int64_t t = t_row[e / 2];
                    if (!(t >= sp.x && t < sp.y)) sc[j][e] = -INFINITY;
                }
            }
        } else if (!unmasked) {
#pragma unroll
            for (int j = 0; j < kTcKeys / 8; ++j) {
#pragma unroll
                for (int e = 0; e < 4; ++e) {
                    const int i = e / 2;
                    const int64_t p = p0 + 8 * j + 2 * t4 + (e & 1);
                    if (!(p >= first[i] && p <= now[i] && p < p_end)) sc[j][e] = -INFINITY;
                }
            }
        }
        // Online softmax per row (a row's 64 scores are spread over the 4 lanes of a quad).
#pragma unroll
        for (int i = 0; i < 2; ++i) {
            float mx = -INFINITY;
#pragma unroll
            for (int j = 0; j < kTcKeys / 8; ++j) mx = fmaxf(mx, fmaxf(sc[j][2 * i], sc[j][2 * i + 1]));
            mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
            mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
            const float m_new = fmaxf(m[i], mx);
            const float m_use = m_new == -INFINITY ? 0.0f : m_new;  // a row that has seen nothing yet stays at 0
            const float correction = exp2f(m[i] - m_use);
            m[i] = m_new;
            l[i] *= correction;
#pragma unroll
            for (int j = 0; j < HD / 8; ++j) {
                o[j][2 * i] *= correction;
                o[j][2 * i + 1] *= correction;
            }
#pragma unroll
            for (int j = 0; j < kTcKeys / 8; ++j) {
                sc[j][2 * i] = exp2f(sc[j][2 * i] - m_use);
                sc[j][2 * i + 1] = exp2f(sc[j][2 * i + 1] - m_use);
                l[i] += sc[j][2 * i] + sc[j][2 * i + 1];
            }
        }
        // O += P·V: P's accumulator fragments are the A fragments of the next product.
#pragma unroll
        for (int kc = 0; kc < kTcKeys / 16; ++kc) {
            const uint32_t a[4] = {pack_bf16x2(sc[2 * kc][0], sc[2 * kc][1]), pack_bf16x2(sc[2 * kc][2], sc[2 * kc][3]),
                                   pack_bf16x2(sc[2 * kc + 1][0], sc[2 * kc + 1][1]), pack_bf16x2(sc[2 * kc + 1][2], sc[2 * kc + 1][3])};
#pragma unroll
            for (int dp = 0; dp < HD / 16; ++dp) {
                uint32_t b[4];  // keys 16kc + 8((lane/8)%2) + lane%8, dims 16dp + 8(lane/16)
                ldmatrix_x4<true>(b, &Vs[(16 * kc + ((lane / 8) % 2) * 8 + lane % 8) * kStride + 16 * dp + (lane / 16) * 8]);
                mma_bf16_16816(o[2 * dp], a, b[0], b[1]);
                mma_bf16_16816(o[2 * dp + 1], a, b[2], b[3]);
            }
        }
    }
#pragma unroll
    for (int i = 0; i < 2; ++i) {
        l[i] += __shfl_xor_sync(0xffffffffu, l[i], 1);
        l[i] += __shfl_xor_sync(0xffffffffu, l[i], 2);
    }
#pragma unroll
    for (int i = 0; i < 2; ++i) {
        if (!valid[i]) continue;
        const int64_t row = t_row[i] * n_q_heads + head[i];
        if (s.splits == 1) {
            const float L = l[i];  // divided, as the f32 kernel (a window of one gives v exactly as bf16)
#pragma unroll
            for (int j = 0; j < HD / 8; ++j) {
                const int d = 8 * j + 2 * t4;
                if (d < hd)
                    *reinterpret_cast<float2*>(out + row * hd + d) = L > 0.0f ? make_float2(o[j][2 * i] / L, o[j][2 * i + 1] / L) : make_float2(0.0f, 0.0f);
            }
        } else {
            // Partials in the f32 kernel's units: m is the natural-log maximum (exp(s − m) = 2^(s₂ − m₂)).
            float* part = s.partial + (row * s.splits + split) * (hd + 2);
#pragma unroll
            for (int j = 0; j < HD / 8; ++j) {
                const int d = 8 * j + 2 * t4;
                if (d < hd) *reinterpret_cast<float2*>(part + 2 + d) = make_float2(o[j][2 * i], o[j][2 * i + 1]);
            }
            if (t4 == 0) {
                part[0] = m[i] * 0.6931471805599453f;
                part[1] = l[i];
            }
        }
    }
}

__global__ void kv_combine_kernel(const float* partial, float* out, int32_t splits, int64_t hd) {
    pdl_wait();
    const int64_t row = blockIdx.x;  // t * n_q_heads + head
    const float* p = partial + row * splits * (hd + 2);
    float M = -INFINITY;
    for (int32_t s = 0; s < splits; ++s) M = fmaxf(M, p[s * (hd + 2)]);
    for (int64_t d = threadIdx.x; d < hd; d += blockDim.x) {
        float L = 0.0f, A = 0.0f;
        if (M != -INFINITY) {
            for (int32_t s = 0; s < splits; ++s) {
                const float* ps = p + s * (hd + 2);
                const float f = expf(ps[0] - M);
                L += ps[1] * f;
                A += ps[2 + d] * f;
            }
        }
        out[row * hd + d] = L > 0.0f ? A / L : 0.0f;
    }
}

// Moves the chunk's results into the cache: first the sink/retained slots that took a
// new token (their sources are ring slots at the chunk start or chunk rows), then the
// ring (chunk rows only), so no source is overwritten before it is read.
// Chunks: the slots in one launch (a block per head), then the ring in another (a grid of blocks
// per head), so every source is read first; a decode step does both in one block per head.
enum class CommitPart : int { all, slots, ring };
constexpr int kCommitThreads = 512;
constexpr int kCommitBatch = 4;  // copies in flight a thread

// n copies of `units` units (float4, or float when Vec is false) each: copy j from src(j) to
// dst(j), a thread kCommitBatch of them at a time, all their loads before any store.
template <bool Vec, typename Src, typename Dst>
__device__ __forceinline__ void copy_units(int64_t n, int64_t units, Src src, Dst dst) {
    using U = std::conditional_t<Vec, float4, float>;
    for (int64_t e0 = threadIdx.x; e0 < n * units; e0 += static_cast<int64_t>(blockDim.x) * kCommitBatch) {
        U v[kCommitBatch];
#pragma unroll
        for (int b = 0; b < kCommitBatch; ++b) {
            const int64_t e = e0 + static_cast<int64_t>(b) * blockDim.x;
            if (e < n * units) v[b] = reinterpret_cast<const U*>(src(e / units))[e % units];
        }
#pragma unroll
        for (int b = 0; b < kCommitBatch; ++b) {
            const int64_t e = e0 + static_cast<int64_t>(b) * blockDim.x;
            if (e < n * units) reinterpret_cast<U*>(dst(e / units))[e % units] = v[b];
        }
    }
}

// The sink / retained slots whose source changed (kv_plan's sources; most keep theirs, all but one
// or two in a decode step) take its key and value: each block compacts the changed slots of its
// rounds of blockDim slots into shared memory, then copies them with every thread.
__device__ void commit_changed_slots(const DeviceKvCache& c, const KvChunk& ch, const KvScratch& s, int32_t h) {
    __shared__ int32_t n_changed, changed_slot[kCommitThreads], changed_ref[kCommitThreads];
    const int64_t hd = c.head_dim;
    const int32_t SR = c.sink_capacity + c.retained_capacity;
    const bool vec = hd % 4 == 0;
    for (int32_t i0 = blockIdx.y * blockDim.x; i0 < SR; i0 += gridDim.y * blockDim.x) {
        if (threadIdx.x == 0) n_changed = 0;
        __syncthreads();
        const int32_t i = i0 + threadIdx.x;
        const int32_t ref = i < SR ? s.sources[h * SR + i] : kUnchanged;
        if (ref != kUnchanged) {
            const int32_t k = atomicAdd(&n_changed, 1);
            changed_slot[k] = i;
            changed_ref[k] = ref;
        }
        __syncthreads();
        const int64_t n = n_changed;
        for (const bool values : {false, true}) {
            const auto src = [&](int64_t j) {
                return values ? value_of(changed_ref[j], h, c, ch) : key_of(changed_ref[j], h, c, ch);
            };
            const auto dst = [&](int64_t j) { return (values ? c.values : c.keys) + (h * c.slots + changed_slot[j]) * hd; };
            if (vec) copy_units<true>(n, hd / 4, src, dst);
            else copy_units<false>(n, hd, src, dst);
        }
        __syncthreads();  // the list is rewritten next round
    }
}

__global__ void __launch_bounds__(kCommitThreads) kv_commit_kernel(DeviceKvCache c, KvChunk ch, LteScorerDevice sc, bool learned, KvScratch s,
                                                                   CommitPart part) {
    pdl_wait();
    const int32_t h = blockIdx.x;
    const int64_t hd = c.head_dim, width = static_cast<int64_t>(c.n_kv_heads) * hd;
    const int32_t SR = c.sink_capacity + c.retained_capacity;
    int64_t meta[8];
    for (int i = 0; i < 8; ++i) meta[i] = s.meta[i];
    const int64_t pos0 = meta[kPos0], end = pos0 + ch.n_tokens;
    if (part != CommitPart::ring) commit_changed_slots(c, ch, s, h);
    if (part == CommitPart::slots) return;
    __syncthreads();
    const int64_t first_thread = static_cast<int64_t>(blockIdx.y) * blockDim.x, threads = static_cast<int64_t>(gridDim.y) * blockDim.x;
    const int64_t base = SR;
    const int64_t ring_start = meta[kRingStart1], ring_count = meta[kRingCount1];
    const int64_t next_old = learned ? meta[kNextUnscored0] : 0;  // as kv_plan read it (block 0 moves it below)
    const int64_t scored_end = learned ? end - sc.right : 0;  // positions < scored_end have final scores now
    // Only entries that entered during the chunk move (chunk rows); older ones may get a score.
    const int64_t first_new = ring_count - (end - pos0 < ring_count ? end - pos0 : ring_count);
    {
        // Block y of the ring part takes an equal share of the new rows, copied as copy_units does.
        const int64_t n_new = ring_count - first_new, per = (n_new + gridDim.y - 1) / gridDim.y;
        const int64_t lo = first_new + min(n_new, static_cast<int64_t>(blockIdx.y) * per), hi = first_new + min(n_new, (blockIdx.y + 1) * per);
        const auto row_of = [&](int64_t j) { return end - ring_count + lo + j - pos0; };
        const auto slot_of = [&](int64_t j) { return base + (ring_start + lo + j) % c.window_capacity; };
        for (int a = 0; a < 3; ++a) {
            if (a == 2 && c.pre_rope == nullptr) break;
            const float* from = a == 0 ? ch.k : a == 1 ? ch.v : ch.k_pre;
            const auto src = [&](int64_t j) { return from + row_of(j) * width + h * hd; };
            const auto dst = [&](int64_t j) {
                return a == 2 ? c.pre_rope + (slot_of(j) - base) * width + h * hd : (a == 0 ? c.keys : c.values) + (h * c.slots + slot_of(j)) * hd;
            };
            if (hd % 4 == 0) copy_units<true>(hi - lo, hd / 4, src, dst);
            else copy_units<false>(hi - lo, hd, src, dst);
        }
    }
    // Scores change only for entries new in this chunk and (LTE) entries scored now.
    int64_t first_scored = first_new;
    if (learned) {
        const int64_t from = next_old - (end - ring_count);
        first_scored = from < 0 ? 0 : (from < first_new ? from : first_new);
    }
    for (int64_t i = first_scored + first_thread + threadIdx.x; i < ring_count; i += threads) {
        const int64_t p = end - ring_count + i;
        const int64_t slot = base + (ring_start + i) % c.window_capacity;
        if (p >= pos0) {
            c.positions[h * c.slots + slot] = p;
            c.scores[h * c.slots + slot] = 0.0f;
        }
        if (learned && p >= next_old && p < scored_end)
            c.scores[h * c.slots + slot] = s.new_scores[new_score_index(p, h, c, pos0)];
    }
    __syncthreads();
    if (h == 0 && blockIdx.y == 0 && threadIdx.x == 0) {
        c.window_meta[0] = ring_start;
        c.window_meta[1] = ring_count;
        *c.sink_meta = static_cast<int32_t>(meta[kSink1]);
        if (learned && scored_end > next_old) *sc.next_unscored = scored_end;  // the scorer's next unscored position
    }
}


// ---------------------------------------------------------------- decode step in one launch
// A decode step of a bounded cache (kv_decode): a cluster of kDecodeBlocks blocks per KV head,
// each taking every kDecodeBlocks-th of the head's slots (an even share of sink, retained and
// ring; retained slots that hold no token are not copied). The
// data stays where it is until kv_commit: the token leaving the window is read from its ring
// slot and stays visible if the plan keeps it, the retained entry it replaces is masked, and
// the new token is one more row of the first block. So every block can start copying its
// slots' keys and values into shared memory, and scan the retained slots for replace-min,
// before the projections it waits on have finished. Then RoPE, the one token's plan (all
// blocks reach the same decision; the first writes it), a two-pass softmax over the block's
// rows, and each block's partial pushed into the first block's shared memory, which combines
// them after one cluster barrier (the others leave). With `commit` the first block then does
// kv_commit's work for the token too (the side stream's steps: no launch of its own), and head 0
// hands the ring meta over once every block has read it.
constexpr int kDecodeBlocks = 8;  // cluster size: the portable maximum
constexpr int kDecodeThreads = 256;
constexpr size_t kDecodeMaxSmem = 112 * 1024;  // two blocks an SM
constexpr int kDecodeHeldAhead = 4;            // sink and retained slots a thread reads ahead of the copies (1 024 a block)
static_assert(kMaxHeadDim <= kDecodeThreads, "kv_decode's commit: a thread per element of the token's row");

struct DecodeLayout {
    int32_t per;      // slots per block
    int32_t ks;       // key row stride: hd + 4 floats, so a thread per row reads float4s without bank conflicts
    size_t keys, values, pos, score, q, p, acc, ml, red, part, bytes;  // byte offsets into the dynamic shared memory
};

__host__ __device__ inline DecodeLayout decode_layout(const DeviceKvCache& c, int32_t G) {
    DecodeLayout L;
    const int64_t SR = c.sink_capacity + c.retained_capacity, slots = SR + c.window_capacity;
    L.per = static_cast<int32_t>((slots + kDecodeBlocks - 1) / kDecodeBlocks);
    L.ks = c.head_dim + 4;
    const size_t rows = static_cast<size_t>(L.per) + 1, hd = static_cast<size_t>(c.head_dim);
    // Every array starts on 16 bytes (cp.async and float4 accesses).
    size_t at = 0;
    const auto take = [&](size_t bytes) {
        const size_t here = at;
        at = (at + bytes + 15) / 16 * 16;
        return here;
    };
    L.keys = take(rows * L.ks * 4);          // [per + 1][ks]
    L.values = take(rows * hd * 4);          // [per + 1][hd]
    L.pos = take(static_cast<size_t>(SR) * 8);  // [SR] int64
    L.score = take(static_cast<size_t>(SR) * 4);  // [SR]
    L.q = take(G * hd * 4);                  // [G][hd], rotated and scaled
    L.p = take(G * rows * 4);                // [G][per + 1] scores, then probabilities
    L.acc = take(G * hd * 4);                // [G][hd] the block's P·V sums
    L.ml = take(2 * static_cast<size_t>(G) * 4);  // [2][G] its maxima and sums
    L.red = take(4 * kDecodeThreads * 4);    // [4 · kDecodeThreads] P·V's partial sums
    L.part = take(kDecodeBlocks * (G * hd + 2 * static_cast<size_t>(G)) * 4);  // [blocks][G·hd + 2G] block 0: the blocks' partials
    L.bytes = at;
    return L;
}

__global__ void __launch_bounds__(kDecodeThreads) kv_decode_kernel(DeviceKvCache c, KvChunk ch, const float* q, int32_t n_q_heads,
                                                                     float* k_out, float theta, const int64_t* next_unscored,
                                                                     float* out, KvScratch s, bool commit) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    namespace cg = cooperative_groups;
    const cg::cluster_group cluster = cg::this_cluster();
    const int rank = static_cast<int>(cluster.block_rank());
    // Block 0's shared memory may be written only once it runs: arrive now, wait before the writes.
    asm volatile("barrier.cluster.arrive.relaxed.aligned;" ::: "memory");
    const int32_t h = blockIdx.y;
    const int tid = threadIdx.x, lane = tid % kWarp, warp = tid / kWarp;
    const int32_t hd = c.head_dim, half = hd / 2, G = n_q_heads / c.n_kv_heads;
    const int32_t S = c.sink_capacity, R = c.retained_capacity, SR = S + R;
    const int64_t W = c.window_capacity;
    const DecodeLayout L = decode_layout(c, G);
    // Block `rank` takes every kDecodeBlocks-th slot from slot `rank` (row r: slot_of(r)), so every
    // block holds an even share of the sink, retained and ring slots, and of the retained slots
    // that hold no token (not copied, below).
    const int64_t n_slots = SR + W;
    const int32_t n_rows = n_slots > rank ? static_cast<int32_t>((n_slots - rank + kDecodeBlocks - 1) / kDecodeBlocks) : 0;
    const auto slot_of = [&](int32_t r) { return rank + r * kDecodeBlocks; };
    const auto row_at_or_after = [&](int32_t slot) {  // the first row whose slot is ≥ slot
        return slot <= rank ? 0 : min(n_rows, (slot - rank + kDecodeBlocks - 1) / kDecodeBlocks);
    };
    const int32_t retained_lo = row_at_or_after(S), retained_hi = row_at_or_after(SR);
    const int32_t rows = n_rows + (rank == 0 ? 1 : 0);  // block 0: the new token as its last row
    extern __shared__ float4 decode_smem[];
    unsigned char* base = reinterpret_cast<unsigned char*>(decode_smem);
    float* keys = reinterpret_cast<float*>(base + L.keys);
    float* values = reinterpret_cast<float*>(base + L.values);
    int64_t* pos = reinterpret_cast<int64_t*>(base + L.pos);
    float* score = reinterpret_cast<float*>(base + L.score);
    float* qs = reinterpret_cast<float*>(base + L.q);
    float* p = reinterpret_cast<float*>(base + L.p);
    float* acc = reinterpret_cast<float*>(base + L.acc);
    float* ml = reinterpret_cast<float*>(base + L.ml);
    float* red = reinterpret_cast<float*>(base + L.red);
    float* part_of = reinterpret_cast<float*>(base + L.part);

    // Before the wait: what the kernels ahead (the projections) do not write. First what the
    // replace-min scan reads (the sink and retained slots' positions and scores, into registers)
    // and the ring's meta: requested after the cache copies, they waited behind the block's
    // ~80 KB of them, and the scan with them, past the projections' end (the part before the wait
    // took 5.9 µs; bench/results/cuda/2026-12-05/b_…, c_…).
    int64_t pos_ahead[kDecodeHeldAhead];
    float score_ahead[kDecodeHeldAhead];
#pragma unroll
    for (int k = 0; k < kDecodeHeldAhead; ++k) {
        const int32_t i = tid + k * kDecodeThreads;
        pos_ahead[k] = i < SR ? c.positions[h * c.slots + i] : 0;
        score_ahead[k] = i < SR ? c.scores[h * c.slots + i] : 0.0f;
    }
    int64_t meta[8];
    meta[kPos0] = *ch.position;
    meta[kRingStart0] = c.window_meta[0];
    meta[kRingCount0] = c.window_meta[1];
    const int32_t sink = *c.sink_meta;
    // Then the block's slots: a warp per row, lanes over its 16-byte chunks of key, then of
    // value. The sink and ring slots now; the retained ones once their positions are in shared
    // memory, and only those that hold a token (the others are masked anyway: with random
    // weights about half of the retained buffer stays empty, a fifth of the cache's bytes).
    const int32_t chunks = hd / 4, warps = kDecodeThreads / kWarp;
    const float* kp = c.keys + static_cast<int64_t>(h) * c.slots * hd;
    const float* vp = c.values + static_cast<int64_t>(h) * c.slots * hd;
    const auto copy_rows = [&](int32_t lo, int32_t hi, bool held_only) {
        for (int32_t u = lane; u < 2 * chunks; u += kWarp) {
            const bool value = u >= chunks;
            const int32_t e = (value ? u - chunks : u) * 4, stride = value ? hd : L.ks;
            const float* from = (value ? vp : kp) + e;
            float* to = (value ? values : keys) + e;
            for (int32_t r = lo + warp; r < hi; r += warps)
                if (!held_only || pos[slot_of(r)] >= 0) copy_async<16>(to + r * stride, from + static_cast<int64_t>(slot_of(r)) * hd);
        }
    };
    copy_rows(0, retained_lo, false);
    copy_rows(retained_hi, n_rows, false);
#pragma unroll
    for (int k = 0; k < kDecodeHeldAhead; ++k) {
        const int32_t i = tid + k * kDecodeThreads;
        if (i < SR) pos[i] = pos_ahead[k], score[i] = score_ahead[k];
    }
    for (int32_t i = tid + kDecodeHeldAhead * kDecodeThreads; i < SR; i += kDecodeThreads) {
        pos[i] = c.positions[h * c.slots + i];
        score[i] = c.scores[h * c.slots + i];
    }
    const int64_t now = meta[kPos0], ring_start = meta[kRingStart0], ring_count = meta[kRingCount0];
    // The cached score of the ring's oldest entry (the token that leaves if the ring is full),
    // used unless it is scored in this chunk (then it is in new_scores, read after the wait).
    const float oldest_score = c.learned ? c.scores[h * c.slots + SR + ring_start] : 0.0f;
    // With `commit`, block 0 ends by writing the token into the ring slot after the newest, moving
    // the row there (the leaving token's, when the ring is full) first: that row is read now, not
    // in the kernel's last steps. A thread per element (head sizes up to kDecodeThreads).
    const int32_t commit_slot = SR + static_cast<int32_t>((ring_start + ring_count) % W);
    float leaving_k = 0.0f, leaving_v = 0.0f;
    if (commit && rank == 0 && tid < hd && ring_count == W) {
        const int64_t at = (static_cast<int64_t>(h) * c.slots + commit_slot) * hd + tid;
        leaving_k = c.keys[at];
        leaving_v = c.values[at];
    }
    // A barrier whose predicate reads the ring meta: past it, every thread's meta loads have
    // returned, so with `commit` the block counts itself, and the block that writes the next meta
    // waits until every block has.
    (void)__syncthreads_or(now < 0 || ring_start < 0 || ring_count < 0 || sink < 0);
    if (commit && tid == kDecodeThreads - 1) atomicAdd(s.decode_arrivals, 1u);
    copy_rows(retained_lo, retained_hi, true);  // pos[] is complete past the barrier
    int32_t free_slot = INT32_MAX, worst = -1;
    if (c.learned && R > 0) retained_scan<kDecodeThreads>(S, R, score, pos, free_slot, worst);

    pdl_wait();
    // What the plan reads is requested first, with q and the token's key and value below, and
    // before the key's stores to k_out: a load after a store the compiler cannot tell apart from
    // its address waited for the store, and so for the loads that fed it (an L2 round trip each).
    // The leaving token's new score is read whether or not it is used (it is the head's entry of
    // the step's scores, in bounds whenever scores are learned).
    meta[kNextUnscored0] = next_unscored != nullptr ? *next_unscored : 0;
    const bool full = ring_count == W;
    const int64_t leaving = now - W;
    const float new_leaving_score =
        c.learned && full && s.new_scores != nullptr ? s.new_scores[new_score_index(leaving, h, c, now)] : 0.0f;
    const float scale = rsqrtf(static_cast<float>(hd));
    for (int32_t i = tid; i < G * half; i += kDecodeThreads) {
        const int32_t g = i / half, j = i - g * half;
        const float* qr = q + static_cast<int64_t>(h * G + g) * hd;
        float x1 = qr[j], x2 = qr[j + half];
        rope_pair(x1, x2, j, hd, now, theta);
        qs[g * hd + j] = x1 * scale;
        qs[g * hd + j + half] = x2 * scale;
    }
    // The token's key before RoPE, for block 0's commit into pre_rope (k_pre is then not k_out).
    const float token_pre = commit && rank == 0 && tid < hd && c.pre_rope != nullptr ? ch.k_pre[static_cast<int64_t>(h) * hd + tid] : 0.0f;
    if (rank == 0) {  // the token's value, then its key on the threads after q's where there are enough
        for (int32_t d = tid; d < hd; d += kDecodeThreads) values[n_rows * hd + d] = ch.v[static_cast<int64_t>(h) * hd + d];
        for (int32_t j = (tid + G * half) % kDecodeThreads; j < half; j += kDecodeThreads) {
            const int64_t at = static_cast<int64_t>(h) * hd + j;
            float x1 = ch.k_pre[at], x2 = ch.k_pre[at + half];
            rope_pair(x1, x2, j, hd, now, theta);
            k_out[at] = x1;
            k_out[at + half] = x2;
            keys[n_rows * L.ks + j] = x1;
            keys[n_rows * L.ks + j + half] = x2;
        }
    }
    // The token's plan (kv_plan's step): does the token leaving the window stay, and where.
    int32_t dst = -1, replaced = -1;  // slot the leaving token takes; retained entry it evicts
    float kept_score = 0.0f;
    const auto score_of_leaving = [&] {  // leaving_score(), its cache read done before the wait
        return leaving >= meta[kNextUnscored0] ? new_leaving_score : oldest_score;
    };
    if (full && leaving < S) {
        if (sink < S) {
            dst = sink;
            kept_score = c.learned ? score_of_leaving() : 0.0f;
        }
    } else if (full && c.learned && R > 0) {
        const float sc = score_of_leaving();
        if (sc > 0.0f) {
            dst = retained_target(sc, free_slot, worst, score);
            if (free_slot == INT32_MAX) replaced = dst;  // a held entry makes room (or none: −1)
            kept_score = sc;
        }
    }
    // Scores of the block's rows (a thread per row), −inf where the token does not see the slot.
    copy_async_commit();
    copy_async_wait<0>();
    __syncthreads();
    const int32_t ring_size = static_cast<int32_t>(W), oldest_slot = SR + static_cast<int32_t>(ring_start);
    for (int32_t r = tid; r < rows; r += kDecodeThreads) {
        bool seen = true;
        if (r < n_rows) {
            const int32_t i = slot_of(r);
            if (i < S) {
                seen = i < sink;
            } else if (i < SR) {
                seen = pos[i] >= 0 && i != replaced;
            } else {
                int32_t k = i - oldest_slot;  // age rank in the ring, 0 = oldest
                if (k < 0) k += ring_size;
                seen = k < ring_count && !(full && k == 0 && dst < 0);
            }
        }
        float dot[kMaxGroup];
#pragma unroll
        for (int g = 0; g < kMaxGroup; ++g) dot[g] = 0.0f;
        if (seen) {
            const float4* kr = reinterpret_cast<const float4*>(keys + r * L.ks);
            for (int32_t e = 0; e < chunks; ++e) {
                const float4 k4 = kr[e];
#pragma unroll
                for (int g = 0; g < kMaxGroup; ++g) {
                    if (g >= G) break;
                    const float4 q4 = reinterpret_cast<const float4*>(qs + g * hd)[e];
                    dot[g] += q4.x * k4.x + q4.y * k4.y + q4.z * k4.z + q4.w * k4.w;
                }
            }
        }
#pragma unroll
        for (int g = 0; g < kMaxGroup; ++g)
            if (g < G) p[g * (L.per + 1) + r] = seen ? dot[g] : -INFINITY;
    }
    __syncthreads();
    // Softmax of each query head over the block's rows: a warp per head.
    for (int32_t g = warp; g < G; g += kDecodeThreads / kWarp) {
        float* pg = p + g * (L.per + 1);
        float m = -INFINITY;
        for (int32_t r = lane; r < rows; r += kWarp) m = fmaxf(m, pg[r]);
        for (int o = kWarp / 2; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
        float l = 0.0f;
        for (int32_t r = lane; r < rows; r += kWarp) {
            const float e = m == -INFINITY ? 0.0f : expf(pg[r] - m);
            pg[r] = e;
            l += e;
        }
        l = warp_sum(l);
        if (lane == 0) {
            ml[g] = m;
            ml[G + g] = l;
        }
    }
    __syncthreads();
    // P·V: a thread per 4 outputs and every parts-th row (rows with p = 0 skipped: a masked slot
    // may hold anything), then the parts' sums added.
    const int32_t O = G * hd, O4 = O / 4, parts = max(1, kDecodeThreads / O4);
    for (int32_t idx = tid; idx < O4 * parts; idx += kDecodeThreads) {
        const int32_t o4 = idx % O4, part = idx / O4, g = o4 / chunks;
        const float* pg = p + g * (L.per + 1);
        const float4* v4 = reinterpret_cast<const float4*>(values) + (o4 - g * chunks);
        float4 a = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
#pragma unroll 4
        for (int32_t r = part; r < rows; r += parts) {
            const float pr = pg[r];
            if (pr == 0.0f) continue;
            const float4 v = v4[r * chunks];
            a.x += pr * v.x;
            a.y += pr * v.y;
            a.z += pr * v.z;
            a.w += pr * v.w;
        }
        reinterpret_cast<float4*>(parts == 1 ? acc : red)[idx] = a;
    }
    // The block's partial (its P·V sums, maxima and sums) into block 0's shared memory.
    asm volatile("barrier.cluster.wait.aligned;" ::: "memory");
    __syncthreads();
    float* mine = cluster.map_shared_rank(part_of, 0) + rank * (O + 2 * G);
    for (int32_t o = tid; o < O; o += kDecodeThreads) {
        float a = 0.0f;
        if (parts == 1) a = acc[o];
        else
            for (int32_t k = 0; k < parts; ++k) a += red[k * O + o];
        mine[o] = a;
    }
    if (tid < 2 * G) mine[O + tid] = ml[tid];
    cluster.sync();  // the partials are in block 0, and every block has read the plan's inputs
    if (rank != 0) return;  // nothing reads another block's shared memory from here on
    for (int32_t o = tid; o < O; o += kDecodeThreads) {
        const int32_t g = o / hd;
        float M = -INFINITY;
        for (int b = 0; b < kDecodeBlocks; ++b) M = fmaxf(M, part_of[b * (O + 2 * G) + O + g]);
        float Ls = 0.0f, A = 0.0f;
        if (M != -INFINITY) {
            for (int b = 0; b < kDecodeBlocks; ++b) {
                const float* pb = part_of + b * (O + 2 * G);
                const float f = expf(pb[O + g] - M);
                Ls += pb[O + G + g] * f;
                A += pb[o] * f;
            }
        }
        out[static_cast<int64_t>(h) * G * hd + o] = Ls > 0.0f ? A / Ls : 0.0f;
    }
    if (tid == 0 && dst >= 0) {
        c.positions[h * c.slots + dst] = leaving;
        c.scores[h * c.slots + dst] = kept_score;
    }
    const int64_t ring_start1 = full ? (ring_start + 1) % W : ring_start, ring_count1 = full ? W : ring_count + 1;
    const int32_t sink1 = full && leaving < S && sink < S ? sink + 1 : sink;
    if (!commit) {  // what kv_plan writes for kv_commit
        const int32_t ref = full ? ref_of_position(leaving, meta, c) : kUnchanged;
        for (int32_t i = tid; i < SR; i += kDecodeThreads) s.sources[h * SR + i] = i == dst ? ref : kUnchanged;
        if (h == 0 && tid == 0) record_plan(s, now, ring_start, ring_count, ring_start1, ring_count1, meta[kNextUnscored0], sink1);
        return;
    }
    // kv_commit's work for the token (no scorer). Every block of the head has read its slots
    // (cluster.sync above), so they may change now. The token takes the ring slot after the
    // newest (commit_slot): the leaving token's when the ring is full, which moves to dst first
    // (its row read before the wait).
    const int64_t width = static_cast<int64_t>(c.n_kv_heads) * hd;
    if (tid < hd) {
        const int64_t row = static_cast<int64_t>(h) * c.slots;
        if (dst >= 0) {
            c.keys[(row + dst) * hd + tid] = leaving_k;
            c.values[(row + dst) * hd + tid] = leaving_v;
        }
        c.keys[(row + commit_slot) * hd + tid] = keys[n_rows * L.ks + tid];
        c.values[(row + commit_slot) * hd + tid] = values[n_rows * hd + tid];
        if (c.pre_rope != nullptr) c.pre_rope[(commit_slot - SR) * width + static_cast<int64_t>(h) * hd + tid] = token_pre;
    }
    if (tid == 0) {
        c.positions[h * c.slots + commit_slot] = now;
        c.scores[h * c.slots + commit_slot] = 0.0f;
        // The ring meta every block read before its wait: head 0 writes it once all have counted
        // themselves (long since, by now), then zeroes the count. No fence or arrival at the end
        // of every head (2026-12-05: they were the commit's last ~1.4 µs).
        if (h == 0) {
            const uint32_t blocks = gridDim.x * gridDim.y;
            uint32_t counted;
            do asm volatile("ld.acquire.gpu.global.u32 %0, [%1];" : "=r"(counted) : "l"(s.decode_arrivals) : "memory");
            while (counted < blocks);
            c.window_meta[0] = ring_start1;
            c.window_meta[1] = ring_count1;
            *c.sink_meta = sink1;
            *s.decode_arrivals = 0;
        }
    }
#endif
}

}  // namespace

namespace {

// After lte_score_committed's layers: positions below end − right have final scores.
__global__ void lte_scored_through_kernel(int64_t* next_unscored, const int64_t* position, int64_t n_tokens, int32_t right) {
    pdl_wait();
    const int64_t scored_end = *position + n_tokens - right;
    if (scored_end > *next_unscored) *next_unscored = scored_end;
}

// mma.sync with bf16 and tf32 operands: sm_80 and later.
bool tensor_cores_available() { return device_major() >= 8; }

void lte_score_layers(const DeviceKvCache& c, const KvChunk& ch, const LteScorerDevice& sc, const KvScratch& s, Stream stream,
                      bool committed, int32_t expected) {
    // Rows per layer: the chunk's positions or the tokens a decode step expects to score (more
    // only when a CPU-written state deferred some, then the blocks loop) plus the receptive field.
    const int64_t rows = (committed && ch.n_tokens == 0 ? c.window_capacity : std::max<int64_t>(ch.n_tokens, expected)) + sc.left + sc.right;
    const unsigned row_blocks = static_cast<unsigned>(std::min<int64_t>((rows + kLteRows - 1) / kLteRows, 128));
    // A chunk's rows (rows counts the chunk and the receptive field; a CPU-written state's deferred
    // rows come on top: one more tile of blocks covers up to a window more) take the tensor-core
    // kernel for the first layer and the tail kernel for the rest, where its shared memory allows.
    const bool tiled = !committed && rows >= kLteTiledMinRows && tensor_cores_available();
    const unsigned row_tiles = static_cast<unsigned>((rows + c.window_capacity + 2 * (sc.left + sc.right) + kLteTileRows - 1) / kLteTileRows);
    const size_t tail_smem = lte_tail_smem(sc).bytes;
    for (int32_t l = 0; l <= sc.n_layers; ++l) {
        const LteLayerShape L = lte_layer_shape(sc, l, c.head_dim);
        if (tiled && l == 1 && tail_smem <= kLteTailMaxSmem) {
            if (tail_smem > 48 * 1024) cudaFuncSetAttribute(lte_tail_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(tail_smem));
            launch_kernel(lte_tail_kernel, dim3(row_tiles, static_cast<unsigned>(c.n_kv_heads)), kLteTailThreads, tail_smem, stream, c, ch, sc, s);
            break;
        }
        if (tiled && lte_layer_on_tensor_cores(L)) {
            int32_t in_stride = 0, in_floats = 0;
            const size_t smem = lte_mma_smem_floats(L, &in_stride, &in_floats) * sizeof(float);
            const int32_t nt = lte_mma_tiles(L);
            auto* kernel = nt == 1 ? lte_layer_mma_kernel<1> : nt == 2 ? lte_layer_mma_kernel<2> : nt == 4 ? lte_layer_mma_kernel<4> : lte_layer_mma_kernel<8>;
            if (smem > 48 * 1024) cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem));
            const dim3 grid(row_tiles, static_cast<unsigned>(c.n_kv_heads), static_cast<unsigned>((L.cout + 8 * nt - 1) / (8 * nt)));
            launch_kernel(kernel, grid, kLteMmaThreads, smem, stream, c, ch, sc, s, l);
            continue;
        }
        const int warps = std::min(L.cout, kLteWarps);
        const size_t smem = static_cast<size_t>(kLteRows + L.d * (L.K - 1)) * L.cin * sizeof(float);
        if (smem > 48 * 1024) cudaFuncSetAttribute(lte_layer_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem));
        const dim3 grid(row_blocks, static_cast<unsigned>(c.n_kv_heads), static_cast<unsigned>((L.cout + warps - 1) / warps));
        launch_kernel(lte_layer_kernel, grid, warps * kWarp, smem, stream, c, ch, sc, s, l, committed);
    }
}

}  // namespace

void lte_score(const DeviceKvCache& c, const KvChunk& ch, const LteScorerDevice& sc, const KvScratch& s, Stream stream) {
    lte_score_layers(c, ch, sc, s, stream, false, 1);
}

void lte_score_committed(const DeviceKvCache& c, const KvChunk& ch, const LteScorerDevice& sc, const KvScratch& s, Stream stream,
                         int32_t expected) {
    lte_score_layers(c, ch, sc, s, stream, true, expected);
    launch_kernel(lte_scored_through_kernel, 1, 1, 0, stream, sc.next_unscored, ch.position, ch.n_tokens, sc.right);
}

int64_t lte_act_floats(const LteScorerDevice& sc, int64_t n_kv_heads, int64_t head_dim, int64_t window_capacity, int64_t max_tokens) {
    // Rows: positions from first − left (first may lag up to a window behind, in a state the
    // CPU wrote) to the chunk's last; the widest layer output has head_dim channels per head.
    const int64_t rows = max_tokens + window_capacity + sc.left + sc.right + kLteRows;
    return rows * n_kv_heads * head_dim;
}

int64_t kv_list_entries(const DeviceKvCache& c, int64_t max_tokens) {
    return static_cast<int64_t>(c.n_kv_heads) * (c.sink_capacity + c.retained_capacity + max_tokens);
}

int64_t kv_plan_work_ints(const DeviceKvCache& c, int64_t max_tokens) {
    return static_cast<int64_t>(c.n_kv_heads) * (c.retained_capacity + 6 * max_tokens);
}

void kv_plan(const DeviceKvCache& c, const KvChunk& ch, const LteScorerDevice* sc, const KvScratch& s, Stream stream) {
    const int64_t S = c.sink_capacity, R = c.retained_capacity;
    const int64_t* next_unscored = sc != nullptr ? sc->next_unscored : nullptr;
    const bool ranked = c.learned && R > 0;
    if (ranked) {
        const unsigned entries = static_cast<unsigned>((R + ch.n_tokens + kPlanThreads / kWarp - 1) / (kPlanThreads / kWarp));
        const size_t held = static_cast<size_t>(R) * (sizeof(int64_t) + sizeof(float)), cand = static_cast<size_t>(ch.n_tokens) * sizeof(float);
        const bool staged = held + cand <= 48 * 1024;  // the default dynamic shared memory: chunks up to ~10K tokens
        launch_kernel(kv_plan_rank_kernel, dim3(static_cast<unsigned>(c.n_kv_heads), entries), kPlanThreads, held + (staged ? cand : 0), stream,
                      c, ch, next_unscored, s, staged);
    }
    const size_t smem = static_cast<size_t>(S + R) * (sizeof(int64_t) + sizeof(float) + sizeof(int32_t)) + static_cast<size_t>(R) * sizeof(int32_t);
    launch_kernel(kv_plan_kernel, static_cast<unsigned>(c.n_kv_heads), kPlanThreads, smem, stream, c, ch, next_unscored, s, ranked);
}

bool kv_attend_tensor_cores(const DeviceKvCache& c, int32_t n_q_heads) {
    return tensor_cores_available() && c.head_dim > 0 && c.head_dim % 2 == 0 && c.head_dim <= 128 &&
           c.n_kv_heads > 0 && n_q_heads % c.n_kv_heads == 0;
}

void kv_attend(const DeviceKvCache& c, const KvChunk& ch, const float* q, int32_t n_q_heads, float* out, const KvScratch& s,
               Stream stream, AttnPrecision precision) {
    const int per_lane = (c.head_dim + kWarp - 1) / kWarp;
    const int32_t G = n_q_heads / c.n_kv_heads;
    if (precision == AttnPrecision::bf16_tensor_cores && ch.n_tokens > 1 && kv_attend_tensor_cores(c, n_q_heads)) {
        const int64_t rows = ch.n_tokens * G, tiles = (rows + kTcRows - 1) / kTcRows * c.n_kv_heads;
        // Fewer splits than s.splits where the chunk's tiles already give every SM two blocks: each
        // split costs the combine a pass over all the partials (LTE at 4K-token chunks: one split,
        // 16K prefill 148K → 159K tok/s). A split still takes at most ~2K of the keys a tile can
        // see, so full attention over a long context keeps its parallelism.
        KvScratch t = s;
        const int64_t keys = int64_t{c.sink_capacity} + c.retained_capacity + c.window_capacity + kTcRows;
        const int64_t fill = (2 * sm_count() + tiles - 1) / tiles, bounded = (keys + 2047) / 2048;
        t.splits = static_cast<int32_t>(std::clamp<int64_t>(std::max(fill, bounded), 1, s.splits));
        const dim3 grid(static_cast<unsigned>(tiles / c.n_kv_heads), static_cast<unsigned>(c.n_kv_heads), static_cast<unsigned>(t.splits));
        if (c.head_dim <= 64) launch_kernel(kv_attend_tc_kernel<64>, grid, kTcThreads, 0, stream, c, ch, q, n_q_heads, out, t);
        else launch_kernel(kv_attend_tc_kernel<128>, grid, kTcThreads, 0, stream, c, ch, q, n_q_heads, out, t);
        if (t.splits > 1)
            launch_kernel(kv_combine_kernel, static_cast<unsigned>(ch.n_tokens * n_q_heads), 128, 0, stream, t.partial, out, t.splits, c.head_dim);
        return;
    }
    if (c.sink_capacity + c.retained_capacity == 0 && G <= kTileRows && kTileRows % G == 0 && ch.n_tokens > 1) {
        const int64_t per_block = kTileRows / G;
        const dim3 tiles(static_cast<unsigned>((ch.n_tokens + per_block - 1) / per_block), static_cast<unsigned>(c.n_kv_heads),
                         static_cast<unsigned>(s.splits));
        const size_t smem = static_cast<size_t>(kKeyTile * (2 * c.head_dim + 1) + kTileRows * c.head_dim) * sizeof(float);
        const auto launch = [&](auto kernel) {
            // Head sizes above 128 need more than 48 KiB. Set per call, not once behind a static:
            // the four instantiations share one function-pointer type, so a lambda-local static
            // would be shared too and only the first kernel launched would be configured.
            if (smem > 48 * 1024) cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem));
            launch_kernel(kernel, tiles, kAttnWarps * kWarp, smem, stream, c, ch, q, n_q_heads, out, s);
        };
        if (per_lane <= 1) launch(kv_attend_window_kernel<1>);
        else if (per_lane <= 2) launch(kv_attend_window_kernel<2>);
        else if (per_lane <= 4) launch(kv_attend_window_kernel<4>);
        else launch(kv_attend_window_kernel<8>);
        if (s.splits > 1)
            launch_kernel(kv_combine_kernel, static_cast<unsigned>(ch.n_tokens * n_q_heads), 128, 0, stream, s.partial, out, s.splits, c.head_dim);
        return;
    }
    const dim3 grid(static_cast<unsigned>(ch.n_tokens), static_cast<unsigned>(c.n_kv_heads), static_cast<unsigned>(s.splits));
    if (per_lane <= 1) launch_kernel(kv_attend_kernel<1>, grid, kAttnWarps * kWarp, 0, stream, c, ch, q, n_q_heads, out, s);
    else if (per_lane <= 2) launch_kernel(kv_attend_kernel<2>, grid, kAttnWarps * kWarp, 0, stream, c, ch, q, n_q_heads, out, s);
    else if (per_lane <= 4) launch_kernel(kv_attend_kernel<4>, grid, kAttnWarps * kWarp, 0, stream, c, ch, q, n_q_heads, out, s);
    else launch_kernel(kv_attend_kernel<8>, grid, kAttnWarps * kWarp, 0, stream, c, ch, q, n_q_heads, out, s);
    if (s.splits > 1)
        launch_kernel(kv_combine_kernel, static_cast<unsigned>(ch.n_tokens * n_q_heads), 128, 0, stream, s.partial, out, s.splits, c.head_dim);
}

bool kv_decode_fits(const DeviceKvCache& c, int32_t n_q_heads) {
    static const bool capable = [] {  // thread-block clusters and distributed shared memory: sm_90 and later
        // Shared memory above 48 KB must be asked for, once per kernel.
        return device_major() >= 9 && cudaFuncSetAttribute(kv_decode_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                                  static_cast<int>(kDecodeMaxSmem)) == cudaSuccess;
    }();
    if (!capable || c.n_kv_heads <= 0 || n_q_heads % c.n_kv_heads != 0 || n_q_heads / c.n_kv_heads > kMaxGroup) return false;
    if (c.head_dim <= 0 || c.head_dim % 4 != 0 || c.head_dim > kMaxHeadDim || c.window_capacity < 1) return false;
    const auto aligned = [](const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; };
    return aligned(c.keys) && aligned(c.values) && decode_layout(c, n_q_heads / c.n_kv_heads).bytes <= kDecodeMaxSmem;
}

void kv_decode(const DeviceKvCache& c, const float* q, int32_t n_q_heads, const float* k_in, float* k_out, const float* v,
               const int64_t* position, float rope_theta, const LteScorerDevice* sc, float* out, const KvScratch& s, Stream stream,
               bool commit) {
    KvChunk ch;
    ch.k = k_out;
    ch.k_pre = k_in;
    ch.v = v;
    ch.n_tokens = 1;
    ch.position = position;
    const size_t smem = decode_layout(c, n_q_heads / c.n_kv_heads).bytes;
    launch_kernel_in_clusters(kDecodeBlocks, kv_decode_kernel, dim3(kDecodeBlocks, static_cast<unsigned>(c.n_kv_heads)), kDecodeThreads,
                              smem, stream, c, ch, q, n_q_heads, k_out, rope_theta, sc != nullptr ? sc->next_unscored : nullptr, out, s,
                              commit);
}

void kv_commit(const DeviceKvCache& c, const KvChunk& ch, const LteScorerDevice* sc, const KvScratch& s, Stream stream) {
    LteScorerDevice none;
    const LteScorerDevice& scorer = sc != nullptr ? *sc : none;
    const unsigned heads = static_cast<unsigned>(c.n_kv_heads);
    if (ch.n_tokens <= kGemvMaxTokens) {
        launch_kernel(kv_commit_kernel, heads, kCommitThreads, 0, stream, c, ch, scorer, sc != nullptr, s, CommitPart::all);
        return;
    }
    // Slots: a block per kCommitThreads of them. Ring: ~4 K values of the chunk's keys, values and
    // pre-RoPE keys a block.
    const unsigned slot_parts = static_cast<unsigned>(std::max<int64_t>(1, (c.sink_capacity + c.retained_capacity + kCommitThreads - 1) / kCommitThreads));
    const int64_t rows = std::min<int64_t>(ch.n_tokens, c.window_capacity);
    const unsigned parts = static_cast<unsigned>(std::clamp<int64_t>(rows * c.head_dim / 4096 + 1, 1, 64));
    launch_kernel(kv_commit_kernel, dim3(heads, slot_parts), kCommitThreads, 0, stream, c, ch, scorer, sc != nullptr, s, CommitPart::slots);
    launch_kernel(kv_commit_kernel, dim3(heads, parts), kCommitThreads, 0, stream, c, ch, scorer, sc != nullptr, s, CommitPart::ring);
}

}  // namespace mnemo::cuda

// ---------------------------------------------------------------- native sparse attention
namespace mnemo::cuda {
namespace {

__global__ void sigmoid_kernel(float* x, int64_t n) {
    pdl_wait();
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < n) x[i] = 1.0f / (1.0f + expf(-x[i]));
}

__global__ void nsa_append_kernel(DeviceNsa n, const float* k, const float* v, int64_t T, const int64_t* position) {
    pdl_wait();
    const int64_t t = blockIdx.x;
    const int32_t h = blockIdx.y;
    const int64_t p = *position + t, hd = n.head_dim;
    for (int64_t d = threadIdx.x; d < hd; d += blockDim.x) {
        n.keys[(h * n.capacity + p) * hd + d] = k[(t * n.n_kv_heads + h) * hd + d];
        n.values[(h * n.capacity + p) * hd + d] = v[(t * n.n_kv_heads + h) * hd + d];
    }
    if (t == T - 1 && h == 0 && threadIdx.x == 0) *n.count = p + 1;
}

// Means of the blocks that complete in this chunk, accumulated in double like the CPU.
__global__ void nsa_compress_kernel(DeviceNsa n, int64_t T, const int64_t* position) {
    pdl_wait();
    const int64_t pos0 = *position, bs = n.block_size, hd = n.head_dim;
    const int64_t c = pos0 / bs + blockIdx.x;
    const int32_t h = blockIdx.y;
    if ((c + 1) * bs > pos0 + T) return;
    for (int64_t d = threadIdx.x; d < hd; d += blockDim.x) {
        double sk = 0, sv = 0;
        for (int64_t j = c * bs; j < (c + 1) * bs; ++j) {
            sk += n.keys[(h * n.capacity + j) * hd + d];
            sv += n.values[(h * n.capacity + j) * hd + d];
        }
        n.block_keys[(h * n.n_blocks + c) * hd + d] = static_cast<float>(sk / static_cast<double>(bs));
        n.block_values[(h * n.n_blocks + c) * hd + d] = static_cast<float>(sv / static_cast<double>(bs));
    }
}

// This lane's values of a query row (PL per lane, zero past hd), times `scale`.
template <int PL>
__device__ __forceinline__ void load_scaled_query(const float* row, int64_t hd, float scale, float (&qv)[PL]) {
    const int lane = threadIdx.x % kWarp;
#pragma unroll
    for (int e = 0; e < PL; ++e) {
        const int64_t d = lane + e * kWarp;
        qv[e] = d < hd ? row[d] * scale : 0.0f;
    }
}

// One warp's attention of query `qv` (PL values per lane, pre-scaled) over rows row(i),
// i < n, of `keys`/`values` (row stride hd): online softmax; returns the output in o.
template <int PL, typename RowOf>
__device__ void warp_attend(const float (&qv)[PL], const float* keys, const float* values, int64_t hd, int64_t n, RowOf row_of,
                            float (&o)[PL], float* m_out, float* l_out) {
    const int lane = threadIdx.x % kWarp;
    float m = -INFINITY, l = 0.0f, acc[PL];
#pragma unroll
    for (int e = 0; e < PL; ++e) acc[e] = 0.0f;
    for (int64_t i = 0; i < n; ++i) {
        const int64_t r = row_of(i);
        float dot = 0.0f;
#pragma unroll
        for (int e = 0; e < PL; ++e) {
            const int64_t d = lane + e * kWarp;
            dot += d < hd ? qv[e] * keys[r * hd + d] : 0.0f;
        }
        dot = warp_sum(dot);
        const float m_new = fmaxf(m, dot), corr = expf(m - m_new), p = expf(dot - m_new);
        l = l * corr + p;
#pragma unroll
        for (int e = 0; e < PL; ++e) {
            const int64_t d = lane + e * kWarp;
            acc[e] = acc[e] * corr + p * (d < hd ? values[r * hd + d] : 0.0f);
        }
        m = m_new;
    }
#pragma unroll
    for (int e = 0; e < PL; ++e) o[e] = l > 0.0f ? acc[e] / l : 0.0f;
    *m_out = m;
    *l_out = l;
}

// Token t, KV head h: compressed, selected and window branches for every query head of
// the group (one warp per query head at a time), mixed by the gates (cmp, slc, swa).
template <int PL>
__global__ void nsa_attend_kernel(DeviceNsa n, const float* q, const float* gates, float* out, NsaScratch s, int64_t T,
                                  const int64_t* position) {
    pdl_wait();
    extern __shared__ unsigned char nsa_smem[];
    const int64_t t = blockIdx.x;
    const int32_t h = blockIdx.y;
    const int32_t G = n.n_q_heads / n.n_kv_heads;
    const int64_t hd = n.head_dim, bs = n.block_size;
    const int64_t p = *position + t;
    const int64_t complete = (p + 1) / bs, current = p / bs;
    const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp, n_warps = blockDim.x / kWarp;
    const float scale = rsqrtf(static_cast<float>(hd));
    float* probs = s.probs + (t * n.n_kv_heads + h) * G * n.n_blocks;  // [G][n_blocks]
    float* importance = s.importance + (t * n.n_kv_heads + h) * n.n_blocks;
    int32_t* chosen = reinterpret_cast<int32_t*>(nsa_smem);  // [n_select] sorted block ids
    unsigned char* taken = nsa_smem + sizeof(int32_t) * n.n_select;  // [n_blocks]
    const float* keys = n.keys + static_cast<int64_t>(h) * n.capacity * hd;
    const float* values = n.values + static_cast<int64_t>(h) * n.capacity * hd;
    const float* bkeys = n.block_keys + static_cast<int64_t>(h) * n.n_blocks * hd;
    const float* bvalues = n.block_values + static_cast<int64_t>(h) * n.n_blocks * hd;
    // 1. Compressed branch; its probabilities go to `probs`.
    for (int32_t g = warp; g < G; g += n_warps) {
        const int64_t head = static_cast<int64_t>(h) * G + g;
        float qv[PL], o[PL], m, l;
        load_scaled_query<PL>(q + (t * n.n_q_heads + head) * hd, hd, scale, qv);
        warp_attend<PL>(qv, bkeys, bvalues, hd, complete, [](int64_t i) { return i; }, o, &m, &l);
        const float gate = gates[(t * n.n_q_heads + head) * 3 + 0];
#pragma unroll
        for (int e = 0; e < PL; ++e) {
            const int64_t d = lane + e * kWarp;
            if (d < hd) out[(t * n.n_q_heads + head) * hd + d] = complete > 0 ? gate * o[e] : 0.0f;
        }
        for (int64_t c = lane; c < complete; c += kWarp) {
            float dot = 0.0f;
            for (int64_t d = 0; d < hd; ++d) dot += q[(t * n.n_q_heads + head) * hd + d] * scale * bkeys[c * hd + d];
            probs[g * n.n_blocks + c] = expf(dot - m) / l;
        }
    }
    __syncthreads();
    // 2. Block importance (group sum in head order), forced blocks, top n_select.
    for (int64_t c = threadIdx.x; c <= current; c += blockDim.x) {
        float sum = 0.0f;
        if (c < current && c < complete)
            for (int32_t g = 0; g < G; ++g) sum += probs[g * n.n_blocks + c];
        if (c == 0 || c == current - 1 || c == current) sum = static_cast<float>(G);
        importance[c] = sum;
        taken[c] = 0;
    }
    __syncthreads();
    const int64_t n_choose = n.n_select < current + 1 ? n.n_select : current + 1;
    __shared__ float best_v[32];
    __shared__ int32_t best_i[32];
    for (int64_t k = 0; k < n_choose; ++k) {
        float bv = -INFINITY;
        int32_t bi = INT32_MAX;
        for (int64_t c = threadIdx.x; c <= current; c += blockDim.x) {
            if (taken[c]) continue;
            const float v = importance[c];
            if (v > bv || (v == bv && c < bi)) { bv = v; bi = static_cast<int32_t>(c); }
        }
        for (int o = kWarp / 2; o > 0; o >>= 1) {
            const float ov = __shfl_xor_sync(0xffffffffu, bv, o);
            const int32_t oi = __shfl_xor_sync(0xffffffffu, bi, o);
            if (ov > bv || (ov == bv && oi < bi)) { bv = ov; bi = oi; }
        }
        if (lane == 0) { best_v[warp] = bv; best_i[warp] = bi; }
        __syncthreads();
        if (threadIdx.x == 0) {
            float v = best_v[0];
            int32_t i = best_i[0];
            for (int w = 1; w < n_warps; ++w)
                if (best_v[w] > v || (best_v[w] == v && best_i[w] < i)) { v = best_v[w]; i = best_i[w]; }
            chosen[k] = i;
            taken[i] = 1;
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) {  // ascending block order (insertion sort of a handful)
        for (int64_t a = 1; a < n_choose; ++a) {
            const int32_t v = chosen[a];
            int64_t b = a - 1;
            while (b >= 0 && chosen[b] > v) { chosen[b + 1] = chosen[b]; --b; }
            chosen[b + 1] = v;
        }
    }
    __syncthreads();
    // 3. Selected blocks (rows <= p) and 4. the window (p − w, p].
    int64_t n_sel = 0;
    for (int64_t k = 0; k < n_choose; ++k) {
        const int64_t hi = (chosen[k] + 1) * bs < p + 1 ? (chosen[k] + 1) * bs : p + 1;
        n_sel += hi - chosen[k] * bs;
    }
    const int64_t w_lo = n.window > 0 ? (p - n.window + 1 > 0 ? p - n.window + 1 : 0) : 0;
    for (int32_t g = warp; g < G; g += n_warps) {
        const int64_t head = static_cast<int64_t>(h) * G + g;
        float qv[PL], o[PL], m, l;
        load_scaled_query<PL>(q + (t * n.n_q_heads + head) * hd, hd, scale, qv);
        const int32_t* ch = chosen;
        const int64_t nc = n_choose;
        warp_attend<PL>(qv, keys, values, hd, n_sel, [ch, nc, bs, p](int64_t i) {
            for (int64_t k = 0; k < nc; ++k) {
                const int64_t lo = ch[k] * bs, hi = (ch[k] + 1) * bs < p + 1 ? (ch[k] + 1) * bs : p + 1;
                if (i < hi - lo) return lo + i;
                i -= hi - lo;
            }
            return int64_t{0};
        }, o, &m, &l);
        float o_swa[PL];
        if (n.window > 0) warp_attend<PL>(qv, keys, values, hd, p - w_lo + 1, [w_lo](int64_t i) { return w_lo + i; }, o_swa, &m, &l);
        const float g_slc = gates[(t * n.n_q_heads + head) * 3 + 1], g_swa = gates[(t * n.n_q_heads + head) * 3 + 2];
#pragma unroll
        for (int e = 0; e < PL; ++e) {
            const int64_t d = lane + e * kWarp;
            if (d < hd) {
                float r = out[(t * n.n_q_heads + head) * hd + d] + g_slc * o[e];
                if (n.window > 0) r += g_swa * o_swa[e];
                out[(t * n.n_q_heads + head) * hd + d] = r;
            }
        }
    }
}

}  // namespace

void nsa_forward(const DeviceNsa& n, const float* q, const float* k, const float* v, float* gates, float* out, const NsaScratch& s,
                 int64_t T, const int64_t* position, Stream stream) {
    launch_kernel(sigmoid_kernel, blocks_for(T * n.n_q_heads * 3, 256), 256, 0, stream, gates, T * n.n_q_heads * 3);
    launch_kernel(nsa_append_kernel, dim3(static_cast<unsigned>(T), static_cast<unsigned>(n.n_kv_heads)), 64, 0, stream, n, k, v, T, position);
    const unsigned blocks = static_cast<unsigned>(T / n.block_size + 2);
    launch_kernel(nsa_compress_kernel, dim3(blocks, static_cast<unsigned>(n.n_kv_heads)), 64, 0, stream, n, T, position);
    const int32_t G = n.n_q_heads / n.n_kv_heads;
    const int threads = kWarp * (G < 8 ? G : 8);
    const size_t smem = sizeof(int32_t) * static_cast<size_t>(n.n_select) + static_cast<size_t>(n.n_blocks);
    const dim3 grid(static_cast<unsigned>(T), static_cast<unsigned>(n.n_kv_heads));
    const int per_lane = (n.head_dim + kWarp - 1) / kWarp;
    if (per_lane <= 1) launch_kernel(nsa_attend_kernel<1>, grid, threads, smem, stream, n, q, gates, out, s, T, position);
    else if (per_lane <= 2) launch_kernel(nsa_attend_kernel<2>, grid, threads, smem, stream, n, q, gates, out, s, T, position);
    else if (per_lane <= 4) launch_kernel(nsa_attend_kernel<4>, grid, threads, smem, stream, n, q, gates, out, s, T, position);
    else launch_kernel(nsa_attend_kernel<8>, grid, threads, smem, stream, n, q, gates, out, s, T, position);
}

}  // namespace mnemo::cuda
