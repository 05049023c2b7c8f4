// Models for `mnemo bench`: synthetic shapes with random weights (the bundled model's
// shape and the paper's 0.4B / 1.4B shapes, any mixer layout), written as Mnemo GGUF
// files, and the export of a Mnemo Transformer to llama.cpp's "llama" architecture so the
// peer runs the very same weights.
#pragma once

#include "dtype.h"
#include "model_config.h"
#include "mnemo/mnemo.h"

#include <functional>
#include <string>
#include <vector>

namespace mnemo::cli::bench {

// "default" (models/lalte-18m), "paper-0.4b", "paper-1.4b".
const std::vector<std::string>& shape_names();
// "lte" (GDN + laLTE, the paper's laLTE), "gdn", "swa", "attn", "nsa" (GDN + that mixer
// on odd layers, the paper's hybrids), "transformer" (attn on every layer), "nsa-only".
const std::vector<std::string>& mixer_names();

// The description of `shape` with `mixer`'s layer layout. False (with *error) for unknown names.
bool synthetic_config(const std::string& shape, const std::string& mixer, ModelConfig* out, std::string* error);

// Writes `config` as a Mnemo GGUF with seeded random weights: matrices in `type` (where
// their rows fit its blocks, as `mnemo convert` stores them), vectors and convolutions in
// f32, norms 1, a byte tokenizer. `progress(done, total)` is called per tensor.
mnemo_status write_random_model(const std::string& path, const ModelConfig& config, DType type, uint32_t seed,
                                const std::function<void(size_t, size_t)>& progress = {});

// Writes the Mnemo GGUF at `mnemo_path`, which must be a Transformer (attn on every layer,
// no qkv bias), as a llama.cpp "llama" GGUF holding the same tensor bytes: the same
// weights, shapes and types; no tokenizer ("none", vocabulary size only). RoPE differs
// (llama.cpp's "llama" is the interleaved form, Mnemo's the rotate-half form): same cost.
mnemo_status export_llama_gguf(const std::string& mnemo_path, const std::string& out_path);

}  // namespace mnemo::cli::bench
