// Internal: helpers shared by the kernels' AVX2 paths. Not part of the public surface.
//
// AVX2 code is compiled per function with MNEMO_AVX2 (a GNU target attribute) instead of
// per-file -mavx2, so no AVX2 instruction can leak into code the scalar path shares
// (inline functions and templates instantiated in an -mavx2 file would).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define MNEMO_HAVE_X86 1
#define MNEMO_AVX2 __attribute__((target("avx2,fma,f16c")))
#else
#define MNEMO_HAVE_X86 0
#define MNEMO_AVX2
#endif

namespace mnemo::cpu::detail {

inline float sigmoid_scalar(float x) { return 1.0f / (1.0f + std::exp(-x)); }
inline float silu_scalar(float x) { return x / (1.0f + std::exp(-x)); }

#if MNEMO_HAVE_X86

MNEMO_AVX2 inline float hsum256(__m256 v) {
    __m128 lo = _mm256_castps256_ps128(v);
    __m128 hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    __m128 shuf = _mm_movehdup_ps(lo);
    __m128 sums = _mm_add_ps(lo, shuf);
    shuf = _mm_movehl_ps(shuf, sums);
    sums = _mm_add_ss(sums, shuf);
    return _mm_cvtss_f32(sums);
}

MNEMO_AVX2 inline float hmax256(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

// exp(x) for 8 floats, relative error about 2 ulp over the float range; returns 0 below
// about -87.3 and +inf above 88.7 (Cody-Waite reduction + degree-6 polynomial).
MNEMO_AVX2 inline __m256 exp256(__m256 x) {
    const __m256 max_x = _mm256_set1_ps(88.72283905206835f);
    const __m256 min_x = _mm256_set1_ps(-87.33654475055310f);
    const __m256 log2e = _mm256_set1_ps(1.44269504088896341f);
    const __m256 ln2_hi = _mm256_set1_ps(0.693359375f);
    const __m256 ln2_lo = _mm256_set1_ps(-2.12194440e-4f);
    const __m256 over = _mm256_cmp_ps(x, max_x, _CMP_GT_OQ);
    const __m256 under = _mm256_cmp_ps(x, min_x, _CMP_LT_OQ);
    __m256 xc = _mm256_min_ps(_mm256_max_ps(x, min_x), max_x);
    __m256 n = _mm256_round_ps(_mm256_mul_ps(xc, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, ln2_hi, xc);
    r = _mm256_fnmadd_ps(n, ln2_lo, r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    const __m256 r2 = _mm256_mul_ps(r, r);
    p = _mm256_fmadd_ps(p, r2, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    // 2^n, split in two factors so n = 128 (x near the top of the range) stays finite.
    const __m256i ni = _mm256_cvtps_epi32(n);
    const __m256i half = _mm256_srai_epi32(ni, 1);
    const __m256i rest = _mm256_sub_epi32(ni, half);
    const __m256 pow_a = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(half, _mm256_set1_epi32(127)), 23));
    const __m256 pow_b = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(rest, _mm256_set1_epi32(127)), 23));
    __m256 result = _mm256_mul_ps(_mm256_mul_ps(p, pow_a), pow_b);
    result = _mm256_blendv_ps(result, _mm256_set1_ps(INFINITY), over);
    result = _mm256_blendv_ps(result, _mm256_setzero_ps(), under);
    // NaN in, NaN out.
    const __m256 nan_mask = _mm256_cmp_ps(x, x, _CMP_UNORD_Q);
    return _mm256_blendv_ps(result, x, nan_mask);
}

MNEMO_AVX2 inline __m256 sigmoid256(__m256 x) {
    const __m256 one = _mm256_set1_ps(1.0f);
    const __m256 e = exp256(_mm256_sub_ps(_mm256_setzero_ps(), x));
    return _mm256_div_ps(one, _mm256_add_ps(one, e));
}

MNEMO_AVX2 inline __m256 silu256(__m256 x) { return _mm256_mul_ps(x, sigmoid256(x)); }

// Loads/stores of the first `count` (< 8) lanes, zero-filling the rest.
MNEMO_AVX2 inline __m256i tail_mask(int64_t count) {
    alignas(32) static const int32_t table[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(table + 8 - count));
}
MNEMO_AVX2 inline __m256 load_partial(const float* p, int64_t count) {
    return _mm256_maskload_ps(p, tail_mask(count));
}
MNEMO_AVX2 inline void store_partial(float* p, __m256 v, int64_t count) {
    _mm256_maskstore_ps(p, tail_mask(count), v);
}

MNEMO_AVX2 inline __m256 load_bf16x8(const uint16_t* p) {
    const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(raw), 16));
}
MNEMO_AVX2 inline __m256 load_f16x8(const uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
MNEMO_AVX2 inline __m256 load_i8x8(const int8_t* p) {
    int64_t raw;
    std::memcpy(&raw, p, sizeof(raw));
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_cvtsi64_si128(raw)));
}

// Vector primitives used by several kernels (AVX2 forms; scalar forms are plain loops).
MNEMO_AVX2 inline float dot_avx2(const float* a, const float* b, int64_t n) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
    }
    for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    if (i < n) acc1 = _mm256_fmadd_ps(load_partial(a + i, n - i), load_partial(b + i, n - i), acc1);
    return hsum256(_mm256_add_ps(acc0, acc1));
}

// y[i] += alpha * x[i]
MNEMO_AVX2 inline void axpy_avx2(float alpha, const float* x, float* y, int64_t n) {
    const __m256 va = _mm256_set1_ps(alpha);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    if (i < n) store_partial(y + i, _mm256_fmadd_ps(va, load_partial(x + i, n - i), load_partial(y + i, n - i)), n - i);
}

// y[i] *= alpha
MNEMO_AVX2 inline void scale_avx2(float alpha, float* y, int64_t n) {
    const __m256 va = _mm256_set1_ps(alpha);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_mul_ps(va, _mm256_loadu_ps(y + i)));
    if (i < n) store_partial(y + i, _mm256_mul_ps(va, load_partial(y + i, n - i)), n - i);
}

#endif  // MNEMO_HAVE_X86

inline float dot_scalar(const float* a, const float* b, int64_t n) {
    float acc = 0.0f;
    for (int64_t i = 0; i < n; ++i) acc += a[i] * b[i];
    return acc;
}
inline void axpy_scalar(float alpha, const float* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}
inline void scale_scalar(float alpha, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] *= alpha;
}

}  // namespace mnemo::cpu::detail
