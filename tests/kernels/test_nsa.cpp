#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <tuple>
#include <vector>

#include "cpu/nsa.h"
#include "cpu/thread_pool.h"
#include "test_util.h"

namespace mnemo::cpu {
namespace {

struct NsaCase {
    int64_t keys, tokens, heads, dk, dv, block_size, n_select, window;
};

struct NsaData {
    NsaCase c;
    int64_t k_stride, v_stride, q_token_stride, out_token_stride;
    std::vector<float> k, v, q, kc, vc, gates;  // gates [T, G, 3] = (cmp, slc, swa), as g_proj
    std::vector<int64_t> q_pos;

    NsaData(const NsaCase& cs, uint32_t seed) : c(cs) {
        k_stride = c.dk + 1;
        v_stride = c.dv + 2;
        k = test::random_normal(static_cast<size_t>(c.keys * k_stride), seed);
        v = test::random_normal(static_cast<size_t>(c.keys * v_stride), seed + 1);
        // Queries: the last `tokens` positions (a prefill chunk after earlier tokens).
        q_token_stride = c.heads * c.dk + 3;
        out_token_stride = c.heads * c.dv + 1;
        q = test::random_normal(static_cast<size_t>(c.tokens * q_token_stride), seed + 2, 2.0f);
        for (int64_t t = 0; t < c.tokens; ++t) q_pos.push_back(c.keys - c.tokens + t);
        const int64_t n_blocks = (c.keys + c.block_size - 1) / c.block_size;
        kc.resize(static_cast<size_t>(n_blocks * c.dk));
        vc.resize(static_cast<size_t>(n_blocks * c.dv));
        nsa_compress_mean(k.data(), k_stride, c.keys, c.dk, c.block_size, kc.data(), c.dk);
        nsa_compress_mean(v.data(), v_stride, c.keys, c.dv, c.block_size, vc.data(), c.dv);
        gates = test::random_floats(static_cast<size_t>(c.tokens * c.heads * 3), seed + 3, 0.0f, 1.0f);
    }

