#include "cpu/norm.h"

#include <cmath>

#include "cpu/isa.h"
#include "cpu/simd.h"

namespace mnemo::cpu {
namespace {

float sum_squares_scalar(const float* x, int64_t n) {
    float acc = 0.0f;
    for (int64_t i = 0; i < n; ++i) acc += x[i] * x[i];
    return acc;
}

// y = x * scale * (w or 1) * (silu(g) or 1)
void scale_row_scalar(const float* x, float scale, const float* w, const float* g, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        float v = x[i] * scale;
        if (w != nullptr) v *= w[i];
        if (g != nullptr) v *= detail::silu_scalar(g[i]);
        y[i] = v;
    }
}

#if MNEMO_HAVE_X86
MNEMO_AVX2 float sum_squares_avx2(const float* x, int64_t n) { return detail::dot_avx2(x, x, n); }

MNEMO_AVX2 void scale_row_avx2(const float* x, float scale, const float* w, const float* g, float* y, int64_t n) {
    const __m256 vs = _mm256_set1_ps(scale);
    int64_t i = 0;
    for (; i < n; i += 8) {
        const int64_t count = n - i < 8 ? n - i : 8;
        const bool full = count == 8;
        __m256 v = _mm256_mul_ps(full ? _mm256_loadu_ps(x + i) : detail::load_partial(x + i, count), vs);
        if (w != nullptr) v = _mm256_mul_ps(v, full ? _mm256_loadu_ps(w + i) : detail::load_partial(w + i, count));
        if (g != nullptr) {
            v = _mm256_mul_ps(v, detail::silu256(full ? _mm256_loadu_ps(g + i) : detail::load_partial(g + i, count)));
        }
        if (full) {
            _mm256_storeu_ps(y + i, v);
        } else {
            detail::store_partial(y + i, v, count);
        }
    }
}
#endif

enum class NormKind { rms, l2 };

void norm_rows(const RowsArgs& r, NormKind kind, const float* gate, int64_t gate_stride, const float* weight,
               float eps, ThreadPool* pool) {
    const bool avx2 = active_isa() == Isa::avx2;
    parallel_for(pool, r.n_rows, 16, [&](int64_t begin, int64_t end) {
        for (int64_t row = begin; row < end; ++row) {
            const float* x = r.x + row * r.x_stride;
            float* y = r.y + row * r.y_stride;
            const float* g = gate != nullptr ? gate + row * gate_stride : nullptr;
#if MNEMO_HAVE_X86
            const float ss = avx2 ? sum_squares_avx2(x, r.dim) : sum_squares_scalar(x, r.dim);
#else
            const float ss = sum_squares_scalar(x, r.dim);
#endif
            const float denom = kind == NormKind::rms ? ss / static_cast<float>(r.dim) + eps : ss + eps;
            const float scale = 1.0f / std::sqrt(denom);
#if MNEMO_HAVE_X86
            if (avx2) {
                scale_row_avx2(x, scale, weight, g, y, r.dim);
                continue;
            }
#endif
            scale_row_scalar(x, scale, weight, g, y, r.dim);
        }
    });
    (void)avx2;
}

void norm_rows_reference(const RowsArgs& r, NormKind kind, const float* gate, int64_t gate_stride,
                         const float* weight, float eps) {
    for (int64_t row = 0; row < r.n_rows; ++row) {
        const float* x = r.x + row * r.x_stride;
        float* y = r.y + row * r.y_stride;
        double ss = 0.0;
        for (int64_t i = 0; i < r.dim; ++i) ss += static_cast<double>(x[i]) * x[i];
        const double denom = kind == NormKind::rms ? ss / static_cast<double>(r.dim) + eps : ss + eps;
        const double scale = 1.0 / std::sqrt(denom);
        for (int64_t i = 0; i < r.dim; ++i) {
            double v = x[i] * scale;
            if (weight != nullptr) v *= weight[i];
            if (gate != nullptr) {
                const double g = gate[row * gate_stride + i];
                v *= g / (1.0 + std::exp(-g));
            }
            y[i] = static_cast<float>(v);
        }
    }
}

}  // namespace

void rms_norm(const RowsArgs& rows, const float* weight, float eps, ThreadPool* pool) {
    norm_rows(rows, NormKind::rms, nullptr, 0, weight, eps, pool);
}
void rms_norm_reference(const RowsArgs& rows, const float* weight, float eps) {
    norm_rows_reference(rows, NormKind::rms, nullptr, 0, weight, eps);
}
void rms_norm_gated(const RowsArgs& rows, const float* gate, int64_t gate_stride, const float* weight, float eps,
                    ThreadPool* pool) {
    norm_rows(rows, NormKind::rms, gate, gate_stride, weight, eps, pool);
}
void rms_norm_gated_reference(const RowsArgs& rows, const float* gate, int64_t gate_stride, const float* weight,
                              float eps) {
    norm_rows_reference(rows, NormKind::rms, gate, gate_stride, weight, eps);
}
void l2_norm(const RowsArgs& rows, float eps, ThreadPool* pool) {
    norm_rows(rows, NormKind::l2, nullptr, 0, nullptr, eps, pool);
}
void l2_norm_reference(const RowsArgs& rows, float eps) {
    norm_rows_reference(rows, NormKind::l2, nullptr, 0, nullptr, eps);
}

}  // namespace mnemo::cpu
