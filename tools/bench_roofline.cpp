#include "bench_roofline.h"

#include "cli_common.h"

#include "cpu/isa.h"
#include "cpu/matmul.h"
#include "cpu/simd.h"
#include "cpu/thread_pool.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <thread>

namespace mnemo::cli::bench {
namespace {

// Times `fn` at least `min_runs` times and for at least `min_seconds` (after a warm-up);
// best and median of `work / seconds` per run.
Stat rate(const std::function<void()>& fn, double work, int min_runs = 5, double min_seconds = 0.3) {
    fn();
    std::vector<double> rates;
    const double start = now_seconds();
    while (static_cast<int>(rates.size()) < min_runs || (now_seconds() - start < min_seconds && rates.size() < 500)) {
        const double t0 = now_seconds();
        fn();
        rates.push_back(work / (now_seconds() - t0));
    }
    std::sort(rates.begin(), rates.end());
    return {rates.back(), rates[rates.size() / 2]};
}

#if MNEMO_HAVE_X86
MNEMO_AVX2 float sum_avx2(const float* a, int64_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_add_ps(s0, _mm256_loadu_ps(a + i));
        s1 = _mm256_add_ps(s1, _mm256_loadu_ps(a + i + 8));
        s2 = _mm256_add_ps(s2, _mm256_loadu_ps(a + i + 16));
        s3 = _mm256_add_ps(s3, _mm256_loadu_ps(a + i + 24));
    }
    float tail = 0.0f;
    for (; i < n; ++i) tail += a[i];
    return cpu::detail::hsum256(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3))) + tail;
}
MNEMO_AVX2 void triad_avx2(float* a, const float* b, const float* c, float s, int64_t n) {
    for (int64_t i = 0; i < n; ++i) a[i] = b[i] + s * c[i];
}
#endif

float sum_any(const float* a, int64_t n) {
#if MNEMO_HAVE_X86
    if (cpu::best_supported_isa() == cpu::Isa::avx2) return sum_avx2(a, n);
#endif
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) { s0 += a[i]; s1 += a[i + 1]; s2 += a[i + 2]; s3 += a[i + 3]; }
    for (; i < n; ++i) s0 += a[i];
    return s0 + s1 + s2 + s3;
}

void triad_any(float* a, const float* b, const float* c, float s, int64_t n) {
#if MNEMO_HAVE_X86
    if (cpu::best_supported_isa() == cpu::Isa::avx2) return triad_avx2(a, b, c, s, n);
#endif
    for (int64_t i = 0; i < n; ++i) a[i] = b[i] + s * c[i];
}

