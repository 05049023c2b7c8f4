// Rooflines for `mnemo bench`, measured in the same run as the model: memory bandwidth
// (STREAM-like read / copy / triad over arrays far larger than the caches), the FMA peak
// (AVX2 and AVX-512 chains), the best BLAS sgemm Debian offers (OpenBLAS, loaded at run
// time), and Mnemo's own matmul at a model's prefill shapes beside that BLAS.
#pragma once

#include "cpu/dtype.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mnemo::cli::bench {

// Best (STREAM) and median of repeated runs, in the units of the measurement.
struct Stat {
    double best = 0.0;
    double median = 0.0;
};

struct Bandwidth {
    uint64_t array_bytes = 0;
    int threads = 0;
    Stat read_gbs;   // sum of one array: bytes read
    Stat copy_gbs;   // c = a: 2 x bytes (STREAM counting, write-allocate not counted)
    Stat triad_gbs;  // a = b + s c: 3 x bytes
};
Bandwidth measure_bandwidth(int threads, uint64_t array_bytes);

struct FmaPeak {
    int threads = 0;
    double avx2_gflops = 0.0;    // 10 independent 8-lane FMA chains per thread
    double avx512_gflops = 0.0;  // 16-lane chains; 0 when the CPU has no AVX-512F
};
FmaPeak measure_fma_peak(int threads);

// OpenBLAS (libopenblas.so.0) opened at run time, so the CLI needs no BLAS to build or run.
// `coretype` picks its kernels (OPENBLAS_CORETYPE, read when the library loads): "auto" =
// SkylakeX on a CPU with AVX-512 (OpenBLAS 0.3.21 does not recognise Zen 5 and would take
// its Haswell AVX2 kernels; SkylakeX's AVX-512 kernels are about twice as fast there), else
// whatever the environment says; "env" = the environment's choice; any other value is set
// as OPENBLAS_CORETYPE. An OpenBLAS already linked into the process is used as it is.
class Blas {
public:
    explicit Blas(const std::string& coretype = "auto");
    ~Blas();
    Blas(const Blas&) = delete;
    Blas& operator=(const Blas&) = delete;
    bool available() const { return sgemm_ != nullptr; }
    const std::string& description() const { return description_; }  // "OpenBLAS 0.3.21 ... (core SkylakeX)" or why not
    // Y[m,n] = X[m,k] W[n,k]^T on `threads` threads; best GFLOP/s over a few runs.
    Stat sgemm_gflops(int64_t m, int64_t n, int64_t k, int threads);

private:
    void* handle_ = nullptr;
    void (*sgemm_)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*, int) = nullptr;
    void (*set_threads_)(int) = nullptr;
    std::string description_;
};

// One linear layer shape of a model: Y[T, n] = X[T, k] W^T, W in `type`, `count` times per token.
struct LinearShape {
    std::string name;  // e.g. "mlp.gate_proj"
    int64_t n = 0, k = 0;
    cpu::DType type = cpu::DType::f32;
    int count = 0;
};

struct MatmulResult {
    LinearShape shape;
    int64_t rows = 0;         // T
    Stat mnemo_gflops;        // cpu::matmul with the model's weight type
    Stat mnemo_f32_gflops;    // cpu::matmul with f32 weights (what BLAS computes)
    Stat blas_gflops;         // sgemm, same shape, f32 weights
};

std::vector<MatmulResult> measure_matmuls(const std::vector<LinearShape>& shapes, int64_t rows, int threads, Blas* blas);

}  // namespace mnemo::cli::bench
