#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <tuple>
#include <vector>

#include "cpu/gated_delta_rule.h"
#include "cpu/norm.h"
#include "cpu/thread_pool.h"
#include "test_util.h"

namespace mnemo::cpu {
namespace {

struct GdrCase {
    int64_t tokens, qk_heads, v_heads, dk, dv;
    float min_log_decay;  // g drawn in [min_log_decay, 0)
};

struct GdrData {
    GdrCase c;
    int64_t qk_stride, v_stride, gate_stride, out_stride;
    std::vector<float> q, k, v, g, beta, state0;

    explicit GdrData(const GdrCase& cs, uint32_t seed) : c(cs) {
        qk_stride = c.qk_heads * c.dk + 3;  // padded rows: strides are honoured
        v_stride = c.v_heads * c.dv + 1;
        gate_stride = c.v_heads + 2;
        out_stride = c.v_heads * c.dv + 5;
        q = test::random_normal(static_cast<size_t>(c.tokens * qk_stride), seed);
        k = test::random_normal(static_cast<size_t>(c.tokens * qk_stride), seed + 1);
        // q, k L2-normalised per head, as the mixer feeds them.
        for (int64_t t = 0; t < c.tokens; ++t) {
            for (float* base : {q.data(), k.data()}) {
                float* row = base + t * qk_stride;
                l2_norm(RowsArgs{row, c.dk, row, c.dk, c.qk_heads, c.dk});
            }
        }
        v = test::random_normal(static_cast<size_t>(c.tokens * v_stride), seed + 2);
        g = test::random_floats(static_cast<size_t>(c.tokens * gate_stride), seed + 3, c.min_log_decay, -1e-4f);
        beta = test::random_floats(static_cast<size_t>(c.tokens * gate_stride), seed + 4, 0.05f, 0.999f);
        state0 = test::random_normal(static_cast<size_t>(c.v_heads * c.dk * c.dv), seed + 5, 0.3f);
    }

