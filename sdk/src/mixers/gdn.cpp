// Gated DeltaNet (linear attention): a fixed per-head dk×dv state updated by the gated
// delta rule, fed by short causal convolutions, read out through a gated RMSNorm.
#include "mixer.h"

#include "../model.h"
#include "../runtime/weights.h"
#include "cpu/activation.h"
#include "cpu/gated_delta_rule.h"
#include "cpu/norm.h"
#include "cpu/short_conv.h"

#include <cmath>
#include <cstring>

namespace mnemo {
namespace {

void gdn_tensor_specs(const ModelConfig& m, const LayerConfig& l, const std::string& p, std::vector<TensorSpec>* out) {
    const int64_t d = m.hidden_size, key_dim = int64_t{l.n_heads} * l.head_dim, value_dim = int64_t{l.n_heads} * l.head_v_dim;
    out->push_back({p + "q_proj.weight", {key_dim, d}});
    out->push_back({p + "k_proj.weight", {key_dim, d}});
    out->push_back({p + "v_proj.weight", {value_dim, d}});
    out->push_back({p + "a_proj.weight", {l.n_heads, d}});
    out->push_back({p + "b_proj.weight", {l.n_heads, d}});
    out->push_back({p + "A_log", {l.n_heads}});
    out->push_back({p + "dt_bias", {l.n_heads}});
    if (l.use_short_conv) {
        out->push_back({p + "q_conv1d.weight", {key_dim, 1, l.conv_size}});
        out->push_back({p + "k_conv1d.weight", {key_dim, 1, l.conv_size}});
        out->push_back({p + "v_conv1d.weight", {value_dim, 1, l.conv_size}});
    }
    if (l.use_gate) out->push_back({p + "g_proj.weight", {value_dim, d}});
    out->push_back({p + "o_norm.weight", {l.head_v_dim}});
    out->push_back({p + "o_proj.weight", {d, value_dim}});
}

class GdnMixer final : public Mixer {
public:
    GdnMixer(const ModelImpl& model, int32_t index)
        : layer_(model.config.layers[static_cast<size_t>(index)]), norm_eps_(model.config.norm_eps) {
        const std::string p = layer_prefix(index);
        q_proj_ = linear_weight(model, p + "q_proj.weight");
        k_proj_ = linear_weight(model, p + "k_proj.weight");
        v_proj_ = linear_weight(model, p + "v_proj.weight");
        a_proj_ = linear_weight(model, p + "a_proj.weight");
        b_proj_ = linear_weight(model, p + "b_proj.weight");
        o_proj_ = linear_weight(model, p + "o_proj.weight");
        if (layer_.use_gate) g_proj_ = linear_weight(model, p + "g_proj.weight");
        a_log_ = f32_tensor(model, p + "A_log");
        dt_bias_ = f32_tensor(model, p + "dt_bias");
        o_norm_ = f32_tensor(model, p + "o_norm.weight");
        if (layer_.use_short_conv) {
            conv_q_ = f32_tensor(model, p + "q_conv1d.weight");
            conv_k_ = f32_tensor(model, p + "k_conv1d.weight");
            conv_v_ = f32_tensor(model, p + "v_conv1d.weight");
        }
        key_dim_ = int64_t{layer_.n_heads} * layer_.head_dim;
        value_dim_ = int64_t{layer_.n_heads} * layer_.head_v_dim;
    }

    void layout(ArenaLayout& state, ArenaLayout& scratch, int64_t T) override {
        const int64_t H = layer_.n_heads;
        const uint64_t state_begin = state.bytes();
        state_ = state.take<float>(static_cast<uint64_t>(H * layer_.head_dim * layer_.head_v_dim));
        if (layer_.use_short_conv) {
            const int64_t tail = layer_.conv_size - 1;
            tail_q_ = state.take<float>(static_cast<uint64_t>(tail * key_dim_));
            tail_k_ = state.take<float>(static_cast<uint64_t>(tail * key_dim_));
            tail_v_ = state.take<float>(static_cast<uint64_t>(tail * value_dim_));
        }
        raw_ = scratch.take<float>(static_cast<uint64_t>(T * std::max(key_dim_, value_dim_)));
        q_ = scratch.take<float>(static_cast<uint64_t>(T * key_dim_));
        k_ = scratch.take<float>(static_cast<uint64_t>(T * key_dim_));
        v_ = scratch.take<float>(static_cast<uint64_t>(T * value_dim_));
        gate_ = scratch.take<float>(static_cast<uint64_t>(T * value_dim_));
        o_ = scratch.take<float>(static_cast<uint64_t>(T * value_dim_));
        a_ = scratch.take<float>(static_cast<uint64_t>(T * H));
        b_ = scratch.take<float>(static_cast<uint64_t>(T * H));
        state_bytes_ = state.bytes() - state_begin;
    }

    void reset() override {
        const int64_t H = layer_.n_heads;
        std::memset(state_, 0, static_cast<size_t>(H * layer_.head_dim * layer_.head_v_dim) * sizeof(float));
        if (layer_.use_short_conv) {
            const int64_t tail = layer_.conv_size - 1;
            std::memset(tail_q_, 0, static_cast<size_t>(tail * key_dim_) * sizeof(float));
            std::memset(tail_k_, 0, static_cast<size_t>(tail * key_dim_) * sizeof(float));
            std::memset(tail_v_, 0, static_cast<size_t>(tail * value_dim_) * sizeof(float));
        }
    }

