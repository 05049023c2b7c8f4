// Builds without MNEMO_CUDA: no device, so AUTO always means the CPU.
#include "device_backend.h"

#include "error.h"

namespace mnemo {

int cuda_device_count() { return 0; }

mnemo_status cuda_supports(const ModelImpl&, const SessionOptions&) {
    return fail(MNEMO_ERR_NO_DEVICE, "this build has no CUDA backend (configure with -DMNEMO_CUDA=ON)");
}

mnemo_status create_cuda_backend(const ModelImpl&, const SessionOptions&, const std::vector<std::unique_ptr<Mixer>>&, const std::byte*,
                                 uint64_t, std::unique_ptr<DeviceBackend>*) {
    return fail(MNEMO_ERR_NO_DEVICE, "this build has no CUDA backend (configure with -DMNEMO_CUDA=ON)");
}

}  // namespace mnemo
