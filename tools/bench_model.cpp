#include "bench_model.h"

#include "error.h"
#include "gguf.h"
#include "mixers/mixer.h"
#include "model.h"
#include "cpu/dtype.h"

#include <algorithm>
#include <cstring>

namespace mnemo::cli::bench {
namespace {

// Dimensions of one benchmark shape. The paper's come from the public configs of
// idiap/hybrid-linear-sparse-attention (configs/*_0.4B.json, *_1.4B.json); "default" from
// models/lalte-18m/config.json, with SWA / NSA / attention layers (which that model does
// not have) sized like its LTE layers.
struct Shape {
    const char* name;
    int32_t hidden, layers, vocab, intermediate;  // intermediate: FLA's rule, 256·ceil(hidden·8/3 / 256)
    bool tied;
    int32_t gdn_heads, gdn_head_dim;
    int32_t attn_heads, attn_kv_heads;            // lte / swa / attn layers of the hybrids (head_dim hidden/heads)
    int32_t lte_window, lte_buffer, lte_sink;
    int32_t swa_window;
    int32_t nsa_heads, nsa_kv_heads, nsa_head_dim, nsa_block, nsa_blocks, nsa_window;
    int32_t tf_heads, tf_kv_heads;                // the pure Transformer baseline
};

constexpr Shape kShapes[] = {
    {"default", 384, 8, 8192, 1024, true, 6, 64, 6, 6, 256, 128, 4, 384, 6, 2, 64, 64, 16, 256, 6, 6},
    {"paper-0.4b", 1024, 24, 32000, 2816, true, 8, 128, 16, 16, 768, 512, 4, 1024, 32, 2, 64, 64, 16, 512, 16, 16},
    {"paper-1.4b", 2048, 24, 32000, 5632, false, 8, 256, 32, 8, 768, 512, 4, 1024, 32, 2, 64, 64, 16, 512, 32, 8},
};

LayerConfig gdn_layer(const Shape& s) {
    LayerConfig l;
    l.mixer = MNEMO_MIXER_GDN;
    l.n_heads = l.n_kv_heads = s.gdn_heads;
    l.head_dim = l.head_v_dim = s.gdn_head_dim;
    l.conv_size = 4;
    return l;
}

LayerConfig attention_layer(const Shape& s, mnemo_mixer_kind kind, int32_t heads, int32_t kv_heads) {
    LayerConfig l;
    l.mixer = kind;
    l.n_heads = heads;
    l.n_kv_heads = kv_heads;
    l.head_dim = l.head_v_dim = s.hidden / heads;
    l.rope_theta = 10000.0f;
    if (kind == MNEMO_MIXER_SWA) l.window_size = s.swa_window;
    if (kind == MNEMO_MIXER_LTE) {
        l.window_size = s.lte_window;
        l.buffer_size = s.lte_buffer;
        l.sink_size = s.lte_sink;
        l.lte_conv_sizes = {3, 3, 3};
        l.lte_conv_dilations = {2, 2, 2};
        l.routing_method = "sigmoid";
        l.routing_shared = "head";
    }
    if (kind == MNEMO_MIXER_NSA) {
        l.n_heads = s.nsa_heads;
        l.n_kv_heads = s.nsa_kv_heads;
        l.head_dim = l.head_v_dim = s.nsa_head_dim;
        l.block_size = s.nsa_block;
        l.block_count = s.nsa_blocks;
        l.window_size = s.nsa_window;
    }
    return l;
}

// splitmix64: fast, seedable, good enough for benchmark weights.
struct Rng {
    uint64_t state;
    uint64_t next() {
        uint64_t z = (state += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    // Uniform in [-a, a].
    float uniform(float a) { return a * (static_cast<float>(next() >> 40) * (2.0f / 16777216.0f) - 1.0f); }
};

// Matrices take the requested type where their rows fit its blocks (as `mnemo convert` does).
DType storage_type(const std::vector<int64_t>& shape, DType requested) {
    if (shape.size() != 2) return DType::F32;
    if (requested == DType::Q8_0 && shape.back() % 32 != 0) return DType::F32;
    return requested;
}

// One row of f32 values into `type`, appended to `out`.
void append_row(const float* row, int64_t n, DType type, std::vector<uint8_t>* out) {
    const size_t at = out->size();
    const auto ct = static_cast<cpu::DType>(type);
    out->resize(at + static_cast<size_t>(cpu::row_bytes(ct, n)));
    cpu::row_from_f32(ct, row, out->data() + at, n);
}

}  // namespace

const std::vector<std::string>& shape_names() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> v;
        for (const Shape& s : kShapes) v.emplace_back(s.name);
        return v;
    }();
    return names;
}

const std::vector<std::string>& mixer_names() {
    static const std::vector<std::string> names = {"lte", "gdn", "swa", "attn", "nsa", "transformer", "nsa-only"};
    return names;
}

bool synthetic_config(const std::string& shape, const std::string& mixer, ModelConfig* out, std::string* error) {
    const Shape* s = nullptr;
    for (const Shape& c : kShapes)
        if (shape == c.name) s = &c;
    if (s == nullptr) {
        *error = "unknown shape '" + shape + "'";
        return false;
    }
    if (std::find(mixer_names().begin(), mixer_names().end(), mixer) == mixer_names().end()) {
        *error = "unknown mixer layout '" + mixer + "'";
        return false;
    }
    ModelConfig c;
    c.name = "bench-" + shape + "-" + mixer;
    c.vocab_size = s->vocab;
    c.hidden_size = s->hidden;
    c.n_layers = s->layers;
    c.intermediate_size = s->intermediate;
    c.norm_eps = 1e-6f;
    c.tie_word_embeddings = s->tied;
    c.max_position_embeddings = 4096;
    c.bos_token_id = 1;
    c.eos_token_id = 2;
    for (int32_t i = 0; i < s->layers; ++i) {
        LayerConfig l;
        if (mixer == "transformer") l = attention_layer(*s, MNEMO_MIXER_ATTN, s->tf_heads, s->tf_kv_heads);
        else if (mixer == "nsa-only") l = attention_layer(*s, MNEMO_MIXER_NSA, 0, 0);
        else if (mixer == "gdn" || i % 2 == 0) l = gdn_layer(*s);
        else {
            mnemo_mixer_kind kind = MNEMO_MIXER_ATTN;
            mixer_kind_from_name(mixer, &kind);
            l = attention_layer(*s, kind, s->attn_heads, s->attn_kv_heads);
        }
        c.layers.push_back(l);
    }
    *out = std::move(c);
    return true;
}

mnemo_status write_random_model(const std::string& path, const ModelConfig& config, DType type, uint32_t seed,
                                const std::function<void(size_t, size_t)>& progress) {
    GgufWriter w;
    write_model_config(config, &w);
    w.set("mnemo.tokenizer.kind", GgufValue::make_string("byte"));
    w.set("mnemo.tokenizer.byte.offset", GgufValue::make_u32(4));
    const auto specs = model_tensor_specs(config);
    std::vector<std::vector<uint8_t>> data(specs.size());
    Rng rng{seed};
    std::vector<float> row;
    for (size_t i = 0; i < specs.size(); ++i) {
        const auto& shape = specs[i].shape;
        const DType t = storage_type(shape, type);
        const int64_t cols = shape.back();
        int64_t rows = 1;
        for (size_t d = 0; d + 1 < shape.size(); ++d) rows *= shape[d];
        const bool is_norm = specs[i].name.find("norm.weight") != std::string::npos;
        // Uniform with standard deviation ~0.02 (the paper's initialiser range is 0.006-0.02).
        const float a = 0.02f * 1.7320508f;
        row.resize(static_cast<size_t>(cols));
        data[i].reserve(static_cast<size_t>(rows * cpu::row_bytes(static_cast<cpu::DType>(t), cols)));
        for (int64_t r = 0; r < rows; ++r) {
            for (auto& x : row) x = is_norm ? 1.0f : rng.uniform(a);
            append_row(row.data(), cols, t, &data[i]);
        }
        MNEMO_TRY(w.add_tensor(specs[i].name, t, shape, data[i].data(), data[i].size()));
        if (progress) progress(i + 1, specs.size());
    }
    return w.write(path);
}

mnemo_status export_llama_gguf(const std::string& mnemo_path, const std::string& out_path) {
    GgufFile in;
    MNEMO_TRY(in.open(mnemo_path, true));
    ModelConfig c;
    MNEMO_TRY(parse_model_config(in, &c));
    const LayerConfig& l0 = c.layers.front();
    for (const LayerConfig& l : c.layers)
        if (l.mixer != MNEMO_MIXER_ATTN || l.qkv_bias || l.n_heads != l0.n_heads || l.n_kv_heads != l0.n_kv_heads ||
            l.head_dim != l0.head_dim || l.head_v_dim != l.head_dim || l.rope_theta != l0.rope_theta)
            return failf(MNEMO_ERR_UNSUPPORTED,
                         "%s: only a Transformer (attn on every layer, equal heads, no qkv bias) maps to llama.cpp's 'llama' "
                         "architecture",
                         mnemo_path.c_str());
    GgufWriter w;
    w.set("general.architecture", GgufValue::make_string("llama"));
    w.set("general.name", GgufValue::make_string(c.name + " (exported by mnemo bench)"));
    w.set("llama.vocab_size", GgufValue::make_u32(static_cast<uint32_t>(c.vocab_size)));
    w.set("llama.context_length", GgufValue::make_u32(static_cast<uint32_t>(std::max(c.max_position_embeddings, 4096))));
    w.set("llama.embedding_length", GgufValue::make_u32(static_cast<uint32_t>(c.hidden_size)));
    w.set("llama.block_count", GgufValue::make_u32(static_cast<uint32_t>(c.n_layers)));
    w.set("llama.feed_forward_length", GgufValue::make_u32(static_cast<uint32_t>(c.intermediate_size)));
    w.set("llama.attention.head_count", GgufValue::make_u32(static_cast<uint32_t>(l0.n_heads)));
    w.set("llama.attention.head_count_kv", GgufValue::make_u32(static_cast<uint32_t>(l0.n_kv_heads)));
    w.set("llama.attention.key_length", GgufValue::make_u32(static_cast<uint32_t>(l0.head_dim)));
    w.set("llama.attention.value_length", GgufValue::make_u32(static_cast<uint32_t>(l0.head_dim)));
    w.set("llama.rope.dimension_count", GgufValue::make_u32(static_cast<uint32_t>(l0.head_dim)));
    w.set("llama.rope.freq_base", GgufValue::make_f32(l0.rope_theta));
    w.set("llama.attention.layer_norm_rms_epsilon", GgufValue::make_f32(c.norm_eps));
    w.set("tokenizer.ggml.model", GgufValue::make_string("none"));
    const std::pair<const char*, const char*> per_layer[] = {
        {"attn_norm.weight", "attn_norm.weight"},     {"attn.q_proj.weight", "attn_q.weight"},
        {"attn.k_proj.weight", "attn_k.weight"},      {"attn.v_proj.weight", "attn_v.weight"},
        {"attn.o_proj.weight", "attn_output.weight"}, {"mlp_norm.weight", "ffn_norm.weight"},
        {"mlp.gate_proj.weight", "ffn_gate.weight"},  {"mlp.up_proj.weight", "ffn_up.weight"},
        {"mlp.down_proj.weight", "ffn_down.weight"},
    };
    std::vector<std::pair<std::string, std::string>> names = {{"model.embeddings.weight", "token_embd.weight"},
                                                              {"model.norm.weight", "output_norm.weight"}};
    if (!c.tie_word_embeddings) names.emplace_back("lm_head.weight", "output.weight");
    for (int32_t i = 0; i < c.n_layers; ++i)
        for (const auto& [from, to] : per_layer)
            names.emplace_back("model.layers." + std::to_string(i) + "." + from, "blk." + std::to_string(i) + "." + to);
    for (const auto& [from, to] : names) {
        const GgufTensor* t = in.find_tensor(from);
        if (t == nullptr) return failf(MNEMO_ERR_MODEL_INVALID, "%s: tensor '%s' is missing", mnemo_path.c_str(), from.c_str());
        MNEMO_TRY(w.add_tensor(to, t->type, t->shape, t->data, t->n_bytes));
    }
    return w.write(out_path);
}

}  // namespace mnemo::cli::bench
