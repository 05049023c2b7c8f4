// The interface every token mixer implements, once, in its own module
// (mixers/<kind>.cpp). Code outside a mixer's module asks it through this table
// instead of branching on the mixer kind (DESIGN §3).
#pragma once

#include "../model_config.h"

#include <string>
#include <vector>

namespace mnemo {

struct TensorSpec {
    std::string name;            // full tensor name, e.g. "model.layers.3.attn.q_proj.weight"
    std::vector<int64_t> shape;  // outermost first
};

struct MixerModule {
    mnemo_mixer_kind kind;
    const char* name;
    // Tensors the layer needs, with their exact shapes. `prefix` is "model.layers.N.attn.".
    void (*tensor_specs)(const ModelConfig& model, const LayerConfig& layer, const std::string& prefix,
                         std::vector<TensorSpec>* out);
};

const MixerModule& mixer_module(mnemo_mixer_kind kind);

// Defined in each mixer's module.
extern const MixerModule kGdnMixer;
extern const MixerModule kAttnMixer;
extern const MixerModule kSwaMixer;
extern const MixerModule kLteMixer;
extern const MixerModule kNsaMixer;

// Shared by the softmax-attention family (attn, swa, lte, nsa): q/k/v/o projections.
void attention_projection_specs(const ModelConfig& model, const LayerConfig& layer, const std::string& prefix,
                                std::vector<TensorSpec>* out);

}  // namespace mnemo
