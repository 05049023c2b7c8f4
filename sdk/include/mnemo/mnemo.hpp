// mnemo.hpp — thin header-only C++ wrapper over mnemo.h: RAII handles, and
// statuses turned into mnemo::Error exceptions (on the C++ side only; the C API
// itself never throws).
#pragma once

#include "mnemo.h"

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace mnemo {

class Error : public std::runtime_error {
public:
    Error(mnemo_status status, const std::string& message)
        : std::runtime_error(std::string(mnemo_status_name(status)) + ": " + message), status_(status) {}
    mnemo_status status() const noexcept { return status_; }

private:
    mnemo_status status_;
};

inline void check(mnemo_status status) {
    if (status != MNEMO_OK) throw Error(status, mnemo_last_error());
}

class Model {
public:
    explicit Model(const std::string& path, const mnemo_model_params* params = nullptr) {
        mnemo_model* m = nullptr;
        check(mnemo_model_load(path.c_str(), params, &m));
        handle_.reset(m);
    }
    const mnemo_model* get() const noexcept { return handle_.get(); }

    mnemo_model_info info() const {
        mnemo_model_info i{};
        i.struct_size = sizeof i;
        check(mnemo_model_get_info(get(), &i));
        return i;
    }
    mnemo_layer_info layer(int32_t index) const {
        mnemo_layer_info i{};
        i.struct_size = sizeof i;
        check(mnemo_model_get_layer_info(get(), index, &i));
        return i;
    }
    std::vector<int32_t> tokenize(std::string_view text, bool add_bos = false) const {
        size_t n = 0;
        const mnemo_status s = mnemo_tokenize(get(), text.data(), text.size(), add_bos ? 1 : 0, nullptr, 0, &n);
        if (s != MNEMO_OK && s != MNEMO_ERR_BUFFER_TOO_SMALL) check(s);
        std::vector<int32_t> ids(n);
        check(mnemo_tokenize(get(), text.data(), text.size(), add_bos ? 1 : 0, ids.data(), ids.size(), &n));
        return ids;
    }
    std::string detokenize(const std::vector<int32_t>& ids) const {
        size_t n = 0;
        const mnemo_status s = mnemo_detokenize(get(), ids.data(), ids.size(), nullptr, 0, &n);
        if (s != MNEMO_OK && s != MNEMO_ERR_BUFFER_TOO_SMALL) check(s);
        std::string text(n, '\0');
        check(mnemo_detokenize(get(), ids.data(), ids.size(), text.data(), text.size(), &n));
        return text;
    }

private:
    struct Free { void operator()(mnemo_model* m) const noexcept { mnemo_model_free(m); } };
    std::unique_ptr<mnemo_model, Free> handle_;
};

class Session {
public:
    explicit Session(const Model& model, mnemo_session_params params = mnemo_session_default_params()) {
        mnemo_session* s = nullptr;
        check(mnemo_session_create(model.get(), &params, &s));
        handle_.reset(s);
    }
    mnemo_session* get() const noexcept { return handle_.get(); }
    int64_t position() const {
        int64_t p = 0;
        check(mnemo_session_position(get(), &p));
        return p;
    }

private:
    struct Free { void operator()(mnemo_session* s) const noexcept { mnemo_session_free(s); } };
    std::unique_ptr<mnemo_session, Free> handle_;
};

// The document store and session snapshots (mnemo.h, "store and snapshots").
class Store {
public:
    explicit Store(const std::string& path, mnemo_store_params params = mnemo_store_default_params()) {
        mnemo_store* s = nullptr;
        check(mnemo_store_open(path.c_str(), &params, &s));
        handle_.reset(s);
    }
    mnemo_store* get() const noexcept { return handle_.get(); }

    int64_t add_document(const std::string& title, std::string_view text) {
        int64_t id = 0;
        check(mnemo_store_add_document(get(), title.c_str(), text.data(), text.size(), &id));
        return id;
    }
    int64_t find(const std::string& id_or_title) const {
        int64_t id = 0;
        check(mnemo_store_find_document(get(), id_or_title.c_str(), &id));
        return id;
    }
    // Strings in the returned records stay valid until the next call on the store.
    mnemo_document document(int64_t id) const {
        mnemo_document d{};
        d.struct_size = sizeof d;
        check(mnemo_store_get_document(get(), id, &d));
        return d;
    }
    std::vector<mnemo_document> documents() const {
        size_t n = 0;
        const mnemo_status s = mnemo_store_list_documents(get(), nullptr, 0, &n);
        if (s != MNEMO_OK && s != MNEMO_ERR_BUFFER_TOO_SMALL) check(s);
        mnemo_document proto{};
        proto.struct_size = sizeof proto;
        std::vector<mnemo_document> docs(n, proto);
        check(mnemo_store_list_documents(get(), docs.data(), docs.size(), &n));
        return docs;
    }
    void remove(int64_t id) { check(mnemo_store_delete_document(get(), id)); }

    mnemo_ingest_result ingest(Session& session, int64_t id, const mnemo_ingest_params& params = mnemo_ingest_default_params()) {
        mnemo_ingest_result r{};
        r.struct_size = sizeof r;
        check(mnemo_store_ingest(get(), session.get(), id, &params, &r));
        return r;
    }
    std::string ask(const Model& model, int64_t id, const std::string& question,
                    const mnemo_ask_params& params = mnemo_ask_default_params()) {
        mnemo_answer a{};
        a.struct_size = sizeof a;
        check(mnemo_store_ask(get(), model.get(), id, question.c_str(), &params, &a));
        return std::string(a.text, a.text_len);
    }

    // A session's snapshot as bytes, and back.
    static std::vector<uint8_t> snapshot(const Session& session) {
        size_t n = 0;
        check(mnemo_session_snapshot_size(session.get(), &n));
        std::vector<uint8_t> blob(n);
        check(mnemo_session_snapshot(session.get(), blob.data(), blob.size(), &n));
        return blob;
    }
    static void restore(Session& session, const std::vector<uint8_t>& blob) {
        check(mnemo_session_restore(session.get(), blob.data(), blob.size()));
    }

private:
    struct Free { void operator()(mnemo_store* s) const noexcept { mnemo_store_close(s); } };
    std::unique_ptr<mnemo_store, Free> handle_;
};

}  // namespace mnemo
