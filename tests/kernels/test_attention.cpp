#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <tuple>
#include <vector>

#include "cpu/attention.h"
#include "cpu/thread_pool.h"
#include "test_util.h"

namespace mnemo::cpu {
namespace {

constexpr double kTol = 2e-6;

// A cache of n_slots rows; keys live in a shuffled subset of slots.
struct Cache {
    int64_t n_slots, dk, dv, k_stride, v_stride;
    std::vector<float> k, v;
    Cache(int64_t slots, int64_t key_dim, int64_t value_dim, uint32_t seed)
        : n_slots(slots), dk(key_dim), dv(value_dim), k_stride(key_dim + 2), v_stride(value_dim + 1) {
        k = test::random_normal(static_cast<size_t>(slots * k_stride), seed);
        v = test::random_normal(static_cast<size_t>(slots * v_stride), seed + 1);
    }
    KvView view() const { return KvView{k.data(), k_stride, v.data(), v_stride, dk, dv}; }
};

std::vector<int32_t> shuffled_slots(int64_t n, int64_t n_slots, uint32_t seed) {
    std::vector<int32_t> all(static_cast<size_t>(n_slots));
    std::iota(all.begin(), all.end(), 0);
    std::mt19937 rng(seed);
    std::shuffle(all.begin(), all.end(), rng);
    all.resize(static_cast<size_t>(n));
    return all;
}

// ---------------------------------------------------------------------------------------
struct IndexedCase {
    int64_t heads, keys, dk, dv;
};

class IndexedAttentionTest : public ::testing::TestWithParam<std::tuple<Isa, IndexedCase>> {};

TEST_P(IndexedAttentionTest, MatchesReferenceWithProbabilities) {
    const auto [isa, c] = GetParam();
    ScopedIsa scoped(isa);
    const Cache cache(c.keys + 7, c.dk, c.dv, 3);
    const auto slots = shuffled_slots(c.keys, cache.n_slots, 4);
    const int64_t q_stride = c.dk + 1, out_stride = c.dv + 2, probs_stride = c.keys + 3;
    const auto q = test::random_normal(static_cast<size_t>(c.heads * q_stride), 5, 2.0f);
    std::vector<float> out(static_cast<size_t>(c.heads * out_stride), 0.0f), ref = out;
    std::vector<float> probs(static_cast<size_t>(c.heads * probs_stride), 0.0f), probs_ref = probs;
    IndexedAttentionArgs a;
    a.q = q.data();
    a.q_head_stride = q_stride;
    a.n_q_heads = c.heads;
    a.kv = cache.view();
    a.slots = slots.data();
    a.n_keys = c.keys;
    a.scale = 1.0f / std::sqrt(static_cast<float>(c.dk));
    a.out = out.data();
    a.out_head_stride = out_stride;
    a.probs = probs.data();
    a.probs_head_stride = probs_stride;
    attention_indexed(a);
    a.out = ref.data();
    a.probs = probs_ref.data();
    attention_indexed_reference(a);
    EXPECT_TRUE(test::close_rel(out, ref, kTol));
    EXPECT_TRUE(test::close_rel(probs, probs_ref, kTol));
}

INSTANTIATE_TEST_SUITE_P(Table, IndexedAttentionTest,
                         ::testing::Combine(::testing::ValuesIn(test::isas_to_test()),
                                            ::testing::Values(IndexedCase{1, 1, 8, 8}, IndexedCase{2, 13, 64, 64},
                                                              IndexedCase{4, 200, 64, 48}, IndexedCase{16, 77, 128, 128},
                                                              IndexedCase{3, 1030, 32, 80})),
                         [](const auto& info) {
                             const IndexedCase& c = std::get<1>(info.param);
                             return test::join_name(test::isa_label(std::get<0>(info.param)), "_G", c.heads, "_N",
                                                    c.keys, "_dk", c.dk, "_dv", c.dv);
                         });

// ---------------------------------------------------------------------------------------
struct CausalCase {
    int64_t tokens, heads, past_keys, dk, dv, window;
    int pinned_every;  // 0: none; n: every n-th key is pinned
    bool prob_sums;
};

struct CausalData {
    CausalCase c;
    Cache cache;
    std::vector<int32_t> slots;
    std::vector<int64_t> key_pos, q_pos;
    std::vector<uint8_t> pinned;
    std::vector<float> q;
    int64_t q_token_stride, out_token_stride;

