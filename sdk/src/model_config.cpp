#include "model_config.h"

#include "error.h"

#include <cmath>

namespace mnemo {

bool mixer_kind_from_name(const std::string& name, mnemo_mixer_kind* out) {
    static const std::pair<const char*, mnemo_mixer_kind> table[] = {
        {"gdn", MNEMO_MIXER_GDN}, {"swa", MNEMO_MIXER_SWA}, {"lte", MNEMO_MIXER_LTE},
        {"nsa", MNEMO_MIXER_NSA}, {"attn", MNEMO_MIXER_ATTN}};
    for (const auto& [n, k] : table) {
        if (name == n) { *out = k; return true; }
    }
    return false;
}

bool ModelConfig::bounded() const {
    for (const auto& l : layers)
        if (l.mixer == MNEMO_MIXER_NSA || l.mixer == MNEMO_MIXER_ATTN) return false;
    return true;
}

namespace {

// Typed metadata access with messages naming the file and key.
class Meta {
public:
    explicit Meta(const GgufFile& f) : f_(f) {}

    mnemo_status integer(const std::string& key, int64_t lo, int64_t hi, int32_t* out, bool required = true) const {
        const GgufValue* v = f_.find(key);
        if (v == nullptr) {
            if (!required) return MNEMO_OK;
            return failf(MNEMO_ERR_MODEL_INVALID, "%s: required metadata key '%s' is missing", f_.label().c_str(), key.c_str());
        }
        if (!v->is_integer() || v->type == GgufValueType::BOOL)
            return failf(MNEMO_ERR_MODEL_INVALID, "%s: metadata '%s' must be an integer, found %s", f_.label().c_str(), key.c_str(),
                         gguf_value_type_name(v->type));
        const bool is_unsigned64 = v->type == GgufValueType::U64;
        if ((is_unsigned64 && v->uinteger > static_cast<uint64_t>(hi)) || v->integer < lo || v->integer > hi)
            return failf(MNEMO_ERR_MODEL_INVALID, "%s: metadata '%s' = %lld is outside [%lld, %lld]", f_.label().c_str(), key.c_str(),
                         static_cast<long long>(v->integer), static_cast<long long>(lo), static_cast<long long>(hi));
        *out = static_cast<int32_t>(v->integer);
        return MNEMO_OK;
    }
    mnemo_status real(const std::string& key, double lo, double hi, float* out, bool required = true) const {
        const GgufValue* v = f_.find(key);
        if (v == nullptr) {
            if (!required) return MNEMO_OK;
            return failf(MNEMO_ERR_MODEL_INVALID, "%s: required metadata key '%s' is missing", f_.label().c_str(), key.c_str());
        }
        double x;
        if (v->is_float()) x = v->real;
        else if (v->is_integer() && v->type != GgufValueType::BOOL) x = static_cast<double>(v->integer);
        else return failf(MNEMO_ERR_MODEL_INVALID, "%s: metadata '%s' must be a number", f_.label().c_str(), key.c_str());
        if (!std::isfinite(x) || x < lo || x > hi)
            return failf(MNEMO_ERR_MODEL_INVALID, "%s: metadata '%s' = %g is outside [%g, %g]", f_.label().c_str(), key.c_str(), x, lo, hi);
        *out = static_cast<float>(x);
        return MNEMO_OK;
    }
    mnemo_status boolean(const std::string& key, bool* out) const {
        const GgufValue* v = f_.find(key);
        if (v == nullptr) return MNEMO_OK;
        if (!v->is_integer()) return failf(MNEMO_ERR_MODEL_INVALID, "%s: metadata '%s' must be a bool", f_.label().c_str(), key.c_str());
        *out = v->integer != 0;
        return MNEMO_OK;
    }
    mnemo_status string(const std::string& key, std::string* out, bool required) const {
        const GgufValue* v = f_.find(key);
        if (v == nullptr) {
            if (!required) return MNEMO_OK;
            return failf(MNEMO_ERR_MODEL_INVALID, "%s: required metadata key '%s' is missing", f_.label().c_str(), key.c_str());
        }
        if (v->type != GgufValueType::STRING)
            return failf(MNEMO_ERR_MODEL_INVALID, "%s: metadata '%s' must be a string", f_.label().c_str(), key.c_str());
        *out = v->string;
        return MNEMO_OK;
    }
    mnemo_status int_array(const std::string& key, int64_t lo, int64_t hi, std::vector<int32_t>* out) const {
        const GgufValue* v = f_.find(key);
        if (v == nullptr) return failf(MNEMO_ERR_MODEL_INVALID, "%s: required metadata key '%s' is missing", f_.label().c_str(), key.c_str());
        if (v->type != GgufValueType::ARRAY || v->integers.size() != v->count || v->count == 0 || v->count > 64)
            return failf(MNEMO_ERR_MODEL_INVALID, "%s: metadata '%s' must be a non-empty integer array of at most 64", f_.label().c_str(), key.c_str());
        out->clear();
        for (int64_t x : v->integers) {
            if (x < lo || x > hi)
                return failf(MNEMO_ERR_MODEL_INVALID, "%s: metadata '%s' holds %lld, outside [%lld, %lld]", f_.label().c_str(), key.c_str(),
                             static_cast<long long>(x), static_cast<long long>(lo), static_cast<long long>(hi));
            out->push_back(static_cast<int32_t>(x));
        }
        return MNEMO_OK;
    }
    const std::string& label() const { return f_.label(); }

private:
    const GgufFile& f_;
};

constexpr int64_t kMaxDim = 1 << 20;
constexpr int64_t kMaxHeads = 4096;

}  // namespace

mnemo_status parse_model_config(const GgufFile& file, ModelConfig* out) {
    Meta m(file);
    ModelConfig c;
    std::string arch;
    MNEMO_TRY(m.string("general.architecture", &arch, true));
    if (arch != "mnemo-hybrid")
        return failf(MNEMO_ERR_UNSUPPORTED, "%s: architecture '%s' is not supported (expected 'mnemo-hybrid'; convert with `mnemo convert`)",
                     file.label().c_str(), arch.c_str());
    MNEMO_TRY(m.string("general.name", &c.name, false));
    MNEMO_TRY(m.integer("mnemo.vocab_size", 1, 1 << 24, &c.vocab_size));
    MNEMO_TRY(m.integer("mnemo.hidden_size", 1, kMaxDim, &c.hidden_size));
    MNEMO_TRY(m.integer("mnemo.block_count", 1, 4096, &c.n_layers));
    MNEMO_TRY(m.integer("mnemo.intermediate_size", 1, kMaxDim, &c.intermediate_size));
    MNEMO_TRY(m.real("mnemo.norm_eps", 0.0, 1.0, &c.norm_eps));
    MNEMO_TRY(m.boolean("mnemo.tie_word_embeddings", &c.tie_word_embeddings));
    MNEMO_TRY(m.integer("mnemo.context_length", 0, INT32_MAX, &c.max_position_embeddings, false));
    MNEMO_TRY(m.integer("mnemo.bos_token_id", -1, c.vocab_size - 1, &c.bos_token_id, false));
    MNEMO_TRY(m.integer("mnemo.eos_token_id", -1, c.vocab_size - 1, &c.eos_token_id, false));
    c.layers.resize(static_cast<size_t>(c.n_layers));
    for (int32_t i = 0; i < c.n_layers; ++i) {
        LayerConfig& l = c.layers[static_cast<size_t>(i)];
        const std::string p = "mnemo.layer." + std::to_string(i) + ".";
        std::string mixer;
        MNEMO_TRY(m.string(p + "mixer", &mixer, true));
        if (!mixer_kind_from_name(mixer, &l.mixer))
            return failf(MNEMO_ERR_UNSUPPORTED, "%s: %smixer = '%s' is not one of gdn, swa, lte, nsa, attn", file.label().c_str(), p.c_str(), mixer.c_str());
        MNEMO_TRY(m.integer(p + "n_heads", 1, kMaxHeads, &l.n_heads));
        l.n_kv_heads = l.n_heads;
        MNEMO_TRY(m.integer(p + "n_kv_heads", 1, kMaxHeads, &l.n_kv_heads, false));
        MNEMO_TRY(m.integer(p + "head_dim", 1, 4096, &l.head_dim));
        l.head_v_dim = l.head_dim;
        MNEMO_TRY(m.integer(p + "head_v_dim", 1, 8192, &l.head_v_dim, false));
        if (l.n_heads % l.n_kv_heads != 0)
            return failf(MNEMO_ERR_MODEL_INVALID, "%s: layer %d has %d heads, not a multiple of its %d KV heads", file.label().c_str(), i,
                         l.n_heads, l.n_kv_heads);
        switch (l.mixer) {
            case MNEMO_MIXER_GDN:
                l.conv_size = 4;
                MNEMO_TRY(m.integer(p + "conv_size", 1, 64, &l.conv_size, false));
                MNEMO_TRY(m.boolean(p + "use_gate", &l.use_gate));
                MNEMO_TRY(m.boolean(p + "use_short_conv", &l.use_short_conv));
                if (l.n_kv_heads != l.n_heads)
                    return failf(MNEMO_ERR_MODEL_INVALID, "%s: gdn layer %d must have n_kv_heads == n_heads", file.label().c_str(), i);
                break;
            case MNEMO_MIXER_LTE:
                MNEMO_TRY(m.integer(p + "sink_size", 0, 1 << 20, &l.sink_size));
                MNEMO_TRY(m.integer(p + "buffer_size", 0, 1 << 24, &l.buffer_size));
                if (l.buffer_size < l.sink_size)
                    return failf(MNEMO_ERR_MODEL_INVALID, "%s: lte layer %d has buffer_size %d smaller than sink_size %d", file.label().c_str(), i,
                                 l.buffer_size, l.sink_size);
                MNEMO_TRY(m.int_array(p + "lte.conv_sizes", 1, 63, &l.lte_conv_sizes));
                MNEMO_TRY(m.int_array(p + "lte.conv_dilations", 1, 64, &l.lte_conv_dilations));
                if (l.lte_conv_sizes.size() != l.lte_conv_dilations.size())
                    return failf(MNEMO_ERR_MODEL_INVALID, "%s: lte layer %d has %zu conv sizes but %zu dilations", file.label().c_str(), i,
                                 l.lte_conv_sizes.size(), l.lte_conv_dilations.size());
                l.routing_method = "sigmoid";
                MNEMO_TRY(m.string(p + "lte.routing_method", &l.routing_method, false));
                if (l.routing_method != "sigmoid" && l.routing_method != "relu")
                    return failf(MNEMO_ERR_UNSUPPORTED, "%s: lte layer %d routing_method '%s' (expected sigmoid or relu)", file.label().c_str(), i,
                                 l.routing_method.c_str());
                l.routing_shared = "head";
                MNEMO_TRY(m.string(p + "lte.routing_shared", &l.routing_shared, false));
                if (l.routing_shared != "head" && l.routing_shared != "layer")
                    return failf(MNEMO_ERR_UNSUPPORTED, "%s: lte layer %d routing_shared '%s' (expected head or layer)", file.label().c_str(), i,
                                 l.routing_shared.c_str());
                [[fallthrough]];
            case MNEMO_MIXER_SWA:
                MNEMO_TRY(m.integer(p + "window_size", 1, 1 << 24, &l.window_size));
                [[fallthrough]];
            case MNEMO_MIXER_ATTN:
                MNEMO_TRY(m.real(p + "rope_theta", 1.0, 1e12, &l.rope_theta));
                MNEMO_TRY(m.boolean(p + "qkv_bias", &l.qkv_bias));
                break;
            case MNEMO_MIXER_NSA:
                MNEMO_TRY(m.integer(p + "window_size", 0, 1 << 24, &l.window_size));
                MNEMO_TRY(m.integer(p + "block_size", 1, 1 << 16, &l.block_size));
                MNEMO_TRY(m.integer(p + "block_count", 1, 1 << 16, &l.block_count));
                MNEMO_TRY(m.real(p + "rope_theta", 1.0, 1e12, &l.rope_theta));
                MNEMO_TRY(m.boolean(p + "qkv_bias", &l.qkv_bias));
                break;
        }
    }
    *out = std::move(c);
    return MNEMO_OK;
}

void write_model_config(const ModelConfig& c, GgufWriter* w) {
    w->set("general.architecture", GgufValue::make_string("mnemo-hybrid"));
    w->set("general.name", GgufValue::make_string(c.name));
    w->set("mnemo.format_version", GgufValue::make_u32(1));
    w->set("mnemo.vocab_size", GgufValue::make_u32(static_cast<uint32_t>(c.vocab_size)));
    w->set("mnemo.hidden_size", GgufValue::make_u32(static_cast<uint32_t>(c.hidden_size)));
    w->set("mnemo.block_count", GgufValue::make_u32(static_cast<uint32_t>(c.n_layers)));
    w->set("mnemo.intermediate_size", GgufValue::make_u32(static_cast<uint32_t>(c.intermediate_size)));
    w->set("mnemo.norm_eps", GgufValue::make_f32(c.norm_eps));
    w->set("mnemo.tie_word_embeddings", GgufValue::make_bool(c.tie_word_embeddings));
    w->set("mnemo.context_length", GgufValue::make_u32(static_cast<uint32_t>(c.max_position_embeddings)));
    w->set("mnemo.bos_token_id", GgufValue::make_i32(c.bos_token_id));
    w->set("mnemo.eos_token_id", GgufValue::make_i32(c.eos_token_id));
    for (size_t i = 0; i < c.layers.size(); ++i) {
        const LayerConfig& l = c.layers[i];
        const std::string p = "mnemo.layer." + std::to_string(i) + ".";
        w->set(p + "mixer", GgufValue::make_string(mnemo_mixer_kind_name(l.mixer)));
        w->set(p + "n_heads", GgufValue::make_u32(static_cast<uint32_t>(l.n_heads)));
        w->set(p + "n_kv_heads", GgufValue::make_u32(static_cast<uint32_t>(l.n_kv_heads)));
        w->set(p + "head_dim", GgufValue::make_u32(static_cast<uint32_t>(l.head_dim)));
        w->set(p + "head_v_dim", GgufValue::make_u32(static_cast<uint32_t>(l.head_v_dim)));
        switch (l.mixer) {
            case MNEMO_MIXER_GDN:
                w->set(p + "conv_size", GgufValue::make_u32(static_cast<uint32_t>(l.conv_size)));
                w->set(p + "use_gate", GgufValue::make_bool(l.use_gate));
                w->set(p + "use_short_conv", GgufValue::make_bool(l.use_short_conv));
                break;
            case MNEMO_MIXER_LTE:
                w->set(p + "sink_size", GgufValue::make_u32(static_cast<uint32_t>(l.sink_size)));
                w->set(p + "buffer_size", GgufValue::make_u32(static_cast<uint32_t>(l.buffer_size)));
                w->set(p + "lte.conv_sizes", GgufValue::make_i32_array(l.lte_conv_sizes));
                w->set(p + "lte.conv_dilations", GgufValue::make_i32_array(l.lte_conv_dilations));
                w->set(p + "lte.routing_method", GgufValue::make_string(l.routing_method));
                w->set(p + "lte.routing_shared", GgufValue::make_string(l.routing_shared));
                [[fallthrough]];
            case MNEMO_MIXER_SWA:
                w->set(p + "window_size", GgufValue::make_u32(static_cast<uint32_t>(l.window_size)));
                [[fallthrough]];
            case MNEMO_MIXER_ATTN:
                w->set(p + "rope_theta", GgufValue::make_f32(l.rope_theta));
                w->set(p + "qkv_bias", GgufValue::make_bool(l.qkv_bias));
                break;
            case MNEMO_MIXER_NSA:
                w->set(p + "window_size", GgufValue::make_u32(static_cast<uint32_t>(l.window_size)));
                w->set(p + "block_size", GgufValue::make_u32(static_cast<uint32_t>(l.block_size)));
                w->set(p + "block_count", GgufValue::make_u32(static_cast<uint32_t>(l.block_count)));
                w->set(p + "rope_theta", GgufValue::make_f32(l.rope_theta));
                w->set(p + "qkv_bias", GgufValue::make_bool(l.qkv_bias));
                break;
        }
    }
}

}  // namespace mnemo
