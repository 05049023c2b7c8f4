// GPU side of `mnemo bench`: device memory in use and the GPU rooflines (device copy
// bandwidth, cuBLAS GEMM peak). Compiled against the CUDA runtime and cuBLAS when the
// build has the CUDA backend (MNEMO_CUDA=ON); otherwise every call reports "no CUDA".
#pragma once

#include <cstdint>
#include <string>

namespace mnemo::cli::bench {

struct GpuInfo {
    bool available = false;
    std::string name;         // device 0
    uint64_t total_bytes = 0;
    std::string error;        // why not available
};
GpuInfo gpu_info();

// Bytes of device 0's memory in use now (total − free, every process); 0 without CUDA.
uint64_t gpu_used_bytes();

struct GpuRoofline {
    bool measured = false;
    double copy_gbs = 0.0;           // device-to-device cudaMemcpy, 2 × bytes / time
    double sgemm_gflops = 0.0;       // cuBLAS SGEMM (FP32), 4096³
    double tf32_gflops = 0.0;        // cuBLAS GEMM with TF32 tensor cores
    double bf16_gflops = 0.0;        // cuBLAS GEMM, BF16 inputs, FP32 accumulation
    std::string error;
};
GpuRoofline measure_gpu_roofline();

}  // namespace mnemo::cli::bench
