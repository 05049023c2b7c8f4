// Peers of `mnemo bench`: llama.cpp's llama-bench run on a llama-architecture GGUF of the
// same shape (bench_model.h exports Mnemo's Transformer with the same weights), in the
// same run, on the same threads. llama.cpp is built beside the project
// (bench/peers/build_llama_cpp.sh); nothing of it is linked into Mnemo. On the GPU, the
// PyTorch reference of training/ (bench/cuda/reference_bench.py, run with python3) at the
// same synthetic shape and mixer.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace mnemo::cli::bench {

struct PeerPoint {
    int64_t context = 0;
    double prefill_tokens_per_second = 0.0;  // pp<context> at depth 0
    double decode_tokens_per_second = 0.0;   // tg<n> at depth <context>
    double decode_ms_per_token = 0.0;        // 1000 / decode tokens/s
};

struct PeerResult {
    bool ran = false;
    std::string error;
    std::string command;     // the llama-bench invocations, for the record
    std::string build;       // llama.cpp build commit / number
    std::string model_path;
    nlohmann::json raw = nlohmann::json::array();  // llama-bench's own JSON records
    std::vector<PeerPoint> points;
};

// Runs `llama_bench` twice (prefill: -p N... -n 0; decode: -n decode_tokens -d N...)
// with `reps` repetitions on `threads` threads; its stderr goes to `log_path`.
PeerResult run_llama_bench(const std::string& llama_bench, const std::string& gguf, int threads,
                           const std::vector<int64_t>& contexts, int decode_tokens, int reps, const std::string& log_path);

struct TorchPoint {
    int64_t context = 0;
    bool ok = false;
    std::string skipped;                     // the script's reason when it skipped the context
    double prefill_tokens_per_second = 0.0;
    double decode_ms_p50 = 0.0;
    double decode_ms_max = 0.0;
};

struct TorchPeerResult {
    bool ran = false;
    std::string error;    // no python/torch, a script error, a timeout, unreadable output
    std::string command;
    nlohmann::json raw;   // the script's --json document
    std::vector<TorchPoint> points;
};

// The reference's shape and mixer for Mnemo's synthetic `shape` / `mixer` (--shape, --mixer):
// true with the script's names, false with *why the peer cannot run that model.
bool torch_reference_target(const std::string& shape, const std::string& mixer, std::string* why);

struct TorchPeerRequest {
    std::string python = "python3", script, shape, mixer, dtype = "float32";
    std::vector<int64_t> contexts;
    int64_t decode_tokens = 32;
    int32_t chunk = 1024;
    double max_seconds = 120.0;  // the script's --max-seconds (skips contexts by its estimate)
    double timeout_seconds = 0;  // wall-clock bound on the whole script (0: none)
    std::string json_path, log_path;
};

// Runs `python script --shape --mixer --contexts --chunk --decode-tokens --max-seconds
// --dtype --json` and reads its JSON; stdout and stderr go to log_path.
TorchPeerResult run_torch_reference(const TorchPeerRequest& request);

}  // namespace mnemo::cli::bench
