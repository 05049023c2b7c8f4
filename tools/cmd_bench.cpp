// mnemo bench: throughput, latency and memory against context length, beside rooflines
// measured in the same run and, optionally, llama.cpp as the on-device peer
// (docs/performance.md). The model runs through the public C API only; rooflines and the
// synthetic models use the kernels and the GGUF writer directly.
#include "bench_gpu.h"
#include "bench_model.h"
#include "bench_peers.h"
#include "bench_roofline.h"
#include "cli_common.h"

#include "gguf.h"
#include "session.h"
#include "mnemo/mnemo.h"

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace mnemo::cli {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

const char* kHelp =
    "Usage: mnemo bench (-m MODEL.gguf | --shape NAME [--mixer LIST]) [options]\n\n"
    "Measures, at each context length, prefill tokens/s, time to first token, decode ms/token\n"
    "(p50, p99), the session's planned bytes and state in use, the process's peak RSS (and GPU\n"
    "memory on CUDA), beside a roofline measured in the same run: memory bandwidth\n"
    "(STREAM-like read/copy/triad), FMA peak and the best BLAS sgemm (OpenBLAS), with each\n"
    "figure as a fraction of its roofline; on CUDA against the GPU's roofline (device copy\n"
    "bandwidth, cuBLAS BF16 GEMM for bf16/f16/q8_0 weights, SGEMM for f32). Records the backend\n"
    "each run resolved to (on CUDA after a throwaway session of two chunks and a piece of each\n"
    "context shorter than a chunk, which takes the process's one-time GPU costs). Optionally\n"
    "runs llama.cpp's llama-bench on a Transformer of the same shape and weights, and on the\n"
    "GPU the PyTorch reference (docs/performance.md).\n\n"
    "Model:\n"
    "  -m, --model PATH          a GGUF model file\n"
    "      --shape NAME          synthetic model with random weights: default (the bundled\n"
    "                            laLTE 18M's shape), paper-0.4b, paper-1.4b\n"
    "      --mixer LIST          layer layouts for --shape, comma-separated (default lte):\n"
    "                            lte, gdn, swa, attn, nsa (GDN + that mixer on odd layers, as\n"
    "                            the paper's hybrids), transformer (attn everywhere), nsa-only\n"
    "      --type T              synthetic weight type: q8_0 (default), f16, bf16, f32\n"
    "      --model-dir DIR       keep synthetic models there and reuse them (default: temporary)\n"
    "      --seed N              seed of the random weights and tokens (default 1)\n"
    "      --export-llama PATH   write the Transformer (-m, or --shape with --mixer transformer)\n"
    "                            as a llama.cpp 'llama' GGUF with the same weights, then exit\n\n"
    "Measurement:\n"
    "      --contexts LIST       context lengths (K = 1024, M = 1048576; default\n"
    "                            1K,4K,16K,64K,256K,1M)\n"
    "      --decode-tokens N     decode steps timed at each context (default 64)\n"
    "      --chunk N             prefill chunk in tokens (session chunk_tokens; default auto: 4096\n"
    "                            with --backend cuda, else 256)\n"
    "      --threads N           threads (default: all cores)\n"
    "      --backend B           cpu, cuda or auto (default cpu); cuda without a usable device\n"
    "                            fails with 'no CUDA device'\n"
    "      --max-memory BYTES    skip contexts whose planned session + weights exceed this\n"
    "                            (suffixes K, M, G; default 75% of the available memory)\n"
    "      --max-seconds S       skip contexts whose prefill is estimated to take longer than\n"
    "                            S seconds (from the points measured before; default 1800)\n"
    "      --incremental         bounded models: one session reaches each context in turn\n"
    "                            (prefill of the largest context only; TTFT then counts the\n"
    "                            whole prefill from position 0)\n"
    "      --interleave          bounded models: keep each context's session and, after the\n"
    "                            last, decode on each in turn (8 tokens at a time) until each\n"
    "                            has --decode-tokens timed (decode_interleaved: load drift hits every context\n"
    "                            alike). The kept sessions count in later contexts' RSS\n"
    "      --policy P --budget N eviction policy for attn/swa/nsa layers (makes them bounded)\n"
    "      --no-roofline         skip the rooflines and the matmul comparison\n"
    "      --roofline-mib N      bandwidth arrays of N MiB each (default 256)\n"
    "      --blas-coretype C     OpenBLAS kernels: auto (SkylakeX on AVX-512 CPUs, default),\n"
    "                            env (OPENBLAS_CORETYPE as set), or a core name\n\n"
    "Peers:\n"
    "      --peer-llama-bench EXE   run llama.cpp's llama-bench (bench/peers/build_llama_cpp.sh)\n"
    "                            on the Transformer of the same shape and weights\n"
    "      --peer-model PATH     llama GGUF for the peer (default: exported from the Transformer)\n"
    "      --peer-max-context N  largest context given to the peer (default 65536)\n"
    "      --peer-reps N         llama-bench repetitions (default 3)\n"
    "      --peer-torch-reference SCRIPT  with --backend cuda: run the PyTorch reference of\n"
    "                            training/ (bench/cuda/reference_bench.py) with python3 on each\n"
    "                            run's --shape (paper-0.4b, paper-1.4b) and --mixer (lte, attn;\n"
    "                            other models get a 'peer not available' note), on the contexts\n"
    "                            Mnemo measured, same --decode-tokens, --chunk up to 2048; its prefill\n"
    "                            tok/s and decode ms beside Mnemo's. A failure is reported\n"
    "      --peer-python EXE     the Python that runs it (default python3)\n"
    "      --peer-torch-dtype T  float32 (default) or bfloat16 (the script's --dtype)\n"
    "      --peer-max-seconds S  the script's --max-seconds: it skips contexts whose prefill it\n"
    "                            estimates longer (default 120)\n"
    "      --peer-timeout S      wall-clock bound on the script (default 2 x --peer-max-seconds\n"
    "                            per context + 180)\n\n"
    "Output:\n"
    "      --json FILE           write every measurement as JSON (bench/plot_bench.py plots it)\n"
    "      --quiet               no progress on stderr\n"
    "  -h, --help                this text\n";

// ------------------------------------------------------------------------------------------
// Small parsers.

uint64_t meminfo_bytes(const char* key) {
    std::ifstream in("/proc/meminfo");
    std::string line;
    const std::string k = std::string(key) + ":";
    while (std::getline(in, line))
        if (line.rfind(k, 0) == 0) return std::stoull(line.substr(k.size())) * 1024;
    return 0;
}

std::string cpu_model_name() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
    return "unknown";
}

double load_average() {
    std::ifstream in("/proc/loadavg");
    double v = 0;
    in >> v;
    return v;
}

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0.0;
    std::sort(v.begin(), v.end());
    const double idx = p * static_cast<double>(v.size() - 1);
    const size_t lo = static_cast<size_t>(idx);
    const size_t hi = std::min(lo + 1, v.size() - 1);
    return v[lo] + (v[hi] - v[lo]) * (idx - static_cast<double>(lo));
}

// ------------------------------------------------------------------------------------------
// What a run needs to know about a model beyond the public API: bytes a decode step reads
// and the shapes of its linear layers (from the GGUF tensor table).

struct ModelFacts {
    std::string weight_type;          // of the MLP matrices
    uint64_t decode_weight_bytes = 0; // every tensor once, but one embedding row (+ the LM head)
    // The same as the CUDA backend holds them (sdk/src/cuda_backend.cpp, DeviceWeights):
    // linear matrices and the embedding table in bf16 (f16, bf16), q8_0 (q8_0) or f32 (f32),
    // every other tensor (norms, biases, convolutions, the LTE scorer) in f32.
    uint64_t device_decode_weight_bytes = 0;
    std::vector<bench::LinearShape> linears;
};

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool read_model_facts(const std::string& path, ModelFacts* out, std::string* error) {
    GgufFile f;
    if (f.open(path, true) != MNEMO_OK) {
        *error = mnemo_last_error();
        return false;
    }
    const GgufValue* tied = f.find("mnemo.tie_word_embeddings");
    const bool is_tied = tied != nullptr && tied->integer != 0;
    std::map<std::tuple<std::string, int64_t, int64_t, int>, int> shapes;
    for (const GgufTensor& t : f.tensors()) {
        const bool matrix = t.shape.size() == 2 && (t.name == "model.embeddings.weight" || t.name == "lm_head.weight" ||
                                                    ends_with(t.name, "_proj.weight"));
        const bool q8_0 = matrix && t.type == DType::Q8_0 && t.shape[1] % 32 == 0;  // kept as q8_0 (quants + fp16 scales)
        const uint64_t device_bytes = q8_0 ? t.n_bytes : t.n_elements * (matrix && t.type != DType::F32 ? 2 : 4);
        if (t.name == "model.embeddings.weight") {
            const uint64_t rows = t.shape.empty() ? 1 : std::max<uint64_t>(static_cast<uint64_t>(t.shape[0]), 1);
            out->decode_weight_bytes += t.n_bytes / rows + (is_tied ? t.n_bytes : 0);
            out->device_decode_weight_bytes += device_bytes / rows + (is_tied ? device_bytes : 0);
            continue;
        }
        out->decode_weight_bytes += t.n_bytes;
        out->device_decode_weight_bytes += device_bytes;
        if (t.name.find("mlp.gate_proj.weight") != std::string::npos && out->weight_type.empty())
            out->weight_type = dtype_name(t.type);
        const std::string prefix = "model.layers.";
        if (t.shape.size() != 2 || t.name.rfind(prefix, 0) != 0 || !ends_with(t.name, "_proj.weight")) continue;
        std::string name = t.name.substr(t.name.find('.', prefix.size()) + 1);
        name = name.substr(0, name.size() - std::string(".weight").size());
        shapes[{name, t.shape[0], t.shape[1], static_cast<int>(t.type)}] += 1;
    }
    for (const auto& [key, count] : shapes) {
        bench::LinearShape s;
        s.name = std::get<0>(key);
        s.n = std::get<1>(key);
        s.k = std::get<2>(key);
        cpu::dtype_from_id(std::get<3>(key), &s.type);
        s.count = count;
        out->linears.push_back(s);
    }
    return true;
}

