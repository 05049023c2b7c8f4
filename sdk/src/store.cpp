#include "store.h"

#include "error.h"
#include "snapshot.h"
#include "util.h"

#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <sys/stat.h>

namespace mnemo {
namespace {

// Schema migrations: kMigrations[i] takes a store from version i to i + 1. Each runs
// in its own transaction together with the user_version bump. Never edit a shipped
// migration; append a new one and raise kStoreSchemaVersion.
const char* const kMigrations[] = {
    // 0 -> 1: documents, models, snapshots, questions.
    R"sql(
CREATE TABLE models(
  id INTEGER PRIMARY KEY,
  hash TEXT NOT NULL UNIQUE,
  path TEXT NOT NULL,
  name TEXT NOT NULL DEFAULT '',
  added_at INTEGER NOT NULL);
CREATE TABLE documents(
  id INTEGER PRIMARY KEY,
  title TEXT NOT NULL UNIQUE,
  content_hash TEXT NOT NULL,
  n_bytes INTEGER NOT NULL,
  text TEXT NOT NULL,
  created_at INTEGER NOT NULL);
CREATE INDEX documents_content_hash ON documents(content_hash);
CREATE TABLE snapshots(
  id INTEGER PRIMARY KEY,
  document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE RESTRICT,
  complete INTEGER NOT NULL CHECK (complete IN (0, 1)),
  n_tokens INTEGER NOT NULL,
  total_tokens INTEGER NOT NULL,
  state_bytes INTEGER NOT NULL,
  format_version INTEGER NOT NULL,
  seconds REAL NOT NULL,
  created_at INTEGER NOT NULL,
  blob BLOB NOT NULL,
  UNIQUE(document_id, model_id, complete));
CREATE INDEX snapshots_model ON snapshots(model_id);
CREATE TABLE questions(
  id INTEGER PRIMARY KEY,
  document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE RESTRICT,
  question TEXT NOT NULL,
  answer TEXT NOT NULL,
  question_tokens INTEGER NOT NULL,
  answer_tokens INTEGER NOT NULL,
  restore_ms REAL NOT NULL,
  prefill_ms REAL NOT NULL,
  generate_ms REAL NOT NULL,
  created_at INTEGER NOT NULL);
CREATE INDEX questions_document ON questions(document_id);
CREATE INDEX questions_model ON questions(model_id);
)sql",
    // 1 -> 2: eviction traces recorded during ingest.
    R"sql(
CREATE TABLE eviction_events(
  document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE RESTRICT,
  position INTEGER NOT NULL,
  layer INTEGER NOT NULL,
  kv_head INTEGER NOT NULL,
  score REAL NOT NULL,
  reason INTEGER NOT NULL);
CREATE INDEX eviction_events_document ON eviction_events(document_id, model_id);
CREATE INDEX eviction_events_model ON eviction_events(model_id);
)sql",
};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == kStoreSchemaVersion, "one migration per schema version");

std::string hex64(uint64_t v) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
    return buf;
}

uint64_t parse_hex64(const unsigned char* s) {
    if (s == nullptr) return 0;
    return std::strtoull(reinterpret_cast<const char*>(s), nullptr, 16);
}

// Maps an SQLite result code to a status with a message naming the database.
mnemo_status sql_fail(sqlite3* db, int rc, const std::string& path, const char* what) {
    const char* detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    const int primary = rc & 0xff;
    std::string why;
    mnemo_status status = MNEMO_ERR_INTERNAL;
    switch (primary) {
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
            status = MNEMO_ERR_IO;
            why = "the database is locked by another connection or process";
            break;
        case SQLITE_READONLY:
            status = MNEMO_ERR_IO;
            why = "the database is read-only";
            break;
        case SQLITE_FULL:
            status = MNEMO_ERR_IO;
            why = "the disk is full or the database reached its size limit";
            break;
        case SQLITE_IOERR:
        case SQLITE_CANTOPEN:
        case SQLITE_PERM:
        case SQLITE_AUTH:
            status = MNEMO_ERR_IO;
            why = "I/O error";
            break;
        case SQLITE_NOTADB:
            status = MNEMO_ERR_BAD_MAGIC;
            why = "the file is not an SQLite database";
            break;
        case SQLITE_CORRUPT:
            status = MNEMO_ERR_CORRUPT;
            why = "the database file is corrupt";
            break;
        case SQLITE_NOMEM: status = MNEMO_ERR_OUT_OF_MEMORY; why = "out of memory"; break;
        case SQLITE_TOOBIG: status = MNEMO_ERR_TOO_LARGE; why = "a value exceeds SQLite's size limit"; break;
        case SQLITE_CONSTRAINT: status = MNEMO_ERR_STATE; why = "a constraint failed"; break;
        default: why = "SQLite error"; break;
    }
    return failf(status, "%s: %s: %s (%s)", path.c_str(), what, why.c_str(), detail != nullptr ? detail : sqlite3_errstr(rc));
}

