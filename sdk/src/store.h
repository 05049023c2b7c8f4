// The document store: one SQLite database (WAL journal, foreign keys on) holding
// documents, the models they were ingested with, session snapshots (complete ones and
// resumable ingest checkpoints), questions with their answers and timings, and
// optional eviction traces. The schema is versioned (PRAGMA user_version) and
// migrated forward on open; see docs/store.md.
//
// Every write is one transaction, so a crash (even SIGKILL) leaves either the old or
// the new rows, never a mix.
#pragma once

#include "mnemo/mnemo.h"

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

struct sqlite3;

namespace mnemo {

constexpr int32_t kStoreSchemaVersion = 2;
constexpr int32_t kStoreApplicationId = 0x4D4E4D4F;  // "MNMO"

struct StoreOptions {
    bool read_only = false;
    bool create = true;
    int32_t busy_timeout_ms = 5000;
    int32_t target_version = kStoreSchemaVersion;  // tests build older schemas
};

struct DocumentRecord {
    int64_t id = 0;
    std::string title;
    uint64_t content_hash = 0;
    uint64_t n_bytes = 0;
    int64_t created_at = 0;
    // Latest complete snapshot (any model), if any.
    bool ingested = false;
    int64_t n_tokens = 0;
    uint64_t state_bytes = 0;
    uint64_t snapshot_bytes = 0;
    double ingest_seconds = 0.0;
    std::string model_path;
    uint64_t model_hash = 0;
    // Unfinished ingest (checkpoint), if any.
    int64_t checkpoint_tokens = 0;
    int64_t total_tokens = 0;
    int64_t n_questions = 0;
};

struct SnapshotRecord {
    int64_t id = 0;
    int64_t document_id = 0;
    int64_t model_id = 0;
    bool complete = false;
    int64_t n_tokens = 0;
    int64_t total_tokens = 0;
    double seconds = 0.0;
    std::vector<uint8_t> blob;
};

struct ModelRecord {
    int64_t id = 0;
    uint64_t hash = 0;
    std::string path;
    std::string name;
};

struct QuestionRecord {
    int64_t id = 0;
    int64_t document_id = 0;
    int64_t model_id = 0;
    std::string question;
    std::string answer;
    int64_t question_tokens = 0;
    int64_t answer_tokens = 0;
    double restore_ms = 0, prefill_ms = 0, generate_ms = 0;
    int64_t created_at = 0;
};

struct EvictionRecord {
    int64_t position;
    int32_t layer;
    int32_t kv_head;
    float score;
    int32_t reason;
};

class StoreImpl {
public:
    ~StoreImpl();
    StoreImpl(const StoreImpl&) = delete;
    StoreImpl& operator=(const StoreImpl&) = delete;

    static mnemo_status open(const std::string& path, const StoreOptions& options, std::unique_ptr<StoreImpl>* out);

    const std::string& path() const { return path_; }
    bool read_only() const { return read_only_; }
    int32_t schema_version() const { return version_; }
    sqlite3* db() { return db_; }
    // Runs SQL with no result rows (tests, maintenance).
    mnemo_status exec(const std::string& sql);

    // Documents. add_document refuses empty text (INVALID_ARGUMENT), invalid UTF-8
    // (CORRUPT) and duplicates of a stored text or title (STATE, *existing_id set).
    mnemo_status add_document(const std::string& title, const std::string& text, int64_t* out_id, int64_t* existing_id);
    mnemo_status find_document(const std::string& id_or_title, int64_t* out_id);
    mnemo_status get_document(int64_t id, DocumentRecord* out);
    mnemo_status list_documents(std::vector<DocumentRecord>* out);
    mnemo_status document_text(int64_t id, std::string* out);
    mnemo_status delete_document(int64_t id);

    // Models and snapshots.
    mnemo_status find_model(uint64_t hash, ModelRecord* out, bool* found);
    mnemo_status get_model(int64_t id, ModelRecord* out);
    // The snapshot of (document, model) that is complete or a checkpoint.
    mnemo_status find_snapshot(int64_t document_id, uint64_t model_hash, bool complete, SnapshotRecord* out, bool* found);
    // Any complete snapshot of the document (latest first), without its blob.
    mnemo_status latest_complete_snapshot(int64_t document_id, SnapshotRecord* out, bool* found);
    // Saves a snapshot in one transaction: records the model, replaces the
    // (document, model) snapshot of the same kind (and, for a complete one, drops the
    // checkpoint), appends eviction events (clearing older ones when `fresh`).
    mnemo_status save_snapshot(int64_t document_id, const ModelRecord& model, bool complete, int64_t n_tokens, int64_t total_tokens,
                               uint64_t state_bytes, double seconds, const std::vector<uint8_t>& blob,
                               const std::vector<EvictionRecord>& events, bool fresh);
    mnemo_status add_question(const QuestionRecord& q, int64_t* out_id);
    mnemo_status list_questions(int64_t document_id, std::vector<QuestionRecord>* out);
    mnemo_status count_eviction_events(int64_t document_id, int64_t* out);

private:
    StoreImpl() = default;
    mnemo_status migrate(int32_t target);
    mnemo_status require_writable(const char* what) const;
    mnemo_status check_document(int64_t id);

    sqlite3* db_ = nullptr;
    std::string path_;
    bool read_only_ = false;
    int32_t version_ = 0;
};

}  // namespace mnemo

// The C API's handle (api_store.cpp); defined here so in-tree tests can reach the
// StoreImpl behind it (e.g. to impose SQLite limits).
struct mnemo_store {
    std::unique_ptr<mnemo::StoreImpl> store;
    // Strings handed out by the last call (titles, paths, answers).
    std::deque<std::string> strings;
    const char* keep(std::string s) {
        strings.push_back(std::move(s));
        return strings.back().c_str();
    }
};