#if MNEMO_HAVE_X86
MNEMO_AVX2 double fma_avx2_thread(int64_t iterations) {
    __m256 acc[10];
    for (int i = 0; i < 10; ++i) acc[i] = _mm256_set1_ps(static_cast<float>(i));
    const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
    const double t0 = now_seconds();
    for (int64_t it = 0; it < iterations; ++it)
        for (int i = 0; i < 10; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
    const double dt = now_seconds() - t0;
    volatile float sink = 0.0f;
    for (int i = 0; i < 10; ++i) sink = sink + cpu::detail::hsum256(acc[i]);
    return static_cast<double>(iterations) * 10 * 8 * 2 / dt / 1e9;
}

__attribute__((target("avx512f"))) double fma_avx512_thread(int64_t iterations) {
    // Loads, not _mm512_set1_ps: GCC 12's set1 trips -Wuninitialized inside its own header.
    float init[16];
    std::fill(init, init + 16, 0.999999f);
    const __m512 a = _mm512_loadu_ps(init);
    std::fill(init, init + 16, 1e-7f);
    const __m512 b = _mm512_loadu_ps(init);
    __m512 acc[12];
    for (int i = 0; i < 12; ++i) {
        std::fill(init, init + 16, static_cast<float>(i));
        acc[i] = _mm512_loadu_ps(init);
    }
    const double t0 = now_seconds();
    for (int64_t it = 0; it < iterations; ++it)
        for (int i = 0; i < 12; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
    const double dt = now_seconds() - t0;
    volatile float sink = 0.0f;
    for (int i = 0; i < 12; ++i) {
        _mm512_storeu_ps(init, acc[i]);
        sink = sink + init[0] + init[15];
    }
    return static_cast<double>(iterations) * 12 * 16 * 2 / dt / 1e9;
}
#endif

// Runs fn(iterations) on `threads` threads at once; best total over many short tries (on a
// shared machine a long run mostly measures how often the threads were descheduled).
double concurrent_peak(int threads, int64_t iterations, double (*fn)(int64_t)) {
    double best = 0.0;
    for (int attempt = 0; attempt < 30; ++attempt) {
        std::vector<double> results(static_cast<size_t>(threads));
        std::vector<std::thread> pool;
        for (int t = 0; t < threads; ++t) pool.emplace_back([&, t] { results[static_cast<size_t>(t)] = fn(iterations); });
        for (auto& th : pool) th.join();
        double total = 0.0;
        for (double r : results) total += r;
        best = std::max(best, total);
    }
    return best;
}

bool cpu_has_avx512() {
#if MNEMO_HAVE_X86
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512dq");
#else
    return false;
#endif
}

std::vector<float> pseudo_random(size_t n, uint32_t seed) {
    std::vector<float> v(n);
    uint32_t s = seed * 2654435761u + 1;
    for (auto& x : v) {
        s = s * 1664525u + 1013904223u;
        x = static_cast<float>(static_cast<int32_t>(s >> 8) - (1 << 23)) * (1.0f / static_cast<float>(1 << 23)) * 0.05f;
    }
    return v;
}

}  // namespace

Bandwidth measure_bandwidth(int threads, uint64_t array_bytes) {
    Bandwidth r;
    r.threads = threads;
    r.array_bytes = array_bytes;
    const int64_t n = static_cast<int64_t>(array_bytes / sizeof(float));
    cpu::ThreadPool pool(threads);
    std::unique_ptr<float[]> a(new float[static_cast<size_t>(n)]), b(new float[static_cast<size_t>(n)]),
        c(new float[static_cast<size_t>(n)]);
    constexpr int64_t kGrain = 1 << 14;
    // First touch on the threads that use the pages.
    pool.parallel_for(n, kGrain, [&](int64_t s, int64_t e) {
        for (int64_t i = s; i < e; ++i) { a[static_cast<size_t>(i)] = 1.0f; b[static_cast<size_t>(i)] = 2.0f; c[static_cast<size_t>(i)] = 0.5f; }
    });
    std::vector<float> sums(static_cast<size_t>(threads) * 16);
    const double bytes = static_cast<double>(n) * sizeof(float);
    r.read_gbs = rate([&] {
        pool.parallel_for(n, kGrain, [&](int64_t s, int64_t e) { sums[static_cast<size_t>(s * threads / n) * 16] += sum_any(a.get() + s, e - s); });
    }, bytes / 1e9);
    r.copy_gbs = rate([&] {
        pool.parallel_for(n, kGrain, [&](int64_t s, int64_t e) {
            std::memcpy(c.get() + s, a.get() + s, static_cast<size_t>(e - s) * sizeof(float));
        });
    }, 2 * bytes / 1e9);
    r.triad_gbs = rate([&] {
        pool.parallel_for(n, kGrain, [&](int64_t s, int64_t e) { triad_any(a.get() + s, b.get() + s, c.get() + s, 3.0f, e - s); });
    }, 3 * bytes / 1e9);
    return r;
}

FmaPeak measure_fma_peak(int threads) {
    FmaPeak p;
    p.threads = threads;
#if MNEMO_HAVE_X86
    if (cpu::best_supported_isa() == cpu::Isa::avx2) p.avx2_gflops = concurrent_peak(threads, 2'000'000, fma_avx2_thread);
    if (cpu_has_avx512()) p.avx512_gflops = concurrent_peak(threads, 2'000'000, fma_avx512_thread);
#endif
    return p;
}

Blas::Blas(const std::string& coretype) {
    const char* before = std::getenv("OPENBLAS_CORETYPE");
    const std::string previous = before != nullptr ? before : "";
    std::string chosen = coretype;
    if (coretype == "auto") chosen = cpu_has_avx512() ? "SkylakeX" : "env";
    if (chosen != "env") setenv("OPENBLAS_CORETYPE", chosen.c_str(), 1);
    for (const char* name : {"libopenblas.so.0", "libopenblas.so"}) {
        handle_ = dlopen(name, RTLD_NOW | RTLD_LOCAL);
        if (handle_ != nullptr) break;
    }
    if (handle_ == nullptr) {
        description_ = "no BLAS: libopenblas.so.0 not found (Debian: libopenblas0 / libopenblas-dev)";
        return;
    }
    sgemm_ = reinterpret_cast<decltype(sgemm_)>(dlsym(handle_, "cblas_sgemm"));
    set_threads_ = reinterpret_cast<decltype(set_threads_)>(dlsym(handle_, "openblas_set_num_threads"));
    auto config = reinterpret_cast<const char* (*)()>(dlsym(handle_, "openblas_get_config"));
    auto core = reinterpret_cast<const char* (*)()>(dlsym(handle_, "openblas_get_corename"));
    if (sgemm_ == nullptr) {
        description_ = "no BLAS: libopenblas has no cblas_sgemm";
        return;
    }
    description_ = config != nullptr ? config() : "OpenBLAS";
    if (core != nullptr) description_ += std::string(" (core ") + core() + ")";
    if (chosen != "env" && previous != chosen)
        description_ += "; OPENBLAS_CORETYPE=" + chosen + (previous.empty() ? "" : " (environment had " + previous + ")");
}

Blas::~Blas() {
    // OpenBLAS's threads may still be parked on the cores; leave the library loaded (it
    // does not support being unloaded with live threads).
}

Stat Blas::sgemm_gflops(int64_t m, int64_t n, int64_t k, int threads) {
    if (sgemm_ == nullptr) return {};
    if (set_threads_ != nullptr) set_threads_(threads);
    const auto x = pseudo_random(static_cast<size_t>(m * k), 1), w = pseudo_random(static_cast<size_t>(n * k), 2);
    std::vector<float> y(static_cast<size_t>(m * n));
    constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;
    const Stat s = rate([&] {
        sgemm_(kRowMajor, kNoTrans, kTrans, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), 1.0f, x.data(),
               static_cast<int>(k), w.data(), static_cast<int>(k), 0.0f, y.data(), static_cast<int>(n));
    }, 2.0 * static_cast<double>(m * n * k) / 1e9);
    // Park OpenBLAS's workers so they do not spin on the cores the next measurement uses.
    if (set_threads_ != nullptr) set_threads_(1);
    return s;
}

