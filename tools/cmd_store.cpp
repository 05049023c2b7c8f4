// mnemo ingest / docs / ask: offline long-document Q&A over a SQLite store. Uses the
// public C API only (mnemo.h, "store and snapshots").
#include "cli_common.h"

#include "mnemo/mnemo.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

namespace mnemo::cli {
namespace {

const char* kIngestHelp =
    "Usage: mnemo ingest --db DB FILE [--title T] [--model M] [options]\n\n"
    "Reads a UTF-8 text FILE ('-' for stdin) through the model once and keeps the\n"
    "resulting bounded state as a snapshot in the SQLite store DB (created if missing).\n"
    "Questions are then answered from the snapshot with 'mnemo ask', without reading the\n"
    "document again. An interrupted ingest (Ctrl-C, crash, kill) resumes from its last\n"
    "checkpoint when run again.\n\n"
    "Options:\n"
    "  --db DB                the store (required)\n"
    "  --title T              document title, unique in the store (default: FILE's name)\n"
    "  --model M              GGUF model (default: $MNEMO_MODEL, else the store's last model,\n"
    "                         else the bundled model: models/default.gguf or the first\n"
    "                         models/**/*.gguf, also looked for in share/mnemo/models)\n"
    "  --threads N            CPU threads (default: all cores)\n"
    "  --max-context N        token limit for models whose state grows (attn, nsa)\n"
    "  --checkpoint-every N   save a resumable checkpoint every N tokens (default 65536; 0: never)\n"
    "  --no-resume            start over even if a checkpoint exists\n"
    "  --reingest             ingest again a document that is already ingested\n"
    "  --record-evictions     store every eviction event (for the studio's eviction log)\n"
    "  --help                 this text\n";

const char* kDocsHelp =
    "Usage: mnemo docs --db DB [--json] [--delete DOC]\n\n"
    "Lists the documents of a store: size, tokens, snapshot state bytes, the model they\n"
    "were ingested with and the questions asked.\n\n"
    "Options:\n"
    "  --db DB          the store (required)\n"
    "  --json           machine-readable output on stdout\n"
    "  --delete DOC     delete a document (id or title) with its snapshots and questions\n"
    "  --help           this text\n";

const char* kAskHelp =
    "Usage: mnemo ask --db DB DOC \"QUESTION\" [--model M] [options]\n\n"
    "Answers a question about an ingested document: restores its snapshot, feeds the\n"
    "question and generates (greedy unless --temperature). DOC is an id or a title.\n"
    "The answer goes to stdout, timings to stderr; the question and answer are stored.\n\n"
    "Options:\n"
    "  --db DB            the store (required)\n"
    "  --model M          GGUF model (default: the model the document was ingested with)\n"
    "  --max-tokens N     answer length limit (default 128)\n"
    "  --temperature T    sampling temperature (default 0: greedy, deterministic)\n"
    "  --seed S           random seed for --temperature\n"
    "  --repetition-penalty P  >1 penalises recently seen tokens (default 1: off)\n"
    "  --template T       prompt after the document; {question} is replaced\n"
    "                     (default \"\\n\\nQuestion: {question}\\nAnswer:\")\n"
    "  --threads N        CPU threads (default: all cores)\n"
    "  --stream           print tokens as they come (default when stdout is a terminal)\n"
    "  --no-stream        print the answer once complete\n"
    "  --no-record        do not store the question and answer\n"
    "  --help             this text\n";

volatile std::sig_atomic_t g_interrupted = 0;
void on_sigint(int) { g_interrupted = 1; }

bool parse_int(const std::string& s, long long lo, long long hi, long long* out) {
    long long v = 0;
    if (!parse_number(s, &v) || v < lo || v > hi) return false;
    *out = v;
    return true;
}

bool read_file(const std::string& path, std::string* out) {
    if (path == "-") {
        std::ostringstream ss;
        ss << std::cin.rdbuf();
        *out = ss.str();
        return true;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) return false;
    *out = ss.str();
    return true;
}

std::string hex(uint64_t v) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
}

std::string exe_dir() {
    char buf[PATH_MAX];
    const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return "";
    buf[n] = '\0';
    return std::filesystem::path(buf).parent_path().string();
}

// The first model in a models directory: default.gguf, else the first *.gguf below it
// (sorted by path), e.g. models/lalte-18m/lalte-18m-q8_0.gguf.
std::string model_in(const std::filesystem::path& dir) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) return "";
    if (std::filesystem::exists(dir / "default.gguf", ec)) return (dir / "default.gguf").lexically_normal().string();
    std::vector<std::string> found;
    for (auto it = std::filesystem::recursive_directory_iterator(dir, ec); !ec && it != std::filesystem::recursive_directory_iterator();
         it.increment(ec))
        if (it->is_regular_file(ec) && it->path().extension() == ".gguf") found.push_back(it->path().lexically_normal().string());
    std::sort(found.begin(), found.end());
    return found.empty() ? "" : found.front();
}

