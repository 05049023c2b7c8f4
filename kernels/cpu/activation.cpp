#include "cpu/activation.h"

#include <cmath>
#include <limits>

#include "cpu/isa.h"
#include "cpu/simd.h"

namespace mnemo::cpu {
namespace {

#if MNEMO_HAVE_X86
template <class Op>
MNEMO_AVX2 void map_avx2(const float* x, float* y, int64_t n, Op op) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, op(_mm256_loadu_ps(x + i)));
    if (i < n) detail::store_partial(y + i, op(detail::load_partial(x + i, n - i)), n - i);
}

struct SiluOp {
    MNEMO_AVX2 __m256 operator()(__m256 v) const { return detail::silu256(v); }
};
struct SigmoidOp {
    MNEMO_AVX2 __m256 operator()(__m256 v) const { return detail::sigmoid256(v); }
};

MNEMO_AVX2 void swiglu_avx2(const float* gate, const float* up, float* y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        _mm256_storeu_ps(y + i, _mm256_mul_ps(detail::silu256(_mm256_loadu_ps(gate + i)), _mm256_loadu_ps(up + i)));
    }
    if (i < n) {
        const __m256 v = _mm256_mul_ps(detail::silu256(detail::load_partial(gate + i, n - i)),
                                       detail::load_partial(up + i, n - i));
        detail::store_partial(y + i, v, n - i);
    }
}

MNEMO_AVX2 void add_avx2(const float* a, const float* b, float* y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
    for (; i < n; ++i) y[i] = a[i] + b[i];
}

MNEMO_AVX2 void softmax_row_avx2(const float* x, float* y, int64_t n) {
    __m256 vmax = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(x + i));
    float max_value = detail::hmax256(vmax);
    for (; i < n; ++i) max_value = std::fmax(max_value, x[i]);
    if (max_value == -std::numeric_limits<float>::infinity()) max_value = 0.0f;  // all masked: 0/0 below
    const __m256 vm = _mm256_set1_ps(max_value);
    __m256 vsum = _mm256_setzero_ps();
    for (i = 0; i + 8 <= n; i += 8) {
        const __m256 e = detail::exp256(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm));
        _mm256_storeu_ps(y + i, e);
        vsum = _mm256_add_ps(vsum, e);
    }
    if (i < n) {
        const __m256 e = detail::exp256(_mm256_sub_ps(detail::load_partial(x + i, n - i), vm));
        const __m256 e_masked = _mm256_and_ps(e, _mm256_castsi256_ps(detail::tail_mask(n - i)));
        detail::store_partial(y + i, e_masked, n - i);
        vsum = _mm256_add_ps(vsum, e_masked);
    }
    const float sum = detail::hsum256(vsum);
    detail::scale_avx2(sum > 0.0f ? 1.0f / sum : 0.0f, y, n);
}
#endif

void softmax_row_scalar(const float* x, float* y, int64_t n) {
    float max_value = -std::numeric_limits<float>::infinity();
    for (int64_t i = 0; i < n; ++i) max_value = std::fmax(max_value, x[i]);
    if (max_value == -std::numeric_limits<float>::infinity()) max_value = 0.0f;
    float sum = 0.0f;
    for (int64_t i = 0; i < n; ++i) {
        y[i] = std::exp(x[i] - max_value);
        sum += y[i];
    }
    const float inverse = sum > 0.0f ? 1.0f / sum : 0.0f;
    for (int64_t i = 0; i < n; ++i) y[i] *= inverse;
}

float softplus_scalar(float x) { return x > 20.0f ? x : std::log1p(std::exp(x)); }

}  // namespace

void silu(const float* x, float* y, int64_t n) {
#if MNEMO_HAVE_X86
    if (active_isa() == Isa::avx2) return map_avx2(x, y, n, SiluOp{});
#endif
    for (int64_t i = 0; i < n; ++i) y[i] = detail::silu_scalar(x[i]);
}

void sigmoid(const float* x, float* y, int64_t n) {
#if MNEMO_HAVE_X86
    if (active_isa() == Isa::avx2) return map_avx2(x, y, n, SigmoidOp{});
#endif
    for (int64_t i = 0; i < n; ++i) y[i] = detail::sigmoid_scalar(x[i]);
}

void softplus(const float* x, float* y, int64_t n) {
    // Used on a handful of values per token (one per head): no vector form needed.
    for (int64_t i = 0; i < n; ++i) y[i] = softplus_scalar(x[i]);
}

void swiglu(const float* gate, const float* up, float* y, int64_t n) {
#if MNEMO_HAVE_X86
    if (active_isa() == Isa::avx2) return swiglu_avx2(gate, up, y, n);
#endif
    for (int64_t i = 0; i < n; ++i) y[i] = detail::silu_scalar(gate[i]) * up[i];
}

void add(const float* a, const float* b, float* y, int64_t n) {
#if MNEMO_HAVE_X86
    if (active_isa() == Isa::avx2) return add_avx2(a, b, y, n);
#endif
    for (int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}

void silu_reference(const float* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(x[i] / (1.0 + std::exp(-static_cast<double>(x[i]))));
}
void sigmoid_reference(const float* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(x[i]))));
}
void softplus_reference(const float* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        const double v = x[i];
        y[i] = static_cast<float>(v > 20.0 ? v : std::log1p(std::exp(v)));
    }
}
void swiglu_reference(const float* gate, const float* up, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        const double g = gate[i];
        y[i] = static_cast<float>(g / (1.0 + std::exp(-g)) * up[i]);
    }
}

void softmax(const RowsArgs& r, ThreadPool* pool) {
    const bool avx2 = active_isa() == Isa::avx2;
    parallel_for(pool, r.n_rows, 8, [&](int64_t begin, int64_t end) {
        for (int64_t row = begin; row < end; ++row) {
            const float* x = r.x + row * r.x_stride;
            float* y = r.y + row * r.y_stride;
#if MNEMO_HAVE_X86
            if (avx2) {
                softmax_row_avx2(x, y, r.dim);
                continue;
            }
#endif
            softmax_row_scalar(x, y, r.dim);
        }
    });
    (void)avx2;
}

void softmax_reference(const RowsArgs& r) {
    for (int64_t row = 0; row < r.n_rows; ++row) {
        const float* x = r.x + row * r.x_stride;
        float* y = r.y + row * r.y_stride;
        double max_value = -std::numeric_limits<double>::infinity();
        for (int64_t i = 0; i < r.dim; ++i) max_value = std::fmax(max_value, static_cast<double>(x[i]));
        if (std::isinf(max_value) && max_value < 0) max_value = 0.0;
        double sum = 0.0;
        for (int64_t i = 0; i < r.dim; ++i) sum += std::exp(x[i] - max_value);
        for (int64_t i = 0; i < r.dim; ++i) y[i] = static_cast<float>(sum > 0.0 ? std::exp(x[i] - max_value) / sum : 0.0);
    }
}

}  // namespace mnemo::cpu
