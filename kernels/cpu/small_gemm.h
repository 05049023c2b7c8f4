// Internal: C[M][N] += A[M][K] · B[K][N] for the small dense products inside the gated
// delta rule chunk form and blocked attention (all operands row-major, f32, in cache).
// Not part of the public surface.
#pragma once

#include <cstdint>

namespace mnemo::cpu::detail {

void gemm_acc(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
              int64_t ldc);

// Vector primitives dispatched on the active ISA.
float dot(const float* a, const float* b, int64_t n);
void axpy(float alpha, const float* x, float* y, int64_t n);  // y += alpha * x
void scale(float alpha, float* y, int64_t n);                  // y *= alpha

}  // namespace mnemo::cpu::detail