// The model to use when --model is not given: $MNEMO_MODEL, the model of the store's
// most recently ingested document, the bundled model (models/ beside the working
// directory or the build tree, or the installed share/mnemo/models).
std::string default_model(mnemo_store* store, std::string* tried) {
    if (const char* env = std::getenv("MNEMO_MODEL"); env != nullptr && *env != '\0') return env;
    if (store != nullptr) {
        size_t n = 0;
        if (mnemo_store_list_documents(store, nullptr, 0, &n) == MNEMO_ERR_BUFFER_TOO_SMALL && n > 0) {
            std::vector<mnemo_document> docs(n);
            for (auto& d : docs) d.struct_size = sizeof d;
            if (mnemo_store_list_documents(store, docs.data(), docs.size(), &n) == MNEMO_OK) {
                for (size_t i = n; i-- > 0;)
                    if (docs[i].ingested && docs[i].model_path[0] != '\0' && std::filesystem::exists(docs[i].model_path))
                        return docs[i].model_path;
            }
        }
    }
    std::vector<std::string> dirs = {"models"};
    const std::string dir = exe_dir();
    if (!dir.empty()) {
        dirs.push_back(dir + "/../share/mnemo/models");  // installed: bin/mnemo
        dirs.push_back(dir + "/../../models");           // build tree: build/tools/mnemo
    }
    for (const auto& d : dirs) {
        const std::string m = model_in(d);
        if (!m.empty()) return m;
        *tried += (tried->empty() ? "" : ", ") + d + "/";
    }
    return "";
}

mnemo_store* open_store(const char* command, const std::string& path, bool create, int* exit_code) {
    mnemo_store_params sp = mnemo_store_default_params();
    sp.create = create ? 1 : 0;
    mnemo_store* store = nullptr;
    if (mnemo_store_open(path.c_str(), &sp, &store) != MNEMO_OK) {
        *exit_code = report_failure(command, "cannot open the store '" + path + "'");
        return nullptr;
    }
    return store;
}

struct StoreCloser {
    mnemo_store* s;
    ~StoreCloser() { mnemo_store_close(s); }
};
struct ModelFree {
    mnemo_model* m;
    ~ModelFree() { mnemo_model_free(m); }
};
struct SessionFree {
    mnemo_session* s;
    ~SessionFree() { mnemo_session_free(s); }
};

// Progress bar for the ingest: created on the first callback, once the token count is known.
struct IngestProgress {
    std::unique_ptr<Progress> bar;
    int64_t start = 0;
    std::chrono::steady_clock::time_point t0;
    static int callback(int64_t done, int64_t total, uint64_t state_bytes, void* user) {
        auto* self = static_cast<IngestProgress*>(user);
        if (!self->bar) {
            self->bar = std::make_unique<Progress>("ingesting", static_cast<uint64_t>(total));
            self->start = done;
            self->t0 = std::chrono::steady_clock::now();
        }
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - self->t0).count();
        char detail[160];
        std::snprintf(detail, sizeof detail, "%lld/%lld tokens, %.0f tok/s, state %s", static_cast<long long>(done),
                      static_cast<long long>(total), s > 0 ? static_cast<double>(done - self->start) / s : 0.0,
                      human_bytes(state_bytes).c_str());
        self->bar->update(static_cast<uint64_t>(done), detail);
        return g_interrupted ? 1 : 0;
    }
};

}  // namespace

