// gemv_bench: the decode step's linear layers alone, as the CUDA backend launches them
// (kernels/cuda/ops.h: linear_batch / linear_swiglu / linear at one token, PDL, one CUDA
// graph), for the paper's 0.4B laLTE shape (24 layers: GDN and LTE attention alternating,
// hidden 1024, MLP 2816, vocabulary 32000, tied LM head). It answers two questions a decode
// step's total cannot:
//   - what the 97 GEMVs of a step cost inside the graph, against the device-copy roofline
//     measured in the same run, and what an empty kernel costs in the same chain (the floor a
//     launch adds whatever it does);
//   - bf16 weights against q8_0 dequantised on the fly (issue 5's "measure" for q8_0; the int8
//     dp4a path it was measured against is in bench/results/cuda/2026-11-23f);
//   - the MLP in one launch (cuda::mlp_split, bf16) against gate/up then down, alone and in the step.
// Random weights; the timings are of kernels, not of a model's outputs.
//   gemv_bench [--reps N] [--json FILE]
#include "ops.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace mc = mnemo::cuda;

namespace {

#define CHECK(call)                                                                                         \
    do {                                                                                                    \
        const cudaError_t e_ = (call);                                                                      \
        if (e_ != cudaSuccess) {                                                                            \
            std::fprintf(stderr, "gemv_bench: %s failed: %s\n", #call, cudaGetErrorString(e_));            \
            std::exit(1);                                                                                   \
        }                                                                                                   \
    } while (0)

constexpr int64_t kHidden = 1024, kMlp = 2816, kVocab = 32000, kLayers = 24, kGdnHeads = 8;

void* device_random_bytes(size_t bytes, uint32_t seed) {
    std::vector<uint8_t> host(bytes);
    std::mt19937 rng(seed);
    for (auto& b : host) b = static_cast<uint8_t>(rng() & 0x3f);  // small finite values as bf16, f16 scales and int8
    void* d = nullptr;
    CHECK(cudaMalloc(&d, std::max<size_t>(bytes, 16)));
    CHECK(cudaMemcpy(d, host.data(), bytes, cudaMemcpyHostToDevice));
    return d;
}

mc::DeviceMatrix make_matrix(int64_t rows, int64_t cols, mc::WeightType type, uint32_t seed) {
    mc::DeviceMatrix m;
    m.rows = rows;
    m.cols = cols;
    m.type = type;
    if (type == mc::WeightType::q8_0) {
        m.data = device_random_bytes(static_cast<size_t>(rows * cols), seed);
        m.scales = device_random_bytes(static_cast<size_t>(rows * cols / mc::kQ8Block) * 2, seed + 1);
    } else {
        m.data = device_random_bytes(static_cast<size_t>(rows * cols) * (type == mc::WeightType::f32 ? 4 : 2), seed);
    }
    return m;
}

uint64_t matrix_bytes(const mc::DeviceMatrix& m) {
    if (m.type == mc::WeightType::q8_0) return static_cast<uint64_t>(m.rows * m.cols) * 34 / 32;
    return static_cast<uint64_t>(m.rows * m.cols) * (m.type == mc::WeightType::f32 ? 4 : 2);
}

struct Layer {
    bool gdn = false;
    std::vector<mc::DeviceMatrix> in;  // the mixer's input projections, one launch
    mc::DeviceMatrix o, gate, up, down;
};

struct Model {
    std::vector<Layer> layers;
    mc::DeviceMatrix head;
    uint64_t bytes = 0;
};

Model make_model(mc::WeightType type) {
    Model m;
    uint32_t seed = 1;
    for (int64_t i = 0; i < kLayers; ++i) {
        Layer l;
        l.gdn = i % 2 == 0;
        if (l.gdn)  // q, k, v, g, a, b (a and b: a row per head)
            for (int64_t rows : {kHidden, kHidden, kHidden, kHidden, kGdnHeads, kGdnHeads}) l.in.push_back(make_matrix(rows, kHidden, type, seed++));
        else  // q, k, v
            for (int j = 0; j < 3; ++j) l.in.push_back(make_matrix(kHidden, kHidden, type, seed++));
        l.o = make_matrix(kHidden, kHidden, type, seed++);
        l.gate = make_matrix(kMlp, kHidden, type, seed++);
        l.up = make_matrix(kMlp, kHidden, type, seed++);
        l.down = make_matrix(kHidden, kMlp, type, seed++);
        for (const auto& w : l.in) m.bytes += matrix_bytes(w);
        m.bytes += matrix_bytes(l.o) + matrix_bytes(l.gate) + matrix_bytes(l.up) + matrix_bytes(l.down);
        m.layers.push_back(l);
    }
    m.head = make_matrix(kVocab, kHidden, type, seed++);
    m.bytes += matrix_bytes(m.head);
    return m;
}

struct Buffers {
    float *x = nullptr, *x2 = nullptr, *h = nullptr, *y = nullptr, *mlp = nullptr, *logits = nullptr, *norm_w = nullptr;
    float* outs[6] = {};
    int64_t* position = nullptr;
};

// One decode step's linear layers in the backend's order, with its input norms fused. With
// `sums` ([2][hidden], zero), each MLP runs in one launch as the backend runs it at one token
// where cuda::mlp_split fits (73 launches instead of 97), its sum in fixed point, read by the
// next input norm.
void enqueue_step(const Model& m, Buffers& b, cudaStream_t s, int64_t* sums = nullptr) {
    const int64_t* fixed = nullptr;
    for (size_t i = 0; i < m.layers.size(); ++i) {
        const Layer& l = m.layers[i];
        mc::InputNorm attn_in{b.x, fixed == nullptr ? b.y : nullptr, b.x2, b.norm_w, 1e-6f};
        attn_in.residual_fixed = fixed;
        std::vector<const mc::DeviceMatrix*> ws;
        for (const auto& w : l.in) ws.push_back(&w);
        mc::linear_batch(ws.data(), b.outs, static_cast<int>(ws.size()), b.h, 1, nullptr, s, &attn_in);
        // Before a split MLP o_proj takes half the SMs, as in the backend.
        mc::linear(l.o, b.outs[0], 1, b.y, nullptr, s, nullptr, sums != nullptr ? mc::gemv_blocks_before_mlp_split() : 0);
        const mc::InputNorm mlp_in{b.x2, b.y, b.x, b.norm_w, 1e-6f};
        if (sums == nullptr) {
            mc::linear_swiglu(l.gate, l.up, b.h, 1, b.mlp, nullptr, nullptr, s, &mlp_in);
            mc::linear(l.down, b.mlp, 1, b.y, nullptr, s);
        } else {
            int64_t* sum = sums + (i % 2) * kHidden;
            mc::mlp_split(l.gate, l.up, l.down, mlp_in, sum, sums + ((i + 1) % 2) * kHidden, s);
            fixed = sum;
        }
    }
    mc::InputNorm head_in{b.x, fixed == nullptr ? b.y : nullptr, nullptr, b.norm_w, 1e-6f};
    head_in.residual_fixed = fixed;
    mc::linear(m.head, b.h, 1, b.logits, nullptr, s, &head_in);
}

// Milliseconds per replay of a graph of what `enqueue` launches.
template <typename F>
double graph_ms(cudaStream_t s, int reps, F enqueue) {
    cudaGraph_t graph = nullptr;
    cudaGraphExec_t exec = nullptr;
    CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
    enqueue();
    CHECK(cudaStreamEndCapture(s, &graph));
    CHECK(cudaGraphInstantiate(&exec, graph, 0));
    for (int i = 0; i < 5; ++i) CHECK(cudaGraphLaunch(exec, s));
    cudaEvent_t a, z;
    CHECK(cudaEventCreate(&a));
    CHECK(cudaEventCreate(&z));
    std::vector<float> times;
    for (int i = 0; i < reps; ++i) {
        CHECK(cudaEventRecord(a, s));
        CHECK(cudaGraphLaunch(exec, s));
        CHECK(cudaEventRecord(z, s));
        CHECK(cudaEventSynchronize(z));
        float ms = 0;
        CHECK(cudaEventElapsedTime(&ms, a, z));
        times.push_back(ms);
    }
    std::sort(times.begin(), times.end());
    cudaEventDestroy(a);
    cudaEventDestroy(z);
    cudaGraphExecDestroy(exec);
    cudaGraphDestroy(graph);
    return times[times.size() / 2];
}

// Device-to-device copy bandwidth (read + write bytes), the decode roofline's denominator.
double copy_gbps(cudaStream_t s) {
    const size_t bytes = size_t{1} << 30;
    void *a = nullptr, *z = nullptr;
    CHECK(cudaMalloc(&a, bytes));
    CHECK(cudaMalloc(&z, bytes));
    const double ms = graph_ms(s, 10, [&] { CHECK(cudaMemcpyAsync(z, a, bytes, cudaMemcpyDeviceToDevice, s)); });
    cudaFree(a);
    cudaFree(z);
    return 2.0 * static_cast<double>(bytes) / (ms * 1e6);
}

void free_model(Model& m) {
    const auto drop = [](mc::DeviceMatrix& w) {
        cudaFree(const_cast<void*>(w.data));
        if (w.scales != nullptr) cudaFree(const_cast<void*>(w.scales));
    };
    for (Layer& l : m.layers) {
        for (auto& w : l.in) drop(w);
        for (auto* w : {&l.o, &l.gate, &l.up, &l.down}) drop(*w);
    }
    drop(m.head);
}

}  // namespace

int main(int argc, char** argv) {
    int reps = 50;
    std::string json_path;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
            std::printf("usage: gemv_bench [--reps N] [--json FILE]\n"
                        "  Times the 0.4B laLTE decode step's 97 GEMVs in one CUDA graph (bf16, q8_0 dequantised\n"
                        "  on the fly), the same step with each MLP in one launch (bf16), an empty-kernel chain of the\n"
                        "  same length, and the device copy bandwidth.\n");
            return 0;
        }
        if (std::strcmp(argv[i], "--reps") == 0 && i + 1 < argc) reps = std::max(1, std::atoi(argv[++i]));
        else if (std::strcmp(argv[i], "--json") == 0 && i + 1 < argc) json_path = argv[++i];
        else {
            std::fprintf(stderr, "gemv_bench: unknown argument '%s' (see --help)\n", argv[i]);
            return 2;
        }
    }
    int devices = 0;
    if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
        std::fprintf(stderr, "gemv_bench: no CUDA device\n");
        return 1;
    }
    cudaStream_t s = nullptr;
    CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    Buffers b;
    for (float** p : {&b.x, &b.x2, &b.h, &b.y, &b.mlp, &b.norm_w}) {
        CHECK(cudaMalloc(p, kMlp * 4));
        CHECK(cudaMemset(*p, 0, kMlp * 4));
    }
    for (float*& p : b.outs) CHECK(cudaMalloc(&p, kHidden * 4));
    CHECK(cudaMalloc(&b.logits, kVocab * 4));
    CHECK(cudaMalloc(&b.position, 8));
    const char* why = nullptr;
    if (!mc::blas_init(s, &why)) std::printf("note: %s\n", why);

    const double gbps = copy_gbps(s);
    constexpr int kLaunches = 97;
    const double empty_ms = graph_ms(s, reps, [&] {
        for (int i = 0; i < kLaunches; ++i) mc::advance_position(b.position, 0, s);
    });
    std::printf("device copy bandwidth: %.0f GB/s\n", gbps);
    std::printf("empty kernel chain:    %d launches %.1f us (%.2f us each)\n", kLaunches, empty_ms * 1e3, empty_ms * 1e3 / kLaunches);

    struct Variant { const char* name; mc::WeightType type; };
    std::string json = "{\"copy_gbps\": " + std::to_string(gbps) + ", \"empty_chain_us\": " + std::to_string(empty_ms * 1e3) +
                       ", \"launches\": " + std::to_string(kLaunches) + ", \"variants\": [";
    bool first = true;
    for (const Variant v : {Variant{"bf16", mc::WeightType::bf16}, Variant{"q8_0 dequantised", mc::WeightType::q8_0}}) {
        Model m = make_model(v.type);
        const double ms = graph_ms(s, reps, [&] { enqueue_step(m, b, s); });
        // Each kind of launch alone, 24 times in a row (the head once): its cost in a chain. Each
        // launch reads its own layer's matrix, as in a step: one layer's 17 MB MLP read 24 times
        // stays in L2 (50 MB), which made the split MLP look 6.8 µs where it takes ~10.5 in a step
        // (2026-12-04, kernel_trace).
        const Layer& l = m.layers[1];
        const double o_ms = graph_ms(s, reps, [&] {
            for (int i = 0; i < kLayers; ++i) mc::linear(m.layers[i].o, b.outs[0], 1, b.y, nullptr, s);
        });
        const double mlp_ms = graph_ms(s, reps, [&] {
            const mc::InputNorm in{b.x2, b.y, b.x, b.norm_w, 1e-6f};
            for (int i = 0; i < kLayers; ++i) mc::linear_swiglu(m.layers[i].gate, m.layers[i].up, b.h, 1, b.mlp, nullptr, nullptr, s, &in);
        });
        const double down_ms = graph_ms(s, reps, [&] {
            for (int i = 0; i < kLayers; ++i) mc::linear(m.layers[i].down, b.mlp, 1, b.y, nullptr, s);
        });
        // The MLP in one launch (bf16 only: mlp_split takes no q8_0): 24 in a row, and the step with it.
        double split_ms = 0, step_split_ms = 0;
        const bool split = mc::mlp_split_fits(l.gate, l.up, l.down);
        if (split) {
            int64_t* sums = nullptr;
            CHECK(cudaMalloc(&sums, 2 * kHidden * 8));
            CHECK(cudaMemset(sums, 0, 2 * kHidden * 8));
            const mc::InputNorm in{b.x2, b.y, b.x, b.norm_w, 1e-6f};
            split_ms = graph_ms(s, reps, [&] {
                for (int i = 0; i < kLayers; ++i) {
                    const Layer& li = m.layers[i];
                    mc::mlp_split(li.gate, li.up, li.down, in, sums + (i % 2) * kHidden, sums + ((i + 1) % 2) * kHidden, s);
                }
            });
            CHECK(cudaMemset(sums, 0, 2 * kHidden * 8));
            step_split_ms = graph_ms(s, reps, [&] { enqueue_step(m, b, s, sums); });
            cudaFree(sums);
        }
        const double head_ms = graph_ms(s, reps, [&] { mc::linear(m.head, b.x, 1, b.logits, nullptr, s); });
        const double roofline_ms = static_cast<double>(m.bytes) / (gbps * 1e6);
        std::printf("%-18s %7.1f MB  step %7.1f us  roofline %6.1f us (%4.1f %%)  %6.0f GB/s | o %5.2f  gate+up %5.2f  down %5.2f us each  "
                    "head %5.1f us (%4.0f GB/s)\n",
                    v.name, static_cast<double>(m.bytes) / 1e6, ms * 1e3, roofline_ms * 1e3, 100.0 * roofline_ms / ms,
                    static_cast<double>(m.bytes) / (ms * 1e6), o_ms * 1e3 / kLayers, mlp_ms * 1e3 / kLayers, down_ms * 1e3 / kLayers,
                    head_ms * 1e3, static_cast<double>(matrix_bytes(m.head)) / (head_ms * 1e6));
        if (split)
            std::printf("%-18s %7s     split MLP: step %7.1f us  roofline %6.1f us (%4.1f %%)  %6.0f GB/s | MLP in one launch %5.2f us each "
                        "(gate+up then down %5.2f)\n",
                        v.name, "", step_split_ms * 1e3, roofline_ms * 1e3, 100.0 * roofline_ms / step_split_ms,
                        static_cast<double>(m.bytes) / (step_split_ms * 1e6), split_ms * 1e3 / kLayers, (mlp_ms + down_ms) * 1e3 / kLayers);
        char row[512];
        std::snprintf(row, sizeof row,
                      "%s{\"name\": \"%s\", \"bytes\": %llu, \"step_us\": %.2f, \"roofline_us\": %.2f, \"o_us\": %.3f, \"gate_up_us\": %.3f, "
                      "\"down_us\": %.3f, \"head_us\": %.2f, \"split_mlp_us\": %.3f, \"step_split_mlp_us\": %.2f}",
                      first ? "" : ", ", v.name, static_cast<unsigned long long>(m.bytes), ms * 1e3, roofline_ms * 1e3, o_ms * 1e3 / kLayers,
                      mlp_ms * 1e3 / kLayers, down_ms * 1e3 / kLayers, head_ms * 1e3, split_ms * 1e3 / kLayers, step_split_ms * 1e3);
        json += row;
        first = false;
        free_model(m);
    }
    json += "]}\n";
    if (!json_path.empty()) {
        FILE* f = std::fopen(json_path.c_str(), "w");
        if (f == nullptr || std::fputs(json.c_str(), f) < 0) {
            std::fprintf(stderr, "gemv_bench: cannot write %s\n", json_path.c_str());
            return 1;
        }
        std::fclose(f);
    }
    CHECK(cudaStreamSynchronize(s));
    return 0;
}
