// The studio's controller: owns the Mnemo model and session, streams the document
// into the session at a chosen speed, answers questions, and keeps the views' data
// model current through visualizer/probe_capture. Uses only the public C API.
#pragma once

#include "probe_capture.h"
#include "studio_model.h"
#include "views.h"

#include <mnemo/mnemo.h>

#include <string>

namespace mnemo::studio {

struct SessionOptions {
    mnemo_backend backend = MNEMO_BACKEND_AUTO;
    int32_t n_threads = 0;
    uint64_t budget_bytes = 0;  // 0: no budget
    int64_t max_context = 0;    // 0: automatic (the stream plus room to ask, for unbounded models)
    mnemo_policy policy = MNEMO_POLICY_NONE;
    int32_t policy_budget = 256;
    int32_t policy_sink = 4;
};

class StudioSession {
public:
    StudioSession() = default;
    StudioSession(const StudioSession&) = delete;
    StudioSession& operator=(const StudioSession&) = delete;
    ~StudioSession();

    // Each returns false with error() set on failure and keeps what was open before.
    bool open_model(const std::string& path);
    bool open_document(const std::string& path);
    bool set_document_text(const std::string& title, std::string text);
    // Recreates the session with new options (back to position 0).
    bool apply_options(const SessionOptions& options);
    const SessionOptions& options() const { return options_; }

    // Streaming.
    bool running() const { return running_; }
    void set_running(bool running);
    void toggle_running() { set_running(!running_); }
    double speed() const { return speed_; }
    void set_speed(double tokens_per_s) { speed_ = tokens_per_s < 0 ? 0 : tokens_per_s; }
    // Feeds `n` tokens now (pauses first).
    void step(int64_t n = 1);
    // Moves the read position: forward by feeding, backward by resetting and re-reading.
    // The work happens in update(), a frame budget at a time.
    void seek(int64_t target);
    bool seeking() const { return seek_target_ >= 0; }
    int64_t seek_target() const { return seek_target_; }
    // Once per frame: feeds what the speed allows within `budget_ms`, streams the
    // answer of a question, and refreshes the probes if anything changed.
    void update(double dt_s, double budget_ms);
    // Feeds up to `n` tokens synchronously (script mode); refreshes the probes.
    bool feed_now(int64_t n);

    // Asks at the current position: the question is fed, the answer streams in update().
    bool ask(const std::string& question);
    bool answering() const { return answering_; }
    viz::AskState& ask_state() { return ask_; }

    const viz::StudioModel& data() const { return data_; }
    bool has_model() const { return model_ != nullptr; }
    bool ready() const { return session_ != nullptr; }
    int64_t stream_length() const { return data_.document.token_count(); }
    const std::string& model_path() const { return model_path_; }
    const std::string& document_path() const { return document_path_; }
    const std::string& error() const { return error_; }
    void clear_error() { error_.clear(); }
    double tokens_per_second() const { return tokens_per_s_; }
    const std::string& session_note() const { return session_note_; }

private:
    bool create_session(const SessionOptions& options);
    bool retokenize();
    bool feed_tokens(int64_t n);
    int64_t chunk_for(double remaining_ms) const;
    void generate_one();
    void finish_answer();
    void refresh();
    bool fail(const std::string& what, mnemo_status status);

    mnemo_model* model_ = nullptr;
    mnemo_session* session_ = nullptr;
    viz::ProbeCapture capture_;
    viz::StudioModel data_;
    SessionOptions options_;
    std::string model_path_, document_path_, document_title_, document_text_;
    std::string error_, session_note_;
    bool running_ = false;
    double speed_ = 200.0;
    double carry_ = 0.0;
    int64_t seek_target_ = -1;
    bool dirty_ = false;
    double tokens_per_s_ = 0.0;
    // Asking.
    viz::AskState ask_;
    bool answering_ = false;
    int64_t answer_begin_ = 0;
    int32_t answer_tokens_ = 0;
};

}  // namespace mnemo::studio
