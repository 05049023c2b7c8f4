// Fills the studio's data model (studio_model.h) from a Mnemo session through the
// public C API only. The views never see mnemo.h; this adapter is the one place
// where probes become plain structs.
#pragma once

#include "studio_model.h"

#include <mnemo/mnemo.h>

#include <string_view>
#include <vector>

namespace mnemo::viz {

// Tokenizes `text` with the model's tokenizer (a BOS first when the model has one)
// and fills `doc` with the ids and each token's text and offset.
mnemo_status tokenize_document(const mnemo_model* model, std::string_view title, std::string_view text,
                               DocumentModel* doc);

// Tokenizes `text` (no BOS) into `out_tokens`.
mnemo_status tokenize_text(const mnemo_model* model, std::string_view text, std::vector<int32_t>* out_tokens);

// Splices tokens that are not from the document (a question, an answer) into the
// stream at position `at`, shifting the unread rest of the document after them.
mnemo_status insert_tokens(const mnemo_model* model, const int32_t* tokens, size_t n_tokens, int64_t at, bool answer,
                           DocumentModel* doc);

class ProbeCapture {
public:
    ProbeCapture() = default;
    ProbeCapture(const ProbeCapture&) = delete;
    ProbeCapture& operator=(const ProbeCapture&) = delete;
    ~ProbeCapture() { detach(); }

    // Describes the model and the session's memory plan into `out` (layers, plan),
    // clears its probes, usage history and eviction log, and registers an eviction
    // callback that appends to out->evictions. `out` must outlive the attachment.
    mnemo_status attach(const mnemo_model* model, mnemo_session* session, const mnemo_session_params& params,
                        std::string_view model_path, StudioModel* out);
    // Unregisters the callback; the model keeps the last captured values.
    void detach();
    bool attached() const { return session_ != nullptr; }

    // Reads the session position, every layer's probe and every KV head's held
    // tokens, and appends a usage sample.
    mnemo_status refresh();
    // Forgets probes, usage and evictions (after mnemo_session_reset).
    void clear_history();

private:
    const mnemo_model* model_ = nullptr;
    mnemo_session* session_ = nullptr;
    StudioModel* out_ = nullptr;
    std::vector<mnemo_probe_token> scratch_;
};

}  // namespace mnemo::viz
