#include "probe_capture.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mnemo::viz {
namespace {

mnemo_status detokenize(const mnemo_model* model, const int32_t* tokens, size_t n, std::string* out) {
    out->resize(64);
    size_t len = 0;
    mnemo_status st = mnemo_detokenize(model, tokens, n, out->data(), out->size(), &len);
    if (st == MNEMO_ERR_BUFFER_TOO_SMALL) {
        out->resize(len + 1);
        st = mnemo_detokenize(model, tokens, n, out->data(), out->size(), &len);
    }
    if (st != MNEMO_OK) return st;
    out->resize(len);
    return MNEMO_OK;
}

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

bool ends_incomplete(const std::string& text) {
    return text.size() >= kReplacement.size() && text.compare(text.size() - kReplacement.size(), kReplacement.size(), kReplacement) == 0;
}

// Text of tokens[i, j] decoded after `prev` (if any), without prev's own text.
mnemo_status run_text(const mnemo_model* model, const int32_t* prev, const int32_t* tokens, size_t i, size_t j,
                      std::string* out) {
    if (prev != nullptr) {
        std::vector<int32_t> ids(1, *prev);
        ids.insert(ids.end(), tokens + i, tokens + j + 1);
        std::string prev_text;
        mnemo_status st = detokenize(model, ids.data(), ids.size(), out);
        if (st == MNEMO_OK) st = detokenize(model, prev, 1, &prev_text);
        if (st != MNEMO_OK) return st;
        if (out->compare(0, prev_text.size(), prev_text) == 0) {
            out->erase(0, prev_text.size());
            return MNEMO_OK;
        }
    }
    return detokenize(model, tokens + i, j - i + 1, out);
}

// Text of each token. Tokenizers that drop a leading space when a piece is decoded
// alone (SentencePiece) get it back by decoding the piece after its predecessor and
// keeping the difference. A character split into byte tokens (SentencePiece's byte
// fallback: “ is <0xE2><0x80><0x9C>) decodes to U+FFFD one byte at a time, so such a run
// is decoded whole: its last token carries the character, the others carry no text.
mnemo_status token_pieces(const mnemo_model* model, const int32_t* tokens, size_t n, const int32_t* previous,
                          std::vector<std::string>* out) {
    constexpr size_t kMaxUtf8Bytes = 4;
    out->assign(n, std::string());
    std::string text;
    for (size_t i = 0; i < n; ++i) {
        const int32_t* prev = i > 0 ? &tokens[i - 1] : previous;
        mnemo_status st = run_text(model, prev, tokens, i, i, &text);
        if (st != MNEMO_OK) return st;
        size_t last = i;  // the token that carries `text`
        for (size_t j = i + 1; ends_incomplete(text) && j < n && j < i + kMaxUtf8Bytes; ++j) {
            std::string longer;
            if ((st = run_text(model, prev, tokens, i, j, &longer)) != MNEMO_OK) return st;
            if (!ends_incomplete(longer)) {
                text = std::move(longer);  // tokens i .. j-1 keep no text
                last = j;
            }
        }
        (*out)[last] = text;
        i = last;
    }
    return MNEMO_OK;
}

void rebuild_offsets(const std::vector<std::string>& pieces, DocumentModel* doc) {
    doc->text.clear();
    doc->token_offsets.assign(1, 0);
    for (const std::string& p : pieces) {
        doc->text += p;
        doc->token_offsets.push_back(static_cast<uint32_t>(doc->text.size()));
    }
}

TokenKind to_kind(mnemo_token_kind k) {
    switch (k) {
        case MNEMO_TOKEN_SINK: return TokenKind::Sink;
        case MNEMO_TOKEN_RETAINED: return TokenKind::Retained;
        case MNEMO_TOKEN_WINDOW: break;
    }
    return TokenKind::Window;
}

EvictionReason to_reason(mnemo_eviction_reason r) {
    switch (r) {
        case MNEMO_EVICT_NONPOSITIVE_SCORE: return EvictionReason::NonpositiveScore;
        case MNEMO_EVICT_BUFFER_FULL: return EvictionReason::BufferFull;
        case MNEMO_EVICT_REPLACED: return EvictionReason::Replaced;
        case MNEMO_EVICT_POLICY: return EvictionReason::Policy;
        case MNEMO_EVICT_WINDOW: break;
    }
    return EvictionReason::Window;
}

void on_eviction(const mnemo_eviction_event* e, void* user_data) {
    static_cast<StudioModel*>(user_data)->evictions.push(e->position, e->layer, e->kv_head, e->score, to_reason(e->reason));
}

const char* backend_name(mnemo_backend b) {
    switch (b) {
        case MNEMO_BACKEND_CPU: return "cpu";
        case MNEMO_BACKEND_CUDA: return "cuda";
        case MNEMO_BACKEND_AUTO: break;
    }
    return "auto";
}

}  // namespace

