// mnemo eval: retrieval accuracy against context length (needle-in-a-haystack, multi-key,
// multi-query associative recall, pass key), with the per-sequence state bytes beside it.
// Uses only the public C API. The samples are those of training/data/retrieval.py
// (tools/eval_tasks.*), on held-out haystack text (models/eval/haystack.txt).
#include "cli_common.h"
#include "eval_tasks.h"

#include "mnemo/mnemo.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>
#include <unistd.h>

namespace mnemo::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const char* kHelp =
    "Usage: mnemo eval MODEL.gguf [options]\n\n"
    "Retrieval accuracy of a model against context length, through the public C API. The\n"
    "samples are built like training/data/retrieval.py's (same templates and layout) on\n"
    "held-out text, deterministic from --seed. Each answer is scored teacher-forced: a query\n"
    "is right when the greedy argmax equals every answer token. Prints a table of accuracy\n"
    "(suites x lengths) with the session's per-sequence state bytes for each length.\n\n"
    "Suites: niah-single-repeat, niah-single, niah-single-uuid, niah-multikey, mqar, passkey\n"
    "(docs/eval.md shows their layouts).\n\n"
    "Options:\n"
    "  -m, --model PATH        the GGUF model (or give it as the first argument)\n"
    "      --suites LIST       comma-separated suites (default: all six)\n"
    "      --lengths LIST      sample lengths in tokens, K = 1024 (default 1K,2K,4K,8K,16K,32K,64K)\n"
    "      --samples N         samples per suite and length (default 8)\n"
    "      --seed S            sample seed (default 0)\n"
    "      --mqar-pairs N      key-value pairs per mqar sample (default 16, as retrieval.py's\n"
    "                          eval set; 'auto' = max(4, min(126, length / 96))); half are asked\n"
    "      --haystack FILE     real text for the haystacks (default: models/eval/haystack.txt,\n"
    "                          held-out text; wraps around for lengths beyond it)\n"
    "      --backend B         auto (default: CUDA when a device can run the model), cpu or cuda\n"
    "      --threads N         worker threads (default: all cores)\n"
    "      --chunk N           prefill chunk in tokens (default auto: 256 on the CPU, 4096 on CUDA)\n"
    "      --max-memory B      skip a length whose session would need more than B bytes (e.g. 8G)\n"
    "      --max-seconds S     start no sample after S seconds of evaluation: suites and lengths\n"
    "                          not finished by then are reported as skipped (the time limit as\n"
    "                          reason), the finished ones keep their accuracy (default: none)\n"
    "      --json              print one JSON object instead of the table\n"
    "      --show              print sample 1 of each suite at the first length (decoded, the\n"
    "                          answers in [[ ]]) and exit without running the model\n"
    "      --quiet             no progress on stderr\n"
    "  -h, --help              this text\n";

// The committed haystack: next to the working directory, the executable or the source tree.
std::string find_haystack(const char* argv0) {
    std::vector<fs::path> candidates = {fs::path("models/eval/haystack.txt")};
    std::error_code ec;
    fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (ec) exe = fs::path(argv0);
    for (fs::path dir = exe.parent_path(); !dir.empty() && dir != dir.root_path(); dir = dir.parent_path()) {
        candidates.push_back(dir / "models/eval/haystack.txt");
        candidates.push_back(dir / "share/mnemo/models/eval/haystack.txt");  // installed (packaging/)
    }
#ifdef MNEMO_SOURCE_DIR
    candidates.push_back(fs::path(MNEMO_SOURCE_DIR) / "models/eval/haystack.txt");
#endif
    for (const auto& c : candidates)
        if (fs::is_regular_file(c, ec)) return c.string();
    return "";
}

// The model's tokenizer as eval::Tokenizer (throws with the library's message on failure).
eval::Tokenizer model_tokenizer(const mnemo_model* model, int32_t bos) {
    eval::Tokenizer tok;
    tok.bos = bos;
    tok.encode = [model](const std::string& text) {
        size_t n = 0;
        mnemo_status st = mnemo_tokenize(model, text.data(), text.size(), 0, nullptr, 0, &n);
        eval::Tokens out;
        if (st == MNEMO_OK || st == MNEMO_ERR_BUFFER_TOO_SMALL) {
            out.resize(n);
            st = mnemo_tokenize(model, text.data(), text.size(), 0, out.data(), out.size(), &n);
        }
        if (st != MNEMO_OK) throw std::runtime_error(std::string("tokenizing failed: ") + mnemo_last_error());
        out.resize(n);
        return out;
    };
    return tok;
}

