// Shared helpers for the CPU kernel tests: ISAs to cover, seeded random data, comparisons.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "cpu/isa.h"

namespace mnemo::cpu::test {

// Scalar always; AVX2 too when this CPU has it.
std::vector<Isa> isas_to_test();

std::vector<float> random_floats(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f);
std::vector<float> random_normal(size_t n, uint32_t seed, float stddev = 1.0f);

// max|actual − expected| <= rel_tol · max(floor, max|expected|); names the worst index.
::testing::AssertionResult close_rel(const float* actual, const float* expected, size_t n, double rel_tol,
                                     double floor = 1e-6);
inline ::testing::AssertionResult close_rel(const std::vector<float>& actual, const std::vector<float>& expected,
                                            double rel_tol, double floor = 1e-6) {
    if (actual.size() != expected.size()) return ::testing::AssertionFailure() << "size mismatch";
    return close_rel(actual.data(), expected.data(), actual.size(), rel_tol, floor);
}

// Bitwise equality (thread-count invariance).
::testing::AssertionResult bit_equal(const std::vector<float>& a, const std::vector<float>& b);

std::string isa_label(Isa isa);

// Builds a test name from parts with a stream (GCC 12 -O3 misfires -Wrestrict on chains of
// std::string operator+).
template <class... Parts>
std::string join_name(const Parts&... parts) {
    std::ostringstream out;
    (out << ... << parts);
    return out.str();
}

}  // namespace mnemo::cpu::test
