// RMSNorm: one block per row, a warp-shuffle + shared-memory reduction of x^2.
#include "device.h"

#include <cuda_runtime.h>

#include <vector>

namespace mnemo::cuda {
namespace {

__global__ void rms_norm_kernel(const float* __restrict__ x, const float* __restrict__ w, float* __restrict__ y, int64_t dim,
                                float eps) {
    const int64_t row = blockIdx.x;
    const float* xr = x + row * dim;
    float* yr = y + row * dim;
    float sum = 0.0f;
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) sum += xr[i] * xr[i];
    for (int offset = 16; offset > 0; offset >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, offset);
    __shared__ float warp_sums[32];
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    if (lane == 0) warp_sums[warp] = sum;
    __syncthreads();
    if (warp == 0) {
        sum = lane < (blockDim.x + 31) / 32 ? warp_sums[lane] : 0.0f;
        for (int offset = 16; offset > 0; offset >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, offset);
        if (lane == 0) warp_sums[0] = sum;
    }
    __syncthreads();
    const float scale = rsqrtf(warp_sums[0] / static_cast<float>(dim) + eps);
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) yr[i] = xr[i] * scale * (w != nullptr ? w[i] : 1.0f);
}

bool ok(cudaError_t e, std::string* error) {
    if (e == cudaSuccess) return true;
    if (error != nullptr) *error = cudaGetErrorString(e);
    return false;
}

}  // namespace

int device_count() {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError();  // clear the sticky "no driver" error
        return 0;
    }
    return n;
}

std::string device_description(int device) {
    cudaDeviceProp p{};
    const cudaError_t e = cudaGetDeviceProperties(&p, device);
    if (e != cudaSuccess) return cudaGetErrorString(e);
    char buf[256];
    snprintf(buf, sizeof buf, "%s (sm_%d%d, %.1f GiB)", p.name, p.major, p.minor, static_cast<double>(p.totalGlobalMem) / (1ull << 30));
    return buf;
}

bool rms_norm_host(const float* x, const float* weight, float* y, int64_t n_rows, int64_t dim, float eps, std::string* error) {
    const size_t bytes = static_cast<size_t>(n_rows * dim) * sizeof(float);
    float *dx = nullptr, *dw = nullptr, *dy = nullptr;
    bool good = ok(cudaMalloc(&dx, bytes), error) && ok(cudaMalloc(&dy, bytes), error) &&
                ok(cudaMalloc(&dw, static_cast<size_t>(dim) * sizeof(float)), error) &&
                ok(cudaMemcpy(dx, x, bytes, cudaMemcpyHostToDevice), error) &&
                ok(cudaMemcpy(dw, weight, static_cast<size_t>(dim) * sizeof(float), cudaMemcpyHostToDevice), error);
    if (good) {
        rms_norm_kernel<<<static_cast<unsigned>(n_rows), 256>>>(dx, dw, dy, dim, eps);
        good = ok(cudaGetLastError(), error) && ok(cudaMemcpy(y, dy, bytes, cudaMemcpyDeviceToHost), error);
    }
    cudaFree(dx);
    cudaFree(dw);
    cudaFree(dy);
    return good;
}

}  // namespace mnemo::cuda
