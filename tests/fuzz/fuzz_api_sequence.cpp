// fuzz_api_sequence: the input is a program of C API calls on the tiny models.
//
// Each input decodes (FuzzedDataProvider) into up to 16 operations on up to four live
// sessions and two saved snapshots: create (odd parameters and struct sizes, small
// budgets, a cancel callback), free, reset, feed (out-of-range ids, NULL, 0 tokens,
// past max_context), logits, sample and generate (odd sampler parameters, stop tokens
// and strings, a stopping callback, small output buffers), tokenize arbitrary bytes,
// detokenize arbitrary ids, probes with bad layer and head indices, snapshot, restore
// (also of a damaged blob), create from a snapshot, snapshot info, eviction callbacks,
// memory plans, model and layer info into short structs, NULL handles and arguments,
// and a check that replays a session's tokens into a fresh session. Handles are only
// ever live ones: a stale handle is undefined behaviour (mnemo.h), not an input.
//
// Beyond "no crash, no sanitizer report, no leak": every call returns a status that is
// not MNEMO_ERR_INTERNAL, a failure has a message, and each call's documented contract
// holds (positions move exactly as fed, a refused feed or restore changes nothing,
// a session is created only under its budget, an intact snapshot restores into a
// session of the same model and parameters, nothing is written past a caller's
// struct_size, sampled ids are in range, the byte tokenizer round-trips, a session's
// logits equal those of a fresh session fed the same tokens in other chunks).
// Sessions mostly read one token per chunk (the decode path) to keep runs fast under
// ASan; the GEMM path is covered by the kernel tests and by occasional larger chunks.
#include "fuzz_models.h"

#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <vector>

using namespace mnemo;
using namespace mnemo::fuzz;

namespace {

constexpr int kMaxOps = 16;  // calls per input: longer programs cost more per run than they add
constexpr size_t kMaxFedTokens = 400;  // per input, keeps each input under ~10 ms
constexpr uint64_t kBudget = 1ull << 20;  // larger sessions spend a run zeroing their arena

// The models: the four tiny byte-tokenizer models, plus a SentencePiece one (the
// fuzz_gguf seed) when the source tree is at hand.
struct Models {
    std::vector<mnemo_model*> model;
    std::vector<int32_t> vocab;     // the model's
    std::vector<int32_t> tok_vocab; // its tokenizer's
    std::vector<int32_t> layers;
    std::vector<bool> byte_tokenizer;
};

const Models& models() {
    // Never destroyed (the models live to the end of the process, reachable for LSan).
    static const Models& m = *[] {
        auto* heap = new Models;
        Models& r = *heap;
        const TinyModels& tiny = tiny_models();
        for (size_t k = 0; k < kTinyKinds.size(); ++k) {
            r.model.push_back(tiny.model[k]);
            r.byte_tokenizer.push_back(true);
        }
#ifdef MNEMO_SOURCE_DIR
        mnemo_model* spm = nullptr;
        if (mnemo_model_load(MNEMO_SOURCE_DIR "/tests/fuzz/corpus/fuzz_gguf/gdn_sentencepiece.gguf", nullptr, &spm) == MNEMO_OK) {
            r.model.push_back(spm);
            r.byte_tokenizer.push_back(false);
        }
#endif
        for (mnemo_model* model : r.model) {
            mnemo_model_info info{};
            info.struct_size = sizeof info;
            FUZZ_CHECK(mnemo_model_get_info(model, &info) == MNEMO_OK, "info");
            r.vocab.push_back(info.vocab_size);
            r.layers.push_back(info.n_layers);
            // The tokenizer's vocabulary: the largest id detokenize accepts.
            int32_t lo = 0, hi = info.vocab_size;  // accepted: [0, lo]; refused: hi
            while (hi - lo > 1) {
                const int32_t mid = lo + (hi - lo) / 2;
                char buf[64];
                size_t len = 0;
                const mnemo_status s = mnemo_detokenize(model, &mid, 1, buf, sizeof buf, &len);
                (s == MNEMO_ERR_OUT_OF_RANGE ? hi : lo) = mid;
            }
            r.tok_vocab.push_back(hi);
        }
        return heap;
    }();
    return m;
}

// Every call's status: a verdict with a message on failure.
mnemo_status checked(mnemo_status s, const char* call) {
    FUZZ_CHECK(is_verdict(s), "%s returned %s", call, mnemo_status_name(s));
    FUZZ_CHECK(s == MNEMO_OK || std::strlen(mnemo_last_error()) > 0, "%s failed (%s) without a message", call, mnemo_status_name(s));
    return s;
}
#define CALL(expr) checked((expr), #expr)

struct CancelAfter {
    int calls = 0;
    int limit = 0;  // cancel once `limit` checks have passed
    // A struct_size that ends between `cancel` and `cancel_user_data` leaves the
    // callback with the default NULL user data: then it never cancels.
    static int fn(void* user) {
        auto* self = static_cast<CancelAfter*>(user);
        return self != nullptr && self->calls++ >= self->limit ? 1 : 0;
    }
};

struct EvictionCount {
    int64_t events = 0;
    int32_t n_layers = 0;
    static void fn(const mnemo_eviction_event* e, void* user) {
        auto* self = static_cast<EvictionCount*>(user);
        FUZZ_CHECK(e != nullptr && e->layer >= 0 && e->layer < self->n_layers && e->kv_head >= 0 && e->position >= 0 &&
                       e->reason >= MNEMO_EVICT_NONPOSITIVE_SCORE && e->reason <= MNEMO_EVICT_POLICY,
                   "eviction event out of range");
        ++self->events;
    }
};

struct Slot {
    mnemo_session* s = nullptr;
    size_t model = 0;
    mnemo_session_params params{};  // as the library sees them (copy_in of the caller's struct)
    std::vector<int32_t> history;   // every token the state has read, when known
    bool history_known = true;
    CancelAfter cancel;
    EvictionCount evictions;
};

struct Blob {
    std::vector<uint8_t> bytes;
    size_t model = 0;
    mnemo_session_params params{};
    int64_t position = 0;
    std::vector<int32_t> history;
    bool history_known = false;
};

bool same_shape(const mnemo_session_params& a, const mnemo_session_params& b) {
    return a.max_context == b.max_context && a.policy == b.policy && a.policy_budget == b.policy_budget && a.policy_sink == b.policy_sink;
}

int64_t position_of(const Slot& slot) {
    int64_t p = -1;
    FUZZ_CHECK(mnemo_session_position(slot.s, &p) == MNEMO_OK, "position");
    return p;
}

std::vector<float> logits_of(const mnemo_session* s) {
    const float* l = nullptr;
    int32_t n = 0;
    if (mnemo_session_logits(s, &l, &n) != MNEMO_OK) return {};
    return std::vector<float>(l, l + n);
}

class Program {
public:
    explicit Program(FuzzedDataProvider& in) : in_(in) {}
    ~Program() {
        for (Slot& slot : slots_) mnemo_session_free(slot.s);
    }

