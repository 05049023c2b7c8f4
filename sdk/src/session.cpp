#include "session.h"

#include "error.h"

namespace mnemo {

mnemo_status create_session(const ModelImpl& model, const mnemo_session_params& params, std::unique_ptr<SessionImpl>* out) {
    if (params.backend == MNEMO_BACKEND_CUDA)
        return fail(MNEMO_ERR_NO_DEVICE, "mnemo_session_create: the CUDA backend is not available in this build");
    if (params.backend != MNEMO_BACKEND_AUTO && params.backend != MNEMO_BACKEND_CPU)
        return failf(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_session_create: unknown backend %d", static_cast<int>(params.backend));
    if (params.n_threads < 0) return failf(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_session_create: n_threads = %d is negative", params.n_threads);
    if (params.max_context < 0)
        return failf(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_session_create: max_context = %lld is negative", static_cast<long long>(params.max_context));
    if (!model.config.bounded() && params.max_context == 0)
        return fail(MNEMO_ERR_UNBOUNDED,
                    "mnemo_session_create: the model has attn/nsa layers whose state grows with the context; set max_context "
                    "(or an eviction policy) to bound the session");
    *out = std::make_unique<SessionImpl>(model, params);
    return MNEMO_OK;
}

}  // namespace mnemo
