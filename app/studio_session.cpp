#include "studio_session.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

namespace mnemo::studio {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int64_t kMaxDocumentBytes = int64_t{256} << 20;
constexpr int32_t kMaxAnswerTokens = 64;

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

}  // namespace

StudioSession::~StudioSession() {
    capture_.detach();
    if (session_ != nullptr) mnemo_session_free(session_);
    if (model_ != nullptr) mnemo_model_free(model_);
}

bool StudioSession::fail(const std::string& what, mnemo_status status) {
    error_ = what + ": " + mnemo_status_name(status) + " — " + mnemo_last_error();
    return false;
}

bool StudioSession::open_model(const std::string& path) {
    mnemo_model* model = nullptr;
    const mnemo_status st = mnemo_model_load(path.c_str(), nullptr, &model);
    if (st != MNEMO_OK) return fail("cannot open model " + path, st);
    capture_.detach();
    if (session_ != nullptr) mnemo_session_free(session_);
    session_ = nullptr;
    if (model_ != nullptr) mnemo_model_free(model_);
    model_ = model;
    model_path_ = path;
    error_.clear();
    if (!retokenize()) return false;
    return create_session(options_);
}

bool StudioSession::open_document(const std::string& path) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (ec) {
        error_ = "cannot open document " + path + ": " + ec.message();
        return false;
    }
    if (static_cast<int64_t>(size) > kMaxDocumentBytes) {
        error_ = "document " + path + " is larger than 256 MiB";
        return false;
    }
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in && !in.eof()) {
        error_ = "cannot read document " + path;
        return false;
    }
    if (!set_document_text(std::filesystem::path(path).filename().string(), text.str())) return false;
    document_path_ = path;
    return true;
}

bool StudioSession::set_document_text(const std::string& title, std::string text) {
    std::string old_title = std::move(document_title_), old_text = std::move(document_text_);
    document_title_ = title;
    document_text_ = std::move(text);
    document_path_.clear();
    if (!retokenize()) {
        document_title_ = std::move(old_title);
        document_text_ = std::move(old_text);
        retokenize();
        return false;
    }
    error_.clear();
    return model_ == nullptr || create_session(options_);
}

bool StudioSession::retokenize() {
    ask_ = viz::AskState{};
    answering_ = false;
    running_ = false;
    seek_target_ = -1;
    if (model_ == nullptr) {
        data_.document.clear();
        data_.document.title = document_title_;
        return true;
    }
    const mnemo_status st = viz::tokenize_document(model_, document_title_, document_text_, &data_.document);
    if (st != MNEMO_OK) return fail("cannot tokenize " + document_title_, st);
    return true;
}

bool StudioSession::apply_options(const SessionOptions& options) {
    if (model_ == nullptr) {
        options_ = options;
        return true;
    }
    // Questions asked in the old session are not in the new one: re-read the document alone.
    if (!data_.document.inserted.empty() && !retokenize()) return false;
    return create_session(options);
}

bool StudioSession::create_session(const SessionOptions& options) {
    mnemo_session_params p = mnemo_session_default_params();
    p.backend = options.backend;
    p.n_threads = options.n_threads;
    p.budget_bytes = options.budget_bytes;
    p.max_context = options.max_context;
    p.policy = options.policy;
    p.policy_budget = options.policy_budget;
    p.policy_sink = options.policy_sink;
    session_note_.clear();
    mnemo_model_info info{};
    info.struct_size = sizeof info;
    if (mnemo_model_get_info(model_, &info) == MNEMO_OK && info.bounded == 0 && p.max_context == 0 && p.policy == MNEMO_POLICY_NONE) {
        // Unbounded layers need a limit: the stream plus room for questions and answers.
        p.max_context = (stream_length() + 4096 + 1023) / 1024 * 1024;
        char note[128];
        std::snprintf(note, sizeof note, "max_context set to %lld (unbounded layers)", static_cast<long long>(p.max_context));
        session_note_ = note;
    }
    mnemo_session* session = nullptr;
    const mnemo_status st = mnemo_session_create(model_, &p, &session);
    if (st != MNEMO_OK) return fail("cannot create the session", st);
    capture_.detach();
    if (session_ != nullptr) mnemo_session_free(session_);
    session_ = session;
    options_ = options;
    running_ = false;
    seek_target_ = -1;
    carry_ = 0.0;
    const mnemo_status cs = capture_.attach(model_, session_, p, model_path_, &data_);
    if (cs != MNEMO_OK) return fail("cannot read the session's probes", cs);
    return true;
}

void StudioSession::set_running(bool running) {
    running_ = running && session_ != nullptr && !answering_;
    if (running_ && data_.position >= stream_length()) running_ = false;
    carry_ = 0.0;
}

void StudioSession::step(int64_t n) {
    running_ = false;
    seek_target_ = -1;
    if (session_ == nullptr || answering_) return;
    feed_tokens(n);
    refresh();
}

void StudioSession::seek(int64_t target) {
    if (session_ == nullptr || answering_) return;
    target = std::clamp<int64_t>(target, 0, stream_length());
    running_ = false;
    if (target < data_.position) {
        const mnemo_status st = mnemo_session_reset(session_);
        if (st != MNEMO_OK) {
            fail("cannot reset the session", st);
            return;
        }
        capture_.clear_history();
        refresh();
    }
    seek_target_ = target > data_.position ? target : -1;
}

