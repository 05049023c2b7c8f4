// Models through the public API: loading every mixer kind, info, tokenizer,
// sessions, and models whose metadata contradicts their tensors.
#include "gguf.h"
#include "mixers/mixer.h"
#include "model.h"
#include "tiny_model.h"

#include "mnemo/mnemo.hpp"

#include <gtest/gtest.h>

#include <cstring>

using mnemo::test_support::tiny_config;
using mnemo::test_support::write_tiny_model;

namespace {

std::string model_path(const std::string& name) { return ::testing::TempDir() + "/" + name + ".gguf"; }

}  // namespace

class EveryMixer : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryMixer, LoadsAndDescribesItself) {
    const std::string kind = GetParam();
    const mnemo::ModelConfig config = tiny_config(kind);
    const std::string path = model_path("tiny_" + kind);
    ASSERT_EQ(write_tiny_model(path, config), MNEMO_OK) << mnemo_last_error();

    mnemo::Model model(path);
    const mnemo_model_info info = model.info();
    EXPECT_EQ(info.vocab_size, 260);
    EXPECT_EQ(info.n_layers, 4);
    EXPECT_EQ(info.hidden_size, 64);
    EXPECT_STREQ(info.architecture, "mnemo-hybrid");
    EXPECT_EQ(info.bounded, (kind == "attn" || kind == "nsa") ? 0 : 1);
    EXPECT_GT(info.n_params, 0u);
    for (int i = 0; i < 4; ++i) {
        const mnemo_layer_info l = model.layer(i);
        const std::string expected = (kind == "gdn" || i % 2 == 0) ? "gdn" : kind;
        EXPECT_EQ(std::string(mnemo_mixer_kind_name(l.mixer)), expected) << "layer " << i;
    }
    if (kind == "lte") {
        const mnemo_layer_info l = model.layer(1);
        EXPECT_EQ(l.sink_size, 4);
        EXPECT_EQ(l.buffer_size, 12);
        EXPECT_EQ(l.window_size, 16);
    }
    try {
        model.layer(4);
        FAIL() << "layer 4 of 4 must be out of range";
    } catch (const mnemo::Error& e) {
        EXPECT_EQ(e.status(), MNEMO_ERR_OUT_OF_RANGE);
    }
}

INSTANTIATE_TEST_SUITE_P(Mixers, EveryMixer, ::testing::Values("gdn", "swa", "lte", "nsa", "attn"));

TEST(ModelApi, TokenizeDetokenizeRoundTrip) {
    const std::string path = model_path("tok");
    ASSERT_EQ(write_tiny_model(path, tiny_config("lte")), MNEMO_OK);
    mnemo::Model model(path);
    const auto ids = model.tokenize("hello, world", true);
    ASSERT_EQ(ids.size(), 13u);
    EXPECT_EQ(ids[0], 1);  // BOS
    EXPECT_EQ(ids[1], 'h' + 4);
    EXPECT_EQ(model.detokenize(ids), "hello, world");

    size_t n = 0;
    int32_t small[2];
    EXPECT_EQ(mnemo_tokenize(model.get(), "abc", 3, 0, small, 2, &n), MNEMO_ERR_BUFFER_TOO_SMALL);
    EXPECT_EQ(n, 3u);
    const int32_t bad[] = {5, 999};
    char text[16];
    EXPECT_EQ(mnemo_detokenize(model.get(), bad, 2, text, sizeof text, &n), MNEMO_ERR_OUT_OF_RANGE);
    EXPECT_NE(std::string(mnemo_last_error()).find("999"), std::string::npos);
}

TEST(ModelApi, SessionsNeedABoundForUnboundedModels) {
    const std::string path = model_path("attn_session");
    ASSERT_EQ(write_tiny_model(path, tiny_config("attn")), MNEMO_OK);
    mnemo::Model model(path);
    mnemo_session* s = nullptr;
    EXPECT_EQ(mnemo_session_create(model.get(), nullptr, &s), MNEMO_ERR_UNBOUNDED);
    EXPECT_EQ(s, nullptr);
    EXPECT_NE(std::string(mnemo_last_error()).find("max_context"), std::string::npos);
    mnemo_session_params p = mnemo_session_default_params();
    p.max_context = 1024;
    mnemo::Session session(model, p);
    EXPECT_EQ(session.position(), 0);
}