    void run() {
        for (int op = 0; op < kMaxOps && in_.remaining_bytes() > 0; ++op) {
            switch (in_.ConsumeIntegralInRange<int>(0, 21)) {
                case 0: create(); break;
                case 1: free_session(); break;
                case 2: reset(); break;
                case 3: feed(); break;
                case 4: logits(); break;
                case 5: sample(); break;
                case 6: generate(); break;
                case 7: tokenize(); break;
                case 8: detokenize(); break;
                case 9: probe_layer(); break;
                case 10: probe_head(); break;
                case 11: snapshot(); break;
                case 12: restore(); break;
                case 13: create_from_snapshot(); break;
                case 14: snapshot_info(); break;
                case 15: eviction_callback(); break;
                case 16: memory_plan(); break;
                case 17: model_info(); break;
                case 18: replay(); break;
                case 19: null_arguments(); break;
                case 20: names(); break;
                case 21: position(); break;
            }
        }
    }

private:
    const Models& m_ = models();
    FuzzedDataProvider& in_;
    std::array<Slot, 4> slots_;
    std::array<Blob, 2> blobs_;
    size_t fed_ = 0;

    Slot& pick_slot() { return slots_[in_.ConsumeIntegralInRange<size_t>(0, slots_.size() - 1)]; }
    Slot* pick_live() {
        Slot& s = pick_slot();
        return s.s != nullptr ? &s : nullptr;
    }
    size_t pick_model() { return in_.ConsumeIntegralInRange<size_t>(0, m_.model.size() - 1); }
    int32_t token_for(size_t model) {
        switch (in_.ConsumeIntegralInRange<int>(0, 15)) {
            case 0: return -1;
            case 1: return m_.vocab[model];
            case 2: return in_.ConsumeIntegral<int32_t>();
            default: return in_.ConsumeIntegralInRange<int32_t>(0, m_.vocab[model] - 1);
        }
    }
    size_t struct_size_for(size_t full) {
        switch (in_.ConsumeIntegralInRange<int>(0, 9)) {
            case 0: return 0;
            case 1: return sizeof(size_t);
            // Whole 8-byte units only: an older caller's struct ends at a field boundary,
            // and a size inside a pointer would hand the library half a pointer (the
            // caller's undefined behaviour, not the library's).
            case 2: return in_.ConsumeIntegralInRange<size_t>(0, full) / 8 * 8;
            case 3: return full + 8;
            case 4: return size_t{1} << 17;
            default: return full;
        }
    }

    mnemo_session_params session_params(size_t model, Slot* slot) {
        mnemo_session_params p = mnemo_session_default_params();
        p.n_threads = in_.PickValueInArray<int32_t>({1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 0, -1, 2000});  // a worker thread costs a clone
        p.max_context = in_.PickValueInArray<int64_t>({0, 0, 1, 5, 48, 200, 1 << 20, int64_t{1} << 40, INT64_MAX, -1});
        // Mostly one-token chunks (the decode path): multi-token chunks take the GEMM path,
        // whose per-call packing buffers cost milliseconds under ASan.
        p.chunk_tokens = in_.PickValueInArray<int32_t>({1, 1, 1, 1, 1, 3, 8, 16, -5, -1, 65537});  // arenas under 128 KiB: ASan maps larger ones afresh (0 would be 256)
        p.policy = static_cast<mnemo_policy>(in_.PickValueInArray<int32_t>({0, 0, 1, 2, 3, 4, 5, -1}));
        p.policy_budget = in_.PickValueInArray<int32_t>({8, 0, 1, 3, 33, -1, INT32_MAX});
        p.policy_sink = in_.PickValueInArray<int32_t>({4, 0, 2, -1, INT32_MAX});
        p.backend = static_cast<mnemo_backend>(in_.PickValueInArray<int32_t>({0, 0, 1, 2, 7}));
        p.budget_bytes = in_.PickValueInArray<uint64_t>({kBudget, kBudget, 1024, 100000, 400000});
        if (slot != nullptr && in_.ConsumeIntegralInRange<int>(0, 7) == 0) {
            slot->cancel = CancelAfter{0, in_.ConsumeIntegralInRange<int>(0, 6)};
            p.cancel = &CancelAfter::fn;
            p.cancel_user_data = &slot->cancel;
        }
        (void)model;
        p.struct_size = struct_size_for(sizeof p);
        return p;
    }

    // The parameters the library reads from the caller's struct (api_util.h copy_in).
    static mnemo_session_params effective(const mnemo_session_params& p) {
        mnemo_session_params e = mnemo_session_default_params();
        std::memcpy(&e, &p, std::min(p.struct_size, sizeof e));
        e.struct_size = sizeof e;
        return e;
    }

    void create() {
        Slot& slot = pick_slot();
        mnemo_session_free(slot.s);
        slot = Slot{};
        slot.model = pick_model();
        const mnemo_session_params p = session_params(slot.model, &slot);
        mnemo_model* model = m_.model[slot.model];
        const mnemo_status s = CALL(mnemo_session_create(model, &p, &slot.s));
        FUZZ_CHECK((s == MNEMO_OK) == (slot.s != nullptr), "create: status and handle disagree");
        const mnemo_session_params e = effective(p);
        const bool struct_ok = p.struct_size >= sizeof(size_t) && p.struct_size <= (1u << 16);
        if (s == MNEMO_OK || s == MNEMO_ERR_BUDGET) {
            FUZZ_CHECK(struct_ok, "accepted struct_size %zu", p.struct_size);
            mnemo_memory_plan plan{};
            plan.struct_size = sizeof plan;
            FUZZ_CHECK(mnemo_memory_plan_get(model, &p, &plan) == MNEMO_OK, "a session was planned at creation but not by plan_get");
            FUZZ_CHECK(plan.total_bytes == plan.state_bytes + plan.scratch_bytes, "plan parts");
            if (s == MNEMO_OK) FUZZ_CHECK(e.budget_bytes == 0 || plan.total_bytes <= e.budget_bytes, "created above its budget");
            else FUZZ_CHECK(plan.total_bytes > e.budget_bytes, "refused for budget under it");
        }
        if (s != MNEMO_OK) return;
        slot.params = e;
        slot.evictions.n_layers = m_.layers[slot.model];
        FUZZ_CHECK(position_of(slot) == 0, "new session not at 0");
    }

