// Gated DeltaNet (linear attention): parameters of one layer.
#include "mixer.h"

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

}  // namespace

const MixerModule kGdnMixer = {MNEMO_MIXER_GDN, "gdn", gdn_tensor_specs};

}  // namespace mnemo
