// Device operations of the CUDA backend (see ops.h). Written for clarity first: each
// kernel follows its CPU counterpart's formula and order of operations where that
// matters for parity (RoPE tables in f32, softplus threshold, replace-min ranking).
#include "ops.h"

#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <cublas_v2.h>
#include <dlfcn.h>

#include <cfloat>
#include <cmath>
#include <cstdio>

namespace mnemo::cuda {
namespace {

constexpr int kWarp = 32;
constexpr int32_t kUnchanged = INT32_MIN;  // KvScratch::sources: slot keeps its content

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = kWarp / 2; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float silu(float x) { return x / (1.0f + expf(-x)); }

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

__device__ __forceinline__ float load_weight(const void* w, WeightType type, int64_t i) {
    return type == WeightType::f32 ? static_cast<const float*>(w)[i] : __bfloat162float(static_cast<const __nv_bfloat16*>(w)[i]);
}

// ---------------------------------------------------------------- linear (GEMV)
// One warp per output row; the row is read once and multiplied with every token.
template <int MaxT>
__global__ void gemv_kernel(const void* w, WeightType type, const float* bias, const float* x, float* y, int64_t rows,
                            int64_t cols, int n_tokens) {
    const int64_t row = static_cast<int64_t>(blockIdx.x) * (blockDim.x / kWarp) + threadIdx.x / kWarp;
    const int lane = threadIdx.x % kWarp;
    if (row >= rows) return;
    float acc[MaxT];
#pragma unroll
    for (int t = 0; t < MaxT; ++t) acc[t] = 0.0f;
    if (type == WeightType::bf16 && cols % 8 == 0) {
        const uint4* wr = reinterpret_cast<const uint4*>(static_cast<const __nv_bfloat16*>(w) + row * cols);
        for (int64_t c8 = lane; c8 < cols / 8; c8 += kWarp) {
            const uint4 packed = wr[c8];
            const __nv_bfloat16* wv = reinterpret_cast<const __nv_bfloat16*>(&packed);
            float wf[8];
#pragma unroll
            for (int e = 0; e < 8; ++e) wf[e] = __bfloat162float(wv[e]);
#pragma unroll
            for (int t = 0; t < MaxT; ++t) {
                if (t >= n_tokens) break;
                const float4* xr = reinterpret_cast<const float4*>(x + t * cols + c8 * 8);
                const float4 a = xr[0], b = xr[1];
                acc[t] += wf[0] * a.x + wf[1] * a.y + wf[2] * a.z + wf[3] * a.w + wf[4] * b.x + wf[5] * b.y + wf[6] * b.z + wf[7] * b.w;
            }
        }
    } else if (type == WeightType::f32 && cols % 4 == 0) {
        const float4* wr = reinterpret_cast<const float4*>(static_cast<const float*>(w) + row * cols);
        for (int64_t c4 = lane; c4 < cols / 4; c4 += kWarp) {
            const float4 wv = wr[c4];
#pragma unroll
            for (int t = 0; t < MaxT; ++t) {
                if (t >= n_tokens) break;
                const float4 a = reinterpret_cast<const float4*>(x + t * cols)[c4];
                acc[t] += wv.x * a.x + wv.y * a.y + wv.z * a.z + wv.w * a.w;
            }
        }
    } else {
        for (int64_t c = lane; c < cols; c += kWarp) {
            const float wv = load_weight(w, type, row * cols + c);
#pragma unroll
            for (int t = 0; t < MaxT; ++t) {
                if (t >= n_tokens) break;
                acc[t] += wv * x[t * cols + c];
            }
        }
    }
#pragma unroll
    for (int t = 0; t < MaxT; ++t) {
        if (t >= n_tokens) break;
        const float s = warp_sum(acc[t]);
        if (lane == 0) y[t * rows + row] = s + (bias != nullptr ? bias[row] : 0.0f);
    }
}

__global__ void add_bias_kernel(float* y, const float* bias, int64_t rows, int64_t n) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < n) y[i] += bias[i % rows];
}

__global__ void to_bf16_kernel(const float* x, __nv_bfloat16* y, int64_t n) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < n) y[i] = __float2bfloat16(x[i]);
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