// Attention-family and GDN FLOPs per token of one layer at position `pos` (an estimate from
// the layer's shape: 4·heads·head_dim per visible key for QKᵀ and PV; the gated delta
// rule's recurrent form ≈ 8·dk·dv per head). Linear layers are counted separately.
double mixer_flops_at(const mnemo_layer_info& l, int64_t pos) {
    const double keys_all = static_cast<double>(pos + 1);
    double keys = 0;
    switch (l.mixer) {
        case MNEMO_MIXER_GDN: return 8.0 * l.n_heads * l.head_dim * l.head_v_dim;
        case MNEMO_MIXER_ATTN: keys = keys_all; break;
        case MNEMO_MIXER_SWA: keys = std::min<double>(keys_all, l.window_size); break;
        case MNEMO_MIXER_LTE: keys = std::min<double>(keys_all, l.window_size + 1.0 + l.buffer_size); break;
        case MNEMO_MIXER_NSA:
            keys = std::min<double>(keys_all, l.window_size) + std::min<double>(keys_all, 1.0 * l.block_count * l.block_size) +
                   std::floor(keys_all / std::max(1, l.block_size));
            break;
    }
    return 4.0 * l.n_heads * l.head_dim * keys;
}

// ------------------------------------------------------------------------------------------

struct Options {
    std::string blas_coretype = "auto";
    std::string model_path, shape, type = "q8_0", model_dir, export_llama, json_path, peer_exe, peer_model;
    std::string peer_torch_script, peer_python = "python3", peer_torch_dtype = "float32";
    double peer_max_seconds = 120, peer_timeout = 0;  // 0: from the contexts (see run_torch_peer)
    std::vector<std::string> mixers;
    std::vector<int64_t> contexts;
    int64_t decode_tokens = 64, max_memory = 0, peer_max_context = 65536, roofline_bytes = 256LL << 20;
    int32_t chunk = 256, threads = 0, peer_reps = 3;
    uint32_t seed = 1;
    double max_seconds = 1800;
    mnemo_backend backend = MNEMO_BACKEND_CPU;
    mnemo_policy policy = MNEMO_POLICY_NONE;
    int32_t budget = 0;
    bool incremental = false, roofline = true, quiet = false, interleave = false;
};

