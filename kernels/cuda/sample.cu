// Token sampling on the device, so that a decode step with any sampler is one graph
// replay and only the chosen token comes back to the host. The rules and the order of
// the floating-point sums are those of the CPU sampler (sdk/src/sampler.cpp); the random
// draw comes from the host's generator (SamplerConfig::uniform), so one seed gives the
// same tokens on both backends.
#include "ops.h"

#include <cub/device/device_radix_sort.cuh>

#include <algorithm>
#include <cmath>

namespace mnemo::cuda {
namespace {

// keys = logits with NaN → −inf (ranked lowest, as the CPU) and −0 → +0 (the radix sort
// orders the two zeros, the CPU's comparison does not); ids = 0 .. n−1.
__global__ void sample_prepare_kernel(const float* logits, int64_t n, float* keys, int32_t* ids) {
    for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
        float l = logits[i];
        if (isnan(l)) l = -INFINITY;
        keys[i] = l == 0.0f ? 0.0f : l;
        ids[i] = static_cast<int32_t>(i);
    }
}

// CTRL-style repetition penalty on each distinct token of the window (one block: the
// `seen` marks are set, used and cleared inside it).
__global__ void sample_penalty_kernel(const SamplerConfig* cfg, const int32_t* ring, const int32_t* meta, int64_t n, float* keys,
                                      int32_t* seen) {
    const float penalty = cfg->repetition_penalty;
    if (penalty == 1.0f || cfg->repetition_window <= 0) return;
    const int32_t start = meta[0], count = meta[1];
    const int32_t window = min(count, cfg->repetition_window);
    for (int32_t j = count - window + static_cast<int32_t>(threadIdx.x); j < count; j += blockDim.x) {
        const int32_t t = ring[(start + j) % kRecentCapacity];
        if (t < 0 || t >= n || atomicExch(&seen[t], 1) != 0) continue;
        const float l = keys[t];
        keys[t] = l > 0 ? l / penalty : l * penalty;
    }
    __syncthreads();
    for (int32_t j = count - window + static_cast<int32_t>(threadIdx.x); j < count; j += blockDim.x) {
        const int32_t t = ring[(start + j) % kRecentCapacity];
        if (t >= 0 && t < n) seen[t] = 0;
    }
}

// Candidates sorted by logit (descending, stable: lower id first among ties). One block;
// the probabilities are computed in parallel, their sums in the CPU's sequential order.
// Thread 0's return value is the token.
__device__ int32_t sample_pick(const SamplerConfig* cfg, const float* keys, const int32_t* ids, int64_t n_vocab, double* probs) {
    const float temperature = cfg->temperature;
    const float top = keys[0];
    if (temperature == 0.0f || !isfinite(top)) return ids[0];
    int64_t n = n_vocab;
    if (cfg->top_k > 0) n = min(n, static_cast<int64_t>(cfg->top_k));
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x)
        probs[i] = exp(static_cast<double>(keys[i] - top) / static_cast<double>(temperature));
    __syncthreads();
    if (threadIdx.x != 0) return 0;
    double total = 0;
    for (int64_t i = 0; i < n; ++i) total += probs[i];
    if (cfg->top_p < 1.0f) {
        double cumulative = 0;
        int64_t keep = n;
        for (int64_t i = 0; i < n; ++i) {
            cumulative += probs[i] / total;
            if (cumulative >= cfg->top_p) {
                keep = i + 1;
                break;
            }
        }
        n = keep;
        total = 0;
        for (int64_t i = 0; i < n; ++i) total += probs[i];
    }
    double r = cfg->uniform * total;
    for (int64_t i = 0; i < n; ++i) {
        r -= probs[i];
        if (r <= 0) return ids[i];
    }
    return ids[n - 1];
}

__global__ void sample_pick_kernel(const SamplerConfig* cfg, const float* keys, const int32_t* ids, int64_t n_vocab, double* probs,
                                   int32_t* out, TokenPublish publish) {
    const int32_t token = sample_pick(cfg, keys, ids, n_vocab, probs);
    if (threadIdx.x != 0) return;
    *out = token;
    publish_token(publish, token);
}

__global__ void recent_push_kernel(int32_t* ring, int32_t* meta, const int32_t* token) {
    const int32_t start = meta[0], count = meta[1];
    if (count < kRecentCapacity) {
        ring[(start + count) % kRecentCapacity] = *token;
        meta[1] = count + 1;
    } else {
        ring[start] = *token;
        meta[0] = (start + 1) % kRecentCapacity;
    }
}

}  // namespace

size_t sample_sort_temp_bytes(int64_t n) {
    size_t bytes = 0;
    cub::DeviceRadixSort::SortPairsDescending(nullptr, bytes, static_cast<const float*>(nullptr), static_cast<float*>(nullptr),
                                              static_cast<const int32_t*>(nullptr), static_cast<int32_t*>(nullptr),
                                              static_cast<int>(n));
    return bytes;
}

void recent_push(int32_t* ring, int32_t* meta, const int32_t* token, Stream stream) {
    recent_push_kernel<<<1, 1, 0, stream>>>(ring, meta, token);
}

void sample(const float* logits, int64_t n, const SamplerConfig* config, const int32_t* ring, const int32_t* ring_meta,
            const SampleScratch& s, int32_t* out_token, Stream stream, TokenPublish publish) {
    float* keys_in = s.keys;
    float* keys_out = s.keys + n;
    int32_t* ids_in = s.ids;
    int32_t* ids_out = s.ids + n;
    const unsigned blocks = static_cast<unsigned>(std::min<int64_t>((n + 255) / 256, 1024));
    sample_prepare_kernel<<<blocks, 256, 0, stream>>>(logits, n, keys_in, ids_in);
    sample_penalty_kernel<<<1, 256, 0, stream>>>(config, ring, ring_meta, n, keys_in, s.seen);
    size_t bytes = s.sort_temp_bytes;
    cub::DeviceRadixSort::SortPairsDescending(s.sort_temp, bytes, keys_in, keys_out, ids_in, ids_out, static_cast<int>(n), 0,
                                              32, stream);
    sample_pick_kernel<<<1, 1024, 0, stream>>>(config, keys_out, ids_out, n, s.probs, out_token, publish);
}

}  // namespace mnemo::cuda