int cmd_ingest(int argc, char** argv) {
    Args args(argc, argv, 2);
    if (args.flag("--help") || args.flag("-h")) { std::fputs(kIngestHelp, stdout); return kExitOk; }
    std::string db, title, model_path, threads = "0", max_context = "0", checkpoint = "65536";
    args.option("--db", &db);
    args.option("--title", &title);
    args.option("--model", &model_path);
    args.option("--threads", &threads);
    args.option("--max-context", &max_context);
    args.option("--checkpoint-every", &checkpoint);
    const bool no_resume = args.flag("--no-resume");
    const bool reingest = args.flag("--reingest");
    const bool record = args.flag("--record-evictions");
    if (args.missing_value()) return usage_error("ingest", "option " + args.missing_value_name() + " needs a value");
    const std::string bad = args.leftover_option();
    if (!bad.empty()) return usage_error("ingest", "unknown option '" + bad + "'");
    const auto pos = args.positionals();
    if (db.empty()) return usage_error("ingest", "--db DB is required");
    if (pos.size() != 1) return usage_error("ingest", "expected exactly one FILE (or '-' for stdin)");
    long long n_threads = 0, max_ctx = 0, every = 0;
    if (!parse_int(threads, 0, 1024, &n_threads)) return usage_error("ingest", "--threads must be an integer in [0, 1024]");
    if (!parse_int(max_context, 0, LLONG_MAX, &max_ctx)) return usage_error("ingest", "--max-context must be a non-negative integer");
    if (!parse_int(checkpoint, 0, LLONG_MAX, &every)) return usage_error("ingest", "--checkpoint-every must be a non-negative integer");

    std::string text;
    if (!read_file(pos[0], &text)) {
        std::fprintf(stderr, "mnemo ingest: error: cannot read '%s': %s\n", pos[0].c_str(), std::strerror(errno));
        return kExitFailure;
    }
    if (title.empty()) title = pos[0] == "-" ? "stdin" : std::filesystem::path(pos[0]).filename().string();

    int code = kExitOk;
    mnemo_store* store = open_store("ingest", db, true, &code);
    if (store == nullptr) return code;
    StoreCloser close_store{store};

    if (model_path.empty()) {
        std::string tried;
        model_path = default_model(store, &tried);
        if (model_path.empty())
            return usage_error("ingest", "no model given and no default model found (tried $MNEMO_MODEL, " + tried + "); pass --model M");
    }
    mnemo_model* model = nullptr;
    if (mnemo_model_load(model_path.c_str(), nullptr, &model) != MNEMO_OK)
        return report_failure("ingest", "cannot load the model '" + model_path + "'");
    ModelFree free_model{model};
    uint64_t hash = 0;
    if (mnemo_model_hash(model, &hash) != MNEMO_OK) return report_failure("ingest", "cannot hash the model");

    int64_t id = 0;
    const mnemo_status added = mnemo_store_add_document(store, title.c_str(), text.data(), text.size(), &id);
    const std::string add_error = mnemo_last_error();
    if (added == MNEMO_ERR_STATE && id > 0) {
        // Same text (or same title) already stored: resume or refuse.
        std::vector<char> stored;
        size_t len = 0;
        mnemo_store_document_text(store, id, nullptr, 0, &len);
        stored.resize(len + 1);
        if (mnemo_store_document_text(store, id, stored.data(), stored.size(), &len) != MNEMO_OK)
            return report_failure("ingest", "cannot read document #" + std::to_string(id));
        if (len != text.size() || std::memcmp(stored.data(), text.data(), len) != 0) {  // the title belongs to another text
            std::fprintf(stderr, "mnemo ingest: error: cannot add '%s': %s (pass --title)\n", pos[0].c_str(), add_error.c_str());
            return kExitFailure;
        }
        mnemo_document doc;
        doc.struct_size = sizeof doc;
        if (mnemo_store_get_document(store, id, &doc) != MNEMO_OK) return report_failure("ingest", "cannot read document #" + std::to_string(id));
        if (doc.ingested && doc.model_hash == hash && !reingest) {
            std::fprintf(stderr,
                         "mnemo ingest: error: '%s' is already ingested as document #%lld '%s' (%lld tokens, state %s); "
                         "ask with: mnemo ask --db %s %lld \"QUESTION\" (or pass --reingest)\n",
                         pos[0].c_str(), static_cast<long long>(id), doc.title, static_cast<long long>(doc.n_tokens),
                         human_bytes(doc.state_bytes).c_str(), db.c_str(), static_cast<long long>(id));
            return kExitFailure;
        }
        std::fprintf(stderr, "document #%lld '%s' is already stored; %s\n", static_cast<long long>(id), doc.title,
                     doc.checkpoint_tokens > 0 && !no_resume ? "resuming its ingest" : "ingesting it");
    } else if (added != MNEMO_OK) {
        return report_failure("ingest", "cannot add '" + pos[0] + "' to the store");
    }
    std::string().swap(text);

    mnemo_session_params sp = mnemo_session_default_params();
    sp.n_threads = static_cast<int32_t>(n_threads);
    sp.max_context = max_ctx;
    if (record) sp.backend = MNEMO_BACKEND_CPU;  // eviction events are reported by the CPU backend only
    mnemo_session* session = nullptr;
    if (mnemo_session_create(model, &sp, &session) != MNEMO_OK) return report_failure("ingest", "cannot create a session");
    SessionFree free_session{session};

    mnemo_document doc;
    doc.struct_size = sizeof doc;
    if (mnemo_store_get_document(store, id, &doc) != MNEMO_OK) return report_failure("ingest", "cannot read document #" + std::to_string(id));
    title = doc.title;
    std::fprintf(stderr, "ingesting document #%lld '%s' (%s) with %s (hash %s)\n", static_cast<long long>(id), title.c_str(),
                 human_bytes(doc.n_bytes).c_str(), model_path.c_str(), hex(hash).c_str());

    IngestProgress progress;
    mnemo_ingest_params ip = mnemo_ingest_default_params();
    const std::string abs_model = std::filesystem::absolute(model_path).lexically_normal().string();
    ip.model_path = abs_model.c_str();
    ip.checkpoint_tokens = every;
    ip.resume = no_resume ? 0 : 1;
    ip.record_evictions = record ? 1 : 0;
    ip.progress = &IngestProgress::callback;
    ip.user_data = &progress;
    auto* previous = std::signal(SIGINT, on_sigint);
    mnemo_ingest_result result;
    result.struct_size = sizeof result;
    const mnemo_status st = mnemo_store_ingest(store, session, id, &ip, &result);
    std::signal(SIGINT, previous);
    if (st == MNEMO_ERR_CANCELLED) {
        std::fprintf(stderr, "\nmnemo ingest: interrupted: %s\n", mnemo_last_error());
        return 130;
    }
    if (st != MNEMO_OK) return report_failure("ingest", "cannot ingest document #" + std::to_string(id));
    char detail[200];
    std::snprintf(detail, sizeof detail, "(%.0f tok/s)", result.tokens_per_second);
    if (progress.bar) progress.bar->finish(detail);
    std::printf("ingested document #%lld '%s': %lld tokens%s in %.2f s (%.0f tokens/s); state %s, snapshot %s (constant for bounded models)\n",
                static_cast<long long>(id), title.c_str(), static_cast<long long>(result.n_tokens),
                result.resumed_from > 0 ? (" (resumed at " + std::to_string(result.resumed_from) + ")").c_str() : "", result.seconds,
                result.tokens_per_second, human_bytes(result.state_bytes).c_str(), human_bytes(result.snapshot_bytes).c_str());
    if (record) std::printf("recorded %lld eviction events\n", static_cast<long long>(result.n_eviction_events));
    return kExitOk;
}