class Stmt {
public:
    Stmt() = default;
    ~Stmt() { sqlite3_finalize(stmt_); }
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;

    mnemo_status prepare(sqlite3* db, const std::string& path, const char* sql) {
        db_ = db;
        path_ = &path;
        const int rc = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
        if (rc != SQLITE_OK) return sql_fail(db, rc, path, "preparing a statement");
        return MNEMO_OK;
    }
    void bind(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
    void bind(int i, double v) { sqlite3_bind_double(stmt_, i, v); }
    // Text is copied (callers bind temporaries); blobs must outlive the statement's step.
    void bind(int i, const std::string& v) { sqlite3_bind_text64(stmt_, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8); }
    void bind_blob(int i, const void* p, size_t n) { sqlite3_bind_blob64(stmt_, i, n == 0 ? "" : p, n, SQLITE_STATIC); }
    // SQLITE_ROW -> true in *row; SQLITE_DONE -> false; anything else -> status.
    mnemo_status step(bool* row, const char* what) {
        const int rc = sqlite3_step(stmt_);
        if (rc == SQLITE_ROW) { if (row != nullptr) *row = true; return MNEMO_OK; }
        if (rc == SQLITE_DONE) { if (row != nullptr) *row = false; return MNEMO_OK; }
        return sql_fail(db_, rc, *path_, what);
    }
    mnemo_status run(const char* what) { return step(nullptr, what); }
    void reset() { sqlite3_reset(stmt_); sqlite3_clear_bindings(stmt_); }
    int64_t i64(int c) const { return sqlite3_column_int64(stmt_, c); }
    double f64(int c) const { return sqlite3_column_double(stmt_, c); }
    std::string text(int c) const {
        const auto* p = sqlite3_column_text(stmt_, c);
        const int n = sqlite3_column_bytes(stmt_, c);
        return p == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
    }
    uint64_t hex(int c) const { return parse_hex64(sqlite3_column_text(stmt_, c)); }
    void blob(int c, std::vector<uint8_t>* out) const {
        const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, c));
        const int n = sqlite3_column_bytes(stmt_, c);
        out->assign(p, p + (p == nullptr ? 0 : n));
    }

private:
    sqlite3* db_ = nullptr;
    const std::string* path_ = nullptr;
    sqlite3_stmt* stmt_ = nullptr;
};

