# DIAGNOSTIC ONLY (2026-12-14 f): globaltimer stamps at kv_decode's phases, thread 0 of every block,
# dumped at exit to $MNEMO_DBG_STAMPS. Applied to d456e61's kernels/cuda/ops.cu.
import sys
p = sys.argv[1] if len(sys.argv) > 1 else '/work/main/kernels/cuda/ops.cu'
s = open(p).read()
def rep(a, b):
    global s
    assert s.count(a) == 1, a
    s = s.replace(a, b)
rep('''// An attribute of the current device, or `fallback` when none answers.''', '''__device__ unsigned long long g_stamp_n;  // DIAGNOSTIC ONLY
constexpr unsigned long long kStampCap = 1ull << 18;
constexpr int kStampWords = 16;
__device__ unsigned long long g_stamps[kStampCap * kStampWords];
__device__ __forceinline__ unsigned long long gtimer() { unsigned long long t; asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t)); return t; }
static void stamps_dump() {
    const char* path = std::getenv("MNEMO_DBG_STAMPS");
    unsigned long long n = 0;
    cudaDeviceSynchronize();
    cudaMemcpyFromSymbol(&n, g_stamp_n, 8);
    if (n > kStampCap) n = kStampCap;
    std::vector<unsigned long long> h(n * kStampWords);
    cudaMemcpyFromSymbol(h.data(), g_stamps, n * 8 * kStampWords);
    FILE* f = fopen(path, "wb");
    if (f) { fwrite(h.data(), 8, h.size(), f); fclose(f); }
    fprintf(stderr, "STAMPS %llu records to %s\\n", n, path);
}
static void stamps_arm() {
    static bool done = false;
    if (done) return;
    done = true;
    if (std::getenv("MNEMO_DBG_STAMPS") != nullptr) atexit(stamps_dump);
}

// An attribute of the current device, or `fallback` when none answers.''')
# kv_decode (T11..T14 below: after the first copies issued, after pos stored, after the meta barrier, after the retained copies): t0 start, t1 before the wait, t2 past it, t3 q/plan done (before copy wait), t4 copies landed
# (past the barrier), t5 scores done, t6 softmax done, t7 P.V done, t8 partial pushed (before cluster.sync),
# t9 past cluster.sync, t10 end (block 0; others = t9)
rep('''    const cg::cluster_group cluster = cg::this_cluster();
    const int rank = static_cast<int>(cluster.block_rank());''', '''    const cg::cluster_group cluster = cg::this_cluster();
    const int rank = static_cast<int>(cluster.block_rank());
    unsigned long long T[15] = {};
    T[0] = gtimer();''')
rep('''    if (c.learned && R > 0) retained_scan<kDecodeThreads>(S, R, score, pos, free_slot, worst);

    pdl_wait();''', '''    if (c.learned && R > 0) retained_scan<kDecodeThreads>(S, R, score, pos, free_slot, worst);
    T[1] = gtimer();
    pdl_wait();
    T[2] = gtimer();''')
rep('''    // Scores of the block's rows (a thread per row), −inf where the token does not see the slot.
    copy_async_commit();
    copy_async_wait<0>();
    __syncthreads();''', '''    // Scores of the block's rows (a thread per row), −inf where the token does not see the slot.
    T[3] = gtimer();
    copy_async_commit();
    copy_async_wait<0>();
    __syncthreads();
    T[4] = gtimer();''')
rep('''    __syncthreads();
    // Softmax of each query head over the block's rows: a warp per head.''', '''    __syncthreads();
    T[5] = gtimer();
    // Softmax of each query head over the block's rows: a warp per head.''')
rep('''    __syncthreads();
    // P·V: a thread per 4 outputs''', '''    __syncthreads();
    T[6] = gtimer();
    // P·V: a thread per 4 outputs''')
