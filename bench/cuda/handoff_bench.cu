// handoff_bench: what it costs to hand a decode step's data from one kernel to the next.
//
// A decode step is ~100 dependent launches; each boundary costs ~0.8 µs from the last block's
// end to the first block past griddepcontrol.wait (docs/performance-cuda.md, 2026-12-08). This
// replays chains of small GEMV-like kernels (stream some weight bytes before the wait, read the
// previous kernel's 1 024-float output, write 1 024 floats) in one CUDA graph and compares
// how a kernel learns that its input is ready:
//   plain    ordinary launches (the kernel starts when the one before has finished)
//   pdl      programmatic dependent launch: the next kernel is let in at once, then griddepcontrol.wait
//   flag     the same early launch, then thread 0 spins on a counter the previous kernel's blocks
//            add to (red.release.gpu) once their output is written (ld.acquire.gpu)
//   flag_ns  the same with __nanosleep(32) between polls
//   per_block a flag word per block of the previous kernel (st.release.gpu), which the next kernel's
//            first warp polls (ld.acquire.gpu, a lane per word): no atomics on one address
// and prints µs per kernel for each, several rounds alternating. No timing here is a test.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        cudaError_t e_ = (x);                                                                      \
        if (e_ != cudaSuccess) {                                                                   \
            std::fprintf(stderr, "handoff_bench: %s: %s (line %d)\n", #x, cudaGetErrorString(e_), __LINE__); \
            std::exit(1);                                                                          \
        }                                                                                          \
    } while (0)

enum class Handoff { plain, pdl, flag, flag_ns, per_block };
const char* name(Handoff h) {
    switch (h) {
        case Handoff::plain: return "plain";
        case Handoff::pdl: return "pdl";
        case Handoff::flag: return "flag";
        case Handoff::flag_ns: return "flag_ns";
        case Handoff::per_block: return "per_block";
    }
    return "?";
}

constexpr int kWidth = 1024;  // floats handed from kernel to kernel
constexpr int kThreads = 256;

struct Link {
    const float* in;
    float* out;
    const uint4* weights;  // this kernel's share: weight_vecs per block
    int weight_vecs;
    const unsigned* wait_counter;  // null: griddepcontrol.wait
    unsigned wait_target;
    unsigned* arrive_counter;  // null: nobody waits on a counter for this kernel
    unsigned* reset_a;         // counters this kernel clears once past its wait (their readers have passed)
    unsigned* reset_b;
    Handoff how;  // per_block: each counter is a word per block of its link (every link has the same grid)
};

__device__ __forceinline__ unsigned load_acquire(const unsigned* p) {
    unsigned v;
    asm volatile("ld.acquire.gpu.global.u32 %0, [%1];" : "=r"(v) : "l"(p) : "memory");
    return v;
}

__global__ void __launch_bounds__(kThreads) link_kernel(Link l) {
    // The launch's dynamic shared memory is not used: it only bounds how many blocks share an SM.
    asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
    // Weight bytes streamed before the wait, as the decode GEMV does.
    uint32_t bits = 0;
    const uint4* w = l.weights + static_cast<size_t>(blockIdx.x) * l.weight_vecs;
#pragma unroll 8
    for (int i = threadIdx.x; i < l.weight_vecs; i += kThreads) {
        const uint4 v = __ldcs(w + i);  // streamed: read once, evict first
        bits ^= v.x ^ v.y ^ v.z ^ v.w;
    }
    if (l.wait_counter == nullptr) {
        asm volatile("griddepcontrol.wait;" ::: "memory");
    } else if (l.how == Handoff::per_block) {
        if (threadIdx.x < 32) {
            for (unsigned j = threadIdx.x; j < l.wait_target; j += 32)
                while (load_acquire(l.wait_counter + j) == 0) {
                }
            __syncwarp();
        }
        __syncthreads();
    } else {
        if (threadIdx.x == 0) {
            while (load_acquire(l.wait_counter) < l.wait_target) {
                if (l.how == Handoff::flag_ns) __nanosleep(32);
            }
        }
        __syncthreads();
    }
    if (blockIdx.x == 0) {
        const int words = l.how == Handoff::per_block ? static_cast<int>(gridDim.x) : 1;
        for (int j = threadIdx.x; j < words; j += kThreads) {
            if (l.reset_a != nullptr) l.reset_a[j] = 0;
            if (l.reset_b != nullptr) l.reset_b[j] = 0;
        }
    }
    // The input: 4 floats a thread, summed over the block (a norm's reduction).
    float s = 0.0f;
    for (int i = threadIdx.x; i < kWidth; i += kThreads) s += l.in[i] * l.in[i];
    for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
    __shared__ float part[kThreads / 32];
    if (threadIdx.x % 32 == 0) part[threadIdx.x / 32] = s;
    __syncthreads();
    float total = 0.0f;
    for (int i = 0; i < kThreads / 32; ++i) total += part[i];
    // The block's rows of the output.
    const int rows = (kWidth + gridDim.x - 1) / gridDim.x;
    for (int r = threadIdx.x; r < rows; r += kThreads) {
        const int row = blockIdx.x * rows + r;
        if (row < kWidth) l.out[row] = 1.0f / (1.0f + total * 1e-9f) + static_cast<float>(bits & 1u) * 1e-30f;
    }
    if (l.arrive_counter != nullptr) {
        __syncthreads();
        if (threadIdx.x == 0) {
            if (l.how == Handoff::per_block)
                asm volatile("st.release.gpu.global.u32 [%0], 1;" ::"l"(l.arrive_counter + blockIdx.x) : "memory");
            else
                asm volatile("red.release.gpu.global.add.u32 [%0], 1;" ::"l"(l.arrive_counter) : "memory");
        }
    }
}

