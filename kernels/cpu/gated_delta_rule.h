// Gated delta rule (Gated DeltaNet's token mixer core), as FLA computes it.
//
// Per value head, with state S of shape [dk, dv] (row i = key dimension, as FLA's
// fused_recurrent / chunk kernels store it) and per token t:
//     S   <- exp(g_t) · S                                  (g_t = log decay, <= 0)
//     u_t  = beta_t · (v_t − Sᵀ k_t)                        (dv)
//     S   <- S + k_t u_tᵀ
//     o_t  = Sᵀ (scale · q_t)                               (dv)
// i.e. S_t = e^{g_t}(I − β_t k_t k_tᵀ) S_{t−1} + β_t k_t v_tᵀ. q and k are expected
// already L2-normalised (FLA's use_qk_l2norm_in_kernel=True normalises with
// x / sqrt(sum(x²) + 1e-6): use l2_norm() from norm.h). FLA's default scale is dk^-0.5.
//
// GVA: with n_v_heads = n_qk_heads · r, value head hv reads q/k head hv / r (FLA repeats
// q and k per group of r consecutive value heads).
//
// Forms (all must agree to ~1e-5 relative, tested):
//   gated_delta_rule_naive    the recurrence literally, double precision inside (the spec)
//   gated_delta_rule_step     fused recurrence for decode (any T, best for T small)
//   gated_delta_rule_chunked  chunk-parallel WY/UT form for prefill (FLA uses chunk 64;
//                             any chunk size gives the same result up to rounding, and 16
//                             is the fastest on AVX2 CPUs, see docs/kernels-cpu.md): within a
//                             chunk, u = (I + A)⁻¹ diag(β)(V − diag(e^γ) K S₀) with
//                             A[t,j] = β_t e^{γ_t−γ_j} k_t·k_j (j < t), γ the in-chunk
//                             cumulative log decay; outputs and next state from u.
// Every form reads the initial state from `state` and leaves the final state there.
#pragma once

#include <cstdint>

#include "cpu/thread_pool.h"

namespace mnemo::cpu {

struct GatedDeltaRuleArgs {
    int64_t n_tokens = 0;    // T
    int64_t n_qk_heads = 0;  // H
    int64_t n_v_heads = 0;   // HV, a multiple of H
    int64_t key_dim = 0;     // dk
    int64_t value_dim = 0;   // dv

    // q, k: [T, H, dk]: token t, head h at q + t*qk_stride + h*key_dim.
    const float* q = nullptr;
    const float* k = nullptr;
    int64_t qk_stride = 0;
    // v: [T, HV, dv]: token t, head h at v + t*v_stride + h*value_dim.
    const float* v = nullptr;
    int64_t v_stride = 0;
    // g (log decay) and beta: [T, HV], token t at + t*gate_stride.
    const float* g = nullptr;
    const float* beta = nullptr;
    int64_t gate_stride = 0;

    float scale = 0.0f;  // multiplies q; FLA default key_dim^-0.5

    float* state = nullptr;  // [HV, dk, dv], in: initial state, out: final state
    float* out = nullptr;    // [T, HV, dv]: token t, head h at out + t*out_stride + h*value_dim
    int64_t out_stride = 0;
};

inline constexpr int64_t kGatedDeltaChunkFla = 64;  // FLA's chunk size
inline constexpr int64_t kGatedDeltaChunk = 16;     // default here: fastest measured on CPU

void gated_delta_rule_naive(const GatedDeltaRuleArgs& args);
void gated_delta_rule_step(const GatedDeltaRuleArgs& args, ThreadPool* pool = nullptr);
void gated_delta_rule_chunked(const GatedDeltaRuleArgs& args, ThreadPool* pool = nullptr,
                              int64_t chunk_size = kGatedDeltaChunk);

}  // namespace mnemo::cpu
