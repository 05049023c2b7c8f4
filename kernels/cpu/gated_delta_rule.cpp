#include "cpu/gated_delta_rule.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <vector>

#include "cpu/isa.h"
#include "cpu/simd.h"
#include "cpu/small_gemm.h"

namespace mnemo::cpu {
namespace {

struct HeadView {
    const float* q;  // token 0 of this head's q
    const float* k;
    const float* v;
    const float* g;
    const float* beta;
    float* state;  // [dk, dv]
    float* out;
};

HeadView head_view(const GatedDeltaRuleArgs& a, int64_t hv) {
    const int64_t ratio = a.n_v_heads / a.n_qk_heads;
    const int64_t h = hv / ratio;
    return HeadView{a.q + h * a.key_dim,
                    a.k + h * a.key_dim,
                    a.v + hv * a.value_dim,
                    a.g + hv,
                    a.beta + hv,
                    a.state + hv * a.key_dim * a.value_dim,
                    a.out + hv * a.value_dim};
}

void check_args(const GatedDeltaRuleArgs& a) {
    assert(a.n_qk_heads > 0 && a.n_v_heads % a.n_qk_heads == 0);
    assert(a.qk_stride >= a.n_qk_heads * a.key_dim && a.v_stride >= a.n_v_heads * a.value_dim);
    assert(a.gate_stride >= a.n_v_heads && a.out_stride >= a.n_v_heads * a.value_dim);
    (void)a;
}

// ---------------------------------------------------------------------------------------
// Recurrent step, scalar.
void step_token_scalar(float* s, int64_t dk, int64_t dv, const float* q, const float* k, const float* v, float g,
                       float beta, float scale, float* o, float* u) {
    const float decay = std::exp(g);
    std::fill(u, u + dv, 0.0f);
    for (int64_t i = 0; i < dk; ++i) detail::axpy_scalar(k[i], s + i * dv, u, dv);  // u = Sᵀk (undecayed)
    for (int64_t j = 0; j < dv; ++j) u[j] = beta * (v[j] - decay * u[j]);
    std::fill(o, o + dv, 0.0f);
    for (int64_t i = 0; i < dk; ++i) {
        float* row = s + i * dv;
        const float ki = k[i];
        const float qi = q[i] * scale;
        for (int64_t j = 0; j < dv; ++j) {
            row[j] = decay * row[j] + ki * u[j];
            o[j] += qi * row[j];
        }
    }
}

#if MNEMO_HAVE_X86
MNEMO_AVX2 inline __m256 load_lanes(const float* p, bool full, __m256i mask) {
    return full ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, mask);
}

// Recurrent step, AVX2: the state is walked in column blocks of 32 so each block is read
// for Sᵀk and re-read (from L1) for the update and the output in the same pass.
MNEMO_AVX2 void step_token_avx2(float* s, int64_t dk, int64_t dv, const float* q, const float* k, const float* v,
                                float g, float beta, float scale, float* o) {
    constexpr int kVecs = 4;
    const __m256 decay = _mm256_set1_ps(std::exp(g));
    const __m256 vbeta = _mm256_set1_ps(beta);
    for (int64_t j0 = 0; j0 < dv; j0 += 8 * kVecs) {
        __m256i mask[kVecs];
        bool full[kVecs];
        for (int b = 0; b < kVecs; ++b) {
            const int64_t count = std::clamp<int64_t>(dv - j0 - 8 * b, 0, 8);
            mask[b] = detail::tail_mask(count);
            full[b] = count == 8;
        }
        __m256 acc[kVecs];
        for (int b = 0; b < kVecs; ++b) acc[b] = _mm256_setzero_ps();
        for (int64_t i = 0; i < dk; ++i) {
            const __m256 ki = _mm256_set1_ps(k[i]);
            const float* row = s + i * dv + j0;
            for (int b = 0; b < kVecs; ++b) acc[b] = _mm256_fmadd_ps(ki, load_lanes(row + 8 * b, full[b], mask[b]), acc[b]);
        }
        __m256 u[kVecs], out[kVecs];
        for (int b = 0; b < kVecs; ++b) {
            u[b] = _mm256_mul_ps(vbeta, _mm256_fnmadd_ps(decay, acc[b], load_lanes(v + j0 + 8 * b, full[b], mask[b])));
            out[b] = _mm256_setzero_ps();
        }
        for (int64_t i = 0; i < dk; ++i) {
            const __m256 ki = _mm256_set1_ps(k[i]);
            const __m256 qi = _mm256_set1_ps(q[i] * scale);
            float* row = s + i * dv + j0;
            for (int b = 0; b < kVecs; ++b) {
                const __m256 updated = _mm256_fmadd_ps(ki, u[b], _mm256_mul_ps(decay, load_lanes(row + 8 * b, full[b], mask[b])));
                if (full[b]) {
                    _mm256_storeu_ps(row + 8 * b, updated);
                } else {
                    _mm256_maskstore_ps(row + 8 * b, mask[b], updated);
                }
                out[b] = _mm256_fmadd_ps(qi, updated, out[b]);
            }
        }
        for (int b = 0; b < kVecs; ++b) {
            if (full[b]) {
                _mm256_storeu_ps(o + j0 + 8 * b, out[b]);
            } else {
                _mm256_maskstore_ps(o + j0 + 8 * b, mask[b], out[b]);
            }
        }
    }
}
#endif

// out[j] = exp(gamma_t − gamma[j]) for j < n (the in-chunk decay from token j to token t).
void decay_row_scalar(float gamma_t, const float* gamma, float* out, int64_t n) {
    for (int64_t j = 0; j < n; ++j) out[j] = std::exp(gamma_t - gamma[j]);
}
#if MNEMO_HAVE_X86
MNEMO_AVX2 void decay_row_avx2(float gamma_t, const float* gamma, float* out, int64_t n) {
    const __m256 gt = _mm256_set1_ps(gamma_t);
    int64_t j = 0;
    for (; j + 8 <= n; j += 8) _mm256_storeu_ps(out + j, detail::exp256(_mm256_sub_ps(gt, _mm256_loadu_ps(gamma + j))));
    if (j < n) detail::store_partial(out + j, detail::exp256(_mm256_sub_ps(gt, detail::load_partial(gamma + j, n - j))), n - j);
}
#endif
void decay_row(float gamma_t, const float* gamma, float* out, int64_t n) {
#if MNEMO_HAVE_X86
    if (active_isa() == Isa::avx2) return decay_row_avx2(gamma_t, gamma, out, n);
#endif
    decay_row_scalar(gamma_t, gamma, out, n);
}

// ---------------------------------------------------------------------------------------
// Chunk form for one head.
struct ChunkBuffers {
    std::vector<float> kk, qk;     // [C][C]
    std::vector<float> kt;         // [dk][C]
    std::vector<float> ks, qs, u;  // [C][dv]
    std::vector<float> gamma;      // [C]
    std::vector<float> decay;      // [C]
    ChunkBuffers(int64_t c, int64_t dk, int64_t dv)
        : kk(static_cast<size_t>(c * c)),
          qk(static_cast<size_t>(c * c)),
          kt(static_cast<size_t>(dk * c)),
          ks(static_cast<size_t>(c * dv)),
          qs(static_cast<size_t>(c * dv)),
          u(static_cast<size_t>(c * dv)),
          gamma(static_cast<size_t>(c)),
          decay(static_cast<size_t>(c)) {}
};

void chunk_head(const GatedDeltaRuleArgs& a, const HeadView& h, int64_t chunk, ChunkBuffers& buf) {
    const int64_t dk = a.key_dim, dv = a.value_dim, c = chunk;
    float* s = h.state;
    for (int64_t t0 = 0; t0 < a.n_tokens; t0 += c) {
        const int64_t len = std::min(c, a.n_tokens - t0);
        const float* q0 = h.q + t0 * a.qk_stride;
        const float* k0 = h.k + t0 * a.qk_stride;
        float* gamma = buf.gamma.data();
        float running = 0.0f;
        for (int64_t t = 0; t < len; ++t) {
            running += h.g[(t0 + t) * a.gate_stride];
            gamma[t] = running;
        }
        // Kᵀ for the in-chunk products.
        float* kt = buf.kt.data();
        for (int64_t t = 0; t < len; ++t) {
            const float* kr = k0 + t * a.qk_stride;
            for (int64_t i = 0; i < dk; ++i) kt[i * c + t] = kr[i];
        }
        // KKᵀ and QKᵀ (only the lower triangle is used).
        float* kk = buf.kk.data();
        float* qk = buf.qk.data();
        std::fill(kk, kk + len * c, 0.0f);
        std::fill(qk, qk + len * c, 0.0f);
        detail::gemm_acc(len, len, dk, k0, a.qk_stride, kt, c, kk, c);
        detail::gemm_acc(len, len, dk, q0, a.qk_stride, kt, c, qk, c);
        // K S0 and Q S0.
        float* ks = buf.ks.data();
        float* qs = buf.qs.data();
        std::fill(ks, ks + len * dv, 0.0f);
        std::fill(qs, qs + len * dv, 0.0f);
        detail::gemm_acc(len, dv, dk, k0, a.qk_stride, s, dv, ks, dv);
        detail::gemm_acc(len, dv, dk, q0, a.qk_stride, s, dv, qs, dv);
        // u_t = β_t (v_t − e^{γ_t} (S0ᵀk_t)) − Σ_{j<t} β_t e^{γ_t−γ_j} (k_t·k_j) u_j
        // and, with the same decay row, the output weights P[t, j] = e^{γ_t−γ_j} (q_t·k_j), j <= t.
        float* u = buf.u.data();
        float* decay = buf.decay.data();
        for (int64_t t = 0; t < len; ++t) {
            const float beta = h.beta[(t0 + t) * a.gate_stride];
            const float decay_t = std::exp(gamma[t]);
            decay_row(gamma[t], gamma, decay, t + 1);
            const float* vr = h.v + (t0 + t) * a.v_stride;
            float* ut = u + t * dv;
            for (int64_t j = 0; j < dv; ++j) ut[j] = beta * (vr[j] - decay_t * ks[t * dv + j]);
            for (int64_t j = 0; j < t; ++j) detail::axpy(-(beta * decay[j] * kk[t * c + j]), u + j * dv, ut, dv);
            // o_t = scale (e^{γ_t} S0ᵀq_t + Σ_{j<=t} P[t, j] u_j)
            for (int64_t j = 0; j <= t; ++j) qk[t * c + j] *= decay[j];
            for (int64_t j = t + 1; j < len; ++j) qk[t * c + j] = 0.0f;
            detail::scale(decay_t, qs + t * dv, dv);
        }
        detail::gemm_acc(len, dv, len, qk, c, u, dv, qs, dv);
        for (int64_t t = 0; t < len; ++t) {
            float* o = h.out + (t0 + t) * a.out_stride;
            const float* src = qs + t * dv;
            for (int64_t j = 0; j < dv; ++j) o[j] = a.scale * src[j];
        }
        // S = e^{γ_L} S0 + Σ_j e^{γ_L−γ_j} k_j u_jᵀ
        const float gamma_last = gamma[len - 1];
        decay_row(gamma_last, gamma, decay, len);
        for (int64_t i = 0; i < dk; ++i) {
            float* row = kt + i * c;
            for (int64_t t = 0; t < len; ++t) row[t] *= decay[t];
        }
        detail::scale(std::exp(gamma_last), s, dk * dv);
        detail::gemm_acc(dk, dv, len, kt, c, u, dv, s, dv);
    }
}

}  // namespace

