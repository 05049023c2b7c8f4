# Applied to 9f7b4dc's kernels/cuda/ops.cu (python3 apply_stamps.py), then MNEMO_DBG_STAMPS=FILE mnemo run ...
# DIAGNOSTIC ONLY: globaltimer stamps in the decode kernels (GEMV, split MLP, kv_decode, gdn_decode), dumped at exit.
p='/work/main/kernels/cuda/ops.cu'
s=open(p).read()
def rep(a,b,count=1):
    global s
    assert s.count(a)>=1, a
    s=s.replace(a,b,count)
rep('''// An attribute of the current device, or `fallback` when none answers.''','''__constant__ int g_stamps_on;  // DIAGNOSTIC ONLY
__device__ unsigned long long g_stamp_n;
constexpr unsigned long long kStampCap = 1ull << 20;
__device__ unsigned long long g_stamps[kStampCap * 6];
__device__ __forceinline__ unsigned long long gtimer() { unsigned long long t; asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t)); return t; }
__device__ __forceinline__ unsigned smid_now() { unsigned v; asm volatile("mov.u32 %0, %%smid;" : "=r"(v)); return v; }
__device__ __forceinline__ void stamp_write(int kind, unsigned long long t0, unsigned long long t1, unsigned long long t2, unsigned long long t3) {
    const unsigned long long i = atomicAdd(&g_stamp_n, 1ull);
    if (i >= kStampCap) return;
    unsigned long long* r = g_stamps + i * 6;
    r[0] = (unsigned long long)kind | ((unsigned long long)gridDim.x << 8) | ((unsigned long long)blockIdx.x << 24) | ((unsigned long long)smid_now() << 40) | ((unsigned long long)blockIdx.y << 52);
    r[1] = t0; r[2] = t1; r[3] = t2; r[4] = t3; r[5] = gridDim.y;
}
static const char* g_stamp_path = nullptr;
static void stamps_dump() {
    unsigned long long n = 0;
    cudaDeviceSynchronize();
    cudaMemcpyFromSymbol(&n, g_stamp_n, 8);
    if (n > kStampCap) n = kStampCap;
    std::vector<unsigned long long> h(n * 6);
    cudaMemcpyFromSymbol(h.data(), g_stamps, n * 48);
    FILE* f = fopen(g_stamp_path, "wb");
    if (f) { fwrite(h.data(), 8, h.size(), f); fclose(f); }
    fprintf(stderr, "STAMPS %llu records to %s\\n", n, g_stamp_path);
}
static void stamps_arm() {
    static bool done = false;
    if (done) return;
    done = true;
    g_stamp_path = std::getenv("MNEMO_DBG_STAMPS");
    if (g_stamp_path == nullptr) return;
    int one = 1;
    cudaMemcpyToSymbol(g_stamps_on, &one, 4);
    atexit(stamps_dump);
}

// An attribute of the current device, or `fallback` when none answers.''')
# GEMV
rep('''    GemvPass<NR> next;
    if (cur.row >= 0 && cur.n_vec > 0) load_pass<NR>(b, cur.m, cur.row, 0, cur.n_vec, next);''','''    const bool stamp = g_stamps_on && blockIdx.x % 4 == 0 && threadIdx.x == 0;
    const unsigned long long st0 = stamp ? gtimer() : 0;
    GemvPass<NR> next;
    if (cur.row >= 0 && cur.n_vec > 0) load_pass<NR>(b, cur.m, cur.row, 0, cur.n_vec, next);''')
rep('''    pdl_let_next_then_wait();
    extern __shared__ float xs[];  // [n_tokens][cols]''','''    pdl_let_next_then_wait();
    const unsigned long long st1 = stamp ? gtimer() : 0;
    extern __shared__ float xs[];  // [n_tokens][cols]''')
rep('''    __syncthreads();
    const int lane = threadIdx.x % kWarp;
    unsigned long long best = 0;''','''    __syncthreads();
    const unsigned long long st2 = stamp ? gtimer() : 0;
    const int lane = threadIdx.x % kWarp;
    unsigned long long best = 0;''')
rep('''            if (best != 0) atomicMax(b.argmax_key, best);
        }
    }
}''','''            if (best != 0) atomicMax(b.argmax_key, best);
        }
    }
    if (g_stamps_on) {
        __syncthreads();
        if (stamp) stamp_write(1, st0, st1, st2, gtimer());
    }
}''')
# MLP
rep('''    const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
    uint4 wg[kSplitRowsPerWarp][kSplitRowLoads], wu[kSplitRowsPerWarp][kSplitRowLoads];''','''    const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
    const bool stamp = g_stamps_on && blockIdx.x % 4 == 0 && threadIdx.x == 0;
    const unsigned long long st0 = stamp ? gtimer() : 0;
    uint4 wg[kSplitRowsPerWarp][kSplitRowLoads], wu[kSplitRowsPerWarp][kSplitRowLoads];''')
