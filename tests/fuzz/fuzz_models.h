// The tiny test models the snapshot and API-sequence fuzz targets run on, and the
// session parameters their seeds were made with. fuzz_make_seeds writes the seeds with
// the same models (tests/support/tiny_model.cpp, seeded, so the bytes and the model
// hash are the same in every build), which is what makes the seed snapshots restorable.
#pragma once

#include "fuzz_util.h"
#include "tiny_model.h"

#include <array>
#include <string>

namespace mnemo::fuzz {

// Two layers each (gdn + the sparse mixer, as in the paper's hybrids): big enough to
// have every kind of state, small enough for thousands of runs a second.
inline constexpr std::array<const char*, 4> kTinyKinds = {"lte", "swa", "attn", "nsa"};
inline constexpr int kTinyLayers = 2;

inline ModelConfig tiny_fuzz_config(size_t kind) { return test_support::tiny_config(kTinyKinds[kind % kTinyKinds.size()], kTinyLayers); }

// Writes the model of `kind` to `path` (tests/support's writer, seed 1).
inline mnemo_status write_tiny_fuzz_model(size_t kind, const std::string& path) {
    return test_support::write_tiny_model(path, tiny_fuzz_config(kind), 1);
}

// The models, loaded once per process from a scratch directory.
struct TinyModels {
    std::array<mnemo_model*, kTinyKinds.size()> model{};
    std::array<uint64_t, kTinyKinds.size()> hash{};
    std::array<int32_t, kTinyKinds.size()> vocab{};
};

inline const TinyModels& tiny_models() {
    static const TinyModels models = [] {
        TinyModels m;
        for (size_t k = 0; k < kTinyKinds.size(); ++k) {
            const std::string path = scratch_dir() + "/tiny_" + kTinyKinds[k] + ".gguf";
            FUZZ_CHECK(write_tiny_fuzz_model(k, path) == MNEMO_OK, "cannot write the tiny %s model", kTinyKinds[k]);
            FUZZ_CHECK(mnemo_model_load(path.c_str(), nullptr, &m.model[k]) == MNEMO_OK, "cannot load the tiny %s model", kTinyKinds[k]);
            FUZZ_CHECK(mnemo_model_hash(m.model[k], &m.hash[k]) == MNEMO_OK, "model hash");
            mnemo_model_info info{};
            info.struct_size = sizeof info;
            FUZZ_CHECK(mnemo_model_get_info(m.model[k], &info) == MNEMO_OK, "model info");
            m.vocab[k] = info.vocab_size;
        }
        return m;
    }();
    return models;
}

// Session parameters for the seeds of model `kind`, variant `v` (attn and nsa need
// max_context or a policy; attn's variants cover every training-free policy).
inline mnemo_session_params seed_session_params(size_t kind, int v) {
    mnemo_session_params p = mnemo_session_default_params();
    p.n_threads = 1;
    p.chunk_tokens = 16;
    const std::string k = kTinyKinds[kind % kTinyKinds.size()];
    if (k == "nsa") p.max_context = 48;
    if (k == "attn") {
        p.max_context = v == 0 ? 48 : 0;
        if (v > 0) {
            p.policy = static_cast<mnemo_policy>(v);  // STREAMING, H2O, TOVA, SNAPKV
            p.policy_budget = 8;
            p.policy_sink = 2;
        }
    }
    return p;
}
inline int seed_variants(size_t kind) { return std::string(kTinyKinds[kind % kTinyKinds.size()]) == "attn" ? 5 : 1; }

}  // namespace mnemo::fuzz