// BEGIN IMMEDIATE ... COMMIT; rolls back unless committed.
class Transaction {
public:
    explicit Transaction(sqlite3* db, const std::string& path) : db_(db), path_(path) {}
    ~Transaction() {
        if (open_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    mnemo_status begin(const char* what) {
        const int rc = sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
        if (rc != SQLITE_OK) return sql_fail(db_, rc, path_, what);
        open_ = true;
        return MNEMO_OK;
    }
    mnemo_status commit(const char* what) {
        const int rc = sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
        if (rc != SQLITE_OK) return sql_fail(db_, rc, path_, what);  // destructor rolls back
        open_ = false;
        return MNEMO_OK;
    }

private:
    sqlite3* db_;
    const std::string& path_;
    bool open_ = false;
};

mnemo_status pragma_int(sqlite3* db, const std::string& path, const char* sql, int64_t* out) {
    Stmt s;
    MNEMO_TRY(s.prepare(db, path, sql));
    bool row = false;
    MNEMO_TRY(s.step(&row, "reading the database header"));
    *out = row ? s.i64(0) : 0;
    return MNEMO_OK;
}

int64_t now_unix() { return static_cast<int64_t>(std::time(nullptr)); }

}  // namespace

StoreImpl::~StoreImpl() {
    if (db_ != nullptr) sqlite3_close_v2(db_);
}

mnemo_status StoreImpl::open(const std::string& path, const StoreOptions& options, std::unique_ptr<StoreImpl>* out) {
    if (path.empty()) return fail(MNEMO_ERR_INVALID_ARGUMENT, "the store path is empty");
    if (options.target_version < 1 || options.target_version > kStoreSchemaVersion)
        return failf(MNEMO_ERR_INVALID_ARGUMENT, "schema version %d is outside [1, %d]", options.target_version, kStoreSchemaVersion);
    struct stat st;
    const bool exists = ::stat(path.c_str(), &st) == 0;
    if (!exists && (!options.create || options.read_only))
        return failf(MNEMO_ERR_IO, "%s: no such store (create it by opening it writable with create = 1)", path.c_str());
    if (exists && S_ISDIR(st.st_mode)) return failf(MNEMO_ERR_IO, "%s: is a directory, not a store", path.c_str());

    std::unique_ptr<StoreImpl> store(new StoreImpl());
    store->path_ = path;
    int flags = options.read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | (options.create ? SQLITE_OPEN_CREATE : 0));
    flags |= SQLITE_OPEN_FULLMUTEX;
    int rc = sqlite3_open_v2(path.c_str(), &store->db_, flags, nullptr);
    if (rc != SQLITE_OK) return sql_fail(store->db_, rc, path, "opening the store");
    sqlite3_extended_result_codes(store->db_, 1);
    sqlite3_busy_timeout(store->db_, options.busy_timeout_ms > 0 ? options.busy_timeout_ms : 0);
    sqlite3* db = store->db_;
    store->read_only_ = options.read_only || sqlite3_db_readonly(db, "main") == 1;

    int64_t app_id = 0, version = 0, objects = 0;
    MNEMO_TRY(pragma_int(db, path, "PRAGMA application_id", &app_id));
    MNEMO_TRY(pragma_int(db, path, "PRAGMA user_version", &version));
    MNEMO_TRY(pragma_int(db, path, "SELECT COUNT(*) FROM sqlite_master", &objects));
    const bool fresh = app_id == 0 && version == 0 && objects == 0;
    if (!fresh && app_id != kStoreApplicationId)
        return failf(MNEMO_ERR_BAD_MAGIC, "%s: an SQLite database but not a Mnemo store (application_id 0x%08llx)", path.c_str(),
                     static_cast<unsigned long long>(app_id));
    if (version > kStoreSchemaVersion)
        return failf(MNEMO_ERR_UNSUPPORTED, "%s: store schema version %lld is newer than this library's (%d); upgrade Mnemo",
                     path.c_str(), static_cast<long long>(version), kStoreSchemaVersion);
    store->version_ = static_cast<int32_t>(version);

    if (!store->read_only_) {
        Stmt wal;
        MNEMO_TRY(wal.prepare(db, path, "PRAGMA journal_mode=WAL"));
        bool row = false;
        MNEMO_TRY(wal.step(&row, "switching to WAL journaling"));
        const std::string mode = row ? wal.text(0) : "";
        if (mode != "wal") return failf(MNEMO_ERR_IO, "%s: cannot use WAL journaling (journal mode stays '%s')", path.c_str(), mode.c_str());
    }
    MNEMO_TRY(store->exec("PRAGMA foreign_keys=ON"));
    if (!store->read_only_) MNEMO_TRY(store->exec("PRAGMA synchronous=FULL"));

    if (store->version_ < options.target_version) {
        if (store->read_only_)
            return failf(fresh ? MNEMO_ERR_BAD_MAGIC : MNEMO_ERR_STATE, "%s: %s", path.c_str(),
                         fresh ? "an empty database opened read-only, not a Mnemo store"
                               : "the store's schema is older than this library's and needs a migration; open it writable once");
        MNEMO_TRY(store->migrate(options.target_version));
    }
    *out = std::move(store);
    return MNEMO_OK;
}