void gated_delta_rule_naive(const GatedDeltaRuleArgs& a) {
    check_args(a);
    const int64_t dk = a.key_dim, dv = a.value_dim;
    std::vector<double> s(static_cast<size_t>(dk * dv));
    std::vector<double> u(static_cast<size_t>(dv));
    for (int64_t hv = 0; hv < a.n_v_heads; ++hv) {
        const HeadView h = head_view(a, hv);
        for (int64_t i = 0; i < dk * dv; ++i) s[static_cast<size_t>(i)] = h.state[i];
        for (int64_t t = 0; t < a.n_tokens; ++t) {
            const float* q = h.q + t * a.qk_stride;
            const float* k = h.k + t * a.qk_stride;
            const float* v = h.v + t * a.v_stride;
            const double decay = std::exp(static_cast<double>(h.g[t * a.gate_stride]));
            const double beta = h.beta[t * a.gate_stride];
            for (auto& x : s) x *= decay;
            for (int64_t j = 0; j < dv; ++j) {
                double kv = 0.0;
                for (int64_t i = 0; i < dk; ++i) kv += s[static_cast<size_t>(i * dv + j)] * k[i];
                u[static_cast<size_t>(j)] = beta * (v[j] - kv);
            }
            for (int64_t i = 0; i < dk; ++i) {
                for (int64_t j = 0; j < dv; ++j) s[static_cast<size_t>(i * dv + j)] += k[i] * u[static_cast<size_t>(j)];
            }
            float* o = h.out + t * a.out_stride;
            for (int64_t j = 0; j < dv; ++j) {
                double acc = 0.0;
                for (int64_t i = 0; i < dk; ++i) {
                    acc += s[static_cast<size_t>(i * dv + j)] * (static_cast<double>(q[i]) * a.scale);
                }
                o[j] = static_cast<float>(acc);
            }
        }
        for (int64_t i = 0; i < dk * dv; ++i) h.state[i] = static_cast<float>(s[static_cast<size_t>(i)]);
    }
}