mnemo_status tokenize_text(const mnemo_model* model, std::string_view text, std::vector<int32_t>* out_tokens) {
    size_t count = 0;
    out_tokens->clear();
    mnemo_status st = mnemo_tokenize(model, text.data(), text.size(), 0, nullptr, 0, &count);
    if (st != MNEMO_OK && st != MNEMO_ERR_BUFFER_TOO_SMALL) return st;
    out_tokens->resize(count);
    if (count == 0) return MNEMO_OK;
    st = mnemo_tokenize(model, text.data(), text.size(), 0, out_tokens->data(), out_tokens->size(), &count);
    out_tokens->resize(count);
    return st;
}

mnemo_status tokenize_document(const mnemo_model* model, std::string_view title, std::string_view text,
                               DocumentModel* doc) {
    doc->clear();
    doc->title = std::string(title);
    size_t count = 0;
    mnemo_status st = mnemo_tokenize(model, text.data(), text.size(), 1, nullptr, 0, &count);
    if (st != MNEMO_OK && st != MNEMO_ERR_BUFFER_TOO_SMALL) return st;
    doc->token_ids.resize(count);
    if (count > 0) {
        st = mnemo_tokenize(model, text.data(), text.size(), 1, doc->token_ids.data(), doc->token_ids.size(), &count);
        if (st != MNEMO_OK) return st;
        doc->token_ids.resize(count);
    }
    std::vector<std::string> pieces;
    st = token_pieces(model, doc->token_ids.data(), doc->token_ids.size(), nullptr, &pieces);
    if (st != MNEMO_OK) return st;
    rebuild_offsets(pieces, doc);
    return MNEMO_OK;
}

mnemo_status insert_tokens(const mnemo_model* model, const int32_t* tokens, size_t n_tokens, int64_t at, bool answer,
                           DocumentModel* doc) {
    at = std::clamp<int64_t>(at, 0, doc->token_count());
    if (n_tokens == 0) return MNEMO_OK;
    std::vector<std::string> pieces;
    const int32_t* previous = at > 0 ? &doc->token_ids[static_cast<size_t>(at - 1)] : nullptr;
    const mnemo_status st = token_pieces(model, tokens, n_tokens, previous, &pieces);
    if (st != MNEMO_OK) return st;
    std::string inserted_text;
    for (const std::string& p : pieces) inserted_text += p;

    const size_t text_at = doc->token_offsets[static_cast<size_t>(at)];
    doc->text.insert(text_at, inserted_text);
    doc->token_ids.insert(doc->token_ids.begin() + at, tokens, tokens + n_tokens);
    std::vector<uint32_t> offsets;
    offsets.reserve(n_tokens);
    uint32_t o = static_cast<uint32_t>(text_at);
    for (const std::string& p : pieces) {
        offsets.push_back(o);
        o += static_cast<uint32_t>(p.size());
    }
    const uint32_t shift = static_cast<uint32_t>(inserted_text.size());
    for (size_t i = static_cast<size_t>(at); i < doc->token_offsets.size(); ++i) doc->token_offsets[i] += shift;
    doc->token_offsets.insert(doc->token_offsets.begin() + at, offsets.begin(), offsets.end());

    const int64_t n = static_cast<int64_t>(n_tokens);
    for (InsertedSpan& s : doc->inserted) {
        if (s.begin >= at) s.begin += n;
        if (s.end > at) s.end += n;
    }
    // An answer right after its question (or an answer streamed in pieces) extends the span.
    for (InsertedSpan& s : doc->inserted)
        if (s.end == at && s.answer == answer) {
            s.end += n;
            return MNEMO_OK;
        }
    doc->inserted.push_back({at, at + n, answer});
    std::sort(doc->inserted.begin(), doc->inserted.end(),
              [](const InsertedSpan& a, const InsertedSpan& b) { return a.begin < b.begin; });
    return MNEMO_OK;
}

