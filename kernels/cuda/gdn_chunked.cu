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
// the state; pass 2 walks the chunks in order per (head, 8 value columns), the state tile in
// shared memory, forming U and the state at every chunk start; pass 3 (every chunk in parallel)
// forms the outputs from them.
#include "copy_async.cuh"
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
    constexpr int KS = DK + 4;  // 16-byte rows
    float* ks = smem;             // [C][KS]
    float* qs = ks + C * KS;      // [C][KS]
    float* a = qs + C * KS;       // [C][C]
    float* G = a + C * C;         // [C]
    float* b = G + C;             // [C]
    float* eb = b + C;            // [C] β e^G (then V [C][dv] when dv > KS)
    const int64_t c = blockIdx.x, h = blockIdx.y, t0 = c * C;
    const int n = static_cast<int>(T - t0 < C ? T - t0 : C);
    stage_rows_async(ks, KS, KS, k + (t0 * H + h) * DK, H * DK, C, n, DK);
    stage_rows_async(qs, KS, KS, q + (t0 * H + h) * DK, H * DK, C, n, DK);
    copy_async_commit();
    // The gates in parallel, then their prefix sum in token order by one thread (the CPU's order):
    // loading them in that thread's loop chained 64 global loads.
    for (int t = threadIdx.x; t < C; t += blockDim.x) {
        G[t] = t < n ? g[(t0 + t) * H + h] : 0.0f;
        b[t] = t < n ? beta[(t0 + t) * H + h] : 0.0f;
    }
    copy_async_wait<0>();
    __syncthreads();
    if (threadIdx.x == 0) {
        float acc = 0.0f;
        for (int t = 0; t < C; ++t) {
            if (t < n) acc += G[t];
            G[t] = acc;
        }
    }
    __syncthreads();
    // P and A in 4 × 4 tiles of (t, s), rows t = 4·tt + r and s = ts + 16·j: the tile's rows are read
    // four floats at a time (a quarter-warp's rows s fall in distinct banks: KS ≡ 4 mod 32), each
    // sum still over i in order, so the bits are those of a dot product per pair.
    static_assert(C == 64, "the tiling assumes chunks of 64 tokens");
    float* p = p_out + (c * H + h) * C * C;
    for (int tile = threadIdx.x; tile < (C / 4) * (C / 4); tile += blockDim.x) {
        const int tr = tile / (C / 4) * 4, ts = tile % (C / 4);
        float kk[4][4] = {}, qk[4][4] = {};
        if (tr < n && ts <= tr + 3) {  // some pair with s <= t < n
            for (int i = 0; i < DK; i += 4) {
                float4 kt[4], qt[4], kx[4];
#pragma unroll
                for (int r = 0; r < 4; ++r) {
                    kt[r] = *reinterpret_cast<const float4*>(&ks[(tr + r) * KS + i]);
                    qt[r] = *reinterpret_cast<const float4*>(&qs[(tr + r) * KS + i]);
                    kx[r] = *reinterpret_cast<const float4*>(&ks[(ts + 16 * r) * KS + i]);
                }
#pragma unroll
                for (int r = 0; r < 4; ++r)
#pragma unroll
                    for (int j = 0; j < 4; ++j) {
                        kk[r][j] += kt[r].x * kx[j].x;
                        kk[r][j] += kt[r].y * kx[j].y;
                        kk[r][j] += kt[r].z * kx[j].z;
                        kk[r][j] += kt[r].w * kx[j].w;
                        qk[r][j] += qt[r].x * kx[j].x;
                        qk[r][j] += qt[r].y * kx[j].y;
                        qk[r][j] += qt[r].z * kx[j].z;
                        qk[r][j] += qt[r].w * kx[j].w;
                    }
            }
        }
#pragma unroll
        for (int r = 0; r < 4; ++r)
#pragma unroll
            for (int j = 0; j < 4; ++j) {
                const int t = tr + r, s = ts + 16 * j;
                const bool pair = t < n && s <= t;
                const float decay = pair ? expf(G[t] - G[s]) : 0.0f;
                a[t * C + s] = pair && s < t ? b[t] * decay * kk[r][j] : 0.0f;
                p[t * C + s] = pair ? qk[r][j] * decay : 0.0f;
            }
    }
    for (int t = threadIdx.x; t < n; t += blockDim.x) g_out[(t0 + t) * H + h] = G[t];
    __syncthreads();
    // V's rows (zero past n) where Q's were (after b when dv > KS), and β e^G: the substitution then
    // reads no global memory. (Writing V to a region of its own made ptxas spill x[C].)
    const int VS = dv <= KS ? KS : static_cast<int>(dv);
    float* vs = dv <= KS ? qs : b + 2 * C;
    stage_rows_async(vs, VS, VS, v + (t0 * H + h) * dv, H * dv, C, n, static_cast<int>(dv));
    copy_async_commit();
    for (int t = threadIdx.x; t < C; t += blockDim.x) eb[t] = b[t] * expf(G[t]);
    copy_async_wait<0>();
    __syncthreads();
    // Forward substitution (I + A) X = B, one column per thread: columns < DK give W
    // (B = β e^G K), the rest U_v (B = β V).
    for (int64_t col = threadIdx.x; col < DK + dv; col += blockDim.x) {
        float x[C];
#pragma unroll
        for (int t = 0; t < C; ++t) {
            float acc = col < DK ? eb[t] * ks[t * KS + col] : b[t] * vs[t * VS + (col - DK)];
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

// acc[r] += rows[r0 + r] · S[:, col] for R consecutive rows of a [C][DK] tile, S [DK][Cols] in
// shared memory: each row read four floats at a time (one address for all the threads of a
// column group), S's column once per four products.
template <int DK, int Cols, int R>
__device__ __forceinline__ void rows_times_state(const float* rows, const float* S, int r0, int col, float (&acc)[R]) {
    for (int i = 0; i < DK; i += 4) {
        const float s0 = S[i * Cols + col], s1 = S[(i + 1) * Cols + col], s2 = S[(i + 2) * Cols + col], s3 = S[(i + 3) * Cols + col];
#pragma unroll
        for (int r = 0; r < R; ++r) {
            const float4 x = *reinterpret_cast<const float4*>(&rows[(r0 + r) * DK + i]);
            acc[r] += x.x * s0 + x.y * s1 + x.z * s2 + x.w * s3;
        }
    }
}

// Pass 2, sequential over the chunks, one block per (head, state_cols value columns): U = U_v − W S
// (written over U_v), the state at each chunk's start kept for pass 3, and the state update
// S ← e^{G_n} S + Σ_s e^{G_n − G_s} k_s u_sᵀ. A group of state_cols threads holds the columns;
// group hw owns C / groups rows of U and DK / groups rows of S, and reads the shared rows of W and
// K four (two) floats at a time for all of them. The output O = e^G Q S + P U needs no order: pass 3.
// Only S carries from one chunk to the next, so the next chunk's W, K, U_v and G are copied into
// shared memory (cp.async) while this one computes: a step then waits on no global load.
// Threads a block of pass 2: a chunk step is bound by the latency of its dependent shared-memory
// reads, so more threads with fewer rows each (DK / groups rows of S, C / groups of U).
template <int DK>
__host__ __device__ constexpr int state_threads() { return DK >= 64 ? 512 : 256; }
// Value columns a block of pass 2 owns: 8 (16 at key head size 16, where a group of 8 threads
// would own half a row of S), so the 0.4B shape's 8 heads × 128 columns make 128 blocks.
template <int DK>
__host__ __device__ constexpr int state_cols() { return DK >= 32 ? 8 : 16; }
// Chunks whose inputs are in shared memory at once: two (this one and the next) up to key head
// size 128; at 256 the W and K tiles of two chunks would not fit, and the copy waits each step.
template <int DK>
__host__ __device__ constexpr int state_stages() { return DK <= 128 ? 2 : 1; }
// Floats of one stage: the W and K tiles [C][DK], U_v [C][state_cols], G [C].
template <int DK>
__host__ __device__ constexpr int state_stage_floats() { return 2 * C * DK + C * state_cols<DK>() + C; }
// Floats between the state's columns in shared memory: a column is read four values at a time,
// and lanes of different columns fall in distinct banks (DK + 4 ≡ 4 mod 32 words).
template <int DK>
__host__ __device__ constexpr int state_row() { return DK + 4; }

// Chunk c's inputs of pass 2 into one stage: rows t < n of W and K (16-byte copies), this block's
// U_v columns (zero past dv) and G. Not stage_rows_async: its run-time row width cost this
// sequential pass ~4 % of 16K prefill (bench/results/cuda/2026-11-26/m_review/).
template <int DK>
__device__ void copy_state_inputs(float* stage, const float* w, const float* k, const float* u, const float* gcum, int64_t c, int64_t T,
                                  int64_t H, int64_t h, int64_t dv, int64_t j0) {
    constexpr int kStateCols = state_cols<DK>(), kVec = DK / 4;
    float* wt = stage;
    float* kt = wt + C * DK;
    float* uv = kt + C * DK;
    float* G = uv + C * kStateCols;
    const int64_t t0 = c * C;
    const int n = static_cast<int>(T - t0 < C ? T - t0 : C);
    for (int idx = threadIdx.x; idx < n * kVec; idx += blockDim.x) {
        const int t = idx / kVec, i = (idx % kVec) * 4;
        const int64_t row = ((t0 + t) * H + h) * DK + i;
        copy_async<16>(wt + t * DK + i, w + row);
        copy_async<16>(kt + t * DK + i, k + row);
    }
    for (int idx = threadIdx.x; idx < n * kStateCols; idx += blockDim.x) {
        const int t = idx / kStateCols, col = idx % kStateCols;
        if (j0 + col < dv) copy_async<4>(uv + idx, u + ((t0 + t) * H + h) * dv + j0 + col);
        else uv[idx] = 0.0f;
    }
    for (int t = threadIdx.x; t < n; t += blockDim.x) copy_async<4>(G + t, gcum + (t0 + t) * H + h);
}

template <int DK>
__global__ void __launch_bounds__(state_threads<DK>()) gdn_chunk_state_kernel(const float* k, const float* w, float* u, const float* gcum,
                                                                         float* state, float* h_out, int64_t T, int64_t H, int64_t dv) {
    constexpr int kStateCols = state_cols<DK>(), kGroups = state_threads<DK>() / kStateCols, kURows = C / kGroups;
    constexpr int kStages = state_stages<DK>(), kStage = state_stage_floats<DK>(), SS = state_row<DK>();
    extern __shared__ float smem[];
    float* S = smem;                     // [kStateCols][SS]: a column's DK values side by side
    float* coef = S + kStateCols * SS;   // [C][kStateCols] e^{G_n − G_s} u_s
    float* stages = coef + C * kStateCols;  // kStages × (W [C][DK], K [C][DK], U_v [C][kStateCols], G [C])
    const int64_t h = blockIdx.x;
    const int col = threadIdx.x % kStateCols, hw = threadIdx.x / kStateCols;
    const int64_t j0 = static_cast<int64_t>(blockIdx.y) * kStateCols, j = j0 + col;
    const bool active = j < dv;
    float* sp = state + h * DK * dv;
    float* scol = S + col * SS;
    for (int i = hw; i < DK; i += kGroups) scol[i] = active ? sp[i * dv + j] : 0.0f;
    const int64_t n_chunks = (T + C - 1) / C;
    if (kStages == 2) {
        copy_state_inputs<DK>(stages, w, k, u, gcum, 0, T, H, h, dv, j0);
        copy_async_commit();
    }
    for (int64_t c = 0; c < n_chunks; ++c) {
        // The stage the chunk before last used is free: every thread passed this loop's last barrier.
        if (kStages == 1 || c + 1 < n_chunks)
            copy_state_inputs<DK>(stages + (kStages == 1 ? 0 : (c + 1) % 2) * kStage, w, k, u, gcum, kStages == 1 ? c : c + 1, T, H, h, dv, j0);
        copy_async_commit();
        copy_async_wait<kStages - 1>();
        __syncthreads();
        const float* wt = stages + (kStages == 1 ? 0 : c % 2) * kStage;
        const float* kt = wt + C * DK;
        const float* uv = kt + C * DK;
        const float* G = uv + C * kStateCols;
        const int64_t t0 = c * C;
        const int n = static_cast<int>(T - t0 < C ? T - t0 : C);
        const float Gn = G[n - 1];
        if (active)
            for (int i = hw; i < DK; i += kGroups) h_out[((c * H + h) * DK + i) * dv + j] = scol[i];
        // U = U_v − W S0 (rows past n hold an earlier chunk's values: their sums are not used); the
        // update's coefficient of each row is formed here once rather than by every row group.
        {
            const int r0 = hw * kURows;
            float acc[kURows] = {};
            for (int i = 0; i < DK; i += 4) {
                const float4 s4 = *reinterpret_cast<const float4*>(&scol[i]);  // a column's four values in one load
#pragma unroll
                for (int r = 0; r < kURows; ++r) {
                    const float4 x = *reinterpret_cast<const float4*>(&wt[(r0 + r) * DK + i]);
                    acc[r] += x.x * s4.x + x.y * s4.y + x.z * s4.z + x.w * s4.w;
                }
            }
#pragma unroll
            for (int r = 0; r < kURows; ++r) {
                const int t = r0 + r;
                if (t >= n) continue;
                const float value = uv[t * kStateCols + col] - acc[r];
                coef[t * kStateCols + col] = expf(Gn - G[t]) * value;
                if (active) u[((t0 + t) * H + h) * dv + j] = value;
            }
        }
        __syncthreads();
        // S1 = e^{G_n} S0 + Σ_s e^{G_n − G_s} k_s u_sᵀ
        {
            constexpr int kRows = DK / kGroups;
            const int i0 = hw * kRows;
            const float total = expf(Gn);
            float acc[kRows];
#pragma unroll
            for (int r = 0; r < kRows; ++r) acc[r] = total * scol[i0 + r];
            for (int s = 0; s < n; ++s) {
                const float cs = coef[s * kStateCols + col];
                if constexpr (kRows % 2 == 0) {
#pragma unroll
                    for (int r = 0; r < kRows; r += 2) {
                        const float2 x = *reinterpret_cast<const float2*>(&kt[s * DK + i0 + r]);
                        acc[r] += x.x * cs;
                        acc[r + 1] += x.y * cs;
                    }
                } else {
#pragma unroll
                    for (int r = 0; r < kRows; ++r) acc[r] += kt[s * DK + i0 + r] * cs;
                }
            }
#pragma unroll
            for (int r = 0; r < kRows; ++r) scol[i0 + r] = acc[r];
        }
        __syncthreads();
    }
    if (active)
        for (int i = hw; i < DK; i += kGroups) sp[i * dv + j] = scol[i];
}

// Pass 3, every chunk at once, one block per (chunk, head, 32 value columns), 8 warps, lanes are
// columns: O = scale · (e^G Q S0 + P U) from the chunk-start state pass 2 kept; P[t][s] is 0
// for s > t.
constexpr int kOutWarps = 8;
constexpr int kRowsPerWarp = C / kOutWarps;

template <int DK>
__global__ void __launch_bounds__(kOutWarps * 32) gdn_chunk_output_kernel(const float* q, const float* u, const float* p, const float* gcum,
                                                                           const float* h_in, float* out, int64_t T, int64_t H, int64_t dv,
                                                                           float scale) {
    extern __shared__ float smem[];
    float* S = smem;           // [DK][32]
    float* U = S + DK * 32;    // [C][32]
    float* P = U + C * 32;     // [C][C]
    float* Q = P + C * C;      // [C][DK]
    float* eg = Q + C * DK;    // [C] e^{G_t}
    const int64_t c = blockIdx.x, h = blockIdx.y, t0 = c * C;
    const int n = static_cast<int>(T - t0 < C ? T - t0 : C);
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    const int64_t j = static_cast<int64_t>(blockIdx.z) * 32 + lane;
    const bool active = j < dv;
    const int cols = static_cast<int>(dv - static_cast<int64_t>(blockIdx.z) * 32 < 32 ? dv - static_cast<int64_t>(blockIdx.z) * 32 : 32);  // columns < cols are active
    stage_rows_async(S, 32, 32, h_in + (c * H + h) * DK * dv + blockIdx.z * 32, dv, DK, DK, cols);
    stage_rows_async(U, 32, 32, u + (t0 * H + h) * dv + blockIdx.z * 32, H * dv, C, n, cols);
    stage_rows_async(P, C, C, p + (c * H + h) * C * C, C, C, C, C);
    stage_rows_async(Q, DK, DK, q + (t0 * H + h) * DK, H * DK, C, n, DK);
    copy_async_commit();
    for (int t = threadIdx.x; t < n; t += blockDim.x) eg[t] = expf(gcum[(t0 + t) * H + h]);
    copy_async_wait<0>();
    __syncthreads();
    const int tw = warp * kRowsPerWarp;
    float qs[kRowsPerWarp] = {}, pu[kRowsPerWarp] = {};
    rows_times_state<DK, 32>(Q, S, tw, lane, qs);
    const int s_end = min(n, tw + kRowsPerWarp);  // rows of U this warp's rows see
    for (int s0 = 0; s0 < s_end; s0 += 4) {
        const float u0 = U[s0 * 32 + lane], u1 = U[(s0 + 1) * 32 + lane], u2 = U[(s0 + 2) * 32 + lane], u3 = U[(s0 + 3) * 32 + lane];
#pragma unroll
        for (int r = 0; r < kRowsPerWarp; ++r) {
            const float4 pr = *reinterpret_cast<const float4*>(&P[(tw + r) * C + s0]);
            pu[r] += pr.x * u0 + pr.y * u1 + pr.z * u2 + pr.w * u3;
        }
    }
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r) {
        const int t = tw + r;
        if (active && t < n) out[((t0 + t) * H + h) * dv + j] = scale * (eg[t] * qs[r] + pu[r]);
    }
}

template <int DK>
bool launch_chunked(const float* q, const float* k, const float* v, const float* g, const float* beta, float* state, float* out,
                    int64_t T, int64_t H, int64_t dv, float scale, const GdnChunkScratch& s, Stream stream) {
    const int64_t n_chunks = (T + C - 1) / C;
    const size_t smem1 = (2 * C * (DK + 4) + C * C + 3 * C + (dv > DK + 4 ? C * dv : 0)) * sizeof(float);
    constexpr int kStateCols = state_cols<DK>();
    const size_t smem2 = (kStateCols * state_row<DK>() + C * kStateCols + state_stages<DK>() * state_stage_floats<DK>()) * sizeof(float);
    const size_t smem3 = (DK * 32 + C * 32 + C * C + C * DK + C) * sizeof(float);
    static bool configured = false;  // opt in to > 48 KiB of dynamic shared memory once
    static size_t prepare_smem = 0;   // pass 1's grows with dv
    if (!configured) {
        if (cudaFuncSetAttribute(gdn_chunk_state_kernel<DK>, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem2)) !=
                cudaSuccess ||
            cudaFuncSetAttribute(gdn_chunk_output_kernel<DK>, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem3)) !=
                cudaSuccess)
            return false;
        configured = true;
    }
    if (smem1 > prepare_smem) {
        if (cudaFuncSetAttribute(gdn_chunk_prepare_kernel<DK>, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem1)) != cudaSuccess)
            return false;
        prepare_smem = smem1;
    }
    const int threads1 = static_cast<int>(std::min<int64_t>(kPrepareThreads, (DK + dv + 31) / 32 * 32));
    gdn_chunk_prepare_kernel<DK><<<dim3(static_cast<unsigned>(n_chunks), static_cast<unsigned>(H)), threads1, smem1, stream>>>(
        q, k, v, g, beta, T, H, dv, s.w, s.u, s.p, s.g);
    gdn_chunk_state_kernel<DK><<<dim3(static_cast<unsigned>(H), static_cast<unsigned>((dv + kStateCols - 1) / kStateCols)), state_threads<DK>(),
                                 smem2, stream>>>(k, s.w, s.u, s.g, state, s.h, T, H, dv);
    gdn_chunk_output_kernel<DK><<<dim3(static_cast<unsigned>(n_chunks), static_cast<unsigned>(H), static_cast<unsigned>((dv + 31) / 32)),
                                  kOutWarps * 32, smem3, stream>>>(q, s.u, s.p, s.g, s.h, out, T, H, dv, scale);
    return cudaPeekAtLastError() == cudaSuccess;  // a launch refused (resources) is an error, not garbage
}

}  // namespace

