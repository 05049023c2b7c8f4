// Shared by the C API's translation units (api.cpp, api_store.cpp): the opaque
// handle types and the helpers that keep C++ exceptions and short caller structs
// from crossing the API.
#pragma once

#include "mnemo/mnemo.h"

#include "error.h"
#include "model.h"
#include "session.h"

#include <cstring>
#include <memory>
#include <new>

struct mnemo_model {
    std::unique_ptr<mnemo::ModelImpl> model;
};

struct mnemo_session {
    std::unique_ptr<mnemo::SessionImpl> session;
};

namespace mnemo::api {

// Runs `body`, turning any escaping C++ exception into a status.
template <typename F>
mnemo_status guarded(const char* where, F&& body) {
    try {
        clear_error();
        return body();
    } catch (const std::bad_alloc&) {
        return failf(MNEMO_ERR_OUT_OF_MEMORY, "%s: out of memory", where);
    } catch (const std::exception& e) {
        return failf(MNEMO_ERR_INTERNAL, "%s: %s", where, e.what());
    } catch (...) {
        return failf(MNEMO_ERR_INTERNAL, "%s: unknown exception", where);
    }
}

// The integer a C caller passed for an enum. C lets any int travel in an enum type;
// in C++ a value outside the enumerators' range must not be read as the enum (UBSan's
// -fsanitize=enum), so the library reads the bytes.
template <typename E>
int32_t enum_value(const E& e) {
    static_assert(sizeof(E) == sizeof(int32_t), "the C enums are int-sized");
    int32_t v;
    std::memcpy(&v, &e, sizeof v);
    return v;
}

// Checks the caller's struct_size so older callers' smaller structs are not overrun.
template <typename T>
mnemo_status check_struct(const T* s, const char* what) {
    if (s == nullptr) return failf(MNEMO_ERR_INVALID_ARGUMENT, "%s is NULL", what);
    const size_t declared = s->struct_size;
    if (declared < sizeof(size_t) || declared > (1u << 16))
        return failf(MNEMO_ERR_INVALID_ARGUMENT, "%s.struct_size = %zu; set it to sizeof(%s)", what, s->struct_size, what);
    return MNEMO_OK;
}

// Copies `full` into the caller's struct up to the caller's struct_size.
template <typename T>
void copy_out(T* dst, T full) {
    const size_t n = dst->struct_size < sizeof(T) ? dst->struct_size : sizeof(T);
    full.struct_size = dst->struct_size;
    std::memcpy(static_cast<void*>(dst), &full, n);
}

// Reads the caller's struct, defaulting fields beyond its struct_size.
template <typename T>
T copy_in(const T* src, T defaults) {
    if (src == nullptr) return defaults;
    const size_t n = src->struct_size < sizeof(T) ? src->struct_size : sizeof(T);
    std::memcpy(static_cast<void*>(&defaults), src, n);
    defaults.struct_size = sizeof(T);
    return defaults;
}

}  // namespace mnemo::api
