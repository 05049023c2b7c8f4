// Softmax attention over cached keys/values addressed by slot indices.
//
// A cache holds, per KV head, rows of keys [n_slots, key_dim] and values
// [n_slots, value_dim]. GQA: the n_q_heads query heads of one call share one KV head (the
// caller passes each KV head's group of n_heads / n_kv_heads query heads). Softmax is the
// stable form (row max subtracted); a query with no visible key gets a zero output.
//
//   attention_indexed   decode: one token's query heads attend to the listed slots;
//                       optionally returns the probabilities (H2O / TOVA need them).
//                       With >= 4 query heads per KV head, keys are gathered in tiles of
//                       64 and both products run as small GEMMs.
//   attention_causal    prefill: T query tokens, each with its own position; key i is
//                       visible to query t iff
//                          key_pos[i] <= q_pos[t]  and
//                          (window <= 0 or key_pinned[i] or q_pos[t] − key_pos[i] < window)
//                       so a chunk computed at once equals token-by-token decoding over the
//                       same keys. `window` counts the current token (FLA/flash-attn
//                       window_size=(w−1, 0) is window = w; laLTE's SWA of w is w + 1).
//                       Pinned keys (sink, retained, NSA-selected) ignore the window.
//                       Optionally accumulates, per key, the sum over queries of the
//                       probability (observation-window scores for SnapKV/H2O).
// *_reference forms are the obvious per-query loops in double.
#pragma once

#include <cstdint>

#include "cpu/thread_pool.h"

namespace mnemo::cpu {

struct KvView {
    const float* k = nullptr;  // slot s key at k + s*k_stride
    int64_t k_stride = 0;
    const float* v = nullptr;  // slot s value at v + s*v_stride
    int64_t v_stride = 0;
    int64_t key_dim = 0;
    int64_t value_dim = 0;
};

struct IndexedAttentionArgs {
    const float* q = nullptr;  // [n_q_heads, key_dim], heads q_head_stride apart
    int64_t q_head_stride = 0;
    int64_t n_q_heads = 0;
    KvView kv;
    const int32_t* slots = nullptr;  // [n_keys] cache rows; null = rows 0 .. n_keys-1
    int64_t n_keys = 0;
    float scale = 0.0f;
    float* out = nullptr;  // [n_q_heads, value_dim], heads out_head_stride apart
    int64_t out_head_stride = 0;
    float* probs = nullptr;  // optional [n_q_heads, n_keys], heads probs_head_stride apart
    int64_t probs_head_stride = 0;
};

void attention_indexed(const IndexedAttentionArgs& args);
void attention_indexed_reference(const IndexedAttentionArgs& args);

struct CausalAttentionArgs {
    // q: token t, head g at q + t*q_token_stride + g*q_head_stride.
    const float* q = nullptr;
    int64_t q_token_stride = 0;
    int64_t q_head_stride = 0;
    int64_t n_tokens = 0;
    int64_t n_q_heads = 0;
    const int64_t* q_positions = nullptr;  // [n_tokens]
    KvView kv;
    const int32_t* slots = nullptr;  // [n_keys]; null = rows 0 .. n_keys-1
    int64_t n_keys = 0;
    const int64_t* key_positions = nullptr;  // [n_keys], by key index (not slot)
    const uint8_t* key_pinned = nullptr;     // optional [n_keys]; nonzero = ignores the window
    int64_t window = 0;                      // <= 0: unlimited
    float scale = 0.0f;
    float* out = nullptr;  // token t, head g at out + t*out_token_stride + g*out_head_stride
    int64_t out_token_stride = 0;
    int64_t out_head_stride = 0;
    // Optional [n_q_heads, n_keys] (heads prob_sums_head_stride apart): overwritten with
    // Σ_t p[t, g, i]. Deterministic (per key, queries summed in order).
    float* prob_sums = nullptr;
    int64_t prob_sums_head_stride = 0;
};

void attention_causal(const CausalAttentionArgs& args, ThreadPool* pool = nullptr);
void attention_causal_reference(const CausalAttentionArgs& args);

// The visibility rule above, for callers building their own key lists.
inline bool attention_key_visible(int64_t q_pos, int64_t key_pos, bool pinned, int64_t window) {
    return key_pos <= q_pos && (window <= 0 || pinned || q_pos - key_pos < window);
}

}  // namespace mnemo::cpu