int cmd_docs(int argc, char** argv) {
    Args args(argc, argv, 2);
    if (args.flag("--help") || args.flag("-h")) { std::fputs(kDocsHelp, stdout); return kExitOk; }
    std::string db, del;
    args.option("--db", &db);
    const bool has_delete = args.option("--delete", &del);
    const bool as_json = args.flag("--json");
    if (args.missing_value()) return usage_error("docs", "option " + args.missing_value_name() + " needs a value");
    const std::string bad = args.leftover_option();
    if (!bad.empty()) return usage_error("docs", "unknown option '" + bad + "'");
    if (!args.positionals().empty()) return usage_error("docs", "unexpected argument '" + args.positionals()[0] + "'");
    if (db.empty()) return usage_error("docs", "--db DB is required");
    int code = kExitOk;
    mnemo_store* store = open_store("docs", db, false, &code);
    if (store == nullptr) return code;
    StoreCloser close_store{store};

    if (has_delete) {
        int64_t id = 0;
        if (mnemo_store_find_document(store, del.c_str(), &id) != MNEMO_OK) return report_failure("docs", "cannot delete '" + del + "'");
        if (mnemo_store_delete_document(store, id) != MNEMO_OK) return report_failure("docs", "cannot delete document #" + std::to_string(id));
        std::printf("deleted document #%lld\n", static_cast<long long>(id));
        return kExitOk;
    }
    size_t n = 0;
    mnemo_status st = mnemo_store_list_documents(store, nullptr, 0, &n);
    std::vector<mnemo_document> docs(n);
    for (auto& d : docs) d.struct_size = sizeof d;
    if (st == MNEMO_ERR_BUFFER_TOO_SMALL) st = mnemo_store_list_documents(store, docs.data(), docs.size(), &n);
    if (st != MNEMO_OK) return report_failure("docs", "cannot list the documents");
    if (as_json) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& d : docs) {
            out.push_back({{"id", d.id}, {"title", d.title}, {"bytes", d.n_bytes}, {"content_hash", hex(d.content_hash)},
                           {"created_at", d.created_at}, {"ingested", d.ingested != 0}, {"tokens", d.n_tokens},
                           {"state_bytes", d.state_bytes}, {"snapshot_bytes", d.snapshot_bytes}, {"ingest_seconds", d.ingest_seconds},
                           {"model_path", d.model_path}, {"model_hash", hex(d.model_hash)}, {"checkpoint_tokens", d.checkpoint_tokens},
                           {"total_tokens", d.total_tokens}, {"questions", d.n_questions}});
        }
        std::printf("%s\n", out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
        return kExitOk;
    }
    if (docs.empty()) {
        std::printf("no documents in %s; add one with: mnemo ingest --db %s FILE\n", db.c_str(), db.c_str());
        return kExitOk;
    }
    std::printf("%4s  %-28s %10s %10s %10s %9s  %s\n", "id", "title", "size", "tokens", "state", "questions", "model / status");
    for (const auto& d : docs) {
        std::string t = d.title;
        if (t.size() > 28) t = t.substr(0, 25) + "...";
        std::string status;
        if (d.ingested) status = d.model_path;
        else if (d.checkpoint_tokens > 0)
            status = "ingest interrupted at " + std::to_string(d.checkpoint_tokens) + "/" + std::to_string(d.total_tokens) +
                     " tokens (run ingest again to resume)";
        else status = "not ingested";
        std::printf("%4lld  %-28s %10s %10s %10s %9lld  %s\n", static_cast<long long>(d.id), t.c_str(), human_bytes(d.n_bytes).c_str(),
                    d.ingested ? std::to_string(d.n_tokens).c_str() : "-", d.ingested ? human_bytes(d.state_bytes).c_str() : "-",
                    static_cast<long long>(d.n_questions), status.c_str());
    }
    return kExitOk;
}

