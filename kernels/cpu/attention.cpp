#include "cpu/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "cpu/activation.h"
#include "cpu/isa.h"
#include "cpu/simd.h"
#include "cpu/small_gemm.h"

namespace mnemo::cpu {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr int64_t kKeyTile = 64;

int64_t slot_of(const int32_t* slots, int64_t i) { return slots != nullptr ? slots[i] : i; }

// p[i] = exp(s[i] - m) (0 where s is -inf); returns Σ p.
float exp_shifted_scalar(const float* s, float m, float* p, int64_t n) {
    float sum = 0.0f;
    for (int64_t i = 0; i < n; ++i) {
        p[i] = s[i] == kNegInf ? 0.0f : std::exp(s[i] - m);
        sum += p[i];
    }
    return sum;
}

#if MNEMO_HAVE_X86
MNEMO_AVX2 float exp_shifted_avx2(const float* s, float m, float* p, int64_t n) {
    const __m256 vm = _mm256_set1_ps(m);
    __m256 vsum = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 e = detail::exp256(_mm256_sub_ps(_mm256_loadu_ps(s + i), vm));  // -inf -> 0
        _mm256_storeu_ps(p + i, e);
        vsum = _mm256_add_ps(vsum, e);
    }
    float sum = detail::hsum256(vsum);
    for (; i < n; ++i) {
        p[i] = s[i] == kNegInf ? 0.0f : std::exp(s[i] - m);
        sum += p[i];
    }
    return sum;
}
#endif

float exp_shifted(const float* s, float m, float* p, int64_t n) {
#if MNEMO_HAVE_X86
    if (active_isa() == Isa::avx2) return exp_shifted_avx2(s, m, p, n);
#endif
    return exp_shifted_scalar(s, m, p, n);
}

// ---------------------------------------------------------------------------------------
// Blocked causal attention. Rows of a query block are (token, head) pairs, token-major.
struct QueryBlock {
    int64_t t0 = 0, t1 = 0;  // tokens
    int64_t rows = 0;        // (t1 - t0) * n_q_heads
};

struct AttentionScratch {
    std::vector<float> q;       // [rows][dk], pre-scaled
    std::vector<float> kt;      // [dk][kKeyTile]
    std::vector<float> vt;      // [kKeyTile][dv]
    std::vector<float> s;       // [rows][kKeyTile]
    std::vector<float> o;       // [rows][dv]
    std::vector<float> m, l;    // [rows]
    std::vector<uint8_t> mask;  // [tokens][kKeyTile]
    AttentionScratch(int64_t max_rows, int64_t max_tokens, int64_t dk, int64_t dv)
        : q(static_cast<size_t>(max_rows * dk)),
          kt(static_cast<size_t>(dk * kKeyTile)),
          vt(static_cast<size_t>(kKeyTile * dv)),
          s(static_cast<size_t>(max_rows * kKeyTile)),
          o(static_cast<size_t>(max_rows * dv)),
          m(static_cast<size_t>(max_rows)),
          l(static_cast<size_t>(max_rows)),
          mask(static_cast<size_t>(max_tokens * kKeyTile)) {}
};

void gather_queries(const CausalAttentionArgs& a, const QueryBlock& b, float* q) {
    const int64_t dk = a.kv.key_dim;
    for (int64_t t = b.t0; t < b.t1; ++t) {
        for (int64_t g = 0; g < a.n_q_heads; ++g) {
            const float* src = a.q + t * a.q_token_stride + g * a.q_head_stride;
            float* dst = q + ((t - b.t0) * a.n_q_heads + g) * dk;
            for (int64_t i = 0; i < dk; ++i) dst[i] = src[i] * a.scale;
        }
    }
}

void gather_keys(const CausalAttentionArgs& a, int64_t i0, int64_t n, float* kt) {
    const int64_t dk = a.kv.key_dim;
    for (int64_t j = 0; j < n; ++j) {
        const float* src = a.kv.k + slot_of(a.slots, i0 + j) * a.kv.k_stride;
        for (int64_t d = 0; d < dk; ++d) kt[d * kKeyTile + j] = src[d];
    }
}

void gather_values(const CausalAttentionArgs& a, int64_t i0, int64_t n, float* vt) {
    const int64_t dv = a.kv.value_dim;
    for (int64_t j = 0; j < n; ++j) {
        const float* src = a.kv.v + slot_of(a.slots, i0 + j) * a.kv.v_stride;
        std::copy(src, src + dv, vt + j * dv);
    }
}

