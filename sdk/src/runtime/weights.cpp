#include "weights.h"

#include "cpu/matmul.h"

namespace mnemo {

Linear linear_weight(const ModelImpl& model, const std::string& name, const std::string& bias_name) {
    const GgufTensor* t = model.tensor(name);
    Linear l;
    l.weight = t->data;
    l.type = static_cast<cpu::DType>(t->type);
    l.out = t->shape[0];
    l.in = t->shape.back();
    if (!bias_name.empty()) {
        if (const GgufTensor* b = model.tensor(bias_name)) l.bias = reinterpret_cast<const float*>(b->data);
    }
    return l;
}

const float* f32_tensor(const ModelImpl& model, const std::string& name) {
    const GgufTensor* t = model.tensor(name);
    return t == nullptr ? nullptr : reinterpret_cast<const float*>(t->data);
}

void apply_linear(const Linear& w, const float* x, int64_t x_stride, int64_t n_tokens, float* y, int64_t y_stride,
                  cpu::ThreadPool* pool) {
    cpu::MatmulArgs a;
    a.x = x;
    a.x_stride = x_stride;
    a.n_rows = n_tokens;
    a.k = w.in;
    a.w = w.weight;
    a.w_type = w.type;
    a.n_cols = w.out;
    a.bias = w.bias;
    a.y = y;
    a.y_stride = y_stride;
    cpu::matmul(a, pool);
}

}  // namespace mnemo