int cmd_ask(int argc, char** argv) {
    Args args(argc, argv, 2);
    if (args.flag("--help") || args.flag("-h")) { std::fputs(kAskHelp, stdout); return kExitOk; }
    std::string db, model_path, max_tokens = "128", threads = "0", tmpl, temperature = "0", seed = "0", penalty = "1";
    args.option("--db", &db);
    args.option("--model", &model_path);
    args.option("--max-tokens", &max_tokens);
    args.option("--threads", &threads);
    const bool has_template = args.option("--template", &tmpl);
    args.option("--temperature", &temperature);
    args.option("--seed", &seed);
    args.option("--repetition-penalty", &penalty);
    const bool stream_flag = args.flag("--stream");
    const bool no_stream = args.flag("--no-stream");
    const bool no_record = args.flag("--no-record");
    if (args.missing_value()) return usage_error("ask", "option " + args.missing_value_name() + " needs a value");
    const std::string bad = args.leftover_option();
    if (!bad.empty()) return usage_error("ask", "unknown option '" + bad + "'");
    const auto pos = args.positionals();
    if (db.empty()) return usage_error("ask", "--db DB is required");
    if (pos.size() != 2) return usage_error("ask", "expected DOC (id or title) and \"QUESTION\"");
    long long n_max = 0, n_threads = 0, n_seed = 0;
    if (!parse_int(max_tokens, 0, 1 << 20, &n_max)) return usage_error("ask", "--max-tokens must be an integer in [0, 1048576]");
    if (!parse_int(threads, 0, 1024, &n_threads)) return usage_error("ask", "--threads must be an integer in [0, 1024]");
    if (!parse_int(seed, 0, LLONG_MAX, &n_seed)) return usage_error("ask", "--seed must be a non-negative integer");
    char* end = nullptr;
    const float temp = std::strtof(temperature.c_str(), &end);
    if (end == nullptr || *end != '\0' || !(temp >= 0.0f)) return usage_error("ask", "--temperature must be a number >= 0");
    end = nullptr;
    const float rep = std::strtof(penalty.c_str(), &end);
    if (end == nullptr || *end != '\0' || !(rep > 0.0f)) return usage_error("ask", "--repetition-penalty must be a number > 0");
    const bool stream = stream_flag || (!no_stream && isatty(STDOUT_FILENO) != 0);

    int code = kExitOk;
    mnemo_store* store = open_store("ask", db, false, &code);
    if (store == nullptr) return code;
    StoreCloser close_store{store};
    int64_t id = 0;
    if (mnemo_store_find_document(store, pos[0].c_str(), &id) != MNEMO_OK) return report_failure("ask", "cannot find document '" + pos[0] + "'");
    mnemo_document doc;
    doc.struct_size = sizeof doc;
    if (mnemo_store_get_document(store, id, &doc) != MNEMO_OK) return report_failure("ask", "cannot read document #" + std::to_string(id));
    const std::string doc_title = doc.title;  // store-owned strings last until the next call
    if (model_path.empty()) {
        if (!doc.ingested) {
            if (doc.checkpoint_tokens > 0)
                std::fprintf(stderr, "mnemo ask: error: the ingest of document #%lld '%s' was interrupted at %lld of %lld tokens; run 'mnemo ingest' again to finish it\n",
                             static_cast<long long>(id), doc.title, static_cast<long long>(doc.checkpoint_tokens),
                             static_cast<long long>(doc.total_tokens));
            else
                std::fprintf(stderr, "mnemo ask: error: document #%lld '%s' has not been ingested; run 'mnemo ingest --db %s FILE' first\n",
                             static_cast<long long>(id), doc.title, db.c_str());
            return kExitFailure;
        }
        model_path = doc.model_path;
    }
    mnemo_model* model = nullptr;
    if (mnemo_model_load(model_path.c_str(), nullptr, &model) != MNEMO_OK)
        return report_failure("ask", "cannot load the model '" + model_path + "' (pass --model M if it moved)");
    ModelFree free_model{model};

    mnemo_ask_params ap = mnemo_ask_default_params();
    ap.generate.max_tokens = static_cast<int32_t>(n_max);
    ap.generate.sampler.temperature = temp;
    ap.generate.sampler.seed = static_cast<uint64_t>(n_seed);
    ap.generate.sampler.repetition_penalty = rep;
    ap.n_threads = static_cast<int32_t>(n_threads);
    ap.record = no_record ? 0 : 1;
    if (has_template) ap.prompt_template = tmpl.c_str();
    bool ends_with_newline = false;
    if (stream) {
        ap.generate.user_data = &ends_with_newline;
        ap.generate.on_token = [](int32_t, const char* piece, size_t len, void* user) -> int {
            std::fwrite(piece, 1, len, stdout);
            std::fflush(stdout);
            if (len > 0) *static_cast<bool*>(user) = piece[len - 1] == '\n';
            return 0;
        };
    }
    mnemo_answer answer;
    answer.struct_size = sizeof answer;
    if (mnemo_store_ask(store, model, id, pos[1].c_str(), &ap, &answer) != MNEMO_OK) {
        if (stream) std::printf("\n");
        return report_failure("ask", "cannot answer about document #" + std::to_string(id));
    }
    if (stream) {
        if (!ends_with_newline) std::printf("\n");
    } else {
        std::fwrite(answer.text, 1, answer.text_len, stdout);
        std::printf("\n");
    }
    std::fflush(stdout);
    std::fprintf(stderr, "[document #%lld '%s' · restore %.1f ms · question %lld tokens %.1f ms · answer %lld tokens %.1f ms · state %s]\n",
                 static_cast<long long>(id), doc_title.c_str(), answer.restore_ms, static_cast<long long>(answer.question_tokens),
                 answer.prefill_ms, static_cast<long long>(answer.answer_tokens), answer.generate_ms,
                 human_bytes(answer.state_bytes).c_str());
    return kExitOk;
}

}  // namespace mnemo::cli
