// CUDA device discovery and the first device kernels. Kernels know tensors and
// indices, not models; every one is tested against its CPU counterpart
// (tests/cuda), which is the specification.
#pragma once

#include <cstdint>
#include <string>

namespace mnemo::cuda {

// Number of usable CUDA devices (0 when there is no driver or no device).
int device_count();

// "NVIDIA H100 80GB HBM3 (sm_90, 79.1 GiB)" or the CUDA error text.
std::string device_description(int device);

// y = x / sqrt(mean(x^2) + eps) * w over n_rows rows of `dim` floats (host pointers;
// copies in and out, for tests). Returns false with `error` set on a CUDA failure.
bool rms_norm_host(const float* x, const float* weight, float* y, int64_t n_rows, int64_t dim, float eps, std::string* error);

}  // namespace mnemo::cuda