mnemo_status ProbeCapture::attach(const mnemo_model* model, mnemo_session* session, const mnemo_session_params& params,
                                  std::string_view model_path, StudioModel* out) {
    detach();
    mnemo_model_info info{};
    info.struct_size = sizeof info;
    mnemo_status st = mnemo_model_get_info(model, &info);
    if (st != MNEMO_OK) return st;
    out->model.path = std::string(model_path);
    out->model.name = info.name != nullptr ? info.name : "";
    out->model.n_layers = info.n_layers;
    out->model.vocab_size = info.vocab_size;
    out->model.n_params = info.n_params;
    out->model.weight_bytes = info.weight_bytes;
    out->model.bounded = info.bounded != 0;

    mnemo_memory_plan plan{};
    plan.struct_size = sizeof plan;
    if ((st = mnemo_memory_plan_get(model, &params, &plan)) != MNEMO_OK) return st;
    out->plan.total_bytes = plan.total_bytes;
    out->plan.state_bytes = plan.state_bytes;
    out->plan.scratch_bytes = plan.scratch_bytes;
    out->plan.budget_bytes = params.budget_bytes;
    out->plan.bounded = plan.bounded != 0;
    out->plan.backend = backend_name(params.backend);

    out->layers.assign(static_cast<size_t>(std::max(info.n_layers, 0)), LayerSnapshot{});
    for (int32_t l = 0; l < info.n_layers; ++l) {
        mnemo_layer_info li{};
        li.struct_size = sizeof li;
        if ((st = mnemo_model_get_layer_info(model, l, &li)) != MNEMO_OK) return st;
        LayerSnapshot& ls = out->layers[static_cast<size_t>(l)];
        ls.mixer = mnemo_mixer_kind_name(li.mixer);
        ls.n_heads = li.n_heads;
        ls.window_size = li.window_size;
        ls.sink_size = li.sink_size;
        ls.buffer_size = li.buffer_size;
        uint64_t reserved = 0;
        if ((st = mnemo_memory_plan_layer(model, &params, l, &reserved)) != MNEMO_OK) return st;
        ls.state_bytes_reserved = reserved;
    }
    // Sessions on the CUDA backend report no eviction events (MNEMO_ERR_UNSUPPORTED): the
    // views still show what every head holds; the eviction log stays empty.
    st = mnemo_session_set_eviction_callback(session, on_eviction, out);
    if (st != MNEMO_OK && st != MNEMO_ERR_UNSUPPORTED) return st;
    model_ = model;
    session_ = session;
    out_ = out;
    clear_history();
    return refresh();
}

void ProbeCapture::detach() {
    if (session_ != nullptr) mnemo_session_set_eviction_callback(session_, nullptr, nullptr);
    model_ = nullptr;
    session_ = nullptr;
    out_ = nullptr;
}

void ProbeCapture::clear_history() {
    if (out_ == nullptr) return;
    out_->usage.clear();
    out_->evictions.clear();
}

mnemo_status ProbeCapture::refresh() {
    if (session_ == nullptr) return MNEMO_ERR_STATE;
    int64_t position = 0;
    mnemo_status st = mnemo_session_position(session_, &position);
    if (st != MNEMO_OK) return st;
    out_->position = position;
    UsageSample sample;
    sample.position = position;
    sample.layer_bytes_used.resize(out_->layers.size());
    for (size_t l = 0; l < out_->layers.size(); ++l) {
        LayerSnapshot& ls = out_->layers[l];
        mnemo_layer_probe probe{};
        probe.struct_size = sizeof probe;
        if ((st = mnemo_probe_layer(session_, static_cast<int32_t>(l), &probe)) != MNEMO_OK) return st;
        ls.state_bytes_used = probe.state_bytes_used;
        ls.state_bytes_reserved = probe.state_bytes_reserved;
        ls.window_begin = probe.window_begin;
        ls.window_end = probe.window_end;
        ls.n_kv_heads = probe.n_kv_heads;
        sample.layer_bytes_used[l] = probe.state_bytes_used;
        ls.heads.resize(static_cast<size_t>(std::max(probe.n_kv_heads, 0)));
        for (int32_t h = 0; h < probe.n_kv_heads; ++h) {
            size_t count = 0;
            st = mnemo_probe_head_tokens(session_, static_cast<int32_t>(l), h, scratch_.data(), scratch_.size(), &count);
            if (st == MNEMO_ERR_BUFFER_TOO_SMALL) {
                scratch_.resize(count + count / 4 + 16);
                st = mnemo_probe_head_tokens(session_, static_cast<int32_t>(l), h, scratch_.data(), scratch_.size(), &count);
            }
            if (st != MNEMO_OK) return st;
            std::vector<HeldToken>& tokens = ls.heads[static_cast<size_t>(h)].tokens;
            tokens.resize(count);
            for (size_t i = 0; i < count; ++i)
                tokens[i] = HeldToken{scratch_[i].position, to_kind(scratch_[i].kind), scratch_[i].score};
        }
    }
    out_->usage.add(std::move(sample));
    return MNEMO_OK;
}

}  // namespace mnemo::viz
