// The model description: the single source of truth (DESIGN §3) for loading, the
// memory plan, the kernels chosen and the probes shown. Parsed from GGUF metadata
// (docs/format.md); written by `mnemo convert` from a Hugging Face config.json.
#pragma once

#include "gguf.h"
#include "mnemo/mnemo.h"

#include <string>
#include <vector>

namespace mnemo {

struct LayerConfig {
    mnemo_mixer_kind mixer = MNEMO_MIXER_GDN;
    // Attention-family and GDN heads.
    int32_t n_heads = 0;
    int32_t n_kv_heads = 0;
    int32_t head_dim = 0;
    int32_t head_v_dim = 0;
    bool qkv_bias = false;
    float rope_theta = 10000.0f;
    // swa / lte / nsa: the paper's window_size, read by each mixer as the paper does
    // (SWA: tokens seen incl. the current one; LTE: past tokens besides the current one).
    int32_t window_size = 0;
    // lte
    int32_t sink_size = 0;
    int32_t buffer_size = 0;  // retained capacity including the sink (the paper's buffer_size)
    std::vector<int32_t> lte_conv_sizes;
    std::vector<int32_t> lte_conv_dilations;
    std::string routing_method;  // "sigmoid" | "relu"
    std::string routing_shared;  // "head" | "layer"
    // nsa
    int32_t block_size = 0;
    int32_t block_count = 0;
    // gdn
    int32_t conv_size = 0;
    bool use_gate = true;
    bool use_short_conv = true;
};

struct ModelConfig {
    std::string name;
    int32_t vocab_size = 0;
    int32_t hidden_size = 0;
    int32_t n_layers = 0;
    int32_t intermediate_size = 0;
    float norm_eps = 1e-6f;
    bool tie_word_embeddings = true;
    int32_t max_position_embeddings = 0;
    int32_t bos_token_id = -1;
    int32_t eos_token_id = -1;
    std::vector<LayerConfig> layers;

    bool bounded() const;
};

// Reads and validates the description from GGUF metadata. Messages name the key.
mnemo_status parse_model_config(const GgufFile& file, ModelConfig* out);

// Writes the description as GGUF metadata (the inverse of parse_model_config).
void write_model_config(const ModelConfig& config, GgufWriter* writer);

// Name <-> kind for mixer strings in files.
bool mixer_kind_from_name(const std::string& name, mnemo_mixer_kind* out);

}  // namespace mnemo
