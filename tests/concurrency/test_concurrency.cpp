// Concurrency (issue 10): the thread-safety rules of mnemo.h, exercised so that
// ThreadSanitizer (scripts/test's TSan stage, build-tsan) sees every shared path.
//  - one model shared by many threads, each with its own session, gives bit-identical
//    results to the same work done on one thread;
//  - a stress test: many short sessions created and freed concurrently, with
//    tokenize/detokenize, info, plans, hashes and probes on the shared model, and
//    snapshots restored across threads;
//  - stores: one handle per thread on one database file;
//  - mnemo_last_error is per thread;
//  - the CPU thread pool: several outside threads on one pool, nested calls, pools
//    created and destroyed while others run.
// Threads record what they see; assertions run on the main thread (GoogleTest's
// assertions are not meant for worker threads).
#include "tiny_model.h"

#include "cpu/thread_pool.h"
#include "mnemo/mnemo.h"

#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <cstring>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

using mnemo::test_support::tiny_config;
using mnemo::test_support::write_tiny_model;

namespace {

constexpr int kThreads = 6;

std::string scratch(const std::string& name) {
    const std::string dir = ::testing::TempDir() + "mnemo_concurrency_" + std::to_string(::getpid());
    std::filesystem::create_directories(dir);
    return dir + "/" + name;
}

struct Model {
    mnemo_model* m = nullptr;
    explicit Model(const std::string& kind, int layers = 4) {
        const std::string path = scratch("tiny_" + kind + "_" + std::to_string(layers) + ".gguf");
        if (!std::filesystem::exists(path)) {
            EXPECT_EQ(write_tiny_model(path, tiny_config(kind, layers)), MNEMO_OK);
        }
        EXPECT_EQ(mnemo_model_load(path.c_str(), nullptr, &m), MNEMO_OK) << mnemo_last_error();
    }
    ~Model() { mnemo_model_free(m); }
    Model(const Model&) = delete;
    Model& operator=(const Model&) = delete;
};

std::vector<int32_t> prompt_for(int i, size_t n = 40) {
    std::mt19937 rng(100 + static_cast<uint32_t>(i));
    std::vector<int32_t> t(n);
    for (auto& x : t) x = 4 + static_cast<int32_t>(rng() % 256);
    return t;
}

// What one greedy run produces: the generated ids and the bits of the last logits.
struct GreedyRun {
    mnemo_status status = MNEMO_ERR_INTERNAL;
    std::string error;
    std::vector<int32_t> generated;
    std::vector<uint32_t> logit_bits;
    bool operator==(const GreedyRun& o) const { return status == o.status && generated == o.generated && logit_bits == o.logit_bits; }
};

mnemo_session_params params_for(const std::string& kind, int n_threads) {
    mnemo_session_params p = mnemo_session_default_params();
    p.n_threads = n_threads;
    p.chunk_tokens = 16;
    if (kind == "attn" || kind == "nsa") p.max_context = 256;
    return p;
}

GreedyRun greedy_run(const mnemo_model* model, const std::string& kind, int i, int n_threads) {
    GreedyRun r;
    mnemo_session* s = nullptr;
    const mnemo_session_params p = params_for(kind, n_threads);
    auto done = [&](mnemo_status st) {
        r.status = st;
        if (st != MNEMO_OK) r.error = mnemo_last_error();
        mnemo_session_free(s);
        return r;
    };
    mnemo_status st = mnemo_session_create(model, &p, &s);
    if (st != MNEMO_OK) return done(st);
    const auto prompt = prompt_for(i);
    if ((st = mnemo_session_feed(s, prompt.data(), prompt.size())) != MNEMO_OK) return done(st);
    mnemo_generate_params g = mnemo_generate_default_params();
    g.max_tokens = 12;
    r.generated.resize(12);
    size_t n = 0;
    if ((st = mnemo_session_generate(s, &g, r.generated.data(), r.generated.size(), &n)) != MNEMO_OK) return done(st);
    r.generated.resize(n);
    const float* logits = nullptr;
    int32_t vocab = 0;
    if ((st = mnemo_session_logits(s, &logits, &vocab)) != MNEMO_OK) return done(st);
    r.logit_bits.resize(static_cast<size_t>(vocab));
    std::memcpy(r.logit_bits.data(), logits, r.logit_bits.size() * sizeof(float));
    return done(MNEMO_OK);
}

}  // namespace

// One model, kThreads threads, each with its own session (two pool threads each, so
// the pools run concurrently too): the same ids and logit bits as one thread alone.
class SharedModel : public ::testing::TestWithParam<std::string> {};

