// The gated delta rule in chunked (WY / UT) form for prefill, the form of
// flash-linear-attention's chunk kernels: the sequential dependency is one step per chunk
// of kGdnChunk tokens instead of one per token.
//
// Per head, in a chunk of n tokens with cumulative log-decay G_t (G = prefix sum of g),
// state S0 [dk, dv] at the chunk start, and u_t the delta rule's update:
//   (I + A) U = β⊙V − diag(β e^G) K S0,   A[t][s] = β_t e^{G_t−G_s} k_t·k_s  (s < t)
//   ⇒ U = U_v − W S0 with U_v = (I+A)⁻¹ (β⊙V), W = (I+A)⁻¹ diag(β e^G) K
//   O = scale · (diag(e^G) Q S0 + P U),   P[t][s] = e^{G_t−G_s} q_t·k_s  (s ≤ t)
//   S1 = e^{G_n} S0 + Σ_s e^{G_n−G_s} k_s u_sᵀ
// Pass 1 (every chunk and head in parallel) forms P, W and U_v, which do not depend on
// the state; pass 2 walks the chunks in order per (head, 32 value columns), the state
// tile in shared memory.
#include "ops.h"

#include <cuda_runtime.h>

#include <algorithm>

namespace mnemo::cuda {
namespace {

constexpr int C = static_cast<int>(kGdnChunk);

// Pass 1, one block per (chunk, head). Shared: k and q rows (padded: the dot products
// read rows s across threads), A, G and β of the chunk.
constexpr int kPrepareThreads = 256;  // x[C] per thread: more threads would exceed the register file

template <int DK>
__global__ void __launch_bounds__(kPrepareThreads) gdn_chunk_prepare_kernel(const float* q, const float* k, const float* v, const float* g, const float* beta,
                                         int64_t T, int64_t H, int64_t dv, float* w_out, float* u_out, float* p_out,
                                         float* g_out) {
    extern __shared__ float smem[];
    constexpr int KS = DK + 1;
    float* ks = smem;             // [C][KS]
    float* qs = ks + C * KS;      // [C][KS]
    float* a = qs + C * KS;       // [C][C]
    float* G = a + C * C;         // [C]
    float* b = G + C;             // [C]
    const int64_t c = blockIdx.x, h = blockIdx.y, t0 = c * C;
    const int n = static_cast<int>(T - t0 < C ? T - t0 : C);
    for (int idx = threadIdx.x; idx < C * DK; idx += blockDim.x) {
        const int t = idx / DK, i = idx % DK;
        const bool in = t < n;
        ks[t * KS + i] = in ? k[((t0 + t) * H + h) * DK + i] : 0.0f;
        qs[t * KS + i] = in ? q[((t0 + t) * H + h) * DK + i] : 0.0f;
    }
    if (threadIdx.x == 0) {
        float acc = 0.0f;
        for (int t = 0; t < C; ++t) {
            if (t < n) acc += g[(t0 + t) * H + h];
            G[t] = acc;
            b[t] = t < n ? beta[(t0 + t) * H + h] : 0.0f;
        }
    }
    __syncthreads();
    float* p = p_out + (c * H + h) * C * C;
    for (int idx = threadIdx.x; idx < C * C; idx += blockDim.x) {
        const int t = idx / C, s = idx % C;
        float kk = 0.0f, qk = 0.0f;
        if (t < n && s <= t) {
            for (int i = 0; i < DK; ++i) {
                kk += ks[t * KS + i] * ks[s * KS + i];
                qk += qs[t * KS + i] * ks[s * KS + i];
            }
        }
        const float decay = (t < n && s <= t) ? expf(G[t] - G[s]) : 0.0f;
        a[t * C + s] = s < t ? b[t] * decay * kk : 0.0f;
        p[t * C + s] = qk * decay;
    }
    for (int t = threadIdx.x; t < n; t += blockDim.x) g_out[(t0 + t) * H + h] = G[t];
    __syncthreads();
    // Forward substitution (I + A) X = B, one column per thread: columns < DK give W
    // (B = β e^G K), the rest U_v (B = β V).
    for (int64_t col = threadIdx.x; col < DK + dv; col += blockDim.x) {
        float x[C];
#pragma unroll
        for (int t = 0; t < C; ++t) {
            float acc;
            if (col < DK) acc = b[t] * expf(G[t]) * ks[t * KS + col];
            else acc = t < n ? b[t] * v[((t0 + t) * H + h) * dv + (col - DK)] : 0.0f;
#pragma unroll
            for (int s = 0; s < t; ++s) acc -= a[t * C + s] * x[s];
            x[t] = acc;
        }
#pragma unroll
        for (int t = 0; t < C; ++t) {
            if (t >= n) break;
            if (col < DK) w_out[((t0 + t) * H + h) * DK + col] = x[t];
            else u_out[((t0 + t) * H + h) * dv + (col - DK)] = x[t];
        }
    }
}

// Rows t < n of a [T][H][width] tensor for head h, chunk start t0, into tile[C][width].
__device__ void load_rows(float* tile, const float* src, int64_t t0, int n, int64_t H, int64_t h, int width) {
    for (int idx = threadIdx.x; idx < n * width; idx += blockDim.x) {
        const int t = idx / width, i = idx % width;
        tile[idx] = src[((t0 + t) * H + h) * width + i];
    }
}

// Pass 2, one block per (head, 32 value columns), 8 warps; lanes are columns.
constexpr int kStateWarps = 8;
constexpr int kRowsPerWarp = C / kStateWarps;

// acc[r] += rows[tw + r] · S[:, lane] for a warp's kRowsPerWarp rows of a [C][DK] tile: each
// shared row read four floats at a time (the same address across the warp), S's column once.
template <int DK>
__device__ __forceinline__ void rows_times_state(const float* rows, const float* S, int tw, int lane, float (&acc)[kRowsPerWarp]) {
    for (int i = 0; i < DK; i += 4) {
        const float s0 = S[i * 32 + lane], s1 = S[(i + 1) * 32 + lane], s2 = S[(i + 2) * 32 + lane], s3 = S[(i + 3) * 32 + lane];
#pragma unroll
        for (int r = 0; r < kRowsPerWarp; ++r) {
            const float4 x = *reinterpret_cast<const float4*>(&rows[(tw + r) * DK + i]);
            acc[r] += x.x * s0 + x.y * s1 + x.z * s2 + x.w * s3;
        }
    }
}

template <int DK>
__global__ void gdn_chunk_state_kernel(const float* q, const float* k, const float* w, const float* u, const float* p,
                                       const float* gcum, float* state, float* out, int64_t T, int64_t H, int64_t dv,
                                       float scale) {
    extern __shared__ float smem[];
    float* S = smem;               // [DK][32]
    float* U = S + DK * 32;        // [C][32]
    float* P = U + C * 32;         // [C][C]
    float* tile = P + C * C;       // [C][DK]: W, then Q, then K of the chunk
    float* eg = tile + C * DK;     // [C] e^{G_t}
    float* tail = eg + C;          // [C] e^{G_n − G_s}
    const int64_t h = blockIdx.x;
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
    const int64_t j = static_cast<int64_t>(blockIdx.y) * 32 + lane;
    const bool active = j < dv;
    float* sp = state + h * DK * dv;
    for (int i = warp; i < DK; i += warps) S[i * 32 + lane] = active ? sp[i * dv + j] : 0.0f;
    const int64_t n_chunks = (T + C - 1) / C;
    for (int64_t c = 0; c < n_chunks; ++c) {
        const int64_t t0 = c * C;
        const int n = static_cast<int>(T - t0 < C ? T - t0 : C);
        load_rows(tile, w, t0, n, H, h, DK);
        for (int idx = threadIdx.x; idx < C * C; idx += blockDim.x) P[idx] = p[(c * H + h) * C * C + idx];
        for (int t = threadIdx.x; t < n; t += blockDim.x) {
            const float Gt = gcum[(t0 + t) * H + h], Gn = gcum[(t0 + n - 1) * H + h];
            eg[t] = expf(Gt);
            tail[t] = expf(Gn - Gt);
        }
        __syncthreads();
        // Each warp owns kRowsPerWarp consecutive rows t (U, O) or DK / 8 rows i (S), a lane a
        // column: the shared row (W, Q, P, K) is read four floats at a time for all of them, the
        // column's S or U value once per four products.
        const int tw = warp * kRowsPerWarp;
        // U = U_v − W S0
        {
            float acc[kRowsPerWarp] = {};
            rows_times_state<DK>(tile, S, tw, lane, acc);
#pragma unroll
            for (int r = 0; r < kRowsPerWarp; ++r) {
                const int t = tw + r;
                if (t < n) U[t * 32 + lane] = (active ? u[((t0 + t) * H + h) * dv + j] : 0.0f) - acc[r];
            }
        }
        __syncthreads();
        load_rows(tile, q, t0, n, H, h, DK);
        __syncthreads();
        // O = scale · (e^G Q S0 + P U); P[t][s] is 0 for s > t.
        {
            float qs[kRowsPerWarp] = {}, pu[kRowsPerWarp] = {};
            rows_times_state<DK>(tile, S, tw, lane, qs);
            const int s_end = min(n, tw + kRowsPerWarp);  // rows of U this warp's rows see
            for (int s0 = 0; s0 < s_end; s0 += 4) {
                float uc[4];
#pragma unroll
                for (int e = 0; e < 4; ++e) uc[e] = s0 + e < n ? U[(s0 + e) * 32 + lane] : 0.0f;
#pragma unroll
                for (int r = 0; r < kRowsPerWarp; ++r) {
                    const float4 pr = *reinterpret_cast<const float4*>(&P[(tw + r) * C + s0]);
                    pu[r] += pr.x * uc[0] + pr.y * uc[1] + pr.z * uc[2] + pr.w * uc[3];
                }
            }
#pragma unroll
            for (int r = 0; r < kRowsPerWarp; ++r) {
                const int t = tw + r;
                if (active && t < n) out[((t0 + t) * H + h) * dv + j] = scale * (eg[t] * qs[r] + pu[r]);
            }
        }
        __syncthreads();
        load_rows(tile, k, t0, n, H, h, DK);
        __syncthreads();
        // S1 = e^{G_n} S0 + Σ_s e^{G_n − G_s} k_s u_sᵀ
        {
            constexpr int kStateRows = DK / 8;
            const int i0 = warp * kStateRows;
            const float total = eg[n - 1];
            float acc[kStateRows];
#pragma unroll
            for (int r = 0; r < kStateRows; ++r) acc[r] = total * S[(i0 + r) * 32 + lane];
            for (int s = 0; s < n; ++s) {
                const float coef = tail[s] * U[s * 32 + lane];
#pragma unroll
                for (int r = 0; r < kStateRows; r += 2) {
                    const float2 kr = *reinterpret_cast<const float2*>(&tile[s * DK + i0 + r]);
                    acc[r] += kr.x * coef;
                    acc[r + 1] += kr.y * coef;
                }
            }
#pragma unroll
            for (int r = 0; r < kStateRows; ++r) S[(i0 + r) * 32 + lane] = acc[r];
        }
        __syncthreads();
    }
    if (active)
        for (int i = warp; i < DK; i += warps) sp[i * dv + j] = S[i * 32 + lane];
}

template <int DK>
bool launch_chunked(const float* q, const float* k, const float* v, const float* g, const float* beta, float* state, float* out,
                    int64_t T, int64_t H, int64_t dv, float scale, const GdnChunkScratch& s, Stream stream) {
    const int64_t n_chunks = (T + C - 1) / C;
    const size_t smem1 = (2 * C * (DK + 1) + C * C + 2 * C) * sizeof(float);
    const size_t smem2 = (DK * 32 + C * 32 + C * C + C * DK + 2 * C) * sizeof(float);
    static bool configured = false;  // opt in to > 48 KiB of dynamic shared memory once
    if (!configured) {
        if (cudaFuncSetAttribute(gdn_chunk_prepare_kernel<DK>, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem1)) !=
                cudaSuccess ||
            cudaFuncSetAttribute(gdn_chunk_state_kernel<DK>, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem2)) !=
                cudaSuccess)
            return false;
        configured = true;
    }
    const int threads1 = static_cast<int>(std::min<int64_t>(kPrepareThreads, (DK + dv + 31) / 32 * 32));
    gdn_chunk_prepare_kernel<DK><<<dim3(static_cast<unsigned>(n_chunks), static_cast<unsigned>(H)), threads1, smem1, stream>>>(
        q, k, v, g, beta, T, H, dv, s.w, s.u, s.p, s.g);
    gdn_chunk_state_kernel<DK><<<dim3(static_cast<unsigned>(H), static_cast<unsigned>((dv + 31) / 32)), kStateWarps * 32, smem2, stream>>>(
        q, k, s.w, s.u, s.p, s.g, state, out, T, H, dv, scale);
    return cudaPeekAtLastError() == cudaSuccess;  // a launch refused (resources) is an error, not garbage
}

}  // namespace

