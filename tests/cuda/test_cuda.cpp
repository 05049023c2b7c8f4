// CUDA kernels against their CPU counterparts. Without a device every test reports
// SKIPPED ("no CUDA device"), never passed.
#include "cpu/dtype.h"
#include "cpu/gated_delta_rule.h"
#include "cpu/matmul.h"
#include "cpu/norm.h"
#include "device.h"
#include "ops.h"

#include <cuda_runtime.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <type_traits>
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
                           Shape{130, 1, 256, 64}, Shape{77, 2, 16, 16}, Shape{2500, 2, 64, 48}}) {  // the last: slices of 2048
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
        int64_t sizes[5];
        mnemo::cuda::gdn_chunk_scratch_floats(T, H, dk, dv, &sizes[0], &sizes[1], &sizes[2], &sizes[3], &sizes[4]);
        mnemo::cuda::GdnChunkScratch scratch;
        float** bufs[5] = {&scratch.w, &scratch.u, &scratch.p, &scratch.g, &scratch.h};
        for (int j = 0; j < 5; ++j) ASSERT_EQ(cudaMalloc(bufs[j], static_cast<size_t>(sizes[j]) * 4), cudaSuccess);
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
        for (int j = 0; j < 5; ++j) cudaFree(*bufs[j]);
    }
}

// ---------------------------------------------------------------- GDN decode fusions
// At decode sizes the short conv and the L2 norm of q and k run in one launch, and o's per-head
// (gated) RMSNorm runs in o_proj's GEMV prologue. Both sum as the unfused kernels do, so the
// fused results (outputs, conv tails, the linear's output) must equal the unfused ones bit for bit.
namespace {

float* to_device(const std::vector<float>& h) {
    float* d = nullptr;
    EXPECT_EQ(cudaMalloc(&d, h.size() * 4), cudaSuccess);
    cudaMemcpy(d, h.data(), h.size() * 4, cudaMemcpyHostToDevice);
    return d;
}

std::vector<float> to_host(const float* d, size_t n) {
    std::vector<float> h(n);
    cudaMemcpy(h.data(), d, n * 4, cudaMemcpyDeviceToHost);
    return h;
}

std::vector<float> random_vector(size_t n, std::mt19937& rng) {
    std::normal_distribution<float> normal;
    std::vector<float> v(n);
    for (auto& e : v) e = normal(rng);
    return v;
}

// A bf16 matrix on the device with its values as the device holds them (for references).
struct Bf16Matrix {
    std::vector<float> values;
    mnemo::cuda::DeviceMatrix device;
};
Bf16Matrix make_bf16_matrix(int64_t rows, int64_t cols, std::mt19937& rng, float scale = 1.0f) {
    Bf16Matrix m;
    m.values = random_vector(static_cast<size_t>(rows * cols), rng);
    std::vector<uint16_t> bits(m.values.size());
    for (size_t i = 0; i < bits.size(); ++i) {
        bits[i] = mnemo::cpu::f32_to_bf16(m.values[i] * scale);
        m.values[i] = mnemo::cpu::bf16_to_f32(bits[i]);
    }
    void* d = nullptr;
    EXPECT_EQ(cudaMalloc(&d, bits.size() * 2), cudaSuccess);
    cudaMemcpy(d, bits.data(), bits.size() * 2, cudaMemcpyHostToDevice);
    m.device.data = d;
    m.device.type = mnemo::cuda::WeightType::bf16;
    m.device.rows = rows;
    m.device.cols = cols;
    return m;
}

}  // namespace

// Greedy decoding's argmax on the device follows the CPU sampler's rule: the largest logit, the
// lowest index among equal ones (−0 equal to +0), NaN as −∞ (all NaN: token 0). Logits on a coarse
// grid make ties common; the winner sits first, last, tied at both ends and inside, at vocabulary
// sizes around the kernel's block and load batch. The LM head's fused choice (argmax_key) agrees.
TEST(Cuda, ArgmaxTakesTheLargestLogitAndTheLowestIndexAmongEqualOnes) {
    MNEMO_REQUIRE_CUDA_DEVICE();
    const auto expected = [](const std::vector<float>& l) {
        int32_t best_i = 0;
        float best = -INFINITY;
        for (size_t i = 0; i < l.size(); ++i) {
            const float v = std::isnan(l[i]) ? -INFINITY : l[i];
            if (v > best) best = v, best_i = static_cast<int32_t>(i);
        }
        return best_i;
    };
    int32_t* d_out = nullptr;
    ASSERT_EQ(cudaMalloc(&d_out, 4), cudaSuccess);
    int cases = 0;
    for (int64_t n : {1, 7, 1023, 1024, 1025, 8191, 8193, 32000, 100003}) {
        std::mt19937 rng(static_cast<uint32_t>(n));
        std::uniform_int_distribution<int> grid(-20, 20);
        for (int layout = 0; layout < 6; ++layout) {
            std::vector<float> l(static_cast<size_t>(n));
            for (float& v : l) v = 0.5f * static_cast<float>(grid(rng));
            for (size_t i = 3; i < l.size(); i += 17) l[i] = NAN;
            const size_t last = l.size() - 1, mid = l.size() / 2;
            if (layout == 0) l[0] = 100.0f;
            if (layout == 1) l[last] = 100.0f;
            if (layout == 2) l[0] = l[last] = 100.0f;
            if (layout == 3) l[last] = l[mid] = 100.0f;
            if (layout == 4) std::fill(l.begin(), l.end(), NAN);
            if (layout == 5 && n > 2) std::fill(l.begin(), l.end(), -1.0f), l[0] = NAN, l[1] = -0.0f, l[last] = 0.0f;  // −0 ties +0
            float* d = to_device(l);
            ASSERT_EQ(cudaMemset(d_out, 0xff, 4), cudaSuccess);
            mnemo::cuda::argmax(d, n, d_out, nullptr);
            int32_t got = -1;
            ASSERT_EQ(cudaMemcpy(&got, d_out, 4, cudaMemcpyDeviceToHost), cudaSuccess);
            EXPECT_EQ(got, expected(l)) << "n " << n << " layout " << layout;
            // The same choice from the LM head's GEMV (linear's argmax_key; here an n × 1 f32 matrix
            // of the logits times x = 1, so its outputs are the logits), turned into the token by
            // advance_position, which empties the key and moves the position on.
            namespace mc = mnemo::cuda;
            mc::DeviceMatrix w;
            w.data = d;
            w.type = mc::WeightType::f32;
            w.rows = n;
            w.cols = 1;
            float* d_one = to_device(std::vector<float>{1.0f});
            float* d_y = to_device(std::vector<float>(l.size(), 0.0f));
            unsigned long long* d_key = nullptr;
            int64_t* d_pos = nullptr;
            ASSERT_EQ(cudaMalloc(&d_key, 8), cudaSuccess);
            ASSERT_EQ(cudaMalloc(&d_pos, 8), cudaSuccess);
            cudaMemset(d_key, 0, 8);
            cudaMemset(d_pos, 0, 8);
            ASSERT_EQ(cudaMemset(d_out, 0xff, 4), cudaSuccess);
            mc::linear(w, d_one, 1, d_y, nullptr, nullptr, nullptr, 0, d_key);
            mc::advance_position(d_pos, 1, nullptr, d_key, d_out);
            unsigned long long key = 1;
            int64_t pos = 0;
            ASSERT_EQ(cudaMemcpy(&got, d_out, 4, cudaMemcpyDeviceToHost), cudaSuccess);
            cudaMemcpy(&key, d_key, 8, cudaMemcpyDeviceToHost);
            cudaMemcpy(&pos, d_pos, 8, cudaMemcpyDeviceToHost);
            EXPECT_EQ(got, expected(l)) << "fused, n " << n << " layout " << layout;
            EXPECT_EQ(key, 0u);
            EXPECT_EQ(pos, 1);
            for (void* p : {static_cast<void*>(d), static_cast<void*>(d_one), static_cast<void*>(d_y), static_cast<void*>(d_key),
                            static_cast<void*>(d_pos)})
                cudaFree(p);
            ++cases;
        }
    }
    cudaFree(d_out);
    EXPECT_EQ(cases, 54);
}

TEST(Cuda, GdnConvL2FusedEqualsTheTwoOps) {
    MNEMO_REQUIRE_CUDA_DEVICE();
    namespace mc = mnemo::cuda;
    struct Shape { int64_t H, dk, dv, K; bool weights; };
    for (const Shape sh : {Shape{2, 16, 16, 4, true}, Shape{3, 32, 96, 2, true}, Shape{4, 64, 128, 4, true}, Shape{16, 128, 128, 4, true},
                           Shape{2, 256, 64, 8, true}, Shape{3, 128, 256, 1, false}}) {
        for (int64_t T : {1, 2, 5, 8}) {
            const int64_t kd = sh.H * sh.dk, vd = sh.H * sh.dv, K = sh.K;
            std::mt19937 rng(static_cast<uint32_t>(T * 131 + kd + K));
            const std::vector<float> qk = random_vector(static_cast<size_t>(2 * T * kd), rng), v = random_vector(static_cast<size_t>(T * vd), rng);
            std::vector<float> weights[3], tails[3];
            const int64_t widths[3] = {kd, kd, vd};
            for (int j = 0; j < 3; ++j) {
                weights[j] = random_vector(static_cast<size_t>(widths[j] * K), rng);
                tails[j] = random_vector(static_cast<size_t>(std::max<int64_t>(1, (K - 1) * widths[j])), rng);
            }
            std::vector<float> out[2][2], tail_out[2][3];  // [unfused, fused]
            for (int fused = 0; fused < 2; ++fused) {
                float *dqk = to_device(qk), *dv = to_device(v), *dw[3], *dt[3];
                for (int j = 0; j < 3; ++j) {
                    dw[j] = to_device(weights[j]);
                    dt[j] = to_device(tails[j]);
                }
                float* xs[3] = {dqk, dqk + T * kd, dv};
                mc::ShortConv convs[3];
                for (int j = 0; j < 3; ++j) convs[j] = mc::ShortConv{xs[j], xs[j], sh.weights ? dw[j] : nullptr, dt[j], widths[j]};
                if (fused) {
                    mc::short_conv_silu_l2(convs, T, K, sh.dk, 1e-6f, nullptr);
                } else {
                    mc::short_conv_silu(convs, 3, T, K, nullptr);
                    mc::l2_norm(dqk, 2 * T * sh.H, sh.dk, 1e-6f, nullptr);
                }
                ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
                out[fused][0] = to_host(dqk, qk.size());
                out[fused][1] = to_host(dv, v.size());
                for (int j = 0; j < 3; ++j) tail_out[fused][j] = to_host(dt[j], tails[j].size());
                for (float* p : {dqk, dv, dw[0], dw[1], dw[2], dt[0], dt[1], dt[2]}) cudaFree(p);
            }
            const std::string where = "H " + std::to_string(sh.H) + " dk " + std::to_string(sh.dk) + " K " + std::to_string(K) + " T " + std::to_string(T);
            EXPECT_EQ(out[0][0], out[1][0]) << "q, k: " << where;
            EXPECT_EQ(out[0][1], out[1][1]) << "v: " << where;
            for (int j = 0; j < 3; ++j) EXPECT_EQ(tail_out[0][j], tail_out[1][j]) << "tail " << j << ": " << where;
        }
    }
}

// A decode step's GDN convs, L2 norms and rule in one launch (the head's blocks a cluster, the q/k
// conv tails written by one of them after all have read them) against the two launches, over three
// steps so the tails carry: the rule's output, the state and every tail bit for bit.
TEST(Cuda, GdnDecodeStepInOneLaunchEqualsConvsThenRule) {
    MNEMO_REQUIRE_CUDA_DEVICE();
    namespace mc = mnemo::cuda;
    struct Shape { int64_t H, dk, dv, K; bool weights; };
    for (const Shape sh : {Shape{8, 128, 128, 4, true}, Shape{2, 16, 16, 4, true}, Shape{3, 32, 96, 2, true}, Shape{4, 64, 256, 4, true},
                           Shape{3, 128, 32, 1, false}}) {
        const int64_t kd = sh.H * sh.dk, vd = sh.H * sh.dv, K = sh.K;
        std::mt19937 rng(static_cast<uint32_t>(kd + vd + K));
        std::vector<float> weights[3], tails[3];
        const int64_t widths[3] = {kd, kd, vd};
        for (int j = 0; j < 3; ++j) {
            weights[j] = random_vector(static_cast<size_t>(widths[j] * K), rng);
            tails[j] = random_vector(static_cast<size_t>(std::max<int64_t>(1, (K - 1) * widths[j])), rng);
        }
        std::vector<float> state = random_vector(static_cast<size_t>(sh.H * sh.dk * sh.dv), rng);
        for (float& x : state) x *= 0.1f;
        constexpr int kSteps = 3;
        std::vector<float> qk[kSteps], v[kSteps], g[kSteps], beta[kSteps];
        for (int t = 0; t < kSteps; ++t) {
            qk[t] = random_vector(static_cast<size_t>(2 * kd), rng);
            v[t] = random_vector(static_cast<size_t>(vd), rng);
            g[t] = random_vector(static_cast<size_t>(sh.H), rng);
            beta[t] = random_vector(static_cast<size_t>(sh.H), rng);
            for (float& x : g[t]) x = -std::fabs(x);
            for (float& x : beta[t]) x = 0.5f + 0.4f * x;
        }
        std::vector<float> outs[2][kSteps], state_out[2], tail_out[2][3];
        for (int fused = 0; fused < 2; ++fused) {
            float *dw[3], *dt[3];
            for (int j = 0; j < 3; ++j) {
                dw[j] = to_device(weights[j]);
                dt[j] = to_device(tails[j]);
            }
            float* ds = to_device(state);
            float* dout = to_device(std::vector<float>(static_cast<size_t>(vd), NAN));
            for (int t = 0; t < kSteps; ++t) {
                float *dqk = to_device(qk[t]), *dv = to_device(v[t]), *dg = to_device(g[t]), *db = to_device(beta[t]);
                float* xs[3] = {dqk, dqk + kd, dv};
                mc::ShortConv convs[3];
                for (int j = 0; j < 3; ++j) convs[j] = mc::ShortConv{xs[j], xs[j], sh.weights ? dw[j] : nullptr, dt[j], widths[j]};
                const float scale = 1.0f / std::sqrt(static_cast<float>(sh.dk));
                if (fused) {
                    ASSERT_TRUE(mc::gdn_decode_step(convs, K, dg, db, ds, dout, sh.H, sh.dk, sh.dv, scale, 1e-6f, nullptr));
                } else {
                    mc::short_conv_silu_l2(convs, 1, K, sh.dk, 1e-6f, nullptr);
                    ASSERT_TRUE(mc::gated_delta_rule(dqk, dqk + kd, dv, dg, db, ds, dout, 1, sh.H, sh.dk, sh.dv, scale, nullptr));
                }
                ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
                outs[fused][t] = to_host(dout, static_cast<size_t>(vd));
                for (float* p : {dqk, dv, dg, db}) cudaFree(p);
            }
            state_out[fused] = to_host(ds, state.size());
            for (int j = 0; j < 3; ++j) tail_out[fused][j] = to_host(dt[j], tails[j].size());
            for (float* p : {dw[0], dw[1], dw[2], dt[0], dt[1], dt[2], ds, dout}) cudaFree(p);
        }
        const std::string where = "H " + std::to_string(sh.H) + " dk " + std::to_string(sh.dk) + " dv " + std::to_string(sh.dv) + " K " + std::to_string(K);
        for (int t = 0; t < kSteps; ++t) {
            EXPECT_EQ(outs[0][t], outs[1][t]) << "out, step " << t << ": " << where;
            for (float x : outs[1][t]) ASSERT_TRUE(std::isfinite(x)) << where;
        }
        EXPECT_NE(outs[1][0], outs[1][1]) << where;
        EXPECT_EQ(state_out[0], state_out[1]) << "state: " << where;
        for (int j = 0; j < 3; ++j) EXPECT_EQ(tail_out[0][j], tail_out[1][j]) << "tail " << j << ": " << where;
    }
    // Where it does not apply the caller keeps the two launches.
    mc::ShortConv none[3];
    EXPECT_FALSE(mc::gdn_decode_step(none, 4, nullptr, nullptr, nullptr, nullptr, 2, 256, 64, 1.0f, 1e-6f, nullptr));
    EXPECT_FALSE(mc::gdn_decode_step(none, 4, nullptr, nullptr, nullptr, nullptr, 2, 64, 512, 1.0f, 1e-6f, nullptr));
}