std::vector<MatmulResult> measure_matmuls(const std::vector<LinearShape>& shapes, int64_t rows, int threads, Blas* blas) {
    std::vector<MatmulResult> out;
    cpu::ThreadPool pool(threads);
    for (const LinearShape& s : shapes) {
        MatmulResult r;
        r.shape = s;
        r.rows = rows;
        const auto wf = pseudo_random(static_cast<size_t>(s.n * s.k), 3);
        const auto x = pseudo_random(static_cast<size_t>(rows * s.k), 4);
        std::vector<uint8_t> w(static_cast<size_t>(s.n * cpu::row_bytes(s.type, s.k)));
        const int64_t rb = cpu::row_bytes(s.type, s.k);
        for (int64_t i = 0; i < s.n; ++i) cpu::row_from_f32(s.type, wf.data() + i * s.k, w.data() + i * rb, s.k);
        std::vector<float> y(static_cast<size_t>(rows * s.n));
        const double gflop = 2.0 * static_cast<double>(rows * s.n * s.k) / 1e9;
        r.mnemo_gflops = rate([&] { cpu::matmul(x.data(), rows, s.k, w.data(), s.type, s.n, nullptr, y.data(), &pool); }, gflop);
        r.mnemo_f32_gflops =
            s.type == cpu::DType::f32
                ? r.mnemo_gflops
                : rate([&] { cpu::matmul(x.data(), rows, s.k, wf.data(), cpu::DType::f32, s.n, nullptr, y.data(), &pool); }, gflop);
        if (blas != nullptr && blas->available()) r.blas_gflops = blas->sgemm_gflops(rows, s.n, s.k, threads);
        out.push_back(r);
    }
    return out;
}

}  // namespace mnemo::cli::bench
