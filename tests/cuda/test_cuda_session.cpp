// The CUDA backend against the CPU backend (the specification) on every golden model
// (tests/data/golden): prefill logits in several chunkings, token-by-token decode,
// retained sets of every bounded cache, greedy decoding through the captured graph,
// and a CPU snapshot continued on the device. Without a device every test reports
// SKIPPED ("no CUDA device").
//
// Tolerance: the golden models are f32 and stay f32 on the device; the GPU sums in
// other orders (and runs the gated delta rule token by token where the CPU uses the
// chunked form), so logits agree to kLogitTolerance, not bit for bit.
#include "api_util.h"
#include "bench_model.h"
#include "convert.h"
#include "device_backend.h"
#include "model.h"
#include "ops.h"
#include "sampler.h"
#include "session.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <unistd.h>

using namespace mnemo;
namespace fs = std::filesystem;

#define MNEMO_REQUIRE_CUDA_DEVICE() \
    do { if (mnemo::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device"; } while (0)

namespace {

const fs::path kGoldenDir = fs::path(MNEMO_SOURCE_DIR) / "tests" / "data" / "golden";
constexpr double kLogitTolerance = 2e-3;

// The golden model as a GGUF file (byte tokenizer); empty on failure.
std::string golden_gguf(const std::string& name, DType weights = DType::F32) {
    const std::string gguf = ::testing::TempDir() + "/cuda_golden_" + name + "_" + std::to_string(static_cast<int>(weights)) + "_" +
                             std::to_string(::getpid()) + ".gguf";
    ConvertOptions o;
    o.tokenizer = "byte";
    o.weight_type = weights;
    ConvertReport report;
    return convert_hf_directory((kGoldenDir / name).string(), gguf, o, &report) == MNEMO_OK ? gguf : std::string();
}

std::unique_ptr<ModelImpl> load_golden_model(const std::string& name, DType weights = DType::F32) {
    const std::string gguf = golden_gguf(name, weights);
    std::unique_ptr<ModelImpl> model;
    if (gguf.empty() || load_model(gguf, true, &model) != MNEMO_OK) return nullptr;
    return model;
}

// A long token stream (longer than every window, so tokens leave windows and compete
// for retained slots): the byte values of a fixed text, repeated with variation.
std::vector<int32_t> stream_tokens(int32_t vocab, size_t n) {
    const char* text = "The quick brown fox jumps over the lazy dog while the keeper counts sheep; ";
    std::vector<int32_t> ids(n);
    const size_t len = std::strlen(text);
    for (size_t i = 0; i < n; ++i) ids[i] = (static_cast<unsigned char>(text[i % len]) + static_cast<int32_t>(i / len)) % vocab;
    return ids;
}

mnemo_session_params params_for(const ModelImpl& m, mnemo_backend backend, int32_t chunk) {
    mnemo_session_params p = mnemo_session_default_params();
    p.backend = backend;
    p.n_threads = 2;
    p.chunk_tokens = chunk;
    if (!m.config.bounded()) p.max_context = 4096;
    return p;
}

// A CUDA session created while the backend switch `name` is `value` (switches are read when a
// session is created; the variable is unset again afterwards).
mnemo_status create_cuda_session_with(const ModelImpl& m, const char* name, const char* value, std::unique_ptr<SessionImpl>* out) {
    if (setenv(name, value, 1) != 0) return MNEMO_ERR_INVALID_ARGUMENT;
    const mnemo_status made = create_session(m, params_for(m, MNEMO_BACKEND_CUDA, 64), out);
    unsetenv(name);
    return made;
}

double max_abs_diff(const float* a, const float* b, size_t n) {
    double worst = 0;
    for (size_t i = 0; i < n; ++i) worst = std::max(worst, std::fabs(static_cast<double>(a[i]) - b[i]));
    return worst;
}

// Every held token of every head of every cached layer: same positions and kinds, scores close.
void expect_same_caches(const SessionImpl& cpu, const SessionImpl& gpu, const std::string& what) {
    for (int32_t i = 0; i < cpu.model().config.n_layers; ++i) {
        const KvCache* a = cpu.mixer(i).kv_cache();
        const KvCache* b = gpu.mixer(i).kv_cache();
        if (a == nullptr) continue;
        ASSERT_NE(b, nullptr);
        std::vector<mnemo_probe_token> ta, tb;
        for (int32_t h = 0; h < a->shape().n_kv_heads; ++h) {
            a->held_tokens(h, &ta);
            b->held_tokens(h, &tb);
            ASSERT_EQ(ta.size(), tb.size()) << what << " layer " << i << " head " << h;
            for (size_t j = 0; j < ta.size(); ++j) {
                EXPECT_EQ(ta[j].position, tb[j].position) << what << " layer " << i << " head " << h << " entry " << j;
                EXPECT_EQ(ta[j].kind, tb[j].kind) << what << " layer " << i << " head " << h << " entry " << j;
                if (ta[j].kind != MNEMO_TOKEN_WINDOW) {
                    EXPECT_NEAR(ta[j].score, tb[j].score, 1e-3) << what << " layer " << i;
                }
            }
        }
    }
}

// What restoring a snapshot does: `to` takes `from`'s state block.
void restore_state(SessionImpl& to, const SessionImpl& from) {
    std::memcpy(to.state_data(), from.state_data(), from.state_bytes());
    to.state_restored();
    ASSERT_EQ(to.check_state(), MNEMO_OK) << mnemo_last_error();
}

// Feeds ids[from..] one token at a time to both sessions; the largest logit difference seen
// (negative when a feed failed: the failure is reported here).
double decode_both(SessionImpl& cpu, SessionImpl& gpu, const std::vector<int32_t>& ids, size_t from) {
    const size_t vocab = static_cast<size_t>(cpu.model().config.vocab_size);
    double worst = 0;
    for (size_t t = from; t < ids.size(); ++t) {
        if (cpu.feed(&ids[t], 1) != MNEMO_OK || gpu.feed(&ids[t], 1) != MNEMO_OK) {
            ADD_FAILURE() << "feeding token " << t << ": " << mnemo_last_error();
            return -1;
        }
        worst = std::max(worst, max_abs_diff(cpu.logits(), gpu.logits(), vocab));
    }
    return worst;
}

class CudaGolden : public ::testing::TestWithParam<std::string> {};

}  // namespace

TEST_P(CudaGolden, PrefillDecodeAndCachesMatchTheCpu) {
    MNEMO_REQUIRE_CUDA_DEVICE();
    auto model = load_golden_model(GetParam());
    ASSERT_NE(model, nullptr) << mnemo_last_error();
    const int32_t vocab = model->config.vocab_size;
    if (cuda_supports(*model, SessionOptions{}) != MNEMO_OK) {
        std::unique_ptr<SessionImpl> s;
        EXPECT_EQ(create_session(*model, params_for(*model, MNEMO_BACKEND_CUDA, 64), &s), MNEMO_ERR_UNSUPPORTED);
        ASSERT_EQ(create_session(*model, params_for(*model, MNEMO_BACKEND_AUTO, 64), &s), MNEMO_OK) << mnemo_last_error();
        EXPECT_STREQ(s->backend_name(), "cpu");
        std::printf("%s: not supported on CUDA (%s); AUTO runs it on the CPU\n", GetParam().c_str(), mnemo_last_error());
        return;
    }
    const std::vector<int32_t> ids = stream_tokens(vocab, 700);
    const size_t prefill = 500;
    for (int32_t chunk : {256, 64, 7}) {
        std::unique_ptr<SessionImpl> cpu, gpu;
        ASSERT_EQ(create_session(*model, params_for(*model, MNEMO_BACKEND_CPU, chunk), &cpu), MNEMO_OK) << mnemo_last_error();
        ASSERT_EQ(create_session(*model, params_for(*model, MNEMO_BACKEND_CUDA, chunk), &gpu), MNEMO_OK) << mnemo_last_error();
        ASSERT_STREQ(gpu->backend_name(), "cuda");
        ASSERT_EQ(cpu->feed(ids.data(), prefill), MNEMO_OK) << mnemo_last_error();
        ASSERT_EQ(gpu->feed(ids.data(), prefill), MNEMO_OK) << mnemo_last_error();
        double worst = max_abs_diff(cpu->logits(), gpu->logits(), static_cast<size_t>(vocab));
        EXPECT_LE(worst, kLogitTolerance) << GetParam() << " prefill chunk " << chunk;
        expect_same_caches(*cpu, *gpu, GetParam() + " after prefill, chunk " + std::to_string(chunk));
        const double worst_decode = decode_both(*cpu, *gpu, ids, prefill);
        ASSERT_GE(worst_decode, 0.0);
        EXPECT_LE(worst_decode, kLogitTolerance) << GetParam() << " decode, chunk " << chunk;
        expect_same_caches(*cpu, *gpu, GetParam() + " after decode, chunk " + std::to_string(chunk));
        int64_t pos = 0;
        EXPECT_EQ(gpu->position(), static_cast<int64_t>(ids.size()));
        std::memcpy(&pos, gpu->state_data(), sizeof pos);
        EXPECT_EQ(pos, static_cast<int64_t>(ids.size())) << "the device's position counter";
        std::printf("%s chunk %3d: prefill max |dlogit| %.3g, decode max |dlogit| %.3g over %zu steps\n", GetParam().c_str(), chunk, worst,
                    worst_decode, ids.size() - prefill);
    }
}

TEST_P(CudaGolden, GreedyDecodingOnTheDeviceMatchesTheCpu) {
    MNEMO_REQUIRE_CUDA_DEVICE();
    auto model = load_golden_model(GetParam());
    ASSERT_NE(model, nullptr) << mnemo_last_error();
    if (cuda_supports(*model, SessionOptions{}) != MNEMO_OK) GTEST_SKIP() << "not supported on CUDA";
    const int32_t vocab = model->config.vocab_size;
    const std::vector<int32_t> ids = stream_tokens(vocab, 300);
    std::unique_ptr<SessionImpl> cpu, gpu;
    ASSERT_EQ(create_session(*model, params_for(*model, MNEMO_BACKEND_CPU, 64), &cpu), MNEMO_OK);
    ASSERT_EQ(create_session(*model, params_for(*model, MNEMO_BACKEND_CUDA, 64), &gpu), MNEMO_OK) << mnemo_last_error();
    ASSERT_EQ(cpu->feed(ids.data(), ids.size()), MNEMO_OK);
    ASSERT_EQ(gpu->feed(ids.data(), ids.size()), MNEMO_OK);
    mnemo_sampler_params greedy = mnemo_sampler_default_params();
    ASSERT_TRUE(gpu->on_device());
    ASSERT_EQ(gpu->begin_device_sampling(greedy), MNEMO_OK) << mnemo_last_error();
    int32_t next = -1;
    ASSERT_EQ(gpu->device_sample(0.0, &next), MNEMO_OK) << mnemo_last_error();
    int agree = 0;
    const int steps = 64;
    for (int i = 0; i < steps; ++i) {
        const float* l = cpu->logits();
        const int32_t want = static_cast<int32_t>(std::max_element(l, l + vocab) - l);
        if (want != next) {
            // A near tie may flip; then both continue with the CPU's token.
            std::printf("%s step %d: cpu %d, gpu %d (logits %.6g vs %.6g)\n", GetParam().c_str(), i, want, next, l[want], l[next]);
            EXPECT_NEAR(l[want], l[next], 1e-3) << "the GPU's argmax is not a near tie of the CPU's";
        } else {
            ++agree;
        }
        ASSERT_EQ(cpu->feed(&want, 1), MNEMO_OK);
        ASSERT_EQ(gpu->feed_device_sample(want, 0.0, &next), MNEMO_OK) << mnemo_last_error();
    }
    EXPECT_EQ(gpu->position(), cpu->position());
    expect_same_caches(*cpu, *gpu, GetParam() + " after graph decoding");
    std::printf("%s: greedy on the device agreed with the CPU on %d of %d steps\n", GetParam().c_str(), agree, steps);
}

// mnemo_session_sample with a greedy sampler on a CUDA session chooses on the device (one id
// comes back, not the logits): the token is the CPU sampler's choice over the same logits,
// read afterwards through mnemo_session_logits, and with the logits already on the host the
// host sampler gives it again.
TEST_P(CudaGolden, GreedySampleThroughTheApiIsTheHostRuleOverTheSameLogits) {
    MNEMO_REQUIRE_CUDA_DEVICE();
    const std::string gguf = golden_gguf(GetParam());
    ASSERT_FALSE(gguf.empty()) << mnemo_last_error();
    mnemo_model* model = nullptr;
    ASSERT_EQ(mnemo_model_load(gguf.c_str(), nullptr, &model), MNEMO_OK) << mnemo_last_error();
    if (cuda_supports(*model->model, SessionOptions{}) != MNEMO_OK) {
        mnemo_model_free(model);
        GTEST_SKIP() << "not supported on CUDA";
    }
    mnemo_session_params sp = params_for(*model->model, MNEMO_BACKEND_CUDA, 64);
    mnemo_session* session = nullptr;
    ASSERT_EQ(mnemo_session_create(model, &sp, &session), MNEMO_OK) << mnemo_last_error();
    const int32_t vocab = model->model->config.vocab_size;
    const std::vector<int32_t> ids = stream_tokens(vocab, 200);
    ASSERT_EQ(mnemo_session_feed(session, ids.data(), ids.size()), MNEMO_OK) << mnemo_last_error();
    Sampler host(mnemo_sampler_default_params());
    const std::vector<int32_t> no_recent;
    for (int step = 0; step < 24; ++step) {
        int32_t token = -1, again = -1;
        ASSERT_EQ(mnemo_session_sample(session, nullptr, &token), MNEMO_OK) << mnemo_last_error();
        const float* logits = nullptr;
        int32_t n = 0;
        ASSERT_EQ(mnemo_session_logits(session, &logits, &n), MNEMO_OK) << mnemo_last_error();
        ASSERT_EQ(n, vocab);
        EXPECT_EQ(token, host.sample(logits, vocab, no_recent)) << "step " << step;
        ASSERT_EQ(mnemo_session_sample(session, nullptr, &again), MNEMO_OK) << mnemo_last_error();  // the host's logits now
        EXPECT_EQ(again, token) << "step " << step;
        ASSERT_EQ(mnemo_session_feed(session, &token, 1), MNEMO_OK) << mnemo_last_error();
    }
    mnemo_session_free(session);
    mnemo_model_free(model);
}

// Sampling on the device follows the CPU sampler (the specification) token for token:
// same rules, same order of sums, and the draws from the same seeded generator.
TEST_P(CudaGolden, SamplingOnTheDeviceMatchesTheCpuSampler) {
    MNEMO_REQUIRE_CUDA_DEVICE();
    auto model = load_golden_model(GetParam());
    ASSERT_NE(model, nullptr) << mnemo_last_error();
    if (cuda_supports(*model, SessionOptions{}) != MNEMO_OK) GTEST_SKIP() << "not supported on CUDA";
    const int32_t vocab = model->config.vocab_size;
    const std::vector<int32_t> ids = stream_tokens(vocab, 200);
    struct Case { const char* name; float temperature; int32_t top_k; float top_p; float penalty; };
    const Case cases[] = {{"t0.8 top-k 40 top-p 0.95 penalty 1.3", 0.8f, 40, 0.95f, 1.3f},
                          {"t1.2 top-p 0.9 (whole vocabulary)", 1.2f, 0, 0.9f, 1.0f},
                          {"t0.7 plain", 0.7f, 0, 1.0f, 1.0f},
                          {"greedy with penalty 1.5", 0.0f, 0, 1.0f, 1.5f}};
    for (const Case& c : cases) {
        std::unique_ptr<SessionImpl> cpu, gpu;
        ASSERT_EQ(create_session(*model, params_for(*model, MNEMO_BACKEND_CPU, 64), &cpu), MNEMO_OK);
        ASSERT_EQ(create_session(*model, params_for(*model, MNEMO_BACKEND_CUDA, 64), &gpu), MNEMO_OK) << mnemo_last_error();
        ASSERT_EQ(cpu->feed(ids.data(), ids.size()), MNEMO_OK);
        ASSERT_EQ(gpu->feed(ids.data(), ids.size()), MNEMO_OK);
        mnemo_sampler_params p = mnemo_sampler_default_params();
        p.temperature = c.temperature;
        p.top_k = c.top_k;
        p.top_p = c.top_p;
        p.repetition_penalty = c.penalty;
        p.repetition_window = 64;
        p.seed = 1234;
        Sampler on_cpu(p), on_gpu(p);
        const bool draws = p.temperature > 0.0f;
        int32_t next = -1;
        ASSERT_EQ(gpu->begin_device_sampling(p), MNEMO_OK) << mnemo_last_error();
        ASSERT_EQ(gpu->device_sample(draws ? on_gpu.draw() : 0.0, &next), MNEMO_OK) << mnemo_last_error();
        int agree = 0;
        const int steps = 64;
        for (int i = 0; i < steps; ++i) {
            const int32_t want = on_cpu.sample(cpu->logits(), vocab, cpu->recent_tokens());
            if (want == next) ++agree;
            else std::printf("%s [%s] step %d: cpu %d, gpu %d\n", GetParam().c_str(), c.name, i, want, next);
            ASSERT_EQ(cpu->feed(&want, 1), MNEMO_OK);
            ASSERT_EQ(gpu->feed_device_sample(want, draws ? on_gpu.draw() : 0.0, &next), MNEMO_OK) << mnemo_last_error();
        }
        // Logits differ from the CPU's in the last bits (<= 2e-5), so a draw that lands
        // within that of a boundary could flip one token; none did in the recorded runs.
        EXPECT_GE(agree, steps - 1) << GetParam() << " [" << c.name << "]";
        std::printf("%s [%s]: the device sampled the CPU's token on %d of %d steps\n", GetParam().c_str(), c.name, agree, steps);
    }
}

// Through the public API: with a seed, mnemo_session_generate gives the same tokens on
// both backends (the device samples, the host's generator draws).
TEST_P(CudaGolden, GenerateWithASeedGivesTheSameTokensOnBothBackends) {
    MNEMO_REQUIRE_CUDA_DEVICE();
    {
        auto check = load_golden_model(GetParam());
        ASSERT_NE(check, nullptr) << mnemo_last_error();
        if (cuda_supports(*check, SessionOptions{}) != MNEMO_OK) GTEST_SKIP() << "not supported on CUDA";
    }
    const std::string gguf = golden_gguf(GetParam());
    mnemo_model* model = nullptr;
    ASSERT_EQ(mnemo_model_load(gguf.c_str(), nullptr, &model), MNEMO_OK) << mnemo_last_error();
    const std::vector<int32_t> ids = stream_tokens(256, 150);
    std::vector<int32_t> out[2];
    std::vector<float> prompt_logits[2];
    const mnemo_backend backends[2] = {MNEMO_BACKEND_CPU, MNEMO_BACKEND_CUDA};
    for (int b = 0; b < 2; ++b) {
        mnemo_session_params sp = mnemo_session_default_params();
        sp.backend = backends[b];
        sp.chunk_tokens = 64;
        sp.max_context = 4096;
        mnemo_session* s = nullptr;
        ASSERT_EQ(mnemo_session_create(model, &sp, &s), MNEMO_OK) << mnemo_last_error();
        ASSERT_EQ(mnemo_session_feed(s, ids.data(), ids.size()), MNEMO_OK) << mnemo_last_error();
        mnemo_backend resolved = MNEMO_BACKEND_AUTO;
        ASSERT_EQ(mnemo_session_backend(s, &resolved), MNEMO_OK);
        EXPECT_EQ(resolved, backends[b]);
        const float* logits = nullptr;
        int32_t n_logits = 0;
        ASSERT_EQ(mnemo_session_logits(s, &logits, &n_logits), MNEMO_OK) << mnemo_last_error();
        prompt_logits[b].assign(logits, logits + n_logits);
        mnemo_generate_params g = mnemo_generate_default_params();
        g.max_tokens = 48;
        g.sampler.temperature = 0.9f;
        g.sampler.top_k = 50;
        g.sampler.top_p = 0.9f;
        g.sampler.repetition_penalty = 1.2f;
        g.sampler.seed = 99;
        out[b].resize(48);
        size_t n = 0;
        ASSERT_EQ(mnemo_session_generate(s, &g, out[b].data(), out[b].size(), &n), MNEMO_OK) << mnemo_last_error();
        out[b].resize(n);
        mnemo_session_free(s);
    }
    mnemo_model_free(model);
    ASSERT_EQ(prompt_logits[0].size(), prompt_logits[1].size());
    EXPECT_LE(max_abs_diff(prompt_logits[0].data(), prompt_logits[1].data(), prompt_logits[0].size()), kLogitTolerance)
        << GetParam() << ": the sessions' prompt logits differ (not the sampler)";
    EXPECT_FALSE(out[0].empty());
    EXPECT_EQ(out[0], out[1]) << GetParam();
}

TEST_P(CudaGolden, ACpuSnapshotContinuesOnTheDeviceAndBack) {
    MNEMO_REQUIRE_CUDA_DEVICE();
    auto model = load_golden_model(GetParam());
    ASSERT_NE(model, nullptr) << mnemo_last_error();
    if (cuda_supports(*model, SessionOptions{}) != MNEMO_OK) GTEST_SKIP() << "not supported on CUDA";
    const int32_t vocab = model->config.vocab_size;
    const std::vector<int32_t> ids = stream_tokens(vocab, 600);
    std::unique_ptr<SessionImpl> cpu, gpu, back;
    ASSERT_EQ(create_session(*model, params_for(*model, MNEMO_BACKEND_CPU, 64), &cpu), MNEMO_OK);
    ASSERT_EQ(create_session(*model, params_for(*model, MNEMO_BACKEND_CUDA, 64), &gpu), MNEMO_OK) << mnemo_last_error();
    ASSERT_EQ(create_session(*model, params_for(*model, MNEMO_BACKEND_CPU, 64), &back), MNEMO_OK);
    ASSERT_EQ(cpu->feed(ids.data(), 333), MNEMO_OK);
    // CPU state → device (what restoring a snapshot does), then both continue.
    ASSERT_NO_FATAL_FAILURE(restore_state(*gpu, *cpu));
    ASSERT_EQ(cpu->feed(ids.data() + 333, 200), MNEMO_OK);
    ASSERT_EQ(gpu->feed(ids.data() + 333, 200), MNEMO_OK) << mnemo_last_error();
    EXPECT_LE(max_abs_diff(cpu->logits(), gpu->logits(), static_cast<size_t>(vocab)), kLogitTolerance);
    expect_same_caches(*cpu, *gpu, GetParam() + " cpu -> gpu");
    // Device state → CPU: the state block the device wrote is one the CPU accepts and continues.
    ASSERT_NO_FATAL_FAILURE(restore_state(*back, *gpu));
    ASSERT_EQ(cpu->feed(ids.data() + 533, 67), MNEMO_OK);
    ASSERT_EQ(back->feed(ids.data() + 533, 67), MNEMO_OK);
    EXPECT_LE(max_abs_diff(cpu->logits(), back->logits(), static_cast<size_t>(vocab)), kLogitTolerance);
    expect_same_caches(*cpu, *back, GetParam() + " gpu -> cpu");
}

// A CPU state (its LTE scores batched lazily, some window tokens unscored) continued on the
// device token by token: the decode step scores after its commit on a side stream, so the
// first step after the restore must catch up on what the CPU left unscored.
TEST_P(CudaGolden, ACpuSnapshotDecodesOnTheDeviceTokenByToken) {
    MNEMO_REQUIRE_CUDA_DEVICE();
    auto model = load_golden_model(GetParam());
    ASSERT_NE(model, nullptr) << mnemo_last_error();
    if (cuda_supports(*model, SessionOptions{}) != MNEMO_OK) GTEST_SKIP() << "not supported on CUDA";
    const int32_t vocab = model->config.vocab_size;
    const std::vector<int32_t> ids = stream_tokens(vocab, 420);
    for (size_t restored_at : {size_t{333}, size_t{336}, size_t{338}}) {  // different phases of the CPU's scoring batches
        std::unique_ptr<SessionImpl> cpu, gpu;
        ASSERT_EQ(create_session(*model, params_for(*model, MNEMO_BACKEND_CPU, 64), &cpu), MNEMO_OK);
        ASSERT_EQ(create_session(*model, params_for(*model, MNEMO_BACKEND_CUDA, 64), &gpu), MNEMO_OK) << mnemo_last_error();
        ASSERT_EQ(cpu->feed(ids.data(), restored_at), MNEMO_OK);
        ASSERT_NO_FATAL_FAILURE(restore_state(*gpu, *cpu));
        const double worst = decode_both(*cpu, *gpu, ids, restored_at);
        ASSERT_GE(worst, 0.0);
        EXPECT_LE(worst, kLogitTolerance) << GetParam() << " restored at " << restored_at;
        expect_same_caches(*cpu, *gpu, GetParam() + " decoded after a restore at " + std::to_string(restored_at));
    }
}

INSTANTIATE_TEST_SUITE_P(Golden, CudaGolden,
                         ::testing::Values("gdn", "gdn_swa", "lalte", "gdn_attn", "transformer", "lansa", "nsa"),
                         [](const ::testing::TestParamInfo<std::string>& i) { return i.param; });

// q8_0 weights stay q8_0 on the device, dequantised on the fly by the decode GEMV with f32
// products as the CPU's matmul does: fed token by token (GEMV sizes, f32 attention) the two
// backends agree to the f32 models' tolerance, retained sets included. Chunked prefill runs
// cuBLAS on the matrices dequantised to bf16 and the window attention on tensor cores, so it
// is held to bf16's error (kBf16LogitTolerance).
TEST(CudaBackend, Q8_0WeightsDecodeLikeTheCpu) {
    MNEMO_REQUIRE_CUDA_DEVICE();
    constexpr double kBf16LogitTolerance = 0.1;  // measured on the H100: 0.047 (lalte), 0.008 (gdn_attn)
    for (const std::string name : {"lalte", "gdn_attn"}) {
        auto model = load_golden_model(name, DType::Q8_0);
        ASSERT_NE(model, nullptr) << mnemo_last_error();
        size_t q8_matrices = 0;
        for (const GgufTensor& t : model->file.tensors()) q8_matrices += t.type == DType::Q8_0;
        ASSERT_GT(q8_matrices, 0u) << name << ": the conversion kept no q8_0 matrix";
        const int32_t vocab = model->config.vocab_size;
        const std::vector<int32_t> ids = stream_tokens(vocab, 400);
        std::unique_ptr<SessionImpl> cpu, gpu;
        ASSERT_EQ(create_session(*model, params_for(*model, MNEMO_BACKEND_CPU, 64), &cpu), MNEMO_OK);
        ASSERT_EQ(create_session(*model, params_for(*model, MNEMO_BACKEND_CUDA, 64), &gpu), MNEMO_OK) << mnemo_last_error();
        const double worst = decode_both(*cpu, *gpu, ids, 0);
        ASSERT_GE(worst, 0.0);
        EXPECT_LE(worst, kLogitTolerance) << name << " q8_0 token by token";
        expect_same_caches(*cpu, *gpu, name + " q8_0 token by token");

        std::unique_ptr<SessionImpl> chunked;
        ASSERT_EQ(create_session(*model, params_for(*model, MNEMO_BACKEND_CUDA, 64), &chunked), MNEMO_OK);
        ASSERT_EQ(chunked->feed(ids.data(), ids.size()), MNEMO_OK) << mnemo_last_error();
        const double worst_chunked = max_abs_diff(cpu->logits(), chunked->logits(), static_cast<size_t>(vocab));
        EXPECT_LE(worst_chunked, kBf16LogitTolerance) << name << " q8_0 prefill in chunks of 64";
        std::printf("%s q8_0: token by token max |dlogit| %.3g; chunked prefill %.3g\n", name.c_str(), worst, worst_chunked);
    }
}

// Decode steps of bounded caches run RoPE, the plan and the attention in one launch
// (cuda::kv_decode) wherever it fits — every cached layer of these golden models, which the
// parity tests above therefore cover. MNEMO_CUDA_DECODE_ATTN=split (read when a session is
// created) keeps the separate launches, which larger caches (full attention at long context)
// still take: they must match the CPU too.
TEST(CudaBackend, SplitDecodeAttentionStillMatchesTheCpu) {
    MNEMO_REQUIRE_CUDA_DEVICE();
    for (const std::string name : {"lalte", "gdn_swa", "transformer"}) {
        auto model = load_golden_model(name);
        ASSERT_NE(model, nullptr) << mnemo_last_error();
        const std::vector<int32_t> ids = stream_tokens(model->config.vocab_size, 300);
        std::unique_ptr<SessionImpl> cpu, one, split;
        ASSERT_EQ(create_session(*model, params_for(*model, MNEMO_BACKEND_CPU, 64), &cpu), MNEMO_OK);
        ASSERT_EQ(create_session(*model, params_for(*model, MNEMO_BACKEND_CUDA, 64), &one), MNEMO_OK) << mnemo_last_error();
        ASSERT_EQ(create_cuda_session_with(*model, "MNEMO_CUDA_DECODE_ATTN", "split", &split), MNEMO_OK) << mnemo_last_error();
        int32_t cached = 0;
        for (int32_t i = 0; i < model->config.n_layers; ++i) {
            const KvCache* kc = cpu->mixer(i).kv_cache();
            if (kc == nullptr) continue;
            ++cached;
            cuda::DeviceKvCache shape;
            shape.keys = shape.values = reinterpret_cast<float*>(uintptr_t{256});
            shape.n_kv_heads = kc->shape().n_kv_heads;
            shape.head_dim = kc->shape().head_dim;
            shape.sink_capacity = kc->shape().sink_capacity;
            shape.retained_capacity = kc->shape().retained_capacity;
            shape.window_capacity = kc->shape().window_capacity;
            EXPECT_TRUE(cuda::kv_decode_fits(shape, model->config.layers[static_cast<size_t>(i)].n_heads)) << name << " layer " << i;
        }
        EXPECT_GT(cached, 0) << name;
        const double worst = decode_both(*cpu, *split, ids, 0);
        ASSERT_GE(worst, 0.0);
        EXPECT_LE(worst, kLogitTolerance) << name << " split decode attention";
        expect_same_caches(*cpu, *split, name + " split decode attention");
        for (int32_t id : ids) {
            ASSERT_EQ(one->feed(&id, 1), MNEMO_OK) << mnemo_last_error();
        }
        const double between = max_abs_diff(one->logits(), split->logits(), static_cast<size_t>(model->config.vocab_size));
        EXPECT_LE(between, kLogitTolerance) << name;
        std::printf("%s: split decode attention max |dlogit| %.3g against the CPU; one launch vs split at the end %.3g\n", name.c_str(),
                    worst, between);
    }
}

// Decode steps score LTE tokens in batches (every score period of steps, all that wait; the
// golden model's small window allows a period of a few). A token's score is the same function
// of the same ring rows whenever it is computed, so the logits must be bit-identical to scoring
// every step (MNEMO_CUDA_SCORE_BATCH=1), and the states must differ in between (scores still
// owed). A state with scores owed is a valid snapshot: the CPU restores it and goes on like a
// CPU that read everything itself.
TEST(CudaBackend, LteDecodeScoresInBatchesGiveTheBitsOfScoringEveryStep) {
    MNEMO_REQUIRE_CUDA_DEVICE();
    auto model = load_golden_model("lalte");
    ASSERT_NE(model, nullptr) << mnemo_last_error();
    const size_t vocab = static_cast<size_t>(model->config.vocab_size);
    const std::vector<int32_t> ids = stream_tokens(model->config.vocab_size, 400);
    std::unique_ptr<SessionImpl> batched, every;
    ASSERT_EQ(create_session(*model, params_for(*model, MNEMO_BACKEND_CUDA, 64), &batched), MNEMO_OK) << mnemo_last_error();
    ASSERT_EQ(create_cuda_session_with(*model, "MNEMO_CUDA_SCORE_BATCH", "1", &every), MNEMO_OK) << mnemo_last_error();
    const size_t prompt = 100;
    ASSERT_EQ(batched->feed(ids.data(), prompt), MNEMO_OK) << mnemo_last_error();
    ASSERT_EQ(every->feed(ids.data(), prompt), MNEMO_OK) << mnemo_last_error();
    ASSERT_EQ(batched->state_bytes(), every->state_bytes());
    // The first state with scores owed also goes to the CPU, which must take it and go on.
    std::unique_ptr<SessionImpl> back, cpu;
    ASSERT_EQ(create_session(*model, params_for(*model, MNEMO_BACKEND_CPU, 64), &back), MNEMO_OK);
    ASSERT_EQ(create_session(*model, params_for(*model, MNEMO_BACKEND_CPU, 64), &cpu), MNEMO_OK);
    size_t restored_after = 0;
    int64_t owed_steps = 0;
    for (size_t t = prompt; t < ids.size(); ++t) {
        ASSERT_EQ(batched->feed(&ids[t], 1), MNEMO_OK) << mnemo_last_error();
        ASSERT_EQ(every->feed(&ids[t], 1), MNEMO_OK) << mnemo_last_error();
        ASSERT_EQ(std::memcmp(batched->logits(), every->logits(), vocab * sizeof(float)), 0) << "token " << t;
        if (std::memcmp(batched->state_data(), every->state_data(), every->state_bytes()) == 0) continue;
        if (owed_steps++ == 0) {
            ASSERT_NO_FATAL_FAILURE(restore_state(*back, *batched));
            restored_after = t + 1;
        }
    }
    EXPECT_GT(owed_steps, 0) << "no step left a score owed: the batches were never larger than one";
    EXPECT_LT(owed_steps, static_cast<int64_t>(ids.size() - prompt)) << "the batches never caught up";
    expect_same_caches(*every, *batched, "lalte decoded with batched scores");
    ASSERT_GT(restored_after, size_t{0});
    ASSERT_EQ(cpu->feed(ids.data(), restored_after), MNEMO_OK);
    const double worst = decode_both(*cpu, *back, ids, restored_after);
    ASSERT_GE(worst, 0.0);
    EXPECT_LE(worst, kLogitTolerance) << "the CPU going on from a device state with scores owed";
    expect_same_caches(*cpu, *back, "lalte on the CPU from a device state with scores owed");
    std::printf("lalte: %lld of %zu decode steps left scores owed; logits bit-identical to scoring every step\n",
                static_cast<long long>(owed_steps), ids.size() - prompt);
}

// The paper's 0.4B layer shapes in a small model (two layers, GDN then laLTE, a 512-token
// vocabulary, random bf16 weights with `seed`), written to a temporary GGUF file named after
// `name` (removed by the caller through *path) and loaded.
void small_paper_model(const char* name, uint32_t seed, std::string* path, std::unique_ptr<ModelImpl>* model) {
    ModelConfig config;
    std::string error;
    ASSERT_TRUE(cli::bench::synthetic_config("paper-0.4b", "lte", &config, &error)) << error;
    config.layers.resize(2);
    config.n_layers = 2;
    config.vocab_size = 512;
    *path = ::testing::TempDir() + "/" + name + "_" + std::to_string(::getpid()) + ".gguf";
    ASSERT_EQ(cli::bench::write_random_model(*path, config, DType::BF16, seed), MNEMO_OK) << mnemo_last_error();
    ASSERT_EQ(load_model(*path, true, model), MNEMO_OK) << mnemo_last_error();
}

// The paper's 0.4B layer shapes (small_paper_model), where a decode step runs each MLP in one
// launch (cuda::mlp_split, its sum in fixed point): token by token against the CPU and against
// the MLP as GEMVs (MNEMO_CUDA_MLP_SPLIT=0), and bit for bit against a second session fed the
// same tokens.
TEST(CudaBackend, SplitMlpDecodesLikeTheCpuAndRepeatsItsBits) {
    MNEMO_REQUIRE_CUDA_DEVICE();
    std::string path;
    std::unique_ptr<ModelImpl> model;
    ASSERT_NO_FATAL_FAILURE(small_paper_model("cuda_split_mlp", 7, &path, &model));
    const size_t vocab = static_cast<size_t>(model->config.vocab_size);
    const std::vector<int32_t> ids = stream_tokens(model->config.vocab_size, 64);
    // `full_o`: o_proj on the default grid rather than half the SMs (MNEMO_CUDA_O_HALF=0): the same bits.
    std::unique_ptr<SessionImpl> cpu, split, again, gemv, full_o;
    ASSERT_EQ(create_session(*model, params_for(*model, MNEMO_BACKEND_CPU, 64), &cpu), MNEMO_OK);
    ASSERT_EQ(create_session(*model, params_for(*model, MNEMO_BACKEND_CUDA, 64), &split), MNEMO_OK) << mnemo_last_error();
    ASSERT_EQ(create_session(*model, params_for(*model, MNEMO_BACKEND_CUDA, 64), &again), MNEMO_OK) << mnemo_last_error();
    ASSERT_EQ(create_cuda_session_with(*model, "MNEMO_CUDA_MLP_SPLIT", "0", &gemv), MNEMO_OK) << mnemo_last_error();
    ASSERT_EQ(create_cuda_session_with(*model, "MNEMO_CUDA_O_HALF", "0", &full_o), MNEMO_OK) << mnemo_last_error();
    const size_t prompt = 16;
    const auto all = {cpu.get(), split.get(), again.get(), gemv.get(), full_o.get()};
    for (SessionImpl* s : all) ASSERT_EQ(s->feed(ids.data(), prompt), MNEMO_OK) << mnemo_last_error();
    double worst_cpu = 0, worst_gemv = 0;
    int differs_from_gemv = 0;
    for (size_t t = prompt; t < ids.size(); ++t) {
        for (SessionImpl* s : all) ASSERT_EQ(s->feed(&ids[t], 1), MNEMO_OK) << mnemo_last_error();
        ASSERT_EQ(std::memcmp(split->logits(), again->logits(), vocab * sizeof(float)), 0) << "token " << t;
        ASSERT_EQ(std::memcmp(split->logits(), full_o->logits(), vocab * sizeof(float)), 0) << "o_proj's grid changed the bits, token " << t;
        worst_cpu = std::max(worst_cpu, max_abs_diff(cpu->logits(), split->logits(), vocab));
        worst_gemv = std::max(worst_gemv, max_abs_diff(gemv->logits(), split->logits(), vocab));
        differs_from_gemv += std::memcmp(gemv->logits(), split->logits(), vocab * sizeof(float)) != 0;
    }
    // The CPU reads bf16 weights as the device does, but the 16-token prompt goes through cuBLAS, which
    // rounds activations to bf16 (Q8_0WeightsDecodeLikeTheCpu's prefill bound); the GEMVs sum in f32.
    EXPECT_LE(worst_cpu, 0.1) << "split MLP against the CPU";
    EXPECT_LE(worst_gemv, 1e-4) << "split MLP against the GEMVs";
    // The two forms sum in different orders: identical logits at every step would mean the split never ran.
    EXPECT_GT(differs_from_gemv, 0) << "the split MLP did not run";
    std::printf("split MLP (0.4B layers): max |dlogit| %.3g against the CPU, %.3g against the GEMVs (%d of %zu steps differ); "
                "bit-identical across sessions\n",
                worst_cpu, worst_gemv, differs_from_gemv, ids.size() - prompt);
    std::remove(path.c_str());
}

// A chosen token reaches the host through mapped memory (read_token's published path): every
// way of choosing one — the graph's fused argmax, an argmax launch (MNEMO_CUDA_FUSED_ARGMAX=0),
// the sampler, a chunk's advance — in an order that leaves some published tokens unread, gives
// the tokens a copy behind the step gives (MNEMO_CUDA_PUBLISH_TOKEN=0). A count off by one would
// fail the read (the step ends without the awaited publish), not return a stale token.
TEST(CudaBackend, PublishedTokensAreTheTokensACopyReadsBack) {
    MNEMO_REQUIRE_CUDA_DEVICE();
    std::string path;
    std::unique_ptr<ModelImpl> model;
    ASSERT_NO_FATAL_FAILURE(small_paper_model("cuda_publish", 11, &path, &model));
    const std::vector<int32_t> ids = stream_tokens(model->config.vocab_size, 48);
    struct Way {
        const char* name;
        const char* switch_name;  // a second switch for both sessions, or null
        float temperature;
    };
    for (const Way& w : {Way{"fused greedy", nullptr, 0.0f}, Way{"argmax launch", "MNEMO_CUDA_FUSED_ARGMAX", 0.0f},
                         Way{"sampled", nullptr, 0.8f}}) {
        if (w.switch_name != nullptr) setenv(w.switch_name, "0", 1);
        std::unique_ptr<SessionImpl> published, copied;
        ASSERT_EQ(create_session(*model, params_for(*model, MNEMO_BACKEND_CUDA, 64), &published), MNEMO_OK) << mnemo_last_error();
        ASSERT_EQ(create_cuda_session_with(*model, "MNEMO_CUDA_PUBLISH_TOKEN", "0", &copied), MNEMO_OK) << mnemo_last_error();
        if (w.switch_name != nullptr) unsetenv(w.switch_name);
        mnemo_sampler_params p = mnemo_sampler_default_params();
        p.temperature = w.temperature;
        std::vector<int32_t> got[2];
        SessionImpl* both[2] = {published.get(), copied.get()};
        for (int k = 0; k < 2; ++k) {
            SessionImpl& s = *both[k];
            ASSERT_EQ(s.feed(ids.data(), 20), MNEMO_OK) << mnemo_last_error();  // a chunk's advance publishes, unread
            ASSERT_EQ(s.begin_device_sampling(p), MNEMO_OK) << mnemo_last_error();
            int32_t t = -1;
            double u = 0.05;
            for (int step = 0; step < 24; ++step, u = u * 1.7 - static_cast<int>(u * 1.7)) {
                if (step % 6 == 5) {
                    ASSERT_EQ(s.feed(&ids[20 + step], 1), MNEMO_OK) << mnemo_last_error();  // a fed token's graph, unread
                    ASSERT_EQ(s.device_sample(u, &t), MNEMO_OK) << w.name << " step " << step << ": " << mnemo_last_error();
                } else if (step % 6 == 2) {
                    ASSERT_EQ(s.feed(&t, 1), MNEMO_OK) << mnemo_last_error();  // the token just sampled: held on the device
                    ASSERT_EQ(s.device_sample(u, &t), MNEMO_OK) << w.name << " step " << step << ": " << mnemo_last_error();
                } else {
                    ASSERT_EQ(step == 0 ? s.device_sample(u, &t) : s.feed_device_sample(t, u, &t), MNEMO_OK)
                        << w.name << " step " << step << ": " << mnemo_last_error();
                }
                ASSERT_GE(t, 0);
                ASSERT_LT(t, model->config.vocab_size);
                got[k].push_back(t);
            }
        }
        EXPECT_EQ(got[0], got[1]) << w.name;
    }
    std::remove(path.c_str());
}

TEST(CudaBackend, WithoutADeviceCudaIsRefusedAndAutoIsTheCpu) {
    if (cuda_device_count() > 0) GTEST_SKIP() << "a CUDA device is present";
    auto model = load_golden_model("lalte");
    ASSERT_NE(model, nullptr);
    std::unique_ptr<SessionImpl> s;
    EXPECT_EQ(create_session(*model, params_for(*model, MNEMO_BACKEND_CUDA, 64), &s), MNEMO_ERR_NO_DEVICE);
    EXPECT_NE(std::string(mnemo_last_error()).find("CUDA"), std::string::npos);
    ASSERT_EQ(create_session(*model, params_for(*model, MNEMO_BACKEND_AUTO, 64), &s), MNEMO_OK);
    EXPECT_STREQ(s->backend_name(), "cpu");
}