TEST(Cuda, GdnOutputNormInTheGemvEqualsTheNormKernels) {
    MNEMO_REQUIRE_CUDA_DEVICE();
    namespace mc = mnemo::cuda;
    struct Shape { int64_t H, dv, rows; };
    // 48 × 128 = 6144 columns: 8 tokens take two GEMV launches (shared-memory limit). One token
    // with heads of 32–128 values, a head a warp (3 × 96, the 0.4B shape's 8 × 128), takes the
    // form that reads the norm's weights and the gate before the wait: the same bits.
    for (const Shape sh : {Shape{2, 16, 40}, Shape{3, 96, 64}, Shape{8, 128, 300}, Shape{16, 128, 256}, Shape{4, 256, 33}, Shape{48, 128, 24}}) {
        for (int64_t T : {1, 3, 8}) {
            for (bool gated : {true, false}) {
                const int64_t cols = sh.H * sh.dv;
                std::mt19937 rng(static_cast<uint32_t>(T * 17 + cols + gated));
                const std::vector<float> o = random_vector(static_cast<size_t>(T * cols), rng), gate = random_vector(o.size(), rng),
                                         w = random_vector(static_cast<size_t>(sh.dv), rng),
                                         m = random_vector(static_cast<size_t>(sh.rows * cols), rng);
                float *d_o = to_device(o), *d_gate = to_device(gate), *d_w = to_device(w), *d_m = to_device(m), *d_normed = to_device(o),
                      *d_y[2] = {to_device(std::vector<float>(static_cast<size_t>(T * sh.rows))), to_device(std::vector<float>(static_cast<size_t>(T * sh.rows)))};
                const mc::DeviceMatrix matrix{d_m, mc::WeightType::f32, sh.rows, cols, nullptr};
                if (gated) mc::rms_norm_gated(d_o, d_gate, d_w, d_normed, T * sh.H, sh.dv, 1e-5f, nullptr);
                else mc::add_rms_norm(d_o, nullptr, nullptr, d_w, d_normed, T * sh.H, sh.dv, 1e-5f, nullptr);
                mc::linear(matrix, d_normed, T, d_y[0], nullptr, nullptr);
                const mc::InputNorm norm{d_o, nullptr, nullptr, d_w, 1e-5f, sh.dv, gated ? d_gate : nullptr};
                mc::linear(matrix, d_o, T, d_y[1], nullptr, nullptr, &norm);
                ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
                EXPECT_EQ(to_host(d_y[0], static_cast<size_t>(T * sh.rows)), to_host(d_y[1], static_cast<size_t>(T * sh.rows)))
                    << "H " << sh.H << " dv " << sh.dv << " T " << T << (gated ? " gated" : "");
                EXPECT_EQ(to_host(d_o, o.size()), o) << "the norm's input is read only";
                for (float* p : {d_o, d_gate, d_w, d_m, d_normed, d_y[0], d_y[1]}) cudaFree(p);
            }
        }
    }
}

// ---------------------------------------------------------------- q8_0 weights
// q8_0 matrices stay q8_0 on the device. The GEMV dequantises them on the fly (f32 products,
// as the CPU's matmul: only the order of the sums differs); above GEMV sizes cuBLAS
// multiplies the matrix dequantised to bf16.
namespace {

struct Q8Matrix {
    std::vector<mnemo::cpu::BlockQ8_0> blocks;
    std::vector<float> dequantised;  // [rows][cols]
    int8_t* d_quants = nullptr;
    uint16_t* d_scales = nullptr;
    mnemo::cuda::DeviceMatrix device(int64_t rows, int64_t cols) const {
        return mnemo::cuda::DeviceMatrix{d_quants, mnemo::cuda::WeightType::q8_0, rows, cols, nullptr, d_scales};
    }
};

Q8Matrix make_q8_matrix(int64_t rows, int64_t cols, std::mt19937& rng) {
    namespace cpu = mnemo::cpu;
    Q8Matrix m;
    const std::vector<float> w = random_vector(static_cast<size_t>(rows * cols), rng);
    m.blocks.resize(static_cast<size_t>(rows * cols / 32));
    m.dequantised.resize(w.size());
    cpu::quantize_row_q8_0(w.data(), m.blocks.data(), rows * cols);
    cpu::dequantize_row_q8_0(m.blocks.data(), m.dequantised.data(), rows * cols);
    std::vector<int8_t> quants(w.size());
    std::vector<uint16_t> scales(m.blocks.size());
    mnemo::cuda::split_q8_0_blocks(m.blocks.data(), static_cast<int64_t>(m.blocks.size()), quants.data(), scales.data());
    cudaMalloc(&m.d_quants, quants.size());
    cudaMalloc(&m.d_scales, scales.size() * 2);
    cudaMemcpy(m.d_quants, quants.data(), quants.size(), cudaMemcpyHostToDevice);
    cudaMemcpy(m.d_scales, scales.data(), scales.size() * 2, cudaMemcpyHostToDevice);
    return m;
}

// RMSNorm of one row h (the residual sum) times the norm's weight w, in double: a normalised
// GEMV's input as the reference computes it.
std::vector<double> rms_normed(const float* h, const float* w, int64_t n, double eps) {
    double ss = 0;
    for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(h[i]) * h[i];
    const double inv = 1.0 / std::sqrt(ss / static_cast<double>(n) + eps);
    std::vector<double> in(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) in[static_cast<size_t>(i)] = h[i] * inv * w[i];
    return in;
}

// Σ |w_c · x_c| of one output: the scale of its rounding errors.
double magnitude(const float* w, const float* x, int64_t cols) {
    double m = 0;
    for (int64_t c = 0; c < cols; ++c) m += std::fabs(static_cast<double>(w[c]) * x[c]);
    return m;
}

}  // namespace

TEST(Cuda, LinearOnQ8_0WeightsMatchesTheCpu) {
    MNEMO_REQUIRE_CUDA_DEVICE();
    namespace mc = mnemo::cuda;
    namespace cpu = mnemo::cpu;
    const char* why = nullptr;
    const bool blas = mc::blas_init(nullptr, &why);
    struct Shape { int64_t rows, cols; };
    for (const Shape sh : {Shape{40, 96}, Shape{1024, 1024}, Shape{300, 2816}}) {
        for (int64_t T : {1, 3, 8, 40}) {
            if (T > mc::kGemvMaxTokens && !blas) continue;
            std::mt19937 rng(static_cast<uint32_t>(sh.rows * 7 + sh.cols + T));
            const Q8Matrix m = make_q8_matrix(sh.rows, sh.cols, rng);
            const std::vector<float> x = random_vector(static_cast<size_t>(T * sh.cols), rng);
            std::vector<float> ref(static_cast<size_t>(T * sh.rows));
            cpu::MatmulArgs args;
            args.x = x.data(); args.x_stride = sh.cols; args.n_rows = T; args.k = sh.cols;
            args.w = m.blocks.data(); args.w_type = cpu::DType::q8_0; args.n_cols = sh.rows;
            args.y = ref.data(); args.y_stride = sh.rows;
            cpu::matmul_reference(args);
            float* d_x = to_device(x);
            float* d_y = to_device(ref);
            void* scratch = nullptr;
            cudaMalloc(&scratch, static_cast<size_t>(mc::linear_scratch_bf16(m.device(sh.rows, sh.cols), T)) * 2);
            mc::linear(m.device(sh.rows, sh.cols), d_x, T, d_y, scratch, nullptr);
            ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
            const std::vector<float> y = to_host(d_y, ref.size());
            for (int64_t t = 0; t < T; ++t) {
                for (int64_t r = 0; r < sh.rows; ++r) {
                    const size_t i = static_cast<size_t>(t * sh.rows + r);
                    // f32 sums: 1e-5 of the magnitude; cuBLAS rounds x and W to bf16 (2⁻⁸ each).
                    const double tol = (T > mc::kGemvMaxTokens ? 2.0 * std::ldexp(1.0, -8) : 1e-5) *
                                           magnitude(m.dequantised.data() + r * sh.cols, x.data() + t * sh.cols, sh.cols) + 1e-6;
                    ASSERT_NEAR(y[i], ref[i], tol) << sh.rows << "x" << sh.cols << " T " << T << " t " << t << " row " << r;
                }
            }
            cudaFree(d_x); cudaFree(d_y); cudaFree(scratch); cudaFree(m.d_quants); cudaFree(m.d_scales);
        }
    }
    if (blas) mc::blas_shutdown();
}

// A layer's projections of one input above GEMV sizes, through cuBLAS on bf16 weights (shapes
// alike and not, 8-row gates, one with a bias): every output against a double sum over the bf16
// weights the device holds; cuBLAS rounds x to bf16 (2⁻⁸).
TEST(Cuda, Bf16ProjectionsOfOneInputMatchTheirSums) {
    MNEMO_REQUIRE_CUDA_DEVICE();
    namespace mc = mnemo::cuda;
    const char* why = nullptr;
    if (!mc::blas_init(nullptr, &why)) GTEST_SKIP() << why;
    const int64_t cols = 256;
    const int64_t rows[7] = {192, 192, 192, 64, 192, 8, 8};
    const bool biased[7] = {false, false, false, false, true, false, false};
    for (int64_t T : {9, 40}) {
        std::mt19937 rng(static_cast<uint32_t>(T));
        const std::vector<float> x = random_vector(static_cast<size_t>(T * cols), rng);
        mc::DeviceMatrix w[7];
        const mc::DeviceMatrix* wp[7];
        float* y[7];
        std::vector<std::vector<float>> weights(7), biases(7);
        std::vector<void*> owned;
        int64_t scratch_elems = 0;
        for (int m = 0; m < 7; ++m) {
            Bf16Matrix made = make_bf16_matrix(rows[m], cols, rng);
            weights[m] = std::move(made.values);
            w[m] = made.device;
            owned.push_back(const_cast<void*>(w[m].data));
            if (biased[m]) {
                biases[m] = random_vector(static_cast<size_t>(rows[m]), rng);
                float* b = to_device(biases[m]);
                owned.push_back(b);
                w[m].bias = b;
            }
            wp[m] = &w[m];
            y[m] = to_device(std::vector<float>(static_cast<size_t>(T * rows[m]), NAN));
            owned.push_back(y[m]);
            scratch_elems = std::max(scratch_elems, mc::linear_scratch_bf16(w[m], T));
        }
        float* d_x = to_device(x);
        void* scratch = nullptr;
        cudaMalloc(&scratch, static_cast<size_t>(scratch_elems) * 2);
        mc::linear_batch(wp, y, 7, d_x, T, scratch, nullptr);
        ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
        for (int m = 0; m < 7; ++m) {
            const std::vector<float> out = to_host(y[m], static_cast<size_t>(T * rows[m]));
            for (int64_t t = 0; t < T; ++t)
                for (int64_t r = 0; r < rows[m]; ++r) {
                    double ref = biased[m] ? biases[m][static_cast<size_t>(r)] : 0.0;
                    for (int64_t c = 0; c < cols; ++c)
                        ref += static_cast<double>(weights[m][static_cast<size_t>(r * cols + c)]) * x[static_cast<size_t>(t * cols + c)];
                    const double tol = 2.0 * std::ldexp(1.0, -8) * magnitude(weights[m].data() + r * cols, x.data() + t * cols, cols) + 1e-5;
                    ASSERT_NEAR(out[static_cast<size_t>(t * rows[m] + r)], ref, tol) << "matrix " << m << " T " << T << " t " << t << " row " << r;
                }
        }
        cudaFree(d_x);
        cudaFree(scratch);
        for (void* p : owned) cudaFree(p);
    }
    mc::blas_shutdown();
}

// A GEMV's grid changes which block sums a row, not how: capped grids (o_proj before a split MLP
// runs on half the SMs, gemv_blocks_before_mlp_split) give the default grid's bits, input norm included.
TEST(Cuda, GemvOnFewerBlocksGivesTheSameBits) {
    MNEMO_REQUIRE_CUDA_DEVICE();
    namespace mc = mnemo::cuda;
    const int64_t rows = 1024, cols = 1024;
    std::mt19937 rng(11);
    Bf16Matrix w = make_bf16_matrix(rows, cols, rng);
    float* d_x = to_device(random_vector(cols, rng));
    float* d_res = to_device(random_vector(cols, rng));
    float* d_norm = to_device(random_vector(cols, rng));
    float* d_sum = to_device(std::vector<float>(cols, NAN));
    const mc::InputNorm norm{d_x, d_res, d_sum, d_norm, 1e-6f};
    std::vector<std::vector<float>> outs;
    for (int64_t blocks : {int64_t{0}, mc::gemv_blocks_before_mlp_split(), int64_t{5}}) {
        float* d_y = to_device(std::vector<float>(rows, NAN));
        mc::linear(w.device, nullptr, 1, d_y, nullptr, nullptr, &norm, blocks);
        ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
        outs.push_back(to_host(d_y, rows));
        cudaFree(d_y);
    }
    EXPECT_GE(mc::gemv_blocks_before_mlp_split(), 1);
    for (size_t i = 1; i < outs.size(); ++i) EXPECT_EQ(std::memcmp(outs[0].data(), outs[i].data(), rows * sizeof(float)), 0) << "grid " << i;
    for (float v : outs[0]) ASSERT_TRUE(std::isfinite(v));
    for (void* p : {static_cast<void*>(d_x), static_cast<void*>(d_res), static_cast<void*>(d_norm), static_cast<void*>(d_sum),
                    const_cast<void*>(w.device.data)})
        cudaFree(p);
}

