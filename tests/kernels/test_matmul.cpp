#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <tuple>
#include <vector>

#include "cpu/dtype.h"
#include "cpu/gemm_avx512.h"
#include "cpu/matmul.h"
#include "cpu/thread_pool.h"
#include "test_util.h"

namespace mnemo::cpu {
namespace {

struct MatmulCase {
    int64_t t, k, n;
    DType type;
    bool bias;
    int64_t x_pad = 0, y_pad = 0;  // extra floats per row (strided views)
};

std::string case_name(const MatmulCase& c) {
    return test::join_name("T", c.t, "_K", c.k, "_N", c.n, "_", dtype_name(c.type), c.bias ? "_bias" : "",
                           c.x_pad || c.y_pad ? "_strided" : "");
}

std::vector<MatmulCase> matmul_cases() {
    std::vector<MatmulCase> cases;
    for (DType type : {DType::f32, DType::f16, DType::bf16, DType::q8_0}) {
        // decode (GEMV), with tails in N and K
        cases.push_back({1, 256, 67, type, false});
        cases.push_back({1, 1024, 130, type, true});
        // small and odd batches, K not a multiple of the 256-deep block
        cases.push_back({2, 96, 16, type, false});
        cases.push_back({5, 288, 33, type, true});
        cases.push_back({7, 512, 47, type, false, 3, 5});
        cases.push_back({13, 800, 5, type, false});
        // prefill-like
        cases.push_back({64, 512, 96, type, true});
        cases.push_back({100, 320, 200, type, false, 0, 7});
    }
    for (int64_t k : {1, 3, 17, 100}) cases.push_back({3, k, 9, DType::f32, true});  // K tails for f32
    cases.push_back({1, 17, 5, DType::f16, false});
    cases.push_back({1, 23, 4, DType::bf16, false});
    return cases;
}

struct MatmulData {
    std::vector<float> x, bias, y;
    std::vector<uint8_t> w;
    MatmulArgs args;
};

MatmulData make_data(const MatmulCase& c, uint32_t seed) {
    MatmulData d;
    const int64_t xs = c.k + c.x_pad, ys = c.n + c.y_pad;
    d.x = test::random_floats(static_cast<size_t>(c.t * xs), seed);
    const auto w32 = test::random_floats(static_cast<size_t>(c.n * c.k), seed + 1);
    d.w.resize(static_cast<size_t>(c.n * row_bytes(c.type, c.k)));
    for (int64_t r = 0; r < c.n; ++r) {
        row_from_f32(c.type, w32.data() + r * c.k, d.w.data() + r * row_bytes(c.type, c.k), c.k);
    }
    if (c.bias) d.bias = test::random_floats(static_cast<size_t>(c.n), seed + 2);
    d.y.assign(static_cast<size_t>(c.t * ys), -7.0f);  // padding must stay untouched
    d.args.x = d.x.data();
    d.args.x_stride = xs;
    d.args.n_rows = c.t;
    d.args.k = c.k;
    d.args.w = d.w.data();
    d.args.w_type = c.type;
    d.args.n_cols = c.n;
    d.args.bias = c.bias ? d.bias.data() : nullptr;
    d.args.y = d.y.data();
    d.args.y_stride = ys;
    return d;
}

class MatmulTest : public ::testing::TestWithParam<std::tuple<Isa, MatmulCase>> {};

TEST_P(MatmulTest, FastMatchesReference) {
    const auto [isa, c] = GetParam();
    ScopedIsa scoped(isa);
    MatmulData fast = make_data(c, 1234);
    MatmulData ref = make_data(c, 1234);
    matmul_reference(ref.args);
    ThreadPool pool(2);
    matmul(fast.args, &pool);
    // Accumulating K products in f32: error grows ~sqrt(K) eps; 2e-6 relative is ample.
    EXPECT_TRUE(test::close_rel(fast.y, ref.y, 2e-6 * std::sqrt(static_cast<double>(c.k))));
    // Row padding untouched.
    for (int64_t t = 0; t < c.t; ++t) {
        for (int64_t j = c.n; j < c.n + c.y_pad; ++j) ASSERT_EQ(fast.y[static_cast<size_t>(t * (c.n + c.y_pad) + j)], -7.0f);
    }
}

TEST_P(MatmulTest, ThreadCountDoesNotChangeBits) {
    const auto [isa, c] = GetParam();
    ScopedIsa scoped(isa);
    MatmulData one = make_data(c, 99);
    matmul(one.args, nullptr);
    for (int threads : {2, 3}) {
        ThreadPool pool(threads);
        MatmulData many = make_data(c, 99);
        matmul(many.args, &pool);
        EXPECT_TRUE(test::bit_equal(many.y, one.y)) << threads << " threads";
    }
}

INSTANTIATE_TEST_SUITE_P(Table, MatmulTest,
                         ::testing::Combine(::testing::ValuesIn(test::isas_to_test()),
                                            ::testing::ValuesIn(matmul_cases())),
                         [](const auto& info) {
                             return test::join_name(test::isa_label(std::get<0>(info.param)), "_", case_name(std::get<1>(info.param)));
                         });

// The two ISAs compute the same thing (different summation order only).
TEST(Matmul, ScalarAndAvx2Agree) {
    if (best_supported_isa() != Isa::avx2) GTEST_SKIP() << "no AVX2";
    for (DType type : {DType::f32, DType::q8_0}) {
        const MatmulCase c{9, 640, 70, type, true};
        MatmulData a = make_data(c, 5), b = make_data(c, 5);
        {
            ScopedIsa scoped(Isa::scalar);
            matmul(a.args);
        }
        {
            ScopedIsa scoped(Isa::avx2);
            matmul(b.args);
        }
        EXPECT_TRUE(test::close_rel(a.y, b.y, 1e-5)) << dtype_name(type);
    }
}

// The AVX-512 register tile (two 16-column panels at once, cpu/gemm_avx512.h) applies the
// AVX2 tile's operations in the same order to every element: bit-identical results, with
// pairs and single panels mixed (N = 33, 47, 200), row tails and several K blocks.
TEST(Matmul, Avx512TileEqualsAvx2TileBitForBit) {
    if (best_supported_isa() != Isa::avx2) GTEST_SKIP() << "no AVX2";
    const bool previous = detail::gemm_avx512_enabled();
    if (!detail::set_gemm_avx512(true)) GTEST_SKIP() << "no AVX-512F";
    ScopedIsa scoped(Isa::avx2);
    for (const MatmulCase& c : matmul_cases()) {
        if (c.t < 2) continue;  // GEMV: no tile
        MatmulData wide = make_data(c, 21), narrow = make_data(c, 21);
        ThreadPool pool(2);
        detail::set_gemm_avx512(true);
        matmul(wide.args, &pool);
        detail::set_gemm_avx512(false);
        matmul(narrow.args, &pool);
        EXPECT_TRUE(test::bit_equal(wide.y, narrow.y)) << case_name(c);
    }
    for (int64_t n : {32, 64, 200}) {
        MatmulData wide = make_data({37, 1100, n, DType::f32, true}, 3), narrow = make_data({37, 1100, n, DType::f32, true}, 3);
        detail::set_gemm_avx512(true);
        matmul(wide.args);
        detail::set_gemm_avx512(false);
        matmul(narrow.args);
        EXPECT_TRUE(test::bit_equal(wide.y, narrow.y)) << "N = " << n;
    }
    detail::set_gemm_avx512(previous);
}

}  // namespace
}  // namespace mnemo::cpu
