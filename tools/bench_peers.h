// Peers of `mnemo bench`: llama.cpp's llama-bench run on a llama-architecture GGUF of the
// same shape (bench_model.h exports Mnemo's Transformer with the same weights), in the
// same run, on the same threads. llama.cpp is built beside the project
// (bench/peers/build_llama_cpp.sh); nothing of it is linked into Mnemo.
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

}  // namespace mnemo::cli::bench