TEST_P(SharedModel, ManyThreadsGiveTheSingleThreadedResults) {
    const std::string kind = GetParam();
    Model model(kind);
    ASSERT_NE(model.m, nullptr);
    std::vector<GreedyRun> reference;
    for (int i = 0; i < kThreads; ++i) {
        reference.push_back(greedy_run(model.m, kind, i, 1));
        ASSERT_EQ(reference.back().status, MNEMO_OK) << reference.back().error;
        ASSERT_FALSE(reference.back().generated.empty());
    }
    for (int round = 0; round < 2; ++round) {
        std::vector<GreedyRun> got(kThreads);
        std::barrier start(kThreads);
        std::vector<std::thread> threads;
        for (int i = 0; i < kThreads; ++i)
            threads.emplace_back([&, i] {
                start.arrive_and_wait();
                got[static_cast<size_t>(i)] = greedy_run(model.m, kind, i, 2);
            });
        for (auto& t : threads) t.join();
        for (int i = 0; i < kThreads; ++i) {
            EXPECT_EQ(got[static_cast<size_t>(i)].status, MNEMO_OK) << got[static_cast<size_t>(i)].error;
            EXPECT_TRUE(got[static_cast<size_t>(i)] == reference[static_cast<size_t>(i)]) << kind << " thread " << i << " round " << round;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Kinds, SharedModel, ::testing::Values("lte", "swa", "attn", "nsa", "gdn"));

// Many short sessions created and freed concurrently (eviction policies included),
// while other threads tokenize, read info and plans, hash the model and probe; each
// worker also snapshots its session and restores it into a fresh one, which must
// continue bit-identically.
TEST(Concurrency, StressManyShortSessionsAndSharedModelCalls) {
    Model model("attn");
    ASSERT_NE(model.m, nullptr);
    uint64_t expected_hash = 0;
    ASSERT_EQ(mnemo_model_hash(model.m, &expected_hash), MNEMO_OK);
    constexpr int kIterations = 12;
    std::atomic<int> failures{0};
    std::vector<std::string> errors(kThreads + 2);
    auto fail = [&](int who, const std::string& what) {
        if (failures.fetch_add(1) < 20) errors[static_cast<size_t>(who)] = what + ": " + mnemo_last_error();
    };
    std::barrier start(kThreads + 2);
    std::vector<std::thread> threads;
    for (int w = 0; w < kThreads; ++w)
        threads.emplace_back([&, w] {
            std::mt19937 rng(static_cast<uint32_t>(w));
            start.arrive_and_wait();
            for (int it = 0; it < kIterations; ++it) {
                mnemo_session_params p = mnemo_session_default_params();
                p.n_threads = 1 + static_cast<int>(rng() % 2);
                p.chunk_tokens = 1 + static_cast<int>(rng() % 9);
                p.policy = static_cast<mnemo_policy>(rng() % 5);
                p.policy_budget = 6;
                p.policy_sink = 2;
                if (p.policy == MNEMO_POLICY_NONE) p.max_context = 64;
                mnemo_session* s = nullptr;
                if (mnemo_session_create(model.m, &p, &s) != MNEMO_OK) { fail(w, "create"); continue; }
                std::vector<int32_t> tokens(5 + rng() % 20);
                for (auto& t : tokens) t = 4 + static_cast<int32_t>(rng() % 256);
                if (mnemo_session_feed(s, tokens.data(), tokens.size()) != MNEMO_OK) fail(w, "feed");
                for (int32_t layer = 0; layer < 4; ++layer) {
                    mnemo_layer_probe probe{};
                    probe.struct_size = sizeof probe;
                    if (mnemo_probe_layer(s, layer, &probe) != MNEMO_OK) fail(w, "probe");
                    mnemo_probe_token held[128];
                    size_t n = 0;
                    if (probe.n_kv_heads > 0 && mnemo_probe_head_tokens(s, layer, 0, held, 128, &n) != MNEMO_OK) fail(w, "head probe");
                }
                size_t size = 0;
                mnemo_session_snapshot_size(s, &size);
                std::vector<uint8_t> blob(size);
                if (mnemo_session_snapshot(s, blob.data(), blob.size(), &size) != MNEMO_OK) fail(w, "snapshot");
                mnemo_session* copy = nullptr;
                if (mnemo_session_create_from_snapshot(model.m, blob.data(), blob.size(), &p, &copy) != MNEMO_OK) {
                    fail(w, "create_from_snapshot");
                } else {
                    const int32_t next = 42;
                    const float *a = nullptr, *b = nullptr;
                    if (mnemo_session_feed(s, &next, 1) != MNEMO_OK || mnemo_session_feed(copy, &next, 1) != MNEMO_OK ||
                        mnemo_session_logits(s, &a, nullptr) != MNEMO_OK || mnemo_session_logits(copy, &b, nullptr) != MNEMO_OK ||
                        std::memcmp(a, b, 260 * sizeof(float)) != 0)
                        fail(w, "restored session diverged");
                    mnemo_session_free(copy);
                }
                mnemo_session_free(s);
            }
        });
    // Two threads calling the shared model's read-only functions meanwhile.
    for (int r = 0; r < 2; ++r)
        threads.emplace_back([&, r] {
            const int who = kThreads + r;
            start.arrive_and_wait();
            for (int it = 0; it < 30; ++it) {
                const std::string text = "concurrent text " + std::to_string(it) + " h\xC3\xA9llo";
                int32_t ids[128];
                size_t n = 0;
                if (mnemo_tokenize(model.m, text.data(), text.size(), 1, ids, 128, &n) != MNEMO_OK) fail(who, "tokenize");
                char back[256];
                size_t len = 0;
                if (mnemo_detokenize(model.m, ids + 1, n - 1, back, sizeof back, &len) != MNEMO_OK || std::string(back, len) != text)
                    fail(who, "detokenize");
                mnemo_model_info info{};
                info.struct_size = sizeof info;
                mnemo_layer_info li{};
                li.struct_size = sizeof li;
                if (mnemo_model_get_info(model.m, &info) != MNEMO_OK || mnemo_model_get_layer_info(model.m, it % 4, &li) != MNEMO_OK)
                    fail(who, "info");
                mnemo_session_params p = mnemo_session_default_params();
                p.max_context = 1 + it;
                mnemo_memory_plan plan{};
                plan.struct_size = sizeof plan;
                if (mnemo_memory_plan_get(model.m, &p, &plan) != MNEMO_OK) fail(who, "plan");
                uint64_t hash = 0;
                if (it % 10 == 0 && (mnemo_model_hash(model.m, &hash) != MNEMO_OK || hash != expected_hash)) fail(who, "hash");
            }
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(failures.load(), 0);
    for (const auto& e : errors) EXPECT_TRUE(e.empty()) << e;
}

// The last error is the calling thread's: an error in one thread does not change
// another thread's message, and a success clears only the caller's.
TEST(Concurrency, LastErrorIsPerThread) {
    Model model("lte");
    std::barrier step(kThreads);
    std::vector<std::string> before(kThreads), after(kThreads);
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i)
        threads.emplace_back([&, i] {
            // A failure whose message names this thread's layer index.
            mnemo_layer_info li{};
            li.struct_size = sizeof li;
            mnemo_model_get_layer_info(model.m, 100 + i, &li);
            before[static_cast<size_t>(i)] = mnemo_last_error();
            step.arrive_and_wait();  // every thread has failed differently
            step.arrive_and_wait();
            after[static_cast<size_t>(i)] = mnemo_last_error();
        });
    for (auto& t : threads) t.join();
    for (int i = 0; i < kThreads; ++i) {
        EXPECT_NE(before[static_cast<size_t>(i)].find("layer " + std::to_string(100 + i)), std::string::npos) << before[static_cast<size_t>(i)];
        EXPECT_EQ(after[static_cast<size_t>(i)], before[static_cast<size_t>(i)]);
    }
}

// Stores: one handle per thread on one database file (WAL; writers wait for each
// other up to busy_timeout_ms). Every thread adds, ingests and asks about its own
// documents and lists everyone's; at the end every document is there, ingested, with
// its questions.
TEST(Concurrency, OneStoreHandlePerThreadOnOneDatabase) {
    Model model("swa", 2);
    const std::string db = scratch("store_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + ".db");
    std::filesystem::remove(db);
    {
        mnemo_store* s = nullptr;
        ASSERT_EQ(mnemo_store_open(db.c_str(), nullptr, &s), MNEMO_OK) << mnemo_last_error();
        mnemo_store_close(s);
    }
    constexpr int kStoreThreads = 4, kDocs = 3;
    std::vector<std::string> errors(kStoreThreads);
    std::vector<std::vector<std::string>> answers(kStoreThreads);
    std::barrier start(kStoreThreads);
    std::vector<std::thread> threads;
    for (int w = 0; w < kStoreThreads; ++w)
        threads.emplace_back([&, w] {
            auto fail = [&](const std::string& what) {
                if (errors[static_cast<size_t>(w)].empty()) errors[static_cast<size_t>(w)] = what + ": " + mnemo_last_error();
            };
            mnemo_store_params sp = mnemo_store_default_params();
            sp.busy_timeout_ms = 60000;
            mnemo_store* store = nullptr;
            start.arrive_and_wait();
            if (mnemo_store_open(db.c_str(), &sp, &store) != MNEMO_OK) return fail("open");
            mnemo_session_params p = mnemo_session_default_params();
            p.n_threads = 1;
            mnemo_session* session = nullptr;
            if (mnemo_session_create(model.m, &p, &session) != MNEMO_OK) return fail("session");
            for (int d = 0; d < kDocs; ++d) {
                const std::string title = "doc " + std::to_string(w) + "." + std::to_string(d);
                const std::string text = "Thread " + std::to_string(w) + " wrote document " + std::to_string(d) + ". The key is " +
                                         std::to_string(w * 10 + d) + ".";
                int64_t id = 0;
                if (mnemo_store_add_document(store, title.c_str(), text.data(), text.size(), &id) != MNEMO_OK) { fail("add " + title); continue; }
                if (mnemo_store_ingest(store, session, id, nullptr, nullptr) != MNEMO_OK) { fail("ingest " + title); continue; }
                mnemo_ask_params ap = mnemo_ask_default_params();
                ap.generate.max_tokens = 4;
                ap.n_threads = 1;
                mnemo_answer a{};
                a.struct_size = sizeof a;
                if (mnemo_store_ask(store, model.m, id, "What is the key?", &ap, &a) != MNEMO_OK) { fail("ask " + title); continue; }
                answers[static_cast<size_t>(w)].emplace_back(a.text, a.text_len);
                size_t n = 0;
                const mnemo_status ls = mnemo_store_list_documents(store, nullptr, 0, &n);
                if ((ls != MNEMO_OK && ls != MNEMO_ERR_BUFFER_TOO_SMALL) || n < static_cast<size_t>(d + 1)) fail("list");
            }
            mnemo_session_free(session);
            mnemo_store_close(store);
        });
    for (auto& t : threads) t.join();
    for (const auto& e : errors) EXPECT_TRUE(e.empty()) << e;

    mnemo_store* s = nullptr;
    ASSERT_EQ(mnemo_store_open(db.c_str(), nullptr, &s), MNEMO_OK);
    std::vector<mnemo_document> docs(kStoreThreads * kDocs + 1);
    for (auto& d : docs) d.struct_size = sizeof d;
    size_t n = 0;
    ASSERT_EQ(mnemo_store_list_documents(s, docs.data(), docs.size(), &n), MNEMO_OK) << mnemo_last_error();
    EXPECT_EQ(n, static_cast<size_t>(kStoreThreads * kDocs));
    for (size_t i = 0; i < n; ++i) {
        EXPECT_EQ(docs[i].ingested, 1) << docs[i].title;
        EXPECT_EQ(docs[i].n_questions, 1) << docs[i].title;
    }
    mnemo_store_close(s);
    for (int w = 0; w < kStoreThreads; ++w) EXPECT_EQ(answers[static_cast<size_t>(w)].size(), static_cast<size_t>(kDocs));
}

// The CPU thread pool (kernels/cpu/thread_pool.h): outside threads sharing one pool
// are serialised and each gets its own complete result; nested calls run inline;
// pools are created and destroyed while others work.
TEST(ThreadPoolConcurrency, OutsideThreadsShareOnePoolAndPoolsComeAndGo) {
    mnemo::cpu::ThreadPool shared(3);
    constexpr int kCallers = 4, kCalls = 150;
    std::vector<int> bad(kCallers, 0);
    std::vector<std::thread> threads;
    for (int c = 0; c < kCallers; ++c)
        threads.emplace_back([&, c] {
            std::vector<int64_t> out(257);
            for (int call = 0; call < kCalls; ++call) {
                const int64_t n = 1 + (c * 31 + call * 7) % 257;
                std::fill(out.begin(), out.end(), -1);
                shared.parallel_for(n, 1 + call % 5, [&](int64_t begin, int64_t end) {
                    for (int64_t i = begin; i < end; ++i) {
                        // A nested call runs inline on the calling thread; when the outer
                        // call itself ran inline on this outside thread (one chunk), the
                        // nested one is a real job on the pool: hence the atomic.
                        std::atomic<int64_t> inner{0};
                        mnemo::cpu::parallel_for(&shared, 4, 1, [&](int64_t b, int64_t e) { inner += e - b; });
                        out[static_cast<size_t>(i)] = i * 3 + c + (inner == 4 ? 0 : 1000000);
                    }
                });
                for (int64_t i = 0; i < 257; ++i)
                    if (out[static_cast<size_t>(i)] != (i < n ? i * 3 + c : -1)) ++bad[static_cast<size_t>(c)];
            }
            // Short-lived pools of every size while the shared one is busy.
            for (int k = 1; k <= 4; ++k) {
                mnemo::cpu::ThreadPool own(k);
                std::atomic<int64_t> sum{0};
                own.parallel_for(1000, 10, [&](int64_t begin, int64_t end) {
                    int64_t local = 0;
                    for (int64_t i = begin; i < end; ++i) local += i;
                    sum += local;
                });
                if (sum.load() != 999 * 1000 / 2) ++bad[static_cast<size_t>(c)];
            }
        });
    for (auto& t : threads) t.join();
    for (int c = 0; c < kCallers; ++c) EXPECT_EQ(bad[static_cast<size_t>(c)], 0) << "caller " << c;
}