rep('''    // The block's partial (its P·V sums, maxima and sums) into block 0's shared memory.
    asm volatile("barrier.cluster.wait.aligned;" ::: "memory");''', '''    T[7] = gtimer();
    // The block's partial (its P·V sums, maxima and sums) into block 0's shared memory.
    asm volatile("barrier.cluster.wait.aligned;" ::: "memory");''')
rep('''    cluster.sync();  // the partials are in block 0, and every block has read the plan's inputs
    if (rank != 0) return;  // nothing reads another block's shared memory from here on''', '''    T[8] = gtimer();
    cluster.sync();  // the partials are in block 0, and every block has read the plan's inputs
    T[9] = gtimer();
    const auto stamp_out = [&] {
        if (tid != 0) return;
        T[10] = gtimer();
        const unsigned long long i = atomicAdd(&g_stamp_n, 1ull);
        if (i >= kStampCap) return;
        unsigned long long* o = g_stamps + i * kStampWords;
        o[0] = (unsigned long long)rank | ((unsigned long long)h << 8);
        for (int k = 0; k < 15; ++k) o[1 + k] = T[k];
    };
    if (rank != 0) { stamp_out(); return; }  // nothing reads another block's shared memory from here on''')
# the kernel's two ends for block 0
rep('''        const int32_t ref = full ? ref_of_position(leaving, meta, c) : kUnchanged;
        for (int32_t i = tid; i < SR; i += kDecodeThreads) s.sources[h * SR + i] = i == dst ? ref : kUnchanged;
        if (h == 0 && tid == 0) record_plan(s, now, ring_start, ring_count, ring_start1, ring_count1, meta[kNextUnscored0], sink1);
        return;''', '''        const int32_t ref = full ? ref_of_position(leaving, meta, c) : kUnchanged;
        for (int32_t i = tid; i < SR; i += kDecodeThreads) s.sources[h * SR + i] = i == dst ? ref : kUnchanged;
        if (h == 0 && tid == 0) record_plan(s, now, ring_start, ring_count, ring_start1, ring_count1, meta[kNextUnscored0], sink1);
        stamp_out();
        return;''')
rep('''            c.window_meta[0] = ring_start1;
            c.window_meta[1] = ring_count1;
            *c.sink_meta = sink1;
            *s.decode_arrivals = 0;
        }
    }
#endif''', '''            c.window_meta[0] = ring_start1;
            c.window_meta[1] = ring_count1;
            *c.sink_meta = sink1;
            *s.decode_arrivals = 0;
        }
    }
    stamp_out();
#endif''')
rep('''    copy_rows(0, retained_lo, false);
    copy_rows(retained_hi, n_rows, false);''', '''    copy_rows(0, retained_lo, false);
    copy_rows(retained_hi, n_rows, false);
    T[11] = gtimer();''')
rep('''    const int64_t now = meta[kPos0], ring_start = meta[kRingStart0], ring_count = meta[kRingCount0];
    // The cached score''', '''    T[12] = gtimer();
    const int64_t now = meta[kPos0], ring_start = meta[kRingStart0], ring_count = meta[kRingCount0];
    // The cached score''')
rep('''    if (commit && tid == kDecodeThreads - 1) atomicAdd(s.decode_arrivals, 1u);
    copy_rows(retained_lo, retained_hi, true);  // pos[] is complete past the barrier''', '''    T[13] = gtimer();
    if (commit && tid == kDecodeThreads - 1) atomicAdd(s.decode_arrivals, 1u);
    copy_rows(retained_lo, retained_hi, true);  // pos[] is complete past the barrier
    T[14] = gtimer();''')
rep('''    const size_t smem = decode_layout(c, n_q_heads / c.n_kv_heads).bytes;
    launch_kernel_in_clusters(''', '''    const size_t smem = decode_layout(c, n_q_heads / c.n_kv_heads).bytes;
    stamps_arm();
    launch_kernel_in_clusters(''')
rep('#include <cstdio>\n', '#include <cstdio>\n#include <vector>\n')
open(p, 'w').write(s)
print("applied")
