#include "bench_gpu.h"

#if defined(MNEMO_BENCH_CUDA)
#include "cli_common.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#endif

namespace mnemo::cli::bench {

#if defined(MNEMO_BENCH_CUDA)
namespace {

// Best seconds per call of fn over a few runs, synchronised.
template <class Fn>
double best_seconds(Fn fn, int runs = 5) {
    fn();
    cudaDeviceSynchronize();
    double best = 1e30;
    for (int i = 0; i < runs; ++i) {
        const double t0 = now_seconds();
        fn();
        cudaDeviceSynchronize();
        best = std::min(best, now_seconds() - t0);
    }
    return best;
}

double gemm_gflops(cublasHandle_t h, cudaDataType_t type, cublasComputeType_t compute, int n) {
    const size_t elem = type == CUDA_R_16BF ? 2 : 4;
    void *a = nullptr, *b = nullptr, *c = nullptr;
    if (cudaMalloc(&a, elem * n * n) != cudaSuccess || cudaMalloc(&b, elem * n * n) != cudaSuccess ||
        cudaMalloc(&c, 4ull * n * n) != cudaSuccess) {
        cudaFree(a); cudaFree(b); cudaFree(c);
        return 0.0;
    }
    cudaMemset(a, 0, elem * n * n);
    cudaMemset(b, 0, elem * n * n);
    const float one = 1.0f, zero = 0.0f;
    const double s = best_seconds([&] {
        cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_T, n, n, n, &one, a, type, n, b, type, n, &zero, c, CUDA_R_32F, n, compute,
                     CUBLAS_GEMM_DEFAULT);
    });
    cudaFree(a); cudaFree(b); cudaFree(c);
    return 2.0 * n * static_cast<double>(n) * n / s / 1e9;
}

}  // namespace

GpuInfo gpu_info() {
    GpuInfo g;
    int n = 0;
    const cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess || n == 0) {
        g.error = e != cudaSuccess ? cudaGetErrorString(e) : "no CUDA device";
        return g;
    }
    cudaDeviceProp p{};
    cudaGetDeviceProperties(&p, 0);
    g.available = true;
    g.name = p.name;
    g.total_bytes = p.totalGlobalMem;
    return g;
}

uint64_t gpu_used_bytes() {
    size_t free_b = 0, total_b = 0;
    if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) return 0;
    return total_b - free_b;
}

GpuRoofline measure_gpu_roofline() {
    GpuRoofline r;
    if (!gpu_info().available) {
        r.error = "no CUDA device";
        return r;
    }
    const size_t bytes = 1ull << 30;
    void *src = nullptr, *dst = nullptr;
    if (cudaMalloc(&src, bytes) == cudaSuccess && cudaMalloc(&dst, bytes) == cudaSuccess) {
        cudaMemset(src, 1, bytes);
        const double s = best_seconds([&] { cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToDevice); });
        r.copy_gbs = 2.0 * static_cast<double>(bytes) / s / 1e9;
    }
    cudaFree(src);
    cudaFree(dst);
    cublasHandle_t h = nullptr;
    if (cublasCreate(&h) != CUBLAS_STATUS_SUCCESS) {
        r.error = "cublasCreate failed";
        return r;
    }
    r.sgemm_gflops = gemm_gflops(h, CUDA_R_32F, CUBLAS_COMPUTE_32F, 4096);
    r.tf32_gflops = gemm_gflops(h, CUDA_R_32F, CUBLAS_COMPUTE_32F_FAST_TF32, 4096);
    r.bf16_gflops = gemm_gflops(h, CUDA_R_16BF, CUBLAS_COMPUTE_32F, 8192);
    cublasDestroy(h);
    r.measured = true;
    return r;
}

#else

GpuInfo gpu_info() {
    GpuInfo g;
    g.error = "this build has no CUDA backend (MNEMO_CUDA=OFF)";
    return g;
}
uint64_t gpu_used_bytes() { return 0; }
GpuRoofline measure_gpu_roofline() {
    GpuRoofline r;
    r.error = "this build has no CUDA backend (MNEMO_CUDA=OFF)";
    return r;
}

#endif

}  // namespace mnemo::cli::bench
