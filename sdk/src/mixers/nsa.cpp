// Native sparse attention: per query, a compressed branch (attention over the means
// of complete key blocks), a selected branch (full attention inside the top-scoring
// blocks, with the first, previous and current blocks forced in) and a sliding-window
// branch, mixed by sigmoid gates (cmp, slc, swa) per query head. The state keeps every
// key and value, so a session needs max_context (or it is refused).
#include "attention_mixer.h"

#include "../error.h"
#include "../model.h"
#include "../runtime/weights.h"
#include "cpu/activation.h"
#include "cpu/attention.h"
#include "cpu/rope.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

namespace mnemo {

namespace {

void nsa_tensor_specs(const ModelConfig& m, const LayerConfig& l, const std::string& p, std::vector<TensorSpec>* out) {
    attention_projection_specs(m, l, p, out);
    out->push_back({p + "g_proj.weight", {int64_t{l.n_heads} * 3, m.hidden_size}});
}

int32_t next_power_of_two(int32_t n) {
    int32_t p = 1;
    while (p < n) p *= 2;
    return p;
}

class NsaMixer final : public Mixer {
public:
    NsaMixer(const ModelImpl& model, int32_t index, const SessionOptions& o)
        : layer_(model.config.layers[static_cast<size_t>(index)]), capacity_(o.max_context),
          selected_(next_power_of_two(layer_.block_count)) {
        const std::string p = layer_prefix(index);
        q_proj_ = linear_weight(model, p + "q_proj.weight", p + "q_proj.bias");
        k_proj_ = linear_weight(model, p + "k_proj.weight", p + "k_proj.bias");
        v_proj_ = linear_weight(model, p + "v_proj.weight", p + "v_proj.bias");
        g_proj_ = linear_weight(model, p + "g_proj.weight");
        o_proj_ = linear_weight(model, p + "o_proj.weight");
        n_blocks_ = (capacity_ + layer_.block_size - 1) / layer_.block_size;
    }

    void layout(ArenaLayout& state, ArenaLayout& scratch, int64_t T) override {
        const int64_t kv = layer_.n_kv_heads, hd = layer_.head_dim, hq = layer_.n_heads, group = hq / kv;
        keys_ = state.take<float>(static_cast<uint64_t>(kv * capacity_ * hd));
        values_ = state.take<float>(static_cast<uint64_t>(kv * capacity_ * hd));
        block_keys_ = state.take<float>(static_cast<uint64_t>(kv * n_blocks_ * hd));
        block_values_ = state.take<float>(static_cast<uint64_t>(kv * n_blocks_ * hd));
        count_ = state.take<int64_t>(1);
        q_ = scratch.take<float>(static_cast<uint64_t>(T * hq * hd));
        k_ = scratch.take<float>(static_cast<uint64_t>(T * kv * hd));
        v_ = scratch.take<float>(static_cast<uint64_t>(T * kv * hd));
        gates_ = scratch.take<float>(static_cast<uint64_t>(T * hq * 3));
        out_ = scratch.take<float>(static_cast<uint64_t>(T * hq * hd));
        branch_ = scratch.take<float>(static_cast<uint64_t>(group * hd));
        probs_ = scratch.take<float>(static_cast<uint64_t>(group * n_blocks_));
        importance_ = scratch.take<float>(static_cast<uint64_t>(n_blocks_));
        order_ = scratch.take<int32_t>(static_cast<uint64_t>(n_blocks_));
        slots_ = scratch.take<int32_t>(static_cast<uint64_t>(std::max<int64_t>(capacity_, 1)));
        state_bytes_ = static_cast<uint64_t>(2 * kv * (capacity_ + n_blocks_) * hd) * sizeof(float) + sizeof(int64_t);
    }

    void reset() override { *count_ = 0; }