    void free_session() {
        Slot& slot = pick_slot();
        mnemo_session_free(slot.s);  // NULL included: a no-op
        slot = Slot{};
    }

    void reset() {
        Slot* slot = pick_live();
        if (slot == nullptr) return;
        FUZZ_CHECK(CALL(mnemo_session_reset(slot->s)) == MNEMO_OK, "reset");
        FUZZ_CHECK(position_of(*slot) == 0, "reset position");
        const float* l = nullptr;
        FUZZ_CHECK(mnemo_session_logits(slot->s, &l, nullptr) == MNEMO_ERR_STATE, "logits after reset");
        slot->history.clear();
        slot->history_known = true;
    }

    void feed() {
        Slot* slot = pick_live();
        if (slot == nullptr) return;
        const size_t n = in_.ConsumeIntegralInRange<size_t>(0, 24);
        std::vector<int32_t> tokens(n);
        bool in_range = true;
        for (auto& t : tokens) {
            t = token_for(slot->model);
            in_range = in_range && t >= 0 && t < m_.vocab[slot->model];
        }
        const bool null_tokens = in_.ConsumeIntegralInRange<int>(0, 15) == 0;
        if (fed_ + n > kMaxFedTokens) return;
        fed_ += n;
        const int64_t before = position_of(*slot);
        const std::vector<float> logits_before = logits_of(slot->s);
        const mnemo_status s = CALL(mnemo_session_feed(slot->s, null_tokens ? nullptr : tokens.data(), n));
        const int64_t after = position_of(*slot);
        const int64_t max_context = slot->params.max_context;
        const bool fits = max_context == 0 || before + static_cast<int64_t>(n) <= max_context;
        if (n == 0 || null_tokens) {
            FUZZ_CHECK(s == MNEMO_ERR_INVALID_ARGUMENT, "feed of %zu tokens (NULL %d): %s", n, null_tokens, mnemo_status_name(s));
        } else if (!in_range || !fits) {
            FUZZ_CHECK(s == MNEMO_ERR_OUT_OF_RANGE, "feed of bad ids or past max_context: %s", mnemo_status_name(s));
        } else {
            FUZZ_CHECK(s == MNEMO_OK || s == MNEMO_ERR_CANCELLED, "feed: %s", mnemo_status_name(s));
        }
        if (s == MNEMO_OK) {
            FUZZ_CHECK(after == before + static_cast<int64_t>(n), "fed %zu at %lld, now at %lld", n, static_cast<long long>(before),
                       static_cast<long long>(after));
            slot->history.insert(slot->history.end(), tokens.begin(), tokens.end());
            const std::vector<float> l = logits_of(slot->s);
            FUZZ_CHECK(static_cast<int32_t>(l.size()) == m_.vocab[slot->model], "no logits after a feed");
            for (float x : l) FUZZ_CHECK(std::isfinite(x), "non-finite logit after a feed");
        } else if (s == MNEMO_ERR_CANCELLED) {
            FUZZ_CHECK(after >= before && after < before + static_cast<int64_t>(n), "cancelled feed moved %lld -> %lld",
                       static_cast<long long>(before), static_cast<long long>(after));
            slot->history.insert(slot->history.end(), tokens.begin(), tokens.begin() + (after - before));
            if (after == before) FUZZ_CHECK(logits_of(slot->s) == logits_before, "a feed cancelled before its first chunk changed the logits");
        } else {
            FUZZ_CHECK(after == before, "a refused feed moved the position");
            FUZZ_CHECK(logits_of(slot->s) == logits_before, "a refused feed changed the logits");
        }
    }

    void logits() {
        Slot* slot = pick_live();
        if (slot == nullptr) return;
        const float* l = nullptr;
        int32_t n = -1;
        const bool null_out = in_.ConsumeIntegralInRange<int>(0, 7) == 0;
        const mnemo_status s = CALL(mnemo_session_logits(slot->s, null_out ? nullptr : &l, in_.ConsumeBool() ? &n : nullptr));
        if (null_out) FUZZ_CHECK(s == MNEMO_ERR_INVALID_ARGUMENT, "logits into NULL: %s", mnemo_status_name(s));
        else FUZZ_CHECK(s == MNEMO_OK || s == MNEMO_ERR_STATE, "logits: %s", mnemo_status_name(s));
        if (s == MNEMO_OK) FUZZ_CHECK(l != nullptr, "OK without logits");
    }

    mnemo_sampler_params sampler_params() {
        mnemo_sampler_params p = mnemo_sampler_default_params();
        p.temperature = in_.PickValueInArray<float>({0.0f, 0.0f, 0.7f, 1.0f, 100.0f, 1e-30f, -1.0f, NAN, INFINITY});
        p.top_k = in_.PickValueInArray<int32_t>({0, 0, 1, 5, 1000, -1});
        p.top_p = in_.PickValueInArray<float>({1.0f, 1.0f, 0.9f, 0.1f, 1e-7f, 0.0f, 1.5f, NAN});
        p.repetition_penalty = in_.PickValueInArray<float>({1.0f, 1.0f, 1.3f, 0.5f, 1e30f, 0.0f, -1.0f, NAN, INFINITY});
        p.repetition_window = in_.PickValueInArray<int32_t>({64, 0, 1, 1000, -1});
        p.seed = in_.ConsumeIntegral<uint64_t>();
        return p;
    }
    static bool sampler_valid(const mnemo_sampler_params& p) {
        return p.temperature >= 0.0f && std::isfinite(p.temperature) && p.top_k >= 0 && p.top_p > 0.0f && p.top_p <= 1.0f &&
               p.repetition_penalty > 0.0f && std::isfinite(p.repetition_penalty) && p.repetition_window >= 0;
    }

