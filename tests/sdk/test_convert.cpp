// mnemo convert: Hugging Face layout (paper schema) -> GGUF, every weight type, and
// checkpoints that contradict their config.
#include "convert.h"
#include "cpu/dtype.h"
#include "model.h"
#include "safetensors.h"
#include "tiny_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

using namespace mnemo;
namespace fs = std::filesystem;

namespace {

const char* kHybridLteConfig = R"({
  "model_type": "hybrid_gated_deltanet", "hidden_size": 64, "num_hidden_layers": 4, "num_heads": 2, "head_dim": 32,
  "expand_v": 1, "conv_size": 4, "use_gate": true, "use_short_conv": true, "norm_eps": 1e-6, "vocab_size": 260,
  "tie_word_embeddings": true, "max_position_embeddings": 512, "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "swish",
  "attn": {"attn_type": "lte", "layers": [1, 3], "num_heads": 4, "num_kv_heads": 2, "qkv_bias": false, "window_size": 16,
           "rope_theta": 10000.0, "conv_size": [3, 3, 3], "conv_dilation": [2, 2, 2], "buffer_size": 12, "sink_size": 4,
           "routing_method": "sigmoid", "routing_shared": "head"}
})";

// Writes config.json + model.safetensors for the tiny hybrid; `edit` may alter tensors.
std::string write_hf_dir(const std::string& name, const std::string& config_json,
                         const std::function<void(std::vector<SafeTensorToWrite>&)>& edit = {}) {
    const fs::path dir = fs::path(::testing::TempDir()) / name;
    fs::create_directories(dir);
    std::ofstream(dir / "config.json") << config_json;
    const ModelConfig c = test_support::tiny_config("lte");
    std::mt19937 rng(3);
    std::normal_distribution<float> normal(0.0f, 0.1f);
    std::vector<SafeTensorToWrite> tensors;
    for (const auto& spec : model_tensor_specs(c)) {
        size_t n = 1;
        for (auto d : spec.shape) n *= static_cast<size_t>(d);
        std::vector<float> v(n);
        for (auto& x : v) x = normal(rng);
        SafeTensorToWrite t{spec.name, "F32", spec.shape, {}};
        t.bytes.resize(n * 4);
        std::memcpy(t.bytes.data(), v.data(), n * 4);
        tensors.push_back(std::move(t));
    }
    if (edit) edit(tensors);
    EXPECT_EQ(write_safetensors((dir / "model.safetensors").string(), tensors), MNEMO_OK);
    return dir.string();
}

double max_abs_diff(const GgufTensor& a, const GgufTensor& b) {
    const int64_t row = a.shape.back();
    const int64_t rows = static_cast<int64_t>(a.n_elements) / row;
    std::vector<float> ra(static_cast<size_t>(row)), rb(static_cast<size_t>(row));
    double worst = 0;
    for (int64_t r = 0; r < rows; ++r) {
        cpu::row_to_f32(static_cast<cpu::DType>(a.type), a.data + a.n_bytes / rows * r, ra.data(), row);
        cpu::row_to_f32(static_cast<cpu::DType>(b.type), b.data + b.n_bytes / rows * r, rb.data(), row);
        for (int64_t i = 0; i < row; ++i) worst = std::max(worst, static_cast<double>(std::fabs(ra[i] - rb[i])));
    }
    return worst;
}

}  // namespace

TEST(Convert, HybridLteCheckpointToEveryWeightType) {
    const std::string dir = write_hf_dir("hf_lte", kHybridLteConfig);
    std::map<std::string, std::unique_ptr<ModelImpl>> models;
    for (const char* type : {"f32", "f16", "bf16", "q8_0"}) {
        ConvertOptions o;
        ASSERT_TRUE(parse_weight_type(type, &o.weight_type));
        o.tokenizer = "byte:4";
        size_t calls = 0;
        o.progress = [&](size_t, size_t, const std::string&) { ++calls; };
        ConvertReport report;
        const std::string out = ::testing::TempDir() + "/converted_" + type + ".gguf";
        ASSERT_EQ(convert_hf_directory(dir, out, o, &report), MNEMO_OK) << mnemo_last_error();
        EXPECT_EQ(calls, report.n_tensors);
        ASSERT_EQ(load_model(out, true, &models[type]), MNEMO_OK) << type << ": " << mnemo_last_error();
        const ModelConfig& c = models[type]->config;
        EXPECT_EQ(c.layers[0].mixer, MNEMO_MIXER_GDN);
        EXPECT_EQ(c.layers[1].mixer, MNEMO_MIXER_LTE);
        EXPECT_EQ(c.layers[1].buffer_size, 12);
        EXPECT_EQ(c.layers[1].lte_conv_dilations, (std::vector<int32_t>{2, 2, 2}));
        EXPECT_EQ(c.intermediate_size, 128);
        EXPECT_STREQ(models[type]->tokenizer->kind(), "byte");
    }
    // Matrices are stored in the requested type; vectors stay f32; values within the type's precision.
    const auto& ref = *models["f32"];
    const struct { const char* type; DType dtype; double tol; } cases[] = {
        {"f16", DType::F16, 1e-3}, {"bf16", DType::BF16, 4e-3}, {"q8_0", DType::Q8_0, 4e-3}};
    for (const auto& cs : cases) {
        const ModelImpl& m = *models[cs.type];
        const GgufTensor* q = m.tensor("model.layers.1.attn.q_proj.weight");
        EXPECT_EQ(q->type, cs.dtype);
        EXPECT_EQ(m.tensor("model.layers.0.attn.A_log")->type, DType::F32);
        EXPECT_EQ(m.tensor("model.layers.0.attn.q_conv1d.weight")->type, DType::F32);
        EXPECT_LT(max_abs_diff(*ref.tensor("model.layers.1.attn.q_proj.weight"), *q), cs.tol) << cs.type;
        EXPECT_LT(m.weight_bytes, ref.weight_bytes);
    }
}

