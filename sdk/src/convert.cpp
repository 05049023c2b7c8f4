#include "convert.h"

#include "cpu/dtype.h"
#include "error.h"
#include "gguf.h"
#include "mixers/mixer.h"
#include "model.h"
#include "safetensors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

namespace mnemo {
namespace fs = std::filesystem;
using json = nlohmann::json;

bool parse_weight_type(const std::string& name, DType* out) {
    if (name == "f32") *out = DType::F32;
    else if (name == "f16") *out = DType::F16;
    else if (name == "bf16") *out = DType::BF16;
    else if (name == "q8_0") *out = DType::Q8_0;
    else return false;
    return true;
}

namespace {

// Typed access to config.json values with messages that name the field.
class Fields {
public:
    Fields(const json& j, std::string where) : j_(j), where_(std::move(where)) {}

    bool has(const char* key) const { return j_.contains(key) && !j_[key].is_null(); }

    mnemo_status integer(const char* key, int64_t lo, int64_t hi, int32_t* out, bool required = true) const {
        if (!has(key)) {
            if (!required) return MNEMO_OK;
            return failf(MNEMO_ERR_MODEL_INVALID, "%s: field '%s' is required", where_.c_str(), key);
        }
        const json& v = j_[key];
        if (!v.is_number_integer()) return failf(MNEMO_ERR_MODEL_INVALID, "%s: field '%s' must be an integer", where_.c_str(), key);
        const int64_t x = v.get<int64_t>();
        if (x < lo || x > hi)
            return failf(MNEMO_ERR_MODEL_INVALID, "%s: field '%s' = %lld is outside [%lld, %lld]", where_.c_str(), key,
                         static_cast<long long>(x), static_cast<long long>(lo), static_cast<long long>(hi));
        *out = static_cast<int32_t>(x);
        return MNEMO_OK;
    }
    mnemo_status real(const char* key, double lo, double hi, float* out) const {
        if (!has(key)) return MNEMO_OK;
        const json& v = j_[key];
        if (!v.is_number()) return failf(MNEMO_ERR_MODEL_INVALID, "%s: field '%s' must be a number", where_.c_str(), key);
        const double x = v.get<double>();
        if (!std::isfinite(x) || x < lo || x > hi)
            return failf(MNEMO_ERR_MODEL_INVALID, "%s: field '%s' = %g is outside [%g, %g]", where_.c_str(), key, x, lo, hi);
        *out = static_cast<float>(x);
        return MNEMO_OK;
    }
    mnemo_status boolean(const char* key, bool* out) const {
        if (!has(key)) return MNEMO_OK;
        if (!j_[key].is_boolean()) return failf(MNEMO_ERR_MODEL_INVALID, "%s: field '%s' must be true or false", where_.c_str(), key);
        *out = j_[key].get<bool>();
        return MNEMO_OK;
    }
    mnemo_status string(const char* key, std::string* out) const {
        if (!has(key)) return MNEMO_OK;
        if (!j_[key].is_string()) return failf(MNEMO_ERR_MODEL_INVALID, "%s: field '%s' must be a string", where_.c_str(), key);
        *out = j_[key].get<std::string>();
        return MNEMO_OK;
    }
    // An integer or a list of integers (the paper writes conv_size either way), each
    // in [lo, hi] (the range parse_model_config accepts).
    mnemo_status int_list(const char* key, int64_t lo, int64_t hi, std::vector<int32_t>* out) const {
        if (!has(key)) return MNEMO_OK;
        const json& v = j_[key];
        out->clear();
        if (!v.is_number_integer() && (!v.is_array() || v.empty() || v.size() > 64))
            return failf(MNEMO_ERR_MODEL_INVALID, "%s: field '%s' must be an integer or a list of 1..64 integers", where_.c_str(), key);
        for (const json& e : v.is_array() ? v : json::array({v})) {
            if (!e.is_number_integer() || e.get<int64_t>() < lo || e.get<int64_t>() > hi)
                return failf(MNEMO_ERR_MODEL_INVALID, "%s: field '%s' must hold integers in [%lld, %lld]", where_.c_str(), key,
                             static_cast<long long>(lo), static_cast<long long>(hi));
            out->push_back(e.get<int32_t>());
        }
        return MNEMO_OK;
    }

private:
    const json& j_;
    std::string where_;
};

const std::vector<int64_t>* shape_of(const std::map<std::string, std::vector<int64_t>>& shapes, const std::string& name) {
    auto it = shapes.find(name);
    return it == shapes.end() ? nullptr : &it->second;
}

mnemo_status attention_layer(const Fields& a, const std::string& attn_type, int32_t hidden, LayerConfig* l, const std::string& where) {
    MNEMO_TRY(a.integer("num_heads", 1, 4096, &l->n_heads));
    l->n_kv_heads = l->n_heads;
    MNEMO_TRY(a.integer("num_kv_heads", 1, 4096, &l->n_kv_heads, false));
    if (a.has("head_dim")) MNEMO_TRY(a.integer("head_dim", 1, 4096, &l->head_dim));
    else l->head_dim = hidden / l->n_heads;
    if (l->head_dim < 1 || l->head_dim > 4096)
        return failf(MNEMO_ERR_MODEL_INVALID, "%s: hidden_size %d / num_heads %d gives head_dim %d, outside [1, 4096]; set head_dim",
                     where.c_str(), hidden, l->n_heads, l->head_dim);
    if (l->n_heads % l->n_kv_heads != 0)
        return failf(MNEMO_ERR_MODEL_INVALID, "%s: num_heads %d is not a multiple of num_kv_heads %d", where.c_str(), l->n_heads,
                     l->n_kv_heads);
    l->head_v_dim = l->head_dim;
    MNEMO_TRY(a.boolean("qkv_bias", &l->qkv_bias));
    MNEMO_TRY(a.real("rope_theta", 1.0, 1e12, &l->rope_theta));
    if (attn_type == "nsa") {
        l->mixer = MNEMO_MIXER_NSA;
        MNEMO_TRY(a.integer("block_size", 1, 1 << 16, &l->block_size));
        MNEMO_TRY(a.integer("block_counts", 1, 1 << 16, &l->block_count));
        MNEMO_TRY(a.integer("window_size", 0, 1 << 24, &l->window_size, false));
        return MNEMO_OK;
    }
    if (attn_type == "lte") {
        l->mixer = MNEMO_MIXER_LTE;
        MNEMO_TRY(a.integer("window_size", 1, 1 << 24, &l->window_size));
        l->sink_size = 4;
        MNEMO_TRY(a.integer("sink_size", 0, 1 << 20, &l->sink_size, false));
        MNEMO_TRY(a.integer("buffer_size", 0, 1 << 24, &l->buffer_size));
        l->lte_conv_sizes = {3, 3, 3};
        l->lte_conv_dilations = {1, 1, 1};
        MNEMO_TRY(a.int_list("conv_size", 1, 63, &l->lte_conv_sizes));
        MNEMO_TRY(a.int_list("conv_dilation", 1, 64, &l->lte_conv_dilations));
        if (l->lte_conv_sizes.size() != l->lte_conv_dilations.size())
            return failf(MNEMO_ERR_MODEL_INVALID, "%s: conv_size and conv_dilation must have the same length", where.c_str());
        l->routing_method = "relu";
        MNEMO_TRY(a.string("routing_method", &l->routing_method));
        if (l->routing_method != "sigmoid" && l->routing_method != "relu")
            return failf(MNEMO_ERR_UNSUPPORTED, "%s: routing_method '%s' is not supported (sigmoid or relu)", where.c_str(), l->routing_method.c_str());
        l->routing_shared = "head";
        MNEMO_TRY(a.string("routing_shared", &l->routing_shared));
        if (l->routing_shared != "head" && l->routing_shared != "layer")
            return failf(MNEMO_ERR_UNSUPPORTED, "%s: routing_shared '%s' is not supported (head or layer)", where.c_str(), l->routing_shared.c_str());
        if (l->buffer_size < l->sink_size)
            return failf(MNEMO_ERR_MODEL_INVALID, "%s: buffer_size %d is smaller than sink_size %d", where.c_str(), l->buffer_size, l->sink_size);
        return MNEMO_OK;
    }
    if (attn_type != "attn" && attn_type != "swa")
        return failf(MNEMO_ERR_UNSUPPORTED, "%s: attn_type '%s' is not supported (lte, nsa, attn)", where.c_str(), attn_type.c_str());
    int32_t window = 0;
    MNEMO_TRY(a.integer("window_size", 1, 1 << 24, &window, false));
    l->mixer = window > 0 ? MNEMO_MIXER_SWA : MNEMO_MIXER_ATTN;
    l->window_size = window;
    return MNEMO_OK;
}

}  // namespace

mnemo_status model_config_from_hf_json(const std::string& json_text, const std::string& label,
                                       const std::map<std::string, std::vector<int64_t>>& shapes, ModelConfig* out) {
    const json j = json::parse(json_text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return failf(MNEMO_ERR_CORRUPT, "%s: not a valid JSON object", label.c_str());
    Fields f(j, label);
    std::string model_type;
    MNEMO_TRY(f.string("model_type", &model_type));
    ModelConfig c;
    MNEMO_TRY(f.integer("hidden_size", 1, 1 << 20, &c.hidden_size));
    MNEMO_TRY(f.integer("num_hidden_layers", 1, 4096, &c.n_layers));
    MNEMO_TRY(f.real("norm_eps", 0.0, 1.0, &c.norm_eps));
    c.tie_word_embeddings = false;
    MNEMO_TRY(f.boolean("tie_word_embeddings", &c.tie_word_embeddings));
    MNEMO_TRY(f.integer("max_position_embeddings", 0, INT32_MAX, &c.max_position_embeddings, false));
    const auto* emb = shape_of(shapes, "model.embeddings.weight");
    if (emb == nullptr || emb->size() != 2)
        return failf(MNEMO_ERR_MODEL_INVALID, "%s: checkpoint has no 2-D 'model.embeddings.weight'", label.c_str());
    if ((*emb)[0] < 1 || (*emb)[0] > (1 << 24))
        return failf(MNEMO_ERR_MODEL_INVALID, "%s: model.embeddings.weight has %lld rows, outside [1, 2^24]", label.c_str(),
                     static_cast<long long>((*emb)[0]));
    c.vocab_size = static_cast<int32_t>((*emb)[0]);
    if (f.has("vocab_size")) {
        int32_t v = 0;
        MNEMO_TRY(f.integer("vocab_size", 1, 1 << 24, &v));
        if (v != c.vocab_size)
            return failf(MNEMO_ERR_MODEL_INVALID, "%s: vocab_size %d contradicts model.embeddings.weight's %d rows", label.c_str(), v, c.vocab_size);
    }
    if (f.has("bos_token_id")) MNEMO_TRY(f.integer("bos_token_id", -1, c.vocab_size - 1, &c.bos_token_id));
    if (f.has("eos_token_id")) MNEMO_TRY(f.integer("eos_token_id", -1, c.vocab_size - 1, &c.eos_token_id));
    const auto* gate = shape_of(shapes, "model.layers.0.mlp.gate_proj.weight");
    if (gate == nullptr || gate->size() != 2)
        return failf(MNEMO_ERR_MODEL_INVALID, "%s: checkpoint has no 2-D 'model.layers.0.mlp.gate_proj.weight'", label.c_str());
    if ((*gate)[0] < 1 || (*gate)[0] > (1 << 20))
        return failf(MNEMO_ERR_MODEL_INVALID, "%s: model.layers.0.mlp.gate_proj.weight has %lld rows, outside [1, 2^20]", label.c_str(),
                     static_cast<long long>((*gate)[0]));
    c.intermediate_size = static_cast<int32_t>((*gate)[0]);
    std::string act = "swish";
    MNEMO_TRY(f.string("hidden_act", &act));
    if (act != "swish" && act != "silu")
        return failf(MNEMO_ERR_UNSUPPORTED, "%s: hidden_act '%s' is not supported (swish)", label.c_str(), act.c_str());

    c.layers.resize(static_cast<size_t>(c.n_layers));
    if (model_type == "transformer" || model_type == "nsa") {
        for (int32_t i = 0; i < c.n_layers; ++i)
            MNEMO_TRY(attention_layer(f, model_type == "nsa" ? "nsa" : "attn", c.hidden_size, &c.layers[static_cast<size_t>(i)], label));
    } else if (model_type == "hybrid_gated_deltanet" || model_type == "gated_deltanet") {
        LayerConfig gdn;
        gdn.mixer = MNEMO_MIXER_GDN;
        MNEMO_TRY(f.integer("num_heads", 1, 4096, &gdn.n_heads));
        gdn.n_kv_heads = gdn.n_heads;
        MNEMO_TRY(f.integer("head_dim", 1, 4096, &gdn.head_dim));
        float expand_v = 1.0f;
        MNEMO_TRY(f.real("expand_v", 0.0, 64.0, &expand_v));
        gdn.head_v_dim = static_cast<int32_t>(gdn.head_dim * expand_v);
        if (gdn.head_v_dim <= 0 || gdn.head_v_dim > 8192 || std::fabs(gdn.head_v_dim - gdn.head_dim * expand_v) > 1e-6f)
            return failf(MNEMO_ERR_MODEL_INVALID, "%s: head_dim * expand_v must be an integer in [1, 8192]", label.c_str());
        if (f.has("num_v_heads")) {
            int32_t nv = 0;
            MNEMO_TRY(f.integer("num_v_heads", 1, 4096, &nv));
            if (nv != gdn.n_heads)
                return failf(MNEMO_ERR_UNSUPPORTED, "%s: num_v_heads != num_heads is not supported yet", label.c_str());
        }
        gdn.conv_size = 4;
        MNEMO_TRY(f.integer("conv_size", 1, 64, &gdn.conv_size, false));
        MNEMO_TRY(f.boolean("use_gate", &gdn.use_gate));
        MNEMO_TRY(f.boolean("use_short_conv", &gdn.use_short_conv));
        for (auto& l : c.layers) l = gdn;
        if (j.contains("attn") && !j["attn"].is_null()) {
            const json& a = j["attn"];
            if (!a.is_object() || !a.contains("layers") || !a["layers"].is_array())
                return failf(MNEMO_ERR_MODEL_INVALID, "%s: 'attn' must be an object with a 'layers' list", label.c_str());
            Fields af(a, label + " attn");
            std::string attn_type = "attn";
            if (a.contains("attn_type") && !a["attn_type"].is_null()) MNEMO_TRY(af.string("attn_type", &attn_type));
            for (const json& idx : a["layers"]) {
                if (!idx.is_number_integer() || idx.get<int64_t>() < 0 || idx.get<int64_t>() >= c.n_layers)
                    return failf(MNEMO_ERR_MODEL_INVALID, "%s: attn.layers holds an index outside [0, %d)", label.c_str(), c.n_layers);
                LayerConfig& l = c.layers[static_cast<size_t>(idx.get<int64_t>())];
                l = LayerConfig{};
                MNEMO_TRY(attention_layer(af, attn_type, c.hidden_size, &l, label + " attn"));
            }
        }
    } else {
        return failf(MNEMO_ERR_UNSUPPORTED,
                     "%s: model_type '%s' is not supported (hybrid_gated_deltanet, gated_deltanet, transformer, nsa)", label.c_str(),
                     model_type.c_str());
    }
    *out = std::move(c);
    return MNEMO_OK;
}

namespace {

mnemo_status read_text_file(const fs::path& p, std::string* out) {
    std::ifstream in(p, std::ios::binary);
    if (!in) return failf(MNEMO_ERR_IO, "cannot open '%s'", p.c_str());
    std::ostringstream ss;
    ss << in.rdbuf();
    *out = ss.str();
    return MNEMO_OK;
}

// Parameters that stay f32 whatever the requested weight type: vectors, convs and
// anything whose rows do not fit the quantisation block.
DType storage_type(const std::vector<int64_t>& shape, DType requested) {
    if (shape.size() != 2) return DType::F32;
    if (requested == DType::Q8_0 && shape.back() % 32 != 0) return DType::F32;
    return requested;
}

}  // namespace

mnemo_status convert_hf_directory(const std::string& hf_dir, const std::string& out_path, const ConvertOptions& options,
                                  ConvertReport* report) {
    std::error_code ec;
    const fs::path dir(hf_dir);
    if (!fs::is_directory(dir, ec)) return failf(MNEMO_ERR_IO, "'%s' is not a directory (expected config.json + *.safetensors)", hf_dir.c_str());
    std::string config_text;
    MNEMO_TRY(read_text_file(dir / "config.json", &config_text));

    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir, ec))
        if (e.is_regular_file() && e.path().extension() == ".safetensors") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    if (files.empty()) return failf(MNEMO_ERR_IO, "'%s' holds no *.safetensors file", hf_dir.c_str());

