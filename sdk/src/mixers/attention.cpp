// Softmax attention over a bounded or unbounded KV cache: full (attn) and sliding
// window (swa). LTE and NSA reuse the projections.
#include "mixer.h"

namespace mnemo {

void attention_projection_specs(const ModelConfig& m, const LayerConfig& l, const std::string& p, std::vector<TensorSpec>* out) {
    const int64_t d = m.hidden_size, q_dim = int64_t{l.n_heads} * l.head_dim, kv_dim = int64_t{l.n_kv_heads} * l.head_dim;
    out->push_back({p + "q_proj.weight", {q_dim, d}});
    out->push_back({p + "k_proj.weight", {kv_dim, d}});
    out->push_back({p + "v_proj.weight", {kv_dim, d}});
    if (l.qkv_bias) {
        out->push_back({p + "q_proj.bias", {q_dim}});
        out->push_back({p + "k_proj.bias", {kv_dim}});
        out->push_back({p + "v_proj.bias", {kv_dim}});
    }
    out->push_back({p + "o_proj.weight", {d, q_dim}});
}

const MixerModule kAttnMixer = {MNEMO_MIXER_ATTN, "attn", attention_projection_specs};
const MixerModule kSwaMixer = {MNEMO_MIXER_SWA, "swa", attention_projection_specs};

}  // namespace mnemo
