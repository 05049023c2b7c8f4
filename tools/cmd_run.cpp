// mnemo run: stream a document through a model with a progress bar, then generate.
// Uses only the public C API, as an embedding application would.
#include "cli_common.h"

#include "mnemo/mnemo.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace mnemo::cli {
namespace {

const char* kHelp =
    "Usage: mnemo run -m MODEL.gguf (-p TEXT | -f FILE) [options]\n\n"
    "Feeds the text (prefill, with a progress bar showing tokens/s and state bytes), then\n"
    "generates a continuation. With a laLTE model the state stays constant however long\n"
    "the document is.\n\n"
    "Options:\n"
    "  -m, --model PATH        GGUF model (required)\n"
    "  -p, --prompt TEXT       text to feed\n"
    "  -f, --file PATH         file whose text to feed\n"
    "  -n, --max-tokens N      tokens to generate (default 64; 0 = only feed)\n"
    "      --policy P          eviction policy for attn/swa layers: none, streaming, h2o, tova, snapkv\n"
    "      --budget N          tokens kept per KV head by the policy (beyond the sink)\n"
    "      --max-context N     hard context limit (needed by attn layers without a policy)\n"
    "      --memory-budget B   refuse to start if the session would need more than B bytes\n"
    "      --threads N         worker threads (default: all cores)\n"
    "      --chunk N           prefill chunk in tokens (default auto: 256 on the CPU, 4096 on CUDA)\n"
    "      --backend B         auto (default: CUDA when a device can run the model), cpu or cuda\n"
    "      --temp T            sampling temperature (default 0 = greedy)\n"
    "      --top-k K, --top-p P, --repeat-penalty R, --seed S\n"
    "      --bos               prepend the model's BOS token\n"
    "      --json              print one JSON object with the text and the measurements\n"
    "      --quiet             no progress bar\n"
    "  -h, --help              this text\n";

struct StreamState {
    bool json;
    std::string text;
};

int on_token(int32_t, const char* piece, size_t len, void* user) {
    auto* st = static_cast<StreamState*>(user);
    st->text.append(piece, len);
    if (!st->json) {
        std::fwrite(piece, 1, len, stdout);
        std::fflush(stdout);
    }
    return 0;
}

}  // namespace