// Fills mask[t][j] for the tile; returns whether any pair is visible.
bool tile_mask(const CausalAttentionArgs& a, const QueryBlock& b, int64_t i0, int64_t n, uint8_t* mask) {
    bool any = false;
    for (int64_t t = b.t0; t < b.t1; ++t) {
        const int64_t qp = a.q_positions[t];
        for (int64_t j = 0; j < n; ++j) {
            const bool pinned = a.key_pinned != nullptr && a.key_pinned[i0 + j] != 0;
            const bool visible = attention_key_visible(qp, a.key_positions[i0 + j], pinned, a.window);
            mask[(t - b.t0) * kKeyTile + j] = visible ? 1 : 0;
            any = any || visible;
        }
    }
    return any;
}

// Scores of the block's rows against the gathered tile, masked with -inf.
void tile_scores(const CausalAttentionArgs& a, const QueryBlock& b, int64_t n, AttentionScratch& w) {
    const int64_t dk = a.kv.key_dim;
    std::fill(w.s.begin(), w.s.begin() + b.rows * kKeyTile, 0.0f);
    detail::gemm_acc(b.rows, n, dk, w.q.data(), dk, w.kt.data(), kKeyTile, w.s.data(), kKeyTile);
    for (int64_t r = 0; r < b.rows; ++r) {
        const uint8_t* mask = w.mask.data() + (r / a.n_q_heads) * kKeyTile;
        float* s = w.s.data() + r * kKeyTile;
        for (int64_t j = 0; j < n; ++j) {
            if (mask[j] == 0) s[j] = kNegInf;
        }
    }
}

void attend_block(const CausalAttentionArgs& a, const QueryBlock& b, AttentionScratch& w, float* lse_out) {
    const int64_t dv = a.kv.value_dim;
    gather_queries(a, b, w.q.data());
    std::fill(w.o.begin(), w.o.begin() + b.rows * dv, 0.0f);
    std::fill(w.m.begin(), w.m.begin() + b.rows, kNegInf);
    std::fill(w.l.begin(), w.l.begin() + b.rows, 0.0f);
    for (int64_t i0 = 0; i0 < a.n_keys; i0 += kKeyTile) {
        const int64_t n = std::min(kKeyTile, a.n_keys - i0);
        if (!tile_mask(a, b, i0, n, w.mask.data())) continue;
        gather_keys(a, i0, n, w.kt.data());
        gather_values(a, i0, n, w.vt.data());
        tile_scores(a, b, n, w);
        for (int64_t r = 0; r < b.rows; ++r) {
            float* s = w.s.data() + r * kKeyTile;
            float tile_max = kNegInf;
            for (int64_t j = 0; j < n; ++j) tile_max = std::fmax(tile_max, s[j]);
            const float m_old = w.m[static_cast<size_t>(r)];
            const float m_new = std::fmax(m_old, tile_max);
            if (m_new == kNegInf) {
                std::fill(s, s + n, 0.0f);  // nothing visible yet: contributes nothing
                continue;
            }
            const float correction = m_old == kNegInf ? 0.0f : std::exp(m_old - m_new);
            const float sum = exp_shifted(s, m_new, s, n);  // s now holds p
            w.l[static_cast<size_t>(r)] = w.l[static_cast<size_t>(r)] * correction + sum;
            w.m[static_cast<size_t>(r)] = m_new;
            if (correction != 1.0f) detail::scale(correction, w.o.data() + r * dv, dv);
        }
        detail::gemm_acc(b.rows, dv, n, w.s.data(), kKeyTile, w.vt.data(), dv, w.o.data(), dv);
    }
    for (int64_t r = 0; r < b.rows; ++r) {
        const int64_t t = b.t0 + r / a.n_q_heads;
        const int64_t g = r % a.n_q_heads;
        float* dst = a.out + t * a.out_token_stride + g * a.out_head_stride;
        const float l = w.l[static_cast<size_t>(r)];
        const float inverse = l > 0.0f ? 1.0f / l : 0.0f;
        const float* src = w.o.data() + r * dv;
        for (int64_t d = 0; d < dv; ++d) dst[d] = src[d] * inverse;
        if (lse_out != nullptr) {
            lse_out[t * a.n_q_heads + g] = l > 0.0f ? w.m[static_cast<size_t>(r)] + std::log(l) : kNegInf;
        }
    }
}

