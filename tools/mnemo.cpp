// `mnemo` — the command line: inspect and convert model files (and, as the runtime
// grows, run, ask, bench, eval).
#include "mnemo/mnemo.h"

#include <cstdio>
#include <cstring>
#include <string>

namespace mnemo::cli {
int cmd_inspect(int argc, char** argv);
int cmd_convert(int argc, char** argv);
int cmd_ingest(int argc, char** argv);
int cmd_docs(int argc, char** argv);
int cmd_ask(int argc, char** argv);
int cmd_run(int argc, char** argv);
int cmd_bench(int argc, char** argv);
int cmd_eval(int argc, char** argv);
}

namespace {

struct Command {
    const char* name;
    const char* summary;
    int (*run)(int, char**);
};

const Command kCommands[] = {
    {"inspect", "print a GGUF model's metadata, tensors and layer plan", mnemo::cli::cmd_inspect},
    {"convert", "convert a Hugging Face checkpoint (config.json + safetensors) to GGUF", mnemo::cli::cmd_convert},
    {"ingest", "read a long document once and store its bounded state in a SQLite store", mnemo::cli::cmd_ingest},
    {"docs", "list (or delete) the documents of a store", mnemo::cli::cmd_docs},
    {"ask", "answer a question about an ingested document from its snapshot", mnemo::cli::cmd_ask},
    {"run", "stream a document through a model, then generate", mnemo::cli::cmd_run},
    {"bench", "throughput, latency and memory against context length, with rooflines and peers", mnemo::cli::cmd_bench},
    {"eval", "retrieval accuracy (needle, multi-key, mqar, pass key) against context length", mnemo::cli::cmd_eval},
};

void print_help() {
    std::printf("mnemo %s — on-device runtime for hybrid linear/sparse-attention language models\n\n", mnemo_version_string());
    std::printf("Usage: mnemo <command> [options]\n\nCommands:\n");
    for (const auto& c : kCommands) std::printf("  %-10s %s\n", c.name, c.summary);
    std::printf("\nRun 'mnemo <command> --help' for a command's options.\n");
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0 || std::strcmp(argv[1], "help") == 0) {
        print_help();
        return argc < 2 ? 2 : 0;
    }
    if (std::strcmp(argv[1], "--version") == 0) {
        std::printf("mnemo %s\n", mnemo_version_string());
        return 0;
    }
    for (const auto& c : kCommands)
        if (std::strcmp(argv[1], c.name) == 0) return c.run(argc, argv);
    std::fprintf(stderr, "mnemo: unknown command '%s'\n\n", argv[1]);
    print_help();
    return 2;
}
