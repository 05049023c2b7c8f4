// fuzz_hf_config: the input is the text of a Hugging Face config.json (the paper's
// schema), read by model_config_from_hf_json with a fixed, plausible checkpoint
// (the golden models' shapes: 256 x 64 embeddings, 256 x 64 MLP gate).
//
// Beyond "no crash", one invariant: a description the converter accepts must be one
// the runtime accepts. Each accepted config is written as GGUF metadata
// (write_model_config, the converter's own writer), parsed back with
// parse_model_config, and must come back field for field.
#include "convert.h"
#include "fuzz_util.h"
#include "gguf.h"
#include "model_config.h"

#include <string>

using namespace mnemo;

namespace {

const std::map<std::string, std::vector<int64_t>>& checkpoint_shapes() {
    static const std::map<std::string, std::vector<int64_t>> shapes = {
        {"model.embeddings.weight", {256, 64}},
        {"model.layers.0.mlp.gate_proj.weight", {256, 64}},
        {"model.layers.0.mlp.up_proj.weight", {256, 64}},
        {"model.layers.0.mlp.down_proj.weight", {64, 256}},
        {"model.norm.weight", {64}},
    };
    return shapes;
}

#define SAME(field) FUZZ_CHECK(a.field == b.field, "round trip changed %s%s", where.c_str(), #field)

void check_same_layer(const LayerConfig& a, const LayerConfig& b, const std::string& where) {
    SAME(mixer); SAME(n_heads); SAME(n_kv_heads); SAME(head_dim); SAME(head_v_dim); SAME(qkv_bias); SAME(rope_theta);
    SAME(window_size); SAME(sink_size); SAME(buffer_size); SAME(lte_conv_sizes); SAME(lte_conv_dilations);
    SAME(routing_method); SAME(routing_shared); SAME(block_size); SAME(block_count); SAME(conv_size); SAME(use_gate);
    SAME(use_short_conv);
}

void check_same(const ModelConfig& a, const ModelConfig& b) {
    const std::string where;
    SAME(name); SAME(vocab_size); SAME(hidden_size); SAME(n_layers); SAME(intermediate_size); SAME(norm_eps);
    SAME(tie_word_embeddings); SAME(max_position_embeddings); SAME(bos_token_id); SAME(eos_token_id);
    SAME(layers.size());
    for (size_t i = 0; i < a.layers.size(); ++i) check_same_layer(a.layers[i], b.layers[i], "layer " + std::to_string(i) + ": ");
}

#undef SAME

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    ModelConfig config;
    const mnemo_status s = model_config_from_hf_json(text, "fuzz/config.json", checkpoint_shapes(), &config);
    FUZZ_CHECK(fuzz::is_verdict(s), "model_config_from_hf_json returned %d", s);
    if (s != MNEMO_OK) return 0;

    config.name = "fuzz";
    GgufWriter writer;
    write_model_config(config, &writer);
    const std::string path = fuzz::scratch_dir() + "/config.gguf";
    FUZZ_CHECK(writer.write(path) == MNEMO_OK, "cannot write the round-trip file");
    GgufFile file;
    FUZZ_CHECK(file.open(path, false) == MNEMO_OK, "the converter's metadata is not a valid GGUF");
    ModelConfig back;
    const mnemo_status ps = parse_model_config(file, &back);
    FUZZ_CHECK(ps == MNEMO_OK, "the converter accepted a config.json whose description the runtime refuses");
    check_same(config, back);
    return 0;
}
