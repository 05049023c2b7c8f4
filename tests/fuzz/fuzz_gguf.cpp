// fuzz_gguf: the input is a GGUF model file.
//
// 1. GgufFile::open_memory parses it; every tensor it accepts must lie inside the
//    input (its first and last bytes are read, so ASan sees any lie).
// 2. If it parses: the model description (parse_model_config) and the tokenizer
//    (load_tokenizer) are read from it, and a tokenizer that loads encodes and decodes
//    a few fixed texts.
// 3. If the description parses: the whole public load path runs on the same bytes
//    (mnemo_model_load through an in-memory file, mapped and read), then the info,
//    layer-info, tokenize and detokenize calls, the memory plan under a few session
//    settings and, for models whose plan fits 32 MiB, a one-thread session that reads
//    three tokens. A status of MNEMO_ERR_INTERNAL (an exception caught by the API's
//    guard) is a finding.
#include "fuzz_util.h"
#include "gguf.h"
#include "model.h"
#include "model_config.h"
#include "tokenizer.h"

#include <cstring>
#include <string_view>

using namespace mnemo;

namespace {

volatile uint8_t g_sink;  // keeps the tensor reads from being optimised away

void exercise_tokenizer(const Tokenizer& t) {
    const int32_t vocab = t.vocab_size();
    FUZZ_CHECK(vocab >= 0, "tokenizer reports vocab_size %d", vocab);
    static const std::string_view texts[] = {
        "", "Hello, world!", "h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80 \xE4\xB8\xAD\xE6\x96\x87",
        std::string_view("nul\0byte", 8), "\xFF\xFE invalid", "   leading and trailing spaces   "};
    for (std::string_view text : texts) {
        std::vector<int32_t> ids;
        const mnemo_status s = t.encode(text, &ids);
        FUZZ_CHECK(fuzz::is_verdict(s), "encode returned %d", s);
        if (s != MNEMO_OK) continue;
        for (int32_t id : ids) FUZZ_CHECK(id >= 0 && id < vocab, "encode produced id %d outside [0, %d)", id, vocab);
        std::string back;
        FUZZ_CHECK(fuzz::is_verdict(t.decode(ids.data(), ids.size(), &back)), "decode failed unexpectedly");
    }
}

// The memory plan under a few session settings, then (under a small budget, one
// thread) a session that reads a few tokens: the plan must be honoured or refused.
void exercise_session(const mnemo_model* model, const mnemo_model_info& info) {
    constexpr uint64_t kBudget = 32ull << 20;
    mnemo_session_params variants[3] = {mnemo_session_default_params(), mnemo_session_default_params(),
                                        mnemo_session_default_params()};
    variants[1].max_context = 64;
    variants[2].max_context = 1 << 20;
    variants[2].policy = MNEMO_POLICY_STREAMING;
    variants[2].policy_budget = 8;
    for (mnemo_session_params& p : variants) {
        p.n_threads = 1;
        p.chunk_tokens = 4;
        mnemo_memory_plan plan{};
        plan.struct_size = sizeof plan;
        const mnemo_status ps = mnemo_memory_plan_get(model, &p, &plan);
        FUZZ_CHECK(fuzz::is_verdict(ps), "mnemo_memory_plan_get returned %s", mnemo_status_name(ps));
        if (ps != MNEMO_OK) continue;
        FUZZ_CHECK(plan.total_bytes >= plan.state_bytes && plan.total_bytes >= plan.scratch_bytes, "plan parts exceed the total");
        p.budget_bytes = kBudget;
        mnemo_session* session = nullptr;
        const mnemo_status cs = mnemo_session_create(model, &p, &session);
        FUZZ_CHECK(fuzz::is_verdict(cs), "mnemo_session_create returned %s", mnemo_status_name(cs));
        FUZZ_CHECK(cs != MNEMO_OK || plan.total_bytes <= kBudget, "a session above the budget was created");
        FUZZ_CHECK(cs != MNEMO_ERR_BUDGET || plan.total_bytes > kBudget, "refused for budget under the plan");
        if (cs != MNEMO_OK) continue;
        // Tokens one at a time: the decode path. (A multi-token chunk takes the GEMM path,
        // whose per-call packing buffers cost milliseconds under ASan; the kernels' own
        // tests and the golden tests cover prefill.)
        const int32_t tokens[3] = {0, info.vocab_size - 1, info.vocab_size / 2};
        mnemo_status fs = MNEMO_OK;
        for (int32_t t : tokens) {
            fs = mnemo_session_feed(session, &t, 1);
            FUZZ_CHECK(fuzz::is_verdict(fs), "mnemo_session_feed returned %s", mnemo_status_name(fs));
            if (fs != MNEMO_OK) break;
        }
        if (fs == MNEMO_OK) {
            const float* logits = nullptr;
            int32_t n_vocab = 0;
            FUZZ_CHECK(mnemo_session_logits(session, &logits, &n_vocab) == MNEMO_OK && logits != nullptr && n_vocab == info.vocab_size,
                       "no logits after a feed");
            float acc = 0.0f;
            for (int32_t i = 0; i < n_vocab; ++i) acc += logits[i];
            g_sink = static_cast<uint8_t>(acc != acc);
        }
        mnemo_session_free(session);
    }
}

void exercise_api(const uint8_t* data, size_t size, const ModelConfig& config) {
    fuzz::MemFile file(data, size);
    for (int use_mmap : {1, 0}) {
        mnemo_model_params params = mnemo_model_default_params();
        params.use_mmap = use_mmap;
        mnemo_model* model = nullptr;
        const mnemo_status s = mnemo_model_load(file.path().c_str(), &params, &model);
        FUZZ_CHECK(fuzz::is_verdict(s), "mnemo_model_load returned %s", mnemo_status_name(s));
        FUZZ_CHECK((s == MNEMO_OK) == (model != nullptr), "status %d with model %p", s, static_cast<void*>(model));
        if (s != MNEMO_OK) {
            FUZZ_CHECK(std::strlen(mnemo_last_error()) > 0, "failure without a message");
            continue;
        }
        mnemo_model_info info{};
        info.struct_size = sizeof info;
        FUZZ_CHECK(mnemo_model_get_info(model, &info) == MNEMO_OK, "get_info failed");
        FUZZ_CHECK(info.n_layers == config.n_layers && info.vocab_size == config.vocab_size, "info contradicts the description");
        for (int32_t l = -1; l <= info.n_layers; ++l) {
            mnemo_layer_info li{};
            li.struct_size = sizeof li;
            const mnemo_status ls = mnemo_model_get_layer_info(model, l, &li);
            FUZZ_CHECK(ls == ((l >= 0 && l < info.n_layers) ? MNEMO_OK : MNEMO_ERR_OUT_OF_RANGE), "layer %d: %d", l, ls);
        }
        const char text[] = "Memory that does not grow with the document: h\xC3\xA9llo";
        int32_t tokens[256];
        size_t n = 0;
        const mnemo_status ts = mnemo_tokenize(model, text, sizeof text - 1, 1, tokens, 256, &n);
        FUZZ_CHECK(fuzz::is_verdict(ts), "mnemo_tokenize returned %s", mnemo_status_name(ts));
        if (ts == MNEMO_OK) {
            char out[1024];
            size_t len = 0;
            const mnemo_status ds = mnemo_detokenize(model, tokens, n, out, sizeof out, &len);
            FUZZ_CHECK(fuzz::is_verdict(ds), "mnemo_detokenize returned %s", mnemo_status_name(ds));
        }
        // Out-of-range ids are refused, never read.
        const int32_t bad[] = {-1, INT32_MAX};
        size_t len = 0;
        char out[16];
        const mnemo_status bs = mnemo_detokenize(model, bad, 2, out, sizeof out, &len);
        FUZZ_CHECK(bs == MNEMO_ERR_OUT_OF_RANGE || bs == MNEMO_ERR_TOKENIZER, "bad ids gave %s", mnemo_status_name(bs));
        if (use_mmap) exercise_session(model, info);
        mnemo_model_free(model);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    GgufFile f;
    const mnemo_status s = f.open_memory(data, size, "fuzz.gguf");
    FUZZ_CHECK(fuzz::is_verdict(s), "open_memory returned %d", s);
    if (s != MNEMO_OK) return 0;

    uint8_t acc = 0;
    for (const GgufTensor& t : f.tensors()) {
        FUZZ_CHECK(!t.shape.empty() && t.shape.size() <= 4, "tensor '%s' has %zu dims", t.name.c_str(), t.shape.size());
        FUZZ_CHECK(t.n_bytes > 0 && t.data >= data && t.n_bytes <= size && static_cast<size_t>(t.data - data) <= size - t.n_bytes,
                   "tensor '%s' [%p, +%llu) is outside the input", t.name.c_str(), static_cast<const void*>(t.data),
                   static_cast<unsigned long long>(t.n_bytes));
        FUZZ_CHECK(f.find_tensor(t.name) == &t, "tensor index is inconsistent");
        acc ^= t.data[0] ^ t.data[t.n_bytes - 1];
    }
    for (const auto& [key, value] : f.metadata()) FUZZ_CHECK(f.find(key) == &value, "metadata index is inconsistent");
    g_sink = acc;

    ModelConfig config;
    const mnemo_status cs = parse_model_config(f, &config);
    FUZZ_CHECK(fuzz::is_verdict(cs), "parse_model_config returned %d", cs);
    if (cs == MNEMO_OK) {
        FUZZ_CHECK(config.n_layers >= 1 && config.layers.size() == static_cast<size_t>(config.n_layers), "layer count");
        for (const LayerConfig& l : config.layers)
            FUZZ_CHECK(l.n_heads > 0 && l.n_kv_heads > 0 && l.n_heads % l.n_kv_heads == 0 && l.head_dim > 0, "layer heads");
        (void)model_tensor_specs(config);
    }

    std::unique_ptr<Tokenizer> tok;
    const mnemo_status ks = load_tokenizer(f, &tok);
    FUZZ_CHECK(fuzz::is_verdict(ks), "load_tokenizer returned %d", ks);
    if (ks == MNEMO_OK && tok) exercise_tokenizer(*tok);

    if (cs == MNEMO_OK) exercise_api(data, size, config);
    return 0;
}
