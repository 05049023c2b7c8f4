// The C API: argument checking, status translation and handle ownership. No C++
// exception crosses this boundary.
#include "mnemo/mnemo.h"

#include "api_util.h"
#include "error.h"
#include "model.h"
#include "sampler.h"
#include "session.h"

#include <cstring>
#include <new>

namespace mnemo {
const char* last_error_cstr();
}

using namespace mnemo;

using namespace mnemo::api;

extern "C" {

const char* mnemo_status_name(mnemo_status status) {
    const int32_t s = enum_value(status);  // any int may come from C
    switch (s) {
        case MNEMO_OK: return "MNEMO_OK";
        case MNEMO_ERR_INVALID_ARGUMENT: return "MNEMO_ERR_INVALID_ARGUMENT";
        case MNEMO_ERR_IO: return "MNEMO_ERR_IO";
        case MNEMO_ERR_BAD_MAGIC: return "MNEMO_ERR_BAD_MAGIC";
        case MNEMO_ERR_TRUNCATED: return "MNEMO_ERR_TRUNCATED";
        case MNEMO_ERR_CORRUPT: return "MNEMO_ERR_CORRUPT";
        case MNEMO_ERR_UNSUPPORTED: return "MNEMO_ERR_UNSUPPORTED";
        case MNEMO_ERR_TOO_LARGE: return "MNEMO_ERR_TOO_LARGE";
        case MNEMO_ERR_MODEL_INVALID: return "MNEMO_ERR_MODEL_INVALID";
        case MNEMO_ERR_OUT_OF_MEMORY: return "MNEMO_ERR_OUT_OF_MEMORY";
        case MNEMO_ERR_BUFFER_TOO_SMALL: return "MNEMO_ERR_BUFFER_TOO_SMALL";
        case MNEMO_ERR_OUT_OF_RANGE: return "MNEMO_ERR_OUT_OF_RANGE";
        case MNEMO_ERR_BUDGET: return "MNEMO_ERR_BUDGET";
        case MNEMO_ERR_UNBOUNDED: return "MNEMO_ERR_UNBOUNDED";
        case MNEMO_ERR_CANCELLED: return "MNEMO_ERR_CANCELLED";
        case MNEMO_ERR_STATE: return "MNEMO_ERR_STATE";
        case MNEMO_ERR_MISMATCH: return "MNEMO_ERR_MISMATCH";
        case MNEMO_ERR_NO_DEVICE: return "MNEMO_ERR_NO_DEVICE";
        case MNEMO_ERR_TOKENIZER: return "MNEMO_ERR_TOKENIZER";
        case MNEMO_ERR_INTERNAL: return "MNEMO_ERR_INTERNAL";
    }
    return "MNEMO_ERR_UNKNOWN";
}

const char* mnemo_last_error(void) { return last_error_cstr(); }

int mnemo_version(void) { return MNEMO_VERSION; }
const char* mnemo_version_string(void) { return MNEMO_VERSION_STRING; }

const char* mnemo_mixer_kind_name(mnemo_mixer_kind mixer) {
    const int32_t kind = enum_value(mixer);  // any int may come from C
    switch (kind) {
        case MNEMO_MIXER_GDN: return "gdn";
        case MNEMO_MIXER_SWA: return "swa";
        case MNEMO_MIXER_LTE: return "lte";
        case MNEMO_MIXER_NSA: return "nsa";
        case MNEMO_MIXER_ATTN: return "attn";
    }
    return "?";
}

mnemo_model_params mnemo_model_default_params(void) {
    mnemo_model_params p;
    std::memset(&p, 0, sizeof p);
    p.struct_size = sizeof p;
    p.use_mmap = 1;
    return p;
}

mnemo_status mnemo_model_load(const char* path, const mnemo_model_params* params, mnemo_model** out_model) {
    return guarded("mnemo_model_load", [&]() -> mnemo_status {
        if (out_model == nullptr) return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_model_load: out_model is NULL");
        *out_model = nullptr;
        if (path == nullptr || *path == '\0') return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_model_load: path is NULL or empty");
        if (params != nullptr) MNEMO_TRY(check_struct(params, "mnemo_model_params"));
        const mnemo_model_params p = copy_in(params, mnemo_model_default_params());
        auto handle = std::make_unique<mnemo_model>();
        MNEMO_TRY(load_model(path, p.use_mmap != 0, &handle->model));
        *out_model = handle.release();
        return MNEMO_OK;
    });
}

void mnemo_model_free(mnemo_model* model) { delete model; }

mnemo_status mnemo_model_get_info(const mnemo_model* model, mnemo_model_info* info) {
    return guarded("mnemo_model_get_info", [&]() -> mnemo_status {
        if (model == nullptr) return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_model_get_info: model is NULL");
        MNEMO_TRY(check_struct(info, "mnemo_model_info"));
        const ModelConfig& c = model->model->config;
        mnemo_model_info full;
        std::memset(&full, 0, sizeof full);
        full.name = c.name.c_str();
        full.architecture = "mnemo-hybrid";
        full.vocab_size = c.vocab_size;
        full.n_layers = c.n_layers;
        full.hidden_size = c.hidden_size;
        full.intermediate_size = c.intermediate_size;
        full.max_position_embeddings = c.max_position_embeddings;
        full.bos_token_id = c.bos_token_id;
        full.eos_token_id = c.eos_token_id;
        full.tied_embeddings = c.tie_word_embeddings ? 1 : 0;
        full.n_params = model->model->n_params;
        full.weight_bytes = model->model->weight_bytes;
        full.bounded = c.bounded() ? 1 : 0;
        copy_out(info, full);
        return MNEMO_OK;
    });
}

mnemo_status mnemo_model_get_layer_info(const mnemo_model* model, int32_t layer, mnemo_layer_info* info) {
    return guarded("mnemo_model_get_layer_info", [&]() -> mnemo_status {
        if (model == nullptr) return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_model_get_layer_info: model is NULL");
        MNEMO_TRY(check_struct(info, "mnemo_layer_info"));
        const ModelConfig& c = model->model->config;
        if (layer < 0 || layer >= c.n_layers)
            return failf(MNEMO_ERR_OUT_OF_RANGE, "mnemo_model_get_layer_info: layer %d outside [0, %d)", layer, c.n_layers);
        const LayerConfig& l = c.layers[static_cast<size_t>(layer)];
        mnemo_layer_info full;
        std::memset(&full, 0, sizeof full);
        full.mixer = l.mixer;
        full.n_heads = l.n_heads;
        full.n_kv_heads = l.n_kv_heads;
        full.head_dim = l.head_dim;
        full.head_v_dim = l.head_v_dim;
        full.window_size = l.window_size;
        full.sink_size = l.sink_size;
        full.buffer_size = l.buffer_size;
        full.block_size = l.block_size;
        full.block_count = l.block_count;
        full.conv_size = l.conv_size;
        copy_out(info, full);
        return MNEMO_OK;
    });
}

mnemo_status mnemo_tokenize(const mnemo_model* model, const char* text, size_t text_len, int add_bos, int32_t* out_tokens,
                            size_t capacity, size_t* out_count) {
    return guarded("mnemo_tokenize", [&]() -> mnemo_status {
        if (model == nullptr) return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_tokenize: model is NULL");
        if (out_count == nullptr) return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_tokenize: out_count is NULL");
        *out_count = 0;
        if (text == nullptr && text_len > 0) return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_tokenize: text is NULL");
        if (out_tokens == nullptr && capacity > 0) return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_tokenize: out_tokens is NULL with capacity > 0");
        const ModelImpl& m = *model->model;
        if (!m.tokenizer) return fail(MNEMO_ERR_TOKENIZER, "mnemo_tokenize: the model file has no tokenizer (convert it with --tokenizer)");
        std::vector<int32_t> ids;
        if (add_bos && m.config.bos_token_id >= 0) ids.push_back(m.config.bos_token_id);
        std::vector<int32_t> body;
        MNEMO_TRY(m.tokenizer->encode(std::string_view(text != nullptr ? text : "", text_len), &body));
        ids.insert(ids.end(), body.begin(), body.end());
        *out_count = ids.size();
        if (ids.size() > capacity)
            return failf(MNEMO_ERR_BUFFER_TOO_SMALL, "mnemo_tokenize: %zu tokens do not fit in a buffer of %zu", ids.size(), capacity);
        if (!ids.empty()) std::memcpy(out_tokens, ids.data(), ids.size() * sizeof(int32_t));
        return MNEMO_OK;
    });
}

mnemo_status mnemo_detokenize(const mnemo_model* model, const int32_t* tokens, size_t n_tokens, char* out_text, size_t capacity,
                              size_t* out_len) {
    return guarded("mnemo_detokenize", [&]() -> mnemo_status {
        if (model == nullptr) return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_detokenize: model is NULL");
        if (out_len == nullptr) return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_detokenize: out_len is NULL");
        *out_len = 0;
        if (tokens == nullptr && n_tokens > 0) return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_detokenize: tokens is NULL");
        if (out_text == nullptr && capacity > 0) return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_detokenize: out_text is NULL with capacity > 0");
        const ModelImpl& m = *model->model;
        if (!m.tokenizer) return fail(MNEMO_ERR_TOKENIZER, "mnemo_detokenize: the model file has no tokenizer");
        const int32_t vocab = m.tokenizer->vocab_size();
        for (size_t i = 0; i < n_tokens; ++i)
            if (tokens[i] < 0 || tokens[i] >= vocab)
                return failf(MNEMO_ERR_OUT_OF_RANGE, "mnemo_detokenize: token %zu = %d outside the tokenizer's [0, %d)", i, tokens[i], vocab);
        std::string text;
        MNEMO_TRY(m.tokenizer->decode(tokens, n_tokens, &text));
        *out_len = text.size();
        if (text.size() > capacity)
            return failf(MNEMO_ERR_BUFFER_TOO_SMALL, "mnemo_detokenize: %zu bytes do not fit in a buffer of %zu", text.size(), capacity);
        if (!text.empty()) std::memcpy(out_text, text.data(), text.size());
        if (text.size() < capacity) out_text[text.size()] = '\0';
        return MNEMO_OK;
    });
}

mnemo_session_params mnemo_session_default_params(void) {
    mnemo_session_params p;
    std::memset(&p, 0, sizeof p);
    p.struct_size = sizeof p;
    p.backend = MNEMO_BACKEND_AUTO;
    p.policy = MNEMO_POLICY_NONE;
    p.policy_sink = 4;
    p.chunk_tokens = 0;  // the backend's choice (session.h)
    return p;
}

mnemo_status mnemo_memory_plan_get(const mnemo_model* model, const mnemo_session_params* params, mnemo_memory_plan* out_plan) {
    return guarded("mnemo_memory_plan_get", [&]() -> mnemo_status {
        if (model == nullptr) return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_memory_plan_get: model is NULL");
        MNEMO_TRY(check_struct(out_plan, "mnemo_memory_plan"));
        if (params != nullptr) MNEMO_TRY(check_struct(params, "mnemo_session_params"));
        MemoryPlan plan;
        MNEMO_TRY(plan_session(*model->model, copy_in(params, mnemo_session_default_params()), &plan));
        mnemo_memory_plan full;
        std::memset(&full, 0, sizeof full);
        full.total_bytes = plan.total_bytes;
        full.state_bytes = plan.state_bytes;
        full.scratch_bytes = plan.scratch_bytes;
        full.bounded = plan.bounded ? 1 : 0;
        copy_out(out_plan, full);
        return MNEMO_OK;
    });
}

mnemo_status mnemo_memory_plan_layer(const mnemo_model* model, const mnemo_session_params* params, int32_t layer,
                                     uint64_t* out_state_bytes) {
    return guarded("mnemo_memory_plan_layer", [&]() -> mnemo_status {
        if (model == nullptr || out_state_bytes == nullptr)
            return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_memory_plan_layer: model or out_state_bytes is NULL");
        if (params != nullptr) MNEMO_TRY(check_struct(params, "mnemo_session_params"));
        if (layer < 0 || layer >= model->model->config.n_layers)
            return failf(MNEMO_ERR_OUT_OF_RANGE, "mnemo_memory_plan_layer: layer %d outside [0, %d)", layer, model->model->config.n_layers);
        MemoryPlan plan;
        MNEMO_TRY(plan_session(*model->model, copy_in(params, mnemo_session_default_params()), &plan));
        *out_state_bytes = plan.layer_state_bytes[static_cast<size_t>(layer)];
        return MNEMO_OK;
    });
}

mnemo_status mnemo_session_create(const mnemo_model* model, const mnemo_session_params* params, mnemo_session** out_session) {
    return guarded("mnemo_session_create", [&]() -> mnemo_status {
        if (out_session == nullptr) return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_session_create: out_session is NULL");
        *out_session = nullptr;
        if (model == nullptr) return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_session_create: model is NULL");
        if (params != nullptr) MNEMO_TRY(check_struct(params, "mnemo_session_params"));
        const mnemo_session_params p = copy_in(params, mnemo_session_default_params());
        auto handle = std::make_unique<mnemo_session>();
        MNEMO_TRY(create_session(*model->model, p, &handle->session));
        *out_session = handle.release();
        return MNEMO_OK;
    });
}

void mnemo_session_free(mnemo_session* session) { delete session; }

mnemo_status mnemo_session_position(const mnemo_session* session, int64_t* out_position) {
    return guarded("mnemo_session_position", [&]() -> mnemo_status {
        if (session == nullptr || out_position == nullptr)
            return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_session_position: session or out_position is NULL");
        *out_position = session->session->position();
        return MNEMO_OK;
    });
}

mnemo_status mnemo_session_backend(const mnemo_session* session, mnemo_backend* out_backend) {
    return guarded("mnemo_session_backend", [&]() -> mnemo_status {
        if (session == nullptr || out_backend == nullptr)
            return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_session_backend: session or out_backend is NULL");
        // The CUDA backend is the only device backend; without one the session runs on the CPU.
        *out_backend = session->session->on_device() ? MNEMO_BACKEND_CUDA : MNEMO_BACKEND_CPU;
        return MNEMO_OK;
    });
}

mnemo_status mnemo_session_feed(mnemo_session* session, const int32_t* tokens, size_t n_tokens) {
    return guarded("mnemo_session_feed", [&]() -> mnemo_status {
        if (session == nullptr) return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_session_feed: session is NULL");
        return session->session->feed(tokens, n_tokens);
    });
}

mnemo_status mnemo_session_logits(const mnemo_session* session, const float** out_logits, int32_t* out_n_vocab) {
    return guarded("mnemo_session_logits", [&]() -> mnemo_status {
        if (session == nullptr || out_logits == nullptr)
            return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_session_logits: session or out_logits is NULL");
        *out_logits = session->session->logits();
        if (out_n_vocab != nullptr) *out_n_vocab = session->session->model().config.vocab_size;
        if (*out_logits == nullptr) return fail(MNEMO_ERR_STATE, "mnemo_session_logits: no token has been fed yet");
        return MNEMO_OK;
    });
}

mnemo_status mnemo_session_reset(mnemo_session* session) {
    return guarded("mnemo_session_reset", [&]() -> mnemo_status {
        if (session == nullptr) return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_session_reset: session is NULL");
        session->session->reset();
        return MNEMO_OK;
    });
}

mnemo_sampler_params mnemo_sampler_default_params(void) {
    mnemo_sampler_params p;
    std::memset(&p, 0, sizeof p);
    p.struct_size = sizeof p;
    p.temperature = 0.0f;
    p.top_p = 1.0f;
    p.repetition_penalty = 1.0f;
    p.repetition_window = 64;
    return p;
}

mnemo_generate_params mnemo_generate_default_params(void) {
    mnemo_generate_params p;
    std::memset(&p, 0, sizeof p);
    p.struct_size = sizeof p;
    p.sampler = mnemo_sampler_default_params();
    p.max_tokens = 128;
    return p;
}

mnemo_status mnemo_session_sample(mnemo_session* session, const mnemo_sampler_params* params, int32_t* out_token) {
    return guarded("mnemo_session_sample", [&]() -> mnemo_status {
        if (session == nullptr || out_token == nullptr)
            return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_session_sample: session or out_token is NULL");
        if (params != nullptr) MNEMO_TRY(check_struct(params, "mnemo_sampler_params"));
        const mnemo_sampler_params p = copy_in(params, mnemo_sampler_default_params());
        MNEMO_TRY(validate_sampler_params(p));
        // Greedy on a device backend: the choice is made where the logits are (the same rule, the
        // same token), and one id crosses the bus instead of the vocabulary's logits.
        if (plain_greedy(p)) {
            bool done = false;
            MNEMO_TRY(session->session->device_greedy(out_token, &done));
            if (done) return MNEMO_OK;
        }
        const float* logits = session->session->logits();
        if (logits == nullptr) return fail(MNEMO_ERR_STATE, "mnemo_session_sample: no token has been fed yet");
        Sampler sampler(p);
        *out_token = sampler.sample(logits, session->session->model().config.vocab_size, session->session->recent_tokens());
        return MNEMO_OK;
    });
}

mnemo_status mnemo_session_generate(mnemo_session* session, const mnemo_generate_params* params, int32_t* out_tokens,
                                    size_t capacity, size_t* out_count) {
    return guarded("mnemo_session_generate", [&]() -> mnemo_status {
        if (session == nullptr || out_count == nullptr)
            return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_session_generate: session or out_count is NULL");
        *out_count = 0;
        if (out_tokens == nullptr && capacity > 0)
            return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_session_generate: out_tokens is NULL with capacity > 0");
        if (params != nullptr) MNEMO_TRY(check_struct(params, "mnemo_generate_params"));
        const mnemo_generate_params p = copy_in(params, mnemo_generate_default_params());
        MNEMO_TRY(validate_sampler_params(p.sampler));
        if (p.max_tokens < 0) return failf(MNEMO_ERR_INVALID_ARGUMENT, "max_tokens = %d is negative", p.max_tokens);
        if ((p.stop_tokens == nullptr && p.n_stop_tokens > 0) || (p.stop_strings == nullptr && p.n_stop_strings > 0))
            return fail(MNEMO_ERR_INVALID_ARGUMENT, "stop_tokens / stop_strings is NULL with a nonzero count");
        for (size_t j = 0; j < p.n_stop_strings; ++j)
            if (p.stop_strings[j] == nullptr) return failf(MNEMO_ERR_INVALID_ARGUMENT, "stop_strings[%zu] is NULL", j);
        SessionImpl& s = *session->session;
        if (s.logits() == nullptr) return fail(MNEMO_ERR_STATE, "mnemo_session_generate: feed a prompt first");
        const ModelImpl& m = s.model();
        Sampler sampler(p.sampler);
        std::string text;
        std::string piece;
        // On a device backend the sampler runs there and each step is one graph replay;
        // only the chosen token comes back. The host's generator still makes the draws,
        // so a seed gives the same tokens on every backend.
        const bool on_device = s.on_device();
        const bool draws = p.sampler.temperature > 0.0f;
        int32_t next = 0;
        if (on_device && p.max_tokens > 0) {
            MNEMO_TRY(s.begin_device_sampling(p.sampler));
            MNEMO_TRY(s.device_sample(draws ? sampler.draw() : 0.0, &next));
        }
        for (int32_t i = 0; i < p.max_tokens; ++i) {
            const int32_t tok = on_device ? next : sampler.sample(s.logits(), m.config.vocab_size, s.recent_tokens());
            if (*out_count < capacity) out_tokens[*out_count] = tok;
            ++*out_count;
            bool stop = tok == m.config.eos_token_id;
            for (size_t j = 0; j < p.n_stop_tokens; ++j) stop = stop || tok == p.stop_tokens[j];
            piece.clear();
            if (m.tokenizer && tok < m.tokenizer->vocab_size()) MNEMO_TRY(m.tokenizer->decode(&tok, 1, &piece));
            text += piece;
            for (size_t j = 0; j < p.n_stop_strings; ++j) {
                const size_t len = std::strlen(p.stop_strings[j]);
                if (len > 0 && text.size() >= len && text.compare(text.size() - len, len, p.stop_strings[j]) == 0) stop = true;
            }
            if (p.on_token != nullptr && p.on_token(tok, piece.data(), piece.size(), p.user_data) != 0) stop = true;
            if (stop) break;
            if (on_device) MNEMO_TRY(s.feed_device_sample(tok, draws ? sampler.draw() : 0.0, &next));
            else MNEMO_TRY(s.feed(&tok, 1));
        }
        if (*out_count > capacity)
            return failf(MNEMO_ERR_BUFFER_TOO_SMALL, "generated %zu tokens but out_tokens holds %zu", *out_count, capacity);
        return MNEMO_OK;
    });
}

mnemo_status mnemo_probe_layer(const mnemo_session* session, int32_t layer, mnemo_layer_probe* out) {
    return guarded("mnemo_probe_layer", [&]() -> mnemo_status {
        if (session == nullptr) return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_probe_layer: session is NULL");
        MNEMO_TRY(check_struct(out, "mnemo_layer_probe"));
        const SessionImpl& s = *session->session;
        if (layer < 0 || layer >= s.model().config.n_layers)
            return failf(MNEMO_ERR_OUT_OF_RANGE, "mnemo_probe_layer: layer %d outside [0, %d)", layer, s.model().config.n_layers);
        const Mixer& m = s.mixer(layer);
        mnemo_layer_probe full;
        std::memset(&full, 0, sizeof full);
        full.mixer = s.model().config.layers[static_cast<size_t>(layer)].mixer;
        full.state_bytes_used = m.state_bytes_used();
        full.state_bytes_reserved = s.plan().layer_state_bytes[static_cast<size_t>(layer)];
        full.window_begin = -1;
        full.window_end = s.position();
        if (const KvCache* c = m.kv_cache()) {
            full.window_begin = c->oldest_window_position();
            full.n_kv_heads = c->shape().n_kv_heads;
        }
        copy_out(out, full);
        return MNEMO_OK;
    });
}

mnemo_status mnemo_probe_head_tokens(const mnemo_session* session, int32_t layer, int32_t kv_head, mnemo_probe_token* out,
                                     size_t capacity, size_t* out_count) {
    return guarded("mnemo_probe_head_tokens", [&]() -> mnemo_status {
        if (session == nullptr || out_count == nullptr)
            return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_probe_head_tokens: session or out_count is NULL");
        *out_count = 0;
        const SessionImpl& s = *session->session;
        if (layer < 0 || layer >= s.model().config.n_layers)
            return failf(MNEMO_ERR_OUT_OF_RANGE, "mnemo_probe_head_tokens: layer %d outside [0, %d)", layer, s.model().config.n_layers);
        const KvCache* c = s.mixer(layer).kv_cache();
        if (c == nullptr)
            return failf(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_probe_head_tokens: layer %d (%s) holds no tokens", layer,
                         mnemo_mixer_kind_name(s.model().config.layers[static_cast<size_t>(layer)].mixer));
        if (kv_head < 0 || kv_head >= c->shape().n_kv_heads)
            return failf(MNEMO_ERR_OUT_OF_RANGE, "mnemo_probe_head_tokens: kv_head %d outside [0, %d)", kv_head, c->shape().n_kv_heads);
        std::vector<mnemo_probe_token> tokens;
        c->held_tokens(kv_head, &tokens);
        *out_count = tokens.size();
        if (tokens.size() > capacity)
            return failf(MNEMO_ERR_BUFFER_TOO_SMALL, "mnemo_probe_head_tokens: %zu tokens do not fit in %zu", tokens.size(), capacity);
        if (!tokens.empty()) std::memcpy(out, tokens.data(), tokens.size() * sizeof(mnemo_probe_token));
        return MNEMO_OK;
    });
}

mnemo_status mnemo_session_set_eviction_callback(mnemo_session* session, mnemo_eviction_fn fn, void* user_data) {
    return guarded("mnemo_session_set_eviction_callback", [&]() -> mnemo_status {
        if (session == nullptr) return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_session_set_eviction_callback: session is NULL");
        return session->session->set_eviction_callback(fn, user_data);
    });
}

}  // extern "C"
