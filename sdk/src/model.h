// A loaded model: the GGUF file (mapped), its description, its tokenizer and its
// validated tensors. Immutable after load, shareable across threads.
#pragma once

#include "gguf.h"
#include "mixers/mixer.h"
#include "model_config.h"
#include "tokenizer.h"

#include <map>
#include <memory>
#include <string>

namespace mnemo {

struct ModelImpl {
    GgufFile file;
    ModelConfig config;
    std::unique_ptr<Tokenizer> tokenizer;
    std::map<std::string, const GgufTensor*> tensors;
    uint64_t n_params = 0;
    uint64_t weight_bytes = 0;

    const GgufTensor* tensor(const std::string& name) const {
        auto it = tensors.find(name);
        return it == tensors.end() ? nullptr : it->second;
    }
};

// Every tensor the description requires, with its exact shape: embeddings, per-block
// norms and MLP, each mixer's own (from its module), final norm and LM head.
std::vector<TensorSpec> model_tensor_specs(const ModelConfig& config);

mnemo_status load_model(const std::string& path, bool use_mmap, std::unique_ptr<ModelImpl>* out);

}  // namespace mnemo
