// laLTE: sliding-window attention + attention sink + a learned retention scorer (a
// small per-head CNN over [k before RoPE, v]) deciding which tokens leaving the window
// stay (DESIGN §2). The attention and the cache are AttentionMixer's; this module owns
// the scorer and the cache's capacities.
#include "attention_mixer.h"

#include "../error.h"
#include "../model.h"
#include "cpu/lte_conv.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace mnemo {
namespace {

void lte_tensor_specs(const ModelConfig& m, const LayerConfig& l, const std::string& p, std::vector<TensorSpec>* out) {
    attention_projection_specs(m, l, p, out);
    // Per-head routing groups the channels of all KV heads; per-layer routing runs
    // one shared stack over each head's [k, v].
    const int64_t groups = l.routing_shared == "head" ? l.n_kv_heads : 1;
    int64_t channels = 2 * int64_t{l.head_dim} * groups;
    for (size_t i = 0; i < l.lte_conv_sizes.size(); ++i) {
        const std::string c = p + "router.conv_stack.convs." + std::to_string(i) + ".";
        out->push_back({c + "weight", {channels / 2, channels / groups, 1, l.lte_conv_sizes[i]}});
        out->push_back({c + "bias", {channels / 2}});
        channels /= 2;
    }
    out->push_back({p + "router.conv_stack.proj.weight", {groups, channels / groups, 1, 1}});
    out->push_back({p + "router.conv_stack.proj.bias", {groups}});
}

cpu::LteConvStackWeights scorer_weights(const ModelImpl& model, int32_t index) {
    const LayerConfig& l = model.config.layers[static_cast<size_t>(index)];
    const std::string p = layer_prefix(index) + "router.conv_stack.";
    cpu::LteConvStackWeights w;
    w.groups = l.routing_shared == "head" ? l.n_kv_heads : 1;
    w.head_dim = l.head_dim;
    int64_t channels = 2 * int64_t{l.head_dim} * w.groups;
    for (size_t i = 0; i < l.lte_conv_sizes.size(); ++i) {
        cpu::LteConvLayerWeights layer;
        layer.in_channels = channels;
        layer.out_channels = channels / 2;
        layer.kernel_size = l.lte_conv_sizes[i];
        layer.dilation = l.lte_conv_dilations[i];
        layer.weight = f32_tensor(model, p + "convs." + std::to_string(i) + ".weight");
        layer.bias = f32_tensor(model, p + "convs." + std::to_string(i) + ".bias");
        w.layers.push_back(layer);
        channels /= 2;
    }
    w.proj_weight = f32_tensor(model, p + "proj.weight");
    w.proj_bias = f32_tensor(model, p + "proj.bias");
    return w;
}

// Computes the retention scores r_j from the window's pre-RoPE keys and values (zeros
// before the sequence start). r_j is final once the `right` tokens after j are in the
// window, and must be computed while its `left` context is still there: at some step
// t in [j + right, j + w − left]. Scores are therefore computed lazily, in batches of
// up to w − left − right + 1 tokens at the last moment of the oldest unscored token, so
// the CNN costs O(1) amortised per token (the reference recomputes the window in the
// same spirit).
class LearnedScorer final : public RetentionScorer {
public:
    LearnedScorer(const ModelImpl& model, int32_t index)
        : layer_(model.config.layers[static_cast<size_t>(index)]), scorer_(scorer_weights(model, index)),
          per_head_(layer_.routing_shared != "head"),
          routing_(layer_.routing_method == "relu" ? cpu::LteRouting::relu : cpu::LteRouting::sigmoid) {}

    void layout(ArenaLayout& state, ArenaLayout& scratch) override {
        const int64_t rows = int64_t{layer_.window_size} + 1;
        const int64_t width = int64_t{layer_.n_kv_heads} * layer_.head_dim;
        next_unscored_ = state.take<int64_t>(1);
        seg_k_ = scratch.take<float>(static_cast<uint64_t>(rows * width));
        seg_v_ = scratch.take<float>(static_cast<uint64_t>(rows * width));
        scores_ = scratch.take<float>(static_cast<uint64_t>(rows * layer_.n_kv_heads));
    }
    void reset() override { *next_unscored_ = 0; }

