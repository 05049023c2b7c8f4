// Native sparse attention (fla/layers/nsa.py → fla/ops/nsa/parallel.py), for one KV head
// and its group of G query heads. Keys are post-RoPE, one cache row per position (row p
// holds position p). For a query at position p, with block size BS:
//
//   compression  k̄_c, v̄_c = mean of rows [c·BS, (c+1)·BS) (a last partial block averages
//                the rows it has, as FLA's mean_pooling; it is never attended to).
//   compressed   o_cmp = softmax_c(scale q·k̄_c) v̄ over complete blocks c < (p+1)/BS;
//                zero when there is none.
//   selection    importance of block c < p/BS: Σ_g softmax prob of c for head g (FLA sums
//                exp(s − lse) over the group); block 0 and the current and previous blocks
//                (p/BS, p/BS − 1) are forced (importance G, i.e. the maximum). The top
//                n_select blocks by importance (ties: lower block index first) are chosen
//                among c <= p/BS; unused slots are −1.
//   selected     o_slc = softmax attention over the rows of the chosen blocks, rows <= p.
//   sliding      o_swa = softmax attention over rows (p − window, p] (flash-attn's
//                window_size = (window − 1, 0)); no term when window <= 0.
//   gate         o = g_slc·o_slc + g_cmp·o_cmp + g_swa·o_swa  (gates already sigmoid-ed).
//
// Forms: nsa_attention_naive (literal, double, computes the compression itself) and
// nsa_attention (takes the compressed cache the mixer maintains; threaded over queries,
// bit-identical for any thread count). Decode is n_tokens = 1; a prefill chunk is the same
// computation per query, so prefill ≡ token by token.
//
// Note the reference's Triton path pads the selection count to the next power of two
// (block_counts = 16 in the paper's configs, unaffected); pass that value as n_select to
// reproduce it for other counts.
#pragma once

#include <cstdint>

#include "cpu/attention.h"  // KvView
#include "cpu/thread_pool.h"

namespace mnemo::cpu {

// out row c = mean of x rows [c·block, min((c+1)·block, n_rows)); writes ceil(n_rows/block) rows.
void nsa_compress_mean(const float* x, int64_t x_stride, int64_t n_rows, int64_t dim, int64_t block_size,
                       float* out, int64_t out_stride);

// Picks up to n_select blocks for a query in block `current_block`, from importance[c] for
// c < current_block (entries >= current_block are ignored) plus the forced blocks. Writes
// n_select entries (−1 padded), chosen blocks first in selection order; returns how many.
int64_t nsa_select_blocks(const float* importance, int64_t current_block, float forced_importance,
                          int64_t n_select, int32_t* out);

struct NsaArgs {
    const float* q = nullptr;  // token t, head g at q + t*q_token_stride + g*q_head_stride
    int64_t q_token_stride = 0;
    int64_t q_head_stride = 0;
    int64_t n_tokens = 0;
    int64_t n_q_heads = 0;                 // G
    const int64_t* q_positions = nullptr;  // [n_tokens]; each < n_keys
    KvView kv;                             // row p = position p
    int64_t n_keys = 0;
    KvView compressed;  // row c = block c means (used by the fast form only)
    int64_t block_size = 64;
    int64_t n_select = 16;
    int64_t window = 0;
    float scale = 0.0f;
    // Gates (after sigmoid): token t, head g at g_x + t*gate_token_stride + g*gate_head_stride.
    // The reference's g_proj output is [T, HQ, 3] = (cmp, slc, swa) per head: pass
    // g_cmp = base, g_slc = base + 1, g_swa = base + 2 with gate_head_stride = 3.
    const float* g_cmp = nullptr;
    const float* g_slc = nullptr;
    const float* g_swa = nullptr;
    int64_t gate_token_stride = 0;
    int64_t gate_head_stride = 1;
    float* out = nullptr;  // token t, head g at out + t*out_token_stride + g*out_head_stride
    int64_t out_token_stride = 0;
    int64_t out_head_stride = 0;
    int32_t* selected_blocks = nullptr;  // optional [n_tokens, n_select]
};

void nsa_attention(const NsaArgs& args, ThreadPool* pool = nullptr);
void nsa_attention_naive(const NsaArgs& args);

}  // namespace mnemo::cpu