    NsaArgs args(float* out, int32_t* selected, int64_t t0 = 0, int64_t n = -1) const {
        NsaArgs a;
        a.q = q.data() + t0 * q_token_stride;
        a.q_token_stride = q_token_stride;
        a.q_head_stride = c.dk;
        a.n_tokens = n < 0 ? c.tokens - t0 : n;
        a.n_q_heads = c.heads;
        a.q_positions = q_pos.data() + t0;
        a.kv = KvView{k.data(), k_stride, v.data(), v_stride, c.dk, c.dv};
        a.n_keys = c.keys;
        a.compressed = KvView{kc.data(), c.dk, vc.data(), c.dv, c.dk, c.dv};
        a.block_size = c.block_size;
        a.n_select = c.n_select;
        a.window = c.window;
        a.scale = 1.0f / std::sqrt(static_cast<float>(c.dk));
        a.g_cmp = gates.data() + t0 * c.heads * 3;
        a.g_slc = a.g_cmp + 1;
        a.g_swa = a.g_cmp + 2;
        a.gate_token_stride = c.heads * 3;
        a.gate_head_stride = 3;
        a.out = out + t0 * out_token_stride;
        a.out_token_stride = out_token_stride;
        a.out_head_stride = c.dv;
        a.selected_blocks = selected != nullptr ? selected + t0 * c.n_select : nullptr;
        return a;
    }
    size_t out_size() const { return static_cast<size_t>(c.tokens * out_token_stride); }
    size_t sel_size() const { return static_cast<size_t>(c.tokens * c.n_select); }
};

class NsaTest : public ::testing::TestWithParam<std::tuple<Isa, NsaCase>> {};

TEST_P(NsaTest, FastMatchesNaive) {
    const auto [isa, c] = GetParam();
    ScopedIsa scoped(isa);
    ThreadPool pool(2);
    const NsaData d(c, 40);
    std::vector<float> out(d.out_size(), 0.0f), ref = out;
    std::vector<int32_t> sel(d.sel_size(), 7), sel_ref = sel;
    nsa_attention(d.args(out.data(), sel.data()), &pool);
    nsa_attention_naive(d.args(ref.data(), sel_ref.data()));
    EXPECT_EQ(sel, sel_ref);
    EXPECT_TRUE(test::close_rel(out, ref, 2e-6));
}

TEST_P(NsaTest, PrefillEqualsTokenByTokenAndThreadsDoNotChangeBits) {
    const auto [isa, c] = GetParam();
    ScopedIsa scoped(isa);
    const NsaData d(c, 41);
    std::vector<float> out(d.out_size(), 0.0f);
    nsa_attention(d.args(out.data(), nullptr), nullptr);
    std::vector<float> decoded(d.out_size(), 0.0f);
    for (int64_t t = 0; t < c.tokens; ++t) nsa_attention(d.args(decoded.data(), nullptr, t, 1), nullptr);
    EXPECT_TRUE(test::bit_equal(decoded, out));
    ThreadPool pool(3);
    std::vector<float> threaded(d.out_size(), 0.0f);
    nsa_attention(d.args(threaded.data(), nullptr), &pool);
    EXPECT_TRUE(test::bit_equal(threaded, out));
}

INSTANTIATE_TEST_SUITE_P(Table, NsaTest,
                         ::testing::Combine(::testing::ValuesIn(test::isas_to_test()),
                                            ::testing::Values(NsaCase{1, 1, 1, 8, 8, 4, 2, 2},
                                                              NsaCase{40, 40, 2, 16, 16, 8, 3, 5},
                                                              NsaCase{150, 30, 16, 32, 32, 16, 4, 20},
                                                              NsaCase{300, 64, 4, 64, 48, 16, 8, 0},
                                                              NsaCase{257, 17, 16, 64, 64, 32, 16, 64},
                                                              NsaCase{100, 100, 2, 16, 24, 10, 1, 7})),
                         [](const auto& info) {
                             const NsaCase& c = std::get<1>(info.param);
                             return test::join_name(test::isa_label(std::get<0>(info.param)), "_N", c.keys, "_T",
                                                    c.tokens, "_G", c.heads, "_dk", c.dk, "_dv", c.dv, "_bs",
                                                    c.block_size, "_S", c.n_select, "_w", c.window);
                         });

TEST(Nsa, CompressMeanAveragesPartialLastBlock) {
    const std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};  // 5 rows of 2
    std::vector<float> out(3 * 2, -1.0f);
    nsa_compress_mean(x.data(), 2, 5, 2, 2, out.data(), 2);
    EXPECT_EQ(out, (std::vector<float>{2, 3, 6, 7, 9, 10}));
}

TEST(Nsa, SelectionForcesFirstCurrentAndPreviousBlocks) {
    // Query in block 6: block 0, 5, 6 forced; then best of 1..4 by importance, ties low first.
    const std::vector<float> importance = {0.0f, 0.3f, 0.9f, 0.3f, 0.1f, 0.0f, 0.0f};
    std::vector<int32_t> out(5);
    EXPECT_EQ(nsa_select_blocks(importance.data(), 6, 4.0f, 5, out.data()), 5);
    EXPECT_EQ(out, (std::vector<int32_t>{0, 5, 6, 2, 1}));
    // Fewer candidates than slots: −1 padding.
    std::vector<int32_t> few(4);
    EXPECT_EQ(nsa_select_blocks(importance.data(), 1, 4.0f, 4, few.data()), 2);
    EXPECT_EQ(few, (std::vector<int32_t>{0, 1, -1, -1}));
    // Only one slot: ties among forced blocks go to the lowest index.
    std::vector<int32_t> one(1);
    nsa_select_blocks(importance.data(), 6, 4.0f, 1, one.data());
    EXPECT_EQ(one[0], 0);
}

}  // namespace
}  // namespace mnemo::cpu
