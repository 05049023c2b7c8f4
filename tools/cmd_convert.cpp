// mnemo convert HF_DIR OUT.gguf: Hugging Face checkpoint -> Mnemo GGUF.
#include "cli_common.h"
#include "convert.h"

#include "mnemo/mnemo.h"

#include <cstdio>

namespace mnemo::cli {
namespace {

const char* kHelp =
    "Usage: mnemo convert HF_DIR OUT.gguf [--type f32|f16|bf16|q8_0] [--tokenizer PATH|byte[:OFFSET]] [--name NAME]\n\n"
    "Converts a Hugging Face style checkpoint directory (config.json + *.safetensors, with the\n"
    "parameter names of the paper's reference implementation: model_type hybrid_gated_deltanet,\n"
    "gated_deltanet, transformer or nsa) into one self-contained GGUF file.\n\n"
    "Options:\n"
    "  --type T        storage type of weight matrices (default f32); norms, gates and\n"
    "                  convolutions always stay f32\n"
    "  --tokenizer P   SentencePiece model to embed (default: HF_DIR/tokenizer.model if present),\n"
    "                  or 'byte[:OFFSET]' for the byte-level test tokenizer\n"
    "  --name NAME     model name stored as general.name (default: the directory name)\n"
    "  --help          this text\n";

}  // namespace

int cmd_convert(int argc, char** argv) {
    Args args(argc, argv, 2);
    if (args.flag("--help") || args.flag("-h")) { std::fputs(kHelp, stdout); return kExitOk; }
    ConvertOptions options;
    std::string type_name = "f32";
    args.option("--type", &type_name);
    args.option("--tokenizer", &options.tokenizer);
    args.option("--name", &options.name);
    if (args.missing_value()) return usage_error("convert", "option " + args.missing_value_name() + " needs a value");
    const std::string bad = args.leftover_option();
    if (!bad.empty()) return usage_error("convert", "unknown option '" + bad + "'");
    if (!parse_weight_type(type_name, &options.weight_type))
        return usage_error("convert", "--type must be f32, f16, bf16 or q8_0 (got '" + type_name + "')");
    const auto pos = args.positionals();
    if (pos.size() != 2) return usage_error("convert", "expected HF_DIR and OUT.gguf");

    Progress bar("converting", 0);
    size_t total_seen = 0;
    options.progress = [&](size_t done, size_t total, const std::string& name) {
        if (total_seen != total) { bar = Progress("converting", total); total_seen = total; }
        bar.update(done, name);
    };
    ConvertReport report;
    if (convert_hf_directory(pos[0], pos[1], options, &report) != MNEMO_OK)
        return report_failure("convert", "cannot convert '" + pos[0] + "'");
    bar.finish();
    for (const auto& note : report.notes) std::fprintf(stderr, "note: %s\n", note.c_str());
    std::printf("wrote %s: %zu tensors, %.2fM parameters, %s of weights (%s)\n", pos[1].c_str(), report.n_tensors,
                static_cast<double>(report.n_params) / 1e6, human_bytes(report.bytes_written).c_str(), type_name.c_str());
    return kExitOk;
}

}  // namespace mnemo::cli