// Second pass for prob_sums: per key tile, queries in order, p = exp(s − lse).
void prob_sums_pass(const CausalAttentionArgs& a, const float* lse, int64_t block_tokens, ThreadPool* pool) {
    const int64_t n_tiles = (a.n_keys + kKeyTile - 1) / kKeyTile;
    const int64_t max_rows = block_tokens * a.n_q_heads;
    parallel_for(pool, n_tiles, 1, [&](int64_t begin, int64_t end) {
        AttentionScratch w(max_rows, block_tokens, a.kv.key_dim, a.kv.value_dim);
        for (int64_t tile = begin; tile < end; ++tile) {
            const int64_t i0 = tile * kKeyTile;
            const int64_t n = std::min(kKeyTile, a.n_keys - i0);
            for (int64_t g = 0; g < a.n_q_heads; ++g) {
                std::fill(a.prob_sums + g * a.prob_sums_head_stride + i0,
                          a.prob_sums + g * a.prob_sums_head_stride + i0 + n, 0.0f);
            }
            gather_keys(a, i0, n, w.kt.data());
            for (int64_t t0 = 0; t0 < a.n_tokens; t0 += block_tokens) {
                QueryBlock b{t0, std::min(a.n_tokens, t0 + block_tokens), 0};
                b.rows = (b.t1 - b.t0) * a.n_q_heads;
                if (!tile_mask(a, b, i0, n, w.mask.data())) continue;
                gather_queries(a, b, w.q.data());
                tile_scores(a, b, n, w);
                for (int64_t r = 0; r < b.rows; ++r) {
                    const int64_t t = b.t0 + r / a.n_q_heads;
                    const int64_t g = r % a.n_q_heads;
                    const float row_lse = lse[t * a.n_q_heads + g];
                    if (row_lse == kNegInf) continue;
                    const float* s = w.s.data() + r * kKeyTile;
                    float* sums = a.prob_sums + g * a.prob_sums_head_stride + i0;
                    for (int64_t j = 0; j < n; ++j) {
                        if (s[j] != kNegInf) sums[j] += std::exp(s[j] - row_lse);
                    }
                }
            }
        }
    });
}

// ---------------------------------------------------------------------------------------
// Many query heads per KV head: tiles of 64 keys are gathered (K transposed) and both
// products run as small GEMMs, instead of one dot product per (key, head).
void attention_indexed_tiled(const IndexedAttentionArgs& a) {
    const int64_t n = a.n_keys, heads = a.n_q_heads, dk = a.kv.key_dim, dv = a.kv.value_dim;
    thread_local std::vector<float> scores, q_scaled, kt, vt, out;
    scores.assign(static_cast<size_t>(heads * n), 0.0f);
    q_scaled.resize(static_cast<size_t>(heads * dk));
    kt.resize(static_cast<size_t>(dk * kKeyTile));
    vt.resize(static_cast<size_t>(kKeyTile * dv));
    out.assign(static_cast<size_t>(heads * dv), 0.0f);
    for (int64_t g = 0; g < heads; ++g) {
        const float* q = a.q + g * a.q_head_stride;
        for (int64_t d = 0; d < dk; ++d) q_scaled[static_cast<size_t>(g * dk + d)] = q[d] * a.scale;
    }
    for (int64_t i0 = 0; i0 < n; i0 += kKeyTile) {
        const int64_t m = std::min(kKeyTile, n - i0);
        for (int64_t j = 0; j < m; ++j) {
            const float* k = a.kv.k + slot_of(a.slots, i0 + j) * a.kv.k_stride;
            for (int64_t d = 0; d < dk; ++d) kt[static_cast<size_t>(d * kKeyTile + j)] = k[d];
        }
        detail::gemm_acc(heads, m, dk, q_scaled.data(), dk, kt.data(), kKeyTile, scores.data() + i0, n);
    }
    softmax(RowsArgs{scores.data(), n, scores.data(), n, heads, n});
    for (int64_t i0 = 0; i0 < n; i0 += kKeyTile) {
        const int64_t m = std::min(kKeyTile, n - i0);
        for (int64_t j = 0; j < m; ++j) {
            const float* v = a.kv.v + slot_of(a.slots, i0 + j) * a.kv.v_stride;
            std::copy(v, v + dv, vt.begin() + j * dv);
        }
        detail::gemm_acc(heads, dv, m, scores.data() + i0, n, vt.data(), dv, out.data(), dv);
    }
    for (int64_t g = 0; g < heads; ++g) {
        std::copy(out.begin() + g * dv, out.begin() + (g + 1) * dv, a.out + g * a.out_head_stride);
        if (a.probs != nullptr) std::copy(scores.begin() + g * n, scores.begin() + (g + 1) * n, a.probs + g * a.probs_head_stride);
    }
}

}  // namespace