    std::vector<std::unique_ptr<SafetensorsFile>> shards;
    std::map<std::string, const SafeTensor*> by_name;
    std::map<std::string, std::vector<int64_t>> shapes;
    for (const auto& p : files) {
        auto s = std::make_unique<SafetensorsFile>();
        MNEMO_TRY(s->open(p.string()));
        for (const SafeTensor& t : s->tensors()) {
            if (by_name.count(t.name)) return failf(MNEMO_ERR_CORRUPT, "tensor '%s' appears in more than one shard", t.name.c_str());
            by_name[t.name] = &t;
            shapes[t.name] = t.shape;
        }
        shards.push_back(std::move(s));
    }

    ConvertReport r;
    MNEMO_TRY(model_config_from_hf_json(config_text, (dir / "config.json").string(), shapes, &r.config));
    r.config.name = options.name.empty() ? dir.filename().string() : options.name;
    if (r.config.name.empty()) r.config.name = fs::absolute(dir).parent_path().filename().string();

    GgufWriter writer;
    write_model_config(r.config, &writer);

    // Tokenizer: explicit option, else tokenizer.model beside the checkpoint.
    std::string tok = options.tokenizer;
    if (tok.empty() && fs::exists(dir / "tokenizer.model")) tok = (dir / "tokenizer.model").string();
    if (tok.rfind("byte", 0) == 0) {
        int offset = 0;
        if (tok.size() > 5 && tok[4] == ':') offset = std::atoi(tok.c_str() + 5);
        if (offset < 0 || offset + 256 > r.config.vocab_size)
            return failf(MNEMO_ERR_INVALID_ARGUMENT, "byte tokenizer offset %d does not fit the vocabulary of %d", offset, r.config.vocab_size);
        writer.set("mnemo.tokenizer.kind", GgufValue::make_string("byte"));
        writer.set("mnemo.tokenizer.byte.offset", GgufValue::make_u32(static_cast<uint32_t>(offset)));
    } else if (!tok.empty()) {
        std::string spm;
        MNEMO_TRY(read_text_file(tok, &spm));
        std::unique_ptr<Tokenizer> check;
        MNEMO_TRY(make_sentencepiece_tokenizer(spm, &check));
        if (check->vocab_size() > r.config.vocab_size)
            return failf(MNEMO_ERR_MODEL_INVALID, "tokenizer '%s' has %d pieces, more than the model's %d", tok.c_str(), check->vocab_size(),
                         r.config.vocab_size);
        writer.set("mnemo.tokenizer.kind", GgufValue::make_string("sentencepiece"));
        writer.set("mnemo.tokenizer.sentencepiece.model", GgufValue::make_bytes(std::vector<uint8_t>(spm.begin(), spm.end())));
    }

