// Causal depthwise short convolution (FLA ShortConvolution: nn.Conv1d with
// groups = channels, padding K−1, outputs truncated to T; bias off by default in
// GatedDeltaNet; activation SiLU), with a carried tail so decoding continues a prefill:
//
//     y[t, c] = act(bias[c] + Σ_{j<K} w[c, j] · x̃[t − (K−1) + j, c])
//
// where x̃ is the tail (the K−1 inputs before x[0], oldest first) followed by x. After the
// call the tail holds the K−1 most recent inputs. Decode is T = 1. A fresh sequence starts
// from a zero tail (which is what nn.Conv1d's zero padding does).
//
// Layouts: x, y [T, C] (rows *_stride apart; y must not alias x); weight [C, K] (the
// PyTorch [C, 1, K] weight squeezed: w[c, K−1] multiplies the current token); tail
// [K−1, C] contiguous.
#pragma once

#include <cstdint>

#include "cpu/thread_pool.h"

namespace mnemo::cpu {

struct ShortConvArgs {
    const float* x = nullptr;
    int64_t x_stride = 0;
    float* y = nullptr;
    int64_t y_stride = 0;
    int64_t n_tokens = 0;
    int64_t n_channels = 0;
    int64_t kernel_size = 4;
    const float* weight = nullptr;  // [C, K]
    const float* bias = nullptr;    // optional [C]
    float* tail = nullptr;          // [K-1, C], in/out
    bool silu = true;
};

void short_conv(const ShortConvArgs& args, ThreadPool* pool = nullptr);
void short_conv_reference(const ShortConvArgs& args);

}  // namespace mnemo::cpu