struct Config {
    int blocks;
    int weight_kib;  // a kernel's weight bytes in KiB
    int smem_kib;    // dynamic shared memory a block (bounds co-resident blocks)
};

// µs per kernel of a chain of `n` links replayed `replays` times through one graph.
double run_chain(Handoff h, const Config& c, int n, int replays, float* bufs, const uint4* weights, unsigned* counters) {
    cudaStream_t stream;
    CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    const int words = h == Handoff::per_block ? c.blocks : 1;  // counter words a link
    CHECK(cudaMemset(counters, 0, sizeof(unsigned) * n * words));
    const int weight_vecs = c.weight_kib * 1024 / 16 / c.blocks;
    const size_t smem = static_cast<size_t>(c.smem_kib) * 1024;
    if (smem > 48 * 1024) CHECK(cudaFuncSetAttribute(link_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
    const bool flags = h == Handoff::flag || h == Handoff::flag_ns || h == Handoff::per_block;
    cudaGraph_t graph;
    CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
    for (int i = 0; i < n; ++i) {
        Link l{};
        l.in = bufs + (i % 2) * kWidth;
        l.out = bufs + ((i + 1) % 2) * kWidth;
        // Consecutive links stream different weights, as consecutive layers do.
        l.weights = weights + static_cast<size_t>(i % 8) * weight_vecs * c.blocks;
        l.weight_vecs = weight_vecs;
        l.how = h;
        if (flags) {
            l.arrive_counter = counters + static_cast<size_t>(i) * words;
            if (i > 0) {
                l.wait_counter = counters + static_cast<size_t>(i - 1) * words;
                l.wait_target = static_cast<unsigned>(c.blocks);
            }
            // Link i clears link i-2's counter: every block of link i-1 has passed its wait on it.
            // The first link clears the last two (the previous replay has finished).
            if (i >= 2) l.reset_a = counters + static_cast<size_t>(i - 2) * words;
            if (i == 0) {
                l.reset_a = counters + static_cast<size_t>(n - 1) * words;
                l.reset_b = counters + static_cast<size_t>(n - 2) * words;
            }
        }
        cudaLaunchAttribute attribute{};
        attribute.id = cudaLaunchAttributeProgrammaticStreamSerialization;
        attribute.val.programmaticStreamSerializationAllowed = 1;
        cudaLaunchConfig_t config{};
        config.gridDim = dim3(c.blocks);
        config.blockDim = dim3(kThreads);
        config.dynamicSmemBytes = smem;
        config.stream = stream;
        config.attrs = &attribute;
        config.numAttrs = h == Handoff::plain ? 0 : 1;
        CHECK(cudaLaunchKernelEx(&config, link_kernel, l));
    }
    CHECK(cudaStreamEndCapture(stream, &graph));
    cudaGraphExec_t exec;
    CHECK(cudaGraphInstantiate(&exec, graph, 0));
    for (int i = 0; i < 5; ++i) CHECK(cudaGraphLaunch(exec, stream));
    cudaEvent_t a, b;
    CHECK(cudaEventCreate(&a));
    CHECK(cudaEventCreate(&b));
    CHECK(cudaEventRecord(a, stream));
    for (int i = 0; i < replays; ++i) CHECK(cudaGraphLaunch(exec, stream));
    CHECK(cudaEventRecord(b, stream));
    CHECK(cudaEventSynchronize(b));
    float ms = 0.0f;
    CHECK(cudaEventElapsedTime(&ms, a, b));
    CHECK(cudaGetLastError());
    CHECK(cudaEventDestroy(a));
    CHECK(cudaEventDestroy(b));
    CHECK(cudaGraphExecDestroy(exec));
    CHECK(cudaGraphDestroy(graph));
    CHECK(cudaStreamDestroy(stream));
    return 1e3 * ms / replays / n;
}

}  // namespace

int main(int argc, char** argv) {
    int rounds = 3, n = 96, replays = 200;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            std::printf("usage: handoff_bench [--rounds N] [--links N] [--replays N]\n"
                        "Chains of GEMV-like kernels in one CUDA graph, handing their output on by plain\n"
                        "launches, programmatic dependent launch, or counters the next kernel polls;\n"
                        "prints microseconds per kernel (needs an sm_90 device).\n");
            return 0;
        }
        if (i + 1 >= argc) {
            std::fprintf(stderr, "handoff_bench: %s needs a value (see --help)\n", a.c_str());
            return 2;
        }
        const int v = std::atoi(argv[++i]);
        if (v <= 0) {
            std::fprintf(stderr, "handoff_bench: %s must be a positive number\n", a.c_str());
            return 2;
        }
        if (a == "--rounds") rounds = v;
        else if (a == "--links") n = std::max(v, 3);
        else if (a == "--replays") replays = v;
        else {
            std::fprintf(stderr, "handoff_bench: unknown option %s (see --help)\n", a.c_str());
            return 2;
        }
    }
    int device = 0, major = 0, sms = 0, count = 0;
    if (const cudaError_t e = cudaGetDeviceCount(&count); e != cudaSuccess || count == 0) {
        std::fprintf(stderr, "handoff_bench: no CUDA device (%s); run it on the GPU machine\n",
                     e != cudaSuccess ? cudaGetErrorString(e) : "none found");
        return 1;
    }
    CHECK(cudaGetDevice(&device));
    CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
    CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
    if (major < 9) {
        std::fprintf(stderr, "handoff_bench: needs an sm_90 device (griddepcontrol)\n");
        return 1;
    }
    const Config configs[] = {{sms, 0, 0},        {sms, 2048, 0},       {2 * sms, 2048, 0},
                              {2 * sms, 2048, 100}, {2 * sms, 8192, 100}, {sms, 8192, 200}};
    float* bufs;
    uint4* weights;
    unsigned* counters;
    CHECK(cudaMalloc(&bufs, sizeof(float) * 2 * kWidth));
    CHECK(cudaMemset(bufs, 0, sizeof(float) * 2 * kWidth));
    const size_t weight_bytes = 8ull * 8192 * 1024 + 4096;
    CHECK(cudaMalloc(&weights, weight_bytes));
    CHECK(cudaMemset(weights, 1, weight_bytes));
    CHECK(cudaMalloc(&counters, sizeof(unsigned) * n * 2 * sms));  // a word per block of every link at most
    const Handoff handoffs[] = {Handoff::plain, Handoff::pdl, Handoff::flag, Handoff::flag_ns, Handoff::per_block};
    std::printf("blocks weight_KiB smem_KiB round");
    for (Handoff h : handoffs) std::printf(" %s_us", name(h));
    std::printf("\n");
    for (const Config& c : configs) {
        for (int r = 0; r < rounds; ++r) {
            std::printf("%d %d %d %d", c.blocks, c.weight_kib, c.smem_kib, r);
            for (Handoff h : handoffs) std::printf(" %.3f", run_chain(h, c, n, replays, bufs, weights, counters));
            std::printf("\n");
            std::fflush(stdout);
        }
    }
    CHECK(cudaFree(bufs));
    CHECK(cudaFree(weights));
    CHECK(cudaFree(counters));
    return 0;
}
