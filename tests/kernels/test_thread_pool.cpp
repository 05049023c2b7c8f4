#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "cpu/thread_pool.h"

namespace mnemo::cpu {
namespace {

TEST(ThreadPool, ChunksCoverRangeOnceOnGrainBoundaries) {
    for (int64_t n : {1, 7, 64, 1000, 1023}) {
        for (int64_t grain : {1, 4, 16}) {
            for (int64_t chunks : {1, 2, 3, 8}) {
                int64_t expected_begin = 0;
                for (int64_t i = 0; i < chunks; ++i) {
                    const auto [begin, end] = ThreadPool::chunk_range(n, grain, chunks, i);
                    EXPECT_EQ(begin, expected_begin);
                    EXPECT_LE(begin, end);
                    if (end < n) {
                        EXPECT_EQ(end % grain, 0) << "n=" << n << " grain=" << grain;
                    }
                    expected_begin = end;
                }
                EXPECT_EQ(expected_begin, n);
            }
        }
    }
}

TEST(ThreadPool, EveryIndexRunsExactlyOnce) {
    for (int threads : {1, 2, 3, 5}) {
        ThreadPool pool(threads);
        EXPECT_EQ(pool.n_threads(), threads);
        for (int64_t n : {0, 1, 5, 100, 4097}) {
            std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
            pool.parallel_for(n, 3, [&](int64_t begin, int64_t end) {
                for (int64_t i = begin; i < end; ++i) hits[static_cast<size_t>(i)].fetch_add(1);
            });
            for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[static_cast<size_t>(i)].load(), 1) << i;
        }
    }
}

TEST(ThreadPool, UsesSeveralThreadsAndRunsNestedCallsInline) {
    ThreadPool pool(3);
    std::mutex mutex;
    std::set<std::thread::id> ids;
    std::atomic<int64_t> nested_total{0};
    std::atomic<int> started{0};
    pool.parallel_for(3, [&](int64_t begin, int64_t end) {
        {
            std::lock_guard<std::mutex> lock(mutex);
            ids.insert(std::this_thread::get_id());
        }
        // Ranges are claimed by whichever thread is free; holding each range until all three
        // have started means three threads must have claimed one each (10 s at most).
        started.fetch_add(1);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (started.load() < 3 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
        for (int64_t i = begin; i < end; ++i) {
            // A nested call must not deadlock; it runs serially on this thread.
            pool.parallel_for(10, [&](int64_t b, int64_t e) { nested_total.fetch_add(e - b); });
        }
    });
    EXPECT_EQ(ids.size(), 3u);
    EXPECT_EQ(nested_total.load(), 30);
}

TEST(ThreadPool, ManySmallJobsBackToBack) {
    ThreadPool pool(2);
    int64_t total = 0;
    for (int round = 0; round < 2000; ++round) {
        std::vector<int64_t> parts(2, 0);
        pool.parallel_for(2, [&](int64_t begin, int64_t end) { parts[static_cast<size_t>(begin)] = end - begin; });
        total += parts[0] + parts[1];
    }
    EXPECT_EQ(total, 4000);
}

TEST(ThreadPool, NullPoolRunsSerially) {
    int calls = 0;
    parallel_for(nullptr, 10, 1, [&](int64_t begin, int64_t end) {
        ++calls;
        EXPECT_EQ(begin, 0);
        EXPECT_EQ(end, 10);
    });
    EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace mnemo::cpu
