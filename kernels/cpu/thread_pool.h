// A fixed-size pool of worker threads with a deterministic parallel_for.
//
// parallel_for(n, grain, fn) splits [0, n) into at most n_threads() contiguous ranges whose
// boundaries are multiples of `grain` and calls fn(begin, end) once per range. The split
// depends only on n, grain and n_threads(), never on timing. Kernels keep every output
// element's arithmetic inside one range (no reduction across ranges), so their results are
// bit-identical for any thread count.
//
// Which thread runs which range is not fixed: the caller and the workers claim ranges from
// a shared counter, so when a worker is late (asleep, or descheduled on a busy machine) the
// caller runs its range instead of waiting for it. Between jobs, workers (and the caller,
// waiting for ranges claimed by workers) spin for a short while before sleeping on a
// condition variable: decode issues hundreds of small jobs per token, and waking sleeping
// threads through the kernel for each cost more than the jobs (docs/kernels-cpu.md).
//
// A parallel_for issued from inside a range (nested) runs serially on that thread.
// Calls from several outside threads on one pool are serialised.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace mnemo::cpu {

// Non-owning reference to a callable `void(int64_t begin, int64_t end)`.
class RangeFn {
public:
    template <class Fn, class = std::enable_if_t<!std::is_same_v<std::decay_t<Fn>, RangeFn>>>
    RangeFn(Fn&& fn)  // NOLINT(google-explicit-constructor): used as a parameter type
        : object_(const_cast<void*>(static_cast<const void*>(&fn))),
          call_([](void* object, int64_t begin, int64_t end) {
              (*static_cast<std::remove_reference_t<Fn>*>(object))(begin, end);
          }) {}
    void operator()(int64_t begin, int64_t end) const { call_(object_, begin, end); }

private:
    void* object_;
    void (*call_)(void*, int64_t, int64_t);
};

class ThreadPool {
public:
    // n_threads counts the calling thread; n_threads <= 0 means one per hardware thread.
    explicit ThreadPool(int n_threads);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int n_threads() const { return n_threads_; }

    void parallel_for(int64_t n, int64_t grain, RangeFn fn);
    void parallel_for(int64_t n, RangeFn fn) { parallel_for(n, 1, fn); }

    // The range chunk `index` of `n_chunks` gets; exposed so tests can check the rule.
    static std::pair<int64_t, int64_t> chunk_range(int64_t n, int64_t grain, int64_t n_chunks,
                                                   int64_t index);

    // True on a pool worker thread (used to run nested calls inline).
    static bool on_worker_thread();

private:
    void worker_main();
    // Claims and runs ranges of job `generation` until none is left; false if that job is
    // no longer the current one.
    void run_claimed(uint64_t generation);

    int n_threads_;
    std::vector<std::thread> workers_;

    std::mutex call_mutex_;  // serialises outside callers

    std::mutex state_mutex_;
    std::condition_variable start_cv_;
    std::condition_variable done_cv_;
    std::atomic<bool> stopping_{false};

    // The current job: its ranges are claimed from `claim_`, which packs the job's
    // generation (high 32 bits), its number of ranges (16 bits) and the next unclaimed range
    // (low 16 bits), so a claim succeeds only for the job it was meant for. The fields below
    // are written before claim_ publishes a new generation and stay valid until every range
    // of it is done.
    std::atomic<uint64_t> claim_{0};
    std::atomic<int64_t> done_{0};  // ranges of the current job finished
    const RangeFn* job_fn_ = nullptr;
    int64_t job_n_ = 0;
    int64_t job_grain_ = 1;
    int64_t job_chunks_ = 0;
};

// Runs fn over [0, n) on `pool`, or serially when pool is null or has one thread.
inline void parallel_for(ThreadPool* pool, int64_t n, int64_t grain, RangeFn fn) {
    if (n <= 0) return;
    if (pool == nullptr || pool->n_threads() <= 1) {
        fn(0, n);
        return;
    }
    pool->parallel_for(n, grain, fn);
}

}  // namespace mnemo::cpu
