// Does a copy-engine memcpy leave its source in L2 for the SMs, how fast, and does it need SMs?
#include <cstdio>
#include <vector>
#include <algorithm>
#include <cuda_runtime.h>
#define CK(x) do { cudaError_t e = (x); if (e != cudaSuccess) { printf("%s:%d %s\n", __FILE__, __LINE__, cudaGetErrorString(e)); return 1; } } while (0)

__global__ void read_kernel(const uint4* p, size_t n, float* out) {
    float s = 0;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        uint4 v = __ldcs(p + i);
        s += __uint_as_float(v.x) + __uint_as_float(v.y) + __uint_as_float(v.z) + __uint_as_float(v.w);
    }
    if (s == 12345.f) out[0] = s;
}
__global__ void spin_kernel(long long cycles) {
    long long t0 = clock64();
    while (clock64() - t0 < cycles) {}
}
int main() {
    const size_t W = 17300000 / 16 * 16, F = 256u << 20;
    void *w, *scr, *fl; float* out;
    CK(cudaMalloc(&w, W)); CK(cudaMalloc(&scr, W)); CK(cudaMalloc(&fl, F)); CK(cudaMalloc(&out, 4));
    CK(cudaMemset(w, 0, W)); CK(cudaMemset(fl, 0, F));
    cudaStream_t s, s2; CK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking)); CK(cudaStreamCreateWithFlags(&s2, cudaStreamNonBlocking));
    cudaEvent_t a, b, c, d; cudaEventCreate(&a); cudaEventCreate(&b); cudaEventCreate(&c); cudaEventCreate(&d);
    int sms; cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0);
    auto rd = [&](void* p, size_t n) { read_kernel<<<sms * 4, 512, 0, s>>>((const uint4*)p, n / 16, out); };
    auto flush = [&] { rd(fl, F); };
    auto ms = [&](cudaEvent_t x, cudaEvent_t y) { float m; cudaEventSynchronize(y); cudaEventElapsedTime(&m, x, y); return m * 1000.f; };
    auto med = [](std::vector<float> v) { std::sort(v.begin(), v.end()); return v[v.size() / 2]; };
    for (int warm = 0; warm < 3; ++warm) { flush(); rd(w, W); }
    CK(cudaStreamSynchronize(s));
    const char* names[] = {"cold (after a 256 MB flush)", "after an SM read of it", "after a CE copy to a scratch", "after a CE self-copy (dst == src)",
                           "after a CE copy from scratch to it (it as dst)"};
    for (int mode = 0; mode < 5; ++mode) {
        std::vector<float> t, tc;
        for (int r = 0; r < 15; ++r) {
            flush();
            cudaEventRecord(c, s);
            if (mode == 1) rd(w, W);
            if (mode == 2) cudaMemcpyAsync(scr, w, W, cudaMemcpyDeviceToDevice, s);
            if (mode == 3) cudaMemcpyAsync(w, w, W, cudaMemcpyDeviceToDevice, s);
            if (mode == 4) cudaMemcpyAsync(w, scr, W, cudaMemcpyDeviceToDevice, s);
            cudaEventRecord(d, s);
            cudaEventRecord(a, s); rd(w, W); cudaEventRecord(b, s);
            t.push_back(ms(a, b)); tc.push_back(ms(c, d));
        }
        printf("read of %.1f MB %-46s %7.2f us (%.0f GB/s); the step before it %7.2f us\n", W / 1e6, names[mode], med(t), W / med(t) / 1e3, med(tc));
    }
    // Copy alone, and beside a kernel that holds every SM (if the copy needs SMs, it waits for the spin).
    {
        std::vector<float> t;
        for (int r = 0; r < 10; ++r) { flush(); cudaEventRecord(a, s); cudaMemcpyAsync(scr, w, W, cudaMemcpyDeviceToDevice, s); cudaEventRecord(b, s); t.push_back(ms(a, b)); }
        printf("CE copy of %.1f MB alone: %.2f us (%.0f GB/s read)\n", W / 1e6, med(t), W / med(t) / 1e3);
        int khz = 0; cudaDeviceGetAttribute(&khz, cudaDevAttrClockRate, 0);
        const long long cyc = (long long)(khz * 1e3 * 200e-6);  // ~200 us
        int per_sm = 0; cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, spin_kernel, 1024, 0);
        std::vector<float> tt, ts;
        for (int r = 0; r < 5; ++r) {
            CK(cudaStreamSynchronize(s)); CK(cudaStreamSynchronize(s2));
            cudaEventRecord(a, s); spin_kernel<<<sms * per_sm, 1024, 0, s>>>(cyc); cudaEventRecord(b, s);
            cudaStreamWaitEvent(s2, a, 0);
            cudaMemcpyAsync(scr, w, W, cudaMemcpyDeviceToDevice, s2); cudaEventRecord(c, s2);
            float spin = ms(a, b), copy_end = ms(a, c);
            ts.push_back(spin); tt.push_back(copy_end);
        }
        printf("beside a %d-block spin of %.1f us: the copy ended %.1f us after the spin began\n", sms * per_sm, med(ts), med(tt));
    }
    // The batch API with the hint to overlap compute (copy engines), the same questions.
    auto ce = [&](void* dst, const void* src, size_t n, cudaStream_t st) {
        cudaMemcpyAttributes at{}; at.srcAccessOrder = cudaMemcpySrcAccessOrderStream; at.flags = cudaMemcpyFlagPreferOverlapWithCompute;
        size_t idx = 0; void* d[1] = {dst}; const void* sr[1] = {src}; size_t sz[1] = {n};
        return cudaMemcpyBatchAsync(d, sr, sz, 1, &at, &idx, 1, st);
    };
    {
        printf("batch copy: %s\n", cudaGetErrorString(ce(scr, w, W, s))); CK(cudaStreamSynchronize(s));
        for (int mode = 0; mode < 3; ++mode) {
            std::vector<float> t, tc;
            for (int r = 0; r < 15; ++r) {
                flush();
                cudaEventRecord(c, s);
                if (mode == 1) ce(scr, w, W, s);
                if (mode == 2) ce(w, w, W, s);
                cudaEventRecord(d, s);
                cudaEventRecord(a, s); rd(w, W); cudaEventRecord(b, s);
                t.push_back(ms(a, b)); tc.push_back(ms(c, d));
            }
            const char* nm[] = {"cold", "after a batch (overlap-hint) copy to a scratch", "after a batch self-copy"};
            printf("read of %.1f MB %-46s %7.2f us (%.0f GB/s); the step before it %7.2f us\n", W / 1e6, nm[mode], med(t), W / med(t) / 1e3, med(tc));
        }
        int khz = 0; cudaDeviceGetAttribute(&khz, cudaDevAttrClockRate, 0);
        const long long cyc = (long long)(khz * 1e3 * 200e-6);
        int per_sm = 0; cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, spin_kernel, 1024, 0);
        for (int kind = 0; kind < 2; ++kind) {
            std::vector<float> tt, ts;
            for (int r = 0; r < 5; ++r) {
                CK(cudaStreamSynchronize(s)); CK(cudaStreamSynchronize(s2));
                cudaEventRecord(a, s); spin_kernel<<<sms * per_sm, 1024, 0, s>>>(cyc); cudaEventRecord(b, s);
                cudaStreamWaitEvent(s2, a, 0);
                if (kind == 0) cudaMemcpyAsync(scr, w, W, cudaMemcpyDeviceToDevice, s2); else ce(scr, w, W, s2);
                cudaEventRecord(c, s2);
                ts.push_back(ms(a, b)); tt.push_back(ms(a, c));
            }
            printf("%s beside a %d-block spin of %.1f us: the copy ended %.1f us after the spin began (%s)\n", kind == 0 ? "cudaMemcpyAsync" : "batch overlap-hint",
                   sms * per_sm, med(ts), med(tt), med(tt) < med(ts) ? "before the spin ended: no SMs needed" : "after the spin: it waited for SMs");
        }
        // Capturable?
        cudaGraph_t g; cudaGraphExec_t ge;
        CK(cudaStreamBeginCapture(s2, cudaStreamCaptureModeThreadLocal));
        cudaError_t e1 = ce(scr, w, W, s2);
        cudaError_t e2 = cudaStreamEndCapture(s2, &g);
        printf("capture: batch %s, end %s\n", cudaGetErrorString(e1), cudaGetErrorString(e2));
        if (e1 == cudaSuccess && e2 == cudaSuccess) {
            printf("instantiate %s\n", cudaGetErrorString(cudaGraphInstantiate(&ge, g, 0)));
            size_t nn = 0; cudaGraphGetNodes(g, nullptr, &nn); printf("graph nodes %zu\n", nn);
            std::vector<float> t;
            for (int r = 0; r < 10; ++r) { flush(); CK(cudaStreamSynchronize(s)); cudaEventRecord(a, s2); cudaGraphLaunch(ge, s2); cudaEventRecord(b, s2); t.push_back(ms(a, b)); }
            printf("graph copy %.2f us\n", med(t));
            std::vector<float> tt, ts;
            for (int r = 0; r < 5; ++r) {
                CK(cudaStreamSynchronize(s)); CK(cudaStreamSynchronize(s2));
                cudaEventRecord(a, s); spin_kernel<<<sms * per_sm, 1024, 0, s>>>(cyc); cudaEventRecord(b, s);
                cudaStreamWaitEvent(s2, a, 0); cudaGraphLaunch(ge, s2); cudaEventRecord(c, s2);
                ts.push_back(ms(a, b)); tt.push_back(ms(a, c));
            }
            printf("graph batch copy beside the spin of %.1f us ended at %.1f us\n", med(ts), med(tt));
        }
        cudaGetLastError();
    }
    printf("ok\n");
    return 0;
}
