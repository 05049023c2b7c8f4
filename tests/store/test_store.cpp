// The document store through the public API: schema and migrations, documents, bad
// input, locking, read-only and full disks, ingest (progress, cancel, resume,
// eviction traces) and ask — including the acceptance tests: the same answer after a
// process restart, and a SIGKILL in the middle of an ingest losing nothing.
// Documents stay short: the sanitizer build runs the tiny models at 70 (lte) to 500
// (swa) tokens/s.
#include "store.h"
#include "util.h"
#include "store_test_util.h"

#include "mnemo/mnemo.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <iterator>
#include <thread>

using namespace store_test;

namespace {

std::string cli() { return MNEMO_CLI; }

mnemo_session_params session_params() {
    mnemo_session_params p = mnemo_session_default_params();
    p.n_threads = 2;
    return p;
}

mnemo_ask_params ask_params(int32_t max_tokens = 24) {
    mnemo_ask_params a = mnemo_ask_default_params();
    a.generate.max_tokens = max_tokens;
    a.n_threads = 2;
    return a;
}

std::string ask(mnemo_store* store, const mnemo_model* model, int64_t id, const std::string& q, mnemo_status* status = nullptr) {
    mnemo_answer a{};
    a.struct_size = sizeof a;
    const mnemo_ask_params p = ask_params();
    const mnemo_status s = mnemo_store_ask(store, model, id, q.c_str(), &p, &a);
    if (status != nullptr) *status = s;
    else EXPECT_EQ(s, MNEMO_OK) << mnemo_last_error();
    return s == MNEMO_OK ? std::string(a.text, a.text_len) : std::string();
}

// The answer the session holding the document gives, generated exactly as ask does.
std::string answer_in_session(const mnemo::Model& model, mnemo::Session& session, const std::string& question) {
    std::string prompt = MNEMO_ASK_DEFAULT_TEMPLATE;
    prompt.replace(prompt.find("{question}"), 10, question);
    const auto toks = model.tokenize(prompt);
    mnemo::check(mnemo_session_feed(session.get(), toks.data(), toks.size()));
    const mnemo_ask_params p = ask_params();
    std::vector<int32_t> out(static_cast<size_t>(p.generate.max_tokens));
    size_t n = 0;
    mnemo::check(mnemo_session_generate(session.get(), &p.generate, out.data(), out.size(), &n));
    out.resize(n);
    const mnemo_model_info info = model.info();
    if (!out.empty() && out.back() == info.eos_token_id) out.pop_back();
    std::string text = model.detokenize(out);
    if (!text.empty() && text.back() == '\n') text.pop_back();
    // As the store returns it: bytes that start no valid UTF-8 sequence become U+FFFD.
    std::string valid;
    for (size_t i = 0; i < text.size();) {
        const size_t bad = mnemo::find_invalid_utf8(std::string_view(text).substr(i));
        if (bad == std::string_view::npos) {
            valid.append(text, i, std::string::npos);
            break;
        }
        valid.append(text, i, bad);
        valid += "\xEF\xBF\xBD";
        i += bad + 1;
    }
    return valid;
}

struct Ingested {
    int64_t id;
    std::string answer;
};

}  // namespace

class StoreTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = scratch_dir();
        db_ = dir_ + "/store.db";
        model_path_ = tiny_model("swa");  // the store does not care; swa is the fastest to run
        lte_path_ = tiny_model("lte");
    }
    mnemo_store* open(mnemo_store_params p = mnemo_store_default_params()) {
        mnemo_store* s = nullptr;
        EXPECT_EQ(mnemo_store_open(db_.c_str(), &p, &s), MNEMO_OK) << mnemo_last_error();
        return s;
    }
    std::string dir_, db_, model_path_, lte_path_;
};

TEST_F(StoreTest, CreatesAWalStoreWithForeignKeysAndTheCurrentSchema) {
    mnemo_store* s = open();
    ASSERT_NE(s, nullptr);
    int32_t v = 0;
    ASSERT_EQ(mnemo_store_schema_version(s, &v), MNEMO_OK);
    EXPECT_EQ(v, MNEMO_STORE_SCHEMA_VERSION);
    EXPECT_EQ(query_text(db_, "PRAGMA journal_mode"), "wal\n");
    EXPECT_EQ(query_int(db_, "PRAGMA user_version"), MNEMO_STORE_SCHEMA_VERSION);
    EXPECT_EQ(query_int(db_, "PRAGMA application_id"), mnemo::kStoreApplicationId);
    EXPECT_EQ(query_int(db_, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN "
                             "('documents', 'models', 'snapshots', 'questions', 'eviction_events')"), 5);
    // Foreign keys are enforced on the store's connection.
    EXPECT_NE(s->store->exec("INSERT INTO snapshots(document_id, model_id, complete, n_tokens, total_tokens, state_bytes, "
                             "format_version, seconds, created_at, blob) VALUES(42, 42, 1, 0, 0, 0, 1, 0, 0, x'00')"),
              MNEMO_OK);
    mnemo_store_close(s);
}