rep('''    load_norm_weights_ahead(nm, kSplitCols, norm_w);
    pdl_wait();''','''    load_norm_weights_ahead(nm, kSplitCols, norm_w);
    pdl_wait();
    const unsigned long long st1 = stamp ? gtimer() : 0;''')
rep('''            xs[i] = xs[i] * inv * norm_w[k];
        }
    __syncthreads();
''','''            xs[i] = xs[i] * inv * norm_w[k];
        }
    __syncthreads();
    const unsigned long long st2 = stamp ? gtimer() : 0;
''')
rep('''        atomicAdd(reinterpret_cast<unsigned long long*>(y + threadIdx.x + i * kSplitThreads), static_cast<unsigned long long>(q));
    }
}''','''        atomicAdd(reinterpret_cast<unsigned long long*>(y + threadIdx.x + i * kSplitThreads), static_cast<unsigned long long>(q));
    }
    if (g_stamps_on) {
        __syncthreads();
        if (stamp) stamp_write(2, st0, st1, st2, gtimer());
    }
}''')
# kv_decode
rep('''    asm volatile("barrier.cluster.arrive.relaxed.aligned;" ::: "memory");
    const int32_t h = blockIdx.y;''','''    asm volatile("barrier.cluster.arrive.relaxed.aligned;" ::: "memory");
    const bool stamp = g_stamps_on && threadIdx.x == 0;
    const unsigned long long st0 = stamp ? gtimer() : 0;
    const int32_t h = blockIdx.y;''')
rep('''    pdl_wait();
    // What the plan reads is requested first''','''    pdl_wait();
    const unsigned long long st1 = stamp ? gtimer() : 0;
    // What the plan reads is requested first''')
rep('''    cluster.sync();  // the partials are in block 0, and every block has read the plan's inputs
    if (rank != 0) return;''','''    cluster.sync();  // the partials are in block 0, and every block has read the plan's inputs
    const unsigned long long st2 = stamp ? gtimer() : 0;
    if (rank != 0) {
        if (stamp) stamp_write(3, st0, st1, st2, st2);
        return;
    }''')
rep('''            *s.decode_arrivals = 0;
        }
    }
#endif
}''','''            *s.decode_arrivals = 0;
        }
    }
    if (g_stamps_on) {
        __syncthreads();
        if (stamp) stamp_write(3, st0, st1, st2, gtimer());
    }
#endif
}''')
# gdn_decode
rep('''    const bool active = j < dv;
    float s[R];
    float* sp = state + h * DK * dv;
    const int i0 = warp * R;
    // Before the wait: the state, the convs' weights and tails''','''    const bool active = j < dv;
    const bool stamp = g_stamps_on && threadIdx.x == 0;
    const unsigned long long st0 = stamp ? gtimer() : 0;
    float s[R];
    float* sp = state + h * DK * dv;
    const int i0 = warp * R;
    // Before the wait: the state, the convs' weights and tails''')
rep('''    asm volatile("barrier.cluster.arrive.release.aligned;" ::: "memory");
    pdl_wait();
    if (qk) (threadIdx.x < DK ? qs : ks)[threadIdx.x % DK] = conv.next(0);''','''    asm volatile("barrier.cluster.arrive.release.aligned;" ::: "memory");
    pdl_wait();
    const unsigned long long st1 = stamp ? gtimer() : 0;
    if (qk) (threadIdx.x < DK ? qs : ks)[threadIdx.x % DK] = conv.next(0);''')
rep('''    if (qk && blockIdx.y == 0) conv.store_tail();
#endif
}''','''    if (qk && blockIdx.y == 0) conv.store_tail();
    if (g_stamps_on) {
        __syncthreads();
        if (stamp) stamp_write(4, st0, st1, st1, gtimer());
    }
#endif
}''')
rep('''    const int64_t cols = b.w[0].cols;
    GemvBatch part = b;''','''    stamps_arm();
    const int64_t cols = b.w[0].cols;
    GemvBatch part = b;''')
rep('#include <cstring>\n', '#include <cstring>\n#include <vector>\n')
open(p,'w').write(s)
