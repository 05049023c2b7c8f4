#include "cpu/matmul.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <utility>
#include <vector>

#include "cpu/gemm_avx512.h"
#include "cpu/isa.h"
#include "cpu/simd.h"

#if defined(MNEMO_CPU_OPENBLAS)
#include <cblas.h>
#endif

namespace mnemo::cpu {
namespace {

constexpr int64_t kPanelCols = 16;  // NR: columns of W per packed panel
constexpr int64_t kMicroRows = 6;   // MR: rows of X per micro-kernel call
constexpr int64_t kBlockK = 256;    // KC: K per packed panel (multiple of 32 for q8_0)

const uint8_t* w_row(const MatmulArgs& a, int64_t n) {
    return static_cast<const uint8_t*>(a.w) + n * row_bytes(a.w_type, a.k);
}

// W[n, k0 : k0 + len] as f32. k0 and len are multiples of 32 for q8_0.
void w_slice_to_f32(const MatmulArgs& a, int64_t n, int64_t k0, int64_t len, float* dst) {
    const uint8_t* row = w_row(a, n);
    switch (a.w_type) {
        case DType::f32: std::memcpy(dst, reinterpret_cast<const float*>(row) + k0, static_cast<size_t>(len) * 4); return;
        case DType::f16: convert_f16_to_f32(reinterpret_cast<const uint16_t*>(row) + k0, dst, len); return;
        case DType::bf16: convert_bf16_to_f32(reinterpret_cast<const uint16_t*>(row) + k0, dst, len); return;
        case DType::q8_0:
            dequantize_row_q8_0(reinterpret_cast<const BlockQ8_0*>(row) + k0 / kQ8_0BlockSize, dst, len);
            return;
    }
}

void add_bias(const MatmulArgs& a, int64_t t0, int64_t t1, int64_t n0, int64_t n1) {
    if (a.bias == nullptr) return;
    for (int64_t t = t0; t < t1; ++t) {
        float* y = a.y + t * a.y_stride;
        for (int64_t n = n0; n < n1; ++n) y[n] += a.bias[n];
    }
}

// ---------------------------------------------------------------------------------------
// Scalar form: one W row converted at a time, reused for every X row.
void matmul_scalar(const MatmulArgs& a, ThreadPool* pool) {
    parallel_for(pool, a.n_cols, 4, [&](int64_t begin, int64_t end) {
        std::vector<float> w(static_cast<size_t>(a.k));
        for (int64_t n = begin; n < end; ++n) {
            w_slice_to_f32(a, n, 0, a.k, w.data());
            for (int64_t t = 0; t < a.n_rows; ++t) {
                const float* x = a.x + t * a.x_stride;
                float acc = 0.0f;
                for (int64_t k = 0; k < a.k; ++k) acc += x[k] * w[static_cast<size_t>(k)];
                a.y[t * a.y_stride + n] = acc;
            }
        }
        add_bias(a, 0, a.n_rows, begin, end);
    });
}

#if MNEMO_HAVE_X86
// ---------------------------------------------------------------------------------------
// AVX2 GEMV (T == 1): R rows of W per pass share each load of x. The per-row arithmetic
// does not depend on R, so how rows are grouped (and split across threads) never changes
// a result.
// acc + d · (q · x) for one q8_0 block against 32 floats of x.
MNEMO_AVX2 inline __m256 q8_0_block_dot(const BlockQ8_0& block, __m256 x0, __m256 x1, __m256 x2, __m256 x3, __m256 acc) {
    __m256 s = _mm256_mul_ps(detail::load_i8x8(block.qs), x0);
    s = _mm256_fmadd_ps(detail::load_i8x8(block.qs + 8), x1, s);
    s = _mm256_fmadd_ps(detail::load_i8x8(block.qs + 16), x2, s);
    s = _mm256_fmadd_ps(detail::load_i8x8(block.qs + 24), x3, s);
    return _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(block.d)), s, acc);
}

