// mnemo.hpp — thin header-only C++ wrapper over mnemo.h: RAII handles, and
// statuses turned into mnemo::Error exceptions (on the C++ side only; the C API
// itself never throws).
#pragma once

#include "mnemo.h"

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace mnemo {

class Error : public std::runtime_error {
public:
    Error(mnemo_status status, const std::string& message)
        : std::runtime_error(std::string(mnemo_status_name(status)) + ": " + message), status_(status) {}
    mnemo_status status() const noexcept { return status_; }

private:
    mnemo_status status_;
};

inline void check(mnemo_status status) {
    if (status != MNEMO_OK) throw Error(status, mnemo_last_error());
}

class Model {
public:
    explicit Model(const std::string& path, const mnemo_model_params* params = nullptr) {
        mnemo_model* m = nullptr;
        check(mnemo_model_load(path.c_str(), params, &m));
        handle_.reset(m);
    }
    const mnemo_model* get() const noexcept { return handle_.get(); }

    mnemo_model_info info() const {
        mnemo_model_info i{};
        i.struct_size = sizeof i;
        check(mnemo_model_get_info(get(), &i));
        return i;
    }
    mnemo_layer_info layer(int32_t index) const {
        mnemo_layer_info i{};
        i.struct_size = sizeof i;
        check(mnemo_model_get_layer_info(get(), index, &i));
        return i;
    }
    std::vector<int32_t> tokenize(std::string_view text, bool add_bos = false) const {
        size_t n = 0;
        const mnemo_status s = mnemo_tokenize(get(), text.data(), text.size(), add_bos ? 1 : 0, nullptr, 0, &n);
        if (s != MNEMO_OK && s != MNEMO_ERR_BUFFER_TOO_SMALL) check(s);
        std::vector<int32_t> ids(n);
        check(mnemo_tokenize(get(), text.data(), text.size(), add_bos ? 1 : 0, ids.data(), ids.size(), &n));
        return ids;
    }
    std::string detokenize(const std::vector<int32_t>& ids) const {
        size_t n = 0;
        const mnemo_status s = mnemo_detokenize(get(), ids.data(), ids.size(), nullptr, 0, &n);
        if (s != MNEMO_OK && s != MNEMO_ERR_BUFFER_TOO_SMALL) check(s);
        std::string text(n, '\0');
        check(mnemo_detokenize(get(), ids.data(), ids.size(), text.data(), text.size(), &n));
        return text;
    }

private:
    struct Free { void operator()(mnemo_model* m) const noexcept { mnemo_model_free(m); } };
    std::unique_ptr<mnemo_model, Free> handle_;
};

class Session {
public:
    explicit Session(const Model& model, mnemo_session_params params = mnemo_session_default_params()) {
        mnemo_session* s = nullptr;
        check(mnemo_session_create(model.get(), &params, &s));
        handle_.reset(s);
    }
    mnemo_session* get() const noexcept { return handle_.get(); }
    int64_t position() const {
        int64_t p = 0;
        check(mnemo_session_position(get(), &p));
        return p;
    }

private:
    struct Free { void operator()(mnemo_session* s) const noexcept { mnemo_session_free(s); } };
    std::unique_ptr<mnemo_session, Free> handle_;
};

}  // namespace mnemo
