// Native sparse attention: compressed, selected-block and sliding-window branches
// mixed by per-head gates.
#include "mixer.h"

namespace mnemo {
namespace {

void nsa_tensor_specs(const ModelConfig& m, const LayerConfig& l, const std::string& p, std::vector<TensorSpec>* out) {
    attention_projection_specs(m, l, p, out);
    out->push_back({p + "g_proj.weight", {int64_t{l.n_heads} * 3, m.hidden_size}});
}

}  // namespace

const MixerModule kNsaMixer = {MNEMO_MIXER_NSA, "nsa", nsa_tensor_specs};

}  // namespace mnemo