struct SrcF32 {
    MNEMO_AVX2 static __m256 load8(const uint8_t* row, int64_t k) {
        return _mm256_loadu_ps(reinterpret_cast<const float*>(row) + k);
    }
    static float at(const uint8_t* row, int64_t k) { return reinterpret_cast<const float*>(row)[k]; }
};
struct SrcF16 {
    MNEMO_AVX2 static __m256 load8(const uint8_t* row, int64_t k) {
        return detail::load_f16x8(reinterpret_cast<const uint16_t*>(row) + k);
    }
    static float at(const uint8_t* row, int64_t k) { return f16_to_f32(reinterpret_cast<const uint16_t*>(row)[k]); }
};
struct SrcBF16 {
    MNEMO_AVX2 static __m256 load8(const uint8_t* row, int64_t k) {
        return detail::load_bf16x8(reinterpret_cast<const uint16_t*>(row) + k);
    }
    static float at(const uint8_t* row, int64_t k) { return bf16_to_f32(reinterpret_cast<const uint16_t*>(row)[k]); }
};

// Horizontal sum plus the K tail (< 8), same order for every row.
template <class Src>
MNEMO_AVX2 inline float gemv_finish(const uint8_t* row, const float* x, int64_t k, int64_t k_total, __m256 a0, __m256 a1) {
    float tail = 0.0f;
    for (int64_t j = k; j < k_total; ++j) tail += Src::at(row, j) * x[j];
    return detail::hsum256(_mm256_add_ps(a0, a1)) + tail;
}

