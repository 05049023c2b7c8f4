// bench_kernels_cpu: throughput of the CPU kernels at model-like shapes, with a roofline
// (FMA peak and read bandwidth) measured in the same run and OpenBLAS sgemm as the f32
// GEMM baseline when it was found at configure time. Not a test: numbers vary by machine.
//
//   bench_kernels_cpu [--threads N] [--quick] [--only matmul|gdr|attention|lte_nsa]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cpu/attention.h"
#include "cpu/dtype.h"
#include "cpu/gated_delta_rule.h"
#include "cpu/isa.h"
#include "cpu/lte_conv.h"
#include "cpu/matmul.h"
#include "cpu/norm.h"
#include "cpu/nsa.h"
#include "cpu/simd.h"
#include "cpu/thread_pool.h"

#if defined(MNEMO_BENCH_OPENBLAS)
#include <cblas.h>
#endif

using namespace mnemo::cpu;

namespace {

bool g_quick = false;
const char* g_only = nullptr;

bool wanted(const char* section) { return g_only == nullptr || std::strcmp(g_only, section) == 0; }

double now_s() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Median seconds per call over repeated timed batches (after one warm-up call).
double time_it(const std::function<void()>& fn, double min_total_s = 0.3) {
    fn();
    std::vector<double> samples;
    const double start = now_s();
    while (samples.size() < 5 || (now_s() - start < (g_quick ? min_total_s / 4 : min_total_s) && samples.size() < 200)) {
        const double t0 = now_s();
        fn();
        samples.push_back(now_s() - t0);
    }
    std::sort(samples.begin(), samples.end());
    return samples[samples.size() / 2];
}

std::vector<float> random_vec(size_t n, uint32_t seed, float scale = 1.0f) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0.0f, scale);
    std::vector<float> v(n);
    for (auto& x : v) x = dist(rng);
    return v;
}

std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
    }
    return "unknown";
}

#if MNEMO_HAVE_X86
// 10 independent FMA chains per thread: the FMA throughput bound (GFLOP/s, 2 per lane).
MNEMO_AVX2 double fma_peak_one_thread(int64_t iterations) {
    __m256 acc[10];
    for (int i = 0; i < 10; ++i) acc[i] = _mm256_set1_ps(static_cast<float>(i));
    const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
    const double t0 = now_s();
    for (int64_t it = 0; it < iterations; ++it) {
        for (int i = 0; i < 10; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
    }
    const double dt = now_s() - t0;
    float sink = 0.0f;
    for (int i = 0; i < 10; ++i) sink += detail::hsum256(acc[i]);
    if (sink == 12345.0f) std::printf(" ");
    return static_cast<double>(iterations) * 10 * 8 * 2 / dt / 1e9;
}
#endif

double measure_fma_peak(int threads) {
#if MNEMO_HAVE_X86
    if (best_supported_isa() != Isa::avx2) return 0.0;
    const int64_t iterations = g_quick ? 20'000'000 : 100'000'000;
    std::vector<double> results(static_cast<size_t>(threads));
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) pool.emplace_back([&, t] { results[static_cast<size_t>(t)] = fma_peak_one_thread(iterations); });
    for (auto& th : pool) th.join();
    double total = 0.0;
    for (double r : results) total += r;
    return total;
#else
    (void)threads;
    return 0.0;
#endif
}

// Read bandwidth (GB/s) summing a buffer much larger than the caches, on `pool`.
double measure_read_bandwidth(ThreadPool* pool) {
    const size_t n = (g_quick ? 64u : 256u) << 20;  // floats
    std::vector<float> buffer(n / 4, 1.0f);
    const int64_t count = static_cast<int64_t>(buffer.size());
    std::vector<double> partial(64);
    const double seconds = time_it([&] {
        parallel_for(pool, count, 1 << 16, [&](int64_t b, int64_t e) {
            float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            int64_t i = b;
            for (; i + 4 <= e; i += 4) {
                s0 += buffer[static_cast<size_t>(i)];
                s1 += buffer[static_cast<size_t>(i + 1)];
                s2 += buffer[static_cast<size_t>(i + 2)];
                s3 += buffer[static_cast<size_t>(i + 3)];
            }
            partial[static_cast<size_t>(b / std::max<int64_t>(1, count / 32)) % 64] = s0 + s1 + s2 + s3;
        });
    });
    return static_cast<double>(count) * 4 / seconds / 1e9;
}

