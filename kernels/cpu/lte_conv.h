// LTE retention scorer: the reference's LTEConvolutionStack (fla/layers/lte.py).
//
// Per token the input of group g is [k_g, v_g] (2·head_dim channels; k before RoPE). With
// routing_shared == 'head' there is one group per KV head (groups = n_kv_heads, one
// grouped conv over all heads); with 'layer'/'all' the same group-of-one stack runs on
// each head separately (call once per head with groups = 1).
// Each layer is a grouped 1-D conv (PyTorch Conv2d with kernel (1, k), dilation (1, d),
// padding='same', bias) halving the channels, then SiLU; a final grouped 1×1 conv (with
// bias) gives one logit per group. Score: sigmoid(logit) − 0.5 ('sigmoid' routing, the
// paper's) or relu(logit).
//
// 'same' padding pads each layer's input with zeros outside the segment the stack is run
// on (left = d(k−1)/2 rounded down, right the rest, as PyTorch). The reference runs it on
// the whole prompt at prefill and on the current window (w+1 tokens, blanks masked to zero)
// at decode: zeros beyond the tokens it has. Masked/blank positions behave exactly like
// positions outside the segment. Consequently:
//   * a score is final once right_context() tokens after it are known (= margin() =
//     receptive_field()/2 for odd kernels);
//   * scores for [a, b) computed from the segment [max(s0, a − L), min(e0, b + R))
//     (L = left_context(), R = right_context()) equal those from any larger segment with
//     the same true ends s0 (sequence start) and e0 (last known token + 1): interior cut
//     points are never reached.
//
// Forms: lte_scores_reference (direct convolution over the whole segment, double) and
// LteScorer::scores (weights repacked once; per group and row tile, im2col + the f32
// GEMM; threaded over (group, tile); bit-identical for any thread count).
#pragma once

#include <cstdint>
#include <vector>

#include "cpu/thread_pool.h"

namespace mnemo::cpu {

struct LteConvLayerWeights {
    int64_t in_channels = 0;   // total over groups
    int64_t out_channels = 0;  // total over groups
    int64_t kernel_size = 3;
    int64_t dilation = 1;
    const float* weight = nullptr;  // [out_channels, in_channels / groups, kernel_size]
    const float* bias = nullptr;    // [out_channels], may be null
};

struct LteConvStackWeights {
    int64_t groups = 1;
    int64_t head_dim = 0;  // the group's input is [k (head_dim), v (head_dim)]
    std::vector<LteConvLayerWeights> layers;
    const float* proj_weight = nullptr;  // [groups, last_out_channels / groups]
    const float* proj_bias = nullptr;    // [groups], may be null
};

enum class LteRouting { sigmoid, relu, logit };

// One segment of token rows: row r (0-based in the segment) of group g reads
// k + r*k_stride + g*head_dim and v + r*v_stride + g*head_dim.
struct LteSegment {
    const float* k = nullptr;
    int64_t k_stride = 0;
    const float* v = nullptr;
    int64_t v_stride = 0;
    int64_t n_rows = 0;
};

// Scores for segment rows [out_begin, out_end) into scores[(r − out_begin)*scores_stride + g].
struct LteOutput {
    int64_t out_begin = 0;
    int64_t out_end = 0;
    float* scores = nullptr;
    int64_t scores_stride = 0;
    LteRouting routing = LteRouting::sigmoid;
};

int64_t lte_receptive_field(const LteConvStackWeights& w);  // 1 + Σ (k−1)·d

void lte_scores_reference(const LteConvStackWeights& w, const LteSegment& segment, const LteOutput& out);

class LteScorer {
public:
    explicit LteScorer(const LteConvStackWeights& weights);

    int64_t groups() const { return groups_; }
    int64_t receptive_field() const { return receptive_field_; }
    // The reference's margin, receptive_field()/2. Equals left_context() and
    // right_context() for odd kernel sizes (the paper's); PyTorch's 'same' padding puts the
    // extra column of an even kernel on the right, so then the contexts differ.
    int64_t margin() const { return receptive_field_ / 2; }
    int64_t left_context() const { return left_context_; }    // past tokens a score depends on
    int64_t right_context() const { return right_context_; }  // future tokens a score depends on

    void scores(const LteSegment& segment, const LteOutput& out, ThreadPool* pool = nullptr) const;

private:
    struct Layer {
        int64_t in_per_group, out_per_group, kernel_size, dilation, pad_left, pad_right;
        std::vector<float> weight;  // [out_channels][kernel_size * in_per_group], tap-major columns
        std::vector<float> bias;    // [out_channels]
    };
    int64_t groups_ = 1;
    int64_t head_dim_ = 0;
    int64_t receptive_field_ = 1;
    int64_t left_context_ = 0;
    int64_t right_context_ = 0;
    std::vector<Layer> layers_;
    std::vector<float> proj_weight_;  // [groups][last_out_per_group]
    std::vector<float> proj_bias_;    // [groups]
};

}  // namespace mnemo::cpu
