// CUDA kernels against their CPU counterparts. Without a device every test reports
// SKIPPED ("no CUDA device"), never passed.
#include "cpu/norm.h"
#include "device.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

// GTEST_SKIP only leaves the function it is in, so this must be a macro.
#define MNEMO_REQUIRE_CUDA_DEVICE() \
    do { if (mnemo::cuda::device_count() == 0) GTEST_SKIP() << "no CUDA device"; } while (0)

TEST(Cuda, DeviceIsDescribed) {
    MNEMO_REQUIRE_CUDA_DEVICE();
    const std::string d = mnemo::cuda::device_description(0);
    std::printf("device 0: %s\n", d.c_str());
    EXPECT_NE(d.find("sm_"), std::string::npos);
}

TEST(Cuda, RmsNormMatchesCpu) {
    MNEMO_REQUIRE_CUDA_DEVICE();
    for (int64_t dim : {1, 31, 64, 1000, 4096}) {
        const int64_t rows = 7;
        std::mt19937 rng(static_cast<uint32_t>(dim));
        std::normal_distribution<float> normal;
        std::vector<float> x(static_cast<size_t>(rows * dim)), w(static_cast<size_t>(dim)), y_gpu(x.size()), y_cpu(x.size());
        for (auto& v : x) v = normal(rng);
        for (auto& v : w) v = normal(rng);
        std::string error;
        ASSERT_TRUE(mnemo::cuda::rms_norm_host(x.data(), w.data(), y_gpu.data(), rows, dim, 1e-6f, &error)) << error;
        mnemo::cpu::RowsArgs args{x.data(), dim, y_cpu.data(), dim, rows, dim};
        mnemo::cpu::rms_norm_reference(args, w.data(), 1e-6f);
        for (size_t i = 0; i < x.size(); ++i) ASSERT_NEAR(y_gpu[i], y_cpu[i], 1e-5f * (1.0f + std::fabs(y_cpu[i]))) << "dim " << dim << " i " << i;
    }
}
