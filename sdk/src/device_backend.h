// A device backend runs a session's forward pass on an accelerator while the session
// keeps its host-side state block as a mirror (same bytes, same layout): snapshots,
// probes and restores go through the mirror, copied from or to the device only when
// asked (SessionImpl::sync_host_state / state_restored).
#pragma once

#include "mixers/mixer.h"
#include "model.h"
#include "mnemo/mnemo.h"

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace mnemo {

class DeviceBackend {
public:
    virtual ~DeviceBackend() = default;
    virtual const char* name() const = 0;
    // Feeds n <= chunk_tokens tokens (ids already validated); the state advances on
    // the device and the last token's logits stay there.
    virtual mnemo_status feed_chunk(const int32_t* tokens, int64_t n) = 0;
    virtual mnemo_status download_logits(float* host) = 0;
    virtual mnemo_status download_state(std::byte* host) = 0;
    virtual mnemo_status upload_state(const std::byte* host) = 0;
    // Sampling on the device (any sampler; only the chosen token comes back): set the
    // sampler and the recent tokens (repetition penalty) once per generate call, then
    // sample the current logits, or feed a token and sample the next logits (one CUDA
    // graph replay per token). `uniform` is the step's draw from the host's generator
    // (Sampler::draw; unused when greedy).
    virtual mnemo_status begin_sampling(const mnemo_sampler_params& params, const std::vector<int32_t>& recent) = 0;
    virtual mnemo_status sample(double uniform, int32_t* token) = 0;
    virtual mnemo_status feed_sample(int32_t token, double uniform, int32_t* next) = 0;
    // The greedy choice over the current logits by the CPU sampler's rule (the highest logit,
    // the lowest id among equal ones, NaN lowest), made on the device: only the token comes
    // back, not the vocabulary's logits.
    virtual mnemo_status argmax(int32_t* token) = 0;
    virtual uint64_t device_bytes() const = 0;  // weights + state + scratch held on the device
};

// Number of usable CUDA devices in this build (0 without MNEMO_CUDA or a device).
int cuda_device_count();
// Checks that every layer of `model` can run on CUDA under `options`; the reason
// otherwise (MNEMO_ERR_UNSUPPORTED).
mnemo_status cuda_supports(const ModelImpl& model, const SessionOptions& options);
// Creates the CUDA backend for a session whose state block is `host_state`
// (`state_bytes` long, laid out by `mixers`). The block is uploaded as it is.
mnemo_status create_cuda_backend(const ModelImpl& model, const SessionOptions& options, const std::vector<std::unique_ptr<Mixer>>& mixers,
                                 const std::byte* host_state, uint64_t state_bytes, std::unique_ptr<DeviceBackend>* out);

}  // namespace mnemo