// A GEMV with a whole-row input norm (the residual added, RMSNorm, the norm's weight; 1/RMS applied
// to each row's sum) against the norm then the product in double, over the bf16 weights the device
// holds: widths staged in one pass of the block and in several (above 1 024), one token and more;
// the residual sum block 0 writes is x + residual in f32, bit for bit.
TEST(Cuda, NormalisedGemvMatchesTheNormThenTheProduct) {
    MNEMO_REQUIRE_CUDA_DEVICE();
    namespace mc = mnemo::cuda;
    const int64_t rows = 96;
    for (const int64_t cols : {int64_t{640}, int64_t{1024}, int64_t{2048}, int64_t{2816}}) {
        for (const int64_t T : {int64_t{1}, int64_t{3}, mc::kGemvMaxTokens}) {
            std::mt19937 rng(static_cast<uint32_t>(cols * 10 + T));
            const Bf16Matrix w = make_bf16_matrix(rows, cols, rng, 0.05f);
            const std::vector<float> x = random_vector(static_cast<size_t>(T * cols), rng), res = random_vector(x.size(), rng),
                                     nw = random_vector(static_cast<size_t>(cols), rng);
            float *d_x = to_device(x), *d_res = to_device(res), *d_nw = to_device(nw);
            float *d_sum = to_device(std::vector<float>(x.size(), NAN)), *d_y = to_device(std::vector<float>(static_cast<size_t>(T * rows), NAN));
            const mc::InputNorm norm{d_x, d_res, d_sum, d_nw, 1e-6f};
            mc::linear(w.device, nullptr, T, d_y, nullptr, nullptr, &norm);
            ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
            const std::vector<float> y = to_host(d_y, static_cast<size_t>(T * rows)), sum = to_host(d_sum, x.size());
            for (int64_t t = 0; t < T; ++t) {
                for (int64_t i = 0; i < cols; ++i) {
                    const size_t at = static_cast<size_t>(t * cols + i);
                    const float h = x[at] + res[at];
                    ASSERT_EQ(std::memcmp(&sum[at], &h, 4), 0) << "residual sum, width " << cols << " T " << T << " t " << t << " i " << i;
                }
                const std::vector<double> in = rms_normed(sum.data() + t * cols, nw.data(), cols, 1e-6);
                for (int64_t r = 0; r < rows; ++r) {
                    double want = 0, mag = 0;
                    for (int64_t i = 0; i < cols; ++i) {
                        const double term = w.values[static_cast<size_t>(r * cols + i)] * in[static_cast<size_t>(i)];
                        want += term;
                        mag += std::fabs(term);
                    }
                    ASSERT_NEAR(y[static_cast<size_t>(t * rows + r)], want, 1e-5 * mag + 1e-6)
                        << "width " << cols << " T " << T << " t " << t << " row " << r;
                }
            }
            for (void* p : {static_cast<void*>(d_x), static_cast<void*>(d_res), static_cast<void*>(d_nw), static_cast<void*>(d_sum),
                            static_cast<void*>(d_y), const_cast<void*>(w.device.data)})
                cudaFree(p);
        }
    }
}

// ---------------------------------------------------------------- the MLP in one launch
namespace {

std::vector<int64_t> fixed_to_host(const int64_t* d, size_t n) {
    std::vector<int64_t> h(n);
    cudaMemcpy(h.data(), d, n * 8, cudaMemcpyDeviceToHost);
    return h;
}

}  // namespace

// A decode step's first linear layer with the embedding folded in (InputNorm::token) gives the
// bits of embed() then the GEMV over its output: the outputs of every matrix of the batch, the
// residual stream block 0 writes, and the values it clears; at widths 1 024 and 640.
TEST(Cuda, GemvWithTheEmbeddingFoldedInGivesTheBitsOfEmbedThenGemv) {
    MNEMO_REQUIRE_CUDA_DEVICE();
    namespace mc = mnemo::cuda;
    for (const int64_t cols : {int64_t{1024}, int64_t{640}}) {
        ASSERT_TRUE(mc::embedding_foldable(cols));
        std::mt19937 rng(static_cast<uint32_t>(cols));
        const Bf16Matrix table = make_bf16_matrix(50, cols, rng), a = make_bf16_matrix(700, cols, rng), b = make_bf16_matrix(300, cols, rng);
        const int32_t token = 37;
        int32_t* d_token = nullptr;
        ASSERT_EQ(cudaMalloc(&d_token, 4), cudaSuccess);
        cudaMemcpy(d_token, &token, 4, cudaMemcpyHostToDevice);
        float* d_norm = to_device(random_vector(static_cast<size_t>(cols), rng));
        const mc::DeviceMatrix* ws[2] = {&a.device, &b.device};
        std::vector<std::vector<float>> outs[2];
        std::vector<float> streams[2];
        for (int folded = 0; folded < 2; ++folded) {
            float* d_x = to_device(std::vector<float>(static_cast<size_t>(cols), NAN));
            int64_t* d_clear = nullptr;
            ASSERT_EQ(cudaMalloc(&d_clear, 2048 * 8), cudaSuccess);
            cudaMemset(d_clear, 0x5a, 2048 * 8);
            float* d_ya = to_device(std::vector<float>(700, NAN));
            float* d_yb = to_device(std::vector<float>(300, NAN));
            float* ys[2] = {d_ya, d_yb};
            mc::InputNorm norm{d_x, nullptr, nullptr, d_norm, 1e-6f};
            if (folded == 1) {
                norm.x = nullptr;
                norm.sum = d_x;
                norm.token = d_token;
                norm.embedding = table.device;
                norm.clear = d_clear;
                norm.n_clear = 2048;
            } else {
                mc::embed(d_token, 1, table.device, d_x, nullptr, d_clear, 2048);
            }
            mc::linear_batch(ws, ys, 2, d_x, 1, nullptr, nullptr, &norm);
            ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
            outs[folded] = {to_host(d_ya, 700), to_host(d_yb, 300)};
            streams[folded] = to_host(d_x, static_cast<size_t>(cols));
            for (int64_t c : fixed_to_host(d_clear, 2048)) ASSERT_EQ(c, 0) << "folded " << folded;
            for (void* p : {static_cast<void*>(d_x), static_cast<void*>(d_clear), static_cast<void*>(d_ya), static_cast<void*>(d_yb)}) cudaFree(p);
        }
        for (int m = 0; m < 2; ++m) {
            ASSERT_EQ(std::memcmp(outs[0][m].data(), outs[1][m].data(), outs[0][m].size() * 4), 0) << "matrix " << m << ", width " << cols;
            for (float v : outs[1][m]) ASSERT_TRUE(std::isfinite(v));
        }
        ASSERT_EQ(std::memcmp(streams[0].data(), streams[1].data(), streams[0].size() * 4), 0) << "residual stream, width " << cols;
        for (int64_t i = 0; i < cols; ++i)
            ASSERT_EQ(streams[1][static_cast<size_t>(i)], table.values[static_cast<size_t>(token * cols + i)]) << i;
        for (void* p : {static_cast<void*>(d_token), static_cast<void*>(d_norm), const_cast<void*>(table.device.data),
                        const_cast<void*>(a.device.data), const_cast<void*>(b.device.data)})
            cudaFree(p);
    }
    EXPECT_FALSE(mc::embedding_foldable(1025));
}


// The split MLP (one launch, shares of down added as 64-bit fixed point) against the MLP as
// GEMVs: the same input norm bit for bit (the residual sum too), outputs within the f32 sums'
// rounding, the same bits on every launch whatever order its blocks arrive in, `clear` zeroed,
// a share past ±2^23 saturated rather than wrapped; and the next linear layer reading the sum
// as residual_fixed gets the bits of reading it converted on the host.
TEST(Cuda, SplitMlpMatchesTheGemvMlpAndGivesTheSameBitsEveryLaunch) {
    MNEMO_REQUIRE_CUDA_DEVICE();
    namespace mc = mnemo::cuda;
    const int64_t d = 1024;
    int device = 0, sms = 0;
    cudaGetDevice(&device);
    cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device);
    const double fixed_unit = std::ldexp(1.0, -mc::kMlpFixedBits);
    // The paper's 0.4B MLP; fewer runs of 8 rows than blocks (blocks with none); the most that fits.
    for (const int64_t f : {int64_t{2816}, int64_t{520}, int64_t{32} * sms}) {
        std::mt19937 rng(static_cast<uint32_t>(f));
        const Bf16Matrix gate = make_bf16_matrix(f, d, rng, 0.05f), up = make_bf16_matrix(f, d, rng, 0.05f),
                         down = make_bf16_matrix(d, f, rng, 0.05f);
        ASSERT_TRUE(mc::mlp_split_fits(gate.device, up.device, down.device)) << f;
        const std::vector<float> x = random_vector(static_cast<size_t>(d), rng), res = random_vector(x.size(), rng),
                                 nw = random_vector(x.size(), rng);
        float *d_x = to_device(x), *d_res = to_device(res), *d_nw = to_device(nw);
        float *d_sum = to_device(std::vector<float>(x.size())), *d_sum2 = to_device(std::vector<float>(x.size()));
        float *d_in = to_device(std::vector<float>(x.size())), *d_hidden = to_device(std::vector<float>(static_cast<size_t>(f)));
        float* d_y = to_device(std::vector<float>(x.size()));
        const mc::InputNorm norm{d_x, d_res, d_sum, d_nw, 1e-6f};
        mc::mlp(gate.device, up.device, down.device, d_in, 1, d_hidden, nullptr, d_y, nullptr, nullptr, &norm);
        int64_t *d_fixed = nullptr, *d_clear = nullptr;
        ASSERT_EQ(cudaMalloc(&d_fixed, static_cast<size_t>(d) * 8), cudaSuccess);
        ASSERT_EQ(cudaMalloc(&d_clear, static_cast<size_t>(d) * 8), cudaSuccess);
        mc::InputNorm norm2 = norm;
        norm2.sum = d_sum2;
        std::vector<int64_t> first;
        for (int launch = 0; launch < 3; ++launch) {
            cudaMemset(d_fixed, 0, static_cast<size_t>(d) * 8);
            cudaMemset(d_clear, 0x5a, static_cast<size_t>(d) * 8);
            mc::mlp_split(gate.device, up.device, down.device, norm2, d_fixed, d_clear, nullptr);
            ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
            const std::vector<int64_t> got = fixed_to_host(d_fixed, static_cast<size_t>(d));
            if (launch == 0) first = got;
            else ASSERT_EQ(got, first) << "launch " << launch << " of " << f << " rows";
            for (int64_t c : fixed_to_host(d_clear, static_cast<size_t>(d))) ASSERT_EQ(c, 0);
        }
        const std::vector<float> y = to_host(d_y, x.size()), sum = to_host(d_sum, x.size()), sum2 = to_host(d_sum2, x.size());
        ASSERT_EQ(std::memcmp(sum.data(), sum2.data(), sum.size() * 4), 0) << "residual sums";
        // The GEMV's normalised input, from the shared bits, and h as the reference sums it.
        const std::vector<double> in = rms_normed(sum.data(), nw.data(), d, 1e-6);
        std::vector<double> h(static_cast<size_t>(f));
        std::vector<double> habs(h.size());
        for (int64_t j = 0; j < f; ++j) {
            double g = 0, u = 0, ga = 0, ua = 0;
            for (int64_t i = 0; i < d; ++i) {
                const double gi = gate.values[static_cast<size_t>(j * d + i)] * in[static_cast<size_t>(i)];
                const double ui = up.values[static_cast<size_t>(j * d + i)] * in[static_cast<size_t>(i)];
                g += gi, u += ui, ga += std::fabs(gi), ua += std::fabs(ui);
            }
            h[static_cast<size_t>(j)] = g / (1.0 + std::exp(-g)) * u;
            habs[static_cast<size_t>(j)] = (ga + std::fabs(g)) * (ua + std::fabs(u));
        }
        double worst = 0, worst_gemv = 0;
        for (int64_t r = 0; r < d; ++r) {
            double want = 0, mag = 0;
            for (int64_t j = 0; j < f; ++j) {
                const double w = down.values[static_cast<size_t>(r * f + j)];
                want += w * h[static_cast<size_t>(j)];
                mag += std::fabs(w) * habs[static_cast<size_t>(j)];
            }
            const double split = static_cast<double>(first[static_cast<size_t>(r)]) * fixed_unit;
            // f32 sums over 1024 and f rows (1e-5 of the magnitudes they add), plus one fixed-point unit a block.
            const double tol = 1e-5 * mag + sms * fixed_unit + 1e-6;
            ASSERT_NEAR(split, want, tol) << "row " << r << " of " << f;
            ASSERT_NEAR(y[static_cast<size_t>(r)], want, tol) << "GEMV row " << r << " of " << f;
            worst = std::max(worst, std::fabs(split - want));
            worst_gemv = std::max(worst_gemv, std::fabs(y[static_cast<size_t>(r)] - want));
        }
        std::printf("split MLP, %lld rows: max |split - ref| %.3g, max |gemv - ref| %.3g\n", static_cast<long long>(f), worst, worst_gemv);

        // The next layer's norm reading the sum in fixed point: the bits of the host conversion.
        const Bf16Matrix next = make_bf16_matrix(64, d, rng, 0.05f);
        std::vector<float> converted(static_cast<size_t>(d));
        for (size_t i = 0; i < converted.size(); ++i) converted[i] = static_cast<float>(first[i]) * static_cast<float>(fixed_unit);
        float *d_conv = to_device(converted), *d_out_a = to_device(std::vector<float>(64)), *d_out_b = to_device(std::vector<float>(64));
        float *d_sa = to_device(std::vector<float>(x.size())), *d_sb = to_device(std::vector<float>(x.size()));
        const mc::InputNorm as_float{d_x, d_conv, d_sa, d_nw, 1e-6f};
        mc::InputNorm as_fixed{d_x, nullptr, d_sb, d_nw, 1e-6f};
        as_fixed.residual_fixed = d_fixed;
        mc::linear(next.device, d_in, 1, d_out_a, nullptr, nullptr, &as_float);
        mc::linear(next.device, d_in, 1, d_out_b, nullptr, nullptr, &as_fixed);
        ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
        const std::vector<float> oa = to_host(d_out_a, 64), ob = to_host(d_out_b, 64), sa = to_host(d_sa, x.size()), sb = to_host(d_sb, x.size());
        EXPECT_EQ(std::memcmp(oa.data(), ob.data(), oa.size() * 4), 0) << "linear after the split MLP, " << f << " rows";
        EXPECT_EQ(std::memcmp(sa.data(), sb.data(), sa.size() * 4), 0) << "residual sum after the split MLP, " << f << " rows";
        for (void* p : {static_cast<void*>(d_x), static_cast<void*>(d_res), static_cast<void*>(d_nw), static_cast<void*>(d_sum),
                        static_cast<void*>(d_sum2), static_cast<void*>(d_in), static_cast<void*>(d_hidden), static_cast<void*>(d_y),
                        static_cast<void*>(d_fixed), static_cast<void*>(d_clear), static_cast<void*>(d_conv), static_cast<void*>(d_out_a),
                        static_cast<void*>(d_out_b), static_cast<void*>(d_sa), static_cast<void*>(d_sb), const_cast<void*>(gate.device.data),
                        const_cast<void*>(up.device.data), const_cast<void*>(down.device.data), const_cast<void*>(next.device.data)})
            cudaFree(p);
    }
}