struct WeightMatrix {
    DType type;
    int64_t n, k;
    std::vector<uint8_t> bytes;
    WeightMatrix(DType t, int64_t rows, int64_t cols, uint32_t seed) : type(t), n(rows), k(cols) {
        const auto f = random_vec(static_cast<size_t>(rows * cols), seed, 0.05f);
        bytes.resize(static_cast<size_t>(rows * row_bytes(t, cols)));
        for (int64_t r = 0; r < rows; ++r) row_from_f32(t, f.data() + r * cols, bytes.data() + r * row_bytes(t, cols), cols);
    }
};

void bench_matmul(ThreadPool* pool, double peak_gflops, double bandwidth) {
    std::printf("\n## matmul  Y[T,N] = X[T,K] W^T\n");
    std::printf("%-6s %-5s %6s %6s %6s %10s %10s %9s %10s\n", "isa", "type", "T", "K", "N", "ms", "GFLOP/s", "%peak", "W GB/s");
    struct Shape {
        int64_t t, k, n;
    };
    const std::vector<Shape> decode = {{1, 1024, 1024}, {1, 2048, 2048}, {1, 2048, 5632}, {1, 1024, 32000}};
    const std::vector<Shape> prefill = g_quick ? std::vector<Shape>{{256, 1024, 1024}}
                                               : std::vector<Shape>{{64, 2048, 2048}, {512, 1024, 1024}, {512, 2048, 2048},
                                                                    {512, 2048, 5632}};
    for (Isa isa : {Isa::scalar, Isa::avx2}) {
        if (static_cast<int>(isa) > static_cast<int>(best_supported_isa())) continue;
        ScopedIsa scoped(isa);
        for (DType type : {DType::f32, DType::f16, DType::bf16, DType::q8_0}) {
            for (const auto& shapes : {decode, prefill}) {
                for (const Shape& s : shapes) {
                    if (isa == Isa::scalar && (s.t > 64 || s.n > 4096)) continue;  // slow and uninteresting
                    const WeightMatrix w(type, s.n, s.k, 1);
                    const auto x = random_vec(static_cast<size_t>(s.t * s.k), 2);
                    std::vector<float> y(static_cast<size_t>(s.t * s.n));
                    const double sec = time_it([&] { matmul(x.data(), s.t, s.k, w.bytes.data(), type, s.n, nullptr, y.data(), pool); });
                    const double gflops = 2.0 * s.t * s.k * s.n / sec / 1e9;
                    std::printf("%-6s %-5s %6lld %6lld %6lld %10.3f %10.1f %8.0f%% %10.1f\n", isa_name(isa), dtype_name(type),
                                static_cast<long long>(s.t), static_cast<long long>(s.k), static_cast<long long>(s.n), sec * 1e3,
                                gflops, 100.0 * gflops / peak_gflops, static_cast<double>(w.bytes.size()) / sec / 1e9);
                }
            }
        }
    }
    std::printf("(decode rows: compare W GB/s with the measured read bandwidth %.1f GB/s)\n", bandwidth);
    // f32 prefill GEMM, ours vs OpenBLAS, at 1 thread and at the pool's size. Ours runs
    // first: OpenBLAS workers keep spinning for a while after a call and would steal the CPU.
    std::printf("\n### f32 prefill GEMM: ours vs OpenBLAS cblas_sgemm\n");
    std::printf("%-9s %-8s %6s %6s %6s %10s %10s %9s\n", "library", "threads", "T", "K", "N", "ms", "GFLOP/s", "%peak");
    const int pool_threads = pool != nullptr ? pool->n_threads() : 1;
    for (int threads : {1, pool_threads}) {
        ThreadPool local(threads);
        for (const Shape& s : prefill) {
            const WeightMatrix w(DType::f32, s.n, s.k, 1);
            const auto x = random_vec(static_cast<size_t>(s.t * s.k), 2);
            std::vector<float> y(static_cast<size_t>(s.t * s.n));
            const double sec = time_it([&] { matmul(x.data(), s.t, s.k, w.bytes.data(), DType::f32, s.n, nullptr, y.data(), &local); });
            const double gflops = 2.0 * s.t * s.k * s.n / sec / 1e9;
            const double peak_here = peak_gflops * threads / pool_threads;
            std::printf("%-9s %-8d %6lld %6lld %6lld %10.3f %10.1f %8.0f%%\n", "mnemo", threads, static_cast<long long>(s.t),
                        static_cast<long long>(s.k), static_cast<long long>(s.n), sec * 1e3, gflops, 100.0 * gflops / peak_here);
        }
    }
#if defined(MNEMO_BENCH_OPENBLAS)
    for (int threads : {1, pool_threads}) {
        openblas_set_num_threads(threads);
        for (const Shape& s : prefill) {
            const WeightMatrix w(DType::f32, s.n, s.k, 1);
            const auto x = random_vec(static_cast<size_t>(s.t * s.k), 2);
            std::vector<float> y(static_cast<size_t>(s.t * s.n));
            const double sec = time_it([&] {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(s.t), static_cast<int>(s.n),
                            static_cast<int>(s.k), 1.0f, x.data(), static_cast<int>(s.k),
                            reinterpret_cast<const float*>(w.bytes.data()), static_cast<int>(s.k), 0.0f, y.data(),
                            static_cast<int>(s.n));
            });
            const double gflops = 2.0 * s.t * s.k * s.n / sec / 1e9;
            const double peak_here = peak_gflops * threads / pool_threads;
            std::printf("%-9s %-8d %6lld %6lld %6lld %10.3f %10.1f %8.0f%%\n", "openblas", threads, static_cast<long long>(s.t),
                        static_cast<long long>(s.k), static_cast<long long>(s.n), sec * 1e3, gflops, 100.0 * gflops / peak_here);
        }
    }
    openblas_set_num_threads(1);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // let its workers go idle