std::string detokenize(const mnemo_model* model, const int32_t* ids, size_t n) {
    size_t len = 0;
    mnemo_status st = mnemo_detokenize(model, ids, n, nullptr, 0, &len);
    std::string out(len + 1, '\0');
    if (st == MNEMO_OK || st == MNEMO_ERR_BUFFER_TOO_SMALL) st = mnemo_detokenize(model, ids, n, out.data(), out.size(), &len);
    out.resize(st == MNEMO_OK ? len : 0);
    return out;
}

// Tokenizes the file in ~64 KiB pieces cut after a newline (exact: no piece spans one).
eval::Tokens tokenize_file(const std::string& path, const eval::Tokenizer& tok) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    if (text.empty() || text.back() != '\n') text += '\n';
    eval::Tokens out;
    for (size_t pos = 0; pos < text.size();) {
        size_t end = text.find('\n', std::min(text.size() - 1, pos + 65536));
        end = end == std::string::npos ? text.size() : end + 1;
        const eval::Tokens t = tok.encode(text.substr(pos, end - pos));
        out.insert(out.end(), t.begin(), t.end());
        pos = end;
    }
    return out;
}

class SessionPredictor : public eval::Predictor {
public:
    explicit SessionPredictor(mnemo_session* s) : s_(s) {}
    bool feed(const int32_t* tokens, size_t n) override {
        const double t0 = now_seconds();
        const bool ok = mnemo_session_feed(s_, tokens, n) == MNEMO_OK;
        seconds += now_seconds() - t0;
        fed += n;
        return ok;
    }
    int32_t argmax() override {
        const float* logits = nullptr;
        int32_t n = 0;
        if (mnemo_session_logits(s_, &logits, &n) != MNEMO_OK || n <= 0) throw std::runtime_error("no logits");
        return static_cast<int32_t>(std::max_element(logits, logits + n) - logits);  // the first maximum, as numpy
    }
    double seconds = 0;
    uint64_t fed = 0;

private:
    mnemo_session* s_;
};

struct LengthResult {
    int64_t length = 0;
    bool skipped = false;
    std::string reason;
    uint64_t state_bytes = 0;
    bool bounded = false;
    std::map<std::string, double> accuracy;
    std::map<std::string, double> token_accuracy;  // answer tokens that were the argmax
    double seconds = 0;
    uint64_t tokens = 0;
};

std::string fmt(const char* f, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}

}  // namespace

