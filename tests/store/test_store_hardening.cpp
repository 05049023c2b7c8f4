// The store under a real write failure (issue 10's "full disk during a snapshot save"):
// in a child process whose file-size limit (RLIMIT_FSIZE, SIGXFSZ ignored) lets the
// database open but not take a 2 MB snapshot (the limit is per file, so the database
// itself stays small: the document already stored was ingested with the small-state
// swa model), every write() past the limit fails with
// EFBIG, as it would with ENOSPC on a full disk. StoreTest.ADiskFullDuringASnapshotSave...
// covers SQLite's own size cap (SQLITE_FULL); this one the operating system's refusal.
#include "store_test_util.h"

#include "mnemo/mnemo.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <cstring>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace store_test;

namespace {

mnemo_session_params attn_params() {
    mnemo_session_params p = mnemo_session_default_params();
    p.n_threads = 1;
    p.max_context = 4096;  // 2 attention layers × 4096 slots: a ~2 MB snapshot
    return p;
}

std::string ask(mnemo_store* store, const mnemo_model* model, int64_t id, mnemo_status* status) {
    mnemo_ask_params p = mnemo_ask_default_params();
    p.generate.max_tokens = 8;
    p.n_threads = 1;
    mnemo_answer a{};
    a.struct_size = sizeof a;
    *status = mnemo_store_ask(store, model, id, "what?", &p, &a);
    return *status == MNEMO_OK ? std::string(a.text, a.text_len) : std::string();
}

}  // namespace

TEST(StoreHardening, AWriteFailureDuringASnapshotSaveIsAnIoErrorAndLosesNothing) {
    const std::string dir = scratch_dir(), db = dir + "/store.db";
    const std::string model_path = tiny_model("attn"), small_path = tiny_model("swa");
    mnemo::Model model(model_path), small(small_path);
    int64_t a = 0, b = 0;
    std::string before;
    {
        mnemo::Store store(db);
        a = store.add_document("a", words(200));
        b = store.add_document("b", words(200, 99));
        mnemo_session_params sp = mnemo_session_default_params();
        sp.n_threads = 1;
        mnemo::Session s(small, sp);
        store.ingest(s, a);
        mnemo_status st;
        before = ask(store.get(), small.get(), a, &st);
        ASSERT_EQ(st, MNEMO_OK) << mnemo_last_error();
    }  // closed: the WAL is checkpointed into the database file

    const auto db_bytes = static_cast<rlim_t>(std::filesystem::file_size(db));
    ASSERT_LT(db_bytes, 1u << 20) << "the limit must sit between the database and the new snapshot";
    int pipe_fd[2];
    ASSERT_EQ(::pipe(pipe_fd), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        // The child: writes beyond db size + 256 KiB fail (the WAL index needs 32 KiB).
        ::close(pipe_fd[0]);
        std::signal(SIGXFSZ, SIG_IGN);
        const rlim_t limit = db_bytes + 256 * 1024;
        const rlimit r{limit, limit};
        char msg[600] = {};
        int32_t status = -1;
        if (::setrlimit(RLIMIT_FSIZE, &r) == 0) {
            mnemo_store* store = nullptr;
            mnemo_model* m = nullptr;
            mnemo_session* s = nullptr;
            const mnemo_session_params p = attn_params();
            if (mnemo_store_open(db.c_str(), nullptr, &store) == MNEMO_OK && mnemo_model_load(model_path.c_str(), nullptr, &m) == MNEMO_OK &&
                mnemo_session_create(m, &p, &s) == MNEMO_OK) {
                status = mnemo_store_ingest(store, s, b, nullptr, nullptr);
            } else {
                status = 1000;
            }
            std::snprintf(msg, sizeof msg, "%s", mnemo_last_error());
            mnemo_session_free(s);
            mnemo_model_free(m);
            mnemo_store_close(store);
        }
        const bool ok = ::write(pipe_fd[1], &status, sizeof status) == sizeof status && ::write(pipe_fd[1], msg, sizeof msg) == sizeof msg;
        ::_exit(ok ? 0 : 1);
    }
    ::close(pipe_fd[1]);
    int32_t status = -1;
    char msg[600] = {};
    ASSERT_EQ(::read(pipe_fd[0], &status, sizeof status), static_cast<ssize_t>(sizeof status));
    ASSERT_EQ(::read(pipe_fd[0], msg, sizeof msg), static_cast<ssize_t>(sizeof msg));
    ::close(pipe_fd[0]);
    int wait_status = 0;
    ASSERT_EQ(::waitpid(pid, &wait_status, 0), pid);
    EXPECT_TRUE(WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0);
    EXPECT_EQ(status, MNEMO_ERR_IO) << msg;
    EXPECT_NE(std::string(msg).find("I/O error"), std::string::npos) << msg;

    // Nothing already stored is lost, the failed snapshot left nothing behind, and with
    // room again the same ingest succeeds.
    EXPECT_EQ(query_text(db, "PRAGMA integrity_check"), "ok\n");
    mnemo::Store store(db);
    EXPECT_EQ(store.document(b).ingested, 0);
    EXPECT_EQ(store.document(a).ingested, 1);
    mnemo_status st;
    EXPECT_EQ(ask(store.get(), small.get(), a, &st), before);
    EXPECT_EQ(st, MNEMO_OK) << mnemo_last_error();
    mnemo::Session s(model, attn_params());
    store.ingest(s, b);
    EXPECT_EQ(store.document(b).ingested, 1);
}