TEST(ModelApi, NullAndBadArgumentsAreValues) {
    mnemo_model* m = nullptr;
    EXPECT_EQ(mnemo_model_load(nullptr, nullptr, &m), MNEMO_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(mnemo_model_load("x.gguf", nullptr, nullptr), MNEMO_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(mnemo_model_load("/nonexistent.gguf", nullptr, &m), MNEMO_ERR_IO);
    mnemo_model_params bad = mnemo_model_default_params();
    bad.struct_size = 1;
    EXPECT_EQ(mnemo_model_load("/nonexistent.gguf", &bad, &m), MNEMO_ERR_INVALID_ARGUMENT);
    mnemo_model_info info;
    info.struct_size = sizeof info;
    EXPECT_EQ(mnemo_model_get_info(nullptr, &info), MNEMO_ERR_INVALID_ARGUMENT);
    size_t n = 0;
    EXPECT_EQ(mnemo_tokenize(nullptr, "a", 1, 0, nullptr, 0, &n), MNEMO_ERR_INVALID_ARGUMENT);
    mnemo_model_free(nullptr);
    mnemo_session_free(nullptr);
}

TEST(ModelApi, OlderCallersSmallerInfoStructIsNotOverrun) {
    const std::string path = model_path("abi");
    ASSERT_EQ(write_tiny_model(path, tiny_config("gdn")), MNEMO_OK);
    mnemo::Model model(path);
    // A caller compiled against a header whose info struct ended after n_layers.
    struct {
        mnemo_model_info prefix;
        unsigned char guard[64];
    } buf;
    std::memset(&buf, 0xAB, sizeof buf);
    buf.prefix.struct_size = offsetof(mnemo_model_info, hidden_size);
    ASSERT_EQ(mnemo_model_get_info(model.get(), &buf.prefix), MNEMO_OK);
    EXPECT_EQ(buf.prefix.n_layers, 4);
    const auto* raw = reinterpret_cast<const unsigned char*>(&buf.prefix);
    for (size_t i = offsetof(mnemo_model_info, hidden_size); i < sizeof buf.prefix; ++i) EXPECT_EQ(raw[i], 0xAB) << i;
}

// Rewrites a valid tiny model with one change, to check each contradiction.
namespace {

mnemo_status load_modified(const std::string& name, const std::function<void(mnemo::ModelConfig&)>& edit_config,
                           const std::function<void(std::vector<mnemo::TensorSpec>&)>& edit_specs, std::string* message) {
    mnemo::ModelConfig c = tiny_config("lte");
    std::vector<mnemo::TensorSpec> specs = mnemo::model_tensor_specs(c);
    edit_config(c);
    edit_specs(specs);
    mnemo::GgufWriter w;
    mnemo::write_model_config(c, &w);
    std::vector<std::vector<float>> data;
    for (auto& s : specs) {
        size_t n = 1;
        for (auto d : s.shape) n *= static_cast<size_t>(d);
        data.emplace_back(n, 0.01f);
        if (w.add_tensor(s.name, mnemo::DType::F32, s.shape, data.back().data(), n * 4) != MNEMO_OK) return MNEMO_ERR_INTERNAL;
    }
    const std::string path = model_path(name);
    if (w.write(path) != MNEMO_OK) return MNEMO_ERR_INTERNAL;
    mnemo_model* m = nullptr;
    const mnemo_status s = mnemo_model_load(path.c_str(), nullptr, &m);
    *message = mnemo_last_error();
    mnemo_model_free(m);
    return s;
}

}  // namespace

TEST(ModelApi, MetadataContradictingTensorsIsModelInvalid) {
    std::string msg;
    // Config says 8 heads on layer 1 but q_proj was written for 4.
    EXPECT_EQ(load_modified("heads", [](auto& c) { c.layers[1].n_heads = 8; }, [](auto&) {}, &msg), MNEMO_ERR_MODEL_INVALID);
    EXPECT_NE(msg.find("model.layers.1.attn.q_proj.weight"), std::string::npos) << msg;
    // A required tensor is missing.
    EXPECT_EQ(load_modified("missing", [](auto&) {}, [](auto& s) { s.pop_back(); }, &msg), MNEMO_ERR_MODEL_INVALID);
    EXPECT_NE(msg.find("model.norm.weight"), std::string::npos) << msg;
    // An extra tensor the description does not know.
    EXPECT_EQ(load_modified("extra", [](auto&) {}, [](auto& s) { s.push_back({"model.bogus.weight", {4}}); }, &msg),
              MNEMO_ERR_MODEL_INVALID);
    EXPECT_NE(msg.find("model.bogus.weight"), std::string::npos) << msg;
    // Buffer smaller than the sink.
    EXPECT_EQ(load_modified("buffer", [](auto& c) { c.layers[1].buffer_size = 2; }, [](auto&) {}, &msg), MNEMO_ERR_MODEL_INVALID);
    EXPECT_NE(msg.find("buffer_size"), std::string::npos) << msg;
    // Heads not divisible by KV heads.
    EXPECT_EQ(load_modified("gqa", [](auto& c) { c.layers[1].n_kv_heads = 3; }, [](auto&) {}, &msg), MNEMO_ERR_MODEL_INVALID);
    // BOS id outside the vocabulary.
    EXPECT_EQ(load_modified("bos", [](auto& c) { c.bos_token_id = 5000; }, [](auto&) {}, &msg), MNEMO_ERR_MODEL_INVALID);
    EXPECT_NE(msg.find("mnemo.bos_token_id"), std::string::npos) << msg;
}

TEST(ModelApi, NonMnemoArchitectureIsUnsupported) {
    mnemo::GgufWriter w;
    w.set("general.architecture", mnemo::GgufValue::make_string("llama"));
    const std::string path = model_path("llama");
    ASSERT_EQ(w.write(path), MNEMO_OK);
    mnemo_model* m = nullptr;
    EXPECT_EQ(mnemo_model_load(path.c_str(), nullptr, &m), MNEMO_ERR_UNSUPPORTED);
    EXPECT_NE(std::string(mnemo_last_error()).find("llama"), std::string::npos);
}

TEST(ModelApi, VersionMatchesHeader) {
    EXPECT_EQ(mnemo_version(), MNEMO_VERSION);
    EXPECT_STREQ(mnemo_version_string(), MNEMO_VERSION_STRING);
    EXPECT_STREQ(mnemo_status_name(MNEMO_ERR_BUDGET), "MNEMO_ERR_BUDGET");
}
