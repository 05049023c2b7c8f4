// Softmax attention over a bounded or unbounded KV cache: full (attn) and sliding
// window (swa), with the training-free eviction policies; lte reuses the same mixer
// with its learned scorer (lte.cpp).
#include "attention_mixer.h"

#include "../error.h"
#include "../model.h"
#include "cpu/attention.h"
#include "cpu/rope.h"

#include <cmath>
#include <cstring>

namespace mnemo {

void attention_projection_specs(const ModelConfig& m, const LayerConfig& l, const std::string& p, std::vector<TensorSpec>* out) {
    const int64_t d = m.hidden_size, q_dim = int64_t{l.n_heads} * l.head_dim, kv_dim = int64_t{l.n_kv_heads} * l.head_dim;
    out->push_back({p + "q_proj.weight", {q_dim, d}});
    out->push_back({p + "k_proj.weight", {kv_dim, d}});
    out->push_back({p + "v_proj.weight", {kv_dim, d}});
    if (l.qkv_bias) {
        out->push_back({p + "q_proj.bias", {q_dim}});
        out->push_back({p + "k_proj.bias", {kv_dim}});
        out->push_back({p + "v_proj.bias", {kv_dim}});
    }
    out->push_back({p + "o_proj.weight", {d, q_dim}});
}

AttentionMixer::AttentionMixer(const ModelImpl& model, int32_t index, const AttentionMixerConfig& config,
                               std::unique_ptr<RetentionScorer> scorer)
    : layer_(model.config.layers[static_cast<size_t>(index)]), config_(config), scorer_(std::move(scorer)) {
    const std::string p = layer_prefix(index);
    q_proj_ = linear_weight(model, p + "q_proj.weight", p + "q_proj.bias");
    k_proj_ = linear_weight(model, p + "k_proj.weight", p + "k_proj.bias");
    v_proj_ = linear_weight(model, p + "v_proj.weight", p + "v_proj.bias");
    o_proj_ = linear_weight(model, p + "o_proj.weight");
}

void AttentionMixer::layout(ArenaLayout& state, ArenaLayout& scratch, int64_t max_tokens) {
    cache_.layout(config_.cache, state);
    const int64_t q_dim = int64_t{layer_.n_heads} * layer_.head_dim, kv_dim = int64_t{layer_.n_kv_heads} * layer_.head_dim;
    q_ = scratch.take<float>(static_cast<uint64_t>(max_tokens * q_dim));
    k_ = scratch.take<float>(static_cast<uint64_t>(max_tokens * kv_dim));
    k_pre_ = scratch.take<float>(static_cast<uint64_t>(max_tokens * kv_dim));
    v_ = scratch.take<float>(static_cast<uint64_t>(max_tokens * kv_dim));
    attn_out_ = scratch.take<float>(static_cast<uint64_t>(max_tokens * q_dim));
    const int64_t visible = int64_t{config_.cache.sink_capacity} + config_.cache.retained_capacity + config_.cache.window_capacity;
    slots_ = scratch.take<int32_t>(static_cast<uint64_t>(visible));
    const bool attention_scored = config_.rule == RetentionRule::accumulated || config_.rule == RetentionRule::current ||
                                  config_.rule == RetentionRule::observation;
    probs_ = attention_scored ? scratch.take<float>(static_cast<uint64_t>(visible * (layer_.n_heads / layer_.n_kv_heads))) : nullptr;
    if (scorer_) scorer_->layout(state, scratch);
}

void AttentionMixer::reset() {
    cache_.reset();
    if (scorer_) scorer_->reset();
}

void AttentionMixer::forward(const ForwardContext& ctx, const float* x, float* y) {
    const int64_t T = ctx.n_tokens;
    const int64_t hd = layer_.head_dim;
    const int64_t q_dim = int64_t{layer_.n_heads} * hd, kv_dim = int64_t{layer_.n_kv_heads} * hd;
    apply_linear(q_proj_, x, T, q_, ctx.pool);
    apply_linear(k_proj_, x, T, k_, ctx.pool);
    apply_linear(v_proj_, x, T, v_, ctx.pool);
    if (config_.cache.keep_pre_rope_keys) std::memcpy(k_pre_, k_, static_cast<size_t>(T * kv_dim) * sizeof(float));
    rope_queries_and_keys(ctx, layer_, q_, k_);
    // Token by token over the cache: each query sees the cache as it is at its own step,
    // so any chunking gives the same result as decoding one token at a time.
    for (int64_t t = 0; t < T; ++t)
        step(ctx, ctx.positions[t], q_ + t * q_dim, k_pre_ + t * kv_dim, k_ + t * kv_dim, v_ + t * kv_dim, attn_out_ + t * q_dim);
    apply_linear(o_proj_, attn_out_, T, y, ctx.pool);
}

void rope_queries_and_keys(const ForwardContext& ctx, const LayerConfig& layer, float* q, float* k) {
    const int64_t hd = layer.head_dim;
    cpu::RopeArgs r;
    r.token_stride = int64_t{layer.n_heads} * hd;
    r.head_stride = hd;
    r.n_tokens = ctx.n_tokens;
    r.n_heads = layer.n_heads;
    r.rotary_dim = hd;
    r.positions = ctx.positions;
    r.theta = layer.rope_theta;
    r.x = q;
    cpu::rope(r, ctx.pool);
    r.x = k;
    r.token_stride = int64_t{layer.n_kv_heads} * hd;
    r.n_heads = layer.n_kv_heads;
    cpu::rope(r, ctx.pool);
}

void AttentionMixer::step(const ForwardContext& ctx, int64_t pos, const float* q, const float* k_pre, const float* k,
                          const float* v, float* out) {
    const int32_t n_kv = layer_.n_kv_heads;
    const int64_t hd = layer_.head_dim;
    // 1. The oldest token leaves a full window: to the sink, to the retained buffer if
    //    its (already final) score earns it, or out.
    if (cache_.window_full()) {
        const int64_t leaving = cache_.oldest_window_position();
        const int32_t slot = cache_.pop_oldest_window();
        if (leaving < config_.cache.sink_capacity) {
            cache_.keep_in_sink(slot);
        } else {
            for (int32_t h = 0; h < n_kv; ++h) {
                if (config_.rule != RetentionRule::evict) cache_.offer_retained(h, slot, cache_.score(h, slot), ctx.events);
                else ctx.events.emit(leaving, h, cache_.score(h, slot), MNEMO_EVICT_WINDOW);
            }
        }
    }
    // 2. The new token enters the window.
    const int32_t slot = cache_.push_window(pos);
    for (int32_t h = 0; h < n_kv; ++h) {
        std::memcpy(cache_.keys(h) + slot * hd, k + h * hd, static_cast<size_t>(hd) * sizeof(float));
        std::memcpy(cache_.values(h) + slot * hd, v + h * hd, static_cast<size_t>(hd) * sizeof(float));
    }
    if (config_.cache.keep_pre_rope_keys)
        std::memcpy(cache_.pre_rope_key(slot), k_pre, static_cast<size_t>(n_kv * hd) * sizeof(float));
    // 3. Scores that become final now.
    if (scorer_) scorer_->finalize(cache_, pos, ctx.pool);
    // 4. Attention of each KV head's query group over sink ∪ retained ∪ window.
    const int32_t group = layer_.n_heads / n_kv;
    for (int32_t h = 0; h < n_kv; ++h) {
        cpu::IndexedAttentionArgs a;
        a.q = q + int64_t{h} * group * hd;
        a.q_head_stride = hd;
        a.n_q_heads = group;
        a.kv = {cache_.keys(h), hd, cache_.values(h), hd, hd, hd};
        a.n_keys = cache_.visible_slots(h, slots_);
        a.slots = slots_;
        a.scale = 1.0f / std::sqrt(static_cast<float>(hd));
        a.out = out + int64_t{h} * group * hd;
        a.out_head_stride = hd;
        a.probs = probs_;
        a.probs_head_stride = a.n_keys;
        cpu::attention_indexed(a);
        if (probs_ != nullptr) update_policy_scores(h, a.n_keys, group);
    }
}

void AttentionMixer::update_policy_scores(int32_t h, int64_t n_keys, int32_t group) {
    const int64_t window_first = n_keys - cache_.window_count();
    for (int64_t i = 0; i < n_keys; ++i) {
        float mass = 0.0f;
        for (int32_t g = 0; g < group; ++g) mass += probs_[g * n_keys + i];
        mass /= static_cast<float>(group);
        const int32_t slot = slots_[i];
        switch (config_.rule) {
            case RetentionRule::accumulated: cache_.set_score(h, slot, cache_.score(h, slot) + mass); break;
            case RetentionRule::current: cache_.set_score(h, slot, mass); break;
            case RetentionRule::observation:
                if (i >= window_first) cache_.set_score(h, slot, cache_.score(h, slot) + mass);
                break;
            default: break;
        }
    }
}

mnemo_status check_max_context(const LayerConfig& layer, int32_t index, const SessionOptions& o) {
    (void)layer;
    if (o.max_context <= 0 && o.policy == MNEMO_POLICY_NONE)
        return failf(MNEMO_ERR_UNBOUNDED,
                     "layer %d (%s) keeps every token: set max_context or an eviction policy (policy + policy_budget) to bound the session",
                     index, mnemo_mixer_kind_name(layer.mixer));
    return MNEMO_OK;
}

namespace {

// The cache of an attn/swa layer under the session's options.
mnemo_status policy_cache_shape(const LayerConfig& l, const SessionOptions& o, KvCacheShape* shape, RetentionRule* rule) {
    shape->n_kv_heads = l.n_kv_heads;
    shape->head_dim = l.head_dim;
    // Every attention-family layer, SWA included: a policy without a budget would leave a
    // window of 0 tokens (found by fuzz_api_sequence: SWA + StreamingLLM + budget 0).
    if (o.policy != MNEMO_POLICY_NONE && o.policy_budget <= 0)
        return failf(MNEMO_ERR_INVALID_ARGUMENT, "policy %d needs policy_budget > 0 (tokens kept per KV head beyond the sink)",
                     static_cast<int>(o.policy));
    const int64_t own_window = l.mixer == MNEMO_MIXER_SWA ? l.window_size : o.max_context;
    switch (o.policy) {
        case MNEMO_POLICY_NONE:
            shape->window_capacity = own_window;
            *rule = RetentionRule::evict;
            return MNEMO_OK;
        case MNEMO_POLICY_STREAMING:
            shape->sink_capacity = o.policy_sink;
            shape->window_capacity = own_window > 0 ? std::min<int64_t>(own_window, o.policy_budget) : o.policy_budget;
            *rule = RetentionRule::evict;
            return MNEMO_OK;
        case MNEMO_POLICY_H2O:
        case MNEMO_POLICY_SNAPKV:
            // Half the budget for the most recent tokens, half for the heavy hitters.
            shape->sink_capacity = o.policy_sink;
            shape->window_capacity = std::max<int64_t>(1, o.policy_budget / 2);
            shape->retained_capacity = std::max(0, o.policy_budget - static_cast<int32_t>(shape->window_capacity));
            *rule = o.policy == MNEMO_POLICY_H2O ? RetentionRule::accumulated : RetentionRule::observation;
            break;
        case MNEMO_POLICY_TOVA:
            // Only the current token is protected; every other slot competes on the current query's attention.
            shape->sink_capacity = o.policy_sink;
            shape->window_capacity = 1;
            shape->retained_capacity = std::max(0, o.policy_budget - 1);
            *rule = RetentionRule::current;
            break;
    }
    if (own_window > 0 && shape->window_capacity > own_window) shape->window_capacity = own_window;
    if (shape->window_capacity < 1)  // the cache needs room for the current token
        return failf(MNEMO_ERR_INVALID_ARGUMENT, "a %s layer would keep a window of %lld tokens; it needs at least 1",
                     mnemo_mixer_kind_name(l.mixer), static_cast<long long>(shape->window_capacity));
    return MNEMO_OK;
}

mnemo_status attn_check(const LayerConfig& l, int32_t index, const SessionOptions& o) {
    if (l.mixer == MNEMO_MIXER_ATTN) MNEMO_TRY(check_max_context(l, index, o));
    KvCacheShape shape;
    RetentionRule rule;
    return policy_cache_shape(l, o, &shape, &rule);
}

std::unique_ptr<Mixer> attn_create(const ModelImpl& model, int32_t index, const SessionOptions& o) {
    AttentionMixerConfig c;
    policy_cache_shape(model.config.layers[static_cast<size_t>(index)], o, &c.cache, &c.rule);
    return std::make_unique<AttentionMixer>(model, index, c, nullptr);
}

}  // namespace

const MixerModule kAttnMixer = {MNEMO_MIXER_ATTN, "attn", attention_projection_specs, attn_check, attn_create};
const MixerModule kSwaMixer = {MNEMO_MIXER_SWA, "swa", attention_projection_specs, attn_check, attn_create};

}  // namespace mnemo
