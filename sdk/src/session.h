// A session: one sequence's state over a shared, immutable model.
#pragma once

#include "model.h"
#include "mnemo/mnemo.h"

#include <memory>

namespace mnemo {

class SessionImpl {
public:
    SessionImpl(const ModelImpl& model, const mnemo_session_params& params) : model_(model), params_(params) {}
    int64_t position() const { return position_; }
    const ModelImpl& model() const { return model_; }

private:
    const ModelImpl& model_;
    mnemo_session_params params_;
    int64_t position_ = 0;
};

mnemo_status create_session(const ModelImpl& model, const mnemo_session_params& params, std::unique_ptr<SessionImpl>* out);

}  // namespace mnemo
