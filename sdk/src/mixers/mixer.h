// The interface every token mixer implements, once, in its own module
// (mixers/<kind>.cpp). Code outside a mixer's module asks it through this table
// instead of branching on the mixer kind (DESIGN §3).
#pragma once

#include "../model_config.h"
#include "../runtime/arena.h"
#include "../runtime/kv_cache.h"
#include "cpu/thread_pool.h"

#include <memory>
#include <string>
#include <vector>

namespace mnemo {

struct ModelImpl;

struct TensorSpec {
    std::string name;            // full tensor name, e.g. "model.layers.3.attn.q_proj.weight"
    std::vector<int64_t> shape;  // outermost first
};

// What a session asks of its mixers (from mnemo_session_params).
struct SessionOptions {
    int64_t max_context = 0;     // 0: unlimited
    int32_t chunk_tokens = 256;  // largest chunk a forward call receives
    mnemo_policy policy = MNEMO_POLICY_NONE;
    int32_t policy_budget = 0;
    int32_t policy_sink = 4;
};

struct ForwardContext {
    cpu::ThreadPool* pool = nullptr;
    const int64_t* positions = nullptr;  // [n_tokens], absolute positions
    int64_t n_tokens = 0;
    EvictionListener events;
};

// Where a mixer's state lives in the session's state block, for a device backend that
// mirrors the block at the same offsets (device_backend.h). Null fields: not used.
struct MixerStateMap {
    const float* recurrent = nullptr;        // gdn: [H, dk, dv]
    const float* conv_tails[3] = {};         // gdn: q, k, v tails [K-1, C]
    const KvCache* cache = nullptr;          // the softmax-attention family
    const int64_t* next_unscored = nullptr;  // lte: the scorer's first unscored position
    // nsa: keys/values by position [H][max_context][hd], block means [H][blocks][hd], count
    const float *nsa_keys = nullptr, *nsa_values = nullptr, *nsa_block_keys = nullptr, *nsa_block_values = nullptr;
    const int64_t* nsa_count = nullptr;
};

// One layer's token mixer bound to a session: its state and its scratch.
class Mixer {
public:
    virtual ~Mixer() = default;
    // Lays out the per-sequence state (kept across calls) and the scratch (reused by
    // every layer) for chunks of up to `max_tokens`. Called once measuring, once binding.
    virtual void layout(ArenaLayout& state, ArenaLayout& scratch, int64_t max_tokens) = 0;
    // Back to an empty sequence.
    virtual void reset() = 0;
    // y[T, d] = mixer(x[T, d]); x is the normed block input, continuing the state.
    virtual void forward(const ForwardContext& ctx, const float* x, float* y) = 0;
    // After a restore: whether the bookkeeping in this layer's state (counters, ring
    // indices, positions) is what feeding `position` tokens produces; *why says what is
    // not. Values (keys, scores, matrices) are not judged: any float is memory-safe.
    virtual bool state_consistent(int64_t position, std::string* why) const = 0;
    // Probes (read-only).
    virtual uint64_t state_bytes_used() const = 0;
    virtual int32_t probe_kv_heads() const { return 0; }
    virtual const KvCache* kv_cache() const { return nullptr; }
    virtual MixerStateMap state_map() const = 0;
};

struct MixerModule {
    mnemo_mixer_kind kind;
    const char* name;
    // Tensors the layer needs, with their exact shapes. `prefix` is "model.layers.N.attn.".
    void (*tensor_specs)(const ModelConfig& model, const LayerConfig& layer, const std::string& prefix,
                         std::vector<TensorSpec>* out);
    // Checks that a session with these options can run the layer (message on failure).
    mnemo_status (*check_options)(const LayerConfig& layer, int32_t index, const SessionOptions& options);
    std::unique_ptr<Mixer> (*create)(const ModelImpl& model, int32_t index, const SessionOptions& options);
};

const MixerModule& mixer_module(mnemo_mixer_kind kind);

// Defined in each mixer's module.
extern const MixerModule kGdnMixer;
extern const MixerModule kAttnMixer;
extern const MixerModule kSwaMixer;
extern const MixerModule kLteMixer;
extern const MixerModule kNsaMixer;

// Shared by the softmax-attention family (attn, swa, lte, nsa): q/k/v/o projections.
void attention_projection_specs(const ModelConfig& model, const LayerConfig& layer, const std::string& prefix,
                                std::vector<TensorSpec>* out);

inline std::string layer_prefix(int32_t index) { return "model.layers." + std::to_string(index) + ".attn."; }

}  // namespace mnemo
