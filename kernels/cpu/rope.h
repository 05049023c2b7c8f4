// Rotary position embedding as FLA's RotaryEmbedding default: non-interleaved
// ("rotate half", GPT-NeoX style), inv_freq[i] = 1 / theta^(2i / rotary_dim) in f32,
// angle = position · inv_freq[i] in f32. For the first rotary_dim dims of each head
// (x1 = x[i], x2 = x[i + rotary_dim/2]):
//     x1' = x1 cos − x2 sin,   x2' = x2 cos + x1 sin
// the rest pass through. Positions are explicit per token (cached keys keep their original
// positions). `inverse` applies the opposite rotation (FLA's derope: sin negated).
// Applied in place.
#pragma once

#include <cstdint>

#include "cpu/thread_pool.h"

namespace mnemo::cpu {

struct RopeArgs {
    float* x = nullptr;  // token t, head h at x + t*token_stride + h*head_stride
    int64_t token_stride = 0;
    int64_t head_stride = 0;
    int64_t n_tokens = 0;
    int64_t n_heads = 0;
    int64_t rotary_dim = 0;  // even, <= head size; FLA uses the head size
    const int64_t* positions = nullptr;  // [n_tokens]
    float theta = 10000.0f;
    bool inverse = false;
};

void rope(const RopeArgs& args, ThreadPool* pool = nullptr);
void rope_reference(const RopeArgs& args);

}  // namespace mnemo::cpu
