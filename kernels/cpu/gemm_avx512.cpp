#include "cpu/gemm_avx512.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <utility>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define MNEMO_HAVE_AVX512_TILE 1
#define MNEMO_AVX512 __attribute__((target("avx512f,avx2,fma")))
#else
#define MNEMO_HAVE_AVX512_TILE 0
#endif

namespace mnemo::cpu::detail {
namespace {

bool cpu_has_avx512f() {
#if MNEMO_HAVE_AVX512_TILE
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") != 0;
#else
    return false;
#endif
}

std::atomic<int> g_enabled{-1};  // -1: not decided yet

}  // namespace

bool gemm_avx512_enabled() {
    int v = g_enabled.load(std::memory_order_relaxed);
    if (v < 0) {
        const char* env = std::getenv("MNEMO_CPU_AVX512");
        const bool off = env != nullptr && (std::strcmp(env, "off") == 0 || std::strcmp(env, "0") == 0);
        v = cpu_has_avx512f() && !off ? 1 : 0;
        int expected = -1;
        if (!g_enabled.compare_exchange_strong(expected, v, std::memory_order_relaxed)) v = expected;
    }
    return v == 1;
}

bool set_gemm_avx512(bool enabled) {
    const bool on = enabled && cpu_has_avx512f();
    g_enabled.store(on ? 1 : 0, std::memory_order_relaxed);
    return on;
}

#if MNEMO_HAVE_AVX512_TILE
namespace {

constexpr int64_t kPanel = 16;
constexpr int64_t kRowsPacked = 6;

template <size_t R>
MNEMO_AVX512 inline void store_row(float* y, int64_t y_stride, __m512 c0, __m512 c1, int64_t n_cols, bool accumulate) {
    float* yr = y + static_cast<int64_t>(R) * y_stride;
    if (n_cols == 2 * kPanel) {
        if (accumulate) {
            c0 = _mm512_add_ps(c0, _mm512_loadu_ps(yr));
            c1 = _mm512_add_ps(c1, _mm512_loadu_ps(yr + kPanel));
        }
        _mm512_storeu_ps(yr, c0);
        _mm512_storeu_ps(yr + kPanel, c1);
        return;
    }
    alignas(64) float tmp[2 * kPanel];
    _mm512_store_ps(tmp, c0);
    _mm512_store_ps(tmp + kPanel, c1);
    for (int64_t j = 0; j < n_cols; ++j) yr[j] = accumulate ? yr[j] + tmp[j] : tmp[j];
}

template <size_t... R>
MNEMO_AVX512 void tile(std::index_sequence<R...>, const float* xp, const float* p0, const float* p1, int64_t kc, float* y,
                       int64_t y_stride, int64_t n_cols, bool accumulate) {
    constexpr size_t kRows = sizeof...(R);
    __m512 c0[kRows], c1[kRows];
    ((c0[R] = _mm512_setzero_ps(), c1[R] = _mm512_setzero_ps()), ...);
    for (int64_t k = 0; k < kc; ++k) {
        const __m512 b0 = _mm512_load_ps(p0 + k * kPanel);
        const __m512 b1 = _mm512_load_ps(p1 + k * kPanel);
        const float* xk = xp + k * kRowsPacked;
        ((c0[R] = _mm512_fmadd_ps(_mm512_set1_ps(xk[R]), b0, c0[R]), c1[R] = _mm512_fmadd_ps(_mm512_set1_ps(xk[R]), b1, c1[R])),
         ...);
    }
    (store_row<R>(y, y_stride, c0[R], c1[R], n_cols, accumulate), ...);
}

}  // namespace

void gemm_tile_avx512(int64_t rows, const float* xp, const float* p0, const float* p1, int64_t kc, float* y, int64_t y_stride,
                      int64_t n_cols, bool accumulate) {
#define MNEMO_TILE512(n) tile(std::make_index_sequence<n>{}, xp, p0, p1, kc, y, y_stride, n_cols, accumulate)
    switch (rows) {
        case 6: MNEMO_TILE512(6); break;
        case 5: MNEMO_TILE512(5); break;
        case 4: MNEMO_TILE512(4); break;
        case 3: MNEMO_TILE512(3); break;
        case 2: MNEMO_TILE512(2); break;
        default: MNEMO_TILE512(1); break;
    }
#undef MNEMO_TILE512
}
#else
void gemm_tile_avx512(int64_t, const float*, const float*, const float*, int64_t, float*, int64_t, int64_t, bool) {}
#endif

}  // namespace mnemo::cpu::detail