    GatedDeltaRuleArgs args(float* state, float* out, int64_t t0 = 0, int64_t tokens = -1) const {
        GatedDeltaRuleArgs a;
        a.n_tokens = tokens < 0 ? c.tokens - t0 : tokens;
        a.n_qk_heads = c.qk_heads;
        a.n_v_heads = c.v_heads;
        a.key_dim = c.dk;
        a.value_dim = c.dv;
        a.q = q.data() + t0 * qk_stride;
        a.k = k.data() + t0 * qk_stride;
        a.qk_stride = qk_stride;
        a.v = v.data() + t0 * v_stride;
        a.v_stride = v_stride;
        a.g = g.data() + t0 * gate_stride;
        a.beta = beta.data() + t0 * gate_stride;
        a.gate_stride = gate_stride;
        a.scale = 1.0f / std::sqrt(static_cast<float>(c.dk));
        a.state = state;
        a.out = out + t0 * out_stride;
        a.out_stride = out_stride;
        return a;
    }
    size_t out_size() const { return static_cast<size_t>(c.tokens * out_stride); }
};

std::vector<GdrCase> gdr_cases() {
    return {
        {1, 1, 1, 16, 16, -1.0f},     {5, 2, 2, 32, 24, -1.0f},    {64, 1, 1, 64, 64, -0.5f},
        {65, 2, 4, 32, 40, -2.0f},    {130, 1, 1, 128, 128, -0.1f}, {97, 1, 2, 64, 33, -8.0f},
        {200, 2, 2, 48, 64, -0.02f},
    };
}

class GatedDeltaRuleTest : public ::testing::TestWithParam<std::tuple<Isa, GdrCase>> {};

constexpr double kTol = 1e-5;

TEST_P(GatedDeltaRuleTest, StepAndChunkedMatchNaive) {
    const auto [isa, c] = GetParam();
    ScopedIsa scoped(isa);
    ThreadPool pool(2);
    const GdrData d(c, 77);

    std::vector<float> out_naive(d.out_size(), 0.0f), state_naive = d.state0;
    gated_delta_rule_naive(d.args(state_naive.data(), out_naive.data()));

    std::vector<float> out_step(d.out_size(), 0.0f), state_step = d.state0;
    gated_delta_rule_step(d.args(state_step.data(), out_step.data()), &pool);
    EXPECT_TRUE(test::close_rel(out_step, out_naive, kTol)) << "step output";
    EXPECT_TRUE(test::close_rel(state_step, state_naive, kTol)) << "step state";

    for (int64_t chunk : {int64_t{64}, int64_t{16}, int64_t{37}}) {
        std::vector<float> out_chunk(d.out_size(), 0.0f), state_chunk = d.state0;
        gated_delta_rule_chunked(d.args(state_chunk.data(), out_chunk.data()), &pool, chunk);
        EXPECT_TRUE(test::close_rel(out_chunk, out_naive, kTol)) << "chunked output, chunk " << chunk;
        EXPECT_TRUE(test::close_rel(state_chunk, state_naive, kTol)) << "chunked state, chunk " << chunk;
    }
}

TEST_P(GatedDeltaRuleTest, PrefillThenDecodeContinuesTheState) {
    const auto [isa, c] = GetParam();
    ScopedIsa scoped(isa);
    if (c.tokens < 3) GTEST_SKIP();
    const GdrData d(c, 5);
    std::vector<float> out_naive(d.out_size(), 0.0f), state_naive = d.state0;
    gated_delta_rule_naive(d.args(state_naive.data(), out_naive.data()));

    const int64_t prefill = c.tokens * 2 / 3;
    std::vector<float> out(d.out_size(), 0.0f), state = d.state0;
    gated_delta_rule_chunked(d.args(state.data(), out.data(), 0, prefill));
    for (int64_t t = prefill; t < c.tokens; ++t) gated_delta_rule_step(d.args(state.data(), out.data(), t, 1));
    EXPECT_TRUE(test::close_rel(out, out_naive, kTol));
    EXPECT_TRUE(test::close_rel(state, state_naive, kTol));
}

TEST_P(GatedDeltaRuleTest, ThreadCountDoesNotChangeBits) {
    const auto [isa, c] = GetParam();
    ScopedIsa scoped(isa);
    const GdrData d(c, 9);
    std::vector<float> out1(d.out_size(), 0.0f), state1 = d.state0;
    gated_delta_rule_chunked(d.args(state1.data(), out1.data()), nullptr);
    std::vector<float> out_step1(d.out_size(), 0.0f), state_step1 = d.state0;
    gated_delta_rule_step(d.args(state_step1.data(), out_step1.data()), nullptr);
    for (int threads : {2, 3}) {
        ThreadPool pool(threads);
        std::vector<float> out(d.out_size(), 0.0f), state = d.state0;
        gated_delta_rule_chunked(d.args(state.data(), out.data()), &pool);
        EXPECT_TRUE(test::bit_equal(out, out1));
        EXPECT_TRUE(test::bit_equal(state, state1));
        std::vector<float> out_step(d.out_size(), 0.0f), state_step = d.state0;
        gated_delta_rule_step(d.args(state_step.data(), out_step.data()), &pool);
        EXPECT_TRUE(test::bit_equal(out_step, out_step1));
        EXPECT_TRUE(test::bit_equal(state_step, state_step1));
    }
}

INSTANTIATE_TEST_SUITE_P(Table, GatedDeltaRuleTest,
                         ::testing::Combine(::testing::ValuesIn(test::isas_to_test()), ::testing::ValuesIn(gdr_cases())),
                         [](const auto& info) {
                             const GdrCase& c = std::get<1>(info.param);
                             return test::join_name(test::isa_label(std::get<0>(info.param)), "_T", c.tokens, "_H",
                                                    c.qk_heads, "_HV", c.v_heads, "_dk", c.dk, "_dv", c.dv);
                         });

// The recurrence on a hand-checkable case: one token from a zero state.
TEST(GatedDeltaRule, SingleTokenFromZeroState) {
    const int64_t dk = 2, dv = 3;
    const float q[2] = {1.0f, 0.0f}, k[2] = {0.6f, 0.8f}, v[3] = {1.0f, 2.0f, 3.0f};
    const float g = -0.5f, beta = 0.5f;
    std::vector<float> state(dk * dv, 0.0f), out(dv, 0.0f);
    GatedDeltaRuleArgs a;
    a.n_tokens = 1;
    a.n_qk_heads = a.n_v_heads = 1;
    a.key_dim = dk;
    a.value_dim = dv;
    a.q = q;
    a.k = k;
    a.qk_stride = dk;
    a.v = v;
    a.v_stride = dv;
    a.g = &g;
    a.beta = &beta;
    a.gate_stride = 1;
    a.scale = 2.0f;
    a.state = state.data();
    a.out = out.data();
    a.out_stride = dv;
    gated_delta_rule_naive(a);
    // S = β k vᵀ (decay of a zero state is zero); o = Sᵀ (scale q) = 2 β k0 v.
    for (int64_t j = 0; j < dv; ++j) {
        EXPECT_NEAR(out[static_cast<size_t>(j)], 2.0f * 0.5f * 0.6f * v[j], 1e-6);
        EXPECT_NEAR(state[static_cast<size_t>(1 * dv + j)], 0.5f * 0.8f * v[j], 1e-6);
    }
}

}  // namespace
}  // namespace mnemo::cpu