void gated_delta_rule_step(const GatedDeltaRuleArgs& a, ThreadPool* pool) {
    check_args(a);
    const bool avx2 = active_isa() == Isa::avx2;
    parallel_for(pool, a.n_v_heads, 1, [&](int64_t begin, int64_t end) {
        std::vector<float> u(static_cast<size_t>(a.value_dim));
        for (int64_t hv = begin; hv < end; ++hv) {
            const HeadView h = head_view(a, hv);
            for (int64_t t = 0; t < a.n_tokens; ++t) {
                const float* q = h.q + t * a.qk_stride;
                const float* k = h.k + t * a.qk_stride;
                const float* v = h.v + t * a.v_stride;
                const float g = h.g[t * a.gate_stride];
                const float beta = h.beta[t * a.gate_stride];
                float* o = h.out + t * a.out_stride;
#if MNEMO_HAVE_X86
                if (avx2) {
                    step_token_avx2(h.state, a.key_dim, a.value_dim, q, k, v, g, beta, a.scale, o);
                    continue;
                }
#endif
                step_token_scalar(h.state, a.key_dim, a.value_dim, q, k, v, g, beta, a.scale, o, u.data());
            }
        }
    });
    (void)avx2;
}

void gated_delta_rule_chunked(const GatedDeltaRuleArgs& a, ThreadPool* pool, int64_t chunk_size) {
    check_args(a);
    if (a.n_tokens <= 0) return;
    const int64_t c = std::max<int64_t>(1, chunk_size);
    parallel_for(pool, a.n_v_heads, 1, [&](int64_t begin, int64_t end) {
        ChunkBuffers buf(c, a.key_dim, a.value_dim);
        for (int64_t hv = begin; hv < end; ++hv) chunk_head(a, head_view(a, hv), c, buf);
    });
}

}  // namespace mnemo::cpu
