// The bounded key/value cache shared by every softmax-attention mixer (DESIGN §2):
// per KV head a sink, a window ring and a retained buffer ranked by score. The
// mixers differ only in capacities and in who scores a token leaving the window:
//   attn  — window = max_context, nothing ever leaves;
//   swa   — window only: a token leaving it is evicted;
//   lte   — sink + window + retained, scored by the learned CNN (mixers/lte.cpp);
//   policies (StreamingLLM, H2O, TOVA, SnapKV) — the same cache with another scorer.
// Keys are stored after RoPE at their original positions.
#pragma once

#include "arena.h"
#include "mnemo/mnemo.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mnemo {

struct KvCacheShape {
    int32_t n_kv_heads = 0;
    int32_t head_dim = 0;
    int32_t sink_capacity = 0;      // first tokens kept forever once they leave the window
    int32_t retained_capacity = 0;  // scored tokens kept after leaving the window
    int64_t window_capacity = 0;    // most recent tokens (the current one included)
    bool keep_pre_rope_keys = false;  // window keys before RoPE (the LTE scorer's input)
};

// Called for each eviction (position, kv_head, score, reason).
struct EvictionListener {
    mnemo_eviction_fn fn = nullptr;
    void* user_data = nullptr;
    int32_t layer = 0;
    void emit(int64_t position, int32_t kv_head, float score, mnemo_eviction_reason reason) const {
        if (fn == nullptr) return;
        mnemo_eviction_event e{position, layer, kv_head, score, reason};
        fn(&e, user_data);
    }
};

class KvCache {
public:
    void layout(const KvCacheShape& shape, ArenaLayout& state);
    void reset();

    const KvCacheShape& shape() const { return shape_; }
    int64_t slots_per_head() const { return slots_; }
    float* keys(int32_t head) { return keys_ + static_cast<int64_t>(head) * slots_ * shape_.head_dim; }
    float* values(int32_t head) { return values_ + static_cast<int64_t>(head) * slots_ * shape_.head_dim; }
    const float* keys(int32_t head) const { return keys_ + static_cast<int64_t>(head) * slots_ * shape_.head_dim; }
    const float* values(int32_t head) const { return values_ + static_cast<int64_t>(head) * slots_ * shape_.head_dim; }

    // Window bookkeeping (shared by all heads: every head sees every token enter).
    int64_t window_count() const { return window_meta_[1]; }
    bool window_full() const { return window_meta_[1] == shape_.window_capacity; }
    int64_t oldest_window_position() const;
    // Slot of the window's i-th oldest entry.
    int32_t window_slot(int64_t i) const;
    int32_t window_slot_of(int64_t position) const;  // position must be in the window

    // Removes the oldest window token and returns its slot (the caller then keeps it in
    // the sink or the retained buffer, or evicts it).
    int32_t pop_oldest_window();
    // Appends a token; returns its slot. The window must not be full.
    int32_t push_window(int64_t position);

    // Copies a window slot into the next sink slot (all heads). Returns false if full.
    bool keep_in_sink(int32_t window_slot);
    // Offers window slot `from` of `head` to the retained buffer with `score`:
    // kept if positive and there is room, or if it beats the lowest-ranked entry
    // (rank: higher score, then lower position). Emits the eviction it causes.
    void offer_retained(int32_t head, int32_t from, float score, const EvictionListener& events);

    // Fills `out` with the slots one query of `head` attends to: sink, retained, window.
    int32_t visible_slots(int32_t head, int32_t* out) const;
    int32_t max_visible() const { return static_cast<int32_t>(slots_); }

    int64_t position(int32_t head, int32_t slot) const { return positions_[static_cast<int64_t>(head) * slots_ + slot]; }
    float score(int32_t head, int32_t slot) const { return scores_[static_cast<int64_t>(head) * slots_ + slot]; }
    void set_score(int32_t head, int32_t slot, float s) { scores_[static_cast<int64_t>(head) * slots_ + slot] = s; }
    float* pre_rope_key(int32_t slot_in_window_ring);  // row of the pre-RoPE ring, all heads [n_kv_heads * head_dim]

    int32_t sink_count() const { return sink_meta_[0]; }
    int32_t retained_count(int32_t head) const;
    // Bytes holding live entries now (probes).
    uint64_t bytes_used() const;

    // Whether the bookkeeping is what `n_fed` tokens produce (see
    // Mixer::state_consistent): the window holds the last min(n_fed, capacity)
    // positions in ring order, the sink the first tokens that left it, retained slots
    // are empty or hold positions that left the window past the sink.
    bool state_consistent(int64_t n_fed, std::string* why) const;

    // Probe: every held token of `head` with its kind and score, by position.
    void held_tokens(int32_t head, std::vector<mnemo_probe_token>* out) const;

    // The arrays themselves (a device backend mirrors them at the same offsets).
    struct Raw {
        const float *keys, *values;
        const int64_t* positions;
        const float *scores, *pre_rope;
        const int64_t* window_meta;
        const int32_t* sink_meta;
    };
    Raw raw() const { return {keys_, values_, positions_, scores_, pre_rope_, window_meta_, sink_meta_}; }

private:
    int32_t sink_slot(int32_t i) const { return i; }
    int32_t retained_slot(int32_t i) const { return shape_.sink_capacity + i; }
    int32_t window_base() const { return shape_.sink_capacity + shape_.retained_capacity; }

    KvCacheShape shape_;
    int64_t slots_ = 0;
    float* keys_ = nullptr;        // [H][slots][head_dim]
    float* values_ = nullptr;      // [H][slots][head_dim]
    int64_t* positions_ = nullptr; // [H][slots], -1 = empty
    float* scores_ = nullptr;      // [H][slots]
    float* pre_rope_ = nullptr;    // [window_capacity][H * head_dim] when kept
    int64_t* window_meta_ = nullptr;  // [2]: ring start, count (kept in the arena so snapshots see it)
    int32_t* sink_meta_ = nullptr;    // [1]: sink count
};

}  // namespace mnemo