    const std::vector<TensorSpec> specs = model_tensor_specs(r.config);
    std::vector<std::vector<uint8_t>> buffers(specs.size());
    std::vector<float> f32;
    for (size_t i = 0; i < specs.size(); ++i) {
        const TensorSpec& spec = specs[i];
        auto it = by_name.find(spec.name);
        if (it == by_name.end())
            return failf(MNEMO_ERR_MODEL_INVALID, "checkpoint lacks tensor '%s' that config.json implies", spec.name.c_str());
        const SafeTensor& t = *it->second;
        if (t.shape != spec.shape) {
            std::string got, want;
            for (auto d : t.shape) got += std::to_string(d) + " ";
            for (auto d : spec.shape) want += std::to_string(d) + " ";
            return failf(MNEMO_ERR_MODEL_INVALID, "tensor '%s' has shape [ %s] but config.json implies [ %s]", spec.name.c_str(), got.c_str(),
                         want.c_str());
        }
        MNEMO_TRY(safetensor_to_f32(t, &f32));
        for (float x : f32)
            if (!std::isfinite(x)) return failf(MNEMO_ERR_MODEL_INVALID, "tensor '%s' holds NaN or Inf", spec.name.c_str());
        const DType type = storage_type(spec.shape, options.weight_type);
        if (type != options.weight_type && spec.shape.size() == 2)
            r.notes.push_back(spec.name + " kept in f32 (row length not a multiple of 32)");
        uint64_t n_el = 0, n_bytes = 0;
        MNEMO_TRY(tensor_byte_size(type, spec.shape, spec.name, &n_el, &n_bytes));
        buffers[i].resize(n_bytes);
        const int64_t row = spec.shape.back();
        const int64_t rows = static_cast<int64_t>(n_el) / row;
        const uint64_t row_bytes = n_bytes / static_cast<uint64_t>(rows);
        for (int64_t rr = 0; rr < rows; ++rr)
            cpu::row_from_f32(static_cast<cpu::DType>(type), f32.data() + rr * row, buffers[i].data() + rr * row_bytes, row);
        MNEMO_TRY(writer.add_tensor(spec.name, type, spec.shape, buffers[i].data(), n_bytes));
        r.n_params += n_el;
        r.bytes_written += n_bytes;
        if (options.progress) options.progress(i + 1, specs.size(), spec.name);
    }
    for (const auto& entry : by_name) {
        const std::string& name = entry.first;  // not a structured binding: clang < 16 cannot capture one
        const bool tied_head = name == "lm_head.weight" && r.config.tie_word_embeddings;
        if (!tied_head && std::none_of(specs.begin(), specs.end(), [&](const TensorSpec& s) { return s.name == name; }))
            r.notes.push_back("ignored tensor '" + name + "' (not part of the model description)");
    }
    r.n_tensors = specs.size();
    MNEMO_TRY(writer.write(out_path));
    if (report != nullptr) *report = std::move(r);
    return MNEMO_OK;
}

}  // namespace mnemo