// The GEMV stages its input in halves (cuda xs_at) unless MNEMO_CUDA_INPUT_HALVES=0: the same
// values in the same sums, so the same bits. Checked for a normalised GEMV (its residual sum
// too), one normalised per group with a gate (GDN's o_proj), a plain one with the LM head's
// greedy key, a SwiGLU pair, and a normalised GEMV of q8_0 weights.
TEST(Cuda, InputStagedInHalvesGivesTheSameBits) {
    MNEMO_REQUIRE_CUDA_DEVICE();
    namespace mc = mnemo::cuda;
    const int64_t d = 1024, heads = 8, f = 2816, vocab = 4000;
    std::mt19937 rng(23);
    const Bf16Matrix w = make_bf16_matrix(d, d, rng, 0.05f), head = make_bf16_matrix(vocab, d, rng, 0.05f),
                     gate = make_bf16_matrix(f, d, rng, 0.05f), up = make_bf16_matrix(f, d, rng, 0.05f);
    const Q8Matrix q8 = make_q8_matrix(d, d, rng);
    float *d_x = to_device(random_vector(d, rng)), *d_res = to_device(random_vector(d, rng)), *d_nw = to_device(random_vector(d, rng));
    float *d_gnw = to_device(random_vector(d / heads, rng)), *d_gate = to_device(random_vector(d, rng));
    unsigned long long* d_key = nullptr;
    ASSERT_EQ(cudaMalloc(&d_key, 8), cudaSuccess);
    struct Outs {
        std::vector<float> normed, sum, grouped, plain, swiglu, q8;
        unsigned long long key = 0;
    };
    const auto run = [&](bool halves) {
        if (!halves) setenv("MNEMO_CUDA_INPUT_HALVES", "0", 1);
        Outs o;
        float *d_y = to_device(std::vector<float>(d, NAN)), *d_sum = to_device(std::vector<float>(d, NAN));
        float *d_logits = to_device(std::vector<float>(vocab, NAN)), *d_h = to_device(std::vector<float>(f, NAN));
        const mc::InputNorm norm{d_x, d_res, d_sum, d_nw, 1e-6f};
        mc::linear(w.device, nullptr, 1, d_y, nullptr, nullptr, &norm);
        o.normed = to_host(d_y, d);
        o.sum = to_host(d_sum, d);
        const mc::InputNorm grouped{d_x, nullptr, nullptr, d_gnw, 1e-6f, d / heads, d_gate};
        mc::linear(w.device, d_x, 1, d_y, nullptr, nullptr, &grouped, mc::gemv_blocks_before_mlp_split());
        o.grouped = to_host(d_y, d);
        cudaMemset(d_key, 0, 8);
        mc::linear(head.device, d_x, 1, d_logits, nullptr, nullptr, nullptr, 0, d_key);
        o.plain = to_host(d_logits, vocab);
        cudaMemcpy(&o.key, d_key, 8, cudaMemcpyDeviceToHost);
        mc::linear_swiglu(gate.device, up.device, nullptr, 1, d_h, nullptr, nullptr, nullptr, &norm);
        o.swiglu = to_host(d_h, f);
        mc::linear(q8.device(d, d), nullptr, 1, d_y, nullptr, nullptr, &norm);
        o.q8 = to_host(d_y, d);
        EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
        for (float* p : {d_y, d_sum, d_logits, d_h}) cudaFree(p);
        unsetenv("MNEMO_CUDA_INPUT_HALVES");
        return o;
    };
    const Outs a = run(true), b = run(false);
    const auto same = [](const std::vector<float>& x, const std::vector<float>& y) {
        return x.size() == y.size() && std::memcmp(x.data(), y.data(), x.size() * sizeof(float)) == 0;
    };
    EXPECT_TRUE(same(a.normed, b.normed)) << "normalised GEMV";
    EXPECT_TRUE(same(a.sum, b.sum)) << "residual sum";
    EXPECT_TRUE(same(a.grouped, b.grouped)) << "GEMV normalised per group";
    EXPECT_TRUE(same(a.plain, b.plain)) << "plain GEMV";
    EXPECT_EQ(a.key, b.key) << "greedy key";
    EXPECT_TRUE(same(a.swiglu, b.swiglu)) << "SwiGLU pair";
    EXPECT_TRUE(same(a.q8, b.q8)) << "q8_0 GEMV";
    for (float v : a.q8) ASSERT_TRUE(std::isfinite(v));
    for (float v : a.normed) ASSERT_TRUE(std::isfinite(v));
    for (float v : a.grouped) ASSERT_TRUE(std::isfinite(v));
    EXPECT_NE(a.key, 0u);
    for (void* p : {static_cast<void*>(d_x), static_cast<void*>(d_res), static_cast<void*>(d_nw), static_cast<void*>(d_gnw),
                    static_cast<void*>(d_gate), static_cast<void*>(d_key)})
        cudaFree(p);
    for (const Bf16Matrix* m : {&w, &head, &gate, &up}) cudaFree(const_cast<void*>(m->device.data));
    cudaFree(q8.d_quants);
    cudaFree(q8.d_scales);
}

// Shares past ±2^23 saturate: every weight 4 and an input of ones make each block's share of
// every output 2^23 or more, so each output is 2^(23 + kMlpFixedBits) times the blocks with rows.
TEST(Cuda, SplitMlpSaturatesSharesInsteadOfWrapping) {
    MNEMO_REQUIRE_CUDA_DEVICE();
    namespace mc = mnemo::cuda;
    const int64_t d = 1024, f = 2816;
    int device = 0, sms = 0;
    cudaGetDevice(&device);
    cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device);
    std::vector<void*> owned;
    const auto constant = [&](int64_t rows, int64_t cols) {
        const std::vector<uint16_t> bits(static_cast<size_t>(rows * cols), mnemo::cpu::f32_to_bf16(4.0f));
        void* p = nullptr;
        cudaMalloc(&p, bits.size() * 2);
        cudaMemcpy(p, bits.data(), bits.size() * 2, cudaMemcpyHostToDevice);
        owned.push_back(p);
        mc::DeviceMatrix m;
        m.data = p;
        m.type = mc::WeightType::bf16;
        m.rows = rows;
        m.cols = cols;
        return m;
    };
    const mc::DeviceMatrix gate = constant(f, d), up = constant(f, d), down = constant(d, f);
    float *d_x = to_device(std::vector<float>(static_cast<size_t>(d), 1.0f)), *d_nw = to_device(std::vector<float>(static_cast<size_t>(d), 1.0f));
    int64_t* d_fixed = nullptr;
    ASSERT_EQ(cudaMalloc(&d_fixed, static_cast<size_t>(d) * 8), cudaSuccess);
    cudaMemset(d_fixed, 0, static_cast<size_t>(d) * 8);
    const mc::InputNorm norm{d_x, nullptr, nullptr, d_nw, 1e-6f};
    mc::mlp_split(gate, up, down, norm, d_fixed, nullptr, nullptr);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    const int64_t runs = f / 8;
    int64_t blocks_with_rows = 0;
    for (int64_t b = 0; b < sms; ++b) blocks_with_rows += (b + 1) * runs / sms > b * runs / sms;
    const int64_t want = blocks_with_rows * (int64_t{1} << (23 + mc::kMlpFixedBits));
    for (int64_t v : fixed_to_host(d_fixed, static_cast<size_t>(d))) ASSERT_EQ(v, want);
    cudaFree(d_x);
    cudaFree(d_nw);
    cudaFree(d_fixed);
    for (void* p : owned) cudaFree(p);
}

// Which MLPs the split form takes: bf16 without biases, 1024 wide, rows in runs of 8, at most 24 a block.
TEST(Cuda, SplitMlpTakesOnlyTheShapesItIsBuiltFor) {
    MNEMO_REQUIRE_CUDA_DEVICE();
    namespace mc = mnemo::cuda;
    int device = 0, sms = 0;
    cudaGetDevice(&device);
    cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device);
    const auto matrix = [](int64_t rows, int64_t cols, mc::WeightType type) {
        mc::DeviceMatrix m;
        m.data = reinterpret_cast<void*>(uintptr_t{256});
        m.type = type;
        m.rows = rows;
        m.cols = cols;
        return m;
    };
    const auto fits = [&](int64_t d, int64_t f, mc::WeightType type) {
        return mc::mlp_split_fits(matrix(f, d, type), matrix(f, d, type), matrix(d, f, type));
    };
    EXPECT_TRUE(fits(1024, 2816, mc::WeightType::bf16));
    EXPECT_TRUE(fits(1024, 8, mc::WeightType::bf16));
    EXPECT_TRUE(fits(1024, 32 * sms, mc::WeightType::bf16));
    EXPECT_FALSE(fits(1024, 32 * sms + 8, mc::WeightType::bf16));
    EXPECT_FALSE(fits(1024, 2820, mc::WeightType::bf16));
    EXPECT_FALSE(fits(2048, 5632, mc::WeightType::bf16));
    EXPECT_FALSE(fits(384, 1024, mc::WeightType::bf16));
    EXPECT_FALSE(fits(1024, 2816, mc::WeightType::q8_0));
    EXPECT_FALSE(fits(1024, 2816, mc::WeightType::f32));
    mc::DeviceMatrix biased = matrix(2816, 1024, mc::WeightType::bf16);
    biased.bias = reinterpret_cast<const float*>(uintptr_t{256});
    EXPECT_FALSE(mc::mlp_split_fits(biased, matrix(2816, 1024, mc::WeightType::bf16), matrix(1024, 2816, mc::WeightType::bf16)));
}

TEST(Cuda, SwigluAndEmbedOnQ8_0WeightsMatchTheCpu) {
    MNEMO_REQUIRE_CUDA_DEVICE();
    namespace mc = mnemo::cuda;
    namespace cpu = mnemo::cpu;
    const int64_t rows = 352, cols = 1024;
    for (int64_t T : {1, 4}) {
        std::mt19937 rng(static_cast<uint32_t>(T));
        const Q8Matrix gate = make_q8_matrix(rows, cols, rng), up = make_q8_matrix(rows, cols, rng);
        const std::vector<float> x = random_vector(static_cast<size_t>(T * cols), rng);
        std::vector<float> g(static_cast<size_t>(T * rows)), u(g.size());
        for (int k = 0; k < 2; ++k) {
            cpu::MatmulArgs args;
            args.x = x.data(); args.x_stride = cols; args.n_rows = T; args.k = cols;
            args.w = (k == 0 ? gate : up).blocks.data(); args.w_type = cpu::DType::q8_0; args.n_cols = rows;
            args.y = (k == 0 ? g : u).data(); args.y_stride = rows;
            cpu::matmul_reference(args);
        }
        float *d_x = to_device(x), *d_out = to_device(g);
        mc::linear_swiglu(gate.device(rows, cols), up.device(rows, cols), d_x, T, d_out, nullptr, nullptr, nullptr);
        ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
        const std::vector<float> out = to_host(d_out, g.size());
        for (int64_t t = 0; t < T; ++t) {
            for (int64_t r = 0; r < rows; ++r) {
                const size_t i = static_cast<size_t>(t * rows + r);
                const double want = g[i] / (1.0 + std::exp(-static_cast<double>(g[i]))) * u[i];
                // Each projection within 1e-5 of its magnitude (f32 sums); silu's slope is below 1.1.
                const double mag_g = magnitude(gate.dequantised.data() + r * cols, x.data() + t * cols, cols);
                const double mag_u = magnitude(up.dequantised.data() + r * cols, x.data() + t * cols, cols);
                const double tol = 1e-5 * (1.1 * mag_g * std::fabs(u[i]) + (std::fabs(g[i]) + 1e-5 * mag_g) * mag_u) + 1e-6;
                ASSERT_NEAR(out[i], want, tol) << "T " << T << " t " << t << " row " << r;
            }
        }
        // The embedding lookup dequantises a row exactly as the CPU does (d · q in f32).
        const std::vector<int32_t> tokens = {5, 0, 351, 5};
        int32_t* d_tokens = nullptr;
        cudaMalloc(&d_tokens, tokens.size() * 4);
        cudaMemcpy(d_tokens, tokens.data(), tokens.size() * 4, cudaMemcpyHostToDevice);
        float* d_rows = to_device(std::vector<float>(tokens.size() * cols));
        mc::embed(d_tokens, static_cast<int64_t>(tokens.size()), gate.device(rows, cols), d_rows, nullptr);
        ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
        const std::vector<float> got = to_host(d_rows, tokens.size() * cols);
        for (size_t t = 0; t < tokens.size(); ++t)
            EXPECT_EQ(std::vector<float>(got.begin() + t * cols, got.begin() + (t + 1) * cols),
                      std::vector<float>(gate.dequantised.begin() + tokens[t] * cols, gate.dequantised.begin() + (tokens[t] + 1) * cols))
                << "token " << tokens[t];
        for (void* p : {static_cast<void*>(d_x), static_cast<void*>(d_out), static_cast<void*>(d_tokens), static_cast<void*>(d_rows),
                        static_cast<void*>(gate.d_quants), static_cast<void*>(gate.d_scales), static_cast<void*>(up.d_quants),
                        static_cast<void*>(up.d_scales)})
            cudaFree(p);
    }
}