#endif
}

void bench_gated_delta_rule(ThreadPool* pool) {
    std::printf("\n## gated delta rule (per layer: H heads, dk = dv)\n");
    std::printf("%-6s %-8s %4s %4s %6s %12s %12s\n", "isa", "form", "H", "dk", "T", "ms", "tokens/s");
    for (Isa isa : {Isa::scalar, Isa::avx2}) {
        if (static_cast<int>(isa) > static_cast<int>(best_supported_isa())) continue;
        ScopedIsa scoped(isa);
        for (int64_t dk : {128, 256}) {
            const int64_t heads = 8;
            for (int64_t tokens : {int64_t{1}, int64_t{g_quick ? 256 : 1024}}) {
                const int64_t stride = heads * dk;
                auto q = random_vec(static_cast<size_t>(tokens * stride), 1), k = random_vec(static_cast<size_t>(tokens * stride), 2);
                l2_norm(RowsArgs{q.data(), dk, q.data(), dk, tokens * heads, dk});
                l2_norm(RowsArgs{k.data(), dk, k.data(), dk, tokens * heads, dk});
                const auto v = random_vec(static_cast<size_t>(tokens * stride), 3);
                std::vector<float> g(static_cast<size_t>(tokens * heads), -0.05f), beta(static_cast<size_t>(tokens * heads), 0.5f);
                std::vector<float> state(static_cast<size_t>(heads * dk * dk), 0.0f), out(static_cast<size_t>(tokens * stride));
                GatedDeltaRuleArgs a;
                a.n_tokens = tokens;
                a.n_qk_heads = a.n_v_heads = heads;
                a.key_dim = a.value_dim = dk;
                a.q = q.data();
                a.k = k.data();
                a.qk_stride = stride;
                a.v = v.data();
                a.v_stride = stride;
                a.g = g.data();
                a.beta = beta.data();
                a.gate_stride = heads;
                a.scale = 1.0f / std::sqrt(static_cast<float>(dk));
                a.state = state.data();
                a.out = out.data();
                a.out_stride = stride;
                const double step = time_it([&] { gated_delta_rule_step(a, pool); });
                std::printf("%-6s %-8s %4lld %4lld %6lld %12.3f %12.0f\n", isa_name(isa), "step", static_cast<long long>(heads),
                            static_cast<long long>(dk), static_cast<long long>(tokens), step * 1e3, tokens / step);
                if (tokens > 1) {
                    for (int64_t chunk_size : {16, 32, 64}) {
                        const double chunk = time_it([&] { gated_delta_rule_chunked(a, pool, chunk_size); });
                        const std::string form = "chunk" + std::to_string(chunk_size);
                        std::printf("%-6s %-8s %4lld %4lld %6lld %12.3f %12.0f\n", isa_name(isa), form.c_str(),
                                    static_cast<long long>(heads), static_cast<long long>(dk), static_cast<long long>(tokens),
                                    chunk * 1e3, tokens / chunk);
                    }
                }
            }
        }
    }
}

