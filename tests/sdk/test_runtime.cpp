// The CPU runtime through the public API: planned memory (exact, flat for laLTE, with
// no growth while feeding), budgets, bounded policies, probes and eviction events,
// sampling and generation, and bad input.
#include "model.h"
#include "session.h"
#include "tiny_model.h"

#include "mnemo/mnemo.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <malloc.h>
#include <new>
#include <random>
#include <string>
#include <unistd.h>

// Heap accounting for the whole test binary: bytes currently allocated through
// operator new, so a test can assert that feeding tokens leaves nothing behind.
namespace {
std::atomic<int64_t> g_heap_bytes{0};
}
void* operator new(size_t n) {
    void* p = std::malloc(n == 0 ? 1 : n);
    if (p == nullptr) throw std::bad_alloc();
    g_heap_bytes += static_cast<int64_t>(malloc_usable_size(p));
    return p;
}
void operator delete(void* p) noexcept {
    if (p == nullptr) return;
    g_heap_bytes -= static_cast<int64_t>(malloc_usable_size(p));
    std::free(p);
}
void operator delete(void* p, size_t) noexcept { operator delete(p); }
void* operator new(size_t n, std::align_val_t a) {
    void* p = std::aligned_alloc(static_cast<size_t>(a), (n + static_cast<size_t>(a) - 1) / static_cast<size_t>(a) * static_cast<size_t>(a));
    if (p == nullptr) throw std::bad_alloc();
    g_heap_bytes += static_cast<int64_t>(malloc_usable_size(p));
    return p;
}
void* operator new(size_t n, const std::nothrow_t&) noexcept {
    void* p = std::malloc(n == 0 ? 1 : n);
    if (p != nullptr) g_heap_bytes += static_cast<int64_t>(malloc_usable_size(p));
    return p;
}
void operator delete(void* p, const std::nothrow_t&) noexcept { operator delete(p); }
void* operator new[](size_t n) { return operator new(n); }
void* operator new[](size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
void operator delete[](void* p) noexcept { operator delete(p); }
void operator delete[](void* p, size_t) noexcept { operator delete(p); }
void operator delete(void* p, std::align_val_t) noexcept { operator delete(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { operator delete(p); }

using mnemo::test_support::tiny_config;
using mnemo::test_support::write_tiny_model;

namespace {

#ifndef MNEMO_LONG_STREAM_TOKENS
#define MNEMO_LONG_STREAM_TOKENS 200000
#endif

struct ModelHandle {
    mnemo_model* m = nullptr;
    explicit ModelHandle(const std::string& kind, bool pure = false) {
        const std::string path = ::testing::TempDir() + "/runtime_" + kind + (pure ? "_pure" : "") + "_" + std::to_string(::getpid()) + ".gguf";
        EXPECT_EQ(write_tiny_model(path, tiny_config(kind, 4, pure)), MNEMO_OK);
        EXPECT_EQ(mnemo_model_load(path.c_str(), nullptr, &m), MNEMO_OK) << mnemo_last_error();
    }
    ~ModelHandle() { mnemo_model_free(m); }
};

struct SessionHandle {
    mnemo_session* s = nullptr;
    ~SessionHandle() { mnemo_session_free(s); }
};

std::vector<int32_t> random_tokens(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<int32_t> t(n);
    for (auto& x : t) x = 4 + static_cast<int32_t>(rng() % 256);
    return t;
}

}  // namespace

TEST(Runtime, LaLteMemoryEqualsThePlanAndStaysFlatOverALongStream) {
    ModelHandle model("lte");
    mnemo_session_params p = mnemo_session_default_params();
    p.n_threads = 2;
    mnemo_memory_plan plan{};
    plan.struct_size = sizeof plan;
    ASSERT_EQ(mnemo_memory_plan_get(model.m, &p, &plan), MNEMO_OK) << mnemo_last_error();
    EXPECT_TRUE(plan.bounded);
    EXPECT_EQ(plan.total_bytes, plan.state_bytes + plan.scratch_bytes);

    // The LTE layer's state, from DESIGN §2: per KV head (w+1) window keys (after and
    // before RoPE) and values, b sink + retained keys and values, plus a position and a
    // score per slot.
    const mnemo::ModelConfig c = tiny_config("lte");
    const auto& l = c.layers[1];
    const uint64_t slots = static_cast<uint64_t>(l.window_size + 1 + l.buffer_size);
    const uint64_t expected_lte = l.n_kv_heads * slots * l.head_dim * 2 * 4 + l.n_kv_heads * slots * (8 + 4) +
                                  static_cast<uint64_t>(l.window_size + 1) * l.n_kv_heads * l.head_dim * 4;
    uint64_t lte_state = 0;
    ASSERT_EQ(mnemo_memory_plan_layer(model.m, &p, 1, &lte_state), MNEMO_OK);
    EXPECT_GE(lte_state, expected_lte);
    EXPECT_LT(lte_state, expected_lte + 1024);  // counters and 64-byte alignment of each buffer only

    const int64_t heap_before_create = g_heap_bytes.load();
    SessionHandle s;
    ASSERT_EQ(mnemo_session_create(model.m, &p, &s.s), MNEMO_OK) << mnemo_last_error();
    const int64_t created = g_heap_bytes.load() - heap_before_create;
    // The arena is the plan; handles, the thread pool and weight views add a little.
    EXPECT_GE(static_cast<uint64_t>(created), plan.total_bytes) << "created " << created << " plan " << plan.total_bytes;
    EXPECT_LT(static_cast<uint64_t>(created), plan.total_bytes + 64 * 1024);

    const size_t total = MNEMO_LONG_STREAM_TOKENS, slice = 4000;
    const auto tokens = random_tokens(slice, 9);
    // Kernels keep small per-thread scratch vectors that calls resize; after a warm-up,
    // the heap must stay within a constant of where it was, however long the document
    // (a leak of even one byte per token would exceed the bound 4x over 200K tokens).
    ASSERT_EQ(mnemo_session_feed(s.s, tokens.data(), slice), MNEMO_OK) << mnemo_last_error();
    ASSERT_EQ(mnemo_session_feed(s.s, tokens.data(), slice), MNEMO_OK) << mnemo_last_error();
    const int64_t heap_after_create = g_heap_bytes.load();
    mnemo_layer_probe probe{};
    probe.struct_size = sizeof probe;
    std::vector<mnemo_probe_token> held(1024);
    for (size_t done = 2 * slice; done < total; done += slice) {
        ASSERT_EQ(mnemo_session_feed(s.s, tokens.data(), slice), MNEMO_OK) << mnemo_last_error();
        ASSERT_LE(std::llabs(g_heap_bytes.load() - heap_after_create), 48 * 1024) << "heap grew after " << done + slice << " tokens";
        for (int32_t layer : {1, 3}) {
            ASSERT_EQ(mnemo_probe_layer(s.s, layer, &probe), MNEMO_OK);
            EXPECT_LE(probe.state_bytes_used, probe.state_bytes_reserved);
            EXPECT_EQ(probe.window_end - probe.window_begin, l.window_size + 1);
            for (int32_t h = 0; h < probe.n_kv_heads; ++h) {
                size_t n = 0;
                ASSERT_EQ(mnemo_probe_head_tokens(s.s, layer, h, held.data(), held.size(), &n), MNEMO_OK);
                int sink = 0, retained = 0, window = 0;
                for (size_t i = 0; i < n; ++i) {
                    sink += held[i].kind == MNEMO_TOKEN_SINK;
                    retained += held[i].kind == MNEMO_TOKEN_RETAINED;
                    window += held[i].kind == MNEMO_TOKEN_WINDOW;
                }
                EXPECT_EQ(sink, l.sink_size);
                EXPECT_LE(retained, l.buffer_size - l.sink_size);
                EXPECT_EQ(window, l.window_size + 1);
            }
        }
    }
    int64_t pos = 0;
    ASSERT_EQ(mnemo_session_position(s.s, &pos), MNEMO_OK);
    EXPECT_EQ(pos, static_cast<int64_t>(total));
}

TEST(Runtime, AttentionModelIsRefusedUnderABudgetItWouldExceed) {
    ModelHandle model("attn");
    mnemo_session_params p = mnemo_session_default_params();
    p.max_context = 100000;
    mnemo_memory_plan plan{};
    plan.struct_size = sizeof plan;
    ASSERT_EQ(mnemo_memory_plan_get(model.m, &p, &plan), MNEMO_OK);
    EXPECT_FALSE(plan.bounded);
    p.budget_bytes = plan.total_bytes - 1;
    SessionHandle s;
    EXPECT_EQ(mnemo_session_create(model.m, &p, &s.s), MNEMO_ERR_BUDGET);
    EXPECT_EQ(s.s, nullptr);
    const std::string msg = mnemo_last_error();
    EXPECT_NE(msg.find(std::to_string(plan.total_bytes)), std::string::npos) << msg;
    EXPECT_NE(msg.find(std::to_string(p.budget_bytes)), std::string::npos) << msg;
    // The attn layers' state grows with max_context; the laLTE plan does not.
    mnemo_memory_plan bigger{};
    bigger.struct_size = sizeof bigger;
    p.max_context = 200000;
    p.budget_bytes = 0;
    ASSERT_EQ(mnemo_memory_plan_get(model.m, &p, &bigger), MNEMO_OK);
    EXPECT_GT(bigger.state_bytes, plan.state_bytes);
    p.budget_bytes = plan.total_bytes;  // exactly the plan is allowed
    p.max_context = 100000;
    EXPECT_EQ(mnemo_session_create(model.m, &p, &s.s), MNEMO_OK) << mnemo_last_error();
}

TEST(Runtime, PoliciesBoundAnAttentionModel) {
    ModelHandle model("attn");
    for (mnemo_policy policy : {MNEMO_POLICY_STREAMING, MNEMO_POLICY_H2O, MNEMO_POLICY_TOVA, MNEMO_POLICY_SNAPKV}) {
        mnemo_session_params p = mnemo_session_default_params();
        p.policy = policy;
        p.policy_budget = 24;
        p.policy_sink = 4;
        mnemo_memory_plan plan{};
        plan.struct_size = sizeof plan;
        ASSERT_EQ(mnemo_memory_plan_get(model.m, &p, &plan), MNEMO_OK) << mnemo_last_error();
        EXPECT_TRUE(plan.bounded) << policy;
        SessionHandle s;
        ASSERT_EQ(mnemo_session_create(model.m, &p, &s.s), MNEMO_OK) << mnemo_last_error();
        const auto tokens = random_tokens(300, 4);
        ASSERT_EQ(mnemo_session_feed(s.s, tokens.data(), tokens.size()), MNEMO_OK);
        std::vector<mnemo_probe_token> held(256);
        size_t n = 0;
        ASSERT_EQ(mnemo_probe_head_tokens(s.s, 1, 0, held.data(), held.size(), &n), MNEMO_OK);
        EXPECT_LE(n, static_cast<size_t>(p.policy_sink + p.policy_budget)) << "policy " << policy;
        EXPECT_GE(n, static_cast<size_t>(p.policy_budget / 2)) << "policy " << policy;
        EXPECT_EQ(held[0].position, 0) << "the sink keeps position 0";
        EXPECT_EQ(held[n - 1].position, 299) << "the newest token is always held";
    }
    mnemo_session_params p = mnemo_session_default_params();
    p.policy = MNEMO_POLICY_H2O;  // a policy without a budget
    SessionHandle s;
    EXPECT_EQ(mnemo_session_create(model.m, &p, &s.s), MNEMO_ERR_INVALID_ARGUMENT);
}

namespace {
struct EventLog {
    int count = 0;
    int by_reason[5] = {};
    int64_t last_position = -1;
};
void record(const mnemo_eviction_event* e, void* user) {
    auto* log = static_cast<EventLog*>(user);
    ++log->count;
    if (e->reason >= 0 && e->reason < 5) ++log->by_reason[e->reason];
    log->last_position = e->position;
}
}  // namespace

TEST(Runtime, EvictionEventsReportEveryDecision) {
    ModelHandle model("lte");
    SessionHandle s;
    ASSERT_EQ(mnemo_session_create(model.m, nullptr, &s.s), MNEMO_OK);
    EventLog log;
    ASSERT_EQ(mnemo_session_set_eviction_callback(s.s, record, &log), MNEMO_OK);
    const auto tokens = random_tokens(500, 5);
    ASSERT_EQ(mnemo_session_feed(s.s, tokens.data(), tokens.size()), MNEMO_OK);
    EXPECT_GT(log.count, 0);
    // Every token beyond the sink that left the window and is not retained was reported:
    // 2 LTE layers x 2 KV heads x (500 - 17 - 4) candidates, minus those still retained.
    const int candidates = 2 * 2 * (500 - 17 - 4);
    int retained = 0;
    std::vector<mnemo_probe_token> held(64);
    for (int32_t layer : {1, 3})
        for (int32_t h = 0; h < 2; ++h) {
            size_t n = 0;
            ASSERT_EQ(mnemo_probe_head_tokens(s.s, layer, h, held.data(), held.size(), &n), MNEMO_OK);
            for (size_t i = 0; i < n; ++i) retained += held[i].kind == MNEMO_TOKEN_RETAINED;
        }
    EXPECT_EQ(log.by_reason[MNEMO_EVICT_NONPOSITIVE_SCORE] + log.by_reason[MNEMO_EVICT_BUFFER_FULL] +
                  log.by_reason[MNEMO_EVICT_REPLACED] + retained,
              candidates);
    // GDN layers hold no tokens.
    size_t n = 0;
    EXPECT_EQ(mnemo_probe_head_tokens(s.s, 0, 0, held.data(), held.size(), &n), MNEMO_ERR_INVALID_ARGUMENT);
}

TEST(Runtime, BadInputGivesSpecificStatuses) {
    ModelHandle model("lte");
    SessionHandle s;
    ASSERT_EQ(mnemo_session_create(model.m, nullptr, &s.s), MNEMO_OK);
    const int32_t out_of_range[] = {5, 260};
    EXPECT_EQ(mnemo_session_feed(s.s, out_of_range, 2), MNEMO_ERR_OUT_OF_RANGE);
    EXPECT_NE(std::string(mnemo_last_error()).find("260"), std::string::npos);
    const int32_t negative[] = {-1};
    EXPECT_EQ(mnemo_session_feed(s.s, negative, 1), MNEMO_ERR_OUT_OF_RANGE);
    EXPECT_EQ(mnemo_session_feed(s.s, out_of_range, 0), MNEMO_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(mnemo_session_feed(s.s, nullptr, 3), MNEMO_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(mnemo_session_feed(nullptr, out_of_range, 1), MNEMO_ERR_INVALID_ARGUMENT);
    const float* logits = nullptr;
    EXPECT_EQ(mnemo_session_logits(s.s, &logits, nullptr), MNEMO_ERR_STATE);  // nothing fed yet (bad feeds consumed nothing)
    int32_t tok = 0;
    EXPECT_EQ(mnemo_session_sample(s.s, nullptr, &tok), MNEMO_ERR_STATE);

    mnemo_session_params p = mnemo_session_default_params();
    p.chunk_tokens = -1;
    SessionHandle bad;
    EXPECT_EQ(mnemo_session_create(model.m, &p, &bad.s), MNEMO_ERR_INVALID_ARGUMENT);
    p.chunk_tokens = 65537;
    EXPECT_EQ(mnemo_session_create(model.m, &p, &bad.s), MNEMO_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(mnemo_last_error()).find("chunk_tokens = 65537"), std::string::npos);
    p = mnemo_session_default_params();
    p.n_threads = -3;
    EXPECT_EQ(mnemo_session_create(model.m, &p, &bad.s), MNEMO_ERR_INVALID_ARGUMENT);
    p = mnemo_session_default_params();
    p.budget_bytes = 1000;  // below any plan
    EXPECT_EQ(mnemo_session_create(model.m, &p, &bad.s), MNEMO_ERR_BUDGET);
    p = mnemo_session_default_params();
    p.backend = MNEMO_BACKEND_CUDA;
    EXPECT_EQ(mnemo_session_create(model.m, &p, &bad.s), MNEMO_ERR_NO_DEVICE);
    p = mnemo_session_default_params();
    p.max_context = 10;
    ASSERT_EQ(mnemo_session_create(model.m, &p, &bad.s), MNEMO_OK);
    const auto tokens = random_tokens(11, 1);
    EXPECT_EQ(mnemo_session_feed(bad.s, tokens.data(), 11), MNEMO_ERR_OUT_OF_RANGE);
    EXPECT_NE(std::string(mnemo_last_error()).find("max_context"), std::string::npos);
}

namespace {
int cancel_after(void* user) {
    auto* calls = static_cast<int*>(user);
    return ++*calls > 2 ? 1 : 0;
}
}  // namespace

TEST(Runtime, CancellationStopsBetweenChunksAndKeepsTheSessionUsable) {
    ModelHandle model("lte");
    int calls = 0;
    mnemo_session_params p = mnemo_session_default_params();
    p.chunk_tokens = 16;
    p.cancel = cancel_after;
    p.cancel_user_data = &calls;
    SessionHandle s;
    ASSERT_EQ(mnemo_session_create(model.m, &p, &s.s), MNEMO_OK);
    const auto tokens = random_tokens(100, 2);
    EXPECT_EQ(mnemo_session_feed(s.s, tokens.data(), tokens.size()), MNEMO_ERR_CANCELLED);
    int64_t pos = 0;
    ASSERT_EQ(mnemo_session_position(s.s, &pos), MNEMO_OK);
    EXPECT_EQ(pos, 32);  // two chunks completed before the third check cancelled
    // Feeding a cancelled session: the callback still says cancel, so nothing is consumed.
    EXPECT_EQ(mnemo_session_feed(s.s, tokens.data(), 5), MNEMO_ERR_CANCELLED);
    calls = -1000;  // the caller lifts the cancellation: the session goes on from position 32
    EXPECT_EQ(mnemo_session_feed(s.s, tokens.data() + 32, 68), MNEMO_OK);
    ASSERT_EQ(mnemo_session_position(s.s, &pos), MNEMO_OK);
    EXPECT_EQ(pos, 100);
}

// chunk_tokens 0, the default, is the backend's choice: the CPU plans and feeds exactly as with
// 256; the value the session resolved is the one snapshots record.
TEST(Runtime, ChunkTokensZeroIsTheBackendsChoice) {
    ModelHandle model("lte");
    mnemo_session_params p = mnemo_session_default_params();
    EXPECT_EQ(p.chunk_tokens, 0);
    p.backend = MNEMO_BACKEND_CPU;
    p.max_context = 1000;
    const auto plan_for = [&](int32_t chunk) {
        mnemo_session_params q = p;
        q.chunk_tokens = chunk;
        mnemo_memory_plan plan{};
        plan.struct_size = sizeof plan;
        EXPECT_EQ(mnemo_memory_plan_get(model.m, &q, &plan), MNEMO_OK) << mnemo_last_error();
        return plan.scratch_bytes;
    };
    EXPECT_EQ(plan_for(0), plan_for(256));
    EXPECT_LT(plan_for(0), plan_for(2048));
    const auto tokens = random_tokens(600, 11);
    std::vector<float> last[2];
    for (int32_t chunk : {0, 256}) {
        p.chunk_tokens = chunk;
        SessionHandle s;
        ASSERT_EQ(mnemo_session_create(model.m, &p, &s.s), MNEMO_OK) << mnemo_last_error();
        ASSERT_EQ(mnemo_session_feed(s.s, tokens.data(), tokens.size()), MNEMO_OK) << mnemo_last_error();
        const float* logits = nullptr;
        int32_t n = 0;
        ASSERT_EQ(mnemo_session_logits(s.s, &logits, &n), MNEMO_OK);
        last[chunk == 0 ? 0 : 1].assign(logits, logits + n);
        size_t size = 0;
        ASSERT_EQ(mnemo_session_snapshot_size(s.s, &size), MNEMO_OK);
        std::vector<unsigned char> blob(size);
        ASSERT_EQ(mnemo_session_snapshot(s.s, blob.data(), blob.size(), &size), MNEMO_OK) << mnemo_last_error();
        mnemo_snapshot_info info{};
        info.struct_size = sizeof info;
        ASSERT_EQ(mnemo_snapshot_get_info(blob.data(), blob.size(), &info), MNEMO_OK);
        EXPECT_EQ(info.chunk_tokens, 256) << "chunk_tokens " << chunk;
    }
    EXPECT_EQ(last[0], last[1]);  // the same chunks, so the same bits
}

TEST(Runtime, ChunkedPrefillEqualsTokenByTokenOnEveryMixer) {
    for (const char* kind : {"gdn", "swa", "lte", "attn", "nsa"}) {
        ModelHandle model(kind);
        mnemo_session_params p = mnemo_session_default_params();
        p.max_context = 1000;
        const auto tokens = random_tokens(333, 7);
        std::vector<float> reference;
        for (int32_t chunk : {1, 5, 64, 333}) {
            p.chunk_tokens = chunk;
            SessionHandle s;
            ASSERT_EQ(mnemo_session_create(model.m, &p, &s.s), MNEMO_OK) << mnemo_last_error();
            ASSERT_EQ(mnemo_session_feed(s.s, tokens.data(), tokens.size()), MNEMO_OK);
            const float* logits = nullptr;
            int32_t n = 0;
            ASSERT_EQ(mnemo_session_logits(s.s, &logits, &n), MNEMO_OK);
            if (reference.empty()) {
                reference.assign(logits, logits + n);
                continue;
            }
            for (int32_t i = 0; i < n; ++i) ASSERT_NEAR(logits[i], reference[static_cast<size_t>(i)], 1e-4) << kind << " chunk " << chunk;
        }
    }
}

TEST(Runtime, GenerationHonoursStopsLimitsAndTheCallback) {
    ModelHandle model("lte");
    SessionHandle s;
    ASSERT_EQ(mnemo_session_create(model.m, nullptr, &s.s), MNEMO_OK);
    const auto tokens = random_tokens(50, 3);
    ASSERT_EQ(mnemo_session_feed(s.s, tokens.data(), tokens.size()), MNEMO_OK);
    // Greedy generation is deterministic: the same 12 tokens twice from a reset session.
    mnemo_generate_params g = mnemo_generate_default_params();
    g.max_tokens = 12;
    std::vector<int32_t> first(12), second(12);
    size_t n = 0;
    ASSERT_EQ(mnemo_session_generate(s.s, &g, first.data(), first.size(), &n), MNEMO_OK);
    ASSERT_EQ(n, 12u);
    ASSERT_EQ(mnemo_session_reset(s.s), MNEMO_OK);
    ASSERT_EQ(mnemo_session_feed(s.s, tokens.data(), tokens.size()), MNEMO_OK);
    ASSERT_EQ(mnemo_session_generate(s.s, &g, second.data(), second.size(), &n), MNEMO_OK);
    EXPECT_EQ(first, second);
    // A stop token ends generation right after it is emitted.
    ASSERT_EQ(mnemo_session_reset(s.s), MNEMO_OK);
    ASSERT_EQ(mnemo_session_feed(s.s, tokens.data(), tokens.size()), MNEMO_OK);
    g.stop_tokens = &first[3];
    g.n_stop_tokens = 1;
    ASSERT_EQ(mnemo_session_generate(s.s, &g, second.data(), second.size(), &n), MNEMO_OK);
    const size_t first_stop = static_cast<size_t>(std::find(first.begin(), first.end(), first[3]) - first.begin());
    EXPECT_EQ(n, first_stop + 1);
    // A callback returning nonzero stops too; a too-small buffer reports the count.
    ASSERT_EQ(mnemo_session_reset(s.s), MNEMO_OK);
    ASSERT_EQ(mnemo_session_feed(s.s, tokens.data(), tokens.size()), MNEMO_OK);
    g = mnemo_generate_default_params();
    g.max_tokens = 8;
    g.on_token = [](int32_t, const char*, size_t, void* user) { return ++*static_cast<int*>(user) >= 2 ? 1 : 0; };
    int seen = 0;
    g.user_data = &seen;
    ASSERT_EQ(mnemo_session_generate(s.s, &g, second.data(), second.size(), &n), MNEMO_OK);
    EXPECT_EQ(n, 2u);
    g.on_token = nullptr;
    EXPECT_EQ(mnemo_session_generate(s.s, &g, second.data(), 3, &n), MNEMO_ERR_BUFFER_TOO_SMALL);
    EXPECT_EQ(n, 8u);
    g.sampler.temperature = -1;
    EXPECT_EQ(mnemo_session_generate(s.s, &g, second.data(), second.size(), &n), MNEMO_ERR_INVALID_ARGUMENT);
}

TEST(Runtime, SamplerModes) {
    ModelHandle model("gdn");
    SessionHandle s;
    ASSERT_EQ(mnemo_session_create(model.m, nullptr, &s.s), MNEMO_OK);
    const auto tokens = random_tokens(20, 8);
    ASSERT_EQ(mnemo_session_feed(s.s, tokens.data(), tokens.size()), MNEMO_OK);
    const float* logits = nullptr;
    int32_t n = 0;
    ASSERT_EQ(mnemo_session_logits(s.s, &logits, &n), MNEMO_OK);
    const int32_t argmax = static_cast<int32_t>(std::max_element(logits, logits + n) - logits);
    mnemo_sampler_params sp = mnemo_sampler_default_params();
    int32_t tok = -1;
    ASSERT_EQ(mnemo_session_sample(s.s, &sp, &tok), MNEMO_OK);
    EXPECT_EQ(tok, argmax);
    sp.temperature = 1.0f;
    sp.top_k = 1;
    ASSERT_EQ(mnemo_session_sample(s.s, &sp, &tok), MNEMO_OK);
    EXPECT_EQ(tok, argmax) << "top-k 1 is greedy";
    sp.top_k = 0;
    sp.top_p = 1e-6f;
    ASSERT_EQ(mnemo_session_sample(s.s, &sp, &tok), MNEMO_OK);
    EXPECT_EQ(tok, argmax) << "a tiny top-p keeps only the best token";
    // Same seed, same draws; a different seed eventually differs.
    sp.top_p = 1.0f;
    sp.temperature = 5.0f;
    std::vector<int32_t> a, b, c;
    for (uint64_t seed : {1ull, 1ull, 2ull}) {
        sp.seed = seed;
        auto& out = seed == 2 ? c : (a.empty() ? a : b);
        for (int i = 0; i < 16; ++i) {
            sp.seed = seed * 1000 + static_cast<uint64_t>(i);
            ASSERT_EQ(mnemo_session_sample(s.s, &sp, &tok), MNEMO_OK);
            out.push_back(tok);
        }
    }
    EXPECT_EQ(a, b);
    EXPECT_NE(a, c);
    // A strong repetition penalty moves greedy off a token it just saw.
    sp = mnemo_sampler_default_params();
    sp.repetition_penalty = 1e6f;
    const int32_t last = tokens.back();
    ASSERT_EQ(mnemo_session_sample(s.s, &sp, &tok), MNEMO_OK);
    EXPECT_NE(tok, last);
    sp.top_p = 0.0f;
    EXPECT_EQ(mnemo_session_sample(s.s, &sp, &tok), MNEMO_ERR_INVALID_ARGUMENT);
}

TEST(Runtime, NonFiniteWeightsAreRefusedAtLoad) {
    mnemo::ModelConfig c = tiny_config("lte");
    const std::string path = ::testing::TempDir() + "/nan_" + std::to_string(::getpid()) + ".gguf";
    mnemo::GgufWriter w;
    mnemo::write_model_config(c, &w);
    std::vector<std::vector<float>> data;
    for (const auto& spec : mnemo::model_tensor_specs(c)) {
        size_t n = 1;
        for (auto d : spec.shape) n *= static_cast<size_t>(d);
        data.emplace_back(n, 0.01f);
        if (spec.name == "model.layers.2.mlp.up_proj.weight") data.back()[77] = std::nanf("");
        ASSERT_EQ(w.add_tensor(spec.name, mnemo::DType::F32, spec.shape, data.back().data(), n * 4), MNEMO_OK);
    }
    ASSERT_EQ(w.write(path), MNEMO_OK);
    mnemo_model* m = nullptr;
    EXPECT_EQ(mnemo_model_load(path.c_str(), nullptr, &m), MNEMO_ERR_MODEL_INVALID);
    EXPECT_NE(std::string(mnemo_last_error()).find("model.layers.2.mlp.up_proj.weight"), std::string::npos) << mnemo_last_error();
}