// The MLP on q8_0 weights with its input norm (residual sum included), at a GEMV size and above
// it, where the norm writes bf16 straight for cuBLAS and the product goes to bf16 for down's GEMM:
// against the CPU's formulas in double on the dequantised weights.
TEST(Cuda, MlpWithItsInputNormMatchesTheCpuAtBothSizes) {
    MNEMO_REQUIRE_CUDA_DEVICE();
    namespace mc = mnemo::cuda;
    const char* why = nullptr;
    const bool blas = mc::blas_init(nullptr, &why);
    const int64_t d = 256, f = 352;
    for (int64_t T : {3, 40}) {
        if (T > mc::kGemvMaxTokens && !blas) continue;
        const bool gemm = T > mc::kGemvMaxTokens;
        std::mt19937 rng(static_cast<uint32_t>(T + 11));
        const Q8Matrix gate = make_q8_matrix(f, d, rng), up = make_q8_matrix(f, d, rng), down = make_q8_matrix(d, f, rng);
        const std::vector<float> x = random_vector(static_cast<size_t>(T * d), rng), res = random_vector(x.size(), rng),
                                 nw = random_vector(static_cast<size_t>(d), rng);
        float *d_x = to_device(x), *d_res = to_device(res), *d_nw = to_device(nw);
        float *d_sum = to_device(std::vector<float>(x.size())), *d_in = to_device(std::vector<float>(x.size()));
        float *d_hidden = to_device(std::vector<float>(static_cast<size_t>(T * f))), *d_up = to_device(std::vector<float>(static_cast<size_t>(T * f)));
        float* d_y = to_device(std::vector<float>(x.size()));
        void* scratch = nullptr;
        cudaMalloc(&scratch, static_cast<size_t>(std::max(mc::linear_scratch_bf16(down.device(d, f), T), mc::linear_scratch_bf16(gate.device(f, d), T))) * 2);
        const mc::InputNorm norm{d_x, d_res, d_sum, d_nw, 1e-6f};
        mc::mlp(gate.device(f, d), up.device(f, d), down.device(d, f), d_in, T, d_hidden, d_up, d_y, scratch, nullptr, &norm);
        ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
        const std::vector<float> y = to_host(d_y, x.size()), sum = to_host(d_sum, x.size());
        // cuBLAS rounds its inputs and weights to bf16 (2⁻⁸ each), and the product is rounded once more
        // for down; the GEMV sums in f32 (1e-5 of the magnitude).
        const double rel = gemm ? 2.0 * std::ldexp(1.0, -8) : 1e-5, round_h = gemm ? std::ldexp(1.0, -8) : 0.0;
        for (int64_t t = 0; t < T; ++t) {
            std::vector<double> in(static_cast<size_t>(d));
            std::vector<float> in_f(in.size());
            double ss = 0;
            for (int64_t i = 0; i < d; ++i) {
                const size_t k = static_cast<size_t>(t * d + i);
                ASSERT_EQ(sum[k], x[k] + res[k]) << "residual sum, T " << T;
                ss += static_cast<double>(sum[k]) * sum[k];
            }
            const double inv = 1.0 / std::sqrt(ss / static_cast<double>(d) + 1e-6);
            for (int64_t i = 0; i < d; ++i) in_f[static_cast<size_t>(i)] = static_cast<float>(in[static_cast<size_t>(i)] = sum[static_cast<size_t>(t * d + i)] * inv * nw[static_cast<size_t>(i)]);
            std::vector<double> h(static_cast<size_t>(f)), dh(h.size());
            for (int64_t j = 0; j < f; ++j) {
                double g = 0, u = 0;
                for (int64_t i = 0; i < d; ++i) {
                    g += gate.dequantised[static_cast<size_t>(j * d + i)] * in[static_cast<size_t>(i)];
                    u += up.dequantised[static_cast<size_t>(j * d + i)] * in[static_cast<size_t>(i)];
                }
                h[static_cast<size_t>(j)] = g / (1.0 + std::exp(-g)) * u;
                const double mg = rel * magnitude(gate.dequantised.data() + j * d, in_f.data(), d) + 1e-6,
                             mu = rel * magnitude(up.dequantised.data() + j * d, in_f.data(), d) + 1e-6;
                dh[static_cast<size_t>(j)] = 1.1 * mg * std::fabs(u) + (std::fabs(g) + mg) * mu + round_h * std::fabs(h[static_cast<size_t>(j)]);
            }
            for (int64_t r = 0; r < d; ++r) {
                double want = 0, tol = 1e-5;
                for (int64_t j = 0; j < f; ++j) {
                    const double w = down.dequantised[static_cast<size_t>(r * f + j)];
                    want += w * h[static_cast<size_t>(j)];
                    tol += std::fabs(w) * (dh[static_cast<size_t>(j)] + rel * std::fabs(h[static_cast<size_t>(j)]));
                }
                ASSERT_NEAR(y[static_cast<size_t>(t * d + r)], want, tol) << "T " << T << " t " << t << " row " << r;
            }
        }
        for (void* p : {static_cast<void*>(d_x), static_cast<void*>(d_res), static_cast<void*>(d_nw), static_cast<void*>(d_sum),
                        static_cast<void*>(d_in), static_cast<void*>(d_hidden), static_cast<void*>(d_up), static_cast<void*>(d_y), scratch,
                        static_cast<void*>(gate.d_quants), static_cast<void*>(gate.d_scales), static_cast<void*>(up.d_quants),
                        static_cast<void*>(up.d_scales), static_cast<void*>(down.d_quants), static_cast<void*>(down.d_scales)})
            cudaFree(p);
    }
    if (blas) mc::blas_shutdown();
}

// ---------------------------------------------------------------- window attention
// kv_attend on a cache without sink/retained entries (full attention, SWA): every token t of
// the chunk sees positions [pos0 + t − w_t + 1, pos0 + t], w_t = min(ring count + t + 1,
// window), the older ones from the ring, the newer ones from the chunk. Both precisions run
// after kv_plan (which writes the window counts) on the same data.
namespace {

struct WindowCase {
    int64_t T, pos0, window;  // chunk tokens, position of its first token, window capacity
    int32_t H, G, hd, splits;
    float q_amp;              // q ~ N(0, q_amp²): larger = sharper attention
};

struct WindowData {
    int64_t ring_start = 0, ring_count = 0;
    std::vector<float> q, keys, values, k, v;  // q [T][H·G][hd]; cache [H][window][hd]; chunk [T][H][hd]
};

std::string describe(const WindowCase& c) {
    char b[160];
    std::snprintf(b, sizeof b, "T %lld pos0 %lld window %lld H %d G %d hd %d splits %d", (long long)c.T, (long long)c.pos0,
                  (long long)c.window, c.H, c.G, c.hd, c.splits);
    return b;
}

// Ring slot of position p (< pos0) at the chunk start.
int64_t ring_slot(const WindowCase& c, const WindowData& d, int64_t p) {
    return (d.ring_start + (p - (c.pos0 - d.ring_count))) % c.window;
}

// value_of(p, h, dim) fills the cache and the chunk by position; slots holding no position are NaN,
// so reading one shows.
template <typename KeyFn, typename ValueFn, typename QFn>
WindowData make_window_data(const WindowCase& c, std::mt19937& rng, KeyFn key_of, ValueFn value_of, QFn q_of) {
    WindowData d;
    d.ring_count = std::min(c.pos0, c.window);
    d.ring_start = d.ring_count == c.window ? static_cast<int64_t>(rng() % static_cast<uint32_t>(c.window)) : 0;
    const int64_t hd = c.hd, H = c.H;
    d.keys.assign(static_cast<size_t>(H * c.window * hd), NAN);
    d.values = d.keys;
    for (int64_t p = c.pos0 - d.ring_count; p < c.pos0; ++p)
        for (int64_t h = 0; h < H; ++h)
            for (int64_t e = 0; e < hd; ++e) {
                const size_t i = static_cast<size_t>((h * c.window + ring_slot(c, d, p)) * hd + e);
                d.keys[i] = key_of(p, h, e);
                d.values[i] = value_of(p, h, e);
            }
    d.k.resize(static_cast<size_t>(c.T * H * hd));
    d.v.resize(d.k.size());
    for (int64_t t = 0; t < c.T; ++t)
        for (int64_t h = 0; h < H; ++h)
            for (int64_t e = 0; e < hd; ++e) {
                d.k[static_cast<size_t>((t * H + h) * hd + e)] = key_of(c.pos0 + t, h, e);
                d.v[static_cast<size_t>((t * H + h) * hd + e)] = value_of(c.pos0 + t, h, e);
            }
    d.q.resize(static_cast<size_t>(c.T * H * c.G * hd));
    for (auto& x : d.q) x = q_of();
    return d;
}

template <typename T>
T* to_device(const std::vector<T>& h) {
    T* p = nullptr;
    EXPECT_EQ(cudaMalloc(&p, std::max<size_t>(h.size(), 1) * sizeof(T)), cudaSuccess);
    if (!h.empty()) cudaMemcpy(p, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice);
    return p;
}

// Host vectors copied to the device, freed when it goes out of scope.
class DeviceBuffers {
public:
    DeviceBuffers() = default;
    DeviceBuffers(const DeviceBuffers&) = delete;
    DeviceBuffers& operator=(const DeviceBuffers&) = delete;
    ~DeviceBuffers() {
        for (void* p : owned_) cudaFree(p);
    }
    template <typename T>
    T* operator()(const std::vector<T>& h) {
        T* p = to_device(h);
        owned_.push_back(p);
        return p;
    }

private:
    std::vector<void*> owned_;
};

// kv_plan + kv_attend on the device; returns out [T][H·G][hd].
std::vector<float> device_window_attention(const WindowCase& c, const WindowData& d, mnemo::cuda::AttnPrecision precision) {
    namespace mc = mnemo::cuda;
    const int64_t T = c.T, H = c.H, nq = H * c.G, hd = c.hd;
    mc::DeviceKvCache cache;
    cache.keys = to_device(d.keys);
    cache.values = to_device(d.values);
    cache.positions = to_device(std::vector<int64_t>(static_cast<size_t>(H * c.window), -1));
    cache.scores = to_device(std::vector<float>(static_cast<size_t>(H * c.window), 0.0f));
    cache.window_meta = to_device(std::vector<int64_t>{d.ring_start, d.ring_count});
    cache.sink_meta = to_device(std::vector<int32_t>{0});
    cache.n_kv_heads = c.H;
    cache.head_dim = c.hd;
    cache.window_capacity = c.window;
    cache.slots = c.window;
    mc::KvChunk ch;
    float* dk = to_device(d.k);
    float* dv = to_device(d.v);
    int64_t* position = to_device(std::vector<int64_t>{c.pos0});
    ch.k = dk;
    ch.v = dv;
    ch.n_tokens = T;
    ch.position = position;
    mc::KvScratch s;
    s.meta = to_device(std::vector<int64_t>(16, 0));
    s.lists = to_device(std::vector<int32_t>(static_cast<size_t>(mc::kv_list_entries(cache, T)), 0));
    s.spans = to_device(std::vector<int32_t>(static_cast<size_t>(2 * mc::kv_list_entries(cache, T)), 0));
    s.counts = to_device(std::vector<int32_t>(static_cast<size_t>(H), 0));
    s.plan_work = to_device(std::vector<int32_t>(static_cast<size_t>(mc::kv_plan_work_ints(cache, T)), 0));
    s.window_counts = to_device(std::vector<int32_t>(static_cast<size_t>(T), 0));
    s.sources = to_device(std::vector<int32_t>(1, 0));
    s.new_scores = to_device(std::vector<float>(1, 0.0f));
    s.partial = to_device(std::vector<float>(static_cast<size_t>(T * nq * c.splits * (hd + 2)), NAN));
    s.splits = c.splits;
    float* dq = to_device(d.q);
    float* dout = to_device(std::vector<float>(static_cast<size_t>(T * nq * hd), NAN));
    mc::kv_plan(cache, ch, nullptr, s, nullptr);
    mc::kv_attend(cache, ch, dq, static_cast<int32_t>(nq), dout, s, nullptr, precision);
    EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess) << describe(c);
    EXPECT_EQ(cudaGetLastError(), cudaSuccess) << describe(c);
    std::vector<float> out(static_cast<size_t>(T * nq * hd));
    cudaMemcpy(out.data(), dout, out.size() * sizeof(float), cudaMemcpyDeviceToHost);
    for (void* p : {static_cast<void*>(cache.keys), static_cast<void*>(cache.values), static_cast<void*>(cache.positions),
                    static_cast<void*>(cache.scores), static_cast<void*>(cache.window_meta), static_cast<void*>(cache.sink_meta),
                    static_cast<void*>(dk), static_cast<void*>(dv), static_cast<void*>(position), static_cast<void*>(s.meta),
                    static_cast<void*>(s.lists), static_cast<void*>(s.spans), static_cast<void*>(s.counts),
                    static_cast<void*>(s.plan_work), static_cast<void*>(s.window_counts),
                    static_cast<void*>(s.sources), static_cast<void*>(s.new_scores), static_cast<void*>(s.partial),
                    static_cast<void*>(dq), static_cast<void*>(dout)})
        cudaFree(p);
    return out;
}

// First visible position of token t and the rows of a position's key and value.
int64_t window_first(const WindowCase& c, const WindowData& d, int64_t t) {
    return c.pos0 + t - std::min(d.ring_count + t + 1, c.window) + 1;
}
const float* key_row(const WindowCase& c, const WindowData& d, int64_t p, int64_t h, bool value) {
    if (p >= c.pos0) return (value ? d.v : d.k).data() + ((p - c.pos0) * c.H + h) * c.hd;
    return (value ? d.values : d.keys).data() + (h * c.window + ring_slot(c, d, p)) * c.hd;
}

// The attention in double on the host (the specification: softmax(q·k/√hd) over the window).
std::vector<double> host_window_attention(const WindowCase& c, const WindowData& d) {
    const int64_t nq = int64_t{c.H} * c.G, hd = c.hd;
    std::vector<double> out(static_cast<size_t>(c.T * nq * hd), 0.0), score;
    for (int64_t t = 0; t < c.T; ++t) {
        const int64_t first = window_first(c, d, t), now = c.pos0 + t;
        for (int64_t head = 0; head < nq; ++head) {
            const int64_t h = head / c.G;
            const float* qr = d.q.data() + (t * nq + head) * hd;
            score.assign(static_cast<size_t>(now - first + 1), 0.0);
            double mx = -INFINITY;
            for (int64_t p = first; p <= now; ++p) {
                const float* kr = key_row(c, d, p, h, false);
                double s = 0;
                for (int64_t e = 0; e < hd; ++e) s += double(qr[e]) * kr[e];
                s /= std::sqrt(double(hd));
                score[static_cast<size_t>(p - first)] = s;
                mx = std::max(mx, s);
            }
            double l = 0;
            double* o = out.data() + (t * nq + head) * hd;
            for (int64_t p = first; p <= now; ++p) {
                const double w = std::exp(score[static_cast<size_t>(p - first)] - mx);
                l += w;
                const float* vr = key_row(c, d, p, h, true);
                for (int64_t e = 0; e < hd; ++e) o[e] += w * vr[e];
            }
            for (int64_t e = 0; e < hd; ++e) o[e] /= l;
        }
    }
    return out;
}

}  // namespace

