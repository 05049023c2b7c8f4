// Thread-local error reporting: every internal failure path calls fail(), which
// records the message mnemo_last_error() returns and passes the status through.
#pragma once

#include "mnemo/mnemo.h"

#include <string>

namespace mnemo {

// Records `message` for the calling thread and returns `status` (never MNEMO_OK).
mnemo_status fail(mnemo_status status, std::string message);

// printf-style convenience; the message is formatted with vsnprintf.
mnemo_status failf(mnemo_status status, const char* format, ...) __attribute__((format(printf, 2, 3)));

void clear_error();

// Propagates a non-OK status to the caller.
#define MNEMO_TRY(expr)                                 \
    do {                                                \
        const mnemo_status mnemo_try_status_ = (expr);  \
        if (mnemo_try_status_ != MNEMO_OK) return mnemo_try_status_; \
    } while (0)

}  // namespace mnemo
