#include "cpu/thread_pool.h"

#include <algorithm>

namespace mnemo::cpu {
namespace {
thread_local bool t_on_worker = false;
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
        stopping_ = true;
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
        pending_ = static_cast<int>(workers_.size());
        ++generation_;
    }
    start_cv_.notify_all();

    // The caller does chunk 0 like a worker would, so nested calls inside it run inline too.
    t_on_worker = true;
    run_chunk(0);
    t_on_worker = false;

    std::unique_lock<std::mutex> lock(state_mutex_);
    done_cv_.wait(lock, [this] { return pending_ == 0; });
    job_fn_ = nullptr;
}

void ThreadPool::worker_main(int worker_index) {
    t_on_worker = true;
    uint64_t seen = 0;
    for (;;) {
        {
            std::unique_lock<std::mutex> lock(state_mutex_);
            start_cv_.wait(lock, [&] { return stopping_ || generation_ != seen; });
            if (stopping_) return;
            seen = generation_;
        }
        run_chunk(worker_index);
        bool last = false;
        {
            std::lock_guard<std::mutex> lock(state_mutex_);
            last = --pending_ == 0;
        }
        if (last) done_cv_.notify_one();
    }
}

}  // namespace mnemo::cpu
