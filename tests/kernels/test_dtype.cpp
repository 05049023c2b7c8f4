#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "cpu/dtype.h"
#include "cpu/isa.h"
#include "test_util.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace mnemo::cpu {
namespace {

uint32_t bits_of(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}
float float_of(uint32_t u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

#if defined(__x86_64__)
__attribute__((target("f16c"))) float hardware_f16_to_f32(uint16_t h) { return _cvtsh_ss(h); }
__attribute__((target("f16c"))) uint16_t hardware_f32_to_f16(float v) {
    return static_cast<uint16_t>(_mm_extract_epi16(_mm_cvtps_ph(_mm_set_ss(v), _MM_FROUND_TO_NEAREST_INT), 0));
}
#endif

// Round-to-nearest-even f32 -> f16 computed the slow obvious way (through double).
uint16_t f16_reference(float value) {
    if (std::isnan(value)) return 0;  // NaN handled separately
    const uint16_t sign = std::signbit(value) ? 0x8000 : 0;
    const double a = std::fabs(static_cast<double>(value));
    if (a >= 65520.0) return sign | 0x7c00;
    // Candidates: scan the 31744 finite positive halves by binary search on their values.
    uint16_t lo = 0, hi = 0x7bff;
    while (lo < hi) {  // smallest h with value(h) >= a
        const uint16_t mid = static_cast<uint16_t>((lo + hi) / 2);
        if (f16_to_f32(mid) >= a) {
            hi = mid;
        } else {
            lo = static_cast<uint16_t>(mid + 1);
        }
    }
    uint16_t best = lo;
    if (lo > 0) {
        const double above = f16_to_f32(lo) - a;
        const double below = a - f16_to_f32(static_cast<uint16_t>(lo - 1));
        if (below < above || (below == above && ((lo - 1) & 1) == 0)) best = static_cast<uint16_t>(lo - 1);
    }
    return sign | best;
}

TEST(DType, IdsMatchGgml) {
    EXPECT_EQ(static_cast<int>(DType::f32), 0);
    EXPECT_EQ(static_cast<int>(DType::f16), 1);
    EXPECT_EQ(static_cast<int>(DType::q8_0), 8);
    EXPECT_EQ(static_cast<int>(DType::bf16), 30);
    DType t;
    EXPECT_TRUE(dtype_from_id(8, &t));
    EXPECT_EQ(t, DType::q8_0);
    EXPECT_FALSE(dtype_from_id(2, &t));  // q4_0: not supported
    EXPECT_EQ(row_bytes(DType::q8_0, 64), 68);
    EXPECT_EQ(row_bytes(DType::f16, 10), 20);
}

TEST(DType, F16ToF32ExhaustiveAgainstHardware) {
    for (uint32_t h = 0; h < 65536; ++h) {
        const float scalar = f16_to_f32(static_cast<uint16_t>(h));
        const uint16_t back = f32_to_f16(scalar);
        const bool is_nan = (h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0;
        if (is_nan) {
            ASSERT_TRUE(std::isnan(scalar)) << h;
            ASSERT_EQ(back | 0x0200, h | 0x0200) << h;  // quiet bit may be set
        } else {
            ASSERT_EQ(back, h) << "round trip of half " << h;
        }
#if defined(__x86_64__)
        if (best_supported_isa() == Isa::avx2) {
            ASSERT_EQ(bits_of(scalar), bits_of(hardware_f16_to_f32(static_cast<uint16_t>(h)))) << h;
        }
#endif
    }
}

TEST(DType, F32ToF16RoundsToNearestEven) {
    std::mt19937 rng(7);
    std::vector<float> values = {0.0f, -0.0f, 1.0f, 65504.0f, 65519.99f, 65520.0f, 1e-8f, 2.9802322e-8f, 2.9802326e-8f,
                                 5.9604645e-8f, 6.1035156e-5f, 6.1035152e-5f, std::numeric_limits<float>::infinity(),
                                 -std::numeric_limits<float>::infinity(), 1.00048828125f /* tie */, 1.00146484375f};
    for (int i = 0; i < 20000; ++i) values.push_back(float_of(rng()));  // all exponents
    for (int i = 0; i < 20000; ++i) {  // dense near the subnormal/normal boundary and halfway points
        const uint16_t h = static_cast<uint16_t>(rng() & 0x7bff);
        const float base = f16_to_f32(h);
        const float next = f16_to_f32(static_cast<uint16_t>(h + 1));
        values.push_back(0.5f * (base + next));
        values.push_back(std::nextafter(0.5f * (base + next), 0.0f));
    }
    for (float v : values) {
        const uint16_t got = f32_to_f16(v);
        if (std::isnan(v)) {
            EXPECT_TRUE(std::isnan(f16_to_f32(got)));
            continue;
        }
        ASSERT_EQ(got, f16_reference(v)) << "value " << v;
#if defined(__x86_64__)
        if (best_supported_isa() == Isa::avx2) {
            ASSERT_EQ(got, hardware_f32_to_f16(v)) << v;
        }
#endif
    }
}

TEST(DType, RowConversionsAgreeAcrossIsas) {
    const auto x = test::random_normal(1003, 3, 100.0f);
    std::vector<uint16_t> expected_f16(x.size()), expected_bf16(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
        expected_f16[i] = f32_to_f16(x[i]);
        expected_bf16[i] = f32_to_bf16(x[i]);
    }
    for (Isa isa : test::isas_to_test()) {
        ScopedIsa scoped(isa);
        std::vector<uint16_t> h(x.size()), b(x.size());
        std::vector<float> back(x.size());
        convert_f32_to_f16(x.data(), h.data(), static_cast<int64_t>(x.size()));
        convert_f32_to_bf16(x.data(), b.data(), static_cast<int64_t>(x.size()));
        EXPECT_EQ(h, expected_f16) << isa_name(isa);
        EXPECT_EQ(b, expected_bf16) << isa_name(isa);
        convert_f16_to_f32(h.data(), back.data(), static_cast<int64_t>(x.size()));
        for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(bits_of(back[i]), bits_of(f16_to_f32(h[i])));
        convert_bf16_to_f32(b.data(), back.data(), static_cast<int64_t>(x.size()));
        for (size_t i = 0; i < x.size(); ++i) {
            ASSERT_EQ(bits_of(back[i]), static_cast<uint32_t>(b[i]) << 16) << "bf16 of " << x[i];
            ASSERT_LE(std::fabs(back[i] - x[i]), std::fabs(x[i]) * (1.0f / 256.0f)) << x[i];
        }
    }
}

TEST(DType, Bf16RoundsToNearestEven) {
    EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
    EXPECT_EQ(f32_to_bf16(float_of(0x3f808000u)), 0x3f80);  // tie, even stays
    EXPECT_EQ(f32_to_bf16(float_of(0x3f818000u)), 0x3f82);  // tie, odd rounds up
    EXPECT_EQ(f32_to_bf16(float_of(0x3f808001u)), 0x3f81);  // above tie
    EXPECT_EQ(f32_to_bf16(float_of(0x7f7fffffu)), 0x7f80);  // max float rounds to inf
    EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
    EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(float_of(0x7f800001u)))));  // signalling NaN stays NaN
}