void linear(const DeviceMatrix& w, const float* x, int64_t T, float* y, void* x_bf16, Stream stream) {
    if (T <= kGemvMaxTokens || g_blas.handle == nullptr) {
        constexpr int kThreads = 256, kRowsPerBlock = kThreads / kWarp;
        for (int64_t t0 = 0; t0 < T; t0 += kGemvMaxTokens) {
            const int n = static_cast<int>(T - t0 < kGemvMaxTokens ? T - t0 : kGemvMaxTokens);
            const int grid = blocks_for(w.rows, kRowsPerBlock);
            if (n == 1)
                gemv_kernel<1><<<grid, kThreads, 0, stream>>>(w.data, w.type, w.bias, x + t0 * w.cols, y + t0 * w.rows, w.rows, w.cols, n);
            else
                gemv_kernel<kGemvMaxTokens><<<grid, kThreads, 0, stream>>>(w.data, w.type, w.bias, x + t0 * w.cols, y + t0 * w.rows,
                                                                           w.rows, w.cols, n);
        }
        return;
    }
    // Column-major view: yᵀ [rows × T] = W [rows × cols] (row-major = colmajor Wᵀ) · xᵀ.
    const float one = 1.0f, zero = 0.0f;
    g_blas.set_stream(g_blas.handle, stream);
    const int m = static_cast<int>(w.rows), n = static_cast<int>(T), k = static_cast<int>(w.cols);
    if (w.type == WeightType::f32) {
        g_blas.sgemm(g_blas.handle, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &one, static_cast<const float*>(w.data), k, x, k, &zero, y, m);
    } else {
        to_bf16_kernel<<<blocks_for(T * w.cols, 256), 256, 0, stream>>>(x, static_cast<__nv_bfloat16*>(x_bf16), T * w.cols);
        g_blas.gemm_ex(g_blas.handle, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &one, w.data, CUDA_R_16BF, k, x_bf16, CUDA_R_16BF, k, &zero, y,
                       CUDA_R_32F, m, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
    }
    if (w.bias != nullptr) add_bias_kernel<<<blocks_for(T * w.rows, 256), 256, 0, stream>>>(y, w.bias, w.rows, T * w.rows);
}

// ---------------------------------------------------------------- elementwise, norms
namespace {

__global__ void embed_kernel(const int32_t* tokens, const void* table, WeightType type, int64_t dim, float* x) {
    const int64_t row = tokens[blockIdx.x];
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) x[blockIdx.x * dim + i] = load_weight(table, type, row * dim + i);
}

__global__ void add_rms_norm_kernel(float* x, const float* residual, const float* w, float* y, int64_t dim, float eps) {
    float* xr = x + blockIdx.x * dim;
    float ss = 0.0f;
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) {
        float v = xr[i];
        if (residual != nullptr) {
            v += residual[blockIdx.x * dim + i];
            xr[i] = v;
        }
        ss += v * v;
    }
    const float inv = rsqrtf(block_sum(ss) / static_cast<float>(dim) + eps);
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) y[blockIdx.x * dim + i] = xr[i] * inv * w[i];
}

__global__ void rms_norm_gated_kernel(float* x, const float* gate, const float* w, int64_t dim, float eps) {
    float* xr = x + blockIdx.x * dim;
    float ss = 0.0f;
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) ss += xr[i] * xr[i];
    const float inv = rsqrtf(block_sum(ss) / static_cast<float>(dim) + eps);
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) xr[i] = xr[i] * inv * w[i] * silu(gate[blockIdx.x * dim + i]);
}

__global__ void l2_norm_kernel(float* x, int64_t dim, float eps) {
    float* xr = x + blockIdx.x * dim;
    float ss = 0.0f;
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) ss += xr[i] * xr[i];
    const float inv = rsqrtf(block_sum(ss) + eps);
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) xr[i] *= inv;
}

__global__ void swiglu_kernel(float* gate, const float* up, int64_t n) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < n) gate[i] = silu(gate[i]) * up[i];
}

constexpr int kMaxConv = 8;

// y[t, c] depends only on the K inputs ending at t (tail rows before x[0]): every
// (t, c) is independent. The tail is updated by short_conv_tail_kernel afterwards.
__global__ void short_conv_kernel(const float* x, float* y, const float* weight, const float* tail, int64_t T, int64_t C, int K) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= T * C) return;
    const int64_t t = i / C, c = i % C;
    if (weight == nullptr) {
        y[i] = silu(x[i]);
        return;
    }
    float acc = 0.0f;
    for (int j = 0; j < K; ++j) {
        const int64_t u = t - (K - 1) + j;  // input time index; < 0: from the tail
        const float in = u < 0 ? tail[(K - 1 + u) * C + c] : x[u * C + c];
        acc += weight[c * K + j] * in;
    }
    y[i] = silu(acc);
}

// New tail: the last K−1 rows of (old tail ++ x).
__global__ void short_conv_tail_kernel(const float* x, float* tail, int64_t T, int64_t C, int K) {
    const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (c >= C) return;
    float hist[kMaxConv];
    for (int j = 0; j < K - 1; ++j) {
        const int64_t u = T - (K - 1) + j;
        hist[j] = u < 0 ? tail[(K - 1 + u) * C + c] : x[u * C + c];
    }
    for (int j = 0; j < K - 1; ++j) tail[j * C + c] = hist[j];
}