// Four rows share each load of x; accumulators are named so they stay in registers.
template <class Src>
MNEMO_AVX2 void gemv_rows4(const float* x, const uint8_t* const* rows, int64_t k_total, float* out) {
    const uint8_t *r0 = rows[0], *r1 = rows[1], *r2 = rows[2], *r3 = rows[3];
    __m256 a00 = _mm256_setzero_ps(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
    int64_t k = 0;
    for (; k + 16 <= k_total; k += 16) {
        const __m256 x0 = _mm256_loadu_ps(x + k);
        const __m256 x1 = _mm256_loadu_ps(x + k + 8);
        a00 = _mm256_fmadd_ps(Src::load8(r0, k), x0, a00);
        a01 = _mm256_fmadd_ps(Src::load8(r0, k + 8), x1, a01);
        a10 = _mm256_fmadd_ps(Src::load8(r1, k), x0, a10);
        a11 = _mm256_fmadd_ps(Src::load8(r1, k + 8), x1, a11);
        a20 = _mm256_fmadd_ps(Src::load8(r2, k), x0, a20);
        a21 = _mm256_fmadd_ps(Src::load8(r2, k + 8), x1, a21);
        a30 = _mm256_fmadd_ps(Src::load8(r3, k), x0, a30);
        a31 = _mm256_fmadd_ps(Src::load8(r3, k + 8), x1, a31);
    }
    if (k + 8 <= k_total) {
        const __m256 x0 = _mm256_loadu_ps(x + k);
        a00 = _mm256_fmadd_ps(Src::load8(r0, k), x0, a00);
        a10 = _mm256_fmadd_ps(Src::load8(r1, k), x0, a10);
        a20 = _mm256_fmadd_ps(Src::load8(r2, k), x0, a20);
        a30 = _mm256_fmadd_ps(Src::load8(r3, k), x0, a30);
        k += 8;
    }
    out[0] = gemv_finish<Src>(r0, x, k, k_total, a00, a01);
    out[1] = gemv_finish<Src>(r1, x, k, k_total, a10, a11);
    out[2] = gemv_finish<Src>(r2, x, k, k_total, a20, a21);
    out[3] = gemv_finish<Src>(r3, x, k, k_total, a30, a31);
}

// One row, with exactly the per-row arithmetic of gemv_rows4.
template <class Src>
MNEMO_AVX2 void gemv_rows1(const float* x, const uint8_t* const* rows, int64_t k_total, float* out) {
    const uint8_t* r0 = rows[0];
    __m256 a00 = _mm256_setzero_ps(), a01 = a00;
    int64_t k = 0;
    for (; k + 16 <= k_total; k += 16) {
        a00 = _mm256_fmadd_ps(Src::load8(r0, k), _mm256_loadu_ps(x + k), a00);
        a01 = _mm256_fmadd_ps(Src::load8(r0, k + 8), _mm256_loadu_ps(x + k + 8), a01);
    }
    if (k + 8 <= k_total) {
        a00 = _mm256_fmadd_ps(Src::load8(r0, k), _mm256_loadu_ps(x + k), a00);
        k += 8;
    }
    out[0] = gemv_finish<Src>(r0, x, k, k_total, a00, a01);
}

template <size_t... R>
MNEMO_AVX2 void gemv_rows_q8_0(std::index_sequence<R...>, const float* x, const uint8_t* const* rows, int64_t k_total,
                               float* out) {
    constexpr size_t kRows = sizeof...(R);
    __m256 acc[kRows];
    ((acc[R] = _mm256_setzero_ps()), ...);
    const BlockQ8_0* blocks[kRows] = {reinterpret_cast<const BlockQ8_0*>(rows[R])...};
    const int64_t n_blocks = k_total / kQ8_0BlockSize;
    for (int64_t b = 0; b < n_blocks; ++b) {
        const float* xb = x + b * kQ8_0BlockSize;
        const __m256 x0 = _mm256_loadu_ps(xb);
        const __m256 x1 = _mm256_loadu_ps(xb + 8);
        const __m256 x2 = _mm256_loadu_ps(xb + 16);
        const __m256 x3 = _mm256_loadu_ps(xb + 24);
        ((acc[R] = q8_0_block_dot(blocks[R][b], x0, x1, x2, x3, acc[R])), ...);
    }
    ((out[R] = detail::hsum256(acc[R])), ...);
}

template <size_t N>
MNEMO_AVX2 void gemv_dispatch(const MatmulArgs& a, const uint8_t* const* rows, float* out) {
    static_assert(N == 1 || N == 4);
    switch (a.w_type) {
        case DType::f32: return N == 4 ? gemv_rows4<SrcF32>(a.x, rows, a.k, out) : gemv_rows1<SrcF32>(a.x, rows, a.k, out);
        case DType::f16: return N == 4 ? gemv_rows4<SrcF16>(a.x, rows, a.k, out) : gemv_rows1<SrcF16>(a.x, rows, a.k, out);
        case DType::bf16: return N == 4 ? gemv_rows4<SrcBF16>(a.x, rows, a.k, out) : gemv_rows1<SrcBF16>(a.x, rows, a.k, out);
        case DType::q8_0: return gemv_rows_q8_0(std::make_index_sequence<N>{}, a.x, rows, a.k, out);
    }
}

MNEMO_AVX2 void gemv_avx2(const MatmulArgs& a, ThreadPool* pool) {
    constexpr int64_t kRows = 4;
    parallel_for(pool, a.n_cols, 16, [&](int64_t begin, int64_t end) {
        const uint8_t* rows[kRows];
        float out[kRows];
        int64_t n = begin;
        for (; n + kRows <= end; n += kRows) {
            for (int64_t r = 0; r < kRows; ++r) rows[r] = w_row(a, n + r);
            gemv_dispatch<4>(a, rows, out);
            for (int64_t r = 0; r < kRows; ++r) a.y[n + r] = out[r];
        }
        for (; n < end; ++n) {
            rows[0] = w_row(a, n);
            gemv_dispatch<1>(a, rows, out);
            a.y[n] = out[0];
        }
        add_bias(a, 0, 1, begin, end);
    });
}

// ---------------------------------------------------------------------------------------
// AVX2 GEMM (T >= 2). W is packed per (16-column panel, 256-deep K block) into f32
// [k][16] order; a 6x16 register tile of Y accumulates over one K block and is then
// stored (first block) or added (later blocks), so every element sees the same sequence of
// operations regardless of tiling or threads.
// Row r of the tile; every index is a compile-time constant (fold expressions) so the 12
// accumulators stay in registers.
template <size_t R>
MNEMO_AVX2 inline void store_tile_row(float* y, int64_t y_stride, __m256 c0, __m256 c1, int64_t n_cols, bool accumulate) {
    float* yr = y + static_cast<int64_t>(R) * y_stride;
    if (n_cols == kPanelCols) {
        if (accumulate) {
            c0 = _mm256_add_ps(c0, _mm256_loadu_ps(yr));
            c1 = _mm256_add_ps(c1, _mm256_loadu_ps(yr + 8));
        }
        _mm256_storeu_ps(yr, c0);
        _mm256_storeu_ps(yr + 8, c1);
    } else {
        alignas(32) float tmp[kPanelCols];
        _mm256_store_ps(tmp, c0);
        _mm256_store_ps(tmp + 8, c1);
        for (int64_t j = 0; j < n_cols; ++j) yr[j] = accumulate ? yr[j] + tmp[j] : tmp[j];
    }
}

template <size_t... R>
MNEMO_AVX2 void micro_kernel(std::index_sequence<R...>, const float* xp, const float* panel, int64_t kc, float* y,
                             int64_t y_stride, int64_t n_cols, bool accumulate) {
    // xp: packed X, [kc][kMicroRows] (row r of the tile at xp[k * kMicroRows + r]).
    constexpr size_t kRows = sizeof...(R);
    __m256 c0[kRows], c1[kRows];
    ((c0[R] = _mm256_setzero_ps(), c1[R] = _mm256_setzero_ps()), ...);
    for (int64_t k = 0; k < kc; ++k) {
        const __m256 b0 = _mm256_load_ps(panel + k * kPanelCols);
        const __m256 b1 = _mm256_load_ps(panel + k * kPanelCols + 8);
        const float* xk = xp + k * kMicroRows;
        ((c0[R] = _mm256_fmadd_ps(_mm256_broadcast_ss(xk + R), b0, c0[R]),
          c1[R] = _mm256_fmadd_ps(_mm256_broadcast_ss(xk + R), b1, c1[R])),
         ...);
    }
    (store_tile_row<R>(y, y_stride, c0[R], c1[R], n_cols, accumulate), ...);
}

MNEMO_AVX2 void transpose_to_panel(const float* rows, int64_t row_stride, int64_t kc, float* panel) {
    // rows: 16 rows of kc floats; panel: kc rows of 16 floats.
    int64_t k = 0;
    for (; k + 8 <= kc; k += 8) {
        for (int64_t half = 0; half < 2; ++half) {
            const float* src = rows + half * 8 * row_stride + k;
            __m256 r0 = _mm256_loadu_ps(src + 0 * row_stride), r1 = _mm256_loadu_ps(src + 1 * row_stride);
            __m256 r2 = _mm256_loadu_ps(src + 2 * row_stride), r3 = _mm256_loadu_ps(src + 3 * row_stride);
            __m256 r4 = _mm256_loadu_ps(src + 4 * row_stride), r5 = _mm256_loadu_ps(src + 5 * row_stride);
            __m256 r6 = _mm256_loadu_ps(src + 6 * row_stride), r7 = _mm256_loadu_ps(src + 7 * row_stride);
            __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
            __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
            __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
            __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
            __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
            __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
            __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
            __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
            float* dst = panel + k * kPanelCols + half * 8;
            _mm256_store_ps(dst + 0 * kPanelCols, _mm256_permute2f128_ps(u0, u4, 0x20));
            _mm256_store_ps(dst + 1 * kPanelCols, _mm256_permute2f128_ps(u1, u5, 0x20));
            _mm256_store_ps(dst + 2 * kPanelCols, _mm256_permute2f128_ps(u2, u6, 0x20));
            _mm256_store_ps(dst + 3 * kPanelCols, _mm256_permute2f128_ps(u3, u7, 0x20));
            _mm256_store_ps(dst + 4 * kPanelCols, _mm256_permute2f128_ps(u0, u4, 0x31));
            _mm256_store_ps(dst + 5 * kPanelCols, _mm256_permute2f128_ps(u1, u5, 0x31));
            _mm256_store_ps(dst + 6 * kPanelCols, _mm256_permute2f128_ps(u2, u6, 0x31));
            _mm256_store_ps(dst + 7 * kPanelCols, _mm256_permute2f128_ps(u3, u7, 0x31));
        }
    }
    for (; k < kc; ++k) {
        for (int64_t r = 0; r < kPanelCols; ++r) panel[k * kPanelCols + r] = rows[r * row_stride + k];
    }
}

// Packs W[n0 .. n0+16, k0 .. k0+kc) (rows past N as zeros) into panel [kc][16].
void pack_w_panel(const MatmulArgs& a, int64_t n0, int64_t k0, int64_t kc, float* rows, float* panel) {
    const int64_t n_cols = std::min(kPanelCols, a.n_cols - n0);
    for (int64_t r = 0; r < kPanelCols; ++r) {
        float* dst = rows + r * kBlockK;
        if (r < n_cols) {
            w_slice_to_f32(a, n0 + r, k0, kc, dst);
        } else {
            std::memset(dst, 0, static_cast<size_t>(kc) * sizeof(float));
        }
    }
    transpose_to_panel(rows, kBlockK, kc, panel);
}

// Packs X[t0 .. t1, k0 .. k0+kc) into micro-blocks of kMicroRows rows, each [kc][kMicroRows].
void pack_x_block(const MatmulArgs& a, int64_t t0, int64_t t1, int64_t k0, int64_t kc, float* xp) {
    for (int64_t t = t0; t < t1; ++t) {
        const float* src = a.x + t * a.x_stride + k0;
        float* dst = xp + ((t - t0) / kMicroRows) * kc * kMicroRows + (t - t0) % kMicroRows;
        for (int64_t k = 0; k < kc; ++k) dst[k * kMicroRows] = src[k];
    }
}

MNEMO_AVX2 void gemm_avx2(const MatmulArgs& a, ThreadPool* pool) {
    // BLIS-style loops. Each task owns a range of 16-column panels and a range of rows. Per
    // pass of up to kPassPanels panels and per 256-deep K block, the pass's W panels are
    // converted and packed once; X is packed per block of kRowBlock rows; then 6x16 tiles
    // run over packed data only. Every element accumulates its K blocks in the same order
    // whatever the task split, so the result does not depend on the thread count.
    constexpr int64_t kRowBlock = 96;    // MC: rows of X packed together (L2)
    constexpr int64_t kPassPanels = 32;  // NC/16: panels packed per pass
    const bool avx512 = detail::gemm_avx512_enabled();
    const int64_t n_panels = (a.n_cols + kPanelCols - 1) / kPanelCols;
    const int64_t n_threads = pool != nullptr ? pool->n_threads() : 1;
    int64_t panel_chunks = std::min(n_panels, n_threads);
    int64_t row_chunks = 1;
    if (n_panels < 2 * n_threads && a.n_rows >= 2 * kRowBlock) {  // narrow output: split rows too
        row_chunks = std::min((a.n_rows + kRowBlock - 1) / kRowBlock, n_threads);
        panel_chunks = 1;
    }
    parallel_for(pool, panel_chunks * row_chunks, 1, [&](int64_t begin, int64_t end) {
        // Per-thread packing buffers, grown once: a fresh 0.5 MB vector per call cost more
        // than the multiply itself for small chunks (every used element is written by
        // the packing before it is read, so they need no clearing).
        thread_local std::vector<float> rows, wpack, xpack;
        if (rows.size() < static_cast<size_t>(kBlockK * kPanelCols)) rows.resize(static_cast<size_t>(kBlockK * kPanelCols));
        if (wpack.size() < static_cast<size_t>(kPassPanels * kBlockK * kPanelCols + 16))
            wpack.resize(static_cast<size_t>(kPassPanels * kBlockK * kPanelCols + 16));
        if (xpack.size() < static_cast<size_t>(kRowBlock * kBlockK + 16)) xpack.resize(static_cast<size_t>(kRowBlock * kBlockK + 16));
        float* wbuf = wpack.data() + (16 - reinterpret_cast<uintptr_t>(wpack.data()) / 4 % 16) % 16;  // 64-byte aligned
        float* xbuf = xpack.data();
        for (int64_t task = begin; task < end; ++task) {
            const auto [p_begin, p_end] = ThreadPool::chunk_range(n_panels, 1, panel_chunks, task / row_chunks);
            const auto [r_begin, r_end] = ThreadPool::chunk_range(a.n_rows, kMicroRows, row_chunks, task % row_chunks);
            for (int64_t pass = p_begin; pass < p_end; pass += kPassPanels) {
                const int64_t pass_end = std::min(p_end, pass + kPassPanels);
                for (int64_t k0 = 0; k0 < a.k; k0 += kBlockK) {
                    const int64_t kc = std::min(kBlockK, a.k - k0);
                    for (int64_t p = pass; p < pass_end; ++p) {
                        pack_w_panel(a, p * kPanelCols, k0, kc, rows.data(), wbuf + (p - pass) * kBlockK * kPanelCols);
                    }
                    const bool accumulate = k0 > 0;
                    for (int64_t t0 = r_begin; t0 < r_end; t0 += kRowBlock) {
                        const int64_t t1 = std::min(r_end, t0 + kRowBlock);
                        pack_x_block(a, t0, t1, k0, kc, xbuf);
                        for (int64_t p = pass; p < pass_end; ++p) {
                            const float* panel = wbuf + (p - pass) * kBlockK * kPanelCols;
                            const int64_t n0 = p * kPanelCols;
                            if (avx512 && p + 1 < pass_end) {
                                // Two panels at once in zmm registers: the same result, twice as wide.
                                const int64_t n_cols2 = std::min(2 * kPanelCols, a.n_cols - n0);
                                for (int64_t t = t0; t < t1; t += kMicroRows)
                                    detail::gemm_tile_avx512(std::min(kMicroRows, t1 - t),
                                                             xbuf + ((t - t0) / kMicroRows) * kc * kMicroRows, panel,
                                                             panel + kBlockK * kPanelCols, kc, a.y + t * a.y_stride + n0,
                                                             a.y_stride, n_cols2, accumulate);
                                ++p;
                                continue;
                            }
                            const int64_t n_cols = std::min(kPanelCols, a.n_cols - n0);
                            for (int64_t t = t0; t < t1; t += kMicroRows) {
                                const float* xp = xbuf + ((t - t0) / kMicroRows) * kc * kMicroRows;
                                float* y = a.y + t * a.y_stride + n0;
#define MNEMO_TILE(n) micro_kernel(std::make_index_sequence<n>{}, xp, panel, kc, y, a.y_stride, n_cols, accumulate)
                                switch (std::min(kMicroRows, t1 - t)) {
                                    case 6: MNEMO_TILE(6); break;
                                    case 5: MNEMO_TILE(5); break;
                                    case 4: MNEMO_TILE(4); break;
                                    case 3: MNEMO_TILE(3); break;
                                    case 2: MNEMO_TILE(2); break;
                                    default: MNEMO_TILE(1); break;
                                }
#undef MNEMO_TILE
                            }
                        }
                    }
                }
                add_bias(a, r_begin, r_end, pass * kPanelCols, std::min(a.n_cols, pass_end * kPanelCols));
            }
        }
    });
}
#endif  // MNEMO_HAVE_X86

#if defined(MNEMO_CPU_OPENBLAS)
constexpr int64_t kBlasMinRows = 16;

constexpr int64_t kBlasSliceCols = 256;

// OpenBLAS runs single-threaded inside our pool (a second thread pool would spin on the
// same cores between calls), one call per fixed 256-column slice: OpenBLAS's result for an
// element depends on the slice it is computed in, so slices must not depend on threads.
void gemm_blas(const MatmulArgs& a, ThreadPool* pool) {
    static const bool single_threaded = [] {
        openblas_set_num_threads(1);
        return true;
    }();
    (void)single_threaded;
    const int64_t n_slices = (a.n_cols + kBlasSliceCols - 1) / kBlasSliceCols;
    parallel_for(pool, n_slices, 1, [&](int64_t first, int64_t last) {
        for (int64_t slice = first; slice < last; ++slice) {
            const int64_t begin = slice * kBlasSliceCols, end = std::min(a.n_cols, begin + kBlasSliceCols);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(a.n_rows), static_cast<int>(end - begin),
                        static_cast<int>(a.k), 1.0f, a.x, static_cast<int>(a.x_stride),
                        static_cast<const float*>(a.w) + begin * a.k, static_cast<int>(a.k), 0.0f, a.y + begin,
                        static_cast<int>(a.y_stride));
            add_bias(a, 0, a.n_rows, begin, end);
        }
    });
}
#endif

}  // namespace