    void forward(const ForwardContext& ctx, const float* x, float* y) override {
        const int64_t T = ctx.n_tokens, H = layer_.n_heads, dk = layer_.head_dim, dv = layer_.head_v_dim;
        project_conv(ctx, q_proj_, conv_q_, tail_q_, x, q_, key_dim_);
        project_conv(ctx, k_proj_, conv_k_, tail_k_, x, k_, key_dim_);
        project_conv(ctx, v_proj_, conv_v_, tail_v_, x, v_, value_dim_);
        cpu::l2_norm({q_, dk, q_, dk, T * H, dk}, 1e-6f, ctx.pool);
        cpu::l2_norm({k_, dk, k_, dk, T * H, dk}, 1e-6f, ctx.pool);
        // beta = sigmoid(b_proj x); g = −exp(A_log) · softplus(a_proj x + dt_bias)
        apply_linear(b_proj_, x, T, b_, ctx.pool);
        cpu::sigmoid(b_, b_, T * H);
        apply_linear(a_proj_, x, T, a_, ctx.pool);
        for (int64_t t = 0; t < T; ++t)
            for (int64_t h = 0; h < H; ++h) a_[t * H + h] += dt_bias_[h];
        cpu::softplus(a_, a_, T * H);
        for (int64_t t = 0; t < T; ++t)
            for (int64_t h = 0; h < H; ++h) a_[t * H + h] *= -std::exp(a_log_[h]);
        cpu::GatedDeltaRuleArgs g;
        g.n_tokens = T;
        g.n_qk_heads = g.n_v_heads = H;
        g.key_dim = dk;
        g.value_dim = dv;
        g.q = q_;
        g.k = k_;
        g.qk_stride = key_dim_;
        g.v = v_;
        g.v_stride = value_dim_;
        g.g = a_;
        g.beta = b_;
        g.gate_stride = H;
        g.scale = 1.0f / std::sqrt(static_cast<float>(dk));
        g.state = state_;
        g.out = o_;
        g.out_stride = value_dim_;
        if (T >= cpu::kGatedDeltaChunk) cpu::gated_delta_rule_chunked(g, ctx.pool);
        else cpu::gated_delta_rule_step(g, ctx.pool);
        if (layer_.use_gate) {
            apply_linear(g_proj_, x, T, gate_, ctx.pool);
            cpu::rms_norm_gated({o_, dv, o_, dv, T * H, dv}, gate_, dv, o_norm_, norm_eps_, ctx.pool);
        } else {
            cpu::rms_norm({o_, dv, o_, dv, T * H, dv}, o_norm_, norm_eps_, ctx.pool);
        }
        apply_linear(o_proj_, o_, T, y, ctx.pool);
    }

    // Matrices and conv tails only: no bookkeeping to contradict the position.
    bool state_consistent(int64_t, std::string*) const override { return true; }
    uint64_t state_bytes_used() const override { return state_bytes_; }
    MixerStateMap state_map() const override {
        MixerStateMap m;
        m.recurrent = state_;
        m.conv_tails[0] = tail_q_;
        m.conv_tails[1] = tail_k_;
        m.conv_tails[2] = tail_v_;
        return m;
    }

private:
    // out = silu(conv(proj(x))) with the carried tail, or silu(proj(x)) without conv.
    void project_conv(const ForwardContext& ctx, const Linear& proj, const float* conv, float* tail, const float* x, float* out,
                      int64_t channels) {
        const int64_t T = ctx.n_tokens;
        if (!layer_.use_short_conv) {
            apply_linear(proj, x, T, out, ctx.pool);
            cpu::silu(out, out, T * channels);
            return;
        }
        apply_linear(proj, x, T, raw_, ctx.pool);
        cpu::ShortConvArgs c;
        c.x = raw_;
        c.x_stride = channels;
        c.y = out;
        c.y_stride = channels;
        c.n_tokens = T;
        c.n_channels = channels;
        c.kernel_size = layer_.conv_size;
        c.weight = conv;
        c.tail = tail;
        c.silu = true;
        cpu::short_conv(c, ctx.pool);
    }

    const LayerConfig& layer_;
    float norm_eps_;
    int64_t key_dim_ = 0, value_dim_ = 0;
    Linear q_proj_, k_proj_, v_proj_, a_proj_, b_proj_, g_proj_, o_proj_;
    const float *a_log_ = nullptr, *dt_bias_ = nullptr, *o_norm_ = nullptr;
    const float *conv_q_ = nullptr, *conv_k_ = nullptr, *conv_v_ = nullptr;
    float* state_ = nullptr;
    float *tail_q_ = nullptr, *tail_k_ = nullptr, *tail_v_ = nullptr;
    float *raw_ = nullptr, *q_ = nullptr, *k_ = nullptr, *v_ = nullptr, *gate_ = nullptr, *o_ = nullptr, *a_ = nullptr,
          *b_ = nullptr;
    uint64_t state_bytes_ = 0;
};

mnemo_status gdn_check(const LayerConfig&, int32_t, const SessionOptions&) { return MNEMO_OK; }

std::unique_ptr<Mixer> gdn_create(const ModelImpl& model, int32_t index, const SessionOptions&) {
    return std::make_unique<GdnMixer>(model, index);
}

}  // namespace

const MixerModule kGdnMixer = {MNEMO_MIXER_GDN, "gdn", gdn_tensor_specs, gdn_check, gdn_create};

}  // namespace mnemo