void attention_indexed(const IndexedAttentionArgs& a) {
    const int64_t n = a.n_keys, heads = a.n_q_heads, dk = a.kv.key_dim, dv = a.kv.value_dim;
    if (n > 0 && heads >= 4) return attention_indexed_tiled(a);
    for (int64_t g = 0; g < heads; ++g) std::fill(a.out + g * a.out_head_stride, a.out + g * a.out_head_stride + dv, 0.0f);
    if (n <= 0) return;
    thread_local std::vector<float> scores;
    scores.resize(static_cast<size_t>(heads * n));
    for (int64_t i = 0; i < n; ++i) {
        const float* k = a.kv.k + slot_of(a.slots, i) * a.kv.k_stride;
        for (int64_t g = 0; g < heads; ++g) {
            scores[static_cast<size_t>(g * n + i)] = detail::dot(a.q + g * a.q_head_stride, k, dk) * a.scale;
        }
    }
    softmax(RowsArgs{scores.data(), n, scores.data(), n, heads, n});
    for (int64_t i = 0; i < n; ++i) {
        const float* v = a.kv.v + slot_of(a.slots, i) * a.kv.v_stride;
        for (int64_t g = 0; g < heads; ++g) detail::axpy(scores[static_cast<size_t>(g * n + i)], v, a.out + g * a.out_head_stride, dv);
    }
    if (a.probs != nullptr) {
        for (int64_t g = 0; g < heads; ++g) {
            std::copy(scores.begin() + g * n, scores.begin() + (g + 1) * n, a.probs + g * a.probs_head_stride);
        }
    }
}

void attention_indexed_reference(const IndexedAttentionArgs& a) {
    const int64_t n = a.n_keys, dk = a.kv.key_dim, dv = a.kv.value_dim;
    std::vector<double> s(static_cast<size_t>(std::max<int64_t>(n, 1)));
    for (int64_t g = 0; g < a.n_q_heads; ++g) {
        const float* q = a.q + g * a.q_head_stride;
        double max_score = -std::numeric_limits<double>::infinity();
        for (int64_t i = 0; i < n; ++i) {
            const float* k = a.kv.k + slot_of(a.slots, i) * a.kv.k_stride;
            double dot = 0.0;
            for (int64_t d = 0; d < dk; ++d) dot += static_cast<double>(q[d]) * k[d];
            s[static_cast<size_t>(i)] = dot * a.scale;
            max_score = std::max(max_score, s[static_cast<size_t>(i)]);
        }
        double sum = 0.0;
        for (int64_t i = 0; i < n; ++i) sum += std::exp(s[static_cast<size_t>(i)] - max_score);
        float* out = a.out + g * a.out_head_stride;
        for (int64_t d = 0; d < dv; ++d) {
            double acc = 0.0;
            for (int64_t i = 0; i < n; ++i) {
                acc += std::exp(s[static_cast<size_t>(i)] - max_score) / sum * a.kv.v[slot_of(a.slots, i) * a.kv.v_stride + d];
            }
            out[d] = static_cast<float>(acc);
        }
        if (a.probs != nullptr) {
            for (int64_t i = 0; i < n; ++i) {
                a.probs[g * a.probs_head_stride + i] = static_cast<float>(std::exp(s[static_cast<size_t>(i)] - max_score) / sum);
            }
        }
    }
}