__global__ void gdn_gates_kernel(float* a, float* b, const float* a_log, const float* dt_bias, int64_t n, int64_t H) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const int64_t h = i % H;
    b[i] = 1.0f / (1.0f + expf(-b[i]));
    const float z = a[i] + dt_bias[h];
    const float sp = z > 20.0f ? z : log1pf(expf(z));
    a[i] = sp * -expf(a_log[h]);
}

// One thread per value column j of a head: it owns S[:, j] in registers.
template <int DK>
__global__ void gated_delta_rule_kernel(const float* q, const float* k, const float* v, const float* g, const float* beta,
                                        float* state, float* out, int64_t T, int64_t H, int64_t dv, float scale) {
    const int64_t h = blockIdx.x;
    const int64_t j = static_cast<int64_t>(blockIdx.y) * blockDim.x + threadIdx.x;
    __shared__ float qs[DK], ks[DK];
    const bool active = j < dv;
    float s[DK];
    float* sp = state + h * DK * dv;
#pragma unroll
    for (int i = 0; i < DK; ++i) s[i] = active ? sp[i * dv + j] : 0.0f;
    for (int64_t t = 0; t < T; ++t) {
        const int64_t qk = (t * H + h) * DK;
        for (int i = threadIdx.x; i < DK; i += blockDim.x) {
            qs[i] = q[qk + i];
            ks[i] = k[qk + i];
        }
        __syncthreads();
        const float decay = expf(g[t * H + h]), b = beta[t * H + h];
        float kv = 0.0f;
#pragma unroll
        for (int i = 0; i < DK; ++i) {
            s[i] *= decay;
            kv += ks[i] * s[i];
        }
        const float u = b * ((active ? v[(t * H + h) * dv + j] : 0.0f) - kv);
        float o = 0.0f;
#pragma unroll
        for (int i = 0; i < DK; ++i) {
            s[i] += ks[i] * u;
            o += qs[i] * s[i];
        }
        if (active) out[(t * H + h) * dv + j] = o * scale;
        __syncthreads();
    }
    if (active) {
#pragma unroll
        for (int i = 0; i < DK; ++i) sp[i * dv + j] = s[i];
    }
}

__global__ void rope_kernel(float* x, int64_t H, int64_t hd, const int64_t* position, float theta) {
    const int64_t t = blockIdx.x;
    const int64_t half = hd / 2;
    const float pos = static_cast<float>(*position + t);
    for (int64_t idx = threadIdx.x; idx < H * half; idx += blockDim.x) {
        const int64_t head = idx / half, i = idx % half;
        const float exponent = static_cast<float>(2 * i) / static_cast<float>(hd);
        const float inv_freq = 1.0f / powf(theta, exponent);
        const float angle = pos * inv_freq;
        const float c = static_cast<float>(cos(static_cast<double>(angle)));
        const float s = static_cast<float>(sin(static_cast<double>(angle)));
        float* r = x + (t * H + head) * hd;
        const float x1 = r[i], x2 = r[i + half];
        r[i] = x1 * c - x2 * s;
        r[i + half] = x2 * c + x1 * s;
    }
}

__global__ void argmax_kernel(const float* logits, int64_t n, int32_t* out) {
    float best = -INFINITY;
    int32_t best_i = INT32_MAX;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
        float l = logits[i];
        if (isnan(l)) l = -INFINITY;
        if (l > best || (l == best && i < best_i)) { best = l; best_i = static_cast<int32_t>(i); }
    }
    __shared__ float sv[1024];
    __shared__ int32_t si[1024];
    sv[threadIdx.x] = best;
    si[threadIdx.x] = best_i;
    __syncthreads();
    for (int stride = blockDim.x / 2; stride > 0; stride >>= 1) {
        if (threadIdx.x < stride) {
            const float ov = sv[threadIdx.x + stride];
            const int32_t oi = si[threadIdx.x + stride];
            if (ov > sv[threadIdx.x] || (ov == sv[threadIdx.x] && oi < si[threadIdx.x])) { sv[threadIdx.x] = ov; si[threadIdx.x] = oi; }
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) *out = si[0] == INT32_MAX ? 0 : si[0];
}

__global__ void advance_kernel(int64_t* position, int64_t n) { *position += n; }

}  // namespace