    void forward(const ForwardContext& ctx, const float* x, float* y) override {
        const int64_t T = ctx.n_tokens, hq = layer_.n_heads;
        apply_linear(q_proj_, x, T, q_, ctx.pool);
        apply_linear(k_proj_, x, T, k_, ctx.pool);
        apply_linear(v_proj_, x, T, v_, ctx.pool);
        apply_linear(g_proj_, x, T, gates_, ctx.pool);
        cpu::sigmoid(gates_, gates_, T * hq * 3);
        rope_queries_and_keys(ctx, layer_, q_, k_);
        for (int64_t t = 0; t < T; ++t) step(ctx.positions[t], t);
        apply_linear(o_proj_, out_, T, y, ctx.pool);
    }

    // Every token is appended in order: the count is the position (<= max_context,
    // checked by the session).
    bool state_consistent(int64_t position, std::string* why) const override {
        if (*count_ == position) return true;
        *why = "it holds " + std::to_string(*count_) + " tokens";
        return false;
    }

    uint64_t state_bytes_used() const override {
        const int64_t kv = layer_.n_kv_heads, hd = layer_.head_dim, n = *count_;
        return static_cast<uint64_t>(2 * kv * (n + n / layer_.block_size) * hd) * sizeof(float) + sizeof(int64_t);
    }
    MixerStateMap state_map() const override {
        MixerStateMap m;
        m.nsa_keys = keys_;
        m.nsa_values = values_;
        m.nsa_block_keys = block_keys_;
        m.nsa_block_values = block_values_;
        m.nsa_count = count_;
        return m;
    }

private:
    void step(int64_t pos, int64_t t) {
        const int64_t hd = layer_.head_dim, hq = layer_.n_heads, kv = layer_.n_kv_heads, group = hq / kv, bs = layer_.block_size;
        const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
        // Append the token; a block that completes gets its mean key and value.
        for (int64_t h = 0; h < kv; ++h) {
            std::memcpy(keys_ + (h * capacity_ + pos) * hd, k_ + (t * kv + h) * hd, static_cast<size_t>(hd) * sizeof(float));
            std::memcpy(values_ + (h * capacity_ + pos) * hd, v_ + (t * kv + h) * hd, static_cast<size_t>(hd) * sizeof(float));
        }
        *count_ = pos + 1;
        if ((pos + 1) % bs == 0) {
            const int64_t c = pos / bs;
            for (int64_t h = 0; h < kv; ++h)
                for (int64_t i = 0; i < hd; ++i) {
                    double sk = 0, sv = 0;
                    for (int64_t j = c * bs; j < (c + 1) * bs; ++j) {
                        sk += keys_[(h * capacity_ + j) * hd + i];
                        sv += values_[(h * capacity_ + j) * hd + i];
                    }
                    block_keys_[(h * n_blocks_ + c) * hd + i] = static_cast<float>(sk / static_cast<double>(bs));
                    block_values_[(h * n_blocks_ + c) * hd + i] = static_cast<float>(sv / static_cast<double>(bs));
                }
        }
        const int64_t complete = (pos + 1) / bs, current = pos / bs;
        for (int64_t h = 0; h < kv; ++h) {
            const float* q = q_ + (t * hq + h * group) * hd;
            float* out = out_ + (t * hq + h * group) * hd;
            const float* g = gates_ + (t * hq + h * group) * 3;
            // Compressed branch (gate 0), with its probabilities for block importance.
            std::fill(out, out + group * hd, 0.0f);
            if (complete > 0) {
                attend(q, block_keys_ + h * n_blocks_ * hd, block_values_ + h * n_blocks_ * hd, nullptr, complete, scale, probs_);
                accumulate(out, branch_, g, 0, group, hd);
            }
            // Block importance: summed compressed probabilities of earlier blocks; the
            // first, previous and current blocks are forced in. Ties: lower block first.
            const int64_t n_candidates = current + 1;
            for (int64_t c = 0; c < n_candidates; ++c) {
                float s = 0.0f;
                if (c < current && c < complete)
                    for (int64_t gq = 0; gq < group; ++gq) s += probs_[gq * complete + c];
                importance_[c] = s;
            }
            for (int64_t c : {int64_t{0}, current - 1, current})
                if (c >= 0) importance_[c] = static_cast<float>(group);
            std::iota(order_, order_ + n_candidates, 0);
            // Descending importance, lower block first on ties (a total order, so std::sort
            // gives what a stable sort would, without a temporary buffer).
            std::sort(order_, order_ + n_candidates,
                      [&](int32_t a, int32_t b) { return importance_[a] > importance_[b] || (importance_[a] == importance_[b] && a < b); });
            const int64_t chosen = std::min<int64_t>(selected_, n_candidates);
            std::sort(order_, order_ + chosen);
            int64_t n_keys = 0;
            for (int64_t i = 0; i < chosen; ++i)
                for (int64_t j = order_[i] * bs; j < std::min((order_[i] + 1) * bs, pos + 1); ++j) slots_[n_keys++] = static_cast<int32_t>(j);
            attend(q, keys_ + h * capacity_ * hd, values_ + h * capacity_ * hd, slots_, n_keys, scale, nullptr);
            accumulate(out, branch_, g, 1, group, hd);
            // Sliding-window branch (gate 2).
            if (layer_.window_size > 0) {
                const int64_t lo = std::max<int64_t>(0, pos - layer_.window_size + 1);
                n_keys = 0;
                for (int64_t j = lo; j <= pos; ++j) slots_[n_keys++] = static_cast<int32_t>(j);
                attend(q, keys_ + h * capacity_ * hd, values_ + h * capacity_ * hd, slots_, n_keys, scale, nullptr);
                accumulate(out, branch_, g, 2, group, hd);
            }
        }
    }