TEST(Convert, CheckpointsThatContradictTheirConfigAreRefused) {
    ConvertOptions o;
    ConvertReport r;
    const std::string out = ::testing::TempDir() + "/bad.gguf";
    // Missing tensor.
    auto dir = write_hf_dir("hf_missing", kHybridLteConfig, [](auto& t) {
        t.erase(std::remove_if(t.begin(), t.end(), [](auto& x) { return x.name == "model.layers.1.attn.o_proj.weight"; }), t.end());
    });
    EXPECT_EQ(convert_hf_directory(dir, out, o, &r), MNEMO_ERR_MODEL_INVALID);
    EXPECT_NE(std::string(mnemo_last_error()).find("model.layers.1.attn.o_proj.weight"), std::string::npos);
    // NaN in weights.
    dir = write_hf_dir("hf_nan", kHybridLteConfig, [](auto& t) {
        const float nan = std::nanf("");
        std::memcpy(t[3].bytes.data(), &nan, 4);
    });
    EXPECT_EQ(convert_hf_directory(dir, out, o, &r), MNEMO_ERR_MODEL_INVALID);
    EXPECT_NE(std::string(mnemo_last_error()).find("NaN"), std::string::npos);
    // Config with more heads than the tensors have.
    std::string cfg = kHybridLteConfig;
    cfg.replace(cfg.find("\"num_heads\": 4"), 14, "\"num_heads\": 8");
    dir = write_hf_dir("hf_heads", cfg);
    EXPECT_EQ(convert_hf_directory(dir, out, o, &r), MNEMO_ERR_MODEL_INVALID);
    // Unknown model type and broken JSON.
    cfg = kHybridLteConfig;
    cfg.replace(cfg.find("hybrid_gated_deltanet"), 21, "mamba");
    dir = write_hf_dir("hf_type", cfg);
    EXPECT_EQ(convert_hf_directory(dir, out, o, &r), MNEMO_ERR_UNSUPPORTED);
    dir = write_hf_dir("hf_json", "{ not json");
    EXPECT_EQ(convert_hf_directory(dir, out, o, &r), MNEMO_ERR_CORRUPT);
    EXPECT_EQ(convert_hf_directory("/nonexistent_dir", out, o, &r), MNEMO_ERR_IO);
    EXPECT_FALSE(fs::exists(out));
}

TEST(Convert, ReadsEveryConfigSchemaOfThePaper) {
    // Shapes the converter needs from the checkpoint.
    const std::map<std::string, std::vector<int64_t>> shapes = {{"model.embeddings.weight", {32000, 1024}},
                                                                {"model.layers.0.mlp.gate_proj.weight", {2816, 1024}}};
    struct Case { const char* json; mnemo_mixer_kind odd; mnemo_mixer_kind even; };
    const Case cases[] = {
        {R"({"model_type":"transformer","hidden_size":1024,"num_hidden_layers":24,"num_heads":16,"rope_theta":10000.0,"tie_word_embeddings":true})",
         MNEMO_MIXER_ATTN, MNEMO_MIXER_ATTN},
        {R"({"model_type":"nsa","hidden_size":1024,"num_hidden_layers":24,"num_heads":32,"num_kv_heads":2,"head_dim":64,"block_size":64,"block_counts":16,"window_size":512})",
         MNEMO_MIXER_NSA, MNEMO_MIXER_NSA},
        {R"({"model_type":"gated_deltanet","hidden_size":1024,"num_hidden_layers":24,"num_heads":8,"head_dim":128,"expand_v":1,
             "attn":{"layers":[1,3,5],"num_heads":16,"num_kv_heads":16,"window_size":1024,"rope_theta":10000.0}})",
         MNEMO_MIXER_SWA, MNEMO_MIXER_GDN},
        {R"({"model_type":"hybrid_gated_deltanet","hidden_size":1024,"num_hidden_layers":24,"num_heads":8,"head_dim":128,
             "attn":{"attn_type":"nsa","layers":[1,3],"num_heads":32,"num_kv_heads":2,"head_dim":64,"block_size":64,"block_counts":16,"window_size":512}})",
         MNEMO_MIXER_NSA, MNEMO_MIXER_GDN},
        {R"({"model_type":"hybrid_gated_deltanet","hidden_size":1024,"num_hidden_layers":24,"num_heads":8,"head_dim":128,
             "attn":{"attn_type":"attn","layers":[1,3],"num_heads":16}})",
         MNEMO_MIXER_ATTN, MNEMO_MIXER_GDN},
    };
    for (const auto& cs : cases) {
        ModelConfig c;
        ASSERT_EQ(model_config_from_hf_json(cs.json, "config.json", shapes, &c), MNEMO_OK) << mnemo_last_error();
        EXPECT_EQ(c.n_layers, 24);
        EXPECT_EQ(c.vocab_size, 32000);
        EXPECT_EQ(c.intermediate_size, 2816);
        EXPECT_EQ(c.layers[1].mixer, cs.odd);
        EXPECT_EQ(c.layers[0].mixer, cs.even);
    }
}