    void sample() {
        Slot* slot = pick_live();
        if (slot == nullptr) return;
        mnemo_sampler_params p = sampler_params();
        p.struct_size = struct_size_for(sizeof p);
        mnemo_sampler_params e = mnemo_sampler_default_params();
        std::memcpy(&e, &p, std::min(p.struct_size, sizeof e));
        const bool struct_ok = p.struct_size >= sizeof(size_t) && p.struct_size <= (1u << 16);
        const bool has_logits = !logits_of(slot->s).empty();
        int32_t token = -1;
        const mnemo_status s = CALL(mnemo_session_sample(slot->s, &p, &token));
        if (!struct_ok || !sampler_valid(e)) FUZZ_CHECK(s == MNEMO_ERR_INVALID_ARGUMENT, "sample with bad params: %s", mnemo_status_name(s));
        else if (!has_logits) FUZZ_CHECK(s == MNEMO_ERR_STATE, "sample without logits: %s", mnemo_status_name(s));
        else FUZZ_CHECK(s == MNEMO_OK && token >= 0 && token < m_.vocab[slot->model], "sample: %s, token %d", mnemo_status_name(s), token);
    }

    struct StopAfter {
        int left = 0;
        int32_t vocab = 0;
        static int fn(int32_t token, const char* piece, size_t len, void* user) {
            auto* self = static_cast<StopAfter*>(user);
            FUZZ_CHECK(token >= 0 && token < self->vocab && (piece != nullptr || len == 0), "on_token(%d)", token);
            return --self->left < 0 ? 1 : 0;
        }
    };

    void generate() {
        Slot* slot = pick_live();
        if (slot == nullptr) return;
        mnemo_generate_params p = mnemo_generate_default_params();
        p.sampler = sampler_params();
        p.max_tokens = in_.PickValueInArray<int32_t>({1, 2, 4, 8, 0, -1});
        const int32_t stop_tokens[2] = {token_for(slot->model), token_for(slot->model)};
        const char* const stop_strings[3] = {"e", "\n", in_.ConsumeBool() ? nullptr : ""};
        if (in_.ConsumeBool()) {
            p.stop_tokens = in_.ConsumeIntegralInRange<int>(0, 7) == 0 ? nullptr : stop_tokens;
            p.n_stop_tokens = in_.ConsumeIntegralInRange<size_t>(0, 2);
        }
        if (in_.ConsumeBool()) {
            p.stop_strings = in_.ConsumeIntegralInRange<int>(0, 7) == 0 ? nullptr : stop_strings;
            p.n_stop_strings = in_.ConsumeIntegralInRange<size_t>(0, 3);
        }
        StopAfter stop{in_.ConsumeIntegralInRange<int>(0, 8), m_.vocab[slot->model]};
        if (in_.ConsumeBool()) {
            p.on_token = &StopAfter::fn;
            p.user_data = &stop;
        }
        const size_t capacity = in_.PickValueInArray<size_t>({16, 16, 0, 1, 3});
        std::vector<int32_t> out(16, -7);
        const bool null_out = capacity > 0 && in_.ConsumeIntegralInRange<int>(0, 15) == 0;
        if (fed_ + 8 > kMaxFedTokens) return;
        fed_ += 8;
        const int64_t before = position_of(*slot);
        const bool has_logits = !logits_of(slot->s).empty();
        size_t count = 99;
        const mnemo_status s = CALL(mnemo_session_generate(slot->s, &p, null_out ? nullptr : out.data(), capacity, &count));
        const int64_t after = position_of(*slot);
        const bool bad_lists = (p.stop_tokens == nullptr && p.n_stop_tokens > 0) || (p.stop_strings == nullptr && p.n_stop_strings > 0) ||
                               (p.stop_strings != nullptr && p.n_stop_strings == 3 && stop_strings[2] == nullptr);
        if (null_out || !sampler_valid(p.sampler) || p.max_tokens < 0 || bad_lists)
            FUZZ_CHECK(s == MNEMO_ERR_INVALID_ARGUMENT, "generate with bad arguments: %s", mnemo_status_name(s));
        else if (!has_logits)
            FUZZ_CHECK(s == MNEMO_ERR_STATE, "generate without logits: %s", mnemo_status_name(s));
        if (s != MNEMO_OK && s != MNEMO_ERR_BUFFER_TOO_SMALL) {
            FUZZ_CHECK(s == MNEMO_ERR_INVALID_ARGUMENT || s == MNEMO_ERR_STATE || s == MNEMO_ERR_OUT_OF_RANGE || s == MNEMO_ERR_CANCELLED,
                       "generate: %s", mnemo_status_name(s));
            if (s == MNEMO_ERR_INVALID_ARGUMENT || s == MNEMO_ERR_STATE) FUZZ_CHECK(after == before, "a refused generate moved the position");
            else slot->history_known = false;
            return;
        }
        FUZZ_CHECK(count <= static_cast<size_t>(p.max_tokens), "generated %zu of at most %d", count, p.max_tokens);
        FUZZ_CHECK((s == MNEMO_ERR_BUFFER_TOO_SMALL) == (count > capacity), "generate: %s with %zu tokens in %zu", mnemo_status_name(s),
                   count, capacity);
        // Every generated token but a stopping last one is fed.
        FUZZ_CHECK(count == 0 ? after == before : (after == before + static_cast<int64_t>(count) || after == before + static_cast<int64_t>(count) - 1),
                   "generated %zu tokens, position %lld -> %lld", count, static_cast<long long>(before), static_cast<long long>(after));
        for (size_t i = 0; i < std::min(count, capacity); ++i)
            FUZZ_CHECK(out[i] >= 0 && out[i] < m_.vocab[slot->model], "generated id %d", out[i]);
        if (count > capacity) {
            slot->history_known = false;
        } else {
            slot->history.insert(slot->history.end(), out.begin(), out.begin() + (after - before));
        }
    }

