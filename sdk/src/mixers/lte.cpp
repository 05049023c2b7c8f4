// laLTE: sliding-window attention + attention sink + a learned retention scorer
// (a small per-head CNN over [k, v]) deciding which tokens leaving the window stay.
#include "mixer.h"

namespace mnemo {
namespace {

void lte_tensor_specs(const ModelConfig& m, const LayerConfig& l, const std::string& p, std::vector<TensorSpec>* out) {
    attention_projection_specs(m, l, p, out);
    // Per-head routing groups the channels of all KV heads; per-layer routing runs
    // one shared stack over each head's [k, v].
    const int64_t groups = l.routing_shared == "head" ? l.n_kv_heads : 1;
    int64_t channels = 2 * int64_t{l.head_dim} * groups;
    for (size_t i = 0; i < l.lte_conv_sizes.size(); ++i) {
        const std::string c = p + "router.conv_stack.convs." + std::to_string(i) + ".";
        out->push_back({c + "weight", {channels / 2, channels / groups, 1, l.lte_conv_sizes[i]}});
        out->push_back({c + "bias", {channels / 2}});
        channels /= 2;
    }
    out->push_back({p + "router.conv_stack.proj.weight", {groups, channels / groups, 1, 1}});
    out->push_back({p + "router.conv_stack.proj.bias", {groups}});
}

}  // namespace

const MixerModule kLteMixer = {MNEMO_MIXER_LTE, "lte", lte_tensor_specs};

}  // namespace mnemo
