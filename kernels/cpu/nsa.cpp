#include "cpu/nsa.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

namespace mnemo::cpu {
namespace {

// Forced blocks get `forced`; the others keep their importance; blocks > current excluded.
bool better(float score_a, int64_t a, float score_b, int64_t b) {
    return score_a > score_b || (score_a == score_b && a < b);
}

}  // namespace

void nsa_compress_mean(const float* x, int64_t x_stride, int64_t n_rows, int64_t dim, int64_t block_size, float* out,
                       int64_t out_stride) {
    const int64_t n_blocks = (n_rows + block_size - 1) / block_size;
    for (int64_t c = 0; c < n_blocks; ++c) {
        const int64_t r0 = c * block_size, r1 = std::min(n_rows, r0 + block_size);
        float* o = out + c * out_stride;
        std::fill(o, o + dim, 0.0f);
        for (int64_t r = r0; r < r1; ++r) {
            const float* row = x + r * x_stride;
            for (int64_t d = 0; d < dim; ++d) o[d] += row[d];
        }
        const float inverse = 1.0f / static_cast<float>(r1 - r0);
        for (int64_t d = 0; d < dim; ++d) o[d] *= inverse;
    }
}

int64_t nsa_select_blocks(const float* importance, int64_t current_block, float forced_importance, int64_t n_select,
                          int32_t* out) {
    const int64_t n_candidates = current_block + 1;
    auto score = [&](int64_t c) {
        const bool forced = c == 0 || c == current_block || c == current_block - 1;
        return forced ? forced_importance : importance[c];
    };
    thread_local std::vector<int32_t> order;
    order.resize(static_cast<size_t>(n_candidates));
    std::iota(order.begin(), order.end(), 0);
    const int64_t n_chosen = std::min(n_select, n_candidates);
    std::partial_sort(order.begin(), order.begin() + n_chosen, order.end(),
                      [&](int32_t a, int32_t b) { return better(score(a), a, score(b), b); });
    for (int64_t i = 0; i < n_select; ++i) out[i] = i < n_chosen ? order[static_cast<size_t>(i)] : -1;
    return n_chosen;
}

void nsa_attention(const NsaArgs& a, ThreadPool* pool) {
    const int64_t heads = a.n_q_heads, dv = a.kv.value_dim, bs = a.block_size;
    parallel_for(pool, a.n_tokens, 1, [&](int64_t begin, int64_t end) {
        std::vector<float> probs, importance, o_cmp(static_cast<size_t>(heads * dv)), o_part(static_cast<size_t>(heads * dv));
        std::vector<int32_t> chosen(static_cast<size_t>(std::max<int64_t>(a.n_select, 1)));
        std::vector<int32_t> rows;
        for (int64_t t = begin; t < end; ++t) {
            const int64_t p = a.q_positions[t];
            const float* q = a.q + t * a.q_token_stride;
            float* out = a.out + t * a.out_token_stride;
            const float* g_cmp = a.g_cmp + t * a.gate_token_stride;
            const float* g_slc = a.g_slc + t * a.gate_token_stride;
            const float* g_swa = a.g_swa + t * a.gate_token_stride;
            const int64_t n_complete = (p + 1) / bs;
            const int64_t current = p / bs;

            // Compressed attention; its probabilities rank the blocks.
            probs.assign(static_cast<size_t>(heads * std::max<int64_t>(n_complete, 1)), 0.0f);
            IndexedAttentionArgs cmp;
            cmp.q = q;
            cmp.q_head_stride = a.q_head_stride;
            cmp.n_q_heads = heads;
            cmp.kv = a.compressed;
            cmp.n_keys = n_complete;
            cmp.scale = a.scale;
            cmp.out = o_cmp.data();
            cmp.out_head_stride = dv;
            cmp.probs = probs.data();
            cmp.probs_head_stride = n_complete;
            attention_indexed(cmp);  // zero output when n_complete == 0

            importance.assign(static_cast<size_t>(current + 1), 0.0f);
            for (int64_t g = 0; g < heads; ++g) {
                for (int64_t c = 0; c < std::min(current, n_complete); ++c) {
                    importance[static_cast<size_t>(c)] += probs[static_cast<size_t>(g * n_complete + c)];
                }
            }
            nsa_select_blocks(importance.data(), current, static_cast<float>(heads), a.n_select, chosen.data());
            if (a.selected_blocks != nullptr) {
                std::copy(chosen.begin(), chosen.begin() + a.n_select, a.selected_blocks + t * a.n_select);
            }

            for (int64_t g = 0; g < heads; ++g) {
                float* o = out + g * a.out_head_stride;
                for (int64_t d = 0; d < dv; ++d) o[d] = g_cmp[g * a.gate_head_stride] * o_cmp[static_cast<size_t>(g * dv + d)];
            }

            // Selected blocks (rows <= p), in selection order; softmax is order-independent.
            rows.clear();
            for (int64_t i = 0; i < a.n_select; ++i) {
                const int32_t c = chosen[static_cast<size_t>(i)];
                if (c < 0) continue;
                for (int64_t r = c * bs; r < std::min((c + 1) * bs, p + 1); ++r) rows.push_back(static_cast<int32_t>(r));
            }
            IndexedAttentionArgs part;
            part.q = q;
            part.q_head_stride = a.q_head_stride;
            part.n_q_heads = heads;
            part.kv = a.kv;
            part.slots = rows.data();
            part.n_keys = static_cast<int64_t>(rows.size());
            part.scale = a.scale;
            part.out = o_part.data();
            part.out_head_stride = dv;
            attention_indexed(part);
            for (int64_t g = 0; g < heads; ++g) {
                float* o = out + g * a.out_head_stride;
                for (int64_t d = 0; d < dv; ++d) o[d] += g_slc[g * a.gate_head_stride] * o_part[static_cast<size_t>(g * dv + d)];
            }

            if (a.window > 0) {
                rows.clear();
                for (int64_t r = std::max<int64_t>(0, p - a.window + 1); r <= p; ++r) rows.push_back(static_cast<int32_t>(r));
                part.slots = rows.data();
                part.n_keys = static_cast<int64_t>(rows.size());
                attention_indexed(part);
                for (int64_t g = 0; g < heads; ++g) {
                    float* o = out + g * a.out_head_stride;
                    for (int64_t d = 0; d < dv; ++d) o[d] += g_swa[g * a.gate_head_stride] * o_part[static_cast<size_t>(g * dv + d)];
                }
            }
        }
    });
}

void nsa_attention_naive(const NsaArgs& a) {
    const int64_t heads = a.n_q_heads, dk = a.kv.key_dim, dv = a.kv.value_dim, bs = a.block_size;
    const double neg_inf = -std::numeric_limits<double>::infinity();
    // Compression from the raw cache.
    const int64_t n_blocks = a.n_keys / bs;
    std::vector<double> kc(static_cast<size_t>(n_blocks * dk), 0.0), vc(static_cast<size_t>(n_blocks * dv), 0.0);
    for (int64_t c = 0; c < n_blocks; ++c) {
        for (int64_t r = c * bs; r < (c + 1) * bs; ++r) {
            for (int64_t d = 0; d < dk; ++d) kc[static_cast<size_t>(c * dk + d)] += a.kv.k[r * a.kv.k_stride + d] / static_cast<double>(bs);
            for (int64_t d = 0; d < dv; ++d) vc[static_cast<size_t>(c * dv + d)] += a.kv.v[r * a.kv.v_stride + d] / static_cast<double>(bs);
        }
    }
    // softmax(scale q·keys) · values over a list of (key, value) row pointers.
    auto attend = [&](const float* q, const std::vector<const double*>& ks, const std::vector<const double*>& vs,
                      std::vector<double>& probs, double* o) {
        std::fill(o, o + dv, 0.0);
        probs.assign(ks.size(), 0.0);
        if (ks.empty()) return;
        double max_score = neg_inf;
        for (size_t i = 0; i < ks.size(); ++i) {
            double s = 0.0;
            for (int64_t d = 0; d < dk; ++d) s += static_cast<double>(q[d]) * ks[i][d];
            probs[i] = s * a.scale;
            max_score = std::max(max_score, probs[i]);
        }
        double total = 0.0;
        for (double& s : probs) total += (s = std::exp(s - max_score));
        for (size_t i = 0; i < ks.size(); ++i) {
            probs[i] /= total;
            for (int64_t d = 0; d < dv; ++d) o[d] += probs[i] * vs[i][d];
        }
    };
    std::vector<double> raw_k(static_cast<size_t>(a.n_keys * dk)), raw_v(static_cast<size_t>(a.n_keys * dv));
    for (int64_t r = 0; r < a.n_keys; ++r) {
        for (int64_t d = 0; d < dk; ++d) raw_k[static_cast<size_t>(r * dk + d)] = a.kv.k[r * a.kv.k_stride + d];
        for (int64_t d = 0; d < dv; ++d) raw_v[static_cast<size_t>(r * dv + d)] = a.kv.v[r * a.kv.v_stride + d];
    }
    std::vector<double> probs, o_cmp(static_cast<size_t>(heads * dv)), o_slc(static_cast<size_t>(heads * dv)),
        o_swa(static_cast<size_t>(heads * dv));
    for (int64_t t = 0; t < a.n_tokens; ++t) {
        const int64_t p = a.q_positions[t];
        const int64_t n_complete = (p + 1) / bs, current = p / bs;
        std::vector<double> importance(static_cast<size_t>(current + 1), 0.0);
        std::vector<const double*> ks, vs;
        for (int64_t c = 0; c < n_complete; ++c) {
            ks.push_back(&kc[static_cast<size_t>(c * dk)]);
            vs.push_back(&vc[static_cast<size_t>(c * dv)]);
        }
        for (int64_t g = 0; g < heads; ++g) {
            attend(a.q + t * a.q_token_stride + g * a.q_head_stride, ks, vs, probs, &o_cmp[static_cast<size_t>(g * dv)]);
            for (int64_t c = 0; c < std::min(current, n_complete); ++c) importance[static_cast<size_t>(c)] += probs[static_cast<size_t>(c)];
        }
        // Rank: forced blocks first (maximal importance), then by importance, ties by index.
        std::vector<int64_t> order(static_cast<size_t>(current + 1));
        std::iota(order.begin(), order.end(), 0);
        auto key = [&](int64_t c) {
            const bool forced = c == 0 || c == current || c == current - 1;
            return forced ? static_cast<double>(heads) : importance[static_cast<size_t>(c)];
        };
        std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) { return key(x) > key(y); });
        order.resize(static_cast<size_t>(std::min<int64_t>(a.n_select, current + 1)));
        if (a.selected_blocks != nullptr) {
            for (int64_t i = 0; i < a.n_select; ++i) {
                a.selected_blocks[t * a.n_select + i] = i < static_cast<int64_t>(order.size()) ? static_cast<int32_t>(order[static_cast<size_t>(i)]) : -1;
            }
        }
        std::vector<int64_t> selected_rows;
        for (int64_t c : order) {
            for (int64_t r = c * bs; r < std::min((c + 1) * bs, p + 1); ++r) selected_rows.push_back(r);
        }
        std::sort(selected_rows.begin(), selected_rows.end());
        ks.clear();
        vs.clear();
        for (int64_t r : selected_rows) {
            ks.push_back(&raw_k[static_cast<size_t>(r * dk)]);
            vs.push_back(&raw_v[static_cast<size_t>(r * dv)]);
        }
        for (int64_t g = 0; g < heads; ++g) attend(a.q + t * a.q_token_stride + g * a.q_head_stride, ks, vs, probs, &o_slc[static_cast<size_t>(g * dv)]);
        std::fill(o_swa.begin(), o_swa.end(), 0.0);
        if (a.window > 0) {
            ks.clear();
            vs.clear();
            for (int64_t r = std::max<int64_t>(0, p - a.window + 1); r <= p; ++r) {
                ks.push_back(&raw_k[static_cast<size_t>(r * dk)]);
                vs.push_back(&raw_v[static_cast<size_t>(r * dv)]);
            }
            for (int64_t g = 0; g < heads; ++g) attend(a.q + t * a.q_token_stride + g * a.q_head_stride, ks, vs, probs, &o_swa[static_cast<size_t>(g * dv)]);
        }
        for (int64_t g = 0; g < heads; ++g) {
            const int64_t gate = t * a.gate_token_stride + g * a.gate_head_stride;
            const double gs = a.g_slc[gate], gc = a.g_cmp[gate], gw = a.g_swa[gate];
            float* o = a.out + t * a.out_token_stride + g * a.out_head_stride;
            for (int64_t d = 0; d < dv; ++d) {
                const size_t i = static_cast<size_t>(g * dv + d);
                o[d] = static_cast<float>(gs * o_slc[i] + gc * o_cmp[i] + gw * o_swa[i]);
            }
        }
    }
}

}  // namespace mnemo::cpu
