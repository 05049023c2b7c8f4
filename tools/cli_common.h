// Shared pieces of the `mnemo` command line: argument scanning, error printing,
// progress bars.
#pragma once

#include "mnemo/mnemo.h"

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

namespace mnemo::cli {

// Exit codes: 0 success, 1 runtime failure, 2 usage error.
constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// Prints "mnemo <command>: error: <what>" plus the library's last error, if any.
int report_failure(const char* command, const std::string& what);
int usage_error(const char* command, const std::string& what);

// Argument list with simple option parsing: options may appear anywhere.
class Args {
public:
    Args(int argc, char** argv, int first);
    bool flag(const std::string& name);                            // --name
    bool option(const std::string& name, std::string* value);      // --name VALUE or --name=VALUE
    bool option(const std::string& alt, const std::string& name, std::string* value);
    std::vector<std::string> positionals() const { return positional_; }
    // Anything left that looks like an option: returned as an error string.
    std::string leftover_option() const;
    bool missing_value() const { return missing_value_; }
    const std::string& missing_value_name() const { return missing_name_; }

private:
    std::vector<std::string> items_;
    std::vector<bool> used_;
    mutable std::vector<std::string> positional_;
    bool missing_value_ = false;
    std::string missing_name_;
    void collect_positionals() const;
};

// A single-line progress bar on stderr (only when stderr is a terminal, else a line
// every ~10%).
class Progress {
public:
    Progress(std::string label, uint64_t total);
    void update(uint64_t done, const std::string& detail = "");
    void finish(const std::string& detail = "");

private:
    std::string label_;
    uint64_t total_;
    bool tty_;
    int last_decile_ = -1;
    double start_;
};

std::string human_bytes(uint64_t bytes);

// "none", "streaming", "h2o", "tova", "snapkv" -> the eviction policy; false otherwise.
bool parse_policy(const std::string& s, mnemo_policy* out);

// "auto", "cpu", "cuda" -> the backend; false otherwise.
bool parse_backend(const std::string& s, mnemo_backend* out);
// --chunk: a count in [1, 65536], or "auto" (0: the session's backend chooses, 256 on the CPU and
// 4096 on CUDA).
bool parse_chunk(const std::string& s, int32_t* out);

// "4096", "4K", "1M", "2G" (binary multiples) -> a positive count; false otherwise.
bool parse_size(std::string s, int64_t* out);
// "a,b,,c" -> {"a", "b", "", "c"}.
std::vector<std::string> split(const std::string& s, char sep);
// 4096 -> "4K", 1048576 -> "1M", 1000 -> "1000".
std::string context_label(int64_t n);

// Monotonic clock in seconds.
double now_seconds();

// This process's resident set size from /proc/self/status: the peak (VmHWM) and the
// current value (VmRSS), in bytes; 0 where unavailable.
uint64_t peak_rss_bytes();
uint64_t current_rss_bytes();
// Resets the peak (VmHWM) to the current RSS (Linux: "5" into /proc/self/clear_refs), so a
// later peak_rss_bytes() is the peak since this call. False where the kernel refuses.
bool reset_peak_rss();

// Parses a whole option value as a number of type T (no trailing characters).
template <typename T>
bool parse_number(const std::string& s, T* out) {
    std::istringstream in(s);
    in >> *out;
    return !in.fail() && in.eof();
}

}  // namespace mnemo::cli
