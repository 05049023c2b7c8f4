// Hugging Face layout (config.json + *.safetensors, the paper's parameter names) ->
// one self-contained Mnemo GGUF (weights, architecture metadata, tokenizer).
#pragma once

#include "dtype.h"
#include "model_config.h"
#include "mnemo/mnemo.h"

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace mnemo {

struct ConvertOptions {
    DType weight_type = DType::F32;   // for 2-D weight matrices; norms, gates and convs stay f32
    std::string tokenizer;            // "" (use HF_DIR/tokenizer.model if present), a .model path, or "byte[:OFFSET]"
    std::string name;                 // general.name; default: the directory's name
    // Called after each tensor: (tensors done, total, name).
    std::function<void(size_t, size_t, const std::string&)> progress;
};

struct ConvertReport {
    ModelConfig config;
    size_t n_tensors = 0;
    uint64_t n_params = 0;
    uint64_t bytes_written = 0;
    std::vector<std::string> notes;  // e.g. tensors kept in f32 because q8_0 did not fit
};

// Reads the paper's config.json schema (model_type hybrid_gated_deltanet,
// gated_deltanet, transformer or nsa). `tensor_shapes` supplies shapes the config
// leaves implicit (intermediate_size, vocab size).
mnemo_status model_config_from_hf_json(const std::string& json_text, const std::string& label,
                                       const std::map<std::string, std::vector<int64_t>>& tensor_shapes,
                                       ModelConfig* out);

mnemo_status convert_hf_directory(const std::string& hf_dir, const std::string& out_path, const ConvertOptions& options,
                                  ConvertReport* report);

bool parse_weight_type(const std::string& name, DType* out);

}  // namespace mnemo