    void tokenize() {
        const size_t model = pick_model();
        const std::vector<uint8_t> text = in_.ConsumeBytes<uint8_t>(in_.ConsumeIntegralInRange<size_t>(0, 48));
        const bool add_bos = in_.ConsumeBool();
        const int how = in_.ConsumeIntegralInRange<int>(0, 7);
        std::vector<int32_t> tokens(64, -7);
        size_t count = 0;
        const char* ptr = text.empty() ? "" : reinterpret_cast<const char*>(text.data());
        mnemo_status s;
        if (how == 0) {  // NULL text with a length
            s = CALL(mnemo_tokenize(m_.model[model], nullptr, text.size() + 1, add_bos, tokens.data(), tokens.size(), &count));
            FUZZ_CHECK(s == MNEMO_ERR_INVALID_ARGUMENT, "tokenize(NULL, %zu): %s", text.size() + 1, mnemo_status_name(s));
            return;
        }
        if (how == 1) {  // size query first
            s = CALL(mnemo_tokenize(m_.model[model], ptr, text.size(), add_bos, nullptr, 0, &count));
            FUZZ_CHECK(s == MNEMO_OK || s == MNEMO_ERR_BUFFER_TOO_SMALL || s == MNEMO_ERR_INVALID_ARGUMENT, "tokenize size: %s",
                       mnemo_status_name(s));
            if (s == MNEMO_ERR_INVALID_ARGUMENT) return;
            FUZZ_CHECK((s == MNEMO_OK) == (count == 0), "size query: %s with %zu", mnemo_status_name(s), count);
            if (count > tokens.size()) return;
        }
        const size_t capacity = how == 2 ? std::min<size_t>(2, tokens.size()) : tokens.size();
        s = CALL(mnemo_tokenize(m_.model[model], ptr, text.size(), add_bos, tokens.data(), capacity, &count));
        FUZZ_CHECK(s == MNEMO_OK || s == MNEMO_ERR_BUFFER_TOO_SMALL || s == MNEMO_ERR_INVALID_ARGUMENT, "tokenize: %s",
                   mnemo_status_name(s));
        if (s == MNEMO_ERR_INVALID_ARGUMENT) {
            FUZZ_CHECK(!m_.byte_tokenizer[model], "the byte tokenizer refused %zu bytes", text.size());
            return;
        }
        if (s == MNEMO_ERR_BUFFER_TOO_SMALL) {
            FUZZ_CHECK(count > capacity, "too small with %zu of %zu", count, capacity);
            return;
        }
        for (size_t i = 0; i < count; ++i) FUZZ_CHECK(tokens[i] >= 0 && tokens[i] < m_.tok_vocab[model], "token id %d", tokens[i]);
        for (size_t i = count; i < tokens.size(); ++i) FUZZ_CHECK(tokens[i] == -7, "written past the count");
        if (m_.byte_tokenizer[model]) {
            const size_t skip = add_bos ? 1 : 0;
            FUZZ_CHECK(count == text.size() + skip, "byte tokenizer: %zu bytes -> %zu tokens", text.size(), count);
            std::vector<char> back(text.size() + 1);
            size_t len = 0;
            FUZZ_CHECK(mnemo_detokenize(m_.model[model], tokens.data() + skip, count - skip, back.data(), back.size(), &len) == MNEMO_OK &&
                           len == text.size() && (len == 0 || std::memcmp(back.data(), text.data(), len) == 0) && back[len] == '\0',
                       "byte tokenizer round trip");
        }
    }

    void detokenize() {
        const size_t model = pick_model();
        std::vector<int32_t> ids(in_.ConsumeIntegralInRange<size_t>(0, 12));
        bool in_range = true;
        for (auto& t : ids) {
            t = token_for(model);
            in_range = in_range && t >= 0 && t < m_.tok_vocab[model];
        }
        const size_t capacity = in_.PickValueInArray<size_t>({0, 1, 4, 256});
        std::vector<char> out(256, 'x');
        size_t len = 0;
        const mnemo_status s = CALL(mnemo_detokenize(m_.model[model], ids.empty() ? nullptr : ids.data(), ids.size(),
                                                     capacity ? out.data() : nullptr, capacity, &len));
        if (!in_range) {
            FUZZ_CHECK(s == MNEMO_ERR_OUT_OF_RANGE, "detokenize of bad ids: %s", mnemo_status_name(s));
            return;
        }
        FUZZ_CHECK(s == MNEMO_OK || s == MNEMO_ERR_BUFFER_TOO_SMALL, "detokenize: %s", mnemo_status_name(s));
        FUZZ_CHECK((s == MNEMO_ERR_BUFFER_TOO_SMALL) == (len > capacity), "detokenize %s: %zu bytes, capacity %zu", mnemo_status_name(s), len,
                   capacity);
        if (s == MNEMO_OK) {
            if (len < capacity) FUZZ_CHECK(out[len] == '\0', "no NUL with room");
            for (size_t i = std::min(capacity, len + 1); i < out.size(); ++i) FUZZ_CHECK(out[i] == 'x', "written past the capacity");
        }
    }

    void probe_layer() {
        Slot* slot = pick_live();
        if (slot == nullptr) return;
        const int32_t layer = in_.ConsumeIntegralInRange<int32_t>(-2, m_.layers[slot->model] + 1);
        const size_t size = struct_size_for(sizeof(mnemo_layer_probe));
        std::vector<unsigned char> buf(sizeof(mnemo_layer_probe) + 64, 0xAB);
        auto* probe = reinterpret_cast<mnemo_layer_probe*>(buf.data());
        probe->struct_size = size;
        const mnemo_status s = CALL(mnemo_probe_layer(slot->s, layer, probe));
        const bool struct_ok = size >= sizeof(size_t) && size <= (1u << 16);
        if (!struct_ok) FUZZ_CHECK(s == MNEMO_ERR_INVALID_ARGUMENT, "probe with struct_size %zu: %s", size, mnemo_status_name(s));
        else if (layer < 0 || layer >= m_.layers[slot->model]) FUZZ_CHECK(s == MNEMO_ERR_OUT_OF_RANGE, "probe of layer %d: %s", layer, mnemo_status_name(s));
        else FUZZ_CHECK(s == MNEMO_OK, "probe: %s", mnemo_status_name(s));
        if (s == MNEMO_OK)
            for (size_t i = std::min(size, sizeof(mnemo_layer_probe)); i < buf.size(); ++i)
                FUZZ_CHECK(buf[i] == 0xAB, "probe wrote byte %zu past struct_size %zu", i, size);
        if (s == MNEMO_OK && size >= sizeof(mnemo_layer_probe)) {
            FUZZ_CHECK(probe->state_bytes_used <= probe->state_bytes_reserved, "used > reserved");
            FUZZ_CHECK(probe->window_end == position_of(*slot) && probe->window_begin <= probe->window_end, "window");
        }
    }

