// Native sparse attention: compressed, selected-block and sliding-window branches
// mixed by per-head gates.
#include "mixer.h"

#include "../error.h"

namespace mnemo {
namespace {

void nsa_tensor_specs(const ModelConfig& m, const LayerConfig& l, const std::string& p, std::vector<TensorSpec>* out) {
    attention_projection_specs(m, l, p, out);
    out->push_back({p + "g_proj.weight", {int64_t{l.n_heads} * 3, m.hidden_size}});
}

mnemo_status nsa_check(const LayerConfig&, int32_t index, const SessionOptions&) {
    return failf(MNEMO_ERR_UNSUPPORTED, "layer %d is an nsa layer: the CPU runtime does not run native sparse attention yet", index);
}

std::unique_ptr<Mixer> nsa_create(const ModelImpl&, int32_t, const SessionOptions&) { return nullptr; }

}  // namespace

const MixerModule kNsaMixer = {MNEMO_MIXER_NSA, "nsa", nsa_tensor_specs, nsa_check, nsa_create};

}  // namespace mnemo
