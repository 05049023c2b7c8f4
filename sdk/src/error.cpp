#include "error.h"

#include <cstdarg>
#include <cstdio>
#include <vector>

namespace mnemo {
namespace {
thread_local std::string t_last_error;
}

mnemo_status fail(mnemo_status status, std::string message) {
    t_last_error = std::move(message);
    return status;
}

mnemo_status failf(mnemo_status status, const char* format, ...) {
    va_list args;
    va_start(args, format);
    va_list copy;
    va_copy(copy, args);
    const int needed = std::vsnprintf(nullptr, 0, format, copy);
    va_end(copy);
    std::string message;
    if (needed > 0) {
        std::vector<char> buffer(static_cast<size_t>(needed) + 1);
        std::vsnprintf(buffer.data(), buffer.size(), format, args);
        message.assign(buffer.data(), static_cast<size_t>(needed));
    }
    va_end(args);
    return fail(status, std::move(message));
}

void clear_error() { t_last_error.clear(); }

const char* last_error_cstr() { return t_last_error.c_str(); }

}  // namespace mnemo
