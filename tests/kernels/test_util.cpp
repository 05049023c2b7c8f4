#include "test_util.h"

#include <cmath>
#include <cstring>
#include <random>

namespace mnemo::cpu::test {

std::vector<Isa> isas_to_test() {
    std::vector<Isa> isas{Isa::scalar};
    if (best_supported_isa() == Isa::avx2) isas.push_back(Isa::avx2);
    return isas;
}

std::vector<float> random_floats(size_t n, uint32_t seed, float lo, float hi) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(lo, hi);
    std::vector<float> out(n);
    for (auto& x : out) x = dist(rng);
    return out;
}

std::vector<float> random_normal(size_t n, uint32_t seed, float stddev) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0.0f, stddev);
    std::vector<float> out(n);
    for (auto& x : out) x = dist(rng);
    return out;
}

::testing::AssertionResult close_rel(const float* actual, const float* expected, size_t n, double rel_tol,
                                     double floor) {
    double max_expected = floor;
    for (size_t i = 0; i < n; ++i) max_expected = std::fmax(max_expected, std::fabs(static_cast<double>(expected[i])));
    double worst = 0.0;
    size_t worst_index = 0;
    for (size_t i = 0; i < n; ++i) {
        const double diff = std::fabs(static_cast<double>(actual[i]) - expected[i]);
        if (!(diff <= worst) || std::isnan(diff)) {
            worst = std::isnan(diff) ? INFINITY : diff;
            worst_index = i;
        }
    }
    const double rel = worst / max_expected;
    if (rel <= rel_tol) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "max error " << worst << " (relative " << rel << " > " << rel_tol
                                         << ") at index " << worst_index << ": actual " << actual[worst_index]
                                         << ", expected " << expected[worst_index] << ", scale " << max_expected;
}

::testing::AssertionResult bit_equal(const std::vector<float>& a, const std::vector<float>& b) {
    if (a.size() != b.size()) return ::testing::AssertionFailure() << "size mismatch";
    for (size_t i = 0; i < a.size(); ++i) {
        if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0) {
            return ::testing::AssertionFailure() << "first difference at " << i << ": " << a[i] << " vs " << b[i];
        }
    }
    return ::testing::AssertionSuccess();
}

std::string isa_label(Isa isa) { return isa_name(isa); }

}  // namespace mnemo::cpu::test
