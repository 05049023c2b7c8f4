// mnemo inspect FILE: metadata, tensors (dtype, shape, bytes) and the layer plan.
#include "cli_common.h"
#include "gguf.h"
#include "model.h"
#include "session.h"

#include "mnemo/mnemo.h"

#include <nlohmann/json.hpp>

#include <cstdio>

namespace mnemo::cli {
namespace {

const char* kHelp =
    "Usage: mnemo inspect FILE.gguf [--json]\n\n"
    "Prints a GGUF model file's metadata, its tensors (type, shape, bytes) and, if the\n"
    "file is a Mnemo model, each layer's mixer and hyper-parameters.\n\n"
    "Options:\n"
    "  --json     machine-readable output on stdout\n"
    "  --help     this text\n";

std::string value_string(const GgufValue& v) {
    char buf[64];
    switch (v.type) {
        case GgufValueType::STRING: return "\"" + v.string + "\"";
        case GgufValueType::BOOL: return v.integer ? "true" : "false";
        case GgufValueType::F32:
        case GgufValueType::F64: std::snprintf(buf, sizeof buf, "%g", v.real); return buf;
        case GgufValueType::ARRAY: {
            std::string s = "[";
            const uint64_t shown = v.count < 8 ? v.count : 8;
            if (v.element_type == GgufValueType::U8 || v.element_type == GgufValueType::I8) {
                // Appended piece by piece: "[" + std::string(...) trips GCC 12's -Wrestrict at -O3.
                s += gguf_value_type_name(v.element_type);
                s += " x ";
                s += std::to_string(v.count);
                return s + "]";
            }
            for (uint64_t i = 0; i < shown; ++i) {
                if (i) s += ", ";
                if (v.element_type == GgufValueType::STRING) s += "\"" + v.strings[i] + "\"";
                else if (!v.reals.empty()) { std::snprintf(buf, sizeof buf, "%g", v.reals[i]); s += buf; }
                else s += std::to_string(v.integers[i]);
            }
            if (v.count > shown) s += ", ... (" + std::to_string(v.count) + " items)";
            return s + "]";
        }
        default: return std::to_string(v.type == GgufValueType::U64 ? static_cast<long long>(v.uinteger) : v.integer);
    }
}

nlohmann::json value_json(const GgufValue& v) {
    switch (v.type) {
        case GgufValueType::STRING: return v.string;
        case GgufValueType::BOOL: return v.integer != 0;
        case GgufValueType::F32:
        case GgufValueType::F64: return v.real;
        case GgufValueType::ARRAY:
            if (v.element_type == GgufValueType::STRING) return v.strings;
            if (!v.reals.empty()) return v.reals;
            if (!v.bytes.empty()) return nlohmann::json{{"type", gguf_value_type_name(v.element_type)}, {"count", v.count}};
            return v.integers;
        case GgufValueType::U64: return v.uinteger;
        default: return v.integer;
    }
}

std::string shape_string(const std::vector<int64_t>& s) {
    std::string out = "[";
    for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
    return out + "]";
}

}  // namespace

int cmd_inspect(int argc, char** argv) {
    Args args(argc, argv, 2);
    if (args.flag("--help") || args.flag("-h")) { std::fputs(kHelp, stdout); return kExitOk; }
    const bool as_json = args.flag("--json");
    const std::string bad = args.leftover_option();
    if (!bad.empty()) return usage_error("inspect", "unknown option '" + bad + "'");
    const auto pos = args.positionals();
    if (pos.size() != 1) return usage_error("inspect", "expected exactly one FILE.gguf");

    GgufFile file;
    if (file.open(pos[0], true) != MNEMO_OK) return report_failure("inspect", "cannot read '" + pos[0] + "'");
    std::unique_ptr<ModelImpl> model;
    const mnemo_status model_status = load_model(pos[0], true, &model);
    const std::string model_error = model_status == MNEMO_OK ? "" : mnemo_last_error();

    uint64_t total_bytes = 0;
    for (const auto& t : file.tensors()) total_bytes += t.n_bytes;

    if (as_json) {
        nlohmann::json j;
        j["file"] = pos[0];
        j["gguf_version"] = file.version();
        j["file_bytes"] = file.file_size();
        for (const auto& [k, v] : file.metadata()) j["metadata"][k] = value_json(v);
        j["tensors"] = nlohmann::json::array();
        for (const auto& t : file.tensors())
            j["tensors"].push_back({{"name", t.name}, {"type", dtype_name(t.type)}, {"shape", t.shape}, {"bytes", t.n_bytes}});
        j["tensor_bytes"] = total_bytes;
        if (model) {
            j["model"] = {{"valid", true}, {"params", model->n_params}, {"bounded", model->config.bounded()},
                          {"tokenizer", model->tokenizer ? model->tokenizer->kind() : "none"}};
            mnemo_session_params sp = mnemo_session_default_params();
            if (!model->config.bounded())
                sp.max_context = model->config.max_position_embeddings > 0 ? model->config.max_position_embeddings : 4096;
            MemoryPlan plan;
            if (plan_session(*model, sp, &plan) == MNEMO_OK)
                j["memory_plan"] = {{"max_context", sp.max_context}, {"state_bytes", plan.state_bytes}, {"scratch_bytes", plan.scratch_bytes},
                                    {"total_bytes", plan.total_bytes}, {"layer_state_bytes", plan.layer_state_bytes}};
            for (const auto& l : model->config.layers)
                j["model"]["layers"].push_back({{"mixer", mnemo_mixer_kind_name(l.mixer)}, {"heads", l.n_heads}, {"kv_heads", l.n_kv_heads},
                                                {"head_dim", l.head_dim}, {"window_size", l.window_size}, {"buffer_size", l.buffer_size},
                                                {"sink_size", l.sink_size}});
        } else {
            j["model"] = {{"valid", false}, {"error", model_error}, {"status", mnemo_status_name(model_status)}};
        }
        std::printf("%s\n", j.dump(2).c_str());
        return model ? kExitOk : kExitFailure;
    }

    std::printf("file: %s (%s, GGUF v%u)\n\nmetadata (%zu keys):\n", pos[0].c_str(), human_bytes(file.file_size()).c_str(), file.version(),
                file.metadata().size());
    for (const auto& [k, v] : file.metadata()) std::printf("  %-44s %s\n", k.c_str(), value_string(v).c_str());
    std::printf("\ntensors (%zu, %s):\n", file.tensors().size(), human_bytes(total_bytes).c_str());
    for (const auto& t : file.tensors())
        std::printf("  %-56s %-5s %-22s %s\n", t.name.c_str(), dtype_name(t.type), shape_string(t.shape).c_str(), human_bytes(t.n_bytes).c_str());
    if (!model) {
        std::printf("\nnot a loadable Mnemo model: %s: %s\n", mnemo_status_name(model_status), model_error.c_str());
        return kExitFailure;
    }
    const ModelConfig& c = model->config;
    std::printf("\nmodel: %s — %d layers, hidden %d, MLP %d, vocab %d, %.2fM parameters, tokenizer: %s\n", c.name.c_str(), c.n_layers,
                c.hidden_size, c.intermediate_size, c.vocab_size, static_cast<double>(model->n_params) / 1e6,
                model->tokenizer ? model->tokenizer->kind() : "none");
    std::printf("state: %s\n\nlayers:\n", c.bounded() ? "bounded (constant per sequence)" : "grows with context (attn/nsa layers)");
    // The per-session memory plan with default parameters (unbounded models: at their
    // training context).
    mnemo_session_params sp = mnemo_session_default_params();
    if (!c.bounded()) sp.max_context = c.max_position_embeddings > 0 ? c.max_position_embeddings : 4096;
    MemoryPlan plan;
    const bool planned = plan_session(*model, sp, &plan) == MNEMO_OK;
    const std::string plan_error = planned ? "" : mnemo_last_error();
    for (size_t i = 0; i < c.layers.size(); ++i) {
        const LayerConfig& l = c.layers[i];
        std::printf("  %3zu %-5s heads %d/%d  head_dim %d", i, mnemo_mixer_kind_name(l.mixer), l.n_heads, l.n_kv_heads, l.head_dim);
        if (l.window_size) std::printf("  window %d", l.window_size);
        if (l.mixer == MNEMO_MIXER_LTE) std::printf("  sink %d  buffer %d  routing %s/%s", l.sink_size, l.buffer_size, l.routing_method.c_str(), l.routing_shared.c_str());
        if (l.mixer == MNEMO_MIXER_NSA) std::printf("  block %d x %d", l.block_size, l.block_count);
        if (planned) std::printf("  state %s", human_bytes(plan.layer_state_bytes[i]).c_str());
        std::printf("\n");
    }
    if (planned) {
        std::printf("\nmemory plan per session (defaults%s): state %s + scratch %s = %s%s\n",
                    sp.max_context > 0 ? (", max_context " + std::to_string(sp.max_context)).c_str() : "",
                    human_bytes(plan.state_bytes).c_str(), human_bytes(plan.scratch_bytes).c_str(), human_bytes(plan.total_bytes).c_str(),
                    plan.bounded ? ", constant whatever the document's length" : ", grows with max_context");
    } else {
        std::printf("\nmemory plan: not available: %s\n", plan_error.c_str());
    }
    return kExitOk;
}

}  // namespace mnemo::cli