int cmd_eval(int argc, char** argv) {
    Args args(argc, argv, 2);
    if (args.flag("--help") || args.flag("-h")) { std::fputs(kHelp, stdout); return kExitOk; }
    std::string model_path, suites_s, lengths_s = "1K,2K,4K,8K,16K,32K,64K", samples_s = "8", seed_s = "0", pairs_s = "16",
                                      haystack, backend_s = "auto", threads_s = "0", chunk_s = "auto", max_mem_s, max_seconds_s;
    args.option("-m", "--model", &model_path);
    args.option("--suites", &suites_s);
    args.option("--lengths", &lengths_s);
    args.option("--samples", &samples_s);
    args.option("--seed", &seed_s);
    args.option("--mqar-pairs", &pairs_s);
    args.option("--haystack", &haystack);
    args.option("--backend", &backend_s);
    args.option("--threads", &threads_s);
    args.option("--chunk", &chunk_s);
    args.option("--max-memory", &max_mem_s);
    args.option("--max-seconds", &max_seconds_s);
    const bool as_json = args.flag("--json");
    const bool quiet = args.flag("--quiet");
    const bool show = args.flag("--show");
    if (args.missing_value()) return usage_error("eval", "option " + args.missing_value_name() + " needs a value");
    const std::string bad = args.leftover_option();
    if (!bad.empty()) return usage_error("eval", "unknown option '" + bad + "'");
    const auto pos = args.positionals();
    const size_t allowed = model_path.empty() ? 1 : 0;
    if (pos.size() > allowed) return usage_error("eval", "unexpected argument '" + pos[allowed] + "'");
    if (model_path.empty() && !pos.empty()) model_path = pos[0];
    if (model_path.empty()) return usage_error("eval", "give the model: mnemo eval MODEL.gguf");

    std::vector<std::string> suites;
    for (const auto& s : split(suites_s.empty() ? "" : suites_s, ',')) {
        if (s.empty()) continue;
        if (!eval::is_task(s))
            return usage_error("eval", "unknown suite '" + s +
                                           "' (suites: niah-single-repeat, niah-single, niah-single-uuid, niah-multikey, mqar, passkey)");
        if (std::find(suites.begin(), suites.end(), s) == suites.end()) suites.push_back(s);
    }
    if (suites.empty()) suites = eval::task_names();
    std::vector<int64_t> lengths;
    for (const auto& l : split(lengths_s, ',')) {
        int64_t n = 0;
        if (!parse_size(l, &n) || n < 16 || n > (int64_t{1} << 32))
            return usage_error("eval", "--lengths needs token counts like 1K,2K,4K or 512 (got '" + l + "')");
        lengths.push_back(n);
    }
    int samples = 0;
    if (!parse_number(samples_s, &samples) || samples < 1) return usage_error("eval", "--samples needs a count >= 1");
    double max_seconds = -1;  // < 0: no time limit
    if (!max_seconds_s.empty() && (!parse_number(max_seconds_s, &max_seconds) || !(max_seconds >= 0)))
        return usage_error("eval", "--max-seconds needs a number of seconds >= 0 (got '" + max_seconds_s + "')");
    uint64_t seed = 0;
    if (!parse_number(seed_s, &seed)) return usage_error("eval", "--seed needs a non-negative integer");
    int mqar_pairs = 0;
    if (pairs_s != "auto" && (!parse_number(pairs_s, &mqar_pairs) || mqar_pairs < 1))
        return usage_error("eval", "--mqar-pairs needs a count >= 1 or 'auto'");
    mnemo_session_params sp = mnemo_session_default_params();
    if (!parse_backend(backend_s, &sp.backend)) return usage_error("eval", "--backend must be auto, cpu or cuda");
    if (!parse_number(threads_s, &sp.n_threads) || sp.n_threads < 0) return usage_error("eval", "--threads needs a count >= 0");
    if (!parse_chunk(chunk_s, &sp.chunk_tokens)) return usage_error("eval", "--chunk needs a count in [1, 65536] or auto");
    int64_t max_mem = 0;
    if (!max_mem_s.empty() && !parse_size(max_mem_s, &max_mem)) return usage_error("eval", "--max-memory needs a size like 8G");
    sp.budget_bytes = static_cast<uint64_t>(max_mem);

    std::error_code ec;
    if (!fs::is_regular_file(model_path, ec))
        return usage_error("eval", "cannot open the model '" + model_path + "': no such file");
    if (haystack.empty()) {
        haystack = find_haystack(argv[0]);
        if (haystack.empty())
            return usage_error("eval", "cannot find the held-out haystack models/eval/haystack.txt: run from the repository "
                                       "root or pass --haystack FILE");
    } else if (!fs::is_regular_file(haystack, ec)) {
        return usage_error("eval", "cannot open the haystack '" + haystack + "': no such file");
    }

    mnemo_model* model = nullptr;
    if (mnemo_model_load(model_path.c_str(), nullptr, &model) != MNEMO_OK) return report_failure("eval", "cannot load the model");
    struct ModelGuard {
        mnemo_model* m;
        ~ModelGuard() { mnemo_model_free(m); }
    } guard{model};
    mnemo_model_info info{};
    info.struct_size = sizeof info;
    if (mnemo_model_get_info(model, &info) != MNEMO_OK) return report_failure("eval", "cannot read the model's metadata");
    {
        size_t n = 0;
        const mnemo_status st = mnemo_tokenize(model, "\n", 1, 0, nullptr, 0, &n);
        if (st != MNEMO_OK && st != MNEMO_ERR_BUFFER_TOO_SMALL)
            return report_failure("eval", "the model has no usable tokenizer (convert it with `mnemo convert HF_DIR OUT.gguf "
                                          "--tokenizer models/tokenizer/mnemo-8k.model`)");
    }
    if (info.bos_token_id < 0) return report_failure("eval", "the model has no BOS token (the samples start with BOS)");

    // Every sample is built before any is run, so a bad length or tokenizer fails at once.
    const eval::Tokenizer tok = model_tokenizer(model, info.bos_token_id);
    std::map<int64_t, std::map<std::string, std::vector<eval::Sample>>> built;
    size_t hay_tokens = 0;
    try {
        const eval::Tokens nl = tok.encode("\n");
        if (nl.size() != 1) return report_failure("eval", "the model's tokenizer does not encode a newline as one token");
        const eval::TextHaystack hay(tokenize_file(haystack, tok), nl[0]);
        hay_tokens = hay.size();
        for (int64_t L : lengths)
            for (const auto& suite : suites)
                for (int i = 0; i < samples; ++i)
                    built[L][suite].push_back(eval::eval_sample(suite, seed, L, i, samples, tok, &hay, mqar_pairs));
    } catch (const std::invalid_argument& e) {
        return usage_error("eval", std::string(e.what()) + "; choose larger --lengths or drop that suite");
    } catch (const std::exception& e) {
        return report_failure("eval", std::string("cannot build the samples: ") + e.what());
    }
    if (show) {
        for (const auto& suite : suites) {
            const eval::Sample& s = built[lengths.front()][suite].front();
            std::printf("==== %s, %lld tokens, seed %llu\n", suite.c_str(), static_cast<long long>(lengths.front()),
                        static_cast<unsigned long long>(seed));
            int64_t at = 1;
            auto piece = [&](int64_t from, int64_t to) { return detokenize(model, s.ids.data() + from, static_cast<size_t>(to - from)); };
            for (const auto& [a, b] : s.answers) {
                std::printf("%s[[%s]]", piece(at, a).c_str(), piece(a, b).c_str());
                at = b;
            }
            std::printf("%s\n", piece(at, static_cast<int64_t>(s.ids.size())).c_str());
        }
        return kExitOk;
    }
    if (!quiet)
        std::fprintf(stderr, "mnemo eval: %s, %zu suites x %zu lengths x %d samples; haystack %s (%zu tokens)\n",
                     model_path.c_str(), suites.size(), lengths.size(), samples, haystack.c_str(), hay_tokens);

    // --max-seconds: checked before each sample, so a run ends at most one sample late.
    const auto eval_start = std::chrono::steady_clock::now();
    const auto out_of_time = [&] {
        return max_seconds >= 0 &&
               std::chrono::duration<double>(std::chrono::steady_clock::now() - eval_start).count() >= max_seconds;
    };
    const std::string time_reason = "time limit: --max-seconds " + max_seconds_s + " reached";
    std::vector<LengthResult> results;
    const auto skip_length = [&](LengthResult r, const std::string& reason) {
        r.skipped = true;
        r.reason = reason;
        if (!quiet) std::fprintf(stderr, "  %s: skipped: %s\n", context_label(r.length).c_str(), reason.c_str());
        results.push_back(r);
    };
    for (int64_t L : lengths) {
        LengthResult r;
        r.length = L;
        if (out_of_time()) {
            skip_length(r, time_reason + " before this length");
            continue;
        }
        mnemo_session_params p = sp;
        if (!info.bounded) p.max_context = L;  // unbounded mixers need a limit; bounded ones stay unlimited
        mnemo_memory_plan plan{};
        plan.struct_size = sizeof plan;
        mnemo_session* session = nullptr;
        if (mnemo_memory_plan_get(model, &p, &plan) != MNEMO_OK || mnemo_session_create(model, &p, &session) != MNEMO_OK) {
            const std::string err = mnemo_last_error();
            skip_length(r, err.empty() ? "cannot create the session" : err);
            continue;
        }
        r.state_bytes = plan.state_bytes;
        r.bounded = plan.bounded != 0;
        SessionPredictor pred(session);
        bool failed = false;
        size_t suites_done = 0;
        for (const auto& suite : suites) {
            double sum = 0;
            int64_t tokens_right = 0, answer_tokens = 0;
            const auto& cell = built[L][suite];
            for (size_t i = 0; i < cell.size() && !failed; ++i) {
                if (out_of_time()) {
                    failed = true;
                    r.reason = time_reason + " after " + std::to_string(suites_done) + " of " + std::to_string(suites.size()) +
                               " suites at this length";
                    break;
                }
                const double t0 = pred.seconds;
                const uint64_t n0 = pred.fed;
                std::vector<bool> ok;
                int64_t right = 0, n_answer = 0;
                if (mnemo_session_reset(session) != MNEMO_OK) failed = true;
                try {
                    if (!failed) ok = eval::score_sample(cell[i], pred, &right);
                    for (const auto& [a, b] : cell[i].answers) n_answer += b - a;
                    tokens_right += right;
                    answer_tokens += n_answer;
                } catch (const std::exception& e) {
                    failed = true;
                    r.reason = std::string(e.what()) + ": " + mnemo_last_error();
                }
                if (failed) break;
                const double acc = static_cast<double>(std::count(ok.begin(), ok.end(), true)) / static_cast<double>(ok.size());
                sum += acc;
                if (!quiet) {
                    const double dt = pred.seconds - t0;
                    std::fprintf(stderr, "  %-18s %5s  sample %d/%d  acc %.2f  answer tokens %lld/%lld  %llu tokens  %.0f tok/s\n",
                                 suite.c_str(), context_label(L).c_str(), static_cast<int>(i) + 1, samples, acc,
                                 static_cast<long long>(right), static_cast<long long>(n_answer),
                                 static_cast<unsigned long long>(pred.fed - n0), dt > 0 ? static_cast<double>(pred.fed - n0) / dt : 0.0);
                }
            }
            if (failed) break;
            r.accuracy[suite] = sum / static_cast<double>(cell.size());
            r.token_accuracy[suite] = answer_tokens > 0 ? static_cast<double>(tokens_right) / static_cast<double>(answer_tokens) : 0.0;
            ++suites_done;
        }
        mnemo_session_free(session);
        r.seconds = pred.seconds;
        r.tokens = pred.fed;
        if (failed) {
            r.skipped = true;
            if (r.reason.empty()) r.reason = std::string("session reset failed: ") + mnemo_last_error();
            if (!quiet) std::fprintf(stderr, "  %s: stopped: %s\n", context_label(L).c_str(), r.reason.c_str());
        }
        results.push_back(r);
    }

    double total_s = 0;
    uint64_t total_tokens = 0;
    for (const auto& r : results) {
        total_s += r.seconds;
        total_tokens += r.tokens;
    }
    const double tps = total_s > 0 ? static_cast<double>(total_tokens) / total_s : 0.0;
    if (as_json) {
        json j = {{"model", model_path}, {"backend", backend_s}, {"seed", seed}, {"samples", samples},
                  {"suites", suites},    {"haystack", haystack}, {"mqar_pairs", pairs_s == "auto" ? json("auto") : json(mqar_pairs)},
                  {"lengths", lengths},  {"tokens_per_s", tps},  {"tokens", total_tokens}, {"seconds", total_s}};
        json state = json::object(), acc = json::object(), tok_acc = json::object(), skipped = json::object(), tps_by = json::object();
        for (const auto& suite : suites) acc[suite] = tok_acc[suite] = json::object();
        for (const auto& r : results) {
            const std::string key = std::to_string(r.length);
            if (r.skipped) skipped[key] = r.reason;
            if (r.state_bytes) state[key] = r.state_bytes;
            if (r.seconds > 0) tps_by[key] = static_cast<double>(r.tokens) / r.seconds;
            auto value = [](const std::map<std::string, double>& m, const std::string& suite) {
                const auto it = m.find(suite);
                return it == m.end() ? json(nullptr) : json(it->second);
            };
            for (const auto& suite : suites) {
                acc[suite][key] = value(r.accuracy, suite);
                tok_acc[suite][key] = value(r.token_accuracy, suite);
            }
        }
        j["state_bytes"] = state;
        j["accuracy"] = acc;
        j["token_accuracy"] = tok_acc;
        j["skipped"] = skipped;
        j["tokens_per_s_by_length"] = tps_by;
        std::printf("%s\n", j.dump(2).c_str());
        return kExitOk;
    }
    // One row: a label, then a cell per length.
    auto row = [&](const std::string& label, const std::function<std::string(const LengthResult&)>& cell) {
        std::printf("%-20s", label.c_str());
        for (const auto& r : results) std::printf(" %10s", cell(r).c_str());
        std::printf("\n");
    };
    auto of = [](const std::map<std::string, double>& m, const std::string& suite) {
        const auto it = m.find(suite);
        return it == m.end() ? std::string("-") : fmt("%.3f", it->second);
    };
    row("suite", [](const LengthResult& r) { return context_label(r.length); });
    for (const auto& suite : suites) row(suite, [&](const LengthResult& r) { return of(r.accuracy, suite); });
    std::printf("answer tokens right (per token, teacher-forced):\n");
    for (const auto& suite : suites) row(suite, [&](const LengthResult& r) { return of(r.token_accuracy, suite); });
    row("state bytes", [](const LengthResult& r) { return r.state_bytes ? std::to_string(r.state_bytes) : std::string("-"); });
    row("state", [](const LengthResult& r) { return r.state_bytes ? human_bytes(r.state_bytes) : std::string("-"); });
    row("tokens/s", [](const LengthResult& r) {
        return r.seconds > 0 ? fmt("%.0f", static_cast<double>(r.tokens) / r.seconds) : std::string("-");
    });
    for (const auto& r : results)
        if (r.skipped) std::printf("%s: skipped: %s\n", context_label(r.length).c_str(), r.reason.c_str());
    std::printf("seed %llu, %d samples per cell, backend %s, %.0f tokens/s overall\n", static_cast<unsigned long long>(seed), samples,
                backend_s.c_str(), tps);
    return kExitOk;
}

}  // namespace mnemo::cli