// Random data, both precisions against the host in double. f32: within 1e-4 (sums in other
// orders). Tensor cores: q·scale, k, v and the probabilities are rounded to bf16 (unit roundoff
// u = 2⁻⁸ ≈ 3.9e-3), sums in f32. The output is a convex combination of the values, so rounding v
// and p moves it by at most ~2u·max|v|, and a score error δ moves it by ~δ·max|v|, with δ of order
// u for these scores (|q·k|/√hd of order 1–3). Bound: max error ≤ 1e-2 · max|v| (≈ 2.5u); the mean
// error, which a systematic slip would raise while a rare outlier would not, ≤ 4e-3 · rms(v) (≈ u).
TEST(Cuda, WindowAttentionTensorCoresMatchF32) {
    MNEMO_REQUIRE_CUDA_DEVICE();
    namespace mc = mnemo::cuda;
    const WindowCase cases[] = {
        {1, 100, 256, 2, 2, 64, 1, 1.0f},         // a decode step: both precisions take the f32 kernel
        {7, 0, 4096, 2, 1, 64, 1, 1.0f},          // a small first chunk
        {64, 300, 4096, 2, 2, 128, 3, 1.0f},      // a prior cache, splits
        {1000, 2500, 4096, 2, 4, 64, 8, 1.0f},    // a long chunk after 2.5K positions
        {700, 900, 256, 2, 1, 64, 2, 1.0f},       // SWA: window smaller than the chunk, the ring wrapped
        {1000, 0, 100, 1, 4, 128, 1, 1.0f},       // window 100 from the start
        {333, 5000, 512, 1, 2, 128, 4, 3.0f},     // sharp attention, window larger than the chunk
        {300, 40, 4096, 2, 3, 64, 2, 1.0f},       // a group of 3 (the f32 path takes its generic kernel)
        {200, 50, 4096, 2, 2, 96, 2, 1.0f},       // head size 96 (padded to 128)
        {150, 10, 64, 2, 8, 32, 1, 1.0f},         // head size 32 (padded to 64), G 8
        {120, 30, 4096, 1, 2, 66, 2, 1.0f},       // head size 66: pairs, not float4
        {50, 10, 4096, 1, 2, 256, 2, 1.0f},       // head size 256: no tensor-core kernel, f32 for both
    };
    for (const WindowCase& c : cases) {
        std::mt19937 rng(static_cast<uint32_t>(c.T * 131 + c.pos0 * 7 + c.hd));
        std::normal_distribution<float> normal;
        WindowData d = make_window_data(
            c, rng, [&](int64_t, int64_t, int64_t) { return normal(rng); }, [&](int64_t, int64_t, int64_t) { return normal(rng); },
            [&] { return c.q_amp * normal(rng); });
        mc::DeviceKvCache shape;
        shape.n_kv_heads = c.H;
        shape.head_dim = c.hd;
        EXPECT_EQ(mc::kv_attend_tensor_cores(shape, c.H * c.G), c.hd <= 128) << describe(c);
        const std::vector<double> ref = host_window_attention(c, d);
        const std::vector<float> f32 = device_window_attention(c, d, mc::AttnPrecision::f32);
        const std::vector<float> tc = device_window_attention(c, d, mc::AttnPrecision::bf16_tensor_cores);
        double v_max = 0, v_sq = 0;
        for (float x : d.v) {
            v_max = std::max(v_max, double(std::fabs(x)));
            v_sq += double(x) * x;
        }
        const double v_rms = std::sqrt(v_sq / static_cast<double>(d.v.size()));
        double worst_f32 = 0, worst_tc = 0, sum_tc = 0;
        for (size_t i = 0; i < ref.size(); ++i) {
            const double ef = std::fabs(f32[i] - ref[i]), et = std::fabs(tc[i] - ref[i]);
            worst_f32 = std::isnan(ef) ? INFINITY : std::max(worst_f32, ef);
            worst_tc = std::isnan(et) ? INFINITY : std::max(worst_tc, et);
            sum_tc += std::isnan(et) ? INFINITY : et;
        }
        const double mean_tc = sum_tc / static_cast<double>(ref.size());
        std::printf("%s: f32 max |err| %.3g; tensor cores max |err| %.3g (bound %.3g), mean %.3g (bound %.3g)\n", describe(c).c_str(),
                    worst_f32, worst_tc, 1e-2 * v_max, mean_tc, 4e-3 * v_rms);
        EXPECT_LE(worst_f32, 1e-4) << describe(c);
        EXPECT_LE(worst_tc, 1e-2 * v_max) << describe(c);
        EXPECT_LE(mean_tc, 4e-3 * v_rms) << describe(c);
    }
}

// Which positions each token sees, exactly: with q = 0 every visible score is 0 and the output
// is the plain mean of the visible values; values are small integers (exact in bf16, their sums
// exact in f32), so both precisions must give sum / count to the last bit. A missing or extra
// key (or a slot without a position: NaN) changes it. Window 1 (each token sees itself),
// windows smaller and larger than the chunk, a wrapped ring, splits.
TEST(Cuda, WindowAttentionSeesExactlyItsWindow) {
    MNEMO_REQUIRE_CUDA_DEVICE();
    namespace mc = mnemo::cuda;
    const WindowCase cases[] = {
        {129, 77, 1, 2, 2, 64, 2, 0.0f},      {300, 1000, 7, 1, 1, 128, 1, 0.0f}, {500, 3000, 1024, 2, 4, 64, 5, 0.0f},
        {1000, 0, 4096, 1, 2, 128, 3, 0.0f},  {257, 513, 64, 2, 1, 64, 4, 0.0f},  {2, 5, 3, 1, 2, 128, 1, 0.0f},
    };
    for (const WindowCase& c : cases) {
        std::mt19937 rng(static_cast<uint32_t>(c.T + c.window));
        std::normal_distribution<float> normal;
        const auto value = [](int64_t p, int64_t h, int64_t e) { return static_cast<float>(((p + 1) * (2 * e + 1) * 37 + h * 11) % 61 - 30); };
        WindowData d = make_window_data(c, rng, [&](int64_t, int64_t, int64_t) { return normal(rng); }, value, [] { return 0.0f; });
        const int64_t nq = int64_t{c.H} * c.G;
        std::vector<float> expect(static_cast<size_t>(c.T * nq * c.hd));
        for (int64_t t = 0; t < c.T; ++t) {
            const int64_t first = window_first(c, d, t), now = c.pos0 + t;
            for (int64_t head = 0; head < nq; ++head)
                for (int64_t e = 0; e < c.hd; ++e) {
                    int64_t sum = 0;
                    for (int64_t p = first; p <= now; ++p) sum += static_cast<int64_t>(value(p, head / c.G, e));
                    expect[static_cast<size_t>((t * nq + head) * c.hd + e)] = static_cast<float>(sum) / static_cast<float>(now - first + 1);
                }
        }
        for (mc::AttnPrecision precision : {mc::AttnPrecision::f32, mc::AttnPrecision::bf16_tensor_cores}) {
            const std::vector<float> out = device_window_attention(c, d, precision);
            size_t wrong = 0, first_wrong = 0;
            for (size_t i = 0; i < out.size(); ++i)
                if (!(out[i] == expect[i]) && wrong++ == 0) first_wrong = i;
            const char* name = precision == mc::AttnPrecision::f32 ? "f32" : "tensor cores";
            std::printf("%s, %s: %zu of %zu outputs differ\n", describe(c).c_str(), name, wrong, out.size());
            EXPECT_EQ(wrong, 0u) << describe(c) << " " << name << ": first at " << first_wrong << ", " << out[first_wrong] << " vs "
                                 << expect[first_wrong];
        }
    }
}

// ---------------------------------------------------------------- decode step in one launch
// kv_decode against the launches it replaces (rope, kv_plan, kv_attend in splits and their
// combine), both from the same cache state: one step of every kind the plan knows (the ring still
// filling; the leaving token into the sink, into a free retained slot, replacing the lowest-ranked
// entry with a tie for lowest, evicted for a low or non-positive score, scored in this chunk's
// new_scores; StreamingLLM's sink without a scorer; a window alone), and the paper's LTE shape.
// The plan's outputs must be identical, RoPE bit-identical, attention within f32 rounding. Slots
// holding no token are NaN, so reading one shows.
namespace {

struct DecodeCase {
    const char* what;
    int32_t S, R;
    int64_t W;
    int32_t H, G, hd;
    bool learned;
    int64_t pos0, ring_count;
    int32_t sink, retained;  // held sink / retained entries
    float leaving_score;     // score of the token leaving the window (every head); NAN: random in (0, 1)
    bool scored_now;         // the leaving token's score is in new_scores (next_unscored ≤ it)
    int32_t moved;           // sink/retained entries the step changes over all heads (−1: not checked)
};

struct DecodeState {
    std::vector<float> keys, values, scores, q, k, v, new_scores;
    std::vector<int64_t> positions, window_meta;
    std::vector<int32_t> sink_meta;
    int64_t next_unscored = 0;
};

DecodeState make_decode_state(const DecodeCase& c, std::mt19937& rng) {
    std::uniform_real_distribution<float> unit(-1.0f, 1.0f), score(0.05f, 1.0f);
    const int64_t SR = c.S + c.R, slots = SR + c.W, hd = c.hd, ring_start = c.ring_count == c.W ? rng() % c.W : 0;
    DecodeState d;
    d.keys.assign(static_cast<size_t>(c.H * slots * hd), NAN);
    d.values = d.keys;
    d.positions.assign(static_cast<size_t>(c.H * slots), -1);
    d.scores.assign(static_cast<size_t>(c.H * slots), 0.0f);
    d.window_meta = {ring_start, c.ring_count};
    d.sink_meta = {c.sink};
    const auto fill = [&](int64_t h, int64_t slot, int64_t p, float sc) {
        d.positions[static_cast<size_t>(h * slots + slot)] = p;
        d.scores[static_cast<size_t>(h * slots + slot)] = sc;
        for (int64_t e = 0; e < hd; ++e) {
            d.keys[static_cast<size_t>((h * slots + slot) * hd + e)] = unit(rng);
            d.values[static_cast<size_t>((h * slots + slot) * hd + e)] = unit(rng);
        }
    };
    const int64_t oldest = c.pos0 - c.ring_count;
    for (int64_t h = 0; h < c.H; ++h) {
        for (int32_t i = 0; i < c.sink; ++i) fill(h, i, i, 0.0f);
        // Retained: distinct positions between the sink and the window, random slots; the two
        // lowest scores equal (replace-min must take the later position).
        std::vector<int64_t> slot_ids(static_cast<size_t>(c.R));
        for (int32_t i = 0; i < c.R; ++i) slot_ids[static_cast<size_t>(i)] = c.S + i;
        std::shuffle(slot_ids.begin(), slot_ids.end(), rng);
        for (int32_t i = 0; i < c.retained; ++i)
            fill(h, slot_ids[static_cast<size_t>(i)], c.S + 3 * i + 1, i < 2 ? 0.06f : score(rng));
        for (int64_t k = 0; k < c.ring_count; ++k) fill(h, SR + (ring_start + k) % c.W, oldest + k, score(rng));
        if (c.ring_count == c.W && c.learned && !std::isnan(c.leaving_score))
            d.scores[static_cast<size_t>(h * slots + SR + ring_start)] = c.leaving_score;
    }
    d.next_unscored = c.scored_now ? oldest : c.pos0;
    d.new_scores.resize(static_cast<size_t>((1 + c.W) * c.H));
    for (float& x : d.new_scores) x = std::isnan(c.leaving_score) ? score(rng) : c.leaving_score;
    for (auto* x : {&d.q, &d.k, &d.v}) x->resize(static_cast<size_t>(c.H * (x == &d.q ? c.G : 1) * hd));
    for (auto* x : {&d.q, &d.k, &d.v})
        for (float& e : *x) e = 2.0f * unit(rng);
    return d;
}

struct DecodeResult {
    std::vector<float> out, k, k_pre, scores, keys, values, pre_rope;
    std::vector<int64_t> positions, meta, window_meta;
    std::vector<int32_t> sources, sink_meta;
    uint32_t arrivals = 0;
};

// One step from state d: kv_decode, or rope + kv_plan + kv_attend (3 splits). commit: then the
// step's commit as the side stream runs it (kv_commit without a scorer), or inside kv_decode.
DecodeResult device_decode_step(const DecodeCase& c, const DecodeState& d, bool one_launch, bool commit = false) {
    namespace mc = mnemo::cuda;
    const int64_t SR = c.S + c.R, nq = int64_t{c.H} * c.G, hd = c.hd;
    DeviceBuffers dev;
    mc::DeviceKvCache cache;
    cache.keys = dev(d.keys);
    cache.values = dev(d.values);
    cache.positions = dev(d.positions);
    cache.scores = dev(d.scores);
    cache.window_meta = dev(d.window_meta);
    cache.sink_meta = dev(d.sink_meta);
    cache.n_kv_heads = c.H;
    cache.head_dim = c.hd;
    cache.sink_capacity = c.S;
    cache.retained_capacity = c.R;
    cache.window_capacity = c.W;
    cache.slots = SR + c.W;
    cache.learned = c.learned;
    if (commit) cache.pre_rope = dev(std::vector<float>(static_cast<size_t>(c.W * c.H * hd), NAN));
    mc::LteScorerDevice scorer;
    scorer.next_unscored = dev(std::vector<int64_t>{d.next_unscored});
    int64_t* position = dev(std::vector<int64_t>{c.pos0});
    float* q = dev(d.q);
    float* k = dev(d.k);
    float* k_pre = dev(std::vector<float>(d.k.size(), NAN));
    float* v = dev(d.v);
    float* out = dev(std::vector<float>(static_cast<size_t>(nq * hd), NAN));
    mc::KvScratch s;
    s.meta = dev(std::vector<int64_t>(16, -7));
    s.lists = dev(std::vector<int32_t>(static_cast<size_t>(mc::kv_list_entries(cache, 1)), 0));
    s.spans = dev(std::vector<int32_t>(static_cast<size_t>(2 * mc::kv_list_entries(cache, 1)), 0));
    s.counts = dev(std::vector<int32_t>(static_cast<size_t>(c.H), 0));
    s.plan_work = dev(std::vector<int32_t>(static_cast<size_t>(mc::kv_plan_work_ints(cache, 1)), 0));
    s.window_counts = dev(std::vector<int32_t>(1, 0));
    s.sources = dev(std::vector<int32_t>(static_cast<size_t>(std::max<int64_t>(1, c.H * SR)), 12345));
    s.new_scores = dev(d.new_scores);
    s.splits = 3;
    s.partial = dev(std::vector<float>(static_cast<size_t>(nq * s.splits * (hd + 2)), NAN));
    s.decode_arrivals = dev(std::vector<uint32_t>{0});
    const float theta = 10000.0f;
    const mc::LteScorerDevice* sc = c.learned ? &scorer : nullptr;
    if (one_launch) {
        // As the backend runs it: the projection's k (before RoPE) in k_pre, rotated into k.
        cudaMemcpy(k_pre, k, d.k.size() * sizeof(float), cudaMemcpyDeviceToDevice);
        mc::kv_decode(cache, q, static_cast<int32_t>(nq), k_pre, k, v, position, theta, sc, out, s, nullptr, commit);
    } else {
        mc::rope(q, nq, k, c.H, k_pre, 1, hd, position, theta, nullptr);
        mc::KvChunk ch;
        ch.k = k;
        ch.k_pre = k_pre;
        ch.v = v;
        ch.n_tokens = 1;
        ch.position = position;
        mc::kv_plan(cache, ch, sc, s, nullptr);
        mc::kv_attend(cache, ch, q, static_cast<int32_t>(nq), out, s, nullptr);
        if (commit) mc::kv_commit(cache, ch, nullptr, s, nullptr);
    }
    EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess) << c.what;
    EXPECT_EQ(cudaGetLastError(), cudaSuccess) << c.what;
    DecodeResult r;
    const auto back = [](auto* p, size_t n) {
        std::vector<std::remove_const_t<std::remove_pointer_t<decltype(p)>>> h(n);
        cudaMemcpy(h.data(), p, n * sizeof(h[0]), cudaMemcpyDeviceToHost);
        return h;
    };
    r.out = back(out, static_cast<size_t>(nq * hd));
    r.k = back(k, d.k.size());
    r.k_pre = back(k_pre, d.k.size());
    r.scores = back(cache.scores, d.scores.size());
    r.positions = back(cache.positions, d.positions.size());
    r.meta = back(s.meta, 7);
    r.sources = back(s.sources, static_cast<size_t>(c.H * SR));
    r.keys = back(cache.keys, d.keys.size());
    r.values = back(cache.values, d.values.size());
    r.window_meta = back(cache.window_meta, 2);
    r.sink_meta = back(cache.sink_meta, 1);
    if (commit) r.pre_rope = back(cache.pre_rope, static_cast<size_t>(c.W * c.H * hd));
    r.arrivals = back(s.decode_arrivals, 1)[0];
    return r;
}

}  // namespace