    void probe_head() {
        Slot* slot = pick_live();
        if (slot == nullptr) return;
        const int32_t layer = in_.ConsumeIntegralInRange<int32_t>(-1, m_.layers[slot->model]);
        const int32_t head = in_.ConsumeIntegralInRange<int32_t>(-1, 3);
        const size_t capacity = in_.PickValueInArray<size_t>({0, 1, 64, 256});
        std::vector<mnemo_probe_token> out(256);
        size_t n = 0;
        const bool null_count = in_.ConsumeIntegralInRange<int>(0, 15) == 0;
        const mnemo_status s = CALL(mnemo_probe_head_tokens(slot->s, layer, head, capacity ? out.data() : nullptr, capacity,
                                                            null_count ? nullptr : &n));
        if (null_count) {
            FUZZ_CHECK(s == MNEMO_ERR_INVALID_ARGUMENT, "probe_head_tokens(NULL count): %s", mnemo_status_name(s));
            return;
        }
        FUZZ_CHECK(s == MNEMO_OK || s == MNEMO_ERR_BUFFER_TOO_SMALL || s == MNEMO_ERR_OUT_OF_RANGE || s == MNEMO_ERR_INVALID_ARGUMENT,
                   "probe_head_tokens: %s", mnemo_status_name(s));
        if (layer < 0 || layer >= m_.layers[slot->model]) FUZZ_CHECK(s == MNEMO_ERR_OUT_OF_RANGE, "head probe of layer %d", layer);
        if (s == MNEMO_OK || s == MNEMO_ERR_BUFFER_TOO_SMALL) FUZZ_CHECK((s == MNEMO_OK) == (n <= capacity), "head probe count");
        if (s == MNEMO_OK) {
            const int64_t pos = position_of(*slot);
            for (size_t i = 0; i < n; ++i)
                FUZZ_CHECK(out[i].position >= 0 && out[i].position < pos && (i == 0 || out[i - 1].position < out[i].position) &&
                               out[i].kind >= MNEMO_TOKEN_SINK && out[i].kind <= MNEMO_TOKEN_RETAINED,
                           "held token %zu", i);
        }
    }

    void snapshot() {
        Slot* slot = pick_live();
        if (slot == nullptr) return;
        Blob& b = blobs_[in_.ConsumeIntegralInRange<size_t>(0, blobs_.size() - 1)];
        size_t size = 0;
        FUZZ_CHECK(CALL(mnemo_session_snapshot_size(slot->s, &size)) == MNEMO_OK && size >= MNEMO_SNAPSHOT_HEADER_BYTES, "snapshot size");
        const int how = in_.ConsumeIntegralInRange<int>(0, 3);
        std::vector<uint8_t> buf(size);
        size_t got = 0;
        if (how == 0) {  // size query with no buffer
            FUZZ_CHECK(CALL(mnemo_session_snapshot(slot->s, nullptr, 0, &got)) == MNEMO_ERR_BUFFER_TOO_SMALL && got == size, "size query");
            return;
        }
        if (how == 1) {
            FUZZ_CHECK(CALL(mnemo_session_snapshot(slot->s, buf.data(), size - 1, &got)) == MNEMO_ERR_BUFFER_TOO_SMALL && got == size, "too small");
            return;
        }
        FUZZ_CHECK(CALL(mnemo_session_snapshot(slot->s, buf.data(), buf.size(), &got)) == MNEMO_OK && got == size, "snapshot");
        b.bytes = std::move(buf);
        b.model = slot->model;
        b.params = slot->params;
        b.position = position_of(*slot);
        b.history = slot->history;
        b.history_known = slot->history_known;
    }

    // A copy of blob b, maybe damaged; *intact says whether it still is the snapshot.
    std::vector<uint8_t> blob_copy(const Blob& b, bool* intact) {
        std::vector<uint8_t> bytes = b.bytes;
        *intact = true;
        switch (in_.ConsumeIntegralInRange<int>(0, 7)) {
            case 0: {  // flip a bit anywhere
                if (bytes.empty()) break;
                const size_t at = in_.ConsumeIntegralInRange<size_t>(0, bytes.size() - 1);
                bytes[at] ^= static_cast<uint8_t>(1u << in_.ConsumeIntegralInRange<int>(0, 7));
                *intact = false;
                break;
            }
            case 1:  // truncated
                if (!bytes.empty()) bytes.resize(in_.ConsumeIntegralInRange<size_t>(0, bytes.size() - 1));
                *intact = false;
                break;
            case 2:  // one byte too many
                bytes.push_back(0);
                *intact = false;
                break;
            default: break;
        }
        return bytes;
    }

    void restore() {
        Slot* slot = pick_live();
        if (slot == nullptr) return;
        const Blob& b = blobs_[in_.ConsumeIntegralInRange<size_t>(0, blobs_.size() - 1)];
        if (b.bytes.empty()) return;
        bool intact = true;
        const std::vector<uint8_t> bytes = blob_copy(b, &intact);
        const int64_t before = position_of(*slot);
        const std::vector<float> logits_before = logits_of(slot->s);
        static const uint8_t kEmpty = 0;
        const mnemo_status s = CALL(mnemo_session_restore(slot->s, bytes.empty() ? &kEmpty : bytes.data(), bytes.size()));
        const bool fits = intact && b.model == slot->model && same_shape(b.params, slot->params);
        if (fits) FUZZ_CHECK(s == MNEMO_OK, "an intact snapshot of the same model and shape was refused: %s", mnemo_status_name(s));
        if (intact && b.model != slot->model) FUZZ_CHECK(s == MNEMO_ERR_MISMATCH, "another model's snapshot: %s", mnemo_status_name(s));
        if (!intact) FUZZ_CHECK(s != MNEMO_OK, "a damaged snapshot was restored");
        if (s == MNEMO_OK) {
            FUZZ_CHECK(position_of(*slot) == b.position, "restored position");
            slot->history = b.history;
            slot->history_known = b.history_known;
        } else {
            FUZZ_CHECK(position_of(*slot) == before && logits_of(slot->s) == logits_before, "a refused restore changed the session");
        }
    }