    CausalData(const CausalCase& cs, uint32_t seed)
        : c(cs), cache(cs.past_keys + cs.tokens + 5, cs.dk, cs.dv, seed) {
        const int64_t n_keys = c.past_keys + c.tokens;
        slots = shuffled_slots(n_keys, cache.n_slots, seed + 1);
        // Past keys sit at increasing but gappy positions (evicted tokens leave holes); the
        // chunk's own tokens follow contiguously, as in a prefill after earlier decoding.
        int64_t pos = 0;
        for (int64_t i = 0; i < c.past_keys; ++i) {
            pos += 1 + (i % 3 == 0 ? 2 : 0);
            key_pos.push_back(pos);
        }
        for (int64_t t = 0; t < c.tokens; ++t) {
            ++pos;
            key_pos.push_back(pos);
            q_pos.push_back(pos);
        }
        pinned.assign(static_cast<size_t>(n_keys), 0);
        if (c.pinned_every > 0) {
            for (int64_t i = 0; i < n_keys; i += c.pinned_every) pinned[static_cast<size_t>(i)] = 1;
        }
        q_token_stride = c.heads * c.dk + 3;
        out_token_stride = c.heads * c.dv + 1;
        q = test::random_normal(static_cast<size_t>(c.tokens * q_token_stride), seed + 2, 2.0f);
    }
    CausalAttentionArgs args(float* out, float* sums) const {
        CausalAttentionArgs a;
        a.q = q.data();
        a.q_token_stride = q_token_stride;
        a.q_head_stride = c.dk;
        a.n_tokens = c.tokens;
        a.n_q_heads = c.heads;
        a.q_positions = q_pos.data();
        a.kv = cache.view();
        a.slots = slots.data();
        a.n_keys = static_cast<int64_t>(key_pos.size());
        a.key_positions = key_pos.data();
        a.key_pinned = c.pinned_every > 0 ? pinned.data() : nullptr;
        a.window = c.window;
        a.scale = 1.0f / std::sqrt(static_cast<float>(c.dk));
        a.out = out;
        a.out_token_stride = out_token_stride;
        a.out_head_stride = c.dv;
        a.prob_sums = sums;
        a.prob_sums_head_stride = a.n_keys;
        return a;
    }
    size_t out_size() const { return static_cast<size_t>(c.tokens * out_token_stride); }
    size_t sums_size() const { return static_cast<size_t>(c.heads) * key_pos.size(); }
};

std::vector<CausalCase> causal_cases() {
    return {
        {1, 1, 0, 8, 8, 0, 0, false},       {7, 2, 0, 16, 16, 0, 0, true},     {40, 1, 100, 64, 64, 0, 0, false},
        {33, 4, 50, 32, 24, 17, 0, true},   {70, 2, 150, 64, 64, 65, 5, true}, {20, 16, 10, 64, 64, 8, 3, false},
        {130, 1, 0, 48, 40, 0, 0, true},    {5, 3, 300, 64, 64, 4, 0, false},
    };
}

class CausalAttentionTest : public ::testing::TestWithParam<std::tuple<Isa, CausalCase>> {};

TEST_P(CausalAttentionTest, MatchesReference) {
    const auto [isa, c] = GetParam();
    ScopedIsa scoped(isa);
    ThreadPool pool(2);
    const CausalData d(c, 21);
    std::vector<float> out(d.out_size(), 0.0f), ref = out;
    std::vector<float> sums(d.sums_size(), -1.0f), sums_ref = sums;
    attention_causal(d.args(out.data(), c.prob_sums ? sums.data() : nullptr), &pool);
    attention_causal_reference(d.args(ref.data(), c.prob_sums ? sums_ref.data() : nullptr));
    EXPECT_TRUE(test::close_rel(out, ref, kTol));
    if (c.prob_sums) {
        EXPECT_TRUE(test::close_rel(sums, sums_ref, 4e-6));
    }
}

TEST_P(CausalAttentionTest, PrefillEqualsTokenByTokenDecode) {
    const auto [isa, c] = GetParam();
    ScopedIsa scoped(isa);
    const CausalData d(c, 22);
    std::vector<float> out(d.out_size(), 0.0f);
    attention_causal(d.args(out.data(), nullptr));
    std::vector<float> decoded(d.out_size(), 0.0f);
    for (int64_t t = 0; t < c.tokens; ++t) {
        std::vector<int32_t> visible;
        for (size_t i = 0; i < d.key_pos.size(); ++i) {
            const bool pinned = c.pinned_every > 0 && d.pinned[i] != 0;
            if (attention_key_visible(d.q_pos[static_cast<size_t>(t)], d.key_pos[i], pinned, c.window)) {
                visible.push_back(d.slots[i]);
            }
        }
        IndexedAttentionArgs a;
        a.q = d.q.data() + t * d.q_token_stride;
        a.q_head_stride = c.dk;
        a.n_q_heads = c.heads;
        a.kv = d.cache.view();
        a.slots = visible.data();
        a.n_keys = static_cast<int64_t>(visible.size());
        a.scale = 1.0f / std::sqrt(static_cast<float>(c.dk));
        a.out = decoded.data() + t * d.out_token_stride;
        a.out_head_stride = c.dv;
        attention_indexed(a);
    }
    EXPECT_TRUE(test::close_rel(out, decoded, kTol));
}

TEST_P(CausalAttentionTest, ThreadCountDoesNotChangeBits) {
    const auto [isa, c] = GetParam();
    ScopedIsa scoped(isa);
    const CausalData d(c, 23);
    std::vector<float> out1(d.out_size(), 0.0f), sums1(d.sums_size(), 0.0f);
    attention_causal(d.args(out1.data(), sums1.data()), nullptr);
    for (int threads : {2, 3}) {
        ThreadPool pool(threads);
        std::vector<float> out(d.out_size(), 0.0f), sums(d.sums_size(), 0.0f);
        attention_causal(d.args(out.data(), sums.data()), &pool);
        EXPECT_TRUE(test::bit_equal(out, out1));
        EXPECT_TRUE(test::bit_equal(sums, sums1));
    }
}

INSTANTIATE_TEST_SUITE_P(Table, CausalAttentionTest,
                         ::testing::Combine(::testing::ValuesIn(test::isas_to_test()), ::testing::ValuesIn(causal_cases())),
                         [](const auto& info) {
                             const CausalCase& c = std::get<1>(info.param);
                             return test::join_name(test::isa_label(std::get<0>(info.param)), "_T", c.tokens, "_G",
                                                    c.heads, "_past", c.past_keys, "_dk", c.dk, "_dv", c.dv, "_w",
                                                    c.window, "_pin", c.pinned_every, c.prob_sums ? "_sums" : "");
                         });

TEST(Attention, VisibilityRule) {
    EXPECT_TRUE(attention_key_visible(10, 10, false, 1));   // window 1 = the current token only
    EXPECT_FALSE(attention_key_visible(10, 9, false, 1));
    EXPECT_TRUE(attention_key_visible(10, 9, false, 2));
    EXPECT_FALSE(attention_key_visible(10, 11, true, 0));  // never the future, pinned or not
    EXPECT_TRUE(attention_key_visible(10, 0, true, 3));    // pinned ignores the window
    EXPECT_TRUE(attention_key_visible(10, 0, false, 0));   // unlimited
}

}  // namespace
}  // namespace mnemo::cpu