mnemo_status StoreImpl::migrate(int32_t target) {
    while (version_ < target) {
        Transaction txn(db_, path_);
        MNEMO_TRY(txn.begin("migrating the schema"));
        // Re-read inside the transaction: another process may have migrated meanwhile.
        int64_t v = 0;
        MNEMO_TRY(pragma_int(db_, path_, "PRAGMA user_version", &v));
        if (v >= target) {
            version_ = static_cast<int32_t>(v);
            break;
        }
        char* err = nullptr;
        int rc = sqlite3_exec(db_, kMigrations[v], nullptr, nullptr, &err);
        sqlite3_free(err);
        if (rc != SQLITE_OK) return sql_fail(db_, rc, path_, "migrating the schema");
        const std::string bump = "PRAGMA user_version=" + std::to_string(v + 1) + "; PRAGMA application_id=" + std::to_string(kStoreApplicationId);
        rc = sqlite3_exec(db_, bump.c_str(), nullptr, nullptr, nullptr);
        if (rc != SQLITE_OK) return sql_fail(db_, rc, path_, "migrating the schema");
        MNEMO_TRY(txn.commit("migrating the schema"));
        version_ = static_cast<int32_t>(v + 1);
    }
    return MNEMO_OK;
}

mnemo_status StoreImpl::exec(const std::string& sql) {
    char* err = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    sqlite3_free(err);
    if (rc != SQLITE_OK) return sql_fail(db_, rc, path_, "executing SQL");
    return MNEMO_OK;
}

mnemo_status StoreImpl::require_writable(const char* what) const {
    if (read_only_) return failf(MNEMO_ERR_IO, "%s: %s: the store is open read-only", path_.c_str(), what);
    return MNEMO_OK;
}

mnemo_status StoreImpl::check_document(int64_t id) {
    Stmt s;
    MNEMO_TRY(s.prepare(db_, path_, "SELECT 1 FROM documents WHERE id = ?"));
    s.bind(1, id);
    bool row = false;
    MNEMO_TRY(s.step(&row, "looking up a document"));
    if (!row) return failf(MNEMO_ERR_OUT_OF_RANGE, "%s: no document #%lld", path_.c_str(), static_cast<long long>(id));
    return MNEMO_OK;
}

mnemo_status StoreImpl::add_document(const std::string& title, const std::string& text, int64_t* out_id, int64_t* existing_id) {
    *out_id = 0;
    if (existing_id != nullptr) *existing_id = 0;
    MNEMO_TRY(require_writable("adding a document"));
    if (title.empty()) return fail(MNEMO_ERR_INVALID_ARGUMENT, "the document title is empty");
    if (title.size() > 4096) return failf(MNEMO_ERR_INVALID_ARGUMENT, "the document title is %zu bytes long (at most 4096)", title.size());
    if (find_invalid_utf8(title) != std::string_view::npos || title.find('\0') != std::string::npos)
        return fail(MNEMO_ERR_CORRUPT, "the document title is not valid UTF-8 text");
    if (text.empty()) return fail(MNEMO_ERR_INVALID_ARGUMENT, "the document is empty");
    const size_t bad = find_invalid_utf8(text);
    if (bad != std::string_view::npos)
        return failf(MNEMO_ERR_CORRUPT, "the document is not valid UTF-8: invalid sequence at byte %zu (convert it to UTF-8 first)", bad);
    const std::string hash = hex64(hash64(text.data(), text.size()));

    Transaction txn(db_, path_);
    MNEMO_TRY(txn.begin("adding a document"));
    {
        Stmt dup;
        MNEMO_TRY(dup.prepare(db_, path_, "SELECT id, title FROM documents WHERE content_hash = ? AND text = ?"));
        dup.bind(1, hash);
        dup.bind(2, text);
        bool row = false;
        MNEMO_TRY(dup.step(&row, "checking for duplicates"));
        if (row) {
            if (existing_id != nullptr) *existing_id = dup.i64(0);
            return failf(MNEMO_ERR_STATE, "this document is already stored as #%lld '%s'", static_cast<long long>(dup.i64(0)),
                         dup.text(1).c_str());
        }
    }
    {
        Stmt dup;
        MNEMO_TRY(dup.prepare(db_, path_, "SELECT id FROM documents WHERE title = ?"));
        dup.bind(1, title);
        bool row = false;
        MNEMO_TRY(dup.step(&row, "checking for duplicates"));
        if (row) {
            if (existing_id != nullptr) *existing_id = dup.i64(0);
            return failf(MNEMO_ERR_STATE, "another document (#%lld) already has the title '%s'; choose another title",
                         static_cast<long long>(dup.i64(0)), title.c_str());
        }
    }
    Stmt ins;
    MNEMO_TRY(ins.prepare(db_, path_, "INSERT INTO documents(title, content_hash, n_bytes, text, created_at) VALUES(?, ?, ?, ?, ?)"));
    ins.bind(1, title);
    ins.bind(2, hash);
    ins.bind(3, static_cast<int64_t>(text.size()));
    ins.bind(4, text);
    ins.bind(5, now_unix());
    MNEMO_TRY(ins.run("adding a document"));
    const int64_t id = sqlite3_last_insert_rowid(db_);
    MNEMO_TRY(txn.commit("adding a document"));
    *out_id = id;
    return MNEMO_OK;
}

