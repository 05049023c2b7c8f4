// Y[T, N] = X[T, K] · Wᵀ (+ bias), W row-major [N, K] stored as f32, f16, bf16 or q8_0.
//
// Forms:
//   matmul_reference  obvious triple loop, double accumulation (the spec; slow).
//   matmul            T == 1: bandwidth-bound GEMV that converts W on the fly;
//                     T >= 2: BLIS-style packed GEMM (W converted to f32 while packing
//                     16-column panels, X packed per 96-row block, 6x16 AVX2 micro-kernel
//                     over K blocks of 256), threaded over column panels or rows. f32
//                     weights go to OpenBLAS when built with MNEMO_CPU_OPENBLAS=ON
//                     (off by default; see docs/kernels-cpu.md).
// Activations and accumulation are f32. Each output element is computed by the same
// arithmetic whatever the thread count, so results are bit-identical across pools.
//
// Shapes: x rows are x_stride floats apart (x_stride >= K); y rows y_stride apart
// (y_stride >= N); W rows are contiguous, row_bytes(w_type, K) apart. K must be a multiple
// of 32 for q8_0. bias may be null.
#pragma once

#include <cstdint>

#include "cpu/dtype.h"
#include "cpu/thread_pool.h"

namespace mnemo::cpu {

struct MatmulArgs {
    const float* x = nullptr;
    int64_t x_stride = 0;
    int64_t n_rows = 0;  // T
    int64_t k = 0;       // inner dimension K
    const void* w = nullptr;
    DType w_type = DType::f32;
    int64_t n_cols = 0;  // N
    const float* bias = nullptr;
    float* y = nullptr;
    int64_t y_stride = 0;
};

void matmul(const MatmulArgs& args, ThreadPool* pool = nullptr);
void matmul_reference(const MatmulArgs& args);

// Convenience for contiguous X and Y.
inline void matmul(const float* x, int64_t n_rows, int64_t k, const void* w, DType w_type, int64_t n_cols,
                   const float* bias, float* y, ThreadPool* pool = nullptr) {
    MatmulArgs args;
    args.x = x;
    args.x_stride = k;
    args.n_rows = n_rows;
    args.k = k;
    args.w = w;
    args.w_type = w_type;
    args.n_cols = n_cols;
    args.bias = bias;
    args.y = y;
    args.y_stride = n_cols;
    matmul(args, pool);
}

// True when f32 GEMMs of this shape are routed to OpenBLAS in this build.
bool matmul_uses_blas(int64_t n_rows, int64_t k, int64_t n_cols, DType w_type);

}  // namespace mnemo::cpu
