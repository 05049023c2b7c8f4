// Softmax attention over the bounded KV cache, one implementation for attn, swa, lte
// and the training-free policies. What differs between them — the cache's capacities
// and who scores a token before it leaves the window — is given at construction.
#pragma once

#include "../runtime/weights.h"
#include "mixer.h"

namespace mnemo {

// Scores tokens for retention. finalize() is called at every step once the newest
// token is in the window; it must give a final score to every token that will leave
// the window before it is asked to leave.
class RetentionScorer {
public:
    virtual ~RetentionScorer() = default;
    virtual void layout(ArenaLayout& state, ArenaLayout& scratch) = 0;
    virtual void reset() = 0;
    // The newest token is at `position`; update scores in `cache`.
    virtual void finalize(KvCache& cache, int64_t position, cpu::ThreadPool* pool) = 0;
    // Its state after `position` tokens is consistent (see Mixer::state_consistent).
    virtual bool state_consistent(int64_t position, std::string* why) const = 0;
    virtual const int64_t* next_unscored() const { return nullptr; }
};

// Who scores a token before it leaves the window (and so whether it may be retained).
enum class RetentionRule {
    evict,        // attn / swa / StreamingLLM: leaving the window means eviction
    learned,      // lte: the RetentionScorer (the CNN) gives the score
    accumulated,  // H2O: attention mass received so far, kept growing while retained
    current,      // TOVA: attention of the current query, refreshed every step
    observation,  // SnapKV-style: attention mass received while in the observation window, then frozen
};

struct AttentionMixerConfig {
    KvCacheShape cache;
    RetentionRule rule = RetentionRule::evict;
};

class AttentionMixer final : public Mixer {
public:
    AttentionMixer(const ModelImpl& model, int32_t index, const AttentionMixerConfig& config,
                   std::unique_ptr<RetentionScorer> scorer);

    void layout(ArenaLayout& state, ArenaLayout& scratch, int64_t max_tokens) override;
    void reset() override;
    void forward(const ForwardContext& ctx, const float* x, float* y) override;
    bool state_consistent(int64_t position, std::string* why) const override {
        return cache_.state_consistent(position, why) && (!scorer_ || scorer_->state_consistent(position, why));
    }
    uint64_t state_bytes_used() const override { return cache_.bytes_used(); }
    int32_t probe_kv_heads() const override { return layer_.n_kv_heads; }
    const KvCache* kv_cache() const override { return &cache_; }
    MixerStateMap state_map() const override {
        MixerStateMap m;
        m.cache = &cache_;
        m.next_unscored = scorer_ ? scorer_->next_unscored() : nullptr;
        return m;
    }

private:
    void step(const ForwardContext& ctx, int64_t t, const float* q, const float* k_pre, const float* k, const float* v,
              float* out);
    void update_policy_scores(int32_t kv_head, int64_t n_keys, int32_t group);

    const LayerConfig& layer_;
    AttentionMixerConfig config_;
    std::unique_ptr<RetentionScorer> scorer_;
    Linear q_proj_, k_proj_, v_proj_, o_proj_;
    KvCache cache_;
    // scratch
    float* q_ = nullptr;      // [T, H*hd]
    float* k_ = nullptr;      // [T, KV*hd] after RoPE
    float* k_pre_ = nullptr;  // [T, KV*hd] before RoPE
    float* v_ = nullptr;      // [T, KV*hd]
    float* attn_out_ = nullptr;  // [T, H*hd]
    int32_t* slots_ = nullptr;   // [max visible]
    float* probs_ = nullptr;     // [group, max visible] attention probabilities (policies)
};

mnemo_status check_max_context(const LayerConfig& layer, int32_t index, const SessionOptions& options);

// Rotates the chunk's queries [T, n_q_heads, head_dim] and keys [T, n_kv_heads, head_dim]
// in place at the chunk's positions (shared by the softmax-attention family).
void rope_queries_and_keys(const ForwardContext& ctx, const LayerConfig& layer, float* q, float* k);

}  // namespace mnemo