mnemo_status StoreImpl::find_document(const std::string& key, int64_t* out_id) {
    *out_id = 0;
    std::string digits = key;
    if (!digits.empty() && digits[0] == '#') digits.erase(0, 1);
    const bool numeric = !digits.empty() && digits.size() < 19 &&
                         std::all_of(digits.begin(), digits.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; });
    if (numeric) {
        Stmt s;
        MNEMO_TRY(s.prepare(db_, path_, "SELECT id FROM documents WHERE id = ?"));
        s.bind(1, static_cast<int64_t>(std::stoll(digits)));
        bool row = false;
        MNEMO_TRY(s.step(&row, "looking up a document"));
        if (row) { *out_id = s.i64(0); return MNEMO_OK; }
    }
    Stmt s;
    MNEMO_TRY(s.prepare(db_, path_, "SELECT id FROM documents WHERE title = ?"));
    s.bind(1, key);
    bool row = false;
    MNEMO_TRY(s.step(&row, "looking up a document"));
    if (row) { *out_id = s.i64(0); return MNEMO_OK; }
    return failf(MNEMO_ERR_OUT_OF_RANGE, "%s: no document with id or title '%s'", path_.c_str(), key.c_str());
}

mnemo_status StoreImpl::get_document(int64_t id, DocumentRecord* out) {
    *out = DocumentRecord();
    {
        Stmt s;
        MNEMO_TRY(s.prepare(db_, path_,
                            "SELECT id, title, content_hash, n_bytes, created_at, "
                            "(SELECT COUNT(*) FROM questions q WHERE q.document_id = d.id) FROM documents d WHERE id = ?"));
        s.bind(1, id);
        bool row = false;
        MNEMO_TRY(s.step(&row, "reading a document"));
        if (!row) return failf(MNEMO_ERR_OUT_OF_RANGE, "%s: no document #%lld", path_.c_str(), static_cast<long long>(id));
        out->id = s.i64(0);
        out->title = s.text(1);
        out->content_hash = s.hex(2);
        out->n_bytes = static_cast<uint64_t>(s.i64(3));
        out->created_at = s.i64(4);
        out->n_questions = s.i64(5);
    }
    {
        Stmt s;
        MNEMO_TRY(s.prepare(db_, path_,
                            "SELECT s.n_tokens, s.state_bytes, length(s.blob), s.seconds, m.path, m.hash FROM snapshots s "
                            "JOIN models m ON m.id = s.model_id WHERE s.document_id = ? AND s.complete = 1 "
                            "ORDER BY s.created_at DESC, s.id DESC LIMIT 1"));
        s.bind(1, id);
        bool row = false;
        MNEMO_TRY(s.step(&row, "reading a document's snapshot"));
        if (row) {
            out->ingested = true;
            out->n_tokens = s.i64(0);
            out->state_bytes = static_cast<uint64_t>(s.i64(1));
            out->snapshot_bytes = static_cast<uint64_t>(s.i64(2));
            out->ingest_seconds = s.f64(3);
            out->model_path = s.text(4);
            out->model_hash = s.hex(5);
        }
    }
    {
        Stmt s;
        MNEMO_TRY(s.prepare(db_, path_,
                            "SELECT n_tokens, total_tokens FROM snapshots WHERE document_id = ? AND complete = 0 ORDER BY id DESC LIMIT 1"));
        s.bind(1, id);
        bool row = false;
        MNEMO_TRY(s.step(&row, "reading a document's checkpoint"));
        if (row) {
            out->checkpoint_tokens = s.i64(0);
            out->total_tokens = s.i64(1);
        }
    }
    return MNEMO_OK;
}

