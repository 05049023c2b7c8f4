// Helpers shared by the fuzz targets: a check that turns a broken invariant into a
// libFuzzer finding, and in-memory files for code that only opens paths.
#pragma once

#include "mnemo/mnemo.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <sys/mman.h>
#include <unistd.h>

// A failed invariant is a finding: print it and abort (libFuzzer saves the input).
#define FUZZ_CHECK(cond, ...)                                                         \
    do {                                                                              \
        if (!(cond)) {                                                                \
            std::fprintf(stderr, "FUZZ_CHECK failed at %s:%d: %s\n  ", __FILE__, __LINE__, #cond); \
            std::fprintf(stderr, __VA_ARGS__);                                        \
            std::fprintf(stderr, "\n  last error: %s\n", mnemo_last_error());         \
            std::abort();                                                             \
        }                                                                             \
    } while (0)

namespace mnemo::fuzz {

// A status a bad input may produce. MNEMO_ERR_INTERNAL means an exception escaped a
// parser (the API's last-resort guard caught it): a bug, not a verdict on the input.
inline bool is_verdict(mnemo_status s) { return s != MNEMO_ERR_INTERNAL && s >= MNEMO_OK && s <= MNEMO_ERR_INTERNAL; }

// An anonymous in-memory file holding `data`, reachable by path as /proc/self/fd/N,
// so the path-only loaders (mnemo_model_load) run on the input without touching disk.
class MemFile {
public:
    MemFile(const uint8_t* data, size_t size) {
        fd_ = memfd_create("mnemo-fuzz", MFD_CLOEXEC);
        if (fd_ < 0) { std::perror("memfd_create"); std::abort(); }
        size_t done = 0;
        while (done < size) {
            const ssize_t n = ::write(fd_, data + done, size - done);
            if (n <= 0) { std::perror("memfd write"); std::abort(); }
            done += static_cast<size_t>(n);
        }
        path_ = "/proc/self/fd/" + std::to_string(fd_);
    }
    ~MemFile() { ::close(fd_); }
    MemFile(const MemFile&) = delete;
    MemFile& operator=(const MemFile&) = delete;
    const std::string& path() const { return path_; }

private:
    int fd_ = -1;
    std::string path_;
};

// A private scratch directory (tmpfs when /dev/shm exists) for writers that insist on
// a real path; removed at exit.
inline const std::string& scratch_dir() {
    static const std::string dir = [] {
        std::string base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        std::string templ = base + "/mnemo-fuzz-XXXXXX";
        if (mkdtemp(templ.data()) == nullptr) { std::perror("mkdtemp"); std::abort(); }
        static std::string to_remove = templ;
        std::atexit([] { std::filesystem::remove_all(to_remove); });
        return templ;
    }();
    return dir;
}

}  // namespace mnemo::fuzz