int64_t gdn_chunk_scratch_floats(int64_t max_tokens, int64_t n_heads, int64_t dk, int64_t dv, int64_t* w, int64_t* u, int64_t* p,
                                 int64_t* g) {
    const int64_t chunks = (max_tokens + C - 1) / C;
    *w = max_tokens * n_heads * dk;
    *u = max_tokens * n_heads * dv;
    *p = chunks * n_heads * C * C;
    *g = max_tokens * n_heads;
    return *w + *u + *p + *g;
}

bool gated_delta_rule_chunked(const float* q, const float* k, const float* v, const float* g, const float* beta, float* state,
                              float* out, int64_t T, int64_t H, int64_t dk, int64_t dv, float scale, const GdnChunkScratch& s,
                              Stream stream) {
    switch (dk) {
        case 16: return launch_chunked<16>(q, k, v, g, beta, state, out, T, H, dv, scale, s, stream);
        case 32: return launch_chunked<32>(q, k, v, g, beta, state, out, T, H, dv, scale, s, stream);
        case 64: return launch_chunked<64>(q, k, v, g, beta, state, out, T, H, dv, scale, s, stream);
        case 128: return launch_chunked<128>(q, k, v, g, beta, state, out, T, H, dv, scale, s, stream);
        case 256: return launch_chunked<256>(q, k, v, g, beta, state, out, T, H, dv, scale, s, stream);
        default: return false;
    }
}

}  // namespace mnemo::cuda
