// CUDA kernels against their CPU counterparts. Without a device every test reports
// SKIPPED ("no CUDA device"), never passed.
#include "cpu/gated_delta_rule.h"
#include "cpu/norm.h"
#include "device.h"
#include "ops.h"

#include <cuda_runtime.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

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

// The gated delta rule on the device, token-by-token and chunked (WY) forms, against the
// CPU's naive recurrence (the specification): outputs and final state, for chunk tails,
// several head sizes and a long run where decays compound.
TEST(Cuda, GatedDeltaRuleBothFormsMatchTheCpu) {
    MNEMO_REQUIRE_CUDA_DEVICE();
    struct Shape { int64_t T, H, dk, dv; };
    for (const Shape sh : {Shape{33, 2, 64, 64}, Shape{64, 3, 128, 256}, Shape{100, 2, 32, 96}, Shape{1000, 2, 128, 128},
                           Shape{130, 1, 256, 64}, Shape{77, 2, 16, 16}}) {
        const int64_t T = sh.T, H = sh.H, dk = sh.dk, dv = sh.dv;
        std::mt19937 rng(static_cast<uint32_t>(T * 7 + dk));
        std::normal_distribution<float> normal;
        std::uniform_real_distribution<float> unit(0.0f, 1.0f);
        std::vector<float> q(static_cast<size_t>(T * H * dk)), k(q.size()), v(static_cast<size_t>(T * H * dv)),
            g(static_cast<size_t>(T * H)), beta(g.size()), state(static_cast<size_t>(H * dk * dv));
        for (auto* x : {&q, &k}) {
            for (auto& e : *x) e = normal(rng);
            for (int64_t r = 0; r < T * H; ++r) {  // L2-normalised rows, as the mixer feeds them
                double s = 0;
                for (int64_t i = 0; i < dk; ++i) s += double((*x)[r * dk + i]) * (*x)[r * dk + i];
                for (int64_t i = 0; i < dk; ++i) (*x)[r * dk + i] = static_cast<float>((*x)[r * dk + i] / std::sqrt(s));
            }
        }
        for (auto& e : v) e = normal(rng);
        for (auto& e : g) e = -0.3f * unit(rng);  // decays in (0.74, 1]
        for (auto& e : beta) e = unit(rng);
        for (auto& e : state) e = 0.1f * normal(rng);
        const float scale = 1.0f / std::sqrt(static_cast<float>(dk));
        std::vector<float> cpu_state = state, cpu_out(v.size());
        mnemo::cpu::GatedDeltaRuleArgs a;
        a.n_tokens = T;
        a.n_qk_heads = a.n_v_heads = H;
        a.key_dim = dk;
        a.value_dim = dv;
        a.q = q.data();
        a.k = k.data();
        a.qk_stride = H * dk;
        a.v = v.data();
        a.v_stride = H * dv;
        a.g = g.data();
        a.beta = beta.data();
        a.gate_stride = H;
        a.scale = scale;
        a.state = cpu_state.data();
        a.out = cpu_out.data();
        a.out_stride = H * dv;
        mnemo::cpu::gated_delta_rule_naive(a);

        auto upload = [](const std::vector<float>& h) {
            float* d = nullptr;
            EXPECT_EQ(cudaMalloc(&d, h.size() * 4), cudaSuccess);
            cudaMemcpy(d, h.data(), h.size() * 4, cudaMemcpyHostToDevice);
            return d;
        };
        int64_t sizes[4];
        mnemo::cuda::gdn_chunk_scratch_floats(T, H, dk, dv, &sizes[0], &sizes[1], &sizes[2], &sizes[3]);
        mnemo::cuda::GdnChunkScratch scratch;
        float** bufs[4] = {&scratch.w, &scratch.u, &scratch.p, &scratch.g};
        for (int j = 0; j < 4; ++j) ASSERT_EQ(cudaMalloc(bufs[j], static_cast<size_t>(sizes[j]) * 4), cudaSuccess);
        float *dq = upload(q), *dk_ = upload(k), *dvv = upload(v), *dg = upload(g), *db = upload(beta);
        for (bool chunked : {false, true}) {
            float* ds = upload(state);
            float* dout = upload(std::vector<float>(v.size(), 0.0f));
            const bool ok = chunked ? mnemo::cuda::gated_delta_rule_chunked(dq, dk_, dvv, dg, db, ds, dout, T, H, dk, dv, scale, scratch, nullptr)
                                    : mnemo::cuda::gated_delta_rule(dq, dk_, dvv, dg, db, ds, dout, T, H, dk, dv, scale, nullptr);
            ASSERT_TRUE(ok);
            ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
            std::vector<float> out(v.size()), st(state.size());
            cudaMemcpy(out.data(), dout, out.size() * 4, cudaMemcpyDeviceToHost);
            cudaMemcpy(st.data(), ds, st.size() * 4, cudaMemcpyDeviceToHost);
            double worst_out = 0, worst_state = 0;
            for (size_t i = 0; i < out.size(); ++i) worst_out = std::max(worst_out, std::fabs(double(out[i]) - cpu_out[i]));
            for (size_t i = 0; i < st.size(); ++i) worst_state = std::max(worst_state, std::fabs(double(st[i]) - cpu_state[i]));
            std::printf("T %lld H %lld dk %lld dv %lld %s: max |dout| %.3g, max |dstate| %.3g\n", (long long)T, (long long)H,
                        (long long)dk, (long long)dv, chunked ? "chunked" : "recurrent", worst_out, worst_state);
            EXPECT_LE(worst_out, 1e-4) << (chunked ? "chunked" : "recurrent") << " T " << T << " dk " << dk;
            EXPECT_LE(worst_state, 1e-4) << (chunked ? "chunked" : "recurrent") << " T " << T << " dk " << dk;
            cudaFree(ds);
            cudaFree(dout);
        }
        for (float* p : {dq, dk_, dvv, dg, db}) cudaFree(p);
        for (int j = 0; j < 4; ++j) cudaFree(*bufs[j]);
    }
}