void embed(const int32_t* tokens, int64_t T, const void* table, WeightType type, int64_t dim, float* x, Stream stream) {
    embed_kernel<<<static_cast<unsigned>(T), 256, 0, stream>>>(tokens, table, type, dim, x);
}
void add_rms_norm(float* x, const float* residual, const float* weight, float* y, int64_t n_rows, int64_t dim, float eps,
                  Stream stream) {
    add_rms_norm_kernel<<<static_cast<unsigned>(n_rows), 256, 0, stream>>>(x, residual, weight, y, dim, eps);
}
void rms_norm_gated(float* x, const float* gate, const float* weight, int64_t n_rows, int64_t dim, float eps, Stream stream) {
    rms_norm_gated_kernel<<<static_cast<unsigned>(n_rows), 128, 0, stream>>>(x, gate, weight, dim, eps);
}
void l2_norm(float* x, int64_t n_rows, int64_t dim, float eps, Stream stream) {
    l2_norm_kernel<<<static_cast<unsigned>(n_rows), 64, 0, stream>>>(x, dim, eps);
}
void swiglu(float* gate, const float* up, int64_t n, Stream stream) {
    swiglu_kernel<<<blocks_for(n, 256), 256, 0, stream>>>(gate, up, n);
}
void short_conv_silu(const float* x, float* y, const float* weight, float* tail, int64_t T, int64_t C, int64_t K, Stream stream) {
    short_conv_kernel<<<blocks_for(T * C, 256), 256, 0, stream>>>(x, y, weight, tail, T, C, static_cast<int>(K));
    if (weight != nullptr && K > 1) short_conv_tail_kernel<<<blocks_for(C, 128), 128, 0, stream>>>(x, tail, T, C, static_cast<int>(K));
}
void gdn_gates(float* a, float* b, const float* a_log, const float* dt_bias, int64_t T, int64_t H, Stream stream) {
    gdn_gates_kernel<<<blocks_for(T * H, 128), 128, 0, stream>>>(a, b, a_log, dt_bias, T * H, H);
}
bool gated_delta_rule(const float* q, const float* k, const float* v, const float* g, const float* beta, float* state, float* out,
                      int64_t T, int64_t H, int64_t dk, int64_t dv, float scale, Stream stream) {
    constexpr int kThreads = 64;
    const dim3 grid(static_cast<unsigned>(H), static_cast<unsigned>(blocks_for(dv, kThreads)));
    switch (dk) {
        case 16: gated_delta_rule_kernel<16><<<grid, kThreads, 0, stream>>>(q, k, v, g, beta, state, out, T, H, dv, scale); return true;
        case 32: gated_delta_rule_kernel<32><<<grid, kThreads, 0, stream>>>(q, k, v, g, beta, state, out, T, H, dv, scale); return true;
        case 64: gated_delta_rule_kernel<64><<<grid, kThreads, 0, stream>>>(q, k, v, g, beta, state, out, T, H, dv, scale); return true;
        case 128: gated_delta_rule_kernel<128><<<grid, kThreads, 0, stream>>>(q, k, v, g, beta, state, out, T, H, dv, scale); return true;
        case 256: gated_delta_rule_kernel<256><<<grid, kThreads, 0, stream>>>(q, k, v, g, beta, state, out, T, H, dv, scale); return true;
        default: return false;
    }
}
void rope(float* x, int64_t T, int64_t H, int64_t hd, const int64_t* position, float theta, Stream stream) {
    rope_kernel<<<static_cast<unsigned>(T), 128, 0, stream>>>(x, H, hd, position, theta);
}
void argmax(const float* logits, int64_t n, int32_t* out, Stream stream) { argmax_kernel<<<1, 1024, 0, stream>>>(logits, n, out); }
void advance_position(int64_t* position, int64_t n, Stream stream) { advance_kernel<<<1, 1, 0, stream>>>(position, n); }

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

// Score of position p for head h when it leaves the window during the chunk.
__device__ __forceinline__ float leaving_score(int64_t p, int32_t h, const DeviceKvCache& c, const KvScratch& s, const int64_t* meta) {
    if (!c.learned) return 0.0f;
    if (p >= meta[kNextUnscored0]) {
        const int64_t first = meta[kPos0] - c.window_capacity;
        return s.new_scores[(p - first) * c.n_kv_heads + h];
    }
    const int32_t slot = ref_of_position(p, meta, c);  // scored before the chunk: still in the ring
    return c.scores[h * c.slots + slot];
}

