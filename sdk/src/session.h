// A session: one sequence's state over a shared, immutable model. Its memory is
// planned before allocation (runtime/arena.h) and feeding tokens allocates nothing.
#pragma once

#include "mixers/mixer.h"
#include "model.h"
#include "mnemo/mnemo.h"
#include "runtime/arena.h"
#include "runtime/weights.h"
#include "cpu/thread_pool.h"

#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace mnemo {

struct MemoryPlan {
    uint64_t state_bytes = 0;
    uint64_t scratch_bytes = 0;
    uint64_t total_bytes = 0;
    std::vector<uint64_t> layer_state_bytes;
    bool bounded = true;
};

// Validates params against the model and computes the plan (no allocation of state).
mnemo_status plan_session(const ModelImpl& model, const mnemo_session_params& params, MemoryPlan* plan);

class SessionImpl {
public:
    SessionImpl(const ModelImpl& model, const mnemo_session_params& params, SessionOptions options,
                std::vector<std::unique_ptr<Mixer>> mixers, MemoryPlan plan);

    int64_t position() const { return *position_; }
    const ModelImpl& model() const { return model_; }
    const MemoryPlan& plan() const { return plan_; }
    uint64_t arena_bytes() const { return arena_.size(); }
    // The whole per-sequence state is one contiguous block at the start of the arena
    // (the position counter, then each layer's state in order): a snapshot is a copy of
    // it, and restoring is copying it back into a session of the same model and params.
    const std::byte* state_data() const { return const_cast<Arena&>(arena_).data(); }
    std::byte* state_data() { return arena_.data(); }
    uint64_t state_bytes() const { return plan_.state_bytes; }
    const mnemo_session_params& params() const { return params_; }
    // After a restore: logits are unknown until the next feed; recent tokens are cleared.
    void state_restored() { has_logits_ = false; failed_ = false; recent_.clear(); }

    // Feeds tokens in chunks. If all_logits is given, it receives [n, vocab] logits
    // (tests); `observe` sees the residual stream after each block (tests, probes).
    using BlockObserver = std::function<void(int32_t layer, const float* x, int64_t n_tokens, int64_t hidden)>;
    mnemo_status feed(const int32_t* tokens, size_t n, float* all_logits = nullptr, const BlockObserver& observe = {});
    const float* logits() const { return has_logits_ ? logits_ : nullptr; }
    void reset();

    const Mixer& mixer(int32_t layer) const { return *mixers_[static_cast<size_t>(layer)]; }
    void set_eviction_callback(mnemo_eviction_fn fn, void* user_data) { eviction_fn_ = fn; eviction_user_ = user_data; }
    const std::vector<int32_t>& recent_tokens() const { return recent_; }

private:
    mnemo_status feed_chunk(const int32_t* tokens, int64_t n, float* all_logits, const BlockObserver& observe);

    const ModelImpl& model_;
    mnemo_session_params params_;
    SessionOptions options_;
    std::vector<std::unique_ptr<Mixer>> mixers_;
    MemoryPlan plan_;
    cpu::ThreadPool pool_;
    Arena arena_;
    Linear lm_head_;
    std::vector<Linear> gate_proj_, up_proj_, down_proj_;
    std::vector<const float*> attn_norm_, mlp_norm_;
    const float* final_norm_ = nullptr;
    // state
    int64_t* position_ = nullptr;
    // scratch
    float *x_ = nullptr, *h_ = nullptr, *y_ = nullptr, *gate_ = nullptr, *up_ = nullptr, *logits_ = nullptr;
    int64_t* positions_ = nullptr;
    bool has_logits_ = false;
    bool failed_ = false;
    mnemo_eviction_fn eviction_fn_ = nullptr;
    void* eviction_user_ = nullptr;
    std::vector<int32_t> recent_;  // last tokens, for the repetition penalty (bounded)
};

mnemo_status create_session(const ModelImpl& model, const mnemo_session_params& params, std::unique_ptr<SessionImpl>* out);

}  // namespace mnemo