TEST(Cuda, DecodeStepInOneLaunchMatchesRopePlanAndSplitAttention) {
    MNEMO_REQUIRE_CUDA_DEVICE();
    namespace mc = mnemo::cuda;
    int major = 0;
    cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, 0);
    if (major < 9) GTEST_SKIP() << "kv_decode needs thread-block clusters (compute capability 9.0)";
    const DecodeCase cases[] = {
        {"ring still filling", 4, 12, 16, 2, 2, 32, true, 10, 10, 0, 0, NAN, false, 0},
        {"leaving token into the sink", 4, 12, 16, 2, 2, 32, true, 18, 16, 2, 0, NAN, false, 2},
        {"into a free retained slot", 4, 12, 16, 2, 2, 32, true, 60, 16, 4, 5, NAN, false, 2},
        {"replace-min, a tie for lowest", 4, 12, 16, 2, 2, 32, true, 60, 16, 4, 12, 0.5f, false, 2},
        {"evicted: below the lowest", 4, 12, 16, 2, 2, 32, true, 60, 16, 4, 12, 0.055f, false, 0},
        {"evicted: score not positive, 13 slots", 3, 10, 16, 2, 2, 32, true, 60, 16, 3, 5, -0.2f, false, 0},
        {"score from this chunk's new_scores", 4, 12, 16, 2, 2, 32, true, 60, 16, 4, 12, 0.7f, true, 2},
        {"StreamingLLM: sink, no scorer", 4, 0, 16, 2, 1, 64, false, 40, 16, 4, 0, NAN, false, 0},
        {"window only (SWA)", 0, 0, 24, 3, 4, 16, false, 100, 24, 0, 0, NAN, false, 0},
        {"paper's LTE shape, 4 heads", 4, 512, 768, 4, 1, 64, true, 5000, 768, 4, 512, NAN, false, -1},
        {"paper's LTE shape, retained half empty", 4, 512, 768, 4, 1, 64, true, 5000, 768, 4, 250, NAN, false, -1},
        {"head size 256, group 4", 4, 60, 40, 1, 4, 256, true, 200, 40, 4, 30, NAN, false, 1},
        {"head size 128, group 8", 4, 60, 40, 2, 8, 128, true, 200, 40, 4, 60, NAN, false, -1},
    };
    for (const DecodeCase& c : cases) {
        std::mt19937 rng(static_cast<uint32_t>(c.pos0 * 31 + c.R));
        const DecodeState d = make_decode_state(c, rng);
        mc::DeviceKvCache shape;
        shape.keys = shape.values = reinterpret_cast<float*>(uintptr_t{256});
        shape.n_kv_heads = c.H;
        shape.head_dim = c.hd;
        shape.sink_capacity = c.S;
        shape.retained_capacity = c.R;
        shape.window_capacity = c.W;
        ASSERT_TRUE(mc::kv_decode_fits(shape, c.H * c.G)) << c.what;
        const DecodeResult split = device_decode_step(c, d, false);
        const DecodeResult one = device_decode_step(c, d, true);
        double worst = 0;
        for (size_t i = 0; i < split.out.size(); ++i) {
            const double e = std::fabs(double(one.out[i]) - split.out[i]);
            worst = std::isnan(e) ? INFINITY : std::max(worst, e);
        }
        size_t moved = 0;
        for (size_t i = 0; i < d.positions.size(); ++i) moved += d.positions[i] != split.positions[i];
        std::printf("%s: max |out diff| %.3g; plan moved %zu entries\n", c.what, worst, moved);
        EXPECT_LE(worst, 2e-6) << c.what;
        if (c.moved >= 0) {
            EXPECT_EQ(moved, static_cast<size_t>(c.moved)) << c.what << ": the case does not test what it says";
        }
        EXPECT_EQ(std::memcmp(one.k.data(), split.k.data(), one.k.size() * 4), 0) << c.what << ": RoPE of k";
        EXPECT_EQ(std::memcmp(one.k_pre.data(), split.k_pre.data(), one.k_pre.size() * 4), 0) << c.what << ": k before RoPE";
        EXPECT_EQ(one.positions, split.positions) << c.what;
        EXPECT_EQ(std::memcmp(one.scores.data(), split.scores.data(), one.scores.size() * 4), 0) << c.what << ": scores";
        EXPECT_EQ(one.sources, split.sources) << c.what;
        EXPECT_EQ(one.meta, split.meta) << c.what;

        // The commit inside kv_decode leaves the cache as kv_commit does after the split step,
        // twice in a row (the second step reads the meta the first wrote; the arrival count is
        // zero again after each).
        DecodeState d1 = d;
        DecodeCase c1 = c;
        for (int step = 0; step < 2; ++step, ++c1.pos0) {
            const DecodeResult split_c = device_decode_step(c1, d1, false, true);
            const DecodeResult one_c = device_decode_step(c1, d1, true, true);
            const std::string what = std::string(c.what) + (step == 0 ? ", commit" : ", second commit");
            EXPECT_EQ(std::memcmp(one_c.keys.data(), split_c.keys.data(), one_c.keys.size() * 4), 0) << what << ": keys";
            EXPECT_EQ(std::memcmp(one_c.values.data(), split_c.values.data(), one_c.values.size() * 4), 0) << what << ": values";
            EXPECT_EQ(std::memcmp(one_c.pre_rope.data(), split_c.pre_rope.data(), one_c.pre_rope.size() * 4), 0) << what << ": pre-RoPE";
            EXPECT_EQ(one_c.positions, split_c.positions) << what;
            EXPECT_EQ(std::memcmp(one_c.scores.data(), split_c.scores.data(), one_c.scores.size() * 4), 0) << what << ": scores";
            EXPECT_EQ(one_c.window_meta, split_c.window_meta) << what;
            EXPECT_EQ(one_c.sink_meta, split_c.sink_meta) << what;
            EXPECT_NE(one_c.window_meta, d1.window_meta) << what << ": the ring did not move";
            EXPECT_EQ(one_c.arrivals, 0u) << what;
            double worst_c = 0;
            for (size_t i = 0; i < split_c.out.size(); ++i) worst_c = std::max(worst_c, std::fabs(double(one_c.out[i]) - split_c.out[i]));
            EXPECT_LE(worst_c, 2e-6) << what;
            // The next step starts from the committed cache, one position on.
            d1.keys = one_c.keys;
            d1.values = one_c.values;
            d1.positions = one_c.positions;
            d1.scores = one_c.scores;
            d1.window_meta = one_c.window_meta;
            d1.sink_meta = one_c.sink_meta;
        }
    }
}

// ---------------------------------------------------------------- a chunk's plan and attention
// kv_plan over a chunk of an LTE / StreamingLLM cache against a host walk of KvCache's rules
// token by token (window → sink / retained / evicted, replace-min: a free slot lowest first,
// else the lowest score — among equal scores the highest position — when the newcomer's score
// is higher), then kv_attend in both precisions against the host's attention in double over
// exactly what each token sees.
namespace {

struct ChunkCase {
    const char* what;
    int32_t H, G, hd, S, R;
    int64_t W, pos0, T;
    bool learned;
    int32_t splits;
};

struct HostLte {
    std::vector<int64_t> pos;   // [H][S + R] sink then retained slots (−1: empty)
    std::vector<float> score;   // [H][S + R]
    std::vector<int32_t> sink;  // [H] sink count
    std::vector<std::vector<int64_t>> ring;  // [H] window positions, oldest first
};

// Scores of the chunk test: eighths, so ties are common, from −0.25 up, non-positive ones early
// on; rising by 1/8 every 64 positions, so later chunks keep replacing retained entries.
float chunk_score(int64_t p, int32_t h) {
    const uint32_t x = static_cast<uint32_t>(p) * 2654435761u ^ static_cast<uint32_t>(h) * 40503u;
    return static_cast<float>((x >> 13) % 8) / 8.0f - 0.25f + static_cast<float>(p / 64) / 8.0f;
}
float chunk_key(int64_t p, int32_t h, int32_t e, bool value) {
    const uint32_t x = (static_cast<uint32_t>(p) * 747796405u + static_cast<uint32_t>(h) * 2891336453u + static_cast<uint32_t>(e) * 277803737u) ^
                       (value ? 0x9e3779b9u : 0u);
    return static_cast<float>((x >> 9) % 2001) / 1000.0f - 1.0f;
}

// One token in: KvCache's pop / keep_in_sink / offer_retained / push.
void host_push(const ChunkCase& c, HostLte& st, int64_t p) {
    const int32_t SR = c.S + c.R;
    for (int32_t h = 0; h < c.H; ++h) {
        auto& ring = st.ring[h];
        if (static_cast<int64_t>(ring.size()) == c.W) {
            const int64_t leaving = ring.front();
            ring.erase(ring.begin());
            int64_t* pos = st.pos.data() + h * SR;
            float* score = st.score.data() + h * SR;
            const float sc = c.learned ? chunk_score(leaving, h) : 0.0f;
            if (leaving < c.S) {
                if (st.sink[h] < c.S) {
                    pos[st.sink[h]] = leaving;
                    score[st.sink[h]] = sc;
                    ++st.sink[h];
                }
            } else if (c.learned && sc > 0.0f && c.R > 0) {
                int32_t target = -1, worst = -1;
                for (int32_t i = c.S; i < SR && target < 0; ++i)
                    if (pos[i] < 0) target = i;
                if (target < 0) {
                    for (int32_t i = c.S; i < SR; ++i)
                        if (worst < 0 || score[i] < score[worst] || (score[i] == score[worst] && pos[i] > pos[worst])) worst = i;
                    if (sc > score[worst]) target = worst;
                }
                if (target >= 0) {
                    pos[target] = leaving;
                    score[target] = sc;
                }
            }
        }
        ring.push_back(p);
    }
}

}  // namespace