__global__ void lte_score_kernel(DeviceKvCache c, KvChunk ch, LteScorerDevice sc, KvScratch s) {
    extern __shared__ float smem[];
    const int32_t h = blockIdx.x;
    const int64_t pos0 = *ch.position;
    const int64_t end = pos0 + ch.n_tokens;  // tokens known after the chunk
    const int64_t first = *sc.next_unscored;
    const int64_t last = end - 1 - sc.right;  // inclusive
    const int64_t hd = c.head_dim;
    const int32_t rf = sc.left + sc.right + 1;
    const int32_t g = sc.per_head_groups ? h : 0;
    // meta at the chunk start, as kv_plan will store it (it runs after this kernel).
    int64_t meta[8];
    meta[kPos0] = pos0;
    meta[kRingStart0] = c.window_meta[0];
    meta[kRingCount0] = c.window_meta[1];
    float* a = smem;                    // [rf][2 hd] activations
    float* b = smem + rf * 2 * hd;      // [rf][2 hd] next layer
    for (int64_t p = first + blockIdx.y; p <= last; p += gridDim.y) {
        // Input rows p − left .. p + right: [k_pre, v]; zeros before the sequence start.
        for (int64_t idx = threadIdx.x; idx < rf * 2 * hd; idx += blockDim.x) {
            const int64_t r = idx / (2 * hd), ch_i = idx % (2 * hd);
            const int64_t q = p - sc.left + r;
            float v = 0.0f;
            if (q >= 0) {
                const int32_t ref = ref_of_position(q, meta, c);
                v = ch_i < hd ? pre_rope_key_of(ref, h, c, ch)[ch_i] : value_of(ref, h, c, ch)[ch_i - hd];
            }
            a[idx] = v;
        }
        __syncthreads();
        // Layer l maps rows [lo_in, hi_in) to [lo_in + pad_left, hi_in − pad_right).
        int64_t lo = p - sc.left, rows = rf, cin = 2 * hd;
        for (int32_t l = 0; l < sc.n_layers; ++l) {
            const int32_t K = sc.kernel_size[l], d = sc.dilation[l];
            const int32_t pl = d * (K - 1) / 2, pr = d * (K - 1) - pl;
            const int64_t cout = sc.out_per_group[l];
            const int64_t out_rows = rows - pl - pr, out_lo = lo + pl;
            const float* w = sc.weight[l] + static_cast<int64_t>(g) * K * cin * cout;  // [K][cin][cout]
            const float* bias = sc.bias[l] != nullptr ? sc.bias[l] + g * cout : nullptr;
            for (int64_t idx = threadIdx.x; idx < out_rows * cout; idx += blockDim.x) {
                const int64_t r = idx / cout, o = idx % cout;
                const int64_t pos = out_lo + r;
                float acc = 0.0f;
                if (pos >= 0) {  // 'same' zero padding of every layer before the sequence start
                    acc = bias != nullptr ? bias[o] : 0.0f;
                    for (int32_t j = 0; j < K; ++j) {
                        const int64_t src = pos - pl + j * d;  // absolute position
                        if (src < 0) continue;
                        const float* in = a + (src - lo) * cin;
                        const float* wr = w + j * cin * cout + o;
                        for (int64_t c_i = 0; c_i < cin; ++c_i) acc += wr[c_i * cout] * in[c_i];
                    }
                    acc = silu(acc);
                }
                b[idx] = acc;
            }
            __syncthreads();
            for (int64_t idx = threadIdx.x; idx < out_rows * cout; idx += blockDim.x) a[idx] = b[idx];
            __syncthreads();
            lo = out_lo;
            rows = out_rows;
            cin = cout;
        }
        // rows == 1 now (row p).
        float partial = 0.0f;
        for (int64_t c_i = threadIdx.x; c_i < cin; c_i += blockDim.x) partial += sc.proj_weight[g * cin + c_i] * a[c_i];
        const float logit = block_sum(partial) + (sc.proj_bias != nullptr ? sc.proj_bias[g] : 0.0f);
        if (threadIdx.x == 0) {
            const float score = sc.relu ? fmaxf(logit, 0.0f) : 1.0f / (1.0f + expf(-logit)) - 0.5f;
            s.new_scores[(p - (pos0 - c.window_capacity)) * c.n_kv_heads + h] = score;
        }
        __syncthreads();
    }
}

