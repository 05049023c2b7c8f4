// The C API of snapshots and the document store (mnemo.h, "store and snapshots"):
// argument checking and handle ownership over snapshot.h and store.h, plus the two
// workflows that combine a store with the runtime: ingest and ask.
#include "mnemo/mnemo.h"

#include "api_util.h"
#include "error.h"
#include "model.h"
#include "session.h"
#include "snapshot.h"
#include "store.h"
#include "util.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

using namespace mnemo;
using namespace mnemo::api;

namespace {

double now_ms() { return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

const char* const kDefaultAskStops[] = {"\n"};

std::string absolute_path(const std::string& path) {
    std::error_code ec;
    const std::filesystem::path p = std::filesystem::absolute(path, ec);
    return ec ? path : p.lexically_normal().string();
}

mnemo_document to_c(mnemo_store& h, const DocumentRecord& r) {
    mnemo_document d;
    std::memset(&d, 0, sizeof d);
    d.id = r.id;
    d.title = h.keep(r.title);
    d.content_hash = r.content_hash;
    d.n_bytes = r.n_bytes;
    d.created_at = r.created_at;
    d.ingested = r.ingested ? 1 : 0;
    d.n_tokens = r.n_tokens;
    d.state_bytes = r.state_bytes;
    d.snapshot_bytes = r.snapshot_bytes;
    d.ingest_seconds = r.ingest_seconds;
    d.model_path = h.keep(r.model_path);
    d.model_hash = r.model_hash;
    d.checkpoint_tokens = r.checkpoint_tokens;
    d.total_tokens = r.total_tokens;
    d.n_questions = r.n_questions;
    return d;
}

// The complete snapshot of document `id` for the model hashing to `hash`, or a
// status explaining why there is none.
mnemo_status find_complete(StoreImpl& store, int64_t id, uint64_t hash, SnapshotRecord* rec) {
    DocumentRecord doc;
    MNEMO_TRY(store.get_document(id, &doc));
    bool found = false;
    MNEMO_TRY(store.find_snapshot(id, hash, true, rec, &found));
    if (found) return MNEMO_OK;
    SnapshotRecord other;
    MNEMO_TRY(store.latest_complete_snapshot(id, &other, &found));
    if (found) {
        ModelRecord m;
        MNEMO_TRY(store.get_model(other.model_id, &m));
        return failf(MNEMO_ERR_MISMATCH,
                     "document #%lld '%s' was ingested with another model (%s, hash %016llx), not this one (hash %016llx); load "
                     "that model or ingest the document again with this one",
                     static_cast<long long>(id), doc.title.c_str(), m.path.c_str(), static_cast<unsigned long long>(m.hash),
                     static_cast<unsigned long long>(hash));
    }
    if (doc.checkpoint_tokens > 0)
        return failf(MNEMO_ERR_STATE, "the ingest of document #%lld '%s' is unfinished (checkpoint at %lld of %lld tokens); ingest it again to resume",
                     static_cast<long long>(id), doc.title.c_str(), static_cast<long long>(doc.checkpoint_tokens),
                     static_cast<long long>(doc.total_tokens));
    return failf(MNEMO_ERR_STATE, "document #%lld '%s' has not been ingested yet", static_cast<long long>(id), doc.title.c_str());
}

struct EvictionSink {
    std::vector<EvictionRecord> events;
    int64_t total = 0;
    static void on_event(const mnemo_eviction_event* e, void* user) {
        auto* self = static_cast<EvictionSink*>(user);
        self->events.push_back({e->position, e->layer, e->kv_head, e->score, static_cast<int32_t>(e->reason)});
        ++self->total;
    }
};

mnemo_status ingest(mnemo_store& h, SessionImpl& s, int64_t id, const mnemo_ingest_params& p, mnemo_ingest_result* result) {
    StoreImpl& store = *h.store;
    if (store.read_only()) return failf(MNEMO_ERR_IO, "%s: cannot ingest: the store is open read-only", store.path().c_str());
    if (p.checkpoint_tokens < 0) return failf(MNEMO_ERR_INVALID_ARGUMENT, "checkpoint_tokens = %lld is negative", static_cast<long long>(p.checkpoint_tokens));
    std::string text;
    MNEMO_TRY(store.document_text(id, &text));
    const ModelImpl& m = s.model();
    if (!m.tokenizer) return fail(MNEMO_ERR_TOKENIZER, "the model file has no tokenizer (convert it with --tokenizer)");
    std::vector<int32_t> tokens;
    if (p.add_bos && m.config.bos_token_id >= 0) tokens.push_back(m.config.bos_token_id);
    {
        std::vector<int32_t> body;
        MNEMO_TRY(m.tokenizer->encode(text, &body));
        tokens.insert(tokens.end(), body.begin(), body.end());
    }
    std::string().swap(text);
    const auto total = static_cast<int64_t>(tokens.size());
    if (total == 0) return failf(MNEMO_ERR_INVALID_ARGUMENT, "document #%lld has no tokens", static_cast<long long>(id));
    const mnemo_session_params& sp = s.params();
    if (sp.max_context > 0 && total > sp.max_context)
        return failf(MNEMO_ERR_OUT_OF_RANGE, "document #%lld has %lld tokens but the session's max_context is %lld", static_cast<long long>(id),
                     static_cast<long long>(total), static_cast<long long>(sp.max_context));

    ModelRecord model;
    model.hash = model_hash(m);
    model.path = p.model_path != nullptr && *p.model_path != '\0' ? std::string(p.model_path) : absolute_path(m.file.label());
    model.name = m.config.name;

    // Tokens are fed in slices that end at fixed multiples of `slice` (about 2048
    // tokens, fewer for frequent checkpoints, a whole number of chunks), so a resumed
    // ingest feeds exactly the slices an uninterrupted one would.
    const int64_t chunk = sp.chunk_tokens > 0 ? sp.chunk_tokens : 256;
    const int64_t target = p.checkpoint_tokens > 0 ? std::min<int64_t>(2048, p.checkpoint_tokens) : 2048;
    const int64_t slice = chunk * ((target + chunk - 1) / chunk);
    int64_t checkpoint = 0;
    if (p.checkpoint_tokens > 0) checkpoint = (p.checkpoint_tokens + slice - 1) / slice * slice;

    int64_t start = 0;
    double prior_seconds = 0.0;
    bool fresh = true;
    if (p.resume) {
        SnapshotRecord rec;
        bool found = false;
        MNEMO_TRY(store.find_snapshot(id, model.hash, false, &rec, &found));
        if (found && rec.total_tokens == total && rec.n_tokens > 0 && rec.n_tokens < total && rec.n_tokens % slice == 0 &&
            restore_snapshot(s, model.hash, rec.blob.data(), rec.blob.size()) == MNEMO_OK && s.position() == rec.n_tokens) {
            start = rec.n_tokens;
            prior_seconds = rec.seconds;
            fresh = false;
        }
        clear_error();
    }
    if (start == 0) s.reset();

    EvictionSink sink;
    struct CallbackGuard {
        SessionImpl* s = nullptr;
        ~CallbackGuard() {
            if (s != nullptr) s->set_eviction_callback(nullptr, nullptr);
        }
    } guard;
    if (p.record_evictions) {
        MNEMO_TRY(s.set_eviction_callback(&EvictionSink::on_event, &sink));
        guard.s = &s;
    }

    const double t0 = now_ms();
    const uint64_t state_bytes = s.state_bytes();
    // State bytes holding live entries now (the layer probes' sum): grows while the
    // windows fill, then stays put for bounded models.
    const auto used_bytes = [&s]() {
        uint64_t used = sizeof(int64_t);
        for (int32_t i = 0; i < s.model().config.n_layers; ++i) used += s.mixer(i).state_bytes_used();
        return used;
    };
    if (p.progress != nullptr && p.progress(start, total, used_bytes(), p.user_data) != 0)
        return failf(MNEMO_ERR_CANCELLED, "ingest of document #%lld cancelled before it started", static_cast<long long>(id));
    std::vector<uint8_t> blob;
    for (int64_t done = start; done < total;) {
        const int64_t end = std::min(total, (done / slice + 1) * slice);
        MNEMO_TRY(s.feed(tokens.data() + done, static_cast<size_t>(end - done)));
        done = end;
        if (p.progress != nullptr && p.progress(done, total, used_bytes(), p.user_data) != 0)
            return failf(MNEMO_ERR_CANCELLED, "ingest of document #%lld cancelled at %lld of %lld tokens%s", static_cast<long long>(id),
                         static_cast<long long>(done), static_cast<long long>(total),
                         checkpoint > 0 ? "; its last checkpoint is kept, ingest again to resume" : "");
        if (checkpoint > 0 && done % checkpoint == 0 && done < total) {
            MNEMO_TRY(make_snapshot(s, model.hash, &blob));
            MNEMO_TRY(store.save_snapshot(id, model, false, done, total, state_bytes, prior_seconds + (now_ms() - t0) / 1000.0, blob,
                                          sink.events, fresh));
            sink.events.clear();
            fresh = false;
        }
    }
    const double seconds = (now_ms() - t0) / 1000.0;
    MNEMO_TRY(make_snapshot(s, model.hash, &blob));
    MNEMO_TRY(store.save_snapshot(id, model, true, total, total, state_bytes, prior_seconds + seconds, blob, sink.events, fresh));
    if (result != nullptr) {
        mnemo_ingest_result r;
        std::memset(&r, 0, sizeof r);
        r.n_tokens = total;
        r.resumed_from = start;
        r.state_bytes = state_bytes;
        r.snapshot_bytes = blob.size();
        r.seconds = seconds;
        r.tokens_per_second = seconds > 0 ? static_cast<double>(total - start) / seconds : 0.0;
        r.n_eviction_events = sink.total;
        copy_out(result, r);
    }
    return MNEMO_OK;
}

// Replaces every byte that does not start a valid UTF-8 sequence with U+FFFD.
std::string valid_utf8(const std::string& text) {
    std::string out;
    for (size_t i = 0; i < text.size();) {
        const size_t bad = find_invalid_utf8(std::string_view(text).substr(i));
        if (bad == std::string_view::npos) {
            out.append(text, i, std::string::npos);
            break;
        }
        out.append(text, i, bad);
        out += "\xEF\xBF\xBD";
        i += bad + 1;
    }
    return out;
}

std::string fill_template(const std::string& tmpl, const std::string& question) {
    static const std::string kSlot = "{question}";
    std::string out;
    size_t from = 0;
    for (size_t at; (at = tmpl.find(kSlot, from)) != std::string::npos; from = at + kSlot.size()) {
        out.append(tmpl, from, at - from);
        out += question;
    }
    out.append(tmpl, from, std::string::npos);
    return out;
}

}  // namespace

extern "C" {

mnemo_status mnemo_model_hash(const mnemo_model* model, uint64_t* out_hash) {
    return guarded("mnemo_model_hash", [&]() -> mnemo_status {
        if (model == nullptr || out_hash == nullptr) return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_model_hash: model or out_hash is NULL");
        *out_hash = model_hash(*model->model);
        return MNEMO_OK;
    });
}

mnemo_status mnemo_session_snapshot_size(const mnemo_session* session, size_t* out_size) {
    return guarded("mnemo_session_snapshot_size", [&]() -> mnemo_status {
        if (session == nullptr || out_size == nullptr)
            return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_session_snapshot_size: session or out_size is NULL");
        *out_size = static_cast<size_t>(snapshot_size(*session->session));
        return MNEMO_OK;
    });
}

mnemo_status mnemo_session_snapshot(const mnemo_session* session, void* out, size_t capacity, size_t* out_size) {
    return guarded("mnemo_session_snapshot", [&]() -> mnemo_status {
        if (session == nullptr || out_size == nullptr)
            return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_session_snapshot: session or out_size is NULL");
        if (out == nullptr && capacity > 0) return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_session_snapshot: out is NULL with capacity > 0");
        const SessionImpl& s = *session->session;
        const auto needed = static_cast<size_t>(snapshot_size(s));
        *out_size = needed;
        if (capacity < needed)
            return failf(MNEMO_ERR_BUFFER_TOO_SMALL, "mnemo_session_snapshot: the snapshot needs %zu bytes, the buffer holds %zu", needed, capacity);
        write_snapshot(s, model_hash(s.model()), static_cast<uint8_t*>(out));
        return MNEMO_OK;
    });
}

mnemo_status mnemo_session_restore(mnemo_session* session, const void* snapshot, size_t size) {
    return guarded("mnemo_session_restore", [&]() -> mnemo_status {
        if (session == nullptr || snapshot == nullptr)
            return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_session_restore: session or snapshot is NULL");
        SessionImpl& s = *session->session;
        return restore_snapshot(s, model_hash(s.model()), static_cast<const uint8_t*>(snapshot), size);
    });
}

mnemo_status mnemo_snapshot_get_info(const void* snapshot, size_t size, mnemo_snapshot_info* out_info) {
    return guarded("mnemo_snapshot_get_info", [&]() -> mnemo_status {
        MNEMO_TRY(check_struct(out_info, "mnemo_snapshot_info"));
        SnapshotHeader h;
        MNEMO_TRY(parse_snapshot(static_cast<const uint8_t*>(snapshot), size, &h));
        mnemo_snapshot_info info;
        std::memset(&info, 0, sizeof info);
        info.format_version = h.format_version;
        info.library_version = h.library_version;
        info.model_hash = h.model_hash;
        info.state_bytes = h.state_bytes;
        info.position = h.position;
        info.max_context = h.max_context;
        info.policy = static_cast<mnemo_policy>(h.policy);
        info.policy_budget = h.policy_budget;
        info.policy_sink = h.policy_sink;
        info.chunk_tokens = h.chunk_tokens;
        info.n_layers = h.n_layers;
        copy_out(out_info, info);
        return MNEMO_OK;
    });
}

mnemo_status mnemo_session_create_from_snapshot(const mnemo_model* model, const void* snapshot, size_t size,
                                                const mnemo_session_params* params, mnemo_session** out_session) {
    return guarded("mnemo_session_create_from_snapshot", [&]() -> mnemo_status {
        if (out_session == nullptr) return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_session_create_from_snapshot: out_session is NULL");
        *out_session = nullptr;
        if (model == nullptr) return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_session_create_from_snapshot: model is NULL");
        if (params != nullptr) MNEMO_TRY(check_struct(params, "mnemo_session_params"));
        SnapshotHeader h;
        MNEMO_TRY(parse_snapshot(static_cast<const uint8_t*>(snapshot), size, &h));
        const uint64_t hash = model_hash(*model->model);
        if (h.model_hash != hash)
            return failf(MNEMO_ERR_MISMATCH, "the snapshot belongs to another model (model hash %016llx; this model is %016llx)",
                         static_cast<unsigned long long>(h.model_hash), static_cast<unsigned long long>(hash));
        const mnemo_session_params p = session_params_for(h, copy_in(params, mnemo_session_default_params()));
        auto handle = std::make_unique<mnemo_session>();
        MNEMO_TRY(create_session(*model->model, p, &handle->session));
        MNEMO_TRY(restore_snapshot(*handle->session, hash, static_cast<const uint8_t*>(snapshot), size));
        *out_session = handle.release();
        return MNEMO_OK;
    });
}

mnemo_store_params mnemo_store_default_params(void) {
    mnemo_store_params p;
    std::memset(&p, 0, sizeof p);
    p.struct_size = sizeof p;
    p.read_only = 0;
    p.create = 1;
    p.busy_timeout_ms = 5000;
    return p;
}

mnemo_status mnemo_store_open(const char* path, const mnemo_store_params* params, mnemo_store** out_store) {
    return guarded("mnemo_store_open", [&]() -> mnemo_status {
        if (out_store == nullptr) return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_store_open: out_store is NULL");
        *out_store = nullptr;
        if (path == nullptr || *path == '\0') return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_store_open: path is NULL or empty");
        if (params != nullptr) MNEMO_TRY(check_struct(params, "mnemo_store_params"));
        const mnemo_store_params p = copy_in(params, mnemo_store_default_params());
        if (p.busy_timeout_ms < 0) return failf(MNEMO_ERR_INVALID_ARGUMENT, "busy_timeout_ms = %d is negative", p.busy_timeout_ms);
        StoreOptions o;
        o.read_only = p.read_only != 0;
        o.create = p.create != 0;
        o.busy_timeout_ms = p.busy_timeout_ms;
        auto handle = std::make_unique<mnemo_store>();
        MNEMO_TRY(StoreImpl::open(path, o, &handle->store));
        *out_store = handle.release();
        return MNEMO_OK;
    });
}

void mnemo_store_close(mnemo_store* store) { delete store; }

mnemo_status mnemo_store_schema_version(const mnemo_store* store, int32_t* out_version) {
    return guarded("mnemo_store_schema_version", [&]() -> mnemo_status {
        if (store == nullptr || out_version == nullptr)
            return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_store_schema_version: store or out_version is NULL");
        *out_version = store->store->schema_version();
        return MNEMO_OK;
    });
}

mnemo_status mnemo_store_add_document(mnemo_store* store, const char* title, const char* text, size_t text_len, int64_t* out_id) {
    return guarded("mnemo_store_add_document", [&]() -> mnemo_status {
        if (store == nullptr || out_id == nullptr) return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_store_add_document: store or out_id is NULL");
        *out_id = 0;
        if (title == nullptr) return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_store_add_document: title is NULL");
        if (text == nullptr && text_len > 0) return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_store_add_document: text is NULL");
        int64_t existing = 0;
        const mnemo_status s = store->store->add_document(title, std::string(text != nullptr ? text : "", text_len), out_id, &existing);
        if (s == MNEMO_ERR_STATE) *out_id = existing;
        return s;
    });
}

mnemo_status mnemo_store_find_document(mnemo_store* store, const char* id_or_title, int64_t* out_id) {
    return guarded("mnemo_store_find_document", [&]() -> mnemo_status {
        if (store == nullptr || id_or_title == nullptr || out_id == nullptr)
            return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_store_find_document: store, id_or_title or out_id is NULL");
        return store->store->find_document(id_or_title, out_id);
    });
}

mnemo_status mnemo_store_get_document(mnemo_store* store, int64_t id, mnemo_document* out) {
    return guarded("mnemo_store_get_document", [&]() -> mnemo_status {
        if (store == nullptr) return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_store_get_document: store is NULL");
        MNEMO_TRY(check_struct(out, "mnemo_document"));
        DocumentRecord r;
        MNEMO_TRY(store->store->get_document(id, &r));
        store->strings.clear();
        copy_out(out, to_c(*store, r));
        return MNEMO_OK;
    });
}

mnemo_status mnemo_store_list_documents(mnemo_store* store, mnemo_document* out, size_t capacity, size_t* out_count) {
    return guarded("mnemo_store_list_documents", [&]() -> mnemo_status {
        if (store == nullptr || out_count == nullptr)
            return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_store_list_documents: store or out_count is NULL");
        *out_count = 0;
        if (out == nullptr && capacity > 0) return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_store_list_documents: out is NULL with capacity > 0");
        for (size_t i = 0; i < capacity; ++i) MNEMO_TRY(check_struct(&out[i], "mnemo_document"));
        std::vector<DocumentRecord> docs;
        MNEMO_TRY(store->store->list_documents(&docs));
        *out_count = docs.size();
        if (docs.size() > capacity)
            return failf(MNEMO_ERR_BUFFER_TOO_SMALL, "mnemo_store_list_documents: %zu documents do not fit in %zu", docs.size(), capacity);
        store->strings.clear();
        for (size_t i = 0; i < docs.size(); ++i) copy_out(&out[i], to_c(*store, docs[i]));
        return MNEMO_OK;
    });
}

mnemo_status mnemo_store_document_text(mnemo_store* store, int64_t id, char* out_text, size_t capacity, size_t* out_len) {
    return guarded("mnemo_store_document_text", [&]() -> mnemo_status {
        if (store == nullptr || out_len == nullptr)
            return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_store_document_text: store or out_len is NULL");
        *out_len = 0;
        if (out_text == nullptr && capacity > 0) return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_store_document_text: out_text is NULL with capacity > 0");
        std::string text;
        MNEMO_TRY(store->store->document_text(id, &text));
        *out_len = text.size();
        if (text.size() > capacity)
            return failf(MNEMO_ERR_BUFFER_TOO_SMALL, "mnemo_store_document_text: %zu bytes do not fit in a buffer of %zu", text.size(), capacity);
        if (!text.empty()) std::memcpy(out_text, text.data(), text.size());
        if (text.size() < capacity) out_text[text.size()] = '\0';
        return MNEMO_OK;
    });
}

mnemo_status mnemo_store_delete_document(mnemo_store* store, int64_t id) {
    return guarded("mnemo_store_delete_document", [&]() -> mnemo_status {
        if (store == nullptr) return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_store_delete_document: store is NULL");
        return store->store->delete_document(id);
    });
}

mnemo_ingest_params mnemo_ingest_default_params(void) {
    mnemo_ingest_params p;
    std::memset(&p, 0, sizeof p);
    p.struct_size = sizeof p;
    p.checkpoint_tokens = 65536;
    p.resume = 1;
    p.add_bos = 1;
    return p;
}

mnemo_status mnemo_store_ingest(mnemo_store* store, mnemo_session* session, int64_t id, const mnemo_ingest_params* params,
                                mnemo_ingest_result* out_result) {
    return guarded("mnemo_store_ingest", [&]() -> mnemo_status {
        if (store == nullptr || session == nullptr) return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_store_ingest: store or session is NULL");
        if (params != nullptr) MNEMO_TRY(check_struct(params, "mnemo_ingest_params"));
        if (out_result != nullptr) MNEMO_TRY(check_struct(out_result, "mnemo_ingest_result"));
        return ingest(*store, *session->session, id, copy_in(params, mnemo_ingest_default_params()), out_result);
    });
}

mnemo_status mnemo_store_restore(mnemo_store* store, int64_t id, mnemo_session* session) {
    return guarded("mnemo_store_restore", [&]() -> mnemo_status {
        if (store == nullptr || session == nullptr) return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_store_restore: store or session is NULL");
        SessionImpl& s = *session->session;
        const uint64_t hash = model_hash(s.model());
        SnapshotRecord rec;
        MNEMO_TRY(find_complete(*store->store, id, hash, &rec));
        return restore_snapshot(s, hash, rec.blob.data(), rec.blob.size());
    });
}

mnemo_ask_params mnemo_ask_default_params(void) {
    mnemo_ask_params p;
    std::memset(&p, 0, sizeof p);
    p.struct_size = sizeof p;
    p.generate = mnemo_generate_default_params();
    p.generate.stop_strings = kDefaultAskStops;
    p.generate.n_stop_strings = 1;
    p.prompt_template = nullptr;
    p.n_threads = 0;
    p.record = 1;
    return p;
}

mnemo_status mnemo_store_ask(mnemo_store* store, const mnemo_model* model, int64_t id, const char* question,
                             const mnemo_ask_params* params, mnemo_answer* out_answer) {
    return guarded("mnemo_store_ask", [&]() -> mnemo_status {
        if (store == nullptr || model == nullptr || question == nullptr)
            return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_store_ask: store, model or question is NULL");
        MNEMO_TRY(check_struct(out_answer, "mnemo_answer"));
        if (params != nullptr) MNEMO_TRY(check_struct(params, "mnemo_ask_params"));
        const mnemo_ask_params p = copy_in(params, mnemo_ask_default_params());
        MNEMO_TRY(check_struct(&p.generate, "mnemo_ask_params.generate"));
        if (p.generate.max_tokens < 0) return failf(MNEMO_ERR_INVALID_ARGUMENT, "max_tokens = %d is negative", p.generate.max_tokens);
        const std::string q = question;
        if (q.empty()) return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_store_ask: the question is empty");
        if (find_invalid_utf8(q) != std::string_view::npos) return fail(MNEMO_ERR_CORRUPT, "mnemo_store_ask: the question is not valid UTF-8");
        const std::string tmpl = p.prompt_template != nullptr ? p.prompt_template : MNEMO_ASK_DEFAULT_TEMPLATE;
        if (tmpl.find("{question}") == std::string::npos)
            return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_store_ask: prompt_template has no {question} slot");
        if (find_invalid_utf8(tmpl) != std::string_view::npos)
            return fail(MNEMO_ERR_CORRUPT, "mnemo_store_ask: prompt_template is not valid UTF-8");
        const ModelImpl& m = *model->model;
        if (!m.tokenizer) return fail(MNEMO_ERR_TOKENIZER, "mnemo_store_ask: the model file has no tokenizer");
        StoreImpl& st = *store->store;

        const double t0 = now_ms();
        const uint64_t hash = model_hash(m);
        SnapshotRecord rec;
        MNEMO_TRY(find_complete(st, id, hash, &rec));
        SnapshotHeader header;
        MNEMO_TRY(parse_snapshot(rec.blob.data(), rec.blob.size(), &header));
        mnemo_session_params base = mnemo_session_default_params();
        base.n_threads = p.n_threads;
        mnemo_session session;
        MNEMO_TRY(create_session(m, session_params_for(header, base), &session.session));
        SessionImpl& s = *session.session;
        MNEMO_TRY(restore_snapshot(s, hash, rec.blob.data(), rec.blob.size()));
        std::vector<uint8_t>().swap(rec.blob);
        const double t1 = now_ms();

        std::vector<int32_t> prompt;
        MNEMO_TRY(m.tokenizer->encode(fill_template(tmpl, q), &prompt));
        if (prompt.empty()) return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_store_ask: the prompt has no tokens");
        if (header.max_context > 0 && s.position() + static_cast<int64_t>(prompt.size()) + p.generate.max_tokens > header.max_context)
            return failf(MNEMO_ERR_OUT_OF_RANGE, "mnemo_store_ask: the document (%lld tokens), the prompt (%zu) and the answer (up to %d) "
                         "exceed the snapshot's max_context %lld", static_cast<long long>(s.position()), prompt.size(),
                         p.generate.max_tokens, static_cast<long long>(header.max_context));
        MNEMO_TRY(s.feed(prompt.data(), prompt.size()));
        const double t2 = now_ms();

        std::vector<int32_t> out(static_cast<size_t>(p.generate.max_tokens));
        size_t n_out = 0;
        MNEMO_TRY(mnemo_session_generate(&session, &p.generate, out.data(), out.size(), &n_out));
        out.resize(n_out);
        const double t3 = now_ms();

        const int64_t answer_tokens = static_cast<int64_t>(out.size());
        if (!out.empty() && out.back() == m.config.eos_token_id) out.pop_back();
        const int32_t vocab = m.tokenizer->vocab_size();
        std::vector<int32_t> text_tokens;
        for (int32_t t : out)
            if (t >= 0 && t < vocab) text_tokens.push_back(t);
        std::string answer;
        MNEMO_TRY(m.tokenizer->decode(text_tokens.data(), text_tokens.size(), &answer));
        for (size_t i = 0; i < p.generate.n_stop_strings; ++i) {
            const size_t len = p.generate.stop_strings[i] != nullptr ? std::strlen(p.generate.stop_strings[i]) : 0;
            if (len > 0 && answer.size() >= len && answer.compare(answer.size() - len, len, p.generate.stop_strings[i]) == 0) {
                answer.resize(answer.size() - len);
                break;
            }
        }

        // A byte-level model may stop inside a UTF-8 sequence: keep the text valid.
        answer = valid_utf8(answer);

        QuestionRecord qr;
        qr.document_id = id;
        qr.model_id = rec.model_id;
        qr.question = q;
        qr.answer = answer;
        qr.question_tokens = static_cast<int64_t>(prompt.size());
        qr.answer_tokens = answer_tokens;
        qr.restore_ms = t1 - t0;
        qr.prefill_ms = t2 - t1;
        qr.generate_ms = t3 - t2;
        int64_t qid = 0;
        if (p.record) {
            MNEMO_TRY(st.add_question(qr, &qid));
        }
        store->strings.clear();
        mnemo_answer a;
        std::memset(&a, 0, sizeof a);
        a.question_id = qid;
        a.text = store->keep(answer);
        a.text_len = answer.size();
        a.question_tokens = qr.question_tokens;
        a.answer_tokens = answer_tokens;
        a.restore_ms = qr.restore_ms;
        a.prefill_ms = qr.prefill_ms;
        a.generate_ms = qr.generate_ms;
        a.state_bytes = s.state_bytes();
        copy_out(out_answer, a);
        return MNEMO_OK;
    });
}

mnemo_status mnemo_store_list_questions(mnemo_store* store, int64_t id, mnemo_question_record* out, size_t capacity, size_t* out_count) {
    return guarded("mnemo_store_list_questions", [&]() -> mnemo_status {
        if (store == nullptr || out_count == nullptr)
            return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_store_list_questions: store or out_count is NULL");
        *out_count = 0;
        if (out == nullptr && capacity > 0) return fail(MNEMO_ERR_INVALID_ARGUMENT, "mnemo_store_list_questions: out is NULL with capacity > 0");
        for (size_t i = 0; i < capacity; ++i) MNEMO_TRY(check_struct(&out[i], "mnemo_question_record"));
        std::vector<QuestionRecord> qs;
        MNEMO_TRY(store->store->list_questions(id, &qs));
        *out_count = qs.size();
        if (qs.size() > capacity)
            return failf(MNEMO_ERR_BUFFER_TOO_SMALL, "mnemo_store_list_questions: %zu questions do not fit in %zu", qs.size(), capacity);
        store->strings.clear();
        for (size_t i = 0; i < qs.size(); ++i) {
            ModelRecord mr;
            MNEMO_TRY(store->store->get_model(qs[i].model_id, &mr));
            mnemo_question_record r;
            std::memset(&r, 0, sizeof r);
            r.id = qs[i].id;
            r.question = store->keep(qs[i].question);
            r.answer = store->keep(qs[i].answer);
            r.question_tokens = qs[i].question_tokens;
            r.answer_tokens = qs[i].answer_tokens;
            r.restore_ms = qs[i].restore_ms;
            r.prefill_ms = qs[i].prefill_ms;
            r.generate_ms = qs[i].generate_ms;
            r.created_at = qs[i].created_at;
            r.model_hash = mr.hash;
            copy_out(&out[i], r);
        }
        return MNEMO_OK;
    });
}

}  // extern "C"
