// Helpers for the store and snapshot suites: scratch directories, tiny models,
// documents, and running the `mnemo` CLI as a subprocess.
#pragma once

#include "tiny_model.h"

#include "mnemo/mnemo.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace store_test {

// A fresh directory per test under gtest's temp dir.
inline std::string scratch_dir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(info->test_suite_name()) + "_" + info->name();
    for (char& c : name)
        if (c == '/') c = '_';
    const std::string dir = ::testing::TempDir() + "mnemo_store_" + std::to_string(::getpid()) + "_" + name;
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir;
}

// A tiny random model of `mixer` kind (written once per process and seed).
inline std::string tiny_model(const std::string& mixer = "lte", uint32_t seed = 1) {
    const std::string path = ::testing::TempDir() + "mnemo_store_" + std::to_string(::getpid()) + "_tiny_" + mixer + "_" +
                             std::to_string(seed) + ".gguf";
    if (!std::filesystem::exists(path)) {
        const mnemo_status s = mnemo::test_support::write_tiny_model(path, mnemo::test_support::tiny_config(mixer), seed);
        EXPECT_EQ(s, MNEMO_OK) << mnemo_last_error();
    }
    return path;
}

// Deterministic English-like text of about `bytes` bytes.
inline std::string words(size_t bytes, uint32_t seed = 7) {
    static const char* kWords[] = {"the", "state", "of", "a", "bounded", "model", "keeps", "what", "matters", "while",
                                   "tokens", "leave", "its", "window", "and", "sink", "retains", "few", "long", "document"};
    std::mt19937 rng(seed);
    std::string out;
    while (out.size() < bytes) {
        out += kWords[rng() % 20];
        out += (rng() % 13 == 0) ? ".\n" : " ";
    }
    return out;
}

inline void write_text(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

struct RunResult {
    int exit_code = -1;
    std::string out;
};

// Runs argv (argv[0] a path) with stdout captured and stderr passed through.
inline RunResult run(const std::vector<std::string>& argv) {
    RunResult r;
    int fds[2];
    if (::pipe(fds) != 0) return r;
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(fds[1], STDOUT_FILENO);
        ::close(fds[0]);
        ::close(fds[1]);
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        ::execv(args[0], args.data());
        ::_exit(127);
    }
    ::close(fds[1]);
    char buf[4096];
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) r.out.append(buf, static_cast<size_t>(n));
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return r;
}

// Starts argv in the background (stdout and stderr to /dev/null); returns its pid.
inline pid_t spawn(const std::vector<std::string>& argv) {
    const pid_t pid = ::fork();
    if (pid == 0) {
        FILE* null = std::fopen("/dev/null", "w");
        if (null != nullptr) {
            ::dup2(fileno(null), STDOUT_FILENO);
            ::dup2(fileno(null), STDERR_FILENO);
        }
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        ::execv(args[0], args.data());
        ::_exit(127);
    }
    return pid;
}

// One integer from a query on a separate SQLite connection (-1 on failure).
inline int64_t query_int(const std::string& db_path, const std::string& sql) {
    sqlite3* db = nullptr;
    int64_t v = -1;
    if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
        sqlite3_busy_timeout(db, 2000);
        sqlite3_stmt* st = nullptr;
        if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return v;
}

inline std::string query_text(const std::string& db_path, const std::string& sql) {
    sqlite3* db = nullptr;
    std::string v = "<error>";
    if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
        sqlite3_busy_timeout(db, 2000);
        sqlite3_stmt* st = nullptr;
        if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK) {
            v.clear();
            while (sqlite3_step(st) == SQLITE_ROW) {
                const auto* t = sqlite3_column_text(st, 0);
                v += t != nullptr ? reinterpret_cast<const char*>(t) : "NULL";
                v += "\n";
            }
        }
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return v;
}

inline std::vector<uint8_t> query_blob(const std::string& db_path, const std::string& sql) {
    sqlite3* db = nullptr;
    std::vector<uint8_t> v;
    if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
        sqlite3_stmt* st = nullptr;
        if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
            const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(st, 0));
            v.assign(p, p + sqlite3_column_bytes(st, 0));
        }
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return v;
}

inline bool exec_sql(const std::string& db_path, const std::string& sql) {
    sqlite3* db = nullptr;
    bool ok = sqlite3_open(db_path.c_str(), &db) == SQLITE_OK && sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK;
    sqlite3_close(db);
    return ok;
}

}  // namespace store_test