mnemo_status StoreImpl::list_documents(std::vector<DocumentRecord>* out) {
    out->clear();
    std::vector<int64_t> ids;
    {
        Stmt s;
        MNEMO_TRY(s.prepare(db_, path_, "SELECT id FROM documents ORDER BY id"));
        for (;;) {
            bool row = false;
            MNEMO_TRY(s.step(&row, "listing documents"));
            if (!row) break;
            ids.push_back(s.i64(0));
        }
    }
    for (int64_t id : ids) {
        DocumentRecord r;
        MNEMO_TRY(get_document(id, &r));
        out->push_back(std::move(r));
    }
    return MNEMO_OK;
}

mnemo_status StoreImpl::document_text(int64_t id, std::string* out) {
    Stmt s;
    MNEMO_TRY(s.prepare(db_, path_, "SELECT text FROM documents WHERE id = ?"));
    s.bind(1, id);
    bool row = false;
    MNEMO_TRY(s.step(&row, "reading a document"));
    if (!row) return failf(MNEMO_ERR_OUT_OF_RANGE, "%s: no document #%lld", path_.c_str(), static_cast<long long>(id));
    *out = s.text(0);
    return MNEMO_OK;
}

mnemo_status StoreImpl::delete_document(int64_t id) {
    MNEMO_TRY(require_writable("deleting a document"));
    Transaction txn(db_, path_);
    MNEMO_TRY(txn.begin("deleting a document"));
    MNEMO_TRY(check_document(id));
    Stmt s;
    MNEMO_TRY(s.prepare(db_, path_, "DELETE FROM documents WHERE id = ?"));
    s.bind(1, id);
    MNEMO_TRY(s.run("deleting a document"));
    return txn.commit("deleting a document");
}

mnemo_status StoreImpl::find_model(uint64_t hash, ModelRecord* out, bool* found) {
    *found = false;
    Stmt s;
    MNEMO_TRY(s.prepare(db_, path_, "SELECT id, hash, path, name FROM models WHERE hash = ?"));
    s.bind(1, hex64(hash));
    bool row = false;
    MNEMO_TRY(s.step(&row, "looking up a model"));
    if (!row) return MNEMO_OK;
    *found = true;
    out->id = s.i64(0);
    out->hash = s.hex(1);
    out->path = s.text(2);
    out->name = s.text(3);
    return MNEMO_OK;
}

mnemo_status StoreImpl::get_model(int64_t id, ModelRecord* out) {
    Stmt s;
    MNEMO_TRY(s.prepare(db_, path_, "SELECT id, hash, path, name FROM models WHERE id = ?"));
    s.bind(1, id);
    bool row = false;
    MNEMO_TRY(s.step(&row, "looking up a model"));
    if (!row) return failf(MNEMO_ERR_OUT_OF_RANGE, "%s: no model #%lld", path_.c_str(), static_cast<long long>(id));
    out->id = s.i64(0);
    out->hash = s.hex(1);
    out->path = s.text(2);
    out->name = s.text(3);
    return MNEMO_OK;
}