void bench_attention(ThreadPool* pool) {
    std::printf("\n## attention (one KV head group; G query heads; d = 64)\n");
    std::printf("%-6s %-22s %4s %6s %6s %12s\n", "isa", "form", "G", "T", "keys", "ms");
    const int64_t d = 64;
    for (Isa isa : {Isa::scalar, Isa::avx2}) {
        if (static_cast<int>(isa) > static_cast<int>(best_supported_isa())) continue;
        ScopedIsa scoped(isa);
        for (int64_t heads : {2, 16}) {
            const int64_t n_keys = 1281;  // laLTE: (w + 1) + b = 769 + 512
            const auto kc = random_vec(static_cast<size_t>(n_keys * d), 1), vc = random_vec(static_cast<size_t>(n_keys * d), 2);
            const auto q = random_vec(static_cast<size_t>(heads * d), 3);
            std::vector<float> out(static_cast<size_t>(heads * d)), probs(static_cast<size_t>(heads * n_keys));
            IndexedAttentionArgs a;
            a.q = q.data();
            a.q_head_stride = d;
            a.n_q_heads = heads;
            a.kv = KvView{kc.data(), d, vc.data(), d, d, d};
            a.n_keys = n_keys;
            a.scale = 0.125f;
            a.out = out.data();
            a.out_head_stride = d;
            a.probs = probs.data();
            a.probs_head_stride = n_keys;
            const double sec = time_it([&] { attention_indexed(a); });
            std::printf("%-6s %-22s %4lld %6d %6lld %12.4f\n", isa_name(isa), "indexed (decode)", static_cast<long long>(heads), 1,
                        static_cast<long long>(n_keys), sec * 1e3);
        }
        for (int64_t window : {int64_t{0}, int64_t{512}}) {
            const int64_t heads = 2, tokens = g_quick ? 512 : 2048;
            const auto kc = random_vec(static_cast<size_t>(tokens * d), 1), vc = random_vec(static_cast<size_t>(tokens * d), 2);
            const auto q = random_vec(static_cast<size_t>(tokens * heads * d), 3);
            std::vector<float> out(static_cast<size_t>(tokens * heads * d));
            std::vector<int64_t> pos(static_cast<size_t>(tokens));
            for (int64_t t = 0; t < tokens; ++t) pos[static_cast<size_t>(t)] = t;
            CausalAttentionArgs a;
            a.q = q.data();
            a.q_token_stride = heads * d;
            a.q_head_stride = d;
            a.n_tokens = tokens;
            a.n_q_heads = heads;
            a.q_positions = pos.data();
            a.kv = KvView{kc.data(), d, vc.data(), d, d, d};
            a.n_keys = tokens;
            a.key_positions = pos.data();
            a.window = window;
            a.scale = 0.125f;
            a.out = out.data();
            a.out_token_stride = heads * d;
            a.out_head_stride = d;
            const double sec = time_it([&] { attention_causal(a, pool); });
            const char* form = window > 0 ? "causal, window 512" : "causal, full";
            std::printf("%-6s %-22s %4lld %6lld %6lld %12.3f\n", isa_name(isa), form, static_cast<long long>(heads),
                        static_cast<long long>(tokens), static_cast<long long>(tokens), sec * 1e3);
        }
    }
}