bool matmul_uses_blas(int64_t n_rows, int64_t k, int64_t n_cols, DType w_type) {
#if defined(MNEMO_CPU_OPENBLAS)
    return w_type == DType::f32 && n_rows >= kBlasMinRows && k > 0 && n_cols > 0;
#else
    (void)n_rows;
    (void)k;
    (void)n_cols;
    (void)w_type;
    return false;
#endif
}

void matmul(const MatmulArgs& a, ThreadPool* pool) {
    assert(a.x_stride >= a.k && a.y_stride >= a.n_cols);
    assert(a.w_type != DType::q8_0 || a.k % kQ8_0BlockSize == 0);
    if (a.n_rows <= 0 || a.n_cols <= 0) return;
    if (a.k == 0) {
        for (int64_t t = 0; t < a.n_rows; ++t) std::fill(a.y + t * a.y_stride, a.y + t * a.y_stride + a.n_cols, 0.0f);
        add_bias(a, 0, a.n_rows, 0, a.n_cols);
        return;
    }
#if defined(MNEMO_CPU_OPENBLAS)
    if (matmul_uses_blas(a.n_rows, a.k, a.n_cols, a.w_type) && active_isa() != Isa::scalar) return gemm_blas(a, pool);
#endif
#if MNEMO_HAVE_X86
    if (active_isa() == Isa::avx2) {
        if (a.n_rows == 1) return gemv_avx2(a, pool);
        return gemm_avx2(a, pool);
    }
#endif
    matmul_scalar(a, pool);
}

void matmul_reference(const MatmulArgs& a) {
    std::vector<float> w(static_cast<size_t>(a.k));
    for (int64_t n = 0; n < a.n_cols; ++n) {
        w_slice_to_f32(a, n, 0, a.k, w.data());
        for (int64_t t = 0; t < a.n_rows; ++t) {
            const float* x = a.x + t * a.x_stride;
            double acc = a.bias != nullptr ? static_cast<double>(a.bias[n]) : 0.0;
            for (int64_t k = 0; k < a.k; ++k) acc += static_cast<double>(x[k]) * static_cast<double>(w[static_cast<size_t>(k)]);
            a.y[t * a.y_stride + n] = static_cast<float>(acc);
        }
    }
}

}  // namespace mnemo::cpu
