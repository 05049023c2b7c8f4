#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <tuple>
#include <vector>

#include "cpu/lte_conv.h"
#include "cpu/thread_pool.h"
#include "test_util.h"

namespace mnemo::cpu {
namespace {

struct LteCase {
    int64_t groups, head_dim, rows;
    std::vector<int64_t> kernels, dilations;
};

// Random stack with channels halving per layer; owns its weight storage.
struct Stack {
    std::vector<std::vector<float>> weights, biases;
    std::vector<float> proj_w, proj_b;
    LteConvStackWeights w;

    Stack(const LteCase& c, uint32_t seed) {
        w.groups = c.groups;
        w.head_dim = c.head_dim;
        int64_t channels = 2 * c.head_dim * c.groups;
        for (size_t l = 0; l < c.kernels.size(); ++l) {
            const int64_t out = channels / 2;
            const int64_t fan_in = channels / c.groups * c.kernels[l];
            weights.push_back(test::random_normal(static_cast<size_t>(out * fan_in), seed + static_cast<uint32_t>(l),
                                                  std::sqrt(2.0f / static_cast<float>(fan_in))));
            biases.push_back(test::random_normal(static_cast<size_t>(out), seed + 100 + static_cast<uint32_t>(l), 0.1f));
            channels = out;
        }
        for (size_t l = 0; l < c.kernels.size(); ++l) {
            const int64_t in = 2 * c.head_dim * c.groups >> l;
            w.layers.push_back(LteConvLayerWeights{in, in / 2, c.kernels[l], c.dilations[l], weights[l].data(), biases[l].data()});
        }
        proj_w = test::random_normal(static_cast<size_t>(channels), seed + 200, 0.5f);
        proj_b = test::random_normal(static_cast<size_t>(c.groups), seed + 201, 0.5f);
        w.proj_weight = proj_w.data();
        w.proj_bias = proj_b.data();
    }
};

struct Inputs {
    int64_t stride;
    std::vector<float> k, v;
    Inputs(const LteCase& c, uint32_t seed) : stride(c.groups * c.head_dim + 1) {
        k = test::random_normal(static_cast<size_t>(c.rows * stride), seed);
        v = test::random_normal(static_cast<size_t>(c.rows * stride), seed + 1);
    }
    LteSegment segment(int64_t first_row, int64_t n_rows) const {
        return LteSegment{k.data() + first_row * stride, stride, v.data() + first_row * stride, stride, n_rows};
    }
};

class LteConvTest : public ::testing::TestWithParam<std::tuple<Isa, LteCase>> {};

TEST_P(LteConvTest, FastMatchesReference) {
    const auto [isa, c] = GetParam();
    ScopedIsa scoped(isa);
    ThreadPool pool(2);
    const Stack stack(c, 1);
    const Inputs in(c, 2);
    const LteScorer scorer(stack.w);
    for (LteRouting routing : {LteRouting::sigmoid, LteRouting::relu, LteRouting::logit}) {
        for (auto [b, e] : {std::pair<int64_t, int64_t>{0, c.rows}, {c.rows / 3, c.rows - c.rows / 4}}) {
            std::vector<float> fast(static_cast<size_t>((e - b) * c.groups)), ref = fast;
            scorer.scores(in.segment(0, c.rows), LteOutput{b, e, fast.data(), c.groups, routing}, &pool);
            lte_scores_reference(stack.w, in.segment(0, c.rows), LteOutput{b, e, ref.data(), c.groups, routing});
            EXPECT_TRUE(test::close_rel(fast, ref, 2e-5)) << "routing " << static_cast<int>(routing) << " rows [" << b
                                                          << ", " << e << ")";
        }
    }
}

TEST_P(LteConvTest, ScoresFromAMarginSliceEqualWholeSegment) {
    const auto [isa, c] = GetParam();
    ScopedIsa scoped(isa);
    const Stack stack(c, 3);
    const Inputs in(c, 4);
    const LteScorer scorer(stack.w);
    const int64_t left = scorer.left_context(), right = scorer.right_context();
    if (c.kernels[0] % 2 == 1) {
        EXPECT_EQ(left, scorer.margin());
        EXPECT_EQ(right, scorer.margin());
    }
    std::vector<float> whole(static_cast<size_t>(c.rows * c.groups));
    scorer.scores(in.segment(0, c.rows), LteOutput{0, c.rows, whole.data(), c.groups, LteRouting::logit});
    // Windows anywhere, including touching the true ends (where padding is real).
    for (int64_t a : {int64_t{0}, int64_t{1}, c.rows / 2, c.rows - 3}) {
        if (a < 0 || a >= c.rows) continue;
        const int64_t b = std::min(c.rows, a + 5);
        const int64_t s0 = std::max<int64_t>(0, a - left), s1 = std::min(c.rows, b + right);
        std::vector<float> sliced(static_cast<size_t>((b - a) * c.groups));
        scorer.scores(in.segment(s0, s1 - s0), LteOutput{a - s0, b - s0, sliced.data(), c.groups, LteRouting::logit});
        EXPECT_TRUE(test::close_rel(sliced.data(), whole.data() + a * c.groups, sliced.size(), 1e-5)) << "a=" << a;
    }
    // Conversely a slice one row short of the margin sees its cut: the edge row changes.
    if (c.rows > left + right + 2 && left > 0) {
        const int64_t a = c.rows / 2;
        std::vector<float> short_slice(static_cast<size_t>(c.groups));
        scorer.scores(in.segment(a - left + 1, left + right),
                      LteOutput{left - 1, left, short_slice.data(), c.groups, LteRouting::logit});
        EXPECT_FALSE(test::close_rel(short_slice.data(), whole.data() + a * c.groups, short_slice.size(), 1e-5));
    }
}

TEST_P(LteConvTest, ThreadCountDoesNotChangeBits) {
    const auto [isa, c] = GetParam();
    ScopedIsa scoped(isa);
    const Stack stack(c, 5);
    const Inputs in(c, 6);
    const LteScorer scorer(stack.w);
    std::vector<float> one(static_cast<size_t>(c.rows * c.groups));
    scorer.scores(in.segment(0, c.rows), LteOutput{0, c.rows, one.data(), c.groups, LteRouting::sigmoid});
    for (int threads : {2, 3}) {
        ThreadPool pool(threads);
        std::vector<float> many(one.size());
        scorer.scores(in.segment(0, c.rows), LteOutput{0, c.rows, many.data(), c.groups, LteRouting::sigmoid}, &pool);
        EXPECT_TRUE(test::bit_equal(many, one));
    }
}

TEST_P(LteConvTest, GroupedStackEqualsOneStackPerHead) {
    // routing_shared='head' is one grouped conv; each group must only see its own head's
    // [k, v] channels, i.e. equal a groups=1 stack built from that group's weight slices.
    const auto [isa, c] = GetParam();
    ScopedIsa scoped(isa);
    if (c.groups == 1) GTEST_SKIP();
    const Stack stack(c, 7);
    const Inputs in(c, 8);
    std::vector<float> grouped(static_cast<size_t>(c.rows * c.groups));
    LteScorer(stack.w).scores(in.segment(0, c.rows), LteOutput{0, c.rows, grouped.data(), c.groups, LteRouting::logit});
    for (int64_t g = 0; g < c.groups; ++g) {
        LteConvStackWeights single;
        single.groups = 1;
        single.head_dim = c.head_dim;
        int64_t channels = 2 * c.head_dim;
        for (size_t l = 0; l < stack.w.layers.size(); ++l) {
            const LteConvLayerWeights& src = stack.w.layers[l];
            const int64_t out = channels / 2;
            single.layers.push_back(LteConvLayerWeights{channels, out, src.kernel_size, src.dilation,
                                                        src.weight + g * out * channels * src.kernel_size, src.bias + g * out});
            channels = out;
        }
        single.proj_weight = stack.w.proj_weight + g * channels;
        single.proj_bias = stack.w.proj_bias + g;
        const LteSegment seg{in.k.data() + g * c.head_dim, in.stride, in.v.data() + g * c.head_dim, in.stride, c.rows};
        std::vector<float> alone(static_cast<size_t>(c.rows));
        LteScorer(single).scores(seg, LteOutput{0, c.rows, alone.data(), 1, LteRouting::logit});
        for (int64_t r = 0; r < c.rows; ++r) {
            ASSERT_NEAR(alone[static_cast<size_t>(r)], grouped[static_cast<size_t>(r * c.groups + g)], 1e-4) << g << "," << r;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(
    Table, LteConvTest,
    ::testing::Combine(::testing::ValuesIn(test::isas_to_test()),
                       ::testing::Values(LteCase{1, 8, 1, {3}, {1}}, LteCase{2, 16, 40, {3, 3, 3}, {2, 2, 2}},
                                         LteCase{4, 16, 300, {3, 3, 3}, {2, 2, 2}}, LteCase{3, 8, 57, {3, 3, 3}, {1, 1, 1}},
                                         LteCase{2, 12, 33, {4, 2}, {1, 3}}, LteCase{1, 32, 600, {5, 3}, {1, 2}})),
    [](const auto& info) {
        const LteCase& c = std::get<1>(info.param);
        return test::join_name(test::isa_label(std::get<0>(info.param)), "_G", c.groups, "_hd", c.head_dim, "_rows",
                               c.rows, "_layers", c.kernels.size(), "_k", c.kernels[0], "_d", c.dilations[0]);
    });

TEST(LteConv, ReceptiveFieldOfPaperDefault) {
    LteConvStackWeights w;
    for (int i = 0; i < 3; ++i) w.layers.push_back(LteConvLayerWeights{0, 0, 3, 2, nullptr, nullptr});
    EXPECT_EQ(lte_receptive_field(w), 13);
}

}  // namespace
}  // namespace mnemo::cpu
