#include "cpu/thread_pool.h"

#include <algorithm>
#include <chrono>

namespace mnemo::cpu {
namespace {
thread_local bool t_on_worker = false;

// How long a waiting thread spins before it sleeps. Long enough to bridge the gaps between
// the small jobs of one decode step, short enough not to burn a busy machine's time slices.
constexpr double kSpinSeconds = 100e-6;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

// Spins until done() or kSpinSeconds have passed; true if done() became true.
template <class Done>
bool spin_until(Done done) {
    const auto start = std::chrono::steady_clock::now();
    for (;;) {
        for (int i = 0; i < 64; ++i) {
            if (done()) return true;
            cpu_relax();
        }
        if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > kSpinSeconds) return done();
    }
}

constexpr uint64_t generation_of(uint64_t claim) { return claim >> 32; }
constexpr uint64_t chunks_of(uint64_t claim) { return (claim >> 16) & 0xFFFF; }
constexpr uint64_t next_of(uint64_t claim) { return claim & 0xFFFF; }
}  // namespace

ThreadPool::ThreadPool(int n_threads) {
    if (n_threads <= 0) n_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    n_threads_ = std::min(n_threads, 0xFFFF);
    workers_.reserve(static_cast<size_t>(n_threads_ - 1));
    for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this] { worker_main(); });
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard<std::mutex> lock(state_mutex_);
        stopping_.store(true);
    }
    start_cv_.notify_all();
    for (auto& worker : workers_) worker.join();
}

bool ThreadPool::on_worker_thread() { return t_on_worker; }

std::pair<int64_t, int64_t> ThreadPool::chunk_range(int64_t n, int64_t grain, int64_t n_chunks,
                                                    int64_t index) {
    const int64_t n_grains = (n + grain - 1) / grain;
    const int64_t first = index * n_grains / n_chunks;
    const int64_t last = (index + 1) * n_grains / n_chunks;
    return {std::min(n, first * grain), std::min(n, last * grain)};
}

void ThreadPool::run_claimed(uint64_t generation) {
    uint64_t c = claim_.load(std::memory_order_acquire);
    for (;;) {
        if (generation_of(c) != generation || next_of(c) >= chunks_of(c)) return;
        if (!claim_.compare_exchange_weak(c, c + 1, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
        // Range next_of(c) is ours; the job cannot finish (nor its fields change) before it is done.
        const auto [begin, end] = chunk_range(job_n_, job_grain_, job_chunks_, static_cast<int64_t>(next_of(c)));
        const bool nested = t_on_worker;
        t_on_worker = true;
        if (begin < end) (*job_fn_)(begin, end);
        t_on_worker = nested;
        if (done_.fetch_add(1, std::memory_order_acq_rel) + 1 == static_cast<int64_t>(chunks_of(c))) {
            // Taking the mutex orders this with a caller that is about to sleep on done_cv_.
            std::lock_guard<std::mutex> lock(state_mutex_);
            done_cv_.notify_one();
        }
        c = claim_.load(std::memory_order_acquire);
    }
}

void ThreadPool::parallel_for(int64_t n, int64_t grain, RangeFn fn) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    const int64_t n_grains = (n + grain - 1) / grain;
    const int64_t n_chunks = std::min<int64_t>(n_threads_, n_grains);
    if (n_chunks <= 1 || t_on_worker) {
        fn(0, n);
        return;
    }

    std::lock_guard<std::mutex> call_lock(call_mutex_);
    uint64_t generation = 0;
    {
        std::lock_guard<std::mutex> lock(state_mutex_);
        job_fn_ = &fn;
        job_n_ = n;
        job_grain_ = grain;
        job_chunks_ = n_chunks;
        done_.store(0, std::memory_order_relaxed);
        generation = (generation_of(claim_.load(std::memory_order_relaxed)) + 1) & 0xFFFFFFFFu;
        claim_.store(generation << 32 | static_cast<uint64_t>(n_chunks) << 16, std::memory_order_release);
    }
    start_cv_.notify_all();  // cheap when every worker is spinning (no waiter)

    // The caller claims ranges like a worker, so a late worker's range does not wait for it.
    run_claimed(generation);
    auto all_done = [&] { return done_.load(std::memory_order_acquire) == n_chunks; };
    if (!spin_until(all_done)) {
        std::unique_lock<std::mutex> lock(state_mutex_);
        done_cv_.wait(lock, all_done);
    }
}

void ThreadPool::worker_main() {
    uint64_t seen = 0;
    auto ready = [&] {
        return stopping_.load(std::memory_order_acquire) || generation_of(claim_.load(std::memory_order_acquire)) != seen;
    };
    for (;;) {
        if (!spin_until(ready)) {
            std::unique_lock<std::mutex> lock(state_mutex_);
            start_cv_.wait(lock, ready);
        }
        if (stopping_.load(std::memory_order_acquire)) return;
        seen = generation_of(claim_.load(std::memory_order_acquire));
        run_claimed(seen);
    }
}

}  // namespace mnemo::cpu