    void finalize(KvCache& cache, int64_t newest, cpu::ThreadPool* pool) override {
        const int64_t left = scorer_.left_context(), right = scorer_.right_context(), w = layer_.window_size;
        const int64_t first_target = *next_unscored_;
        // Last step at which first_target's left context is still in the window.
        const int64_t deadline = first_target + w - left;
        if (newest < std::max(deadline, first_target + right)) return;
        const int64_t last_target = newest - right;  // inclusive; final now
        if (last_target < first_target) return;
        const int64_t first_row = std::max<int64_t>(0, first_target - left);
        const int64_t rows = newest - first_row + 1;
        const int32_t n_kv = layer_.n_kv_heads;
        const int64_t hd = layer_.head_dim, width = n_kv * hd;
        for (int64_t r = 0; r < rows; ++r) {
            const int32_t slot = cache.window_slot_of(first_row + r);
            std::memcpy(seg_k_ + r * width, cache.pre_rope_key(slot), static_cast<size_t>(width) * sizeof(float));
            for (int32_t h = 0; h < n_kv; ++h)
                std::memcpy(seg_v_ + r * width + h * hd, cache.values(h) + slot * hd, static_cast<size_t>(hd) * sizeof(float));
        }
        cpu::LteOutput out;
        out.out_begin = first_target - first_row;
        out.out_end = last_target - first_row + 1;
        out.routing = routing_;
        if (per_head_) {  // one shared single-group stack, run on each head
            for (int32_t h = 0; h < n_kv; ++h) {
                cpu::LteSegment seg{seg_k_ + h * hd, width, seg_v_ + h * hd, width, rows};
                out.scores = scores_ + h;
                out.scores_stride = n_kv;
                scorer_.scores(seg, out, pool);
            }
        } else {
            cpu::LteSegment seg{seg_k_, width, seg_v_, width, rows};
            out.scores = scores_;
            out.scores_stride = n_kv;
            scorer_.scores(seg, out, pool);
        }
        for (int64_t j = first_target; j <= last_target; ++j) {
            const int32_t slot = cache.window_slot_of(j);
            for (int32_t h = 0; h < n_kv; ++h) cache.set_score(h, slot, scores_[(j - first_target) * n_kv + h]);
        }
        *next_unscored_ = last_target + 1;
    }

    // finalize() moves next_unscored_ to newest − right + 1 when it runs, and runs once
    // newest reaches next_unscored_ + w − left (the window covers the receptive field:
    // w >= left + right, lte_check). So after n tokens next_unscored_ is 0 or in
    // [n − w + left, n − right]; within that range every row finalize reads is in the
    // window.
    bool state_consistent(int64_t n_fed, std::string* why) const override {
        const int64_t next = *next_unscored_;
        const int64_t lo = std::max<int64_t>(0, n_fed - layer_.window_size + scorer_.left_context());
        const int64_t hi = std::max<int64_t>(0, n_fed - scorer_.right_context());
        if (next >= lo && next <= hi) return true;
        *why = "first unscored position " + std::to_string(next) + " outside [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
        return false;
    }

    const int64_t* next_unscored() const override { return next_unscored_; }

private:
    const LayerConfig& layer_;
    cpu::LteScorer scorer_;
    bool per_head_;
    cpu::LteRouting routing_;
    int64_t* next_unscored_ = nullptr;  // state: first position without a final score
    float* seg_k_ = nullptr;
    float* seg_v_ = nullptr;
    float* scores_ = nullptr;
};

mnemo_status lte_check(const LayerConfig& l, int32_t index, const SessionOptions&) {
    int64_t left = 0, right = 0;
    for (size_t i = 0; i < l.lte_conv_sizes.size(); ++i) {
        const int64_t total = int64_t{l.lte_conv_dilations[i]} * (l.lte_conv_sizes[i] - 1);
        left += total / 2;
        right += total - total / 2;
    }
    if (l.window_size < left + right)
        return failf(MNEMO_ERR_MODEL_INVALID, "lte layer %d: window_size %d is smaller than the scorer's receptive field − 1 (%lld)",
                     index, l.window_size, static_cast<long long>(left + right));
    return MNEMO_OK;
}

std::unique_ptr<Mixer> lte_create(const ModelImpl& model, int32_t index, const SessionOptions&) {
    const LayerConfig& l = model.config.layers[static_cast<size_t>(index)];
    AttentionMixerConfig c;
    c.cache.n_kv_heads = l.n_kv_heads;
    c.cache.head_dim = l.head_dim;
    c.cache.sink_capacity = l.sink_size;
    c.cache.retained_capacity = l.buffer_size - l.sink_size;
    c.cache.window_capacity = int64_t{l.window_size} + 1;  // laLTE's window counts the current token on top
    c.cache.keep_pre_rope_keys = true;
    c.rule = RetentionRule::learned;
    return std::make_unique<AttentionMixer>(model, index, c, std::make_unique<LearnedScorer>(model, index));
}

}  // namespace

const MixerModule kLteMixer = {MNEMO_MIXER_LTE, "lte", lte_tensor_specs, lte_check, lte_create};

}  // namespace mnemo
