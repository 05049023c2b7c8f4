#include "cpu/small_gemm.h"

#include <algorithm>

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
// R rows x up to 16 columns; n_valid < 16 uses masked loads/stores.
template <int R>
MNEMO_AVX2 void gemm_tile(int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc,
                          int64_t n_valid) {
    __m256 c0[R], c1[R];
    const bool full = n_valid == 16;
    const __m256i mask0 = tail_mask(std::min<int64_t>(8, n_valid));
    const __m256i mask1 = tail_mask(std::max<int64_t>(0, n_valid - 8));
    for (int r = 0; r < R; ++r) {
        if (full) {
            c0[r] = _mm256_loadu_ps(c + r * ldc);
            c1[r] = _mm256_loadu_ps(c + r * ldc + 8);
        } else {
            c0[r] = _mm256_maskload_ps(c + r * ldc, mask0);
            c1[r] = _mm256_maskload_ps(c + r * ldc + 8, mask1);
        }
    }
    for (int64_t p = 0; p < k; ++p) {
        __m256 b0, b1;
        if (full) {
            b0 = _mm256_loadu_ps(b + p * ldb);
            b1 = _mm256_loadu_ps(b + p * ldb + 8);
        } else {
            b0 = _mm256_maskload_ps(b + p * ldb, mask0);
            b1 = _mm256_maskload_ps(b + p * ldb + 8, mask1);
        }
        for (int r = 0; r < R; ++r) {
            const __m256 av = _mm256_broadcast_ss(a + r * lda + p);
            c0[r] = _mm256_fmadd_ps(av, b0, c0[r]);
            c1[r] = _mm256_fmadd_ps(av, b1, c1[r]);
        }
    }
    for (int r = 0; r < R; ++r) {
        if (full) {
            _mm256_storeu_ps(c + r * ldc, c0[r]);
            _mm256_storeu_ps(c + r * ldc + 8, c1[r]);
        } else {
            _mm256_maskstore_ps(c + r * ldc, mask0, c0[r]);
            _mm256_maskstore_ps(c + r * ldc + 8, mask1, c1[r]);
        }
    }
}

MNEMO_AVX2 void gemm_acc_avx2(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
                              int64_t ldb, float* c, int64_t ldc) {
    for (int64_t j = 0; j < n; j += 16) {
        const int64_t n_valid = std::min<int64_t>(16, n - j);
        int64_t i = 0;
        for (; i + 4 <= m; i += 4) gemm_tile<4>(k, a + i * lda, lda, b + j, ldb, c + i * ldc + j, ldc, n_valid);
        switch (m - i) {
            case 3: gemm_tile<3>(k, a + i * lda, lda, b + j, ldb, c + i * ldc + j, ldc, n_valid); break;
            case 2: gemm_tile<2>(k, a + i * lda, lda, b + j, ldb, c + i * ldc + j, ldc, n_valid); break;
            case 1: gemm_tile<1>(k, a + i * lda, lda, b + j, ldb, c + i * ldc + j, ldc, n_valid); break;
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