void say(const Options& o, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
void say(const Options& o, const char* fmt, ...) {
    if (o.quiet) return;
    va_list ap;
    va_start(ap, fmt);
    std::vfprintf(stderr, fmt, ap);
    va_end(ap);
    std::fflush(stderr);
}

// A model under test: a file given by the user or a synthetic one written for the run.
struct Subject {
    std::string label;   // "default/lte" or the file name
    std::string path;
    bool synthetic = false;
    bool remove_after = false;
    std::string shape, mixer;
};

class Bench {
public:
    explicit Bench(Options o) : o_(std::move(o)) {}
    int run();

private:
    int prepare_subject(Subject* s);
    json bench_model(const Subject& s, bool* no_device);
    json run_peer(const json& runs);
    json run_torch_peer(json* run);
    json matmul_section(const json& run_model, const std::vector<bench::LinearShape>& linears);

    Options o_;
    int threads_ = 1;
    json measure_rooflines(const char* when);
    json interleaved_decode(const std::vector<std::pair<int64_t, mnemo_session*>>& sessions);

    std::unique_ptr<bench::Blas> blas_;
    double bandwidth_gbs_ = 0, blas_peak_gflops_ = 0;  // best of the start and end measurements
    bench::GpuRoofline gpu_roofline_;                  // measured before the models (CUDA runs)
    std::string temp_dir_;
    uint64_t baseline_rss_ = 0;
    std::vector<std::string> cleanup_;
    std::map<std::string, std::vector<bench::LinearShape>> linears_;  // per run label
};

int Bench::prepare_subject(Subject* s) {
    if (!s->synthetic) return kExitOk;
    ModelConfig config;
    std::string error;
    if (!bench::synthetic_config(s->shape, s->mixer, &config, &error)) return usage_error("bench", error);
    DType type = DType::Q8_0;
    if (o_.type == "f32") type = DType::F32;
    else if (o_.type == "f16") type = DType::F16;
    else if (o_.type == "bf16") type = DType::BF16;
    const std::string file = "bench-" + s->shape + "-" + s->mixer + "-" + o_.type + "-seed" + std::to_string(o_.seed) + ".gguf";
    if (!o_.model_dir.empty()) {
        s->path = (fs::path(o_.model_dir) / file).string();
        if (fs::exists(s->path)) {
            say(o_, "bench: reusing %s\n", s->path.c_str());
            return kExitOk;
        }
        std::error_code ec;
        fs::create_directories(o_.model_dir, ec);
    } else {
        s->path = (fs::path(temp_dir_) / file).string();
        s->remove_after = true;
    }
    Progress bar("writing " + s->label + " (" + o_.type + ", random weights)", 0);
    size_t total_seen = 0;
    const mnemo_status st = bench::write_random_model(s->path, config, type, o_.seed, [&](size_t done, size_t total) {
        if (o_.quiet) return;
        if (total != total_seen) { bar = Progress("writing " + s->label, total); total_seen = total; }
        bar.update(done);
    });
    if (st != MNEMO_OK) return report_failure("bench", "cannot write the synthetic model " + s->path);
    if (!o_.quiet) bar.finish();
    if (s->remove_after) cleanup_.push_back(s->path);
    return kExitOk;
}

json Bench::bench_model(const Subject& s, bool* no_device) {
    json run = {{"label", s.label}, {"path", s.synthetic && s.remove_after ? "" : s.path}};
    mnemo_model* model = nullptr;
    if (mnemo_model_load(s.path.c_str(), nullptr, &model) != MNEMO_OK) {
        run["error"] = std::string("cannot load the model: ") + mnemo_last_error();
        return run;
    }
    std::unique_ptr<mnemo_model, void (*)(mnemo_model*)> model_guard(model, mnemo_model_free);
    mnemo_model_info info{};
    info.struct_size = sizeof info;
    mnemo_model_get_info(model, &info);
    std::vector<mnemo_layer_info> layers(static_cast<size_t>(info.n_layers));
    json layers_j = json::array();
    std::map<std::string, int> mixer_count;
    for (int32_t i = 0; i < info.n_layers; ++i) {
        mnemo_layer_info& l = layers[static_cast<size_t>(i)];
        l.struct_size = sizeof l;
        mnemo_model_get_layer_info(model, i, &l);
        mixer_count[mnemo_mixer_kind_name(l.mixer)] += 1;
        layers_j.push_back({{"mixer", mnemo_mixer_kind_name(l.mixer)}, {"heads", l.n_heads}, {"kv_heads", l.n_kv_heads},
                            {"head_dim", l.head_dim}, {"head_v_dim", l.head_v_dim}, {"window", l.window_size},
                            {"sink", l.sink_size}, {"buffer", l.buffer_size}, {"block_size", l.block_size},
                            {"block_count", l.block_count}});
    }
    ModelFacts facts;
    std::string error;
    if (!read_model_facts(s.path, &facts, &error)) {
        run["error"] = "cannot read the tensor table: " + error;
        return run;
    }
    linears_[s.label] = facts.linears;
    std::string layout;
    for (const auto& [k, n] : mixer_count) {
        if (!layout.empty()) layout += " + ";
        layout += std::to_string(n);
        layout += ' ';
        layout += k;
    }
    run["model"] = {{"name", info.name}, {"source", s.synthetic ? "synthetic" : "file"}, {"shape", s.shape}, {"mixer", s.mixer},
                    {"layout", layout}, {"weight_type", facts.weight_type}, {"n_params", info.n_params},
                    {"weight_bytes", info.weight_bytes}, {"vocab_size", info.vocab_size}, {"hidden_size", info.hidden_size},
                    {"intermediate_size", info.intermediate_size}, {"n_layers", info.n_layers}, {"bounded", info.bounded != 0},
                    {"layers", layers_j}};
    // Linear FLOPs per prefill token: every layer matrix once; the LM head once per chunk.
    double linear_flops = 0;
    for (const auto& l : facts.linears) linear_flops += 2.0 * static_cast<double>(l.n * l.k) * l.count;
    const double lm_head_flops = 2.0 * info.vocab_size * static_cast<double>(info.hidden_size);

    mnemo_session_params base = mnemo_session_default_params();
    base.backend = o_.backend;
    base.n_threads = threads_;
    base.chunk_tokens = o_.chunk;
    base.policy = o_.policy;
    base.policy_budget = o_.budget;
    // Does the backend exist, and which one does the session run on (what AUTO resolves
    // to)? A tiny session: the runtime answers MNEMO_ERR_NO_DEVICE without a device.
    mnemo_backend resolved = o_.backend == MNEMO_BACKEND_CUDA ? MNEMO_BACKEND_CUDA : MNEMO_BACKEND_CPU;
    {
        mnemo_session_params probe = base;
        probe.max_context = 64;
        mnemo_session* sess = nullptr;
        const mnemo_status st = mnemo_session_create(model, &probe, &sess);
        if (st == MNEMO_ERR_NO_DEVICE) {
            *no_device = true;
            run["error"] = std::string("no CUDA device: ") + mnemo_last_error();
            return run;
        }
        if (sess != nullptr) {
            mnemo_session_backend(sess, &resolved);
            mnemo_session_free(sess);
        }
    }
    const bool on_gpu = resolved == MNEMO_BACKEND_CUDA;
    run["backend"] = on_gpu ? "cuda" : "cpu";
    // Weight bytes a decode step reads, as the backend that runs it stores them.
    const uint64_t decode_weight_bytes = on_gpu ? facts.device_decode_weight_bytes : facts.decode_weight_bytes;
    run["decode_weight_bytes_per_token"] = decode_weight_bytes;
    run["decode_weight_bytes_per_token_file"] = facts.decode_weight_bytes;         // as stored in the GGUF (the CPU reads these)
    run["decode_weight_bytes_per_token_cuda"] = facts.device_decode_weight_bytes;  // as the CUDA backend stores them
    if (on_gpu) run["device_weight_type"] = facts.weight_type == "f32" ? "f32" : "bf16";
    const bool bounded = info.bounded != 0 || o_.policy != MNEMO_POLICY_NONE;
    const bool incremental = o_.incremental && bounded;
    run["incremental"] = incremental;
    const uint64_t max_memory = static_cast<uint64_t>(o_.max_memory);

    json contexts = json::array();
    std::vector<std::pair<double, double>> measured;  // (context, prefill seconds) of fresh sessions
    std::string stop_reason;
    mnemo_session* shared = nullptr;  // incremental mode
    uint64_t gpu_before_shared = 0;   // device memory in use before the shared session existed
    double cumulative_prefill = 0;
    uint64_t rng = o_.seed * 0x9E3779B97F4A7C15ull + 7;
    auto next_token = [&] {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        return static_cast<int32_t>((rng >> 33) % static_cast<uint64_t>(info.vocab_size));
    };
    std::vector<int32_t> piece;
    if (on_gpu) {
        // The first session of a process on the GPU pays one-time costs (kernel modules loaded on
        // first launch, cuBLAS's workspaces and its choice of kernel for each new GEMM shape):
        // ~55 ms, more than a whole 1K prefill. A throwaway session reads two chunks, a piece of
        // every context shorter than a chunk (its GEMMs have other shapes) and decodes a token
        // first, so every context measures steady state.
        mnemo_session_params sp = base;
        std::vector<int64_t> pieces = {2 * std::max<int64_t>(o_.chunk, 1)};
        for (const int64_t n : o_.contexts)
            if (n < o_.chunk && std::find(pieces.begin(), pieces.end(), n) == pieces.end()) pieces.push_back(n);
        int64_t warm = 0;
        for (const int64_t n : pieces) warm += n;
        sp.max_context = bounded ? 0 : warm + 2;
        mnemo_session* w = nullptr;
        if (mnemo_session_create(model, &sp, &w) == MNEMO_OK) {
            mnemo_status st = MNEMO_OK;
            for (const int64_t n : pieces) {
                piece.resize(static_cast<size_t>(n));
                for (auto& t : piece) t = next_token();
                if (st == MNEMO_OK) st = mnemo_session_feed(w, piece.data(), piece.size());
            }
            int32_t one = next_token();
            if (st == MNEMO_OK) mnemo_session_feed(w, &one, 1);
            mnemo_session_free(w);
            run["warmup_tokens"] = warm + 1;
        }
    }
    std::vector<std::pair<int64_t, mnemo_session*>> kept;  // bounded sessions kept for the interleaved decode
    uint64_t kept_bytes = 0;
    for (const int64_t n : o_.contexts) {
        json c = {{"context", n}};
        if (!stop_reason.empty()) {
            c["status"] = "skipped";
            c["reason"] = stop_reason;
            contexts.push_back(c);
            continue;
        }
        mnemo_session_params sp = base;
        sp.max_context = bounded ? 0 : n + o_.decode_tokens + 1;
        mnemo_memory_plan plan{};
        plan.struct_size = sizeof plan;
        if (mnemo_memory_plan_get(model, &sp, &plan) != MNEMO_OK) {
            stop_reason = std::string("cannot plan: ") + mnemo_last_error();
            c["status"] = "skipped";
            c["reason"] = stop_reason;
            contexts.push_back(c);
            continue;
        }
        const uint64_t projected = baseline_rss_ + info.weight_bytes + plan.total_bytes;
        if (projected > max_memory) {
            stop_reason = "needs ~" + human_bytes(projected) + " (session " + human_bytes(plan.total_bytes) + " + weights), above --max-memory " +
                          human_bytes(max_memory);
            c["status"] = "skipped";
            c["reason"] = stop_reason;
            c["plan_total_bytes"] = plan.total_bytes;
            contexts.push_back(c);
            continue;
        }
        // Estimated prefill time from the points measured so far: a·N + b·N² through the
        // last two (b = 0 for bounded models, whose cost per token is constant).
        double estimate = 0;
        if (!measured.empty()) {
            const auto [n1, t1] = measured.back();
            estimate = t1 * static_cast<double>(n) / n1;
            if (!bounded && measured.size() >= 2) {
                const auto [n0, t0] = measured[measured.size() - 2];
                const double b = std::max(0.0, (t1 / n1 - t0 / n0) / (n1 - n0));
                const double a = std::max(0.0, t1 / n1 - b * n1);
                estimate = a * static_cast<double>(n) + b * static_cast<double>(n) * static_cast<double>(n);
            }
        }
        if (estimate > o_.max_seconds) {
            char buf[160];
            std::snprintf(buf, sizeof buf, "prefill estimated at %.0f s, above --max-seconds %.0f", estimate, o_.max_seconds);
            stop_reason = buf;
            c["status"] = "skipped";
            c["reason"] = stop_reason;
            contexts.push_back(c);
            continue;
        }

        // Fresh session per context (or the shared one in incremental mode).
        if (!incremental || shared == nullptr) reset_peak_rss();
        // In incremental mode every context reports the shared session's memory, measured from
        // before that session was created (it is already allocated for the later contexts).
        const uint64_t gpu_before = !on_gpu ? 0 : (incremental && shared != nullptr) ? gpu_before_shared : bench::gpu_used_bytes();
        uint64_t gpu_peak = 0;
        mnemo_session* session = incremental ? shared : nullptr;
        if (session == nullptr) {
            const mnemo_status st = mnemo_session_create(model, &sp, &session);
            if (st != MNEMO_OK) {
                stop_reason = std::string("cannot create the session: ") + mnemo_last_error();
                c["status"] = "failed";
                c["reason"] = stop_reason;
                contexts.push_back(c);
                continue;
            }
            if (incremental) {
                shared = session;
                gpu_before_shared = gpu_before;
            }
        }
        if (on_gpu) gpu_peak = std::max(gpu_peak, bench::gpu_used_bytes());
        int64_t position = 0;
        mnemo_session_position(session, &position);
        const int64_t to_feed = n - position;
        Progress bar("  " + s.label + " prefill " + context_label(n), static_cast<uint64_t>(std::max<int64_t>(to_feed, 1)));
        const double t0 = now_seconds();
        mnemo_status st = MNEMO_OK;
        for (int64_t done = 0; done < to_feed && st == MNEMO_OK;) {
            const int64_t m = std::min<int64_t>(to_feed - done, std::max<int64_t>(o_.chunk, 16384));
            piece.resize(static_cast<size_t>(m));
            for (auto& t : piece) t = next_token();
            st = mnemo_session_feed(session, piece.data(), piece.size());
            done += m;
            if (!o_.quiet) {
                const double el = now_seconds() - t0;
                char detail[96];
                std::snprintf(detail, sizeof detail, "%.0f tok/s", el > 0 ? static_cast<double>(done) / el : 0.0);
                bar.update(static_cast<uint64_t>(done), detail);
            }
        }
        const double prefill_s = now_seconds() - t0;
        if (!o_.quiet && to_feed > 0) bar.finish();
        int32_t token = 0;
        mnemo_sampler_params greedy = mnemo_sampler_default_params();
        const double ts = now_seconds();
        if (st == MNEMO_OK) st = mnemo_session_sample(session, &greedy, &token);
        const double first_sample_s = now_seconds() - ts;
        if (on_gpu) gpu_peak = std::max(gpu_peak, bench::gpu_used_bytes());
        std::vector<double> step_ms;
        for (int64_t i = 0; i < o_.decode_tokens && st == MNEMO_OK; ++i) {
            const double a = now_seconds();
            st = mnemo_session_feed(session, &token, 1);
            if (st == MNEMO_OK) st = mnemo_session_sample(session, &greedy, &token);
            step_ms.push_back((now_seconds() - a) * 1000.0);
        }
        if (on_gpu) gpu_peak = std::max(gpu_peak, bench::gpu_used_bytes());
        if (st != MNEMO_OK) {
            stop_reason = std::string("the run failed: ") + mnemo_last_error();
            c["status"] = "failed";
            c["reason"] = stop_reason;
            contexts.push_back(c);
            if (!incremental) mnemo_session_free(session);
            continue;
        }
        uint64_t state_used = 0;
        for (int32_t i = 0; i < info.n_layers; ++i) {
            mnemo_layer_probe p{};
            p.struct_size = sizeof p;
            if (mnemo_probe_layer(session, i, &p) == MNEMO_OK) state_used += p.state_bytes_used;
        }
        cumulative_prefill += prefill_s;
        const double ttft_s = (incremental ? cumulative_prefill : prefill_s) + first_sample_s;
        double sum_ms = 0;
        for (double v : step_ms) sum_ms += v;
        const double p50 = percentile(step_ms, 0.5), p99 = percentile(step_ms, 0.99);
        // Prefill FLOPs over positions [position, n): linear layers, LM head per chunk, mixers.
        double mixer_flops = 0;
        const int64_t stride = std::max<int64_t>(1, to_feed / 4096);
        for (int64_t p = position; p < n; p += stride)
            for (const auto& l : layers) mixer_flops += mixer_flops_at(l, p) * static_cast<double>(std::min(stride, n - p));
        const double chunks = std::ceil(static_cast<double>(to_feed) / o_.chunk);
        const double prefill_flops = linear_flops * static_cast<double>(to_feed) + lm_head_flops * chunks + mixer_flops;
        const double decode_bytes = static_cast<double>(decode_weight_bytes + state_used);
        c["status"] = "ok";
        c["position_at_decode"] = n;
        c["prefill_tokens"] = to_feed;
        c["prefill_seconds"] = prefill_s;
        c["prefill_tokens_per_second"] = prefill_s > 0 ? static_cast<double>(to_feed) / prefill_s : 0.0;
        c["ttft_ms"] = ttft_s * 1000.0;
        c["decode_tokens"] = step_ms.size();
        c["decode_ms_p50"] = p50;
        c["decode_ms_p99"] = p99;
        c["decode_ms_mean"] = step_ms.empty() ? 0.0 : sum_ms / static_cast<double>(step_ms.size());
        c["decode_tokens_per_second"] = p50 > 0 ? 1000.0 / p50 : 0.0;
        c["plan_total_bytes"] = plan.total_bytes;
        c["plan_state_bytes"] = plan.state_bytes;
        c["plan_scratch_bytes"] = plan.scratch_bytes;
        c["state_bytes_used"] = state_used;
        c["peak_rss_bytes"] = peak_rss_bytes();
        c["rss_bytes"] = current_rss_bytes();
        c["gpu_memory_bytes"] = on_gpu ? json(gpu_peak - std::min(gpu_peak, gpu_before)) : json(nullptr);
        c["decode_bytes_per_token"] = decode_bytes;
        c["prefill_flops"] = prefill_flops;
        c["prefill_linear_flops_share"] = prefill_flops > 0 ? linear_flops * static_cast<double>(to_feed) / prefill_flops : 0.0;
        c["load_average"] = load_average();
        c["kept_sessions_bytes"] = kept_bytes;  // --interleave: earlier contexts' sessions, alive (in the RSS)
        say(o_, "  %s @ %s: prefill %.1f s (%.0f tok/s), TTFT %.0f ms, decode p50 %.2f ms p99 %.2f ms, session %s, peak RSS %s\n",
            s.label.c_str(), context_label(n).c_str(), prefill_s, c["prefill_tokens_per_second"].get<double>(), ttft_s * 1000.0, p50,
            p99, human_bytes(plan.total_bytes).c_str(), human_bytes(peak_rss_bytes()).c_str());
        if (!incremental) {
            // Bounded sessions are small: keep them for the interleaved decode below.
            if (bounded && o_.interleave && kept_bytes + plan.total_bytes < max_memory / 4) {
                kept.emplace_back(n, session);
                kept_bytes += plan.total_bytes;
            } else {
                mnemo_session_free(session);
            }
            measured.emplace_back(static_cast<double>(n), prefill_s);
        } else {
            // Per-context estimate for the next segment: its own length at this segment's rate.
            measured.clear();
            measured.emplace_back(static_cast<double>(std::max<int64_t>(to_feed, 1)), prefill_s);
        }
        contexts.push_back(c);
    }
    if (shared != nullptr) mnemo_session_free(shared);
    run["contexts"] = contexts;
    if (kept.size() >= 2) run["decode_interleaved"] = interleaved_decode(kept);
    for (auto& [n, sess] : kept) mnemo_session_free(sess);
    return run;
}

// Decode steps taken in turn on sessions that sit at different contexts (a few tokens on
// each, round after round), so that a change in the machine's load hits every context alike:
// the fair way to compare decode at 1K and at 1M on a shared machine.
json Bench::interleaved_decode(const std::vector<std::pair<int64_t, mnemo_session*>>& sessions) {
    say(o_, "  interleaved decode: %lld rounds over %zu contexts\n", static_cast<long long>(o_.decode_tokens), sessions.size());
    mnemo_sampler_params greedy = mnemo_sampler_default_params();
    std::vector<std::vector<double>> ms(sessions.size());
    std::vector<int32_t> token(sessions.size(), 0);
    for (size_t i = 0; i < sessions.size(); ++i) mnemo_session_sample(sessions[i].second, &greedy, &token[i]);
    // In blocks of 8 steps per session: every session owns a thread pool whose workers spin
    // for a moment after a step, and a strict one-and-one alternation would time each session
    // against the other's spinning workers. The first step of a block is not counted.
    constexpr int64_t kBlock = 8;
    for (int64_t r = 0; r < o_.decode_tokens; r += kBlock - 1) {
        for (size_t i = 0; i < sessions.size(); ++i) {
            for (int64_t b = 0; b < kBlock; ++b) {
                const double a = now_seconds();
                if (mnemo_session_feed(sessions[i].second, &token[i], 1) != MNEMO_OK ||
                    mnemo_session_sample(sessions[i].second, &greedy, &token[i]) != MNEMO_OK)
                    return {{"error", mnemo_last_error()}};
                if (b > 0) ms[i].push_back((now_seconds() - a) * 1000.0);
            }
        }
    }
    json ctx = json::array(), p50 = json::array(), p99 = json::array(), mean = json::array();
    for (size_t i = 0; i < sessions.size(); ++i) {
        double sum = 0;
        for (double v : ms[i]) sum += v;
        ctx.push_back(sessions[i].first);
        p50.push_back(percentile(ms[i], 0.5));
        p99.push_back(percentile(ms[i], 0.99));
        mean.push_back(sum / static_cast<double>(ms[i].size()));
    }
    const double first = p50.front().get<double>(), last = p50.back().get<double>();
    return {{"rounds", o_.decode_tokens}, {"block", kBlock}, {"contexts", ctx}, {"decode_ms_p50", p50}, {"decode_ms_p99", p99},
            {"decode_ms_mean", mean}, {"p50_last_over_first", first > 0 ? last / first : 0.0}};
}

json Bench::measure_rooflines(const char* when) {
    say(o_, "bench: roofline (%s) — bandwidth (3 x %s arrays), FMA peak, BLAS sgemm on %d threads\n", when,
        human_bytes(static_cast<uint64_t>(o_.roofline_bytes)).c_str(), threads_);
    const bench::Bandwidth bw = bench::measure_bandwidth(threads_, static_cast<uint64_t>(o_.roofline_bytes));
    const bench::FmaPeak fma = bench::measure_fma_peak(threads_);
    if (!blas_) blas_ = std::make_unique<bench::Blas>(o_.blas_coretype);
    const bench::Stat blas = blas_->available() ? blas_->sgemm_gflops(1024, 2048, 2048, threads_) : bench::Stat{};
    // Give OpenBLAS's worker threads time to stop spinning before anything else is timed.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    return {{"when", when},
            {"load_average", load_average()},
            {"read_gbs", bw.read_gbs.best},
            {"copy_gbs", bw.copy_gbs.best},
            {"triad_gbs", bw.triad_gbs.best},
            {"read_gbs_median", bw.read_gbs.median},
            {"copy_gbs_median", bw.copy_gbs.median},
            {"triad_gbs_median", bw.triad_gbs.median},
            {"fma_avx2_gflops", fma.avx2_gflops},
            {"fma_avx512_gflops", fma.avx512_gflops},
            {"blas_gflops", blas.best > 0 ? json(blas.best) : json(nullptr)},
            {"blas_gflops_median", blas.median > 0 ? json(blas.median) : json(nullptr)}};
}

