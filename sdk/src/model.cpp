#include "model.h"

#include "error.h"
#include "cpu/dtype.h"
#include "mixers/mixer.h"

#include <cmath>

#include <set>

namespace mnemo {

std::vector<TensorSpec> model_tensor_specs(const ModelConfig& c) {
    std::vector<TensorSpec> specs;
    const int64_t d = c.hidden_size, f = c.intermediate_size;
    specs.push_back({"model.embeddings.weight", {c.vocab_size, d}});
    for (int32_t i = 0; i < c.n_layers; ++i) {
        const std::string p = "model.layers." + std::to_string(i) + ".";
        const LayerConfig& l = c.layers[static_cast<size_t>(i)];
        specs.push_back({p + "attn_norm.weight", {d}});
        mixer_module(l.mixer).tensor_specs(c, l, p + "attn.", &specs);
        specs.push_back({p + "mlp_norm.weight", {d}});
        specs.push_back({p + "mlp.gate_proj.weight", {f, d}});
        specs.push_back({p + "mlp.up_proj.weight", {f, d}});
        specs.push_back({p + "mlp.down_proj.weight", {d, f}});
    }
    specs.push_back({"model.norm.weight", {d}});
    if (!c.tie_word_embeddings) specs.push_back({"lm_head.weight", {c.vocab_size, d}});
    return specs;
}

namespace {

std::string shape_string(const std::vector<int64_t>& s) {
    std::string out = "[";
    for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
    return out + "]";
}

// Weight types the runtime computes with; 1-D parameters (norms, gates) must be f32.
bool type_allowed(DType t, size_t rank) {
    if (rank == 1) return t == DType::F32;
    return t == DType::F32 || t == DType::F16 || t == DType::BF16 || t == DType::Q8_0;
}

// NaN or Inf in a weight poisons every logit downstream; refuse such files at load.
mnemo_status check_finite(const GgufTensor& t, const std::string& path) {
    const int64_t row = t.shape.back();
    const int64_t rows = static_cast<int64_t>(t.n_elements) / row;
    const uint64_t row_bytes = t.n_bytes / static_cast<uint64_t>(rows);
    std::vector<float> buf(static_cast<size_t>(row));
    for (int64_t r = 0; r < rows; ++r) {
        cpu::row_to_f32(static_cast<cpu::DType>(t.type), t.data + static_cast<uint64_t>(r) * row_bytes, buf.data(), row);
        for (int64_t i = 0; i < row; ++i)
            if (!std::isfinite(buf[static_cast<size_t>(i)]))
                return failf(MNEMO_ERR_MODEL_INVALID, "%s: tensor '%s' holds a non-finite value (NaN or Inf) at element %lld", path.c_str(),
                             t.name.c_str(), static_cast<long long>(r * row + i));
    }
    return MNEMO_OK;
}

}  // namespace

mnemo_status load_model(const std::string& path, bool use_mmap, std::unique_ptr<ModelImpl>* out) {
    auto model = std::make_unique<ModelImpl>();
    MNEMO_TRY(model->file.open(path, use_mmap));
    MNEMO_TRY(parse_model_config(model->file, &model->config));
    MNEMO_TRY(load_tokenizer(model->file, &model->tokenizer));
    if (model->tokenizer && model->tokenizer->vocab_size() > model->config.vocab_size)
        return failf(MNEMO_ERR_MODEL_INVALID, "%s: tokenizer has %d tokens but the model's vocabulary is %d", path.c_str(),
                     model->tokenizer->vocab_size(), model->config.vocab_size);
    std::set<std::string> expected;
    for (const TensorSpec& spec : model_tensor_specs(model->config)) {
        const GgufTensor* t = model->file.find_tensor(spec.name);
        if (t == nullptr)
            return failf(MNEMO_ERR_MODEL_INVALID, "%s: tensor '%s' %s required by the model description is missing", path.c_str(),
                         spec.name.c_str(), shape_string(spec.shape).c_str());
        if (t->shape != spec.shape)
            return failf(MNEMO_ERR_MODEL_INVALID, "%s: tensor '%s' has shape %s but the description needs %s", path.c_str(),
                         spec.name.c_str(), shape_string(t->shape).c_str(), shape_string(spec.shape).c_str());
        if (!type_allowed(t->type, t->shape.size()))
            return failf(MNEMO_ERR_UNSUPPORTED, "%s: tensor '%s' has type %s, not usable for a %zu-D parameter", path.c_str(),
                         spec.name.c_str(), dtype_name(t->type), t->shape.size());
        MNEMO_TRY(check_finite(*t, path));
        model->tensors[spec.name] = t;
        model->n_params += t->n_elements;
        model->weight_bytes += t->n_bytes;
        expected.insert(spec.name);
    }
    for (const GgufTensor& t : model->file.tensors())
        if (!expected.count(t.name))
            return failf(MNEMO_ERR_MODEL_INVALID, "%s: unexpected tensor '%s' (not part of the model description)", path.c_str(), t.name.c_str());
    *out = std::move(model);
    return MNEMO_OK;
}

}  // namespace mnemo
