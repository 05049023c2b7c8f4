// Norms, activations, softmax, RoPE and the causal short convolution.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <tuple>
#include <vector>

#include "cpu/activation.h"
#include "cpu/norm.h"
#include "cpu/rope.h"
#include "cpu/short_conv.h"
#include "cpu/thread_pool.h"
#include "test_util.h"

namespace mnemo::cpu {
namespace {

constexpr double kTol = 2e-6;

// ---------------------------------------------------------------------------------------
struct RowCase {
    int64_t rows, dim;
};
std::vector<RowCase> row_cases() { return {{1, 1}, {3, 7}, {5, 64}, {17, 100}, {4, 256}, {2, 1031}}; }

class RowOpTest : public ::testing::TestWithParam<std::tuple<Isa, RowCase>> {};

TEST_P(RowOpTest, NormsMatchReference) {
    const auto [isa, c] = GetParam();
    ScopedIsa scoped(isa);
    ThreadPool pool(2);
    const int64_t stride = c.dim + 3;
    const auto x = test::random_normal(static_cast<size_t>(c.rows * stride), 1, 2.0f);
    const auto g = test::random_normal(static_cast<size_t>(c.rows * stride), 2, 2.0f);
    const auto w = test::random_floats(static_cast<size_t>(c.dim), 3, 0.5f, 1.5f);
    std::vector<float> fast(x.size(), 0.0f), ref(x.size(), 0.0f);
    const RowsArgs fast_rows{x.data(), stride, fast.data(), stride, c.rows, c.dim};
    const RowsArgs ref_rows{x.data(), stride, ref.data(), stride, c.rows, c.dim};

    rms_norm(fast_rows, w.data(), 1e-6f, &pool);
    rms_norm_reference(ref_rows, w.data(), 1e-6f);
    EXPECT_TRUE(test::close_rel(fast, ref, kTol)) << "rms_norm";

    rms_norm(fast_rows, nullptr, 1e-5f, &pool);
    rms_norm_reference(ref_rows, nullptr, 1e-5f);
    EXPECT_TRUE(test::close_rel(fast, ref, kTol)) << "rms_norm without weight";

    rms_norm_gated(fast_rows, g.data(), stride, w.data(), 1e-5f, &pool);
    rms_norm_gated_reference(ref_rows, g.data(), stride, w.data(), 1e-5f);
    EXPECT_TRUE(test::close_rel(fast, ref, kTol)) << "rms_norm_gated";

    l2_norm(fast_rows, kL2NormEps, &pool);
    l2_norm_reference(ref_rows, kL2NormEps);
    EXPECT_TRUE(test::close_rel(fast, ref, kTol)) << "l2_norm";

    softmax(fast_rows, &pool);
    softmax_reference(ref_rows);
    EXPECT_TRUE(test::close_rel(fast, ref, kTol)) << "softmax";
    for (int64_t r = 0; r < c.rows; ++r) {
        double sum = 0.0;
        for (int64_t i = 0; i < c.dim; ++i) sum += fast[static_cast<size_t>(r * stride + i)];
        EXPECT_NEAR(sum, 1.0, 1e-5);
    }
}

TEST_P(RowOpTest, ElementwiseMatchReference) {
    const auto [isa, c] = GetParam();
    ScopedIsa scoped(isa);
    const int64_t n = c.rows * c.dim;
    auto x = test::random_normal(static_cast<size_t>(n), 4, 6.0f);
    if (n > 2) {
        x[0] = 95.0f;  // exp overflow territory
        x[1] = -95.0f;
    }
    const auto up = test::random_normal(static_cast<size_t>(n), 5, 1.0f);
    std::vector<float> fast(static_cast<size_t>(n)), ref(static_cast<size_t>(n));
    silu(x.data(), fast.data(), n);
    silu_reference(x.data(), ref.data(), n);
    EXPECT_TRUE(test::close_rel(fast, ref, kTol)) << "silu";
    sigmoid(x.data(), fast.data(), n);
    sigmoid_reference(x.data(), ref.data(), n);
    EXPECT_TRUE(test::close_rel(fast, ref, kTol)) << "sigmoid";
    softplus(x.data(), fast.data(), n);
    softplus_reference(x.data(), ref.data(), n);
    EXPECT_TRUE(test::close_rel(fast, ref, kTol)) << "softplus";
    swiglu(x.data(), up.data(), fast.data(), n);
    swiglu_reference(x.data(), up.data(), ref.data(), n);
    EXPECT_TRUE(test::close_rel(fast, ref, kTol)) << "swiglu";
    add(x.data(), up.data(), fast.data(), n);
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(fast[static_cast<size_t>(i)], x[static_cast<size_t>(i)] + up[static_cast<size_t>(i)]);
    // In place.
    std::vector<float> inplace = x;
    silu(inplace.data(), inplace.data(), n);
    silu(x.data(), fast.data(), n);
    EXPECT_TRUE(test::bit_equal(inplace, fast));
}

INSTANTIATE_TEST_SUITE_P(Table, RowOpTest,
                         ::testing::Combine(::testing::ValuesIn(test::isas_to_test()), ::testing::ValuesIn(row_cases())),
                         [](const auto& info) {
                             const RowCase& c = std::get<1>(info.param);
                             return test::join_name(test::isa_label(std::get<0>(info.param)), "_rows", c.rows, "_dim", c.dim);
                         });

TEST(Softmax, MaskedEntriesAndLargeValues) {
    for (Isa isa : test::isas_to_test()) {
        ScopedIsa scoped(isa);
        std::vector<float> x = {-INFINITY, 1000.0f, 999.0f, -INFINITY, 0.0f, 1000.0f, -INFINITY, -INFINITY, 5.0f};
        std::vector<float> y(x.size()), ref(x.size());
        softmax(RowsArgs{x.data(), 9, y.data(), 9, 1, 9});
        softmax_reference(RowsArgs{x.data(), 9, ref.data(), 9, 1, 9});
        EXPECT_TRUE(test::close_rel(y, ref, 1e-6));
        EXPECT_EQ(y[0], 0.0f);
        std::vector<float> all_masked(5, -INFINITY), out(5, 1.0f);
        softmax(RowsArgs{all_masked.data(), 5, out.data(), 5, 1, 5});
        for (float v : out) EXPECT_EQ(v, 0.0f);
    }
}

TEST(L2Norm, EpsConventionMatchesFla) {
    // FLA: x / sqrt(sum(x²) + eps), eps = 1e-6 added to the sum (not the mean).
    std::vector<float> x = {1e-3f, 0.0f, 0.0f, 0.0f};
    std::vector<float> y(4);
    l2_norm(RowsArgs{x.data(), 4, y.data(), 4, 1, 4});
    EXPECT_NEAR(y[0], 1e-3 / std::sqrt(1e-6 + 1e-6), 1e-6);
}

// ---------------------------------------------------------------------------------------
struct RopeCase {
    int64_t tokens, heads, head_dim, rotary_dim;
    float theta;
};

class RopeTest : public ::testing::TestWithParam<std::tuple<Isa, RopeCase>> {};

TEST_P(RopeTest, MatchesReferenceAndInverts) {
    const auto [isa, c] = GetParam();
    ScopedIsa scoped(isa);
    ThreadPool pool(2);
    const int64_t stride = c.heads * c.head_dim + 2;
    const auto x = test::random_normal(static_cast<size_t>(c.tokens * stride), 8);
    std::vector<int64_t> positions(static_cast<size_t>(c.tokens));
    for (int64_t t = 0; t < c.tokens; ++t) positions[static_cast<size_t>(t)] = (t * 37 + 5) % 4096;  // not monotone
    std::vector<float> fast = x, ref = x;
    RopeArgs args{fast.data(), stride, c.head_dim, c.tokens, c.heads, c.rotary_dim, positions.data(), c.theta, false};
    rope(args, &pool);
    args.x = ref.data();
    rope_reference(args);
    EXPECT_TRUE(test::close_rel(fast, ref, 2e-6));
    // Untouched tail dims and padding.
    for (int64_t t = 0; t < c.tokens; ++t) {
        for (int64_t h = 0; h < c.heads; ++h) {
            for (int64_t i = c.rotary_dim; i < c.head_dim; ++i) {
                const size_t idx = static_cast<size_t>(t * stride + h * c.head_dim + i);
                ASSERT_EQ(fast[idx], x[idx]);
            }
        }
    }
    args.x = fast.data();
    args.inverse = true;
    rope(args, &pool);
    EXPECT_TRUE(test::close_rel(fast, x, 2e-6));
}

INSTANTIATE_TEST_SUITE_P(Table, RopeTest,
                         ::testing::Combine(::testing::ValuesIn(test::isas_to_test()),
                                            ::testing::Values(RopeCase{1, 1, 8, 8, 10000.0f}, RopeCase{9, 4, 64, 64, 10000.0f},
                                                              RopeCase{5, 3, 128, 128, 500000.0f},
                                                              RopeCase{6, 2, 96, 32, 10000.0f})),
                         [](const auto& info) {
                             const RopeCase& c = std::get<1>(info.param);
                             return test::join_name(test::isa_label(std::get<0>(info.param)), "_T", c.tokens, "_H", c.heads, "_D",
                                                   c.head_dim, "_R", c.rotary_dim);
                         });

TEST(Rope, ScoresDependOnlyOnRelativePosition) {
    const int64_t d = 64;
    const auto q = test::random_normal(d, 20), k = test::random_normal(d, 21);
    auto score = [&](int64_t pq, int64_t pk) {
        std::vector<float> qq = q, kk = k;
        rope(RopeArgs{qq.data(), d, d, 1, 1, d, &pq, 10000.0f, false});
        rope(RopeArgs{kk.data(), d, d, 1, 1, d, &pk, 10000.0f, false});
        double s = 0.0;
        for (int64_t i = 0; i < d; ++i) s += static_cast<double>(qq[static_cast<size_t>(i)]) * kk[static_cast<size_t>(i)];
        return s;
    };
    EXPECT_NEAR(score(10, 3), score(1010, 1003), 2e-4);
    EXPECT_NEAR(score(0, 0), score(777, 777), 2e-4);
}

// ---------------------------------------------------------------------------------------
struct ConvCase {
    int64_t tokens, channels, kernel;
    bool bias, silu;
};

class ShortConvTest : public ::testing::TestWithParam<std::tuple<Isa, ConvCase>> {};

TEST_P(ShortConvTest, MatchesReferenceAndSplitsLikeOneCall) {
    const auto [isa, c] = GetParam();
    ScopedIsa scoped(isa);
    ThreadPool pool(2);
    const int64_t xs = c.channels + 1;
    const auto x = test::random_normal(static_cast<size_t>(c.tokens * xs), 30);
    const auto w = test::random_normal(static_cast<size_t>(c.channels * c.kernel), 31, 0.5f);
    const auto b = test::random_normal(static_cast<size_t>(c.channels), 32, 0.5f);
    const auto tail0 = test::random_normal(static_cast<size_t>((c.kernel - 1) * c.channels), 33);

    std::vector<float> y_fast(static_cast<size_t>(c.tokens * c.channels)), y_ref = y_fast;
    std::vector<float> tail_fast = tail0, tail_ref = tail0;
    ShortConvArgs args{x.data(), xs, y_fast.data(), c.channels, c.tokens, c.channels, c.kernel,
                       w.data(), c.bias ? b.data() : nullptr, tail_fast.data(), c.silu};
    short_conv(args, &pool);
    args.y = y_ref.data();
    args.tail = tail_ref.data();
    short_conv_reference(args);
    EXPECT_TRUE(test::close_rel(y_fast, y_ref, 2e-6));
    EXPECT_TRUE(test::bit_equal(tail_fast, tail_ref));

    // Same sequence fed in pieces (prefill chunk, then token-by-token decode).
    std::vector<float> y_split(y_fast.size()), tail_split = tail0;
    int64_t t = 0;
    while (t < c.tokens) {
        const int64_t piece = t == 0 && c.tokens > 1 ? c.tokens / 2 : 1;  // a prefill chunk, then decode
        ShortConvArgs part{x.data() + t * xs, xs, y_split.data() + t * c.channels, c.channels, piece, c.channels,
                           c.kernel, w.data(), c.bias ? b.data() : nullptr, tail_split.data(), c.silu};
        short_conv(part, &pool);
        t += piece;
    }
    ASSERT_EQ(t, c.tokens);
    EXPECT_TRUE(test::close_rel(y_split, y_fast, 1e-6));
    EXPECT_TRUE(test::bit_equal(tail_split, tail_fast));
}

INSTANTIATE_TEST_SUITE_P(Table, ShortConvTest,
                         ::testing::Combine(::testing::ValuesIn(test::isas_to_test()),
                                            ::testing::Values(ConvCase{1, 8, 4, false, true}, ConvCase{2, 300, 4, false, true},
                                                              ConvCase{7, 64, 4, true, true}, ConvCase{33, 520, 4, false, true},
                                                              ConvCase{5, 12, 3, true, false}, ConvCase{4, 9, 1, true, true})),
                         [](const auto& info) {
                             const ConvCase& c = std::get<1>(info.param);
                             return test::join_name(test::isa_label(std::get<0>(info.param)), "_T", c.tokens, "_C", c.channels, "_K",
                                                   c.kernel, c.bias ? "_bias" : "", c.silu ? "_silu" : "");
                         });

TEST(ShortConv, ZeroTailEqualsZeroPaddedConv1d) {
    // nn.Conv1d(padding=K−1)[..., :T] with weight [C,1,K]: y[t] = Σ_j w[j] x[t−K+1+j].
    const int64_t channels = 2, kernel = 4, tokens = 5;
    std::vector<float> x = {1, 10, 2, 20, 3, 30, 4, 40, 5, 50};
    std::vector<float> w = {0.1f, 0.2f, 0.3f, 0.4f, 1, 0, 0, 0};  // channel 1 only looks 3 back
    std::vector<float> tail((kernel - 1) * channels, 0.0f), y(tokens * channels);
    short_conv(ShortConvArgs{x.data(), channels, y.data(), channels, tokens, channels, kernel, w.data(), nullptr,
                             tail.data(), false});
    EXPECT_FLOAT_EQ(y[0], 0.4f * 1);
    EXPECT_FLOAT_EQ(y[2], 0.3f * 1 + 0.4f * 2);
    EXPECT_FLOAT_EQ(y[8], 0.1f * 2 + 0.2f * 3 + 0.3f * 4 + 0.4f * 5);
    EXPECT_FLOAT_EQ(y[1], 0.0f);
    EXPECT_FLOAT_EQ(y[7], 10.0f);
    EXPECT_FLOAT_EQ(y[9], 20.0f);
    EXPECT_EQ(tail, (std::vector<float>{3, 30, 4, 40, 5, 50}));
}

}  // namespace
}  // namespace mnemo::cpu