void attention_causal(const CausalAttentionArgs& a, ThreadPool* pool) {
    if (a.n_tokens <= 0) return;
    const int64_t dk = a.kv.key_dim, dv = a.kv.value_dim;
    const int64_t block_tokens = std::max<int64_t>(1, std::min<int64_t>(16, 64 / std::max<int64_t>(1, a.n_q_heads)));
    const int64_t n_blocks = (a.n_tokens + block_tokens - 1) / block_tokens;
    std::vector<float> lse;
    if (a.prob_sums != nullptr) lse.resize(static_cast<size_t>(a.n_tokens * a.n_q_heads));
    float* lse_ptr = a.prob_sums != nullptr ? lse.data() : nullptr;
    parallel_for(pool, n_blocks, 1, [&](int64_t begin, int64_t end) {
        AttentionScratch w(block_tokens * a.n_q_heads, block_tokens, dk, dv);
        for (int64_t task = begin; task < end; ++task) {
            // Interleave early (cheap) and late (expensive) causal blocks so contiguous task
            // ranges carry similar work.
            const int64_t block = task % 2 == 0 ? task / 2 : n_blocks - 1 - task / 2;
            QueryBlock b{block * block_tokens, std::min(a.n_tokens, (block + 1) * block_tokens), 0};
            b.rows = (b.t1 - b.t0) * a.n_q_heads;
            attend_block(a, b, w, lse_ptr);
        }
    });
    if (a.prob_sums != nullptr) prob_sums_pass(a, lse.data(), block_tokens, pool);
}

void attention_causal_reference(const CausalAttentionArgs& a) {
    const int64_t dk = a.kv.key_dim, dv = a.kv.value_dim;
    std::vector<double> s(static_cast<size_t>(std::max<int64_t>(a.n_keys, 1)));
    std::vector<double> acc(static_cast<size_t>(dv));
    if (a.prob_sums != nullptr) {
        for (int64_t g = 0; g < a.n_q_heads; ++g) {
            std::fill(a.prob_sums + g * a.prob_sums_head_stride, a.prob_sums + g * a.prob_sums_head_stride + a.n_keys, 0.0f);
        }
    }
    std::vector<double> sums(static_cast<size_t>(a.n_q_heads * std::max<int64_t>(a.n_keys, 1)), 0.0);
    for (int64_t t = 0; t < a.n_tokens; ++t) {
        for (int64_t g = 0; g < a.n_q_heads; ++g) {
            const float* q = a.q + t * a.q_token_stride + g * a.q_head_stride;
            double max_score = -std::numeric_limits<double>::infinity();
            for (int64_t i = 0; i < a.n_keys; ++i) {
                const bool pinned = a.key_pinned != nullptr && a.key_pinned[i] != 0;
                if (!attention_key_visible(a.q_positions[t], a.key_positions[i], pinned, a.window)) {
                    s[static_cast<size_t>(i)] = -std::numeric_limits<double>::infinity();
                    continue;
                }
                const float* k = a.kv.k + slot_of(a.slots, i) * a.kv.k_stride;
                double dot = 0.0;
                for (int64_t d = 0; d < dk; ++d) dot += static_cast<double>(q[d]) * k[d];
                s[static_cast<size_t>(i)] = dot * a.scale;
                max_score = std::max(max_score, s[static_cast<size_t>(i)]);
            }
            float* out = a.out + t * a.out_token_stride + g * a.out_head_stride;
            std::fill(acc.begin(), acc.end(), 0.0);
            if (max_score == -std::numeric_limits<double>::infinity()) {
                std::fill(out, out + dv, 0.0f);
                continue;
            }
            double total = 0.0;
            for (int64_t i = 0; i < a.n_keys; ++i) total += std::exp(s[static_cast<size_t>(i)] - max_score);
            for (int64_t i = 0; i < a.n_keys; ++i) {
                const double p = std::exp(s[static_cast<size_t>(i)] - max_score) / total;
                if (p == 0.0) continue;
                sums[static_cast<size_t>(g * a.n_keys + i)] += p;
                const float* v = a.kv.v + slot_of(a.slots, i) * a.kv.v_stride;
                for (int64_t d = 0; d < dv; ++d) acc[static_cast<size_t>(d)] += p * v[d];
            }
            for (int64_t d = 0; d < dv; ++d) out[d] = static_cast<float>(acc[static_cast<size_t>(d)]);
        }
    }
    if (a.prob_sums != nullptr) {
        for (int64_t g = 0; g < a.n_q_heads; ++g) {
            for (int64_t i = 0; i < a.n_keys; ++i) {
                a.prob_sums[g * a.prob_sums_head_stride + i] = static_cast<float>(sums[static_cast<size_t>(g * a.n_keys + i)]);
            }
        }
    }
}

}  // namespace mnemo::cpu
