// Tiny random models for tests: a ModelConfig of any mixer mix and a GGUF writer
// that fills every tensor the description needs with seeded random values.
#pragma once

#include "model_config.h"
#include "mnemo/mnemo.h"

#include <string>
#include <vector>

namespace mnemo::test_support {

// Layers alternate gdn with `sparse` (a mixer name) on odd layers, like the paper's
// hybrids; "gdn" gives a pure GDN stack, "attn" with pure=true a Transformer.
ModelConfig tiny_config(const std::string& sparse, int n_layers = 4, bool pure = false);

// Writes a loadable GGUF with byte tokenizer. Returns MNEMO_OK or the writer's status.
mnemo_status write_tiny_model(const std::string& path, const ModelConfig& config, uint32_t seed = 1);

}  // namespace mnemo::test_support