mnemo_status StoreImpl::find_snapshot(int64_t document_id, uint64_t model_hash, bool complete, SnapshotRecord* out, bool* found) {
    *found = false;
    Stmt s;
    MNEMO_TRY(s.prepare(db_, path_,
                        "SELECT s.id, s.document_id, s.model_id, s.complete, s.n_tokens, s.total_tokens, s.seconds, s.blob "
                        "FROM snapshots s JOIN models m ON m.id = s.model_id "
                        "WHERE s.document_id = ? AND m.hash = ? AND s.complete = ?"));
    s.bind(1, document_id);
    s.bind(2, hex64(model_hash));
    s.bind(3, static_cast<int64_t>(complete ? 1 : 0));
    bool row = false;
    MNEMO_TRY(s.step(&row, "reading a snapshot"));
    if (!row) return MNEMO_OK;
    *found = true;
    out->id = s.i64(0);
    out->document_id = s.i64(1);
    out->model_id = s.i64(2);
    out->complete = s.i64(3) != 0;
    out->n_tokens = s.i64(4);
    out->total_tokens = s.i64(5);
    out->seconds = s.f64(6);
    s.blob(7, &out->blob);
    return MNEMO_OK;
}

mnemo_status StoreImpl::latest_complete_snapshot(int64_t document_id, SnapshotRecord* out, bool* found) {
    *found = false;
    Stmt s;
    MNEMO_TRY(s.prepare(db_, path_,
                        "SELECT id, document_id, model_id, n_tokens, total_tokens, seconds FROM snapshots "
                        "WHERE document_id = ? AND complete = 1 ORDER BY created_at DESC, id DESC LIMIT 1"));
    s.bind(1, document_id);
    bool row = false;
    MNEMO_TRY(s.step(&row, "reading a snapshot"));
    if (!row) return MNEMO_OK;
    *found = true;
    out->id = s.i64(0);
    out->document_id = s.i64(1);
    out->model_id = s.i64(2);
    out->complete = true;
    out->n_tokens = s.i64(3);
    out->total_tokens = s.i64(4);
    out->seconds = s.f64(5);
    out->blob.clear();
    return MNEMO_OK;
}

