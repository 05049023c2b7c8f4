#include "cpu/small_gemm.h"

#include <algorithm>
#include <utility>

#include "cpu/isa.h"
#include "cpu/simd.h"

namespace mnemo::cpu::detail {
namespace {

void gemm_acc_scalar(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
                     float* c, int64_t ldc) {
    for (int64_t i = 0; i < m; ++i) {
        float* ci = c + i * ldc;
        for (int64_t p = 0; p < k; ++p) {
            const float av = a[i * lda + p];
            const float* bp = b + p * ldb;
            for (int64_t j = 0; j < n; ++j) ci[j] += av * bp[j];
        }
    }
}

#if MNEMO_HAVE_X86
// R rows x up to 16 columns; n_valid < 16 uses masked loads/stores. Row indices are
// compile-time constants (fold expressions) so the accumulators stay in registers.
template <size_t... R>
MNEMO_AVX2 void gemm_tile(std::index_sequence<R...>, int64_t k, const float* a, int64_t lda, const float* b,
                          int64_t ldb, float* c, int64_t ldc, int64_t n_valid) {
    constexpr size_t kRows = sizeof...(R);
    __m256 c0[kRows], c1[kRows];
    const float* ar[kRows] = {(a + static_cast<int64_t>(R) * lda)...};
    float* cr[kRows] = {(c + static_cast<int64_t>(R) * ldc)...};
    if (n_valid == 16) {
        ((c0[R] = _mm256_loadu_ps(cr[R]), c1[R] = _mm256_loadu_ps(cr[R] + 8)), ...);
        for (int64_t p = 0; p < k; ++p) {
            const __m256 b0 = _mm256_loadu_ps(b + p * ldb);
            const __m256 b1 = _mm256_loadu_ps(b + p * ldb + 8);
            ((c0[R] = _mm256_fmadd_ps(_mm256_broadcast_ss(ar[R] + p), b0, c0[R]),
              c1[R] = _mm256_fmadd_ps(_mm256_broadcast_ss(ar[R] + p), b1, c1[R])),
             ...);
        }
        ((_mm256_storeu_ps(cr[R], c0[R]), _mm256_storeu_ps(cr[R] + 8, c1[R])), ...);
        return;
    }
    const __m256i mask0 = tail_mask(std::min<int64_t>(8, n_valid));
    const __m256i mask1 = tail_mask(std::max<int64_t>(0, n_valid - 8));
    ((c0[R] = _mm256_maskload_ps(cr[R], mask0), c1[R] = _mm256_maskload_ps(cr[R] + 8, mask1)), ...);
    for (int64_t p = 0; p < k; ++p) {
        const __m256 b0 = _mm256_maskload_ps(b + p * ldb, mask0);
        const __m256 b1 = _mm256_maskload_ps(b + p * ldb + 8, mask1);
        ((c0[R] = _mm256_fmadd_ps(_mm256_broadcast_ss(ar[R] + p), b0, c0[R]),
          c1[R] = _mm256_fmadd_ps(_mm256_broadcast_ss(ar[R] + p), b1, c1[R])),
         ...);
    }
    ((_mm256_maskstore_ps(cr[R], mask0, c0[R]), _mm256_maskstore_ps(cr[R] + 8, mask1, c1[R])), ...);
}

MNEMO_AVX2 void gemm_acc_avx2(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
                              int64_t ldb, float* c, int64_t ldc) {
    for (int64_t j = 0; j < n; j += 16) {
        const int64_t n_valid = std::min<int64_t>(16, n - j);
        int64_t i = 0;
        for (; i + 4 <= m; i += 4) {
            gemm_tile(std::make_index_sequence<4>{}, k, a + i * lda, lda, b + j, ldb, c + i * ldc + j, ldc, n_valid);
        }
        switch (m - i) {
            case 3: gemm_tile(std::make_index_sequence<3>{}, k, a + i * lda, lda, b + j, ldb, c + i * ldc + j, ldc, n_valid); break;
            case 2: gemm_tile(std::make_index_sequence<2>{}, k, a + i * lda, lda, b + j, ldb, c + i * ldc + j, ldc, n_valid); break;
            case 1: gemm_tile(std::make_index_sequence<1>{}, k, a + i * lda, lda, b + j, ldb, c + i * ldc + j, ldc, n_valid); break;
            default: break;
        }
    }
}
#endif

}  // namespace

void gemm_acc(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
              int64_t ldc) {
    if (m <= 0 || n <= 0 || k <= 0) return;
#if MNEMO_HAVE_X86
    if (active_isa() == Isa::avx2) return gemm_acc_avx2(m, n, k, a, lda, b, ldb, c, ldc);
#endif
    gemm_acc_scalar(m, n, k, a, lda, b, ldb, c, ldc);
}

float dot(const float* a, const float* b, int64_t n) {
#if MNEMO_HAVE_X86
    if (active_isa() == Isa::avx2) return dot_avx2(a, b, n);
#endif
    return dot_scalar(a, b, n);
}

void axpy(float alpha, const float* x, float* y, int64_t n) {
#if MNEMO_HAVE_X86
    if (active_isa() == Isa::avx2) return axpy_avx2(alpha, x, y, n);
#endif
    axpy_scalar(alpha, x, y, n);
}

void scale(float alpha, float* y, int64_t n) {
#if MNEMO_HAVE_X86
    if (active_isa() == Isa::avx2) return scale_avx2(alpha, y, n);
#endif
    scale_scalar(alpha, y, n);
}

}  // namespace mnemo::cpu::detail