// One warp per KV head walks the chunk token by token, exactly like KvCache's
// pop / keep_in_sink / offer_retained / push, but moving references, not data.
__global__ void kv_plan_kernel(DeviceKvCache c, KvChunk ch, const int64_t* next_unscored, KvScratch s) {
    extern __shared__ unsigned char plan_smem[];
    const int32_t h = blockIdx.x;
    const int lane = threadIdx.x;
    const int32_t S = c.sink_capacity, R = c.retained_capacity, SR = S + R;
    int64_t* pos = reinterpret_cast<int64_t*>(plan_smem);          // [SR]
    float* score = reinterpret_cast<float*>(pos + SR);              // [SR]
    int32_t* src = reinterpret_cast<int32_t*>(score + SR);          // [SR]
    int64_t meta[8];
    meta[kPos0] = *ch.position;
    meta[kRingStart0] = c.window_meta[0];
    meta[kRingCount0] = c.window_meta[1];
    meta[kNextUnscored0] = next_unscored != nullptr ? *next_unscored : 0;
    const int64_t pos0 = meta[kPos0];
    for (int32_t i = lane; i < SR; i += kWarp) {
        pos[i] = c.positions[h * c.slots + i];
        score[i] = c.scores[h * c.slots + i];
        src[i] = kUnchanged;
    }
    __syncwarp();
    int64_t ring_start = meta[kRingStart0], ring_count = meta[kRingCount0];
    int32_t sink = *c.sink_meta;
    for (int64_t t = 0; t < ch.n_tokens; ++t) {
        const int64_t now = pos0 + t;
        if (ring_count == c.window_capacity) {
            const int64_t leaving = now - ring_count;
            ring_start = (ring_start + 1) % c.window_capacity;
            --ring_count;
            const int32_t ref = ref_of_position(leaving, meta, c);
            if (leaving < S) {
                if (lane == 0 && sink < S) {
                    pos[sink] = leaving;
                    score[sink] = c.learned ? leaving_score(leaving, h, c, s, meta) : 0.0f;
                    src[sink] = ref;
                }
                if (sink < S) ++sink;
            } else if (c.learned) {
                const float sc = leaving_score(leaving, h, c, s, meta);
                if (sc > 0.0f && R > 0) {
                    // Free slot (lowest index), else the lowest-ranked entry (lowest
                    // score; among equal scores the highest position).
                    int32_t free_slot = INT32_MAX, worst = -1;
                    for (int32_t i = lane; i < R; i += kWarp) {
                        const int32_t slot = S + i;
                        if (pos[slot] < 0) {
                            if (slot < free_slot) free_slot = slot;
                        } else if (worst < 0 || score[slot] < score[worst] || (score[slot] == score[worst] && pos[slot] > pos[worst])) {
                            worst = slot;
                        }
                    }
                    for (int o = kWarp / 2; o > 0; o >>= 1) {
                        const int32_t of = __shfl_xor_sync(0xffffffffu, free_slot, o);
                        free_slot = of < free_slot ? of : free_slot;
                        const int32_t ow = __shfl_xor_sync(0xffffffffu, worst, o);
                        if (ow >= 0 && (worst < 0 || score[ow] < score[worst] || (score[ow] == score[worst] && pos[ow] > pos[worst])))
                            worst = ow;
                    }
                    int32_t target = free_slot != INT32_MAX ? free_slot : (sc > score[worst] ? worst : -1);
                    if (lane == 0 && target >= 0) {
                        pos[target] = leaving;
                        score[target] = sc;
                        src[target] = ref;
                    }
                }
            }
            __syncwarp();
        }
        ++ring_count;  // the new token enters the window
        // Visible sink/retained entries of token t, in slot order.
        int32_t* list = s.lists + (t * c.n_kv_heads + h) * SR;
        int32_t n = 0;
        for (int32_t base = 0; base < SR; base += kWarp) {
            const int32_t i = base + lane;
            const bool held = i < SR && (i < S ? i < sink : pos[i] >= 0);
            const unsigned mask = __ballot_sync(0xffffffffu, held);
            if (held) {
                const int32_t at = n + __popc(mask & ((1u << lane) - 1u));
                list[at] = src[i] != kUnchanged ? src[i] : i;
            }
            n += __popc(mask);
        }
        if (lane == 0) {
            s.counts[t * c.n_kv_heads + h] = n;
            if (h == 0) s.window_counts[t] = static_cast<int32_t>(ring_count);
        }
        __syncwarp();
    }
    // Sink and retained positions/scores are final now (their k/v move in kv_commit).
    for (int32_t i = lane; i < SR; i += kWarp) {
        c.positions[h * c.slots + i] = pos[i];
        c.scores[h * c.slots + i] = score[i];
        s.sources[h * SR + i] = src[i];
    }
    if (h == 0 && lane == 0) {
        s.meta[kPos0] = pos0;
        s.meta[kRingStart0] = meta[kRingStart0];
        s.meta[kRingCount0] = meta[kRingCount0];
        s.meta[kRingStart1] = ring_start;
        s.meta[kRingCount1] = ring_count;
        s.meta[kSink1] = sink;
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
    const int32_t SR = c.sink_capacity + c.retained_capacity;
    const int32_t* list = s.lists + (t * c.n_kv_heads + h) * SR;
    const int32_t n_list = s.counts[t * c.n_kv_heads + h];
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

__global__ void kv_combine_kernel(const float* partial, float* out, int32_t splits, int64_t hd) {
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
__global__ void kv_commit_kernel(DeviceKvCache c, KvChunk ch, LteScorerDevice sc, bool learned, KvScratch s) {
    const int32_t h = blockIdx.x;
    const int64_t hd = c.head_dim, width = static_cast<int64_t>(c.n_kv_heads) * hd;
    const int32_t SR = c.sink_capacity + c.retained_capacity;
    int64_t meta[8];
    for (int i = 0; i < 8; ++i) meta[i] = s.meta[i];
    const int64_t pos0 = meta[kPos0], end = pos0 + ch.n_tokens;
    // One warp per sink/retained slot: most slots are unchanged in a chunk (all but one
    // or two in a decode step), so the source is read once per slot, not once per value.
    const int lane = threadIdx.x % kWarp, warps = blockDim.x / kWarp;
    for (int32_t i = threadIdx.x / kWarp; i < SR; i += warps) {
        const int32_t ref = s.sources[h * SR + i];
        if (ref == kUnchanged) continue;
        const float* kp = key_of(ref, h, c, ch);
        const float* vp = value_of(ref, h, c, ch);
        for (int64_t d = lane; d < hd; d += kWarp) {
            c.keys[(h * c.slots + i) * hd + d] = kp[d];
            c.values[(h * c.slots + i) * hd + d] = vp[d];
        }
    }
    __syncthreads();
    const int64_t base = SR;
    const int64_t ring_start = meta[kRingStart1], ring_count = meta[kRingCount1];
    const int64_t next_old = learned ? *sc.next_unscored : 0;
    const int64_t scored_end = learned ? end - sc.right : 0;  // positions < scored_end have final scores now
    // Only entries that entered during the chunk move (chunk rows); older ones may get a score.
    const int64_t first_new = ring_count - (end - pos0 < ring_count ? end - pos0 : ring_count);
    for (int64_t idx = threadIdx.x; idx < (ring_count - first_new) * hd; idx += blockDim.x) {
        const int64_t i = first_new + idx / hd, d = idx % hd;
        const int64_t p = end - ring_count + i, row = p - pos0;
        const int64_t slot = base + (ring_start + i) % c.window_capacity;
        c.keys[(h * c.slots + slot) * hd + d] = ch.k[row * width + h * hd + d];
        c.values[(h * c.slots + slot) * hd + d] = ch.v[row * width + h * hd + d];
        if (c.pre_rope != nullptr) c.pre_rope[(slot - base) * width + h * hd + d] = ch.k_pre[row * width + h * hd + d];
    }
    // Scores change only for entries new in this chunk and (LTE) entries scored now.
    int64_t first_scored = first_new;
    if (learned) {
        const int64_t from = next_old - (end - ring_count);
        first_scored = from < 0 ? 0 : (from < first_new ? from : first_new);
    }
    for (int64_t i = first_scored + threadIdx.x; i < ring_count; i += blockDim.x) {
        const int64_t p = end - ring_count + i;
        const int64_t slot = base + (ring_start + i) % c.window_capacity;
        if (p >= pos0) {
            c.positions[h * c.slots + slot] = p;
            c.scores[h * c.slots + slot] = 0.0f;
        }
        if (learned && p >= next_old && p < scored_end)
            c.scores[h * c.slots + slot] = s.new_scores[(p - (pos0 - c.window_capacity)) * c.n_kv_heads + h];
    }
    __syncthreads();
    if (h == 0 && threadIdx.x == 0) {
        c.window_meta[0] = ring_start;
        c.window_meta[1] = ring_count;
        *c.sink_meta = static_cast<int32_t>(meta[kSink1]);
    }
}

// After every head's commit: the LTE scorer's next unscored position.
__global__ void lte_advance_kernel(LteScorerDevice sc, const int64_t* position, int64_t n_tokens) {
    const int64_t scored_end = *position + n_tokens - sc.right;
    if (scored_end > *sc.next_unscored) *sc.next_unscored = scored_end;
}

}  // namespace

void lte_score(const DeviceKvCache& c, const KvChunk& ch, const LteScorerDevice& sc, const KvScratch& s, Stream stream) {
    const int32_t rf = sc.left + sc.right + 1;
    const size_t smem = static_cast<size_t>(2 * rf * 2 * c.head_dim) * sizeof(float);
    const int64_t targets = ch.n_tokens + c.window_capacity;
    const unsigned ys = static_cast<unsigned>(targets < 64 ? targets : 64);
    // 512 threads: in a decode step one block per head scores one position, a few
    // hundred thousand multiply-adds over its receptive field (128 threads took ~190 µs).
    lte_score_kernel<<<dim3(static_cast<unsigned>(c.n_kv_heads), ys), 512, smem, stream>>>(c, ch, sc, s);
}

void kv_plan(const DeviceKvCache& c, const KvChunk& ch, const LteScorerDevice* sc, const KvScratch& s, Stream stream) {
    const int64_t SR = c.sink_capacity + c.retained_capacity;
    const size_t smem = static_cast<size_t>(SR) * (sizeof(int64_t) + sizeof(float) + sizeof(int32_t));
    kv_plan_kernel<<<static_cast<unsigned>(c.n_kv_heads), kWarp, smem, stream>>>(c, ch, sc != nullptr ? sc->next_unscored : nullptr, s);
}

void kv_attend(const DeviceKvCache& c, const KvChunk& ch, const float* q, int32_t n_q_heads, float* out, const KvScratch& s,
               Stream stream) {
    const int per_lane = (c.head_dim + kWarp - 1) / kWarp;
    const int32_t G = n_q_heads / c.n_kv_heads;
    if (c.sink_capacity + c.retained_capacity == 0 && G <= kTileRows && kTileRows % G == 0 && ch.n_tokens > 1) {
        const int64_t per_block = kTileRows / G;
        const dim3 tiles(static_cast<unsigned>((ch.n_tokens + per_block - 1) / per_block), static_cast<unsigned>(c.n_kv_heads),
                         static_cast<unsigned>(s.splits));
        const size_t smem = static_cast<size_t>(kKeyTile * (2 * c.head_dim + 1) + kTileRows * c.head_dim) * sizeof(float);
        const auto launch = [&](auto kernel) {
            static bool configured = false;  // > 48 KiB of shared memory for head sizes above 128
            if (!configured) {
                cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, 96 * 1024);
                configured = true;
            }
            kernel<<<tiles, kAttnWarps * kWarp, smem, stream>>>(c, ch, q, n_q_heads, out, s);
        };
        if (per_lane <= 1) launch(kv_attend_window_kernel<1>);
        else if (per_lane <= 2) launch(kv_attend_window_kernel<2>);
        else if (per_lane <= 4) launch(kv_attend_window_kernel<4>);
        else launch(kv_attend_window_kernel<8>);
        if (s.splits > 1)
            kv_combine_kernel<<<static_cast<unsigned>(ch.n_tokens * n_q_heads), 128, 0, stream>>>(s.partial, out, s.splits, c.head_dim);
        return;
    }
    const dim3 grid(static_cast<unsigned>(ch.n_tokens), static_cast<unsigned>(c.n_kv_heads), static_cast<unsigned>(s.splits));
    if (per_lane <= 1) kv_attend_kernel<1><<<grid, kAttnWarps * kWarp, 0, stream>>>(c, ch, q, n_q_heads, out, s);
    else if (per_lane <= 2) kv_attend_kernel<2><<<grid, kAttnWarps * kWarp, 0, stream>>>(c, ch, q, n_q_heads, out, s);
    else if (per_lane <= 4) kv_attend_kernel<4><<<grid, kAttnWarps * kWarp, 0, stream>>>(c, ch, q, n_q_heads, out, s);
    else kv_attend_kernel<8><<<grid, kAttnWarps * kWarp, 0, stream>>>(c, ch, q, n_q_heads, out, s);
    if (s.splits > 1)
        kv_combine_kernel<<<static_cast<unsigned>(ch.n_tokens * n_q_heads), 128, 0, stream>>>(s.partial, out, s.splits, c.head_dim);
}

void kv_commit(const DeviceKvCache& c, const KvChunk& ch, const LteScorerDevice* sc, const KvScratch& s, Stream stream) {
    LteScorerDevice none;
    kv_commit_kernel<<<static_cast<unsigned>(c.n_kv_heads), 512, 0, stream>>>(c, ch, sc != nullptr ? *sc : none, sc != nullptr, s);
    if (sc != nullptr) lte_advance_kernel<<<1, 1, 0, stream>>>(*sc, ch.position, ch.n_tokens);
}

}  // namespace mnemo::cuda

