// Typed views of a model's weights, resolved once per session from the GGUF file,
// and the linear layer every mixer uses.
#pragma once

#include "../model.h"
#include "cpu/dtype.h"
#include "cpu/thread_pool.h"

namespace mnemo {

struct Linear {
    const void* weight = nullptr;  // [out, in] rows in `type`
    cpu::DType type = cpu::DType::f32;
    int64_t out = 0;
    int64_t in = 0;
    const float* bias = nullptr;   // optional [out]
};

// The named tensors, which model load has already validated for shape and type.
Linear linear_weight(const ModelImpl& model, const std::string& name, const std::string& bias_name = "");
const float* f32_tensor(const ModelImpl& model, const std::string& name);

// y[T, out] = x[T, in] · Wᵀ (+ bias); x rows x_stride apart, y rows y_stride apart.
void apply_linear(const Linear& w, const float* x, int64_t x_stride, int64_t n_tokens, float* y, int64_t y_stride,
                  cpu::ThreadPool* pool);
inline void apply_linear(const Linear& w, const float* x, int64_t n_tokens, float* y, cpu::ThreadPool* pool) {
    apply_linear(w, x, w.in, n_tokens, y, w.out, pool);
}

}  // namespace mnemo
