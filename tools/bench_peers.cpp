#include "bench_peers.h"

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>

namespace mnemo::cli::bench {
namespace {

std::string shell_quote(const std::string& s) {
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

std::string join(const std::vector<int64_t>& v) {
    std::string s;
    for (int64_t x : v) {
        if (!s.empty()) s += ',';
        s += std::to_string(x);
    }
    return s;
}

// Runs a command, returns its stdout; false when it cannot start or exits non-zero.
bool capture(const std::string& command, std::string* out) {
    FILE* p = popen(command.c_str(), "r");
    if (p == nullptr) return false;
    char buf[4096];
    size_t n = 0;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out->append(buf, n);
    return pclose(p) == 0;
}

}  // namespace

PeerResult run_llama_bench(const std::string& llama_bench, const std::string& gguf, int threads,
                           const std::vector<int64_t>& contexts, int decode_tokens, int reps, const std::string& log_path) {
    PeerResult r;
    r.model_path = gguf;
    if (contexts.empty()) {
        r.error = "no context to run";
        return r;
    }
    const std::string base = shell_quote(llama_bench) + " -m " + shell_quote(gguf) + " -t " + std::to_string(threads) + " -r " +
                             std::to_string(reps) + " -o json";
    const std::string runs[] = {base + " -p " + join(contexts) + " -n 0",
                                base + " -p 0 -n " + std::to_string(decode_tokens) + " -d " + join(contexts)};
    std::map<int64_t, PeerPoint> points;
    for (const std::string& cmd : runs) {
        if (!r.command.empty()) r.command += "; ";
        r.command += cmd;
        std::string out;
        if (!capture(cmd + " 2>>" + shell_quote(log_path), &out)) {
            r.error = "llama-bench failed (see " + log_path + "): " + cmd;
            return r;
        }
        const nlohmann::json j = nlohmann::json::parse(out, nullptr, false);
        if (!j.is_array()) {
            r.error = "llama-bench printed no JSON array (see " + log_path + ")";
            return r;
        }
        for (const auto& rec : j) {
            r.raw.push_back(rec);
            if (r.build.empty() && rec.contains("build_commit"))
                r.build = rec.value("build_commit", std::string()) + " (build " + std::to_string(rec.value("build_number", 0)) + ")";
            const int64_t n_prompt = rec.value("n_prompt", int64_t{0}), n_gen = rec.value("n_gen", int64_t{0});
            const int64_t depth = rec.value("n_depth", int64_t{0});
            const double ts = rec.value("avg_ts", 0.0);
            if (n_prompt > 0 && n_gen == 0) {
                points[n_prompt].context = n_prompt;
                points[n_prompt].prefill_tokens_per_second = ts;
            } else if (n_gen > 0) {
                points[depth].context = depth;
                points[depth].decode_tokens_per_second = ts;
                points[depth].decode_ms_per_token = ts > 0 ? 1000.0 / ts : 0.0;
            }
        }
    }
    for (const auto& [context, p] : points) r.points.push_back(p);
    r.ran = true;
    return r;
}

bool torch_reference_target(const std::string& shape, const std::string& mixer, std::string* why) {
    if (shape != "paper-0.4b" && shape != "paper-1.4b") {
        *why = shape.empty() ? "peer not available for a model file (the reference builds --shape paper-0.4b / paper-1.4b)"
                             : "peer not available for shape '" + shape + "' (the reference has paper-0.4b and paper-1.4b)";
        return false;
    }
    if (mixer != "lte" && mixer != "attn") {
        *why = "peer not available for this mixer ('" + mixer + "': the reference runs the GDN hybrids lte and attn)";
        return false;
    }
    return true;
}

TorchPeerResult run_torch_reference(const TorchPeerRequest& q) {
    TorchPeerResult r;
    if (q.contexts.empty()) {
        r.error = "no context to run";
        return r;
    }
    char seconds[64];
    std::snprintf(seconds, sizeof seconds, "%g", q.max_seconds);
    std::string cmd = shell_quote(q.python) + " " + shell_quote(q.script) + " --shape " + shell_quote(q.shape) + " --mixer " +
                      shell_quote(q.mixer) + " --contexts " + join(q.contexts) + " --chunk " + std::to_string(q.chunk) +
                      " --decode-tokens " + std::to_string(q.decode_tokens) + " --max-seconds " + seconds + " --dtype " +
                      shell_quote(q.dtype) + " --json " + shell_quote(q.json_path);
    r.command = cmd;
    if (q.timeout_seconds > 0) {
        char t[64];
        std::snprintf(t, sizeof t, "%.0f", q.timeout_seconds);
        cmd = std::string("timeout --kill-after=10 ") + t + " " + cmd;
    }
    std::remove(q.json_path.c_str());
    const int status = std::system((cmd + " >" + shell_quote(q.log_path) + " 2>&1").c_str());
    const int code = status == -1 ? -1 : (WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    if (code != 0) {
        if (code == 124 || code == 137) r.error = "the reference timed out after " + std::to_string(static_cast<long>(q.timeout_seconds)) + " s";
        else if (code == 127) r.error = "cannot run '" + q.python + "' (exit 127)";
        else r.error = "the reference failed (exit " + std::to_string(code) + ")";
        return r;
    }
    std::ifstream in(q.json_path);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    r.raw = nlohmann::json::parse(text, nullptr, false);
    if (!r.raw.is_object() || !r.raw.contains("rows") || !r.raw["rows"].is_array()) {
        r.error = "the reference wrote no JSON with \"rows\" to " + q.json_path;
        r.raw = nullptr;
        return r;
    }
    for (const auto& row : r.raw["rows"]) {
        TorchPoint p;
        p.context = row.value("context", int64_t{0});
        if (row.contains("skipped")) {
            p.skipped = row.value("skipped", std::string());
        } else {
            p.ok = true;
            p.prefill_tokens_per_second = row.value("prefill_tokens_per_second", 0.0);
            p.decode_ms_p50 = row.value("decode_ms_p50", 0.0);
            p.decode_ms_max = row.value("decode_ms_max", 0.0);
        }
        r.points.push_back(p);
    }
    r.ran = true;
    return r;
}

}  // namespace mnemo::cli::bench