    // branch_ = attention of the KV head's query group over the listed rows of keys/values
    // (all rows 0..n_keys-1 when slots is null); probabilities to `probs` when given.
    void attend(const float* q, const float* keys, const float* values, const int32_t* slots, int64_t n_keys, float scale,
                float* probs) {
        const int64_t hd = layer_.head_dim, group = layer_.n_heads / layer_.n_kv_heads;
        cpu::IndexedAttentionArgs a;
        a.q = q;
        a.q_head_stride = hd;
        a.n_q_heads = group;
        a.kv = {keys, hd, values, hd, hd, hd};
        a.slots = slots;
        a.n_keys = n_keys;
        a.scale = scale;
        a.out = branch_;
        a.out_head_stride = hd;
        a.probs = probs;
        a.probs_head_stride = n_keys;
        cpu::attention_indexed(a);
    }

    static void accumulate(float* out, const float* branch, const float* gates, int which, int64_t group, int64_t hd) {
        for (int64_t gq = 0; gq < group; ++gq) {
            const float w = gates[gq * 3 + which];
            for (int64_t i = 0; i < hd; ++i) out[gq * hd + i] += w * branch[gq * hd + i];
        }
    }

    const LayerConfig& layer_;
    int64_t capacity_;
    int32_t selected_;
    int64_t n_blocks_ = 0;
    Linear q_proj_, k_proj_, v_proj_, g_proj_, o_proj_;
    float *keys_ = nullptr, *values_ = nullptr, *block_keys_ = nullptr, *block_values_ = nullptr;
    int64_t* count_ = nullptr;
    float *q_ = nullptr, *k_ = nullptr, *v_ = nullptr, *gates_ = nullptr, *out_ = nullptr, *branch_ = nullptr, *probs_ = nullptr,
          *importance_ = nullptr;
    int32_t *order_ = nullptr, *slots_ = nullptr;
    uint64_t state_bytes_ = 0;
};

mnemo_status nsa_check(const LayerConfig& l, int32_t index, const SessionOptions& o) {
    if (o.max_context <= 0)
        return failf(MNEMO_ERR_UNBOUNDED, "layer %d (nsa) keeps every key and value: set max_context to bound the session", index);
    (void)l;
    return MNEMO_OK;
}

std::unique_ptr<Mixer> nsa_create(const ModelImpl& model, int32_t index, const SessionOptions& o) {
    return std::make_unique<NsaMixer>(model, index, o);
}

}  // namespace

const MixerModule kNsaMixer = {MNEMO_MIXER_NSA, "nsa", nsa_tensor_specs, nsa_check, nsa_create};

}  // namespace mnemo
