// Element-wise activations and the row softmax. y may alias the input.
//
//   silu(x)      = x * sigmoid(x)
//   sigmoid(x)   = 1 / (1 + exp(-x))
//   softplus(x)  = log(1 + exp(x)), linear above 20 (torch's threshold)
//   swiglu(g, u) = silu(g) * u
//   add(a, b)    = a + b (residual connections)
//   softmax      numerically stable (max subtracted), per row
#pragma once

#include <cstdint>

#include "cpu/norm.h"  // RowsArgs
#include "cpu/thread_pool.h"

namespace mnemo::cpu {

void silu(const float* x, float* y, int64_t n);
void sigmoid(const float* x, float* y, int64_t n);
void softplus(const float* x, float* y, int64_t n);
void swiglu(const float* gate, const float* up, float* y, int64_t n);
void add(const float* a, const float* b, float* y, int64_t n);

void silu_reference(const float* x, float* y, int64_t n);
void sigmoid_reference(const float* x, float* y, int64_t n);
void softplus_reference(const float* x, float* y, int64_t n);
void swiglu_reference(const float* gate, const float* up, float* y, int64_t n);

void softmax(const RowsArgs& rows, ThreadPool* pool = nullptr);
void softmax_reference(const RowsArgs& rows);

}  // namespace mnemo::cpu