TEST(Cuda, ChunkPlanFollowsTheCacheRulesAndAttentionSeesExactlyThat) {
    MNEMO_REQUIRE_CUDA_DEVICE();
    namespace mc = mnemo::cuda;
    const ChunkCase cases[] = {
        {"first chunk longer than the window: sink fills, retained fills then replaces", 2, 2, 64, 4, 24, 32, 0, 200, true, 3},
        {"a later chunk, the ring wrapped", 2, 2, 64, 4, 24, 32, 517, 300, true, 3},
        {"a chunk shorter than the window", 3, 1, 64, 4, 40, 96, 1000, 37, true, 2},
        {"small chunk while the window still fills", 1, 4, 64, 4, 16, 64, 10, 20, true, 1},
        {"the paper's shape, a 1K chunk", 2, 1, 64, 4, 508, 769, 3000, 1024, true, 6},
        {"head size 128, group 8", 1, 8, 128, 2, 30, 48, 333, 150, true, 2},
        {"StreamingLLM: sink and window, no scorer", 2, 2, 64, 4, 0, 40, 0, 180, false, 2},
        {"head size 256: the f32 kernel for both", 1, 2, 256, 4, 20, 24, 77, 90, true, 2},
    };
    for (const ChunkCase& c : cases) {
        const int32_t SR = c.S + c.R;
        const int64_t slots = SR + c.W, hd = c.hd, nq = int64_t{c.H} * c.G, T = c.T;
        HostLte st;
        st.pos.assign(static_cast<size_t>(c.H * SR), -1);
        st.score.assign(st.pos.size(), 0.0f);
        st.sink.assign(static_cast<size_t>(c.H), 0);
        st.ring.assign(static_cast<size_t>(c.H), {});
        for (int64_t p = 0; p < c.pos0; ++p) host_push(c, st, p);
        // The device cache at the chunk start: the ring rotated by an arbitrary start; NaN where no token is.
        const int64_t ring_count = static_cast<int64_t>(st.ring[0].size());
        const int64_t ring_start = ring_count == c.W ? (c.pos0 * 7) % c.W : 0;
        std::vector<float> keys(static_cast<size_t>(c.H * slots * hd), NAN), values(keys.size(), NAN), scores(static_cast<size_t>(c.H * slots), 0.0f);
        std::vector<int64_t> positions(static_cast<size_t>(c.H * slots), -1);
        const auto put = [&](int32_t h, int64_t slot, int64_t p, float sc) {
            positions[static_cast<size_t>(h * slots + slot)] = p;
            scores[static_cast<size_t>(h * slots + slot)] = sc;
            for (int32_t e = 0; e < c.hd; ++e) {
                keys[static_cast<size_t>((h * slots + slot) * hd + e)] = chunk_key(p, h, e, false);
                values[static_cast<size_t>((h * slots + slot) * hd + e)] = chunk_key(p, h, e, true);
            }
        };
        for (int32_t h = 0; h < c.H; ++h) {
            for (int32_t i = 0; i < SR; ++i)
                if (st.pos[h * SR + i] >= 0) put(h, i, st.pos[h * SR + i], st.score[h * SR + i]);
            for (int64_t j = 0; j < ring_count; ++j) put(h, SR + (ring_start + j) % c.W, st.ring[h][j], c.learned ? chunk_score(st.ring[h][j], h) : 0.0f);
        }
        // Every score the chunk may read comes from new_scores (next_unscored = pos0 − W).
        const int64_t first_scored = c.pos0 - c.W;
        std::vector<float> new_scores(static_cast<size_t>((T + c.W) * c.H));
        for (int64_t r = 0; r < T + c.W; ++r)
            for (int32_t h = 0; h < c.H; ++h) new_scores[static_cast<size_t>(r * c.H + h)] = chunk_score(first_scored + r, h);
        std::vector<float> k(static_cast<size_t>(T * c.H * hd)), v(k.size()), q(static_cast<size_t>(T * nq * hd));
        for (int64_t t = 0; t < T; ++t)
            for (int32_t h = 0; h < c.H; ++h)
                for (int32_t e = 0; e < c.hd; ++e) {
                    k[static_cast<size_t>((t * c.H + h) * hd + e)] = chunk_key(c.pos0 + t, h, e, false);
                    v[static_cast<size_t>((t * c.H + h) * hd + e)] = chunk_key(c.pos0 + t, h, e, true);
                }
        std::mt19937 rng(static_cast<uint32_t>(T + c.pos0));
        std::normal_distribution<float> normal;
        for (float& x : q) x = 2.0f * normal(rng);

        // The host: what each token sees, then the state after the chunk.
        std::vector<std::vector<int64_t>> seen(static_cast<size_t>(T * c.H));
        for (int64_t t = 0; t < T; ++t) {
            host_push(c, st, c.pos0 + t);
            for (int32_t h = 0; h < c.H; ++h) {
                auto& s = seen[static_cast<size_t>(t * c.H + h)];
                for (int32_t i = 0; i < SR; ++i)
                    if (st.pos[h * SR + i] >= 0 && (i >= c.S || i < st.sink[h])) s.push_back(st.pos[h * SR + i]);
                s.insert(s.end(), st.ring[h].begin(), st.ring[h].end());
                std::sort(s.begin(), s.end());
            }
        }

        for (const mc::AttnPrecision precision : {mc::AttnPrecision::f32, mc::AttnPrecision::bf16_tensor_cores}) {
            DeviceBuffers dev;
            mc::DeviceKvCache cache;
            cache.keys = dev(keys);
            cache.values = dev(values);
            cache.positions = dev(positions);
            cache.scores = dev(scores);
            cache.window_meta = dev(std::vector<int64_t>{ring_start, ring_count});
            int32_t sink0 = 0;  // the sink count at the chunk start (the same for every head)
            for (int32_t i = 0; i < c.S; ++i) sink0 += positions[static_cast<size_t>(i)] >= 0;
            cache.sink_meta = dev(std::vector<int32_t>{sink0});
            cache.n_kv_heads = c.H;
            cache.head_dim = c.hd;
            cache.sink_capacity = c.S;
            cache.retained_capacity = c.R;
            cache.window_capacity = c.W;
            cache.slots = slots;
            cache.learned = c.learned;
            mc::LteScorerDevice scorer;
            scorer.next_unscored = dev(std::vector<int64_t>{first_scored});
            mc::KvChunk ch;
            ch.k = dev(k);
            ch.k_pre = ch.k;
            ch.v = dev(v);
            ch.n_tokens = T;
            ch.position = dev(std::vector<int64_t>{c.pos0});
            mc::KvScratch s;
            s.meta = dev(std::vector<int64_t>(16, -7));
            s.lists = dev(std::vector<int32_t>(static_cast<size_t>(mc::kv_list_entries(cache, T)), -99));
            s.spans = dev(std::vector<int32_t>(static_cast<size_t>(2 * mc::kv_list_entries(cache, T)), -99));
            s.counts = dev(std::vector<int32_t>(static_cast<size_t>(c.H), -1));
            s.plan_work = dev(std::vector<int32_t>(static_cast<size_t>(mc::kv_plan_work_ints(cache, T)), -99));
            s.window_counts = dev(std::vector<int32_t>(static_cast<size_t>(T), -1));
            s.sources = dev(std::vector<int32_t>(static_cast<size_t>(std::max(1, c.H * SR)), 12345));
            s.new_scores = dev(new_scores);
            s.splits = c.splits;
            s.partial = dev(std::vector<float>(static_cast<size_t>(T * nq * c.splits * (hd + 2)), NAN));
            float* dq = dev(q);
            float* out = dev(std::vector<float>(static_cast<size_t>(T * nq * hd), NAN));
            const mc::LteScorerDevice* sc = c.learned ? &scorer : nullptr;
            mc::kv_plan(cache, ch, sc, s, nullptr);
            mc::kv_attend(cache, ch, dq, static_cast<int32_t>(nq), out, s, nullptr, precision);
            ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess) << c.what;
            const auto back = [](auto* p, size_t n) {
                std::vector<std::remove_const_t<std::remove_pointer_t<decltype(p)>>> h(n);
                cudaMemcpy(h.data(), p, n * sizeof(h[0]), cudaMemcpyDeviceToHost);
                return h;
            };
            const auto list = back(s.lists, static_cast<size_t>(mc::kv_list_entries(cache, T)));
            const auto span = back(s.spans, static_cast<size_t>(2 * mc::kv_list_entries(cache, T)));
            const auto counts = back(s.counts, static_cast<size_t>(c.H));
            const auto wcount = back(s.window_counts, static_cast<size_t>(T));
            const auto pos_after = back(cache.positions, positions.size());
            const auto score_after = back(cache.scores, scores.size());
            const auto sources = back(s.sources, static_cast<size_t>(c.H * SR));
            const auto meta = back(s.meta, 7);
            const auto gpu = back(out, static_cast<size_t>(T * nq * hd));

            // A reference (slot at the chunk start, or chunk row) as a position.
            const auto position_of = [&](int32_t h, int32_t ref) {
                return ref >= 0 ? positions[static_cast<size_t>(h * slots + ref)] : c.pos0 + (-ref - 1);
            };
            int64_t moved = 0, checked_sets = 0;
            for (int32_t h = 0; h < c.H; ++h) {
                // The slots after the chunk: positions, scores, and where new content comes from.
                for (int32_t i = 0; i < SR; ++i) {
                    const size_t g = static_cast<size_t>(h * slots + i), hs = static_cast<size_t>(h * SR + i);
                    ASSERT_EQ(pos_after[g], st.pos[hs]) << c.what << " head " << h << " slot " << i;
                    if (st.pos[hs] >= 0) {
                        ASSERT_EQ(score_after[g], st.score[hs]) << c.what << " head " << h << " slot " << i;
                    }
                    if (sources[hs] != INT32_MIN) {
                        ASSERT_EQ(position_of(h, sources[hs]), st.pos[hs]) << c.what << " head " << h << " slot " << i;
                        ++moved;
                    } else {
                        ASSERT_EQ(positions[g], st.pos[hs]) << c.what << " head " << h << " slot " << i << " changed without a source";
                    }
                }
                // What every token sees: the list entries whose span holds it, and its window.
                for (int64_t t = 0; t < T; ++t) {
                    std::vector<int64_t> got;
                    const int64_t base = h * (SR + T);
                    for (int32_t j = 0; j < counts[h]; ++j)
                        if (span[2 * (base + j)] <= t && t < span[2 * (base + j) + 1]) got.push_back(position_of(h, list[base + j]));
                    for (int64_t p = c.pos0 + t - wcount[t] + 1; p <= c.pos0 + t; ++p) got.push_back(p);
                    std::sort(got.begin(), got.end());
                    ASSERT_EQ(got, seen[static_cast<size_t>(t * c.H + h)]) << c.what << " head " << h << " token " << t;
                    ++checked_sets;
                }
            }
            EXPECT_EQ(meta[0], c.pos0) << c.what;
            EXPECT_EQ(meta[5], static_cast<int64_t>(st.ring[0].size())) << c.what;  // ring count after the chunk
            EXPECT_EQ(meta[6], st.sink[0]) << c.what;  // sink count after the chunk
            EXPECT_EQ(meta[4], (ring_start + std::max<int64_t>(0, ring_count + T - c.W)) % c.W) << c.what;  // ring start after
            // The attention over exactly that set, in double.
            double worst = 0, v_max = 0;
            for (int64_t t = 0; t < T; ++t)
                for (int64_t head = 0; head < nq; ++head) {
                    const int32_t h = static_cast<int32_t>(head / c.G);
                    const auto& vis = seen[static_cast<size_t>(t * c.H + h)];
                    std::vector<double> w(vis.size());
                    double mx = -INFINITY, l = 0;
                    for (size_t j = 0; j < vis.size(); ++j) {
                        double d = 0;
                        for (int32_t e = 0; e < c.hd; ++e) d += double(q[static_cast<size_t>((t * nq + head) * hd + e)]) * chunk_key(vis[j], h, e, false);
                        w[j] = d / std::sqrt(double(hd));
                        mx = std::max(mx, w[j]);
                    }
                    for (double& x : w) l += (x = std::exp(x - mx));
                    for (int32_t e = 0; e < c.hd; ++e) {
                        double o = 0;
                        for (size_t j = 0; j < vis.size(); ++j) {
                            const double val = chunk_key(vis[j], h, e, true);
                            o += w[j] * val;
                            v_max = std::max(v_max, std::fabs(val));
                        }
                        const double err = std::fabs(gpu[static_cast<size_t>((t * nq + head) * hd + e)] - o / l);
                        worst = std::isnan(err) ? INFINITY : std::max(worst, err);
                    }
                }
            const bool tc = precision == mc::AttnPrecision::bf16_tensor_cores && mc::kv_attend_tensor_cores(cache, static_cast<int32_t>(nq));
            const double bound = tc ? 1e-2 * v_max : 1e-4;
            std::printf("%s (%s): %lld slots moved, %lld visible sets equal, attention max |err| %.3g (bound %.3g)\n", c.what,
                        tc ? "tensor cores" : "f32", static_cast<long long>(moved), static_cast<long long>(checked_sets), worst, bound);
            EXPECT_LE(worst, bound) << c.what;
            if (c.learned && c.pos0 + T > c.W + c.S) {
                EXPECT_GT(moved, 0) << c.what << ": the case moves nothing";
            }
        }
    }
}

// The LTE scorer over a first chunk (every row from the chunk), against its conv stack in double:
// 'same' zero padding, SiLU between layers, the projection then sigmoid − 0.5. Chunks of 64+ rows
// take the tensor-core kernel (3xTF32) for the first layer and the fused tail kernel for the rest
// (head size 16: its last layer, 8 → 4 channels, on CUDA cores there), shorter ones a warp per
// channel; head size 128 has 128 channels in the first layer, more than one block holds (a block
// per 64 channels), and its tail needs more shared memory than the fused kernel takes, so its
// later layers run a launch each (the projection a warp per channel).
TEST(Cuda, LteScorerOverAChunkMatchesItsConvStack) {
    MNEMO_REQUIRE_CUDA_DEVICE();
    namespace mc = mnemo::cuda;
    struct Case { int32_t hd; int64_t T; };
    for (const Case cs : {Case{16, 40}, Case{16, 200}, Case{64, 300}, Case{128, 160}}) {
        const int32_t H = 2, hd = cs.hd, n_layers = 3, K = 3, dil = 2;
        const int64_t T = cs.T, W = 32;
        std::mt19937 rng(static_cast<uint32_t>(hd * 1000 + T));
        std::normal_distribution<float> normal;
        const auto randn = [&](size_t n, float scale) {
            std::vector<float> v(n);
            for (float& x : v) x = scale * normal(rng);
            return v;
        };
        DeviceBuffers dev;
        mc::LteScorerDevice sc;
        sc.n_layers = n_layers;
        sc.per_head_groups = true;
        std::vector<std::vector<float>> weights, biases;
        int32_t cin = 2 * hd;
        for (int32_t l = 0; l < n_layers; ++l) {
            const int32_t cout = cin / 2;
            weights.push_back(randn(static_cast<size_t>(H * cout * K * cin), 1.0f / std::sqrt(static_cast<float>(K * cin))));
            biases.push_back(randn(static_cast<size_t>(H * cout), 0.1f));
            sc.weight[l] = dev(weights.back());
            sc.bias[l] = dev(biases.back());
            sc.kernel_size[l] = K;
            sc.dilation[l] = dil;
            sc.in_per_group[l] = cin;
            sc.out_per_group[l] = cout;
            sc.left += dil * (K - 1) / 2;
            sc.right += dil * (K - 1) - dil * (K - 1) / 2;
            cin = cout;
        }
        const std::vector<float> proj = randn(static_cast<size_t>(H * cin), 1.0f / std::sqrt(static_cast<float>(cin))), proj_bias = randn(H, 0.1f);
        sc.proj_weight = dev(proj);
        sc.proj_bias = dev(proj_bias);
        sc.next_unscored = dev(std::vector<int64_t>{0});
        const std::vector<float> k = randn(static_cast<size_t>(T * H * hd), 1.0f), v = randn(k.size(), 1.0f);
        mc::DeviceKvCache cache;
        cache.n_kv_heads = H;
        cache.head_dim = hd;
        cache.window_capacity = W;
        cache.slots = W;
        cache.learned = true;
        cache.window_meta = dev(std::vector<int64_t>{0, 0});
        mc::KvChunk ch;
        ch.k = ch.k_pre = dev(k);
        ch.v = dev(v);
        ch.n_tokens = T;
        ch.position = dev(std::vector<int64_t>{0});
        mc::KvScratch s;
        s.new_scores = dev(std::vector<float>(static_cast<size_t>((T + W) * H), NAN));
        const int64_t act = mc::lte_act_floats(sc, H, hd, W, T);
        for (float*& a : s.lte_act) a = dev(std::vector<float>(static_cast<size_t>(act), NAN));
        mc::lte_score(cache, ch, sc, s, nullptr);
        ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
        std::vector<float> got(static_cast<size_t>((T + W) * H));
        cudaMemcpy(got.data(), s.new_scores, got.size() * 4, cudaMemcpyDeviceToHost);

        double worst = 0;
        int64_t checked = 0;
        for (int32_t h = 0; h < H; ++h) {
            // x[p][c], p in [0, T): [k, v] of head h, then each layer's SiLU output.
            int32_t width = 2 * hd;
            std::vector<double> x(static_cast<size_t>(T * width));
            for (int64_t p = 0; p < T; ++p)
                for (int32_t e = 0; e < hd; ++e) {
                    x[static_cast<size_t>(p * width + e)] = k[static_cast<size_t>((p * H + h) * hd + e)];
                    x[static_cast<size_t>(p * width + hd + e)] = v[static_cast<size_t>((p * H + h) * hd + e)];
                }
            for (int32_t l = 0; l < n_layers; ++l) {
                const int32_t cout = width / 2, pl = dil * (K - 1) / 2;
                std::vector<double> y(static_cast<size_t>(T * cout));
                for (int64_t p = 0; p < T; ++p)
                    for (int32_t o = 0; o < cout; ++o) {
                        double acc = biases[static_cast<size_t>(l)][static_cast<size_t>(h * cout + o)];
                        for (int32_t j = 0; j < K; ++j) {
                            const int64_t q = p - pl + j * dil;
                            if (q < 0 || q >= T) continue;
                            for (int32_t ci = 0; ci < width; ++ci)
                                acc += weights[static_cast<size_t>(l)][static_cast<size_t>(((h * cout + o) * K + j) * width + ci)] *
                                       x[static_cast<size_t>(q * width + ci)];
                        }
                        y[static_cast<size_t>(p * cout + o)] = acc / (1.0 + std::exp(-acc));
                    }
                x.swap(y);
                width = cout;
            }
            for (int64_t p = 0; p + sc.right < T; ++p) {
                double logit = proj_bias[static_cast<size_t>(h)];
                for (int32_t ci = 0; ci < width; ++ci) logit += proj[static_cast<size_t>(h * width + ci)] * x[static_cast<size_t>(p * width + ci)];
                const double want = 1.0 / (1.0 + std::exp(-logit)) - 0.5;
                const float score = got[static_cast<size_t>((p + W) * H + h)];
                const double err = std::fabs(score - want);
                worst = std::isnan(err) ? INFINITY : std::max(worst, err);
                ++checked;
            }
        }
        std::printf("scorer head size %d, %lld rows: %lld scores, max |err| %.3g\n", hd, static_cast<long long>(T), static_cast<long long>(checked), worst);
        EXPECT_EQ(checked, H * (T - sc.right));
        EXPECT_LT(worst, 5e-5) << "head size " << hd << " rows " << T;
    }
}