    void create_from_snapshot() {
        Slot& slot = pick_slot();
        const Blob& b = blobs_[in_.ConsumeIntegralInRange<size_t>(0, blobs_.size() - 1)];
        if (b.bytes.empty()) return;
        mnemo_session_free(slot.s);
        slot = Slot{};
        slot.model = pick_model();
        bool intact = true;
        const std::vector<uint8_t> bytes = blob_copy(b, &intact);
        mnemo_session_params p = mnemo_session_default_params();
        p.n_threads = 1;
        p.chunk_tokens = 1;
        p.budget_bytes = kBudget;
        static const uint8_t kEmpty = 0;
        const mnemo_status s =
            CALL(mnemo_session_create_from_snapshot(m_.model[slot.model], bytes.empty() ? &kEmpty : bytes.data(), bytes.size(), &p, &slot.s));
        FUZZ_CHECK((s == MNEMO_OK) == (slot.s != nullptr), "status and handle disagree");
        // (The new session's chunk size is 1, so its plan may differ from the original's.)
        if (intact && b.model == slot.model)
            FUZZ_CHECK(s == MNEMO_OK || s == MNEMO_ERR_BUDGET, "an intact snapshot was refused: %s", mnemo_status_name(s));
        if (intact && b.model != slot.model) FUZZ_CHECK(s == MNEMO_ERR_MISMATCH, "another model's snapshot: %s", mnemo_status_name(s));
        if (!intact) FUZZ_CHECK(s != MNEMO_OK, "a damaged snapshot was restored");
        if (s != MNEMO_OK) return;
        slot.params = p;
        slot.params.max_context = b.params.max_context;
        slot.params.policy = b.params.policy;
        slot.params.policy_budget = b.params.policy_budget;
        slot.params.policy_sink = b.params.policy_sink;
        slot.evictions.n_layers = m_.layers[slot.model];
        slot.history = b.history;
        slot.history_known = b.history_known;
        FUZZ_CHECK(position_of(slot) == b.position, "position after create_from_snapshot");
    }

    void snapshot_info() {
        const Blob& b = blobs_[in_.ConsumeIntegralInRange<size_t>(0, blobs_.size() - 1)];
        bool intact = true;
        const std::vector<uint8_t> bytes = blob_copy(b, &intact);
        const size_t size = struct_size_for(sizeof(mnemo_snapshot_info));
        std::vector<unsigned char> buf(sizeof(mnemo_snapshot_info) + 64, 0xAB);
        auto* info = reinterpret_cast<mnemo_snapshot_info*>(buf.data());
        info->struct_size = size;
        const mnemo_status s = CALL(mnemo_snapshot_get_info(bytes.empty() ? nullptr : bytes.data(), bytes.size(), info));
        if (bytes.empty()) FUZZ_CHECK(s != MNEMO_OK, "info of nothing");
        if (s == MNEMO_OK) {
            FUZZ_CHECK(intact, "info of a damaged blob");
            for (size_t i = std::min(size, sizeof(mnemo_snapshot_info)); i < buf.size(); ++i)
                FUZZ_CHECK(buf[i] == 0xAB, "info wrote past struct_size");
            if (size >= sizeof(mnemo_snapshot_info))
                FUZZ_CHECK(info->position == b.position && info->state_bytes + MNEMO_SNAPSHOT_HEADER_BYTES == b.bytes.size(), "info fields");
        }
    }

    void eviction_callback() {
        Slot* slot = pick_live();
        if (slot == nullptr) return;
        const bool set = in_.ConsumeBool();
        FUZZ_CHECK(CALL(mnemo_session_set_eviction_callback(slot->s, set ? &EvictionCount::fn : nullptr, &slot->evictions)) == MNEMO_OK,
                   "set eviction callback");
    }

    void memory_plan() {
        const size_t model = pick_model();
        mnemo_session_params p = session_params(model, nullptr);
        const int32_t layer = in_.ConsumeIntegralInRange<int32_t>(-1, m_.layers[model]);
        mnemo_memory_plan plan{};
        plan.struct_size = struct_size_for(sizeof plan);
        const mnemo_status s = CALL(mnemo_memory_plan_get(m_.model[model], in_.ConsumeBool() ? &p : nullptr, &plan));
        if (s == MNEMO_OK && plan.struct_size >= sizeof plan) FUZZ_CHECK(plan.total_bytes == plan.state_bytes + plan.scratch_bytes, "plan");
        uint64_t layer_bytes = 0;
        const mnemo_status ls = CALL(mnemo_memory_plan_layer(m_.model[model], &p, layer, &layer_bytes));
        if (layer < 0 || layer >= m_.layers[model]) FUZZ_CHECK(ls != MNEMO_OK, "plan of layer %d", layer);
    }

    void model_info() {
        const size_t model = pick_model();
        const size_t size = struct_size_for(sizeof(mnemo_model_info));
        std::vector<unsigned char> buf(sizeof(mnemo_model_info) + 64, 0xAB);
        auto* info = reinterpret_cast<mnemo_model_info*>(buf.data());
        info->struct_size = size;
        const mnemo_status s = CALL(mnemo_model_get_info(m_.model[model], info));
        if (s == MNEMO_OK)
            for (size_t i = std::min(size, sizeof(mnemo_model_info)); i < buf.size(); ++i) FUZZ_CHECK(buf[i] == 0xAB, "info past struct_size");
        const int32_t layer = in_.ConsumeIntegral<int32_t>() % (m_.layers[model] + 3);
        mnemo_layer_info li{};
        li.struct_size = struct_size_for(sizeof li);
        const mnemo_status ls = CALL(mnemo_model_get_layer_info(m_.model[model], layer, &li));
        if (ls == MNEMO_OK) FUZZ_CHECK(layer >= 0 && layer < m_.layers[model], "layer info of %d", layer);
    }

    // Every (layer, head, position, kind) an attention-family layer holds.
    static std::vector<int64_t> held_tokens(const mnemo_session* s, int32_t n_layers) {
        std::vector<int64_t> all;
        std::vector<mnemo_probe_token> out(4096);
        for (int32_t layer = 0; layer < n_layers; ++layer) {
            mnemo_layer_probe lp{};
            lp.struct_size = sizeof lp;
            if (mnemo_probe_layer(s, layer, &lp) != MNEMO_OK) continue;
            for (int32_t h = 0; h < lp.n_kv_heads; ++h) {
                size_t n = 0;
                if (mnemo_probe_head_tokens(s, layer, h, out.data(), out.size(), &n) != MNEMO_OK) continue;
                for (size_t i = 0; i < n; ++i) all.insert(all.end(), {layer, h, out[i].position, static_cast<int64_t>(out[i].kind)});
            }
        }
        return all;
    }