TEST_F(StoreTest, MigratesAnOlderSchemaForwardKeepingItsRows) {
    {
        std::unique_ptr<mnemo::StoreImpl> v1;
        mnemo::StoreOptions o;
        o.target_version = 1;
        ASSERT_EQ(mnemo::StoreImpl::open(db_, o, &v1), MNEMO_OK) << mnemo_last_error();
        EXPECT_EQ(v1->schema_version(), 1);
        int64_t id = 0;
        ASSERT_EQ(v1->add_document("old", "a document from schema 1", &id, nullptr), MNEMO_OK);
    }
    EXPECT_EQ(query_int(db_, "PRAGMA user_version"), 1);
    EXPECT_EQ(query_int(db_, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'eviction_events'"), 0);
    // Read-only handles cannot migrate.
    mnemo_store_params ro = mnemo_store_default_params();
    ro.read_only = 1;
    mnemo_store* s = nullptr;
    EXPECT_EQ(mnemo_store_open(db_.c_str(), &ro, &s), MNEMO_ERR_STATE);
    s = open();
    ASSERT_NE(s, nullptr);
    int32_t v = 0;
    mnemo_store_schema_version(s, &v);
    EXPECT_EQ(v, MNEMO_STORE_SCHEMA_VERSION);
    EXPECT_EQ(query_int(db_, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'eviction_events'"), 1);
    int64_t id = 0;
    EXPECT_EQ(mnemo_store_find_document(s, "old", &id), MNEMO_OK);
    EXPECT_EQ(id, 1);
    mnemo_store_close(s);
}

TEST_F(StoreTest, RefusesNewerSchemasForeignDatabasesAndMissingFiles) {
    mnemo_store_close(open());
    ASSERT_TRUE(exec_sql(db_, "PRAGMA user_version = 99"));
    mnemo_store* s = nullptr;
    EXPECT_EQ(mnemo_store_open(db_.c_str(), nullptr, &s), MNEMO_ERR_UNSUPPORTED);
    EXPECT_NE(std::string(mnemo_last_error()).find("newer"), std::string::npos) << mnemo_last_error();

    const std::string other = dir_ + "/other.db";
    ASSERT_TRUE(exec_sql(other, "CREATE TABLE t(x)"));
    EXPECT_EQ(mnemo_store_open(other.c_str(), nullptr, &s), MNEMO_ERR_BAD_MAGIC);
    EXPECT_NE(std::string(mnemo_last_error()).find("not a Mnemo store"), std::string::npos) << mnemo_last_error();

    const std::string junk = dir_ + "/junk.db";
    write_text(junk, std::string(4096, 'x'));
    EXPECT_EQ(mnemo_store_open(junk.c_str(), nullptr, &s), MNEMO_ERR_BAD_MAGIC) << mnemo_last_error();

    mnemo_store_params no_create = mnemo_store_default_params();
    no_create.create = 0;
    const std::string missing = dir_ + "/missing.db";
    EXPECT_EQ(mnemo_store_open(missing.c_str(), &no_create, &s), MNEMO_ERR_IO);
    EXPECT_FALSE(std::filesystem::exists(missing));
    EXPECT_EQ(mnemo_store_open(dir_.c_str(), nullptr, &s), MNEMO_ERR_IO);
    EXPECT_EQ(mnemo_store_open("", nullptr, &s), MNEMO_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(s, nullptr);
}

TEST_F(StoreTest, AddsListsFindsAndDeletesDocuments) {
    mnemo_store* s = open();
    int64_t a = 0, b = 0;
    const std::string ta = "First document, with UTF-8: naïve café — ünïcödé ✓";
    ASSERT_EQ(mnemo_store_add_document(s, "first", ta.data(), ta.size(), &a), MNEMO_OK) << mnemo_last_error();
    ASSERT_EQ(mnemo_store_add_document(s, "2024", "second", 6, &b), MNEMO_OK);
    EXPECT_EQ(a, 1);
    EXPECT_EQ(b, 2);

    size_t n = 0;
    EXPECT_EQ(mnemo_store_list_documents(s, nullptr, 0, &n), MNEMO_ERR_BUFFER_TOO_SMALL);
    EXPECT_EQ(n, 2u);
    std::vector<mnemo_document> docs(2);
    for (auto& d : docs) d.struct_size = sizeof d;
    ASSERT_EQ(mnemo_store_list_documents(s, docs.data(), docs.size(), &n), MNEMO_OK);
    EXPECT_STREQ(docs[0].title, "first");
    EXPECT_EQ(docs[0].n_bytes, ta.size());
    EXPECT_EQ(docs[0].ingested, 0);
    EXPECT_STREQ(docs[0].model_path, "");
    EXPECT_STREQ(docs[1].title, "2024");
    EXPECT_NE(docs[0].content_hash, docs[1].content_hash);
    EXPECT_GT(docs[0].created_at, 1600000000);

    int64_t id = 0;
    EXPECT_EQ(mnemo_store_find_document(s, "first", &id), MNEMO_OK);
    EXPECT_EQ(id, a);
    EXPECT_EQ(mnemo_store_find_document(s, "#2", &id), MNEMO_OK);
    EXPECT_EQ(id, b);
    EXPECT_EQ(mnemo_store_find_document(s, "2024", &id), MNEMO_OK);  // no id 2024: the title
    EXPECT_EQ(id, b);
    EXPECT_EQ(mnemo_store_find_document(s, "nope", &id), MNEMO_ERR_OUT_OF_RANGE);

    std::vector<char> text(ta.size() + 1);
    size_t len = 0;
    EXPECT_EQ(mnemo_store_document_text(s, a, nullptr, 0, &len), MNEMO_ERR_BUFFER_TOO_SMALL);
    EXPECT_EQ(len, ta.size());
    ASSERT_EQ(mnemo_store_document_text(s, a, text.data(), text.size(), &len), MNEMO_OK);
    EXPECT_EQ(std::string(text.data()), ta);

    ASSERT_EQ(mnemo_store_delete_document(s, a), MNEMO_OK);
    EXPECT_EQ(mnemo_store_delete_document(s, a), MNEMO_ERR_OUT_OF_RANGE);
    mnemo_document d{};
    d.struct_size = sizeof d;
    EXPECT_EQ(mnemo_store_get_document(s, a, &d), MNEMO_ERR_OUT_OF_RANGE);
    ASSERT_EQ(mnemo_store_list_documents(s, docs.data(), docs.size(), &n), MNEMO_OK);
    EXPECT_EQ(n, 1u);
    mnemo_store_close(s);
}

TEST_F(StoreTest, BadDocumentsAreRefusedWithAClearStatusAndLoseNothing) {
    mnemo_store* s = open();
    int64_t id = 0, first = 0;
    ASSERT_EQ(mnemo_store_add_document(s, "kept", "kept text", 9, &first), MNEMO_OK);

    EXPECT_EQ(mnemo_store_add_document(s, "empty", "", 0, &id), MNEMO_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(mnemo_last_error()).find("empty"), std::string::npos);
    const char latin1[] = "caf\xe9 au lait";
    EXPECT_EQ(mnemo_store_add_document(s, "latin1", latin1, sizeof latin1 - 1, &id), MNEMO_ERR_CORRUPT);
    EXPECT_NE(std::string(mnemo_last_error()).find("UTF-8"), std::string::npos);
    EXPECT_NE(std::string(mnemo_last_error()).find("byte 3"), std::string::npos) << mnemo_last_error();
    EXPECT_EQ(mnemo_store_add_document(s, "bad title \xff", "x", 1, &id), MNEMO_ERR_CORRUPT);
    EXPECT_EQ(mnemo_store_add_document(s, "", "x", 1, &id), MNEMO_ERR_INVALID_ARGUMENT);

    EXPECT_EQ(mnemo_store_add_document(s, "again", "kept text", 9, &id), MNEMO_ERR_STATE);
    EXPECT_EQ(id, first) << "a duplicate reports the stored document";
    EXPECT_NE(std::string(mnemo_last_error()).find("already stored"), std::string::npos);
    EXPECT_EQ(mnemo_store_add_document(s, "kept", "other text", 10, &id), MNEMO_ERR_STATE);
    EXPECT_NE(std::string(mnemo_last_error()).find("title"), std::string::npos);

    EXPECT_EQ(query_int(db_, "SELECT COUNT(*) FROM documents"), 1);
    EXPECT_EQ(query_text(db_, "SELECT text FROM documents"), "kept text\n");
    mnemo_store_close(s);
}

TEST_F(StoreTest, ReadOnlyStoresRefuseWritesButAnswerReads) {
    mnemo_store* s = open();
    int64_t id = 0;
    ASSERT_EQ(mnemo_store_add_document(s, "doc", "some text", 9, &id), MNEMO_OK);
    mnemo_store_close(s);

    mnemo_store_params ro = mnemo_store_default_params();
    ro.read_only = 1;
    s = open(ro);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(mnemo_store_add_document(s, "new", "more", 4, &id), MNEMO_ERR_IO);
    EXPECT_NE(std::string(mnemo_last_error()).find("read-only"), std::string::npos) << mnemo_last_error();
    EXPECT_EQ(mnemo_store_delete_document(s, 1), MNEMO_ERR_IO);
    mnemo::Model model(model_path_);
    mnemo::Session session(model, session_params());
    EXPECT_EQ(mnemo_store_ingest(s, session.get(), 1, nullptr, nullptr), MNEMO_ERR_IO);
    size_t n = 0;
    mnemo_document d{};
    d.struct_size = sizeof d;
    EXPECT_EQ(mnemo_store_list_documents(s, &d, 1, &n), MNEMO_OK) << mnemo_last_error();
    EXPECT_EQ(n, 1u);
    mnemo_store_close(s);

    // A file the process may not write (meaningless for root, who may write anything).
    if (::geteuid() != 0) {
        std::filesystem::permissions(db_, std::filesystem::perms::owner_read);
        s = open();
        ASSERT_NE(s, nullptr);
        EXPECT_EQ(mnemo_store_add_document(s, "new", "more", 4, &id), MNEMO_ERR_IO);
        mnemo_store_close(s);
        std::filesystem::permissions(db_, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    }
}

TEST_F(StoreTest, AStoreLockedByAnotherProcessReportsItAndRecovers) {
    mnemo_store_close(open());
    int to_child[2], to_parent[2];
    ASSERT_EQ(::pipe(to_child), 0);
    ASSERT_EQ(::pipe(to_parent), 0);
    const pid_t pid = ::fork();
    if (pid == 0) {
        // The other process: hold the write lock until told to stop.
        sqlite3* db = nullptr;
        sqlite3_open(db_.c_str(), &db);
        const int rc = sqlite3_exec(db, "BEGIN EXCLUSIVE; INSERT INTO models(hash, path, added_at) VALUES('x', 'y', 0);", nullptr,
                                    nullptr, nullptr);
        const char ready = rc == SQLITE_OK ? 'y' : 'n';
        if (::write(to_parent[1], &ready, 1) != 1) ::_exit(1);
        char go;
        if (::read(to_child[0], &go, 1) != 1) ::_exit(1);
        sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
        sqlite3_close(db);
        ::_exit(0);
    }
    char ready = 0;
    ASSERT_EQ(::read(to_parent[0], &ready, 1), 1);
    ASSERT_EQ(ready, 'y');
    mnemo_store_params p = mnemo_store_default_params();
    p.busy_timeout_ms = 100;
    mnemo_store* s = open(p);
    ASSERT_NE(s, nullptr) << "readers are not blocked by a writer under WAL";
    int64_t id = 0;
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(mnemo_store_add_document(s, "doc", "text", 4, &id), MNEMO_ERR_IO);
    EXPECT_NE(std::string(mnemo_last_error()).find("locked"), std::string::npos) << mnemo_last_error();
    EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(90)) << "waits busy_timeout_ms first";
    const char go = 'g';
    ASSERT_EQ(::write(to_child[1], &go, 1), 1);
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_EQ(mnemo_store_add_document(s, "doc", "text", 4, &id), MNEMO_OK) << mnemo_last_error();
    mnemo_store_close(s);
    for (int fd : {to_child[0], to_child[1], to_parent[0], to_parent[1]}) ::close(fd);
}

TEST_F(StoreTest, IngestReportsProgressAndAsksAreRecorded) {
    mnemo::Model model(model_path_);
    mnemo::Store store(db_);
    const std::string text = words(1200);
    const int64_t id = store.add_document("words", text);
    mnemo::Session session(model, session_params());

    struct Seen {
        std::vector<int64_t> done;
        std::vector<uint64_t> state;
        int64_t total = 0;
    } seen;
    mnemo_ingest_params ip = mnemo_ingest_default_params();
    ip.progress = [](int64_t done, int64_t total, uint64_t state, void* user) -> int {
        auto* s = static_cast<Seen*>(user);
        s->done.push_back(done);
        s->total = total;
        s->state.push_back(state);
        return 0;
    };
    ip.user_data = &seen;
    ip.checkpoint_tokens = 256;  // slices of 256 tokens: a progress call each
    const mnemo_ingest_result r = store.ingest(session, id, ip);
    EXPECT_EQ(r.n_tokens, static_cast<int64_t>(text.size()) + 1) << "byte tokens plus BOS";
    EXPECT_EQ(r.resumed_from, 0);
    EXPECT_EQ(session.position(), r.n_tokens) << "the session holds the document afterwards";
    ASSERT_GE(seen.done.size(), 3u);
    EXPECT_EQ(seen.done.front(), 0);
    EXPECT_EQ(seen.done.back(), r.n_tokens);
    EXPECT_TRUE(std::is_sorted(seen.done.begin(), seen.done.end()));
    EXPECT_EQ(seen.total, r.n_tokens);
    mnemo_memory_plan plan{};
    plan.struct_size = sizeof plan;
    const mnemo_session_params sp = session_params();
    mnemo::check(mnemo_memory_plan_get(model.get(), &sp, &plan));
    EXPECT_TRUE(std::is_sorted(seen.state.begin(), seen.state.end())) << "state in use only grows...";
    EXPECT_GT(seen.state.front(), 0u);
    EXPECT_LE(seen.state.back(), plan.state_bytes) << "...up to the plan";
    EXPECT_EQ(seen.state[seen.state.size() - 1], seen.state[seen.state.size() - 2]) << "and stops growing (bounded model)";
    EXPECT_EQ(r.state_bytes, plan.state_bytes);
    EXPECT_EQ(r.snapshot_bytes, plan.state_bytes + MNEMO_SNAPSHOT_HEADER_BYTES);
    EXPECT_GT(r.tokens_per_second, 0.0);

    const mnemo_document d = store.document(id);
    EXPECT_EQ(d.ingested, 1);
    EXPECT_EQ(d.n_tokens, r.n_tokens);
    EXPECT_EQ(d.snapshot_bytes, r.snapshot_bytes);
    EXPECT_EQ(d.checkpoint_tokens, 0) << "a complete ingest drops its checkpoints";
    EXPECT_EQ(query_int(db_, "SELECT COUNT(*) FROM snapshots"), 1);
    EXPECT_EQ(std::filesystem::path(d.model_path), std::filesystem::absolute(model_path_).lexically_normal());
    uint64_t hash = 0;
    mnemo::check(mnemo_model_hash(model.get(), &hash));
    EXPECT_EQ(d.model_hash, hash);

    const std::string a1 = ask(store.get(), model.get(), id, "What does the model keep?");
    const std::string a2 = ask(store.get(), model.get(), id, "What does the model keep?");
    EXPECT_EQ(a1, a2) << "greedy answers are deterministic";
    mnemo_question_record q[2];
    for (auto& x : q) x.struct_size = sizeof x;
    size_t n = 0;
    ASSERT_EQ(mnemo_store_list_questions(store.get(), id, q, 2, &n), MNEMO_OK) << mnemo_last_error();
    ASSERT_EQ(n, 2u);
    EXPECT_STREQ(q[0].question, "What does the model keep?");
    EXPECT_EQ(std::string(q[0].answer), a1);
    EXPECT_GT(q[0].question_tokens, 0);
    EXPECT_GT(q[0].answer_tokens, 0);
    EXPECT_GT(q[0].restore_ms + q[0].prefill_ms + q[0].generate_ms, 0.0);
    EXPECT_EQ(q[0].model_hash, hash);
    EXPECT_EQ(store.document(id).n_questions, 2);

    // Not recorded when asked not to.
    mnemo_ask_params quiet = ask_params();
    quiet.record = 0;
    mnemo_answer ans{};
    ans.struct_size = sizeof ans;
    ASSERT_EQ(mnemo_store_ask(store.get(), model.get(), id, "again?", &quiet, &ans), MNEMO_OK);
    EXPECT_EQ(ans.question_id, 0);
    EXPECT_EQ(store.document(id).n_questions, 2);
}

TEST_F(StoreTest, AskRefusesWhatItCannotAnswer) {
    mnemo::Model model(model_path_);
    mnemo::Model other(tiny_model("swa", 2));
    mnemo::Store store(db_);
    const int64_t id = store.add_document("doc", words(300));
    const int64_t not_ingested = store.add_document("later", words(100, 9));
    mnemo::Session session(model, session_params());
    store.ingest(session, id);

    mnemo_status st = MNEMO_OK;
    ask(store.get(), other.get(), id, "q?", &st);
    EXPECT_EQ(st, MNEMO_ERR_MISMATCH);
    EXPECT_NE(std::string(mnemo_last_error()).find(model_path_.substr(model_path_.rfind('/') + 1)), std::string::npos)
        << "names the model it was ingested with: " << mnemo_last_error();
    ask(store.get(), model.get(), not_ingested, "q?", &st);
    EXPECT_EQ(st, MNEMO_ERR_STATE);
    ask(store.get(), model.get(), 99, "q?", &st);
    EXPECT_EQ(st, MNEMO_ERR_OUT_OF_RANGE);
    ask(store.get(), model.get(), id, "", &st);
    EXPECT_EQ(st, MNEMO_ERR_INVALID_ARGUMENT);
    ask(store.get(), model.get(), id, "caf\xe9?", &st);
    EXPECT_EQ(st, MNEMO_ERR_CORRUPT);
    mnemo_ask_params bad = ask_params();
    bad.prompt_template = "no slot";
    mnemo_answer a{};
    a.struct_size = sizeof a;
    EXPECT_EQ(mnemo_store_ask(store.get(), model.get(), id, "q?", &bad, &a), MNEMO_ERR_INVALID_ARGUMENT);

    // Restoring the document into a caller's session.
    mnemo::Session fresh(model, session_params());
    ASSERT_EQ(mnemo_store_restore(store.get(), id, fresh.get()), MNEMO_OK) << mnemo_last_error();
    EXPECT_EQ(fresh.position(), store.document(id).n_tokens);
    mnemo::Session foreign(other, session_params());
    EXPECT_EQ(mnemo_store_restore(store.get(), id, foreign.get()), MNEMO_ERR_MISMATCH);
}

// Acceptance: asking after a process restart gives the answer the ingesting session gives.
TEST_F(StoreTest, SameAnswerAfterARestartAsInTheSessionThatIngested) {
    const std::string question = "Which tokens does the sink keep?";
    std::string live;
    {
        mnemo::Model model(lte_path_);  // the paper's laLTE hybrid
        mnemo::Store store(db_);
        const int64_t id = store.add_document("long", words(300));
        mnemo::Session session(model, session_params());
        store.ingest(session, id);
        live = answer_in_session(model, session, question);
    }
    ASSERT_FALSE(live.empty());
    // Another process: the CLI, which loads the model recorded in the store.
    const RunResult r = run({cli(), "ask", "--db", db_, "long", question, "--max-tokens", "24", "--no-stream", "--threads", "2"});
    ASSERT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.out, live + "\n");
    // And a fresh open of the store with a fresh model load in this process.
    mnemo::Model model(lte_path_);
    mnemo::Store store(db_);
    EXPECT_EQ(ask(store.get(), model.get(), 1, question), live);
    EXPECT_EQ(store.document(1).n_questions, 2);
}

TEST_F(StoreTest, ACancelledIngestResumesFromItsCheckpointToTheSameSnapshot) {
    const std::string text = words(1200);
    mnemo::Model model(model_path_);
    // Reference: uninterrupted.
    const std::string ref_db = dir_ + "/ref.db";
    {
        mnemo::Store ref(ref_db);
        mnemo::Session s(model, session_params());
        ref.ingest(s, ref.add_document("doc", text));
    }
    mnemo::Store store(db_);
    const int64_t id = store.add_document("doc", text);
    mnemo_ingest_params ip = mnemo_ingest_default_params();
    ip.checkpoint_tokens = 256;
    ip.progress = [](int64_t done, int64_t, uint64_t, void*) -> int { return done >= 700 ? 1 : 0; };
    {
        mnemo::Session s(model, session_params());
        mnemo_ingest_result r{};
        r.struct_size = sizeof r;
        EXPECT_EQ(mnemo_store_ingest(store.get(), s.get(), id, &ip, &r), MNEMO_ERR_CANCELLED);
        EXPECT_NE(std::string(mnemo_last_error()).find("resume"), std::string::npos) << mnemo_last_error();
    }
    mnemo_document d = store.document(id);
    EXPECT_EQ(d.ingested, 0);
    EXPECT_EQ(d.checkpoint_tokens, 512) << "cancelled at 768, before that slice's checkpoint";
    EXPECT_EQ(d.total_tokens, static_cast<int64_t>(text.size()) + 1);

    ip.progress = nullptr;
    mnemo::Session s(model, session_params());
    const mnemo_ingest_result r = store.ingest(s, id, ip);
    EXPECT_EQ(r.resumed_from, 512);
    d = store.document(id);
    EXPECT_EQ(d.ingested, 1);
    EXPECT_EQ(d.checkpoint_tokens, 0);
    const auto resumed = query_blob(db_, "SELECT blob FROM snapshots WHERE complete = 1");
    const auto reference = query_blob(ref_db, "SELECT blob FROM snapshots WHERE complete = 1");
    ASSERT_FALSE(resumed.empty());
    EXPECT_EQ(resumed, reference) << "a resumed ingest ends in the uninterrupted ingest's exact state";

    // resume = 0 starts over.
    ip.resume = 0;
    mnemo::Session t(model, session_params());
    EXPECT_EQ(store.ingest(t, id, ip).resumed_from, 0);
    EXPECT_EQ(query_blob(db_, "SELECT blob FROM snapshots WHERE complete = 1"), reference);
}

TEST_F(StoreTest, TheSessionCancelCallbackStopsAnIngest) {
    mnemo::Model model(model_path_);
    mnemo::Store store(db_);
    const int64_t id = store.add_document("doc", words(500));
    mnemo_session_params p = session_params();
    p.cancel = [](void*) -> int { return 1; };
    mnemo::Session s(model, p);
    EXPECT_EQ(mnemo_store_ingest(store.get(), s.get(), id, nullptr, nullptr), MNEMO_ERR_CANCELLED);
    EXPECT_EQ(store.document(id).ingested, 0);
}

TEST_F(StoreTest, RecordsEvictionTraces) {
    mnemo::Model model(model_path_);
    mnemo::Store store(db_);
    const int64_t id = store.add_document("doc", words(300));
    mnemo::Session s(model, session_params());
    mnemo_ingest_params ip = mnemo_ingest_default_params();
    ip.record_evictions = 1;
    const mnemo_ingest_result r = store.ingest(s, id, ip);
    EXPECT_GT(r.n_eviction_events, 0);
    EXPECT_EQ(query_int(db_, "SELECT COUNT(*) FROM eviction_events WHERE document_id = 1"), r.n_eviction_events);
    EXPECT_EQ(query_int(db_, "SELECT COUNT(*) FROM eviction_events WHERE layer % 2 = 0"), 0) << "only the swa layers evict";
    EXPECT_EQ(query_int(db_, "SELECT COUNT(*) FROM eviction_events WHERE reason = 3 AND position = 0"), 2 * 2)
        << "token 0 leaves the window of each kv head of both swa layers";
    store.remove(id);
    EXPECT_EQ(query_int(db_, "SELECT COUNT(*) FROM eviction_events"), 0) << "deleting a document deletes its traces";
    EXPECT_EQ(query_int(db_, "SELECT COUNT(*) FROM snapshots"), 0);
}

TEST_F(StoreTest, ADiskFullDuringASnapshotSaveKeepsEverythingAlreadyStored) {
    mnemo::Model model(model_path_);
    mnemo::Store store(db_);
    const int64_t a = store.add_document("a", words(300));
    mnemo::Session s(model, session_params());
    store.ingest(s, a);
    const std::string before = ask(store.get(), model.get(), a, "what?");
    const int64_t b = store.add_document("b", words(300, 99));
    // Cap the database at its current size (SQLite's max_page_count): the snapshot
    // does not fit, as on a full disk.
    const int64_t pages = query_int(db_, "PRAGMA page_count");
    ASSERT_GT(pages, 0);
    ASSERT_EQ(store.get()->store->exec("PRAGMA max_page_count = " + std::to_string(pages + 2)), MNEMO_OK);
    EXPECT_EQ(mnemo_store_ingest(store.get(), s.get(), b, nullptr, nullptr), MNEMO_ERR_IO);
    EXPECT_NE(std::string(mnemo_last_error()).find("full"), std::string::npos) << mnemo_last_error();
    EXPECT_EQ(query_text(db_, "PRAGMA integrity_check"), "ok\n");
    EXPECT_EQ(store.document(b).ingested, 0);
    EXPECT_EQ(store.document(a).ingested, 1);
    EXPECT_EQ(ask(store.get(), model.get(), a, "what?", nullptr), before);
    ASSERT_EQ(store.get()->store->exec("PRAGMA max_page_count = 1073741823"), MNEMO_OK);
    store.ingest(s, b);
    EXPECT_EQ(store.document(b).ingested, 1);
}

// Acceptance: SIGKILL in the middle of an ingest leaves the database consistent and
// the earlier snapshots intact; the killed ingest resumes from its last checkpoint.
TEST_F(StoreTest, SigkillMidIngestLosesNothing) {
    const std::string small = dir_ + "/small.txt", big = dir_ + "/big.txt";
    write_text(small, words(300, 1));
    write_text(big, words(600000, 2));
    auto ingest_cmd = [&](const std::string& file) {
        return std::vector<std::string>{cli(), "ingest", "--db", db_, file, "--model", model_path_, "--checkpoint-every", "256",
                                        "--threads", "2"};
    };
    ASSERT_EQ(run(ingest_cmd(small)).exit_code, 0);
    const RunResult first = run({cli(), "ask", "--db", db_, "small.txt", "What is kept?", "--max-tokens", "24", "--no-stream"});
    ASSERT_EQ(first.exit_code, 0);
    const auto small_blob = query_blob(db_, "SELECT blob FROM snapshots WHERE document_id = 1 AND complete = 1");
    ASSERT_FALSE(small_blob.empty());

    int64_t last_checkpoint = 0;
    for (int round = 0; round < 3; ++round) {
        const pid_t pid = spawn(ingest_cmd(big));
        ASSERT_GT(pid, 0);
        // Wait until this process has written a new checkpoint, then kill it at a
        // point that varies from round to round while it keeps writing.
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        int64_t cp = -1;
        while (std::chrono::steady_clock::now() < deadline) {
            cp = query_int(db_, "SELECT COALESCE(MAX(n_tokens), 0) FROM snapshots WHERE document_id = 2 AND complete = 0");
            if (cp > last_checkpoint) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        ASSERT_GT(cp, last_checkpoint) << "round " << round << ": the ingest never wrote a checkpoint";
        std::this_thread::sleep_for(std::chrono::milliseconds(7 * round + 3));
        ASSERT_EQ(::kill(pid, SIGKILL), 0);
        int status = 0;
        ASSERT_EQ(::waitpid(pid, &status, 0), pid);
        ASSERT_TRUE(WIFSIGNALED(status)) << "round " << round << ": the ingest finished before it was killed";

        EXPECT_EQ(query_text(db_, "PRAGMA integrity_check"), "ok\n");
        EXPECT_EQ(query_text(db_, "PRAGMA foreign_key_check"), "");
        EXPECT_EQ(query_blob(db_, "SELECT blob FROM snapshots WHERE document_id = 1 AND complete = 1"), small_blob);
        EXPECT_EQ(query_int(db_, "SELECT COUNT(*) FROM snapshots WHERE document_id = 2 AND complete = 1"), 0);
        const int64_t now = query_int(db_, "SELECT n_tokens FROM snapshots WHERE document_id = 2 AND complete = 0");
        EXPECT_GE(now, cp);
        EXPECT_EQ(now % 256, 0);
        last_checkpoint = now;
    }
    // The earlier document still answers exactly as before, from another process.
    const RunResult after = run({cli(), "ask", "--db", db_, "small.txt", "What is kept?", "--max-tokens", "24", "--no-stream"});
    ASSERT_EQ(after.exit_code, 0);
    EXPECT_EQ(after.out, first.out);
    // The store opens, lists the interrupted document and restores its checkpoint.
    mnemo::Store store(db_);
    const mnemo_document d = store.document(2);
    EXPECT_EQ(d.ingested, 0);
    EXPECT_EQ(d.checkpoint_tokens, last_checkpoint);
    const auto checkpoint = query_blob(db_, "SELECT blob FROM snapshots WHERE document_id = 2 AND complete = 0");
    mnemo::Model model(model_path_);
    mnemo_session* s = nullptr;
    ASSERT_EQ(mnemo_session_create_from_snapshot(model.get(), checkpoint.data(), checkpoint.size(), nullptr, &s), MNEMO_OK)
        << mnemo_last_error();
    int64_t pos = 0;
    mnemo_session_position(s, &pos);
    EXPECT_EQ(pos, last_checkpoint);
    mnemo_session_free(s);
}

TEST_F(StoreTest, CliRefusesBadDocumentsClearly) {
    const std::string latin1 = dir_ + "/latin1.txt";
    write_text(latin1, "caf\xe9 au lait\n");
    const std::string err = dir_ + "/err.txt";
    // Run the CLI with its stderr going to a file.
    const pid_t pid = ::fork();
    if (pid == 0) {
        FILE* f = std::fopen(err.c_str(), "w");
        ::dup2(fileno(f), STDERR_FILENO);
        ::execl(MNEMO_CLI, MNEMO_CLI, "ingest", "--db", db_.c_str(), latin1.c_str(), "--model", model_path_.c_str(), nullptr);
        ::_exit(127);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_EQ(WEXITSTATUS(status), 1);
    std::ifstream in(err);
    const std::string message((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_NE(message.find("not valid UTF-8"), std::string::npos) << message;
    EXPECT_NE(message.find("byte 3"), std::string::npos) << message;
    EXPECT_EQ(query_int(db_, "SELECT COUNT(*) FROM documents"), 0);
}