// ---------------------------------------------------------------- native sparse attention
namespace mnemo::cuda {
namespace {

__global__ void sigmoid_kernel(float* x, int64_t n) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < n) x[i] = 1.0f / (1.0f + expf(-x[i]));
}

__global__ void nsa_append_kernel(DeviceNsa n, const float* k, const float* v, int64_t T, const int64_t* position) {
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
    sigmoid_kernel<<<blocks_for(T * n.n_q_heads * 3, 256), 256, 0, stream>>>(gates, T * n.n_q_heads * 3);
    nsa_append_kernel<<<dim3(static_cast<unsigned>(T), static_cast<unsigned>(n.n_kv_heads)), 64, 0, stream>>>(n, k, v, T, position);
    const unsigned blocks = static_cast<unsigned>(T / n.block_size + 2);
    nsa_compress_kernel<<<dim3(blocks, static_cast<unsigned>(n.n_kv_heads)), 64, 0, stream>>>(n, T, position);
    const int32_t G = n.n_q_heads / n.n_kv_heads;
    const int threads = kWarp * (G < 8 ? G : 8);
    const size_t smem = sizeof(int32_t) * static_cast<size_t>(n.n_select) + static_cast<size_t>(n.n_blocks);
    const dim3 grid(static_cast<unsigned>(T), static_cast<unsigned>(n.n_kv_heads));
    const int per_lane = (n.head_dim + kWarp - 1) / kWarp;
    if (per_lane <= 1) nsa_attend_kernel<1><<<grid, threads, smem, stream>>>(n, q, gates, out, s, T, position);
    else if (per_lane <= 2) nsa_attend_kernel<2><<<grid, threads, smem, stream>>>(n, q, gates, out, s, T, position);
    else if (per_lane <= 4) nsa_attend_kernel<4><<<grid, threads, smem, stream>>>(n, q, gates, out, s, T, position);
    else nsa_attend_kernel<8><<<grid, threads, smem, stream>>>(n, q, gates, out, s, T, position);
}

}  // namespace mnemo::cuda
