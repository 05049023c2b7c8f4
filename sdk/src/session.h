// A session: one sequence's state over a shared, immutable model. Its memory is
// planned before allocation (runtime/arena.h) and feeding tokens allocates nothing.
#pragma once

#include "device_backend.h"
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

// Largest max_context a session accepts (4G tokens): keeps every planned byte count of
// an unbounded layer (tokens × heads × head_dim × bytes) far from 64-bit overflow.
constexpr int64_t kMaxContextLimit = int64_t{1} << 32;
// What chunk_tokens 0 (mnemo_session_default_params) resolves to on each backend.
constexpr int32_t kCpuChunkTokens = 256;
constexpr int32_t kCudaChunkTokens = 4096;
// Largest position a session reaches (feeding past it is refused): positions stay
// exact in a double and far from int64 overflow in position arithmetic.
constexpr int64_t kMaxPosition = int64_t{1} << 53;

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
    // With a device backend the block lives on the device and this is its mirror,
    // brought up to date here (one copy per change of state).
    const std::byte* state_data() const { sync_host_state(); return const_cast<Arena&>(arena_).data(); }
    std::byte* state_data() { sync_host_state(); return arena_.data(); }
    uint64_t state_bytes() const { return plan_.state_bytes; }
    const mnemo_session_params& params() const { return params_; }
    // After a restore: logits are unknown until the next feed; recent tokens are cleared.
    void state_restored();
    // Checks that the state block is one that feeding tokens can produce: the position
    // in range and every mixer's bookkeeping consistent with it (MNEMO_ERR_CORRUPT
    // otherwise). Restoring a snapshot runs it, so a blob whose checksums hold but whose
    // state lies (crafted, or written by a buggy writer) cannot steer reads or writes
    // outside the session's buffers.
    mnemo_status check_state() const;

    // Feeds tokens in chunks. If all_logits is given, it receives [n, vocab] logits
    // (tests); `observe` sees the residual stream after each block (tests, probes).
    using BlockObserver = std::function<void(int32_t layer, const float* x, int64_t n_tokens, int64_t hidden)>;
    mnemo_status feed(const int32_t* tokens, size_t n, float* all_logits = nullptr, const BlockObserver& observe = {});
    const float* logits() const;
    void reset();

    const Mixer& mixer(int32_t layer) const { sync_host_state(); return *mixers_[static_cast<size_t>(layer)]; }
    mnemo_status set_eviction_callback(mnemo_eviction_fn fn, void* user_data);

    // The backend running the forward pass: "cpu" or the device backend's name.
    const char* backend_name() const { return device_ ? device_->name() : "cpu"; }
    const DeviceBackend* device() const { return device_.get(); }
    mnemo_status attach_device(std::unique_ptr<DeviceBackend> device) { device_ = std::move(device); return MNEMO_OK; }
    const std::vector<std::unique_ptr<Mixer>>& mixers() const { return mixers_; }
    const SessionOptions& options() const { return options_; }
    // Sampling on the device backend (no logits leave it): whether the session has one,
    // the sampler for the coming steps, the token sampled from the current logits, and
    // feed-then-sample (one graph replay). `uniform` = Sampler::draw() (DeviceBackend).
    bool on_device() const { return device_ != nullptr; }
    mnemo_status begin_device_sampling(const mnemo_sampler_params& sampler);
    mnemo_status device_sample(double uniform, int32_t* token);
    mnemo_status feed_device_sample(int32_t token, double uniform, int32_t* next);
    // The greedy token of the current logits chosen on the device when they are there and not
    // yet on the host (*done = true); else *done = false and the caller samples the host logits.
    mnemo_status device_greedy(int32_t* token, bool* done);
    const std::vector<int32_t>& recent_tokens() const { return recent_; }

private:
    mnemo_status feed_chunk(const int32_t* tokens, int64_t n, float* all_logits, const BlockObserver& observe);
    mnemo_status check_feed(const int32_t* tokens, size_t n) const;
    void advanced(const int32_t* tokens, int64_t n);  // bookkeeping after n tokens went through
    void sync_host_state() const;

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
    std::unique_ptr<DeviceBackend> device_;
    mutable bool host_state_stale_ = false;   // the device's state is newer than the mirror
    mutable bool host_logits_stale_ = false;
};

mnemo_status create_session(const ModelImpl& model, const mnemo_session_params& params, std::unique_ptr<SessionImpl>* out);

}  // namespace mnemo