// Found by fuzz_hf_config: the converter accepted descriptions that the runtime's
// parse_model_config then refuses (or that hold out-of-range values). Each must be
// refused by the converter itself, naming the field.
TEST(Convert, ConfigsTheRuntimeWouldRefuseAreRefusedAtConversion) {
    const std::map<std::string, std::vector<int64_t>> shapes = {{"model.embeddings.weight", {256, 64}},
                                                                {"model.layers.0.mlp.gate_proj.weight", {256, 64}}};
    const std::string lte = R"({"model_type":"hybrid_gated_deltanet","hidden_size":64,"num_hidden_layers":2,"num_heads":2,"head_dim":16,
        "attn":{"attn_type":"lte","layers":[1],"num_heads":4,"num_kv_heads":2,"window_size":16,"buffer_size":12,"sink_size":4,)";
    struct Case { std::string json; mnemo_status status; const char* names; };
    const Case cases[] = {
        {R"({"model_type":"transformer","hidden_size":64,"num_hidden_layers":1,"num_heads":4,"num_kv_heads":3})",
         MNEMO_ERR_MODEL_INVALID, "num_kv_heads"},
        {R"({"model_type":"transformer","hidden_size":64,"num_hidden_layers":1,"num_heads":128})", MNEMO_ERR_MODEL_INVALID, "head_dim"},
        {lte + R"("routing_method":"softmax"}})", MNEMO_ERR_UNSUPPORTED, "routing_method"},
        {lte + R"("conv_size":0,"conv_dilation":1}})", MNEMO_ERR_MODEL_INVALID, "conv_size"},
        {lte + R"("conv_size":1000000000000,"conv_dilation":1}})", MNEMO_ERR_MODEL_INVALID, "conv_size"},
        {lte + R"("conv_size":[3,64],"conv_dilation":[1,1]}})", MNEMO_ERR_MODEL_INVALID, "conv_size"},
        {R"({"model_type":"gated_deltanet","hidden_size":64,"num_hidden_layers":1,"num_heads":2,"head_dim":4096,"expand_v":4})",
         MNEMO_ERR_MODEL_INVALID, "expand_v"},
    };
    for (const auto& cs : cases) {
        ModelConfig c;
        EXPECT_EQ(model_config_from_hf_json(cs.json, "config.json", shapes, &c), cs.status) << cs.json;
        EXPECT_NE(std::string(mnemo_last_error()).find(cs.names), std::string::npos) << mnemo_last_error();
    }
    // A scalar conv_size in range is still read (the paper writes it either way).
    ModelConfig c;
    ASSERT_EQ(model_config_from_hf_json(lte + R"("conv_size":3,"conv_dilation":2}})", "config.json", shapes, &c), MNEMO_OK)
        << mnemo_last_error();
    EXPECT_EQ(c.layers[1].lte_conv_sizes, std::vector<int32_t>({3}));
    EXPECT_EQ(c.layers[1].lte_conv_dilations, std::vector<int32_t>({2}));
    // Shapes taken from the checkpoint are range-checked too.
    const std::map<std::string, std::vector<int64_t>> empty_vocab = {{"model.embeddings.weight", {0, 64}},
                                                                     {"model.layers.0.mlp.gate_proj.weight", {256, 64}}};
    EXPECT_EQ(model_config_from_hf_json(R"({"model_type":"transformer","hidden_size":64,"num_hidden_layers":1,"num_heads":4})",
                                        "config.json", empty_vocab, &c),
              MNEMO_ERR_MODEL_INVALID);
    EXPECT_NE(std::string(mnemo_last_error()).find("model.embeddings.weight"), std::string::npos) << mnemo_last_error();
}
