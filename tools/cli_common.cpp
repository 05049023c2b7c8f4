#include "cli_common.h"

#include "mnemo/mnemo.h"

#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <unistd.h>

namespace mnemo::cli {

int report_failure(const char* command, const std::string& what) {
    const char* detail = mnemo_last_error();
    if (detail != nullptr && *detail != '\0')
        std::fprintf(stderr, "mnemo %s: error: %s: %s\n", command, what.c_str(), detail);
    else
        std::fprintf(stderr, "mnemo %s: error: %s\n", command, what.c_str());
    return kExitFailure;
}

int usage_error(const char* command, const std::string& what) {
    std::fprintf(stderr, "mnemo %s: %s\nRun 'mnemo %s --help' for usage.\n", command, what.c_str(), command);
    return kExitUsage;
}

Args::Args(int argc, char** argv, int first) {
    for (int i = first; i < argc; ++i) items_.emplace_back(argv[i]);
    used_.assign(items_.size(), false);
}

bool Args::flag(const std::string& name) {
    for (size_t i = 0; i < items_.size(); ++i) {
        if (!used_[i] && items_[i] == name) { used_[i] = true; return true; }
    }
    return false;
}

bool Args::option(const std::string& name, std::string* value) {
    for (size_t i = 0; i < items_.size(); ++i) {
        if (used_[i]) continue;
        if (items_[i] == name) {
            used_[i] = true;
            if (i + 1 >= items_.size()) { missing_value_ = true; missing_name_ = name; return false; }
            used_[i + 1] = true;
            *value = items_[i + 1];
            return true;
        }
        if (items_[i].rfind(name + "=", 0) == 0) {
            used_[i] = true;
            *value = items_[i].substr(name.size() + 1);
            return true;
        }
    }
    return false;
}

bool Args::option(const std::string& alt, const std::string& name, std::string* value) {
    return option(alt, value) || option(name, value);
}

void Args::collect_positionals() const {
    positional_.clear();
    for (size_t i = 0; i < items_.size(); ++i)
        if (!used_[i] && (items_[i].empty() || items_[i][0] != '-' || items_[i] == "-")) positional_.push_back(items_[i]);
}

std::string Args::leftover_option() const {
    collect_positionals();
    for (size_t i = 0; i < items_.size(); ++i)
        if (!used_[i] && items_[i].size() > 1 && items_[i][0] == '-') return items_[i];
    return "";
}

double now_seconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

namespace {
uint64_t proc_status_kib(const char* key) {
    std::ifstream in("/proc/self/status");
    std::string line;
    const size_t n = std::strlen(key);
    while (std::getline(in, line))
        if (line.compare(0, n, key) == 0) return std::stoull(line.substr(n)) * 1024;
    return 0;
}
}  // namespace

uint64_t peak_rss_bytes() { return proc_status_kib("VmHWM:"); }
uint64_t current_rss_bytes() { return proc_status_kib("VmRSS:"); }

bool reset_peak_rss() {
    std::ofstream out("/proc/self/clear_refs");
    out << "5";
    out.close();
    return static_cast<bool>(out);
}

Progress::Progress(std::string label, uint64_t total)
    : label_(std::move(label)), total_(total), tty_(isatty(STDERR_FILENO) != 0), start_(now_seconds()) {}

void Progress::update(uint64_t done, const std::string& detail) {
    const double frac = total_ == 0 ? 1.0 : static_cast<double>(done) / static_cast<double>(total_);
    if (tty_) {
        const int width = 30;
        const int filled = static_cast<int>(frac * width);
        std::fprintf(stderr, "\r%s [%.*s%*s] %3d%% %s\033[K", label_.c_str(), filled, "##############################",
                     width - filled, "", static_cast<int>(frac * 100), detail.c_str());
        std::fflush(stderr);
        return;
    }
    const int decile = static_cast<int>(frac * 10);
    if (decile != last_decile_) {
        last_decile_ = decile;
        std::fprintf(stderr, "%s %3d%% %s\n", label_.c_str(), decile * 10, detail.c_str());
    }
}

void Progress::finish(const std::string& detail) {
    if (tty_) std::fprintf(stderr, "\r\033[K");
    std::fprintf(stderr, "%s done in %.2f s %s\n", label_.c_str(), now_seconds() - start_, detail.c_str());
}

bool parse_policy(const std::string& s, mnemo_policy* out) {
    const std::pair<const char*, mnemo_policy> table[] = {{"none", MNEMO_POLICY_NONE}, {"streaming", MNEMO_POLICY_STREAMING},
                                                          {"h2o", MNEMO_POLICY_H2O}, {"tova", MNEMO_POLICY_TOVA},
                                                          {"snapkv", MNEMO_POLICY_SNAPKV}};
    for (const auto& [name, p] : table)
        if (s == name) { *out = p; return true; }
    return false;
}

bool parse_backend(const std::string& s, mnemo_backend* out) {
    const std::pair<const char*, mnemo_backend> table[] = {
        {"auto", MNEMO_BACKEND_AUTO}, {"cpu", MNEMO_BACKEND_CPU}, {"cuda", MNEMO_BACKEND_CUDA}};
    for (const auto& [name, b] : table)
        if (s == name) { *out = b; return true; }
    return false;
}

bool parse_chunk(const std::string& s, int32_t* out) {
    if (s == "auto") {
        *out = 0;
        return true;
    }
    return parse_number(s, out) && *out >= 1 && *out <= 65536;
}

bool parse_size(std::string s, int64_t* out) {
    if (s.empty()) return false;
    int64_t mult = 1;
    const char last = static_cast<char>(std::toupper(static_cast<unsigned char>(s.back())));
    if (last == 'K' || last == 'M' || last == 'G' || last == 'T') {
        mult = last == 'K' ? 1LL << 10 : last == 'M' ? 1LL << 20 : last == 'G' ? 1LL << 30 : 1LL << 40;
        s.pop_back();
    }
    double v = 0;
    if (!parse_number(s, &v) || v <= 0 || v * static_cast<double>(mult) > 9e18) return false;
    *out = static_cast<int64_t>(std::llround(v * static_cast<double>(mult)));
    return true;
}

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= s.size()) {
        const size_t end = s.find(sep, start);
        out.push_back(s.substr(start, end == std::string::npos ? std::string::npos : end - start));
        if (end == std::string::npos) break;
        start = end + 1;
    }
    return out;
}

std::string context_label(int64_t n) {
    if (n >= (1 << 20) && n % (1 << 20) == 0) return std::to_string(n >> 20) + "M";
    if (n >= 1024 && n % 1024 == 0) return std::to_string(n >> 10) + "K";
    return std::to_string(n);
}

std::string human_bytes(uint64_t bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(bytes);
    int u = 0;
    while (v >= 1024.0 && u < 4) { v /= 1024.0; ++u; }
    char buf[64];
    if (u == 0) std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
    else std::snprintf(buf, sizeof buf, "%.2f %s", v, units[u]);
    return buf;
}

}  // namespace mnemo::cli