json Bench::run_peer(const json& runs) {
    json peer = {{"tool", "llama.cpp llama-bench"}, {"executable", o_.peer_exe}};
    std::string gguf = o_.peer_model;
    std::vector<int64_t> contexts;
    const json* transformer = nullptr;
    for (const auto& r : runs)
        if (r.contains("model") && r["model"]["layout"].get<std::string>().find("attn") != std::string::npos &&
            r["model"]["layout"].get<std::string>().find('+') == std::string::npos)
            transformer = &r;
    if (transformer != nullptr)
        for (const auto& c : (*transformer)["contexts"])
            if (c["status"] == "ok" && c["context"].get<int64_t>() <= o_.peer_max_context) contexts.push_back(c["context"]);
    if (contexts.empty())
        for (int64_t n : o_.contexts)
            if (n <= o_.peer_max_context) contexts.push_back(n);
    if (gguf.empty()) {
        std::string source = transformer != nullptr ? transformer->value("source_path", std::string()) : std::string();
        if (source.empty()) {
            // Write the Transformer of this shape (not benchmarked by Mnemo in this run).
            if (o_.shape.empty()) {
                peer["error"] = "no Transformer to export: give --peer-model LLAMA.gguf, or a --shape with --mixer transformer";
                return peer;
            }
            Subject t{o_.shape + "/transformer", "", true, false, o_.shape, "transformer"};
            if (prepare_subject(&t) != kExitOk) {
                peer["error"] = "cannot write the Transformer to export";
                return peer;
            }
            source = t.path;
        }
        gguf = (fs::path(temp_dir_) / "llama-peer.gguf").string();
        if (!o_.model_dir.empty()) gguf = (fs::path(o_.model_dir) / (fs::path(source).stem().string() + "-llama.gguf")).string();
        if (bench::export_llama_gguf(source, gguf) != MNEMO_OK) {
            peer["error"] = std::string("cannot export the llama GGUF: ") + mnemo_last_error();
            return peer;
        }
        if (o_.model_dir.empty()) cleanup_.push_back(gguf);
    }
    say(o_, "bench: peer llama-bench on %s (contexts up to %s, %d reps)\n", gguf.c_str(),
        context_label(contexts.empty() ? 0 : contexts.back()).c_str(), o_.peer_reps);
    const std::string log = (fs::path(temp_dir_) / "llama-bench.log").string();
    const bench::PeerResult r = bench::run_llama_bench(o_.peer_exe, gguf, threads_, contexts, static_cast<int>(o_.decode_tokens),
                                                       o_.peer_reps, log);
    peer["model_path"] = o_.model_dir.empty() && o_.peer_model.empty() ? "" : gguf;
    peer["command"] = r.command;
    peer["build"] = r.build;
    if (!r.ran) {
        std::ifstream in(log);
        std::string tail((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (tail.size() > 2000) tail = tail.substr(tail.size() - 2000);
        peer["error"] = r.error;
        peer["log_tail"] = tail;
        say(o_, "bench: peer failed: %s\n", r.error.c_str());
        return peer;
    }
    json pts = json::array();
    for (const auto& p : r.points)
        pts.push_back({{"context", p.context}, {"prefill_tokens_per_second", p.prefill_tokens_per_second},
                       {"decode_tokens_per_second", p.decode_tokens_per_second}, {"decode_ms_per_token", p.decode_ms_per_token}});
    peer["points"] = pts;
    peer["raw"] = r.raw;
    return peer;
}

// The PyTorch reference of training/ (bench/cuda/reference_bench.py) at the run's synthetic
// shape and mixer, on the contexts Mnemo measured, same decode tokens, the chunk up to 2048; its
// figures go beside Mnemo's in each context (peer_torch_*). Never fatal: a failure (no
// python or torch, a script error, a timeout) is recorded with the script's output tail.
json Bench::run_torch_peer(json* run) {
    json peer = {{"tool", "PyTorch reference (training/mnemo_ref, fast path)"}, {"script", o_.peer_torch_script}};
    if (!run->contains("model")) {
        peer["note"] = "peer not run: Mnemo's run of this model failed";
        return peer;
    }
    const std::string shape = (*run)["model"].value("shape", std::string()), mixer = (*run)["model"].value("mixer", std::string());
    std::string why;
    if (!bench::torch_reference_target(shape, mixer, &why)) {
        peer["note"] = why;
        say(o_, "bench: %s: %s\n", (*run)["label"].get<std::string>().c_str(), why.c_str());
        return peer;
    }
    if (run->value("backend", std::string()) != "cuda") {
        peer["note"] = "peer not run: the reference runs on the GPU and this run is on the CPU (use --backend cuda)";
        return peer;
    }
    bench::TorchPeerRequest q;
    q.python = o_.peer_python;
    q.script = o_.peer_torch_script;
    q.shape = shape;
    q.mixer = mixer;
    q.dtype = o_.peer_torch_dtype;
    for (const auto& c : (*run)["contexts"])
        if (c["status"] == "ok") q.contexts.push_back(c["context"].get<int64_t>());
    if (q.contexts.empty()) q.contexts = o_.contexts;
    q.decode_tokens = o_.decode_tokens;
    // At most 2048: the reference's batched chunk forms hold chunk × chunk tensors per head and
    // failed at 4096 on the 0.4B shape (bench/results/cuda/2026-11-26/d_…); 2048 ran.
    q.chunk = std::min<int32_t>(o_.chunk, 2048);
    q.max_seconds = o_.peer_max_seconds;
    // Each context's prefill is bounded by the script's estimate; decode, the model's
    // construction and the warm-up come on top.
    q.timeout_seconds = o_.peer_timeout > 0 ? o_.peer_timeout : 2.0 * o_.peer_max_seconds * static_cast<double>(q.contexts.size()) + 180.0;
    const std::string stem = "torch-" + shape + "-" + mixer;
    q.json_path = (fs::path(temp_dir_) / (stem + ".json")).string();
    q.log_path = (fs::path(temp_dir_) / (stem + ".log")).string();
    say(o_, "bench: peer %s on %s/%s (%s, contexts up to %s)\n", o_.peer_torch_script.c_str(), shape.c_str(), mixer.c_str(),
        q.dtype.c_str(), context_label(q.contexts.back()).c_str());
    const bench::TorchPeerResult r = bench::run_torch_reference(q);
    peer["command"] = r.command;
    peer["timeout_seconds"] = q.timeout_seconds;
    {
        std::ifstream in(q.log_path);
        std::string tail((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (tail.size() > 2000) tail = tail.substr(tail.size() - 2000);
        peer["log_tail"] = tail;
    }
    if (!r.ran) {
        peer["error"] = r.error;
        say(o_, "bench: peer failed: %s\n", r.error.c_str());
        return peer;
    }
    for (const char* k : {"dtype", "params", "torch", "device", "chunk", "decode_tokens"})
        if (r.raw.contains(k)) peer[k] = r.raw[k];
    json pts = json::array();
    for (const auto& p : r.points) {
        json pj = {{"context", p.context}};
        if (!p.ok) pj["skipped"] = p.skipped;
        else pj.update({{"prefill_tokens_per_second", p.prefill_tokens_per_second}, {"decode_ms_p50", p.decode_ms_p50},
                        {"decode_ms_max", p.decode_ms_max}});
        pts.push_back(pj);
        for (auto& c : (*run)["contexts"]) {
            if (c["context"].get<int64_t>() != p.context || c["status"] != "ok") continue;
            if (!p.ok) { c["peer_torch_skipped"] = p.skipped; continue; }
            c["peer_torch_prefill_tokens_per_second"] = p.prefill_tokens_per_second;
            c["peer_torch_decode_ms_p50"] = p.decode_ms_p50;
        }
    }
    peer["points"] = pts;
    return peer;
}

json Bench::matmul_section(const json& run_model, const std::vector<bench::LinearShape>& linears) {
    (void)run_model;
    const auto results = bench::measure_matmuls(linears, o_.chunk, threads_, blas_.get());
    json shapes = json::array();
    double flops = 0, t_mnemo = 0, t_f32 = 0, t_blas = 0;
    for (const auto& r : results) {
        const double f = 2.0 * static_cast<double>(r.rows * r.shape.n * r.shape.k) * r.shape.count;
        flops += f;
        t_mnemo += f / std::max(r.mnemo_gflops.best, 1e-9);
        t_f32 += f / std::max(r.mnemo_f32_gflops.best, 1e-9);
        if (r.blas_gflops.best > 0) t_blas += f / r.blas_gflops.best;
        shapes.push_back({{"name", r.shape.name}, {"n", r.shape.n}, {"k", r.shape.k}, {"type", cpu::dtype_name(r.shape.type)},
                          {"per_layer_count", r.shape.count}, {"rows", r.rows}, {"mnemo_gflops", r.mnemo_gflops.best},
                          {"mnemo_gflops_median", r.mnemo_gflops.median}, {"mnemo_f32_gflops", r.mnemo_f32_gflops.best},
                          {"blas_gflops", r.blas_gflops.best}, {"blas_gflops_median", r.blas_gflops.median}});
    }
    json m = {{"rows", o_.chunk}, {"shapes", shapes}};
    if (flops > 0) {
        m["mnemo_gflops"] = flops / t_mnemo;
        m["mnemo_f32_gflops"] = flops / t_f32;
        m["blas_gflops"] = t_blas > 0 ? json(flops / t_blas) : json(nullptr);
        // Mnemo against BLAS on the same shapes, measured one right after the other.
        m["mnemo_over_blas_same_shapes"] = t_blas > 0 ? json(t_blas / t_mnemo) : json(nullptr);
    }
    return m;
}

void print_tables(const json& out) {
    for (const auto& r : out["runs"]) {
        if (!r.contains("model")) {
            std::printf("\n%s: %s\n", r["label"].get<std::string>().c_str(), r.value("error", std::string("failed")).c_str());
            continue;
        }
        const auto& m = r["model"];
        const bool cuda = r.value("backend", std::string("cpu")) == "cuda";
        std::printf("\n%s — %s, %s, %.1fM params, %s weights%s, backend %s\n", r["label"].get<std::string>().c_str(),
                    m["layout"].get<std::string>().c_str(), m["weight_type"].get<std::string>().c_str(),
                    m["n_params"].get<double>() / 1e6, human_bytes(m["weight_bytes"].get<uint64_t>()).c_str(),
                    r.value("incremental", false) ? " (incremental)" : "", r.value("backend", std::string("?")).c_str());
        if (r.contains("error")) std::printf("  %s\n", r["error"].get<std::string>().c_str());
        if (r.contains("fractions_against")) {
            const auto& a = r["fractions_against"];
            std::printf("  dec %%bw = (%s of weights + state in use) per token / %s %.1f GB/s; pre %%pk = FLOPs / %s %.0f GFLOP/s\n",
                        human_bytes(r["decode_weight_bytes_per_token"].get<uint64_t>()).c_str(), a["bandwidth"].get<std::string>().c_str(),
                        a["bandwidth_gbs"].get<double>(), a["matmul_peak"].get<std::string>().c_str(),
                        a["matmul_peak_gflops"].get<double>());
        }
        std::printf("  %8s %12s %10s %9s %9s %11s %11s %11s %8s %8s%s\n", "context", "prefill t/s", "TTFT ms", "dec p50", "dec p99",
                    "session", "state used", "peak RSS", "dec %bw", "pre %pk", cuda ? "     GPU mem" : "");
        for (const auto& c : r["contexts"]) {
            const std::string ctx = context_label(c["context"].get<int64_t>());
            if (c["status"] != "ok") {
                std::printf("  %8s %s: %s\n", ctx.c_str(), c["status"].get<std::string>().c_str(), c["reason"].get<std::string>().c_str());
                continue;
            }
            auto pct = [&](const char* k) {
                char b[16] = "n/a";
                if (c.contains(k) && !c[k].is_null()) std::snprintf(b, sizeof b, "%.0f%%", 100.0 * c[k].get<double>());
                return std::string(b);
            };
            char gpu_mem[32] = "";
            if (cuda)
                std::snprintf(gpu_mem, sizeof gpu_mem, " %11s",
                              c["gpu_memory_bytes"].is_null() ? "n/a" : human_bytes(c["gpu_memory_bytes"].get<uint64_t>()).c_str());
            std::printf("  %8s %12.0f %10.1f %9.3f %9.3f %11s %11s %11s %8s %8s%s\n", ctx.c_str(),
                        c["prefill_tokens_per_second"].get<double>(), c["ttft_ms"].get<double>(), c["decode_ms_p50"].get<double>(),
                        c["decode_ms_p99"].get<double>(), human_bytes(c["plan_total_bytes"].get<uint64_t>()).c_str(),
                        human_bytes(c["state_bytes_used"].get<uint64_t>()).c_str(),
                        human_bytes(c["peak_rss_bytes"].get<uint64_t>()).c_str(), pct("decode_fraction_of_bandwidth").c_str(),
                        pct("prefill_fraction_of_blas_peak").c_str(), gpu_mem);
        }
        if (r.contains("peer_torch")) {
            const auto& p = r["peer_torch"];
            std::printf("  peer: %s%s%s\n", p["tool"].get<std::string>().c_str(),
                        p.contains("dtype") ? (", " + p["dtype"].get<std::string>()).c_str() : "",
                        p.contains("torch") ? (", torch " + p["torch"].get<std::string>()).c_str() : "");
            if (p.contains("note")) std::printf("    %s\n", p["note"].get<std::string>().c_str());
            if (p.contains("error")) std::printf("    failed: %s\n", p["error"].get<std::string>().c_str());
            if (p.contains("points")) {
                std::printf("    %8s %14s %14s %12s %12s\n", "context", "mnemo pre t/s", "torch pre t/s", "mnemo dec ms", "torch dec ms");
                for (const auto& c : r["contexts"]) {
                    if (c["status"] != "ok") continue;
                    const std::string ctx = context_label(c["context"].get<int64_t>());
                    if (c.contains("peer_torch_prefill_tokens_per_second"))
                        std::printf("    %8s %14.0f %14.0f %12.3f %12.3f\n", ctx.c_str(), c["prefill_tokens_per_second"].get<double>(),
                                    c["peer_torch_prefill_tokens_per_second"].get<double>(), c["decode_ms_p50"].get<double>(),
                                    c["peer_torch_decode_ms_p50"].get<double>());
                    else
                        std::printf("    %8s %14.0f %14s %12.3f %12s  %s\n", ctx.c_str(), c["prefill_tokens_per_second"].get<double>(), "-",
                                    c["decode_ms_p50"].get<double>(), "-", c.value("peer_torch_skipped", std::string("not run")).c_str());
                }
            }
        }
        if (r.contains("decode_interleaved") && r["decode_interleaved"].contains("contexts")) {
            const auto& d = r["decode_interleaved"];
            std::printf("  interleaved decode p50 (ms):");
            for (size_t i = 0; i < d["contexts"].size(); ++i)
                std::printf(" %s %.3f", context_label(d["contexts"][i].get<int64_t>()).c_str(), d["decode_ms_p50"][i].get<double>());
            std::printf("  (last/first %.3f)\n", d["p50_last_over_first"].get<double>());
        }
        if (r.contains("matmul") && r["matmul"].contains("mnemo_gflops"))
            std::printf("  prefill matmuls (T=%d, model mix): mnemo %.1f GFLOP/s (f32 weights %.1f), BLAS %s GFLOP/s\n",
                        r["matmul"]["rows"].get<int>(), r["matmul"]["mnemo_gflops"].get<double>(),
                        r["matmul"]["mnemo_f32_gflops"].get<double>(),
                        r["matmul"]["blas_gflops"].is_null() ? "n/a" : std::to_string(static_cast<int>(r["matmul"]["blas_gflops"].get<double>())).c_str());
    }
    if (out.contains("peer")) {
        const auto& p = out["peer"];
        std::printf("\npeer: %s %s\n", p["tool"].get<std::string>().c_str(), p.value("build", std::string()).c_str());
        if (p.contains("error")) std::printf("  %s\n", p["error"].get<std::string>().c_str());
        if (p.contains("points")) {
            std::printf("  %8s %12s %12s %12s\n", "context", "prefill t/s", "decode t/s", "decode ms");
            for (const auto& q : p["points"])
                std::printf("  %8s %12.0f %12.1f %12.3f\n", context_label(q["context"].get<int64_t>()).c_str(),
                            q["prefill_tokens_per_second"].get<double>(), q["decode_tokens_per_second"].get<double>(),
                            q["decode_ms_per_token"].get<double>());
        }
    }
    if (out.contains("roofline")) {
        const auto& rf = out["roofline"];
        std::printf("\nroofline (%d threads): bandwidth %.1f GB/s (read %.1f, copy %.1f, triad %.1f); FMA peak AVX2 %.0f, AVX-512 %.0f GFLOP/s; "
                    "BLAS sgemm %s GFLOP/s [%s]\n",
                    rf["threads"].get<int>(), rf["bandwidth_gbs"].get<double>(), rf["read_gbs"].get<double>(),
                    rf["copy_gbs"].get<double>(), rf["triad_gbs"].get<double>(), rf["fma_avx2_gflops"].get<double>(),
                    rf["fma_avx512_gflops"].get<double>(),
                    rf["blas_gflops"].is_null() ? "n/a" : std::to_string(static_cast<int>(rf["blas_gflops"].get<double>())).c_str(),
                    rf["blas"].get<std::string>().c_str());
    }
    if (out.contains("gpu_roofline")) {
        const auto& g = out["gpu_roofline"];
        std::printf("GPU roofline (%s): copy %.0f GB/s; cuBLAS SGEMM %.0f, TF32 %.0f, BF16 %.0f GFLOP/s%s%s\n",
                    out["gpu"].value("name", std::string("?")).c_str(), g["copy_gbs"].get<double>(), g["sgemm_gflops"].get<double>(),
                    g["tf32_gflops"].get<double>(), g["bf16_gflops"].get<double>(),
                    g["error"].get<std::string>().empty() ? "" : "; ", g["error"].get<std::string>().c_str());
    }
}

int Bench::run() {
    threads_ = o_.threads > 0 ? o_.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/mnemo-bench-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) return report_failure("bench", "cannot create a temporary directory under " + pattern);
    temp_dir_ = pattern;
    baseline_rss_ = current_rss_bytes();
    if (o_.max_memory <= 0) o_.max_memory = static_cast<int64_t>(0.75 * static_cast<double>(meminfo_bytes("MemAvailable")) + baseline_rss_);

    std::vector<Subject> subjects;
    if (!o_.model_path.empty()) subjects.push_back({fs::path(o_.model_path).filename().string(), o_.model_path, false, false, "", ""});
    for (const auto& mx : o_.mixers) subjects.push_back({o_.shape + "/" + mx, "", true, false, o_.shape, mx});

    int rc = kExitOk;
    auto finish = [&](int code) {
        for (const auto& p : cleanup_) std::remove(p.c_str());
        std::error_code ec;
        fs::remove_all(temp_dir_, ec);
        return code;
    };

    if (!o_.export_llama.empty()) {
        Subject& s = subjects.front();
        if ((rc = prepare_subject(&s)) != kExitOk) return finish(rc);
        if (bench::export_llama_gguf(s.path, o_.export_llama) != MNEMO_OK)
            return finish(report_failure("bench", "cannot export '" + s.path + "'"));
        std::printf("wrote %s (llama architecture, weights of %s)\n", o_.export_llama.c_str(), s.label.c_str());
        return finish(kExitOk);
    }

    json out = {{"schema", "mnemo-bench/1"}, {"mnemo_version", mnemo_version_string()}};
    {
        char date[64];
        const std::time_t t = std::time(nullptr);
        std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
        out["date"] = date;
    }
    out["machine"] = {{"cpu", cpu_model_name()}, {"hardware_threads", std::thread::hardware_concurrency()},
                      {"memory_total_bytes", meminfo_bytes("MemTotal")}, {"memory_available_bytes", meminfo_bytes("MemAvailable")},
                      {"load_average_start", load_average()}};
    const char* backend_names[] = {"auto", "cpu", "cuda"};
    out["settings"] = {{"threads", threads_}, {"chunk_tokens", o_.chunk}, {"decode_tokens", o_.decode_tokens},
                       {"backend", backend_names[o_.backend]}, {"max_memory_bytes", o_.max_memory}, {"max_seconds", o_.max_seconds},
                       {"incremental", o_.incremental}, {"seed", o_.seed}, {"contexts", o_.contexts}};
    const bench::GpuInfo gpu = bench::gpu_info();
    out["gpu"] = gpu.available ? json{{"name", gpu.name}, {"total_bytes", gpu.total_bytes}} : json{{"error", gpu.error}};
    if (o_.backend == MNEMO_BACKEND_CUDA && !gpu.available) {
        std::fprintf(stderr, "mnemo bench: no CUDA device: %s\n", gpu.error.c_str());
        return finish(kExitFailure);
    }

    json roof_start;
    if (o_.roofline) {
        roof_start = measure_rooflines("start");
        if (o_.backend != MNEMO_BACKEND_CPU && gpu.available) {
            say(o_, "bench: GPU roofline (device copy, cuBLAS)\n");
            gpu_roofline_ = bench::measure_gpu_roofline();
            const bench::GpuRoofline& g = gpu_roofline_;
            out["gpu_roofline"] = {{"copy_gbs", g.copy_gbs}, {"sgemm_gflops", g.sgemm_gflops}, {"tf32_gflops", g.tf32_gflops},
                                   {"bf16_gflops", g.bf16_gflops}, {"error", g.error}};
        }
    }

    json runs = json::array();
    for (auto& s : subjects) {
        if ((rc = prepare_subject(&s)) != kExitOk) return finish(rc);
        say(o_, "bench: %s (%s)\n", s.label.c_str(), s.path.c_str());
        bool no_device = false;
        json r = bench_model(s, &no_device);
        if (no_device) {
            std::fprintf(stderr, "mnemo bench: %s\n", r["error"].get<std::string>().c_str());
            return finish(kExitFailure);
        }
        r["source_path"] = s.path;
        runs.push_back(r);
    }

    if (!o_.peer_exe.empty()) out["peer"] = run_peer(runs);
    if (!o_.peer_torch_script.empty())
        for (auto& r : runs) r["peer_torch"] = run_torch_peer(&r);

    if (o_.roofline) {
        // Rooflines again after the models: the machine's load can change during a long run;
        // the best of the two is the roofline (so fractions of it are never flattered).
        const json roof_end = measure_rooflines("end");
        json roof = {{"threads", threads_}, {"array_bytes", o_.roofline_bytes}, {"blas", blas_->description()},
                     {"blas_shape", {1024, 2048, 2048}}, {"measurements", {roof_start, roof_end}}};
        for (const char* k : {"read_gbs", "copy_gbs", "triad_gbs", "fma_avx2_gflops", "fma_avx512_gflops", "blas_gflops"})
            roof[k] = std::max(roof_start[k].is_null() ? 0.0 : roof_start[k].get<double>(), roof_end[k].is_null() ? 0.0 : roof_end[k].get<double>());
        roof["bandwidth_gbs"] = std::max({roof["read_gbs"].get<double>(), roof["copy_gbs"].get<double>(), roof["triad_gbs"].get<double>()});
        if (roof["blas_gflops"].get<double>() <= 0) roof["blas_gflops"] = nullptr;
        bandwidth_gbs_ = roof["bandwidth_gbs"].get<double>();
        blas_peak_gflops_ = roof["blas_gflops"].is_null() ? 0.0 : roof["blas_gflops"].get<double>();
        say(o_, "bench: prefill matmuls at T=%d, Mnemo and BLAS\n", o_.chunk);
        for (auto& r : runs) {
            if (!r.contains("model")) continue;
            if (r.value("backend", std::string("cpu")) == "cuda") {
                // Mnemo's CPU matmuls are not what a CUDA run computes with (and take minutes at the paper's shapes).
                r["matmul"] = {{"skipped", "the run is on CUDA: its prefill is measured against the GPU roofline"}};
                continue;
            }
            r["matmul"] = matmul_section(r["model"], linears_[r["label"].get<std::string>()]);
            // The BLAS peak is the best sgemm seen in this run, the model's shapes included.
            for (const auto& sh : r["matmul"]["shapes"]) blas_peak_gflops_ = std::max(blas_peak_gflops_, sh["blas_gflops"].get<double>());
        }
        if (blas_peak_gflops_ > 0) roof["blas_gflops"] = blas_peak_gflops_;
        for (auto& r : runs) {
            if (!r.contains("model")) continue;
            auto& mm = r["matmul"];
            if (mm.contains("mnemo_gflops") && blas_peak_gflops_ > 0)
                mm["mnemo_fraction_of_blas_peak"] = mm["mnemo_gflops"].get<double>() / blas_peak_gflops_;
            // The roofline of the backend the run was on: the CPU's (STREAM-like bandwidth, best
            // BLAS sgemm) or, on CUDA, the GPU's (device copy, cuBLAS GEMM of the type the
            // backend multiplies in: BF16 for bf16/f16/q8_0 weights, FP32 SGEMM for f32, no TF32).
            json against = {{"backend", "cpu"}, {"bandwidth", "CPU memory bandwidth (best of read/copy/triad)"},
                            {"bandwidth_gbs", bandwidth_gbs_}, {"matmul_peak", "CPU BLAS sgemm"},
                            {"matmul_peak_gflops", blas_peak_gflops_}};
            if (r.value("backend", std::string("cpu")) == "cuda") {
                const bool bf16 = r.value("device_weight_type", std::string("bf16")) == "bf16";
                against = {{"backend", "cuda"}, {"bandwidth", "GPU device-to-device copy"}, {"bandwidth_gbs", gpu_roofline_.copy_gbs},
                           {"matmul_peak", bf16 ? "cuBLAS BF16 GEMM (FP32 accumulation)" : "cuBLAS SGEMM (FP32, no TF32)"},
                           {"matmul_peak_gflops", bf16 ? gpu_roofline_.bf16_gflops : gpu_roofline_.sgemm_gflops}};
                if (!gpu_roofline_.measured) against["error"] = "the GPU roofline was not measured: " + gpu_roofline_.error;
            }
            r["fractions_against"] = against;
            const double bw = against["bandwidth_gbs"].get<double>() * 1e9;
            const double peak = against["matmul_peak_gflops"].get<double>() * 1e9;
            for (auto& c : r["contexts"]) {
                if (c["status"] != "ok") continue;
                const double p50_s = c["decode_ms_p50"].get<double>() / 1000.0;
                if (p50_s > 0 && bw > 0) c["decode_fraction_of_bandwidth"] = c["decode_bytes_per_token"].get<double>() / bw / p50_s;
                const double ps = c["prefill_seconds"].get<double>();
                if (ps > 0 && peak > 0) c["prefill_fraction_of_blas_peak"] = c["prefill_flops"].get<double>() / ps / peak;
            }
        }
        out["roofline"] = roof;
    }
    for (auto& r : runs) r.erase("source_path");
    out["runs"] = runs;
    out["machine"]["load_average_end"] = load_average();
    print_tables(out);
    if (!o_.json_path.empty()) {
        std::ofstream f(o_.json_path);
        f << out.dump(2) << "\n";
        if (!f) return finish(report_failure("bench", "cannot write " + o_.json_path));
        say(o_, "bench: wrote %s\n", o_.json_path.c_str());
    }
    return finish(kExitOk);
}

}  // namespace

int cmd_bench(int argc, char** argv) {
    Args args(argc, argv, 2);
    if (args.flag("--help") || args.flag("-h")) { std::fputs(kHelp, stdout); return kExitOk; }
    Options o;
    std::string mixers = "lte", contexts = "1K,4K,16K,64K,256K,1M", decode = "64", chunk = "auto", threads = "0", backend = "cpu",
                max_mem, max_s = "1800", policy = "none", budget = "0", roof_mib = "256", seed = "1", peer_max = "65536", peer_reps = "3",
                peer_max_s = "120", peer_timeout = "0";
    args.option("-m", "--model", &o.model_path);
    args.option("--shape", &o.shape);
    const bool have_mixer = args.option("--mixer", &mixers);
    args.option("--type", &o.type);
    args.option("--model-dir", &o.model_dir);
    args.option("--seed", &seed);
    args.option("--export-llama", &o.export_llama);
    args.option("--contexts", &contexts);
    args.option("--decode-tokens", &decode);
    args.option("--chunk", &chunk);
    args.option("--threads", &threads);
    args.option("--backend", &backend);
    args.option("--max-memory", &max_mem);
    args.option("--max-seconds", &max_s);
    args.option("--policy", &policy);
    args.option("--budget", &budget);
    args.option("--roofline-mib", &roof_mib);
    args.option("--blas-coretype", &o.blas_coretype);
    args.option("--peer-llama-bench", &o.peer_exe);
    args.option("--peer-model", &o.peer_model);
    args.option("--peer-max-context", &peer_max);
    args.option("--peer-reps", &peer_reps);
    args.option("--peer-torch-reference", &o.peer_torch_script);
    args.option("--peer-python", &o.peer_python);
    args.option("--peer-torch-dtype", &o.peer_torch_dtype);
    args.option("--peer-max-seconds", &peer_max_s);
    args.option("--peer-timeout", &peer_timeout);
    args.option("--json", &o.json_path);
    o.incremental = args.flag("--incremental");
    o.interleave = args.flag("--interleave");
    o.roofline = !args.flag("--no-roofline");
    o.quiet = args.flag("--quiet");
    if (args.missing_value()) return usage_error("bench", "option " + args.missing_value_name() + " needs a value");
    const std::string bad = args.leftover_option();
    if (!bad.empty()) return usage_error("bench", "unknown option '" + bad + "'");
    if (!args.positionals().empty()) return usage_error("bench", "unexpected argument '" + args.positionals()[0] + "'");
    if (o.model_path.empty() == o.shape.empty()) return usage_error("bench", "give exactly one of -m MODEL.gguf or --shape NAME");
    if (!o.model_path.empty() && have_mixer) return usage_error("bench", "--mixer goes with --shape, not with -m");
    if (!o.shape.empty()) {
        const auto& shapes = bench::shape_names();
        if (std::find(shapes.begin(), shapes.end(), o.shape) == shapes.end())
            return usage_error("bench", "--shape must be default, paper-0.4b or paper-1.4b (got '" + o.shape + "')");
        for (const auto& m : split(mixers, ',')) {
            const auto& names = bench::mixer_names();
            if (std::find(names.begin(), names.end(), m) == names.end())
                return usage_error("bench", "unknown --mixer '" + m + "' (lte, gdn, swa, attn, nsa, transformer, nsa-only)");
            o.mixers.push_back(m);
        }
    }
    if (o.type != "q8_0" && o.type != "f16" && o.type != "bf16" && o.type != "f32")
        return usage_error("bench", "--type must be q8_0, f16, bf16 or f32");
    for (const auto& c : split(contexts, ',')) {
        int64_t n = 0;
        if (!parse_size(c, &n) || n < 1) return usage_error("bench", "--contexts needs sizes like 1K,4K,64K,1M (got '" + c + "')");
        o.contexts.push_back(n);
    }
    std::sort(o.contexts.begin(), o.contexts.end());
    o.contexts.erase(std::unique(o.contexts.begin(), o.contexts.end()), o.contexts.end());
    int64_t roof = 0;
    if (!parse_number(decode, &o.decode_tokens) || o.decode_tokens < 1) return usage_error("bench", "--decode-tokens needs a count >= 1");
    if (!parse_chunk(chunk, &o.chunk)) return usage_error("bench", "--chunk needs a count in [1, 65536] or auto");
    if (!parse_number(threads, &o.threads) || o.threads < 0) return usage_error("bench", "--threads needs a count >= 0");
    if (!max_mem.empty() && !parse_size(max_mem, &o.max_memory)) return usage_error("bench", "--max-memory needs a size like 8G");
    if (!parse_number(max_s, &o.max_seconds) || o.max_seconds <= 0) return usage_error("bench", "--max-seconds needs a positive number");
    if (!parse_policy(policy, &o.policy)) return usage_error("bench", "--policy must be none, streaming, h2o, tova or snapkv");
    if (!parse_number(budget, &o.budget) || o.budget < 0) return usage_error("bench", "--budget needs a count >= 0");
    if (o.policy != MNEMO_POLICY_NONE && o.budget == 0) return usage_error("bench", "--policy needs --budget N");
    if (!parse_number(roof_mib, &roof) || roof < 1) return usage_error("bench", "--roofline-mib needs a count >= 1");
    o.roofline_bytes = roof << 20;
    if (!parse_number(seed, &o.seed)) return usage_error("bench", "--seed needs a number");
    if (!parse_size(peer_max, &o.peer_max_context)) return usage_error("bench", "--peer-max-context needs a size");
    if (!parse_number(peer_reps, &o.peer_reps) || o.peer_reps < 1) return usage_error("bench", "--peer-reps needs a count >= 1");
    if (!parse_number(peer_max_s, &o.peer_max_seconds) || o.peer_max_seconds <= 0)
        return usage_error("bench", "--peer-max-seconds needs a positive number");
    if (!parse_number(peer_timeout, &o.peer_timeout) || o.peer_timeout < 0) return usage_error("bench", "--peer-timeout needs a number >= 0");
    if (o.peer_torch_dtype != "float32" && o.peer_torch_dtype != "bfloat16")
        return usage_error("bench", "--peer-torch-dtype must be float32 or bfloat16");
    if (!parse_backend(backend, &o.backend)) return usage_error("bench", "--backend must be cpu, cuda or auto");
    if (o.chunk == 0) o.chunk = o.backend == MNEMO_BACKEND_CUDA ? mnemo::kCudaChunkTokens : mnemo::kCpuChunkTokens;  // the session's choice (auto: the CPU's)
    if (!o.export_llama.empty() && o.mixers.size() > 1) return usage_error("bench", "--export-llama takes one model");
    return Bench(std::move(o)).run();
}

}  // namespace mnemo::cli