    // The session's logits equal a fresh session's fed the same tokens in other chunks
    // (3 tokens, or 1 if the session's were larger), when both hold the same tokens.
    void replay() {
        Slot* slot = pick_live();
        if (slot == nullptr || !slot->history_known || slot->history.empty() || slot->history.size() > 200) return;
        const std::vector<float> have = logits_of(slot->s);
        if (have.empty()) return;
        FUZZ_CHECK(position_of(*slot) == static_cast<int64_t>(slot->history.size()), "history and position disagree");
        mnemo_session_params p = slot->params;
        p.chunk_tokens = p.chunk_tokens == 1 ? 3 : 1;
        p.n_threads = 1;
        p.cancel = nullptr;
        p.budget_bytes = 0;
        mnemo_session* fresh = nullptr;
        FUZZ_CHECK(mnemo_session_create(m_.model[slot->model], &p, &fresh) == MNEMO_OK, "replay session");
        FUZZ_CHECK(mnemo_session_feed(fresh, slot->history.data(), slot->history.size()) == MNEMO_OK, "replay feed");
        const std::vector<float> want = logits_of(fresh);
        // LTE's retention is a discrete decision on scores that agree across chunkings to
        // ~1e-5 (docs/parity.md): a near tie may keep another token, and then the logits
        // legitimately differ. Compare logits only when both sessions hold the same tokens.
        const bool same_tokens = held_tokens(slot->s, m_.layers[slot->model]) == held_tokens(fresh, m_.layers[slot->model]);
        mnemo_session_free(fresh);
        FUZZ_CHECK(want.size() == have.size(), "replay vocab");
        for (size_t i = 0; i < want.size() && same_tokens; ++i)
            FUZZ_CHECK(std::fabs(want[i] - have[i]) <= 1e-3f * std::max(1.0f, std::fabs(want[i])), "logit %zu: %g vs replayed %g after %zu tokens", i,
                       static_cast<double>(have[i]), static_cast<double>(want[i]), slot->history.size());
    }

    void null_arguments() {
        const size_t model = pick_model();
        Slot* slot = pick_live();
        mnemo_session* s = slot != nullptr ? slot->s : nullptr;
        int32_t tok = 0;
        size_t n = 0;
        int64_t pos = 0;
        uint64_t u = 0;
        const float* l = nullptr;
        mnemo_session* out = nullptr;
        mnemo_model* out_model = nullptr;
        mnemo_session_params sp = mnemo_session_default_params();
        mnemo_status st = MNEMO_OK;
        switch (in_.ConsumeIntegralInRange<int>(0, 17)) {
            case 0: st = CALL(mnemo_session_create(nullptr, &sp, &out)); break;
            case 1: st = CALL(mnemo_session_create(m_.model[model], &sp, nullptr)); break;
            case 2: st = CALL(mnemo_session_feed(nullptr, &tok, 1)); break;
            case 3: st = CALL(mnemo_session_logits(nullptr, &l, nullptr)); break;
            case 4: st = CALL(mnemo_session_sample(s, nullptr, nullptr)); break;
            case 5: st = CALL(mnemo_session_generate(s, nullptr, nullptr, 0, nullptr)); break;
            case 6: st = CALL(mnemo_tokenize(nullptr, "a", 1, 0, &tok, 1, &n)); break;
            case 7: st = CALL(mnemo_tokenize(m_.model[model], "a", 1, 0, &tok, 1, nullptr)); break;
            case 8: st = CALL(mnemo_detokenize(nullptr, &tok, 1, nullptr, 0, &n)); break;
            case 9: st = CALL(mnemo_probe_layer(s, 0, nullptr)); break;
            case 10: st = CALL(mnemo_session_snapshot(s, nullptr, 8, &n)); break;
            case 11: st = CALL(mnemo_session_restore(s, nullptr, 128)); break;
            case 12: st = CALL(mnemo_session_create_from_snapshot(m_.model[model], nullptr, 0, nullptr, &out)); break;
            case 13: st = CALL(mnemo_model_hash(nullptr, &u)); break;
            case 14: st = CALL(mnemo_session_position(s, nullptr)); break;
            case 15: st = CALL(mnemo_model_load(nullptr, nullptr, &out_model)); break;
            case 16: st = CALL(mnemo_memory_plan_get(m_.model[model], &sp, nullptr)); break;
            case 17:
                mnemo_session_free(nullptr);
                mnemo_model_free(nullptr);
                mnemo_store_close(nullptr);
                return;
        }
        (void)pos;
        FUZZ_CHECK(st == MNEMO_ERR_INVALID_ARGUMENT || st == MNEMO_ERR_TRUNCATED, "NULL argument gave %s", mnemo_status_name(st));
        FUZZ_CHECK(out == nullptr && out_model == nullptr, "a handle from a NULL argument");
    }

    void names() {
        const int32_t v = in_.ConsumeIntegral<int32_t>();
        FUZZ_CHECK(mnemo_status_name(static_cast<mnemo_status>(v)) != nullptr, "status name");
        FUZZ_CHECK(mnemo_mixer_kind_name(static_cast<mnemo_mixer_kind>(v)) != nullptr, "mixer name");
        FUZZ_CHECK(mnemo_version() == MNEMO_VERSION && mnemo_last_error() != nullptr, "version");
    }

    void position() {
        Slot* slot = pick_live();
        if (slot == nullptr) return;
        int64_t p = -1;
        FUZZ_CHECK(CALL(mnemo_session_position(slot->s, &p)) == MNEMO_OK && p >= 0, "position");
        if (slot->history_known) FUZZ_CHECK(p == static_cast<int64_t>(slot->history.size()), "position %lld, history %zu", static_cast<long long>(p), slot->history.size());
    }
};

}  // namespace

// A small ASan quarantine (1 MiB): runs create and free many session arenas, and a large one
// keeps handing out fresh pages (page faults were a third of a run). Use-after-free
// within a run is still caught; ASAN_OPTIONS in the environment adds to this.
extern "C" const char* __asan_default_options() { return "quarantine_size_mb=1"; }

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    Program program(in);
    program.run();
    return 0;
}
