#include "cpu/thread_pool.h"

#include <algorithm>
#include <chrono>

namespace mnemo::cpu {
namespace {
thread_local bool t_on_worker = false;

// How long a waiting thread spins before it sleeps (see the header).
constexpr double kSpinSeconds = 200e-6;

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
}  // namespace

ThreadPool::ThreadPool(int n_threads) {
    if (n_threads <= 0) n_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    n_threads_ = n_threads;
    workers_.reserve(static_cast<size_t>(n_threads_ - 1));
    for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker_main(i); });
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

void ThreadPool::run_chunk(int64_t index) {
    if (index >= job_chunks_) return;
    const auto [begin, end] = chunk_range(job_n_, job_grain_, job_chunks_, index);
    if (begin < end) (*job_fn_)(begin, end);
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
    {
        std::lock_guard<std::mutex> lock(state_mutex_);
        job_fn_ = &fn;
        job_n_ = n;
        job_grain_ = grain;
        job_chunks_ = n_chunks;
        pending_.store(static_cast<int>(workers_.size()));
        generation_.fetch_add(1, std::memory_order_release);
    }
    start_cv_.notify_all();  // cheap when every worker is spinning (no waiter)

    // The caller does chunk 0 like a worker would, so nested calls inside it run inline too.
    t_on_worker = true;
    run_chunk(0);
    t_on_worker = false;

    if (!spin_until([this] { return pending_.load(std::memory_order_acquire) == 0; })) {
        std::unique_lock<std::mutex> lock(state_mutex_);
        done_cv_.wait(lock, [this] { return pending_.load(std::memory_order_acquire) == 0; });
    }
    job_fn_ = nullptr;
}

void ThreadPool::worker_main(int worker_index) {
    t_on_worker = true;
    uint64_t seen = 0;
    auto ready = [&] { return stopping_.load(std::memory_order_acquire) || generation_.load(std::memory_order_acquire) != seen; };
    for (;;) {
        if (!spin_until(ready)) {
            std::unique_lock<std::mutex> lock(state_mutex_);
            start_cv_.wait(lock, ready);
        }
        if (stopping_.load(std::memory_order_acquire)) return;
        seen = generation_.load(std::memory_order_acquire);
        run_chunk(worker_index);
        if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            // Taking the mutex orders this with a caller that is about to sleep on done_cv_.
            std::lock_guard<std::mutex> lock(state_mutex_);
            done_cv_.notify_one();
        }
    }
}

}  // namespace mnemo::cpu