mnemo_status StoreImpl::save_snapshot(int64_t document_id, const ModelRecord& model, bool complete, int64_t n_tokens, int64_t total_tokens,
                                  uint64_t state_bytes, double seconds, const std::vector<uint8_t>& blob,
                                  const std::vector<EvictionRecord>& events, bool fresh) {
    MNEMO_TRY(require_writable("saving a snapshot"));
    Transaction txn(db_, path_);
    MNEMO_TRY(txn.begin("saving a snapshot"));
    MNEMO_TRY(check_document(document_id));
    {
        Stmt s;
        MNEMO_TRY(s.prepare(db_, path_,
                            "INSERT INTO models(hash, path, name, added_at) VALUES(?, ?, ?, ?) "
                            "ON CONFLICT(hash) DO UPDATE SET path = excluded.path, name = excluded.name"));
        s.bind(1, hex64(model.hash));
        s.bind(2, model.path);
        s.bind(3, model.name);
        s.bind(4, now_unix());
        MNEMO_TRY(s.run("recording the model"));
    }
    int64_t model_id = 0;
    {
        Stmt s;
        MNEMO_TRY(s.prepare(db_, path_, "SELECT id FROM models WHERE hash = ?"));
        s.bind(1, hex64(model.hash));
        bool row = false;
        MNEMO_TRY(s.step(&row, "recording the model"));
        model_id = s.i64(0);
    }
    {
        Stmt s;
        MNEMO_TRY(s.prepare(db_, path_,
                            complete ? "DELETE FROM snapshots WHERE document_id = ? AND model_id = ?"
                                     : "DELETE FROM snapshots WHERE document_id = ? AND model_id = ? AND complete = 0"));
        s.bind(1, document_id);
        s.bind(2, model_id);
        MNEMO_TRY(s.run("replacing the previous snapshot"));
    }
    {
        Stmt s;
        MNEMO_TRY(s.prepare(db_, path_,
                            "INSERT INTO snapshots(document_id, model_id, complete, n_tokens, total_tokens, state_bytes, format_version, "
                            "seconds, created_at, blob) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
        s.bind(1, document_id);
        s.bind(2, model_id);
        s.bind(3, static_cast<int64_t>(complete ? 1 : 0));
        s.bind(4, n_tokens);
        s.bind(5, total_tokens);
        s.bind(6, static_cast<int64_t>(state_bytes));
        s.bind(7, static_cast<int64_t>(kSnapshotFormatVersion));
        s.bind(8, seconds);
        s.bind(9, now_unix());
        s.bind_blob(10, blob.data(), blob.size());
        MNEMO_TRY(s.run("saving the snapshot"));
    }
    if (version_ >= 2) {
        if (fresh) {
            Stmt s;
            MNEMO_TRY(s.prepare(db_, path_, "DELETE FROM eviction_events WHERE document_id = ? AND model_id = ?"));
            s.bind(1, document_id);
            s.bind(2, model_id);
            MNEMO_TRY(s.run("clearing old eviction events"));
        }
        if (!events.empty()) {
            Stmt s;
            MNEMO_TRY(s.prepare(db_, path_,
                                "INSERT INTO eviction_events(document_id, model_id, position, layer, kv_head, score, reason) "
                                "VALUES(?, ?, ?, ?, ?, ?, ?)"));
            for (const EvictionRecord& e : events) {
                s.reset();
                s.bind(1, document_id);
                s.bind(2, model_id);
                s.bind(3, e.position);
                s.bind(4, static_cast<int64_t>(e.layer));
                s.bind(5, static_cast<int64_t>(e.kv_head));
                s.bind(6, static_cast<double>(e.score));
                s.bind(7, static_cast<int64_t>(e.reason));
                MNEMO_TRY(s.run("saving eviction events"));
            }
        }
    }
    return txn.commit("saving the snapshot");
}

mnemo_status StoreImpl::add_question(const QuestionRecord& q, int64_t* out_id) {
    *out_id = 0;
    MNEMO_TRY(require_writable("recording a question"));
    Transaction txn(db_, path_);
    MNEMO_TRY(txn.begin("recording a question"));
    Stmt s;
    MNEMO_TRY(s.prepare(db_, path_,
                        "INSERT INTO questions(document_id, model_id, question, answer, question_tokens, answer_tokens, restore_ms, "
                        "prefill_ms, generate_ms, created_at) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    s.bind(1, q.document_id);
    s.bind(2, q.model_id);
    s.bind(3, q.question);
    s.bind(4, q.answer);
    s.bind(5, q.question_tokens);
    s.bind(6, q.answer_tokens);
    s.bind(7, q.restore_ms);
    s.bind(8, q.prefill_ms);
    s.bind(9, q.generate_ms);
    s.bind(10, now_unix());
    MNEMO_TRY(s.run("recording a question"));
    const int64_t id = sqlite3_last_insert_rowid(db_);
    MNEMO_TRY(txn.commit("recording a question"));
    *out_id = id;
    return MNEMO_OK;
}

mnemo_status StoreImpl::list_questions(int64_t document_id, std::vector<QuestionRecord>* out) {
    out->clear();
    MNEMO_TRY(check_document(document_id));
    Stmt s;
    MNEMO_TRY(s.prepare(db_, path_,
                        "SELECT id, document_id, model_id, question, answer, question_tokens, answer_tokens, restore_ms, prefill_ms, "
                        "generate_ms, created_at FROM questions WHERE document_id = ? ORDER BY id"));
    s.bind(1, document_id);
    for (;;) {
        bool row = false;
        MNEMO_TRY(s.step(&row, "listing questions"));
        if (!row) break;
        QuestionRecord q;
        q.id = s.i64(0);
        q.document_id = s.i64(1);
        q.model_id = s.i64(2);
        q.question = s.text(3);
        q.answer = s.text(4);
        q.question_tokens = s.i64(5);
        q.answer_tokens = s.i64(6);
        q.restore_ms = s.f64(7);
        q.prefill_ms = s.f64(8);
        q.generate_ms = s.f64(9);
        q.created_at = s.i64(10);
        out->push_back(std::move(q));
    }
    return MNEMO_OK;
}

mnemo_status StoreImpl::count_eviction_events(int64_t document_id, int64_t* out) {
    *out = 0;
    if (version_ < 2) return MNEMO_OK;
    Stmt s;
    MNEMO_TRY(s.prepare(db_, path_, "SELECT COUNT(*) FROM eviction_events WHERE document_id = ?"));
    s.bind(1, document_id);
    bool row = false;
    MNEMO_TRY(s.step(&row, "counting eviction events"));
    *out = row ? s.i64(0) : 0;
    return MNEMO_OK;
}

}  // namespace mnemo