bool StudioSession::feed_tokens(int64_t n) {
    int64_t position = 0;
    if (mnemo_session_position(session_, &position) != MNEMO_OK) return false;
    n = std::min<int64_t>(n, stream_length() - position);
    if (n <= 0) return false;
    const auto t0 = Clock::now();
    const mnemo_status st = mnemo_session_feed(session_, data_.document.token_ids.data() + position, static_cast<size_t>(n));
    if (st != MNEMO_OK) {
        fail("feeding the session failed", st);
        running_ = false;
        seek_target_ = -1;
        mnemo_session_reset(session_);  // a failed feed leaves the session in an error state
        capture_.clear_history();
        dirty_ = true;
        return false;
    }
    const double s = std::max(ms_since(t0) / 1000.0, 1e-9);
    const double rate = static_cast<double>(n) / s;
    tokens_per_s_ = tokens_per_s_ == 0.0 ? rate : tokens_per_s_ * 0.9 + rate * 0.1;
    dirty_ = true;
    return true;
}

void StudioSession::refresh() {
    if (session_ == nullptr) return;
    const mnemo_status st = capture_.refresh();
    if (st != MNEMO_OK) fail("cannot read the probes", st);
    dirty_ = false;
}

int64_t StudioSession::chunk_for(double remaining_ms) const {
    // As many tokens as the measured throughput feeds in the time left, so a frame
    // stays within its budget whatever the model's speed.
    if (tokens_per_s_ <= 0.0) return 8;
    return std::clamp<int64_t>(static_cast<int64_t>(tokens_per_s_ * std::max(remaining_ms, 0.0) / 1000.0), 1, 512);
}

void StudioSession::update(double dt_s, double budget_ms) {
    if (session_ == nullptr) return;
    const auto t0 = Clock::now();
    if (answering_) {
        do generate_one();
        while (answering_ && ms_since(t0) < budget_ms * 0.5);
    } else if (seek_target_ >= 0) {
        while (data_.position < seek_target_ && ms_since(t0) < budget_ms) {
            if (!feed_tokens(std::min<int64_t>(chunk_for(budget_ms - ms_since(t0)), seek_target_ - data_.position))) break;
            int64_t p = 0;
            mnemo_session_position(session_, &p);
            data_.position = p;
        }
        if (data_.position >= seek_target_) seek_target_ = -1;
    } else if (running_) {
        double want = 1e18;
        if (speed_ > 0.0) {
            carry_ = std::min(carry_ + speed_ * dt_s, std::max(speed_ * 0.25, 1.0));
            want = std::floor(carry_);
            carry_ -= want;
        }
        while (want >= 1.0 && ms_since(t0) < budget_ms) {
            const int64_t n = static_cast<int64_t>(std::min(want, static_cast<double>(chunk_for(budget_ms - ms_since(t0)))));
            if (!feed_tokens(n)) break;
            want -= static_cast<double>(n);
        }
        int64_t p = 0;
        mnemo_session_position(session_, &p);
        if (p >= stream_length()) running_ = false;
    }
    if (dirty_) refresh();
}

bool StudioSession::feed_now(int64_t n) {
    if (session_ == nullptr) return false;
    running_ = false;
    bool ok = true;
    while (n > 0 && ok) {
        const int64_t k = std::min<int64_t>(n, 1024);
        ok = feed_tokens(k);
        n -= k;
    }
    refresh();
    return error_.empty();
}

bool StudioSession::ask(const std::string& question) {
    if (session_ == nullptr || answering_ || question.empty()) return false;
    running_ = false;
    seek_target_ = -1;
    std::vector<int32_t> tokens;
    const std::string prompt = "\n\nQuestion: " + question + "\nAnswer:";
    mnemo_status st = viz::tokenize_text(model_, prompt, &tokens);
    if (st != MNEMO_OK) return fail("cannot tokenize the question", st);
    const int64_t at = data_.position;
    st = viz::insert_tokens(model_, tokens.data(), tokens.size(), at, false, &data_.document);
    if (st != MNEMO_OK) return fail("cannot tokenize the question", st);
    if (!feed_tokens(static_cast<int64_t>(tokens.size()))) return false;
    refresh();
    ask_.question = question;
    ask_.answer.clear();
    ask_.busy = true;
    ask_.prompt[0] = '\0';
    answering_ = true;
    answer_begin_ = data_.position;
    answer_tokens_ = 0;
    return true;
}

void StudioSession::generate_one() {
    mnemo_sampler_params sp = mnemo_sampler_default_params();
    sp.repetition_penalty = 1.3f;
    int32_t token = 0;
    mnemo_status st = mnemo_session_sample(session_, &sp, &token);
    if (st != MNEMO_OK) {
        fail("sampling failed", st);
        finish_answer();
        return;
    }
    mnemo_model_info info{};
    info.struct_size = sizeof info;
    mnemo_model_get_info(model_, &info);
    if (token == info.eos_token_id || answer_tokens_ >= kMaxAnswerTokens) {
        finish_answer();
        return;
    }
    st = viz::insert_tokens(model_, &token, 1, data_.position, true, &data_.document);
    if (st != MNEMO_OK || !feed_tokens(1)) {
        if (st != MNEMO_OK) fail("cannot decode the answer", st);
        finish_answer();
        return;
    }
    ++answer_tokens_;
    refresh();
    ask_.answer = std::string(data_.document.range_text(answer_begin_, data_.position));
    // A blank line ends the answer.
    if (ask_.answer.size() > 2 && ask_.answer.find("\n\n", 1) != std::string::npos) finish_answer();
}

void StudioSession::finish_answer() {
    answering_ = false;
    ask_.busy = false;
}

}  // namespace mnemo::studio
