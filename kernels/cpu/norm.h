// Row-wise normalisations. Each op works on n_rows rows of `dim` floats, rows `*_stride`
// floats apart; y may alias x (in place). `weight` may be null (no affine scale).
//
//   rms_norm        y = x / sqrt(mean(x²) + eps) * w
//   rms_norm_gated  y = rms_norm(x) * w * silu(g)        (FLA FusedRMSNormGated, 'swish')
//   l2_norm         y = x / sqrt(sum(x²) + eps)           (FLA l2norm: eps inside the root,
//                                                          added to the sum; FLA's eps=1e-6)
//
// *_reference forms accumulate in double and are the spec the fast forms are tested against.
#pragma once

#include <cstdint>

#include "cpu/thread_pool.h"

namespace mnemo::cpu {

inline constexpr float kL2NormEps = 1e-6f;

struct RowsArgs {
    const float* x = nullptr;
    int64_t x_stride = 0;
    float* y = nullptr;
    int64_t y_stride = 0;
    int64_t n_rows = 0;
    int64_t dim = 0;
};

void rms_norm(const RowsArgs& rows, const float* weight, float eps, ThreadPool* pool = nullptr);
void rms_norm_reference(const RowsArgs& rows, const float* weight, float eps);

// gate rows are gate_stride floats apart and have `dim` entries like x.
void rms_norm_gated(const RowsArgs& rows, const float* gate, int64_t gate_stride, const float* weight, float eps,
                    ThreadPool* pool = nullptr);
void rms_norm_gated_reference(const RowsArgs& rows, const float* gate, int64_t gate_stride, const float* weight,
                              float eps);

void l2_norm(const RowsArgs& rows, float eps = kL2NormEps, ThreadPool* pool = nullptr);
void l2_norm_reference(const RowsArgs& rows, float eps = kL2NormEps);

// Convenience: contiguous rows.
inline RowsArgs contiguous_rows(const float* x, float* y, int64_t n_rows, int64_t dim) {
    return RowsArgs{x, dim, y, dim, n_rows, dim};
}

}  // namespace mnemo::cpu