int64_t gdn_chunk_scratch_floats(int64_t max_tokens, int64_t n_heads, int64_t dk, int64_t dv, int64_t* w, int64_t* u, int64_t* p,
                                 int64_t* g, int64_t* h) {
    max_tokens = std::min(max_tokens, kGdnSliceTokens);
    const int64_t chunks = (max_tokens + C - 1) / C;
    *w = max_tokens * n_heads * dk;
    *u = max_tokens * n_heads * dv;
    *p = chunks * n_heads * C * C;
    *g = max_tokens * n_heads;
    *h = chunks * n_heads * dk * dv;
    return *w + *u + *p + *g + *h;
}

bool gated_delta_rule_chunked(const float* q, const float* k, const float* v, const float* g, const float* beta, float* state,
                              float* out, int64_t T, int64_t H, int64_t dk, int64_t dv, float scale, const GdnChunkScratch& s,
                              Stream stream) {
    // Slices of kGdnSliceTokens (whole chunks, so the result is the same) bound the scratch: the
    // per-chunk states of pass 2 alone are dk·dv floats a head and chunk.
    for (int64_t t = 0; t < T; t += kGdnSliceTokens) {
        const int64_t n = std::min(T - t, kGdnSliceTokens);
        const float *qs = q + t * H * dk, *ks = k + t * H * dk, *vs = v + t * H * dv, *gs = g + t * H, *bs = beta + t * H;
        float* os = out + t * H * dv;
        bool ok = false;
        switch (dk) {
            case 16: ok = launch_chunked<16>(qs, ks, vs, gs, bs, state, os, n, H, dv, scale, s, stream); break;
            case 32: ok = launch_chunked<32>(qs, ks, vs, gs, bs, state, os, n, H, dv, scale, s, stream); break;
            case 64: ok = launch_chunked<64>(qs, ks, vs, gs, bs, state, os, n, H, dv, scale, s, stream); break;
            case 128: ok = launch_chunked<128>(qs, ks, vs, gs, bs, state, os, n, H, dv, scale, s, stream); break;
            case 256: ok = launch_chunked<256>(qs, ks, vs, gs, bs, state, os, n, H, dv, scale, s, stream); break;
            default: return false;
        }
        if (!ok) return false;
    }
    return true;
}

}  // namespace mnemo::cuda
