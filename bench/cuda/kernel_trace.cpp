// kernel_trace: every kernel's start and end on the GPU, graph-launched ones included, through
// CUPTI's activity API — the timeline nsys would give, where nsys is not installed (the GPU
// machine). Load it into any CUDA program, unmodified:
//
//   CUDA_INJECTION64_PATH=libmnemo_kernel_trace.so MNEMO_KERNEL_TRACE=trace.csv mnemo run ...
//   (or LD_PRELOAD=libmnemo_kernel_trace.so)
//
// At exit it writes one line per kernel: start_ns,end_ns,stream,graph_node,grid,block,name.
// `kernel_trace.py` turns that into what each kernel of a decode step costs the step.
// CUPTI's concurrent-kernel records do not serialise kernels, so programmatic dependent
// launches overlap as they do without it (the record's start is when the kernel's first block
// started, its end when its last block ended).
#include <cupti.h>

#include <cxxabi.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

namespace {

constexpr size_t kBufferBytes = 8u << 20;

struct Row {
    uint64_t start, end;
    uint32_t stream;
    uint64_t node;
    int32_t grid, block;
    std::string name;
};

std::mutex g_mutex;
std::vector<Row> g_rows;
bool g_started = false;

std::string short_name(const char* mangled) {
    int status = 0;
    char* d = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
    std::string s = status == 0 && d != nullptr ? d : mangled;
    std::free(d);
    // "void mnemo::gemv_kernel<1, 1>(mnemo::GemvBatch, ...)" -> "mnemo::gemv_kernel<1, 1>"
    if (s.compare(0, 5, "void ") == 0) s.erase(0, 5);
    const std::string anon = "(anonymous namespace)::";
    for (size_t at = s.find(anon); at != std::string::npos; at = s.find(anon)) s.erase(at, anon.size());
    const size_t paren = s.find('(');
    if (paren != std::string::npos) s.resize(paren);
    for (char& c : s)
        if (c == ',') c = ';';  // the CSV's separator
    return s;
}

void CUPTIAPI buffer_requested(uint8_t** buffer, size_t* size, size_t* max_records) {
    *buffer = static_cast<uint8_t*>(std::aligned_alloc(8, kBufferBytes));
    *size = kBufferBytes;
    *max_records = 0;
}

void CUPTIAPI buffer_completed(CUcontext, uint32_t, uint8_t* buffer, size_t, size_t valid) {
    CUpti_Activity* record = nullptr;
    std::lock_guard<std::mutex> lock(g_mutex);
    while (cuptiActivityGetNextRecord(buffer, valid, &record) == CUPTI_SUCCESS) {
        if (record->kind != CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL && record->kind != CUPTI_ACTIVITY_KIND_KERNEL) continue;
        const auto* k = reinterpret_cast<const CUpti_ActivityKernel10*>(record);
        g_rows.push_back({k->start, k->end, k->streamId, k->graphNodeId, k->gridX * k->gridY * k->gridZ, k->blockX * k->blockY * k->blockZ,
                          short_name(k->name)});
    }
    std::free(buffer);
}

void write_trace() {
    cuptiActivityFlushAll(1);
    const char* path = std::getenv("MNEMO_KERNEL_TRACE");
    if (path == nullptr) path = "kernel_trace.csv";
    FILE* f = std::fopen(path, "w");
    if (f == nullptr) {
        std::fprintf(stderr, "kernel_trace: cannot write %s\n", path);
        return;
    }
    std::lock_guard<std::mutex> lock(g_mutex);
    std::fprintf(f, "start_ns,end_ns,stream,graph_node,grid,block,name\n");
    for (const Row& r : g_rows)
        std::fprintf(f, "%llu,%llu,%u,%llu,%d,%d,%s\n", static_cast<unsigned long long>(r.start), static_cast<unsigned long long>(r.end),
                     r.stream, static_cast<unsigned long long>(r.node), r.grid, r.block, r.name.c_str());
    std::fclose(f);
    std::fprintf(stderr, "kernel_trace: %zu kernels -> %s\n", g_rows.size(), path);
}

int start_tracing() {
    if (g_started) return 1;
    g_started = true;
    CUptiResult result = cuptiActivityRegisterCallbacks(buffer_requested, buffer_completed);
    if (result == CUPTI_SUCCESS) result = cuptiActivityEnable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL);
    if (result != CUPTI_SUCCESS) {
        const char* why = nullptr;
        cuptiGetResultString(result, &why);
        std::fprintf(stderr, "kernel_trace: cannot enable CUPTI kernel records (%s); no trace will be written\n", why != nullptr ? why : "?");
        return 0;
    }
    std::atexit(write_trace);
    return 1;
}

__attribute__((constructor)) void on_preload() {
    if (std::getenv("CUDA_INJECTION64_PATH") == nullptr) start_tracing();
}

}  // namespace

// The driver calls this when the library is named by CUDA_INJECTION64_PATH.
extern "C" __attribute__((visibility("default"))) int InitializeInjection() { return start_tracing(); }