void bench_lte_and_nsa(ThreadPool* pool) {
    std::printf("\n## LTE scorer (G = 16 KV heads, head_dim 64, kernels 3x3x3, dilation 2)\n");
    std::printf("%-6s %6s %12s %14s\n", "isa", "rows", "ms", "us/row");
    const int64_t groups = 16, hd = 64;
    std::vector<std::vector<float>> weights, biases;
    LteConvStackWeights w;
    w.groups = groups;
    w.head_dim = hd;
    int64_t channels = 2 * hd * groups;
    for (int l = 0; l < 3; ++l) {
        weights.push_back(random_vec(static_cast<size_t>(channels / 2 * channels / groups * 3), 10 + l, 0.05f));
        biases.push_back(random_vec(static_cast<size_t>(channels / 2), 20 + l, 0.05f));
        w.layers.push_back(LteConvLayerWeights{channels, channels / 2, 3, 2, weights.back().data(), biases.back().data()});
        channels /= 2;
    }
    const auto proj = random_vec(static_cast<size_t>(channels), 30), proj_b = random_vec(static_cast<size_t>(groups), 31);
    w.proj_weight = proj.data();
    w.proj_bias = proj_b.data();
    const LteScorer scorer(w);
    for (Isa isa : {Isa::scalar, Isa::avx2}) {
        if (static_cast<int>(isa) > static_cast<int>(best_supported_isa())) continue;
        ScopedIsa scoped(isa);
        for (int64_t rows : {int64_t{769}, int64_t{g_quick ? 1024 : 4096}}) {
            const auto k = random_vec(static_cast<size_t>(rows * groups * hd), 1), v = random_vec(static_cast<size_t>(rows * groups * hd), 2);
            std::vector<float> scores(static_cast<size_t>(rows * groups));
            const LteSegment seg{k.data(), groups * hd, v.data(), groups * hd, rows};
            const double sec = time_it([&] { scorer.scores(seg, LteOutput{0, rows, scores.data(), groups, LteRouting::sigmoid}, pool); });
            std::printf("%-6s %6lld %12.3f %14.2f\n", isa_name(isa), static_cast<long long>(rows), sec * 1e3, sec * 1e6 / rows);
        }
    }

    std::printf("\n## NSA (one KV head, G = 16, d = 64, block 64, 16 blocks, window 512)\n");
    std::printf("%-6s %6s %6s %12s\n", "isa", "keys", "T", "ms");
    const int64_t d = 64, heads = 16, keys = 4096;
    const auto k = random_vec(static_cast<size_t>(keys * d), 1), v = random_vec(static_cast<size_t>(keys * d), 2);
    std::vector<float> kc(static_cast<size_t>(keys / 64 * d)), vc = kc;
    nsa_compress_mean(k.data(), d, keys, d, 64, kc.data(), d);
    nsa_compress_mean(v.data(), d, keys, d, 64, vc.data(), d);
    for (Isa isa : {Isa::scalar, Isa::avx2}) {
        if (static_cast<int>(isa) > static_cast<int>(best_supported_isa())) continue;
        ScopedIsa scoped(isa);
        for (int64_t tokens : {int64_t{1}, int64_t{g_quick ? 64 : 256}}) {
            const auto q = random_vec(static_cast<size_t>(tokens * heads * d), 3);
            std::vector<float> gates(static_cast<size_t>(tokens * heads), 0.5f), out(static_cast<size_t>(tokens * heads * d));
            std::vector<int64_t> pos(static_cast<size_t>(tokens));
            for (int64_t t = 0; t < tokens; ++t) pos[static_cast<size_t>(t)] = keys - tokens + t;
            NsaArgs a;
            a.q = q.data();
            a.q_token_stride = heads * d;
            a.q_head_stride = d;
            a.n_tokens = tokens;
            a.n_q_heads = heads;
            a.q_positions = pos.data();
            a.kv = KvView{k.data(), d, v.data(), d, d, d};
            a.n_keys = keys;
            a.compressed = KvView{kc.data(), d, vc.data(), d, d, d};
            a.block_size = 64;
            a.n_select = 16;
            a.window = 512;
            a.scale = 0.125f;
            a.g_cmp = a.g_slc = a.g_swa = gates.data();
            a.gate_token_stride = heads;
            a.out = out.data();
            a.out_token_stride = heads * d;
            a.out_head_stride = d;
            const double sec = time_it([&] { nsa_attention(a, pool); });
            std::printf("%-6s %6lld %6lld %12.3f\n", isa_name(isa), static_cast<long long>(keys), static_cast<long long>(tokens), sec * 1e3);
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    int threads = 0;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc) threads = std::atoi(argv[++i]);
        if (std::strcmp(argv[i], "--quick") == 0) g_quick = true;
        if (std::strcmp(argv[i], "--only") == 0 && i + 1 < argc) g_only = argv[++i];
    }
    ThreadPool pool(threads);
    std::printf("# bench_kernels_cpu\n");
    std::printf("machine: %s, %u hardware threads, best ISA %s; pool %d threads\n", cpu_model().c_str(),
                std::thread::hardware_concurrency(), isa_name(best_supported_isa()), pool.n_threads());
#if defined(__clang__)
    std::printf("build: clang %s", __clang_version__);
#elif defined(__GNUC__)
    std::printf("build: gcc %s", __VERSION__);
#endif
#if defined(NDEBUG)
    std::printf(", NDEBUG");
#endif
#if defined(MNEMO_BENCH_OPENBLAS)
    std::printf(", OpenBLAS %s baseline", OPENBLAS_VERSION);
#endif
    std::printf("; matmul routes f32 GEMM to OpenBLAS: %s\n", matmul_uses_blas(512, 1024, 1024, DType::f32) ? "yes" : "no");
    const double peak1 = measure_fma_peak(1);
    const double peak = measure_fma_peak(pool.n_threads());
    const double bandwidth = measure_read_bandwidth(&pool);
    std::printf("roofline: AVX2 FMA peak %.1f GFLOP/s (1 thread %.1f), read bandwidth %.1f GB/s\n", peak, peak1, bandwidth);
    if (wanted("matmul")) bench_matmul(&pool, peak, bandwidth);
    if (wanted("gdr")) bench_gated_delta_rule(&pool);
    if (wanted("attention")) bench_attention(&pool);
    if (wanted("lte_nsa")) bench_lte_and_nsa(&pool);
    return 0;
}