int cmd_run(int argc, char** argv) {
    Args args(argc, argv, 2);
    if (args.flag("--help") || args.flag("-h")) { std::fputs(kHelp, stdout); return kExitOk; }
    std::string model_path, prompt, file, max_tokens_s = "64", policy_s = "none", budget_s = "0", max_ctx_s = "0", mem_s = "0",
                                          threads_s = "0", chunk_s = "auto", temp_s = "0", topk_s = "0", topp_s = "1", rep_s = "1",
                                          seed_s = "0";
    const bool have_prompt = args.option("-p", "--prompt", &prompt);
    const bool have_file = args.option("-f", "--file", &file);
    args.option("-m", "--model", &model_path);
    args.option("-n", "--max-tokens", &max_tokens_s);
    args.option("--policy", &policy_s);
    args.option("--budget", &budget_s);
    args.option("--max-context", &max_ctx_s);
    args.option("--memory-budget", &mem_s);
    args.option("--threads", &threads_s);
    args.option("--chunk", &chunk_s);
    std::string backend_s = "auto";
    args.option("--backend", &backend_s);
    args.option("--temp", &temp_s);
    args.option("--top-k", &topk_s);
    args.option("--top-p", &topp_s);
    args.option("--repeat-penalty", &rep_s);
    args.option("--seed", &seed_s);
    const bool bos = args.flag("--bos");
    const bool as_json = args.flag("--json");
    const bool quiet = args.flag("--quiet") || as_json;
    if (args.missing_value()) return usage_error("run", "option " + args.missing_value_name() + " needs a value");
    const std::string bad = args.leftover_option();
    if (!bad.empty()) return usage_error("run", "unknown option '" + bad + "'");
    if (!args.positionals().empty()) return usage_error("run", "unexpected argument '" + args.positionals()[0] + "'");
    if (model_path.empty()) return usage_error("run", "-m MODEL.gguf is required");
    if (have_prompt == have_file) return usage_error("run", "give exactly one of -p TEXT or -f FILE");

    mnemo_session_params sp = mnemo_session_default_params();
    mnemo_generate_params gp = mnemo_generate_default_params();
    int64_t max_tokens = 0;
    uint64_t mem_budget = 0;
    if (!parse_number(max_tokens_s, &max_tokens) || max_tokens < 0) return usage_error("run", "-n needs a count >= 0");
    if (!parse_policy(policy_s, &sp.policy)) return usage_error("run", "--policy must be none, streaming, h2o, tova or snapkv");
    if (!parse_number(budget_s, &sp.policy_budget) || sp.policy_budget < 0) return usage_error("run", "--budget needs a count >= 0");
    if (!parse_number(max_ctx_s, &sp.max_context) || sp.max_context < 0) return usage_error("run", "--max-context needs a count >= 0");
    if (!parse_number(mem_s, &mem_budget)) return usage_error("run", "--memory-budget needs a byte count");
    sp.budget_bytes = mem_budget;
    if (!parse_number(threads_s, &sp.n_threads) || sp.n_threads < 0) return usage_error("run", "--threads needs a count >= 0");
    if (!parse_chunk(chunk_s, &sp.chunk_tokens)) return usage_error("run", "--chunk needs a count in [1, 65536] or auto");
    if (!parse_backend(backend_s, &sp.backend)) return usage_error("run", "--backend must be auto, cpu or cuda");
    if (!parse_number(temp_s, &gp.sampler.temperature) || !parse_number(topk_s, &gp.sampler.top_k) ||
        !parse_number(topp_s, &gp.sampler.top_p) || !parse_number(rep_s, &gp.sampler.repetition_penalty) ||
        !parse_number(seed_s, &gp.sampler.seed))
        return usage_error("run", "sampling options need numbers (--temp, --top-k, --top-p, --repeat-penalty, --seed)");
    if (sp.policy != MNEMO_POLICY_NONE && sp.policy_budget == 0) return usage_error("run", "--policy needs --budget N");

    mnemo_model* model = nullptr;
    if (mnemo_model_load(model_path.c_str(), nullptr, &model) != MNEMO_OK) return report_failure("run", "cannot load the model");

    // The document is read, tokenized and fed in pieces of ~64 KiB cut at a line or
    // word boundary, so the process's memory does not grow with the document either.
    std::ifstream in;
    uint64_t total_bytes = prompt.size();
    if (have_file) {
        in.open(file, std::ios::binary | std::ios::ate);
        if (!in) {
            mnemo_model_free(model);
            return usage_error("run", "cannot open '" + file + "'");
        }
        total_bytes = static_cast<uint64_t>(in.tellg());
        in.seekg(0);
    }
    std::string pending = have_file ? std::string() : prompt;
    auto next_piece = [&](std::string* piece) -> bool {
        constexpr size_t kPiece = 64 * 1024;
        if (have_file) {
            std::string buf(kPiece, '\0');
            in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
            buf.resize(static_cast<size_t>(in.gcount()));
            pending += buf;
        }
        if (pending.empty()) return false;
        size_t cut = pending.size();
        if (have_file && in.good() && pending.size() > 1) {
            const size_t nl = pending.find_last_of('\n');
            const size_t space = pending.find_last_of(' ');
            cut = nl != std::string::npos ? nl + 1 : (space != std::string::npos ? space + 1 : pending.size());
        }
        *piece = pending.substr(0, cut);
        pending.erase(0, cut);
        return true;
    };
    std::vector<int32_t> tokens;
    auto tokenize = [&](const std::string& text, bool first) -> mnemo_status {
        size_t n = 0;
        const int add_bos = first && bos ? 1 : 0;
        mnemo_status t = mnemo_tokenize(model, text.data(), text.size(), add_bos, nullptr, 0, &n);
        if (t != MNEMO_OK && t != MNEMO_ERR_BUFFER_TOO_SMALL) return t;
        tokens.resize(n);
        return mnemo_tokenize(model, text.data(), text.size(), add_bos, tokens.data(), tokens.size(), &n);
    };

    mnemo_memory_plan plan{};
    plan.struct_size = sizeof plan;
    if (mnemo_memory_plan_get(model, &sp, &plan) != MNEMO_OK) {
        const int rc = report_failure("run", "cannot plan the session");
        mnemo_model_free(model);
        return rc;
    }
    mnemo_session* session = nullptr;
    if (mnemo_session_create(model, &sp, &session) != MNEMO_OK) {
        const int rc = report_failure("run", "cannot create the session");
        mnemo_model_free(model);
        return rc;
    }

    // What AUTO resolved to (cpu or cuda), for the summary line and the JSON.
    mnemo_backend resolved = MNEMO_BACKEND_CPU;
    mnemo_session_backend(session, &resolved);
    const char* backend_name = resolved == MNEMO_BACKEND_CUDA ? "cuda" : "cpu";

    Progress bar("reading", total_bytes);
    const double t0 = now_seconds();
    uint64_t bytes_done = 0;
    size_t n_fed = 0;
    std::string piece;
    mnemo_status st = MNEMO_OK;
    for (bool first = true; st == MNEMO_OK && next_piece(&piece); first = false) {
        st = tokenize(piece, first);
        if (st == MNEMO_OK && !tokens.empty()) st = mnemo_session_feed(session, tokens.data(), tokens.size());
        n_fed += tokens.size();
        bytes_done += piece.size();
        if (!quiet) {
            char detail[160];
            const double el = now_seconds() - t0;
            std::snprintf(detail, sizeof detail, "%zu tokens  %.0f tok/s  state %s", n_fed, el > 0 ? static_cast<double>(n_fed) / el : 0.0,
                          human_bytes(plan.state_bytes).c_str());
            bar.update(bytes_done, detail);
        }
    }
    const double prefill_s = now_seconds() - t0;
    if (st == MNEMO_OK && n_fed == 0) {
        mnemo_session_free(session);
        mnemo_model_free(model);
        return usage_error("run", "the input is empty: nothing to feed");
    }
    if (st != MNEMO_OK) {
        const int rc = report_failure("run", "reading the input failed");
        mnemo_session_free(session);
        mnemo_model_free(model);
        return rc;
    }
    if (!quiet) bar.finish();

    StreamState stream{as_json, ""};
    gp.max_tokens = static_cast<int32_t>(max_tokens);
    gp.on_token = on_token;
    gp.user_data = &stream;
    std::vector<int32_t> out(static_cast<size_t>(max_tokens));
    size_t n_out = 0;
    const double t1 = now_seconds();
    if (max_tokens > 0) st = mnemo_session_generate(session, &gp, out.data(), out.size(), &n_out);
    const double decode_s = now_seconds() - t1;
    if (!as_json && max_tokens > 0) std::printf("\n");
    if (st != MNEMO_OK) {
        const int rc = report_failure("run", "generation failed");
        mnemo_session_free(session);
        mnemo_model_free(model);
        return rc;
    }
    const double prefill_tps = prefill_s > 0 ? static_cast<double>(n_fed) / prefill_s : 0.0;
    const double decode_ms = n_out > 0 ? decode_s * 1000.0 / static_cast<double>(n_out) : 0.0;
    if (as_json) {
        nlohmann::json j = {{"model", model_path},
                            {"prompt_tokens", n_fed},
                            {"generated_tokens", n_out},
                            {"text", stream.text},
                            {"prefill_seconds", prefill_s},
                            {"prefill_tokens_per_second", prefill_tps},
                            {"decode_ms_per_token", decode_ms},
                            {"plan_total_bytes", plan.total_bytes},
                            {"plan_state_bytes", plan.state_bytes},
                            {"bounded", plan.bounded != 0},
                            {"peak_rss_bytes", peak_rss_bytes()},
                            {"backend", backend_name}};
        std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    } else {
        std::fprintf(stderr, "[%s] prompt %zu tokens: %.0f tok/s prefill; %zu tokens generated at %.2f ms/token; state %s (%s), peak RSS %s\n",
                     backend_name, n_fed, prefill_tps, n_out, decode_ms, human_bytes(plan.state_bytes).c_str(),
                     plan.bounded ? "bounded" : "grows with context", human_bytes(peak_rss_bytes()).c_str());
    }
    mnemo_session_free(session);
    mnemo_model_free(model);
    return kExitOk;
}

}  // namespace mnemo::cli
