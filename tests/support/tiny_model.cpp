#include "tiny_model.h"

#include "gguf.h"
#include "mixers/mixer.h"
#include "model.h"

#include <random>

namespace mnemo::test_support {

ModelConfig tiny_config(const std::string& sparse, int n_layers, bool pure) {
    ModelConfig c;
    c.name = "tiny-" + sparse;
    c.vocab_size = 260;  // 256 bytes + 4 specials (byte offset 4)
    c.hidden_size = 64;
    c.n_layers = n_layers;
    c.intermediate_size = 128;
    c.norm_eps = 1e-6f;
    c.tie_word_embeddings = true;
    c.max_position_embeddings = 512;
    c.bos_token_id = 1;
    c.eos_token_id = 2;
    LayerConfig gdn;
    gdn.mixer = MNEMO_MIXER_GDN;
    gdn.n_heads = gdn.n_kv_heads = 2;
    gdn.head_dim = gdn.head_v_dim = 32;
    gdn.conv_size = 4;
    LayerConfig attn;
    mixer_kind_from_name(sparse == "gdn" ? "attn" : sparse, &attn.mixer);
    attn.n_heads = 4;
    attn.n_kv_heads = 2;
    attn.head_dim = attn.head_v_dim = 16;
    attn.window_size = attn.mixer == MNEMO_MIXER_ATTN ? 0 : 16;
    attn.rope_theta = 10000.0f;
    if (attn.mixer == MNEMO_MIXER_LTE) {
        attn.sink_size = 4;
        attn.buffer_size = 12;
        attn.lte_conv_sizes = {3, 3, 3};
        attn.lte_conv_dilations = {2, 2, 2};
        attn.routing_method = "sigmoid";
        attn.routing_shared = "head";
    }
    if (attn.mixer == MNEMO_MIXER_NSA) {
        attn.block_size = 8;
        attn.block_count = 2;
    }
    for (int i = 0; i < n_layers; ++i) {
        const bool sparse_layer = pure ? sparse != "gdn" : (sparse != "gdn" && i % 2 == 1);
        c.layers.push_back(sparse_layer ? attn : gdn);
    }
    return c;
}

mnemo_status write_tiny_model(const std::string& path, const ModelConfig& config, uint32_t seed) {
    GgufWriter w;
    write_model_config(config, &w);
    w.set("mnemo.tokenizer.kind", GgufValue::make_string("byte"));
    w.set("mnemo.tokenizer.byte.offset", GgufValue::make_u32(4));
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 0.05f);
    const auto specs = model_tensor_specs(config);
    std::vector<std::vector<float>> data(specs.size());
    for (size_t i = 0; i < specs.size(); ++i) {
        size_t n = 1;
        for (auto d : specs[i].shape) n *= static_cast<size_t>(d);
        data[i].resize(n);
        const bool is_norm = specs[i].name.find("norm.weight") != std::string::npos;
        for (auto& x : data[i]) x = is_norm ? 1.0f : normal(rng);
        const mnemo_status s = w.add_tensor(specs[i].name, DType::F32, specs[i].shape, data[i].data(), n * sizeof(float));
        if (s != MNEMO_OK) return s;
    }
    return w.write(path);
}

}  // namespace mnemo::test_support