TEST(DType, Q8_0MatchesGgmlRuleAndErrorBound) {
    const int64_t n = 32 * 40;
    auto x = test::random_normal(static_cast<size_t>(n), 11, 3.0f);
    for (int j = 0; j < 32; ++j) x[static_cast<size_t>(32 + j)] = 0.0f;            // all-zero block
    x[64] = 1e4f;                                                                      // outlier block
    for (int j = 0; j < 32; ++j) x[static_cast<size_t>(96 + j)] = j % 2 ? 0.5f : -0.5f;  // exact halves
    std::vector<BlockQ8_0> blocks(static_cast<size_t>(n / 32));
    quantize_row_q8_0(x.data(), blocks.data(), n);
    for (int64_t b = 0; b < n / 32; ++b) {
        float amax = 0.0f;
        for (int j = 0; j < 32; ++j) amax = std::fmax(amax, std::fabs(x[static_cast<size_t>(b * 32 + j)]));
        const float d = amax / 127.0f;
        ASSERT_EQ(blocks[static_cast<size_t>(b)].d, f32_to_f16(d));
        for (int j = 0; j < 32; ++j) {
            const float scaled = d != 0.0f ? x[static_cast<size_t>(b * 32 + j)] * (1.0f / d) : 0.0f;
            ASSERT_EQ(blocks[static_cast<size_t>(b)].qs[j], static_cast<int8_t>(std::round(scaled))) << b << "," << j;
        }
    }
    for (Isa isa : test::isas_to_test()) {
        ScopedIsa scoped(isa);
        std::vector<float> back(static_cast<size_t>(n));
        dequantize_row_q8_0(blocks.data(), back.data(), n);
        for (int64_t b = 0; b < n / 32; ++b) {
            const float d16 = f16_to_f32(blocks[static_cast<size_t>(b)].d);
            float amax = 0.0f;
            for (int j = 0; j < 32; ++j) amax = std::fmax(amax, std::fabs(x[static_cast<size_t>(b * 32 + j)]));
            const float d = amax / 127.0f;
            for (int j = 0; j < 32; ++j) {
                const size_t i = static_cast<size_t>(b * 32 + j);
                ASSERT_EQ(back[i], d16 * static_cast<float>(blocks[static_cast<size_t>(b)].qs[j]));
                // Rounding costs at most d/2; the f16 scale adds at most 127 |d16 − d|.
                const double bound = 0.5 * d + 127.0 * std::fabs(d16 - d) + 1e-6 * amax;
                ASSERT_LE(std::fabs(back[i] - x[i]), bound) << "block " << b << " elem " << j;
            }
        }
        EXPECT_EQ(back[32], 0.0f);
    }
}

}  // namespace
}  // namespace mnemo::cpu
