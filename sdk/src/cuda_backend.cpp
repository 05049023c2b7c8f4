// The CUDA backend: the session's forward pass on an NVIDIA GPU (kernels/cuda/ops.h).
// The state block lives on the device at the same offsets as the host mirror, so the
// CPU's code reads snapshots and probes of it unchanged. Weights are uploaded once per
// model and shared by its sessions (f32 and q8_0 weights stay as they are, q8_0 split
// into quants and scales; f16 and bf16 become bf16). Generation replays one CUDA graph per
// token, the sampler included.
#include "device_backend.h"

#include "error.h"
#include "mixers/attention_mixer.h"
#include "runtime/weights.h"
#include "sampler.h"
#include "cpu/dtype.h"
#include "ops.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

namespace mnemo {
namespace {

using cuda::DeviceMatrix;
using cuda::WeightType;

#define MNEMO_CUDA_TRY(call)                                                                                   \
    do {                                                                                                       \
        const cudaError_t e_ = (call);                                                                         \
        if (e_ != cudaSuccess) return failf(MNEMO_ERR_NO_DEVICE, "CUDA: %s failed: %s", #call, cudaGetErrorString(e_)); \
    } while (0)

uint16_t to_bf16(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);  // NaN stays NaN
    u += 0x7fffu + ((u >> 16) & 1u);  // round to nearest even
    return static_cast<uint16_t>(u >> 16);
}

// Device copies of a model's tensors, shared by every CUDA session of the model.
class DeviceWeights {
public:
    explicit DeviceWeights(const ModelImpl& model) : model_(model) {}
    ~DeviceWeights() {
        for (void* p : allocations_) cudaFree(p);
    }
    mnemo_status matrix(const std::string& name, const std::string& bias_name, DeviceMatrix* out) {
        const Linear lin = linear_weight(model_, name, bias_name);
        auto it = matrices_.find(name);
        if (it == matrices_.end()) {
            DeviceMatrix m;
            m.rows = lin.out;
            m.cols = lin.in;
            if (lin.type == cpu::DType::q8_0 && lin.in % cuda::kQ8Block == 0) MNEMO_TRY(upload_q8_0(lin, &m));
            else MNEMO_TRY(upload_widened(lin, &m));
            it = matrices_.emplace(name, m).first;
        }
        *out = it->second;
        out->bias = nullptr;
        if (lin.bias != nullptr) MNEMO_TRY(vector(bias_name, &out->bias));
        return MNEMO_OK;
    }
    mnemo_status vector(const std::string& name, const float** out) {
        auto it = vectors_.find(name);
        if (it == vectors_.end()) {
            const GgufTensor* t = model_.tensor(name);
            if (t == nullptr) return failf(MNEMO_ERR_MODEL_INVALID, "tensor %s is missing", name.c_str());
            const float* host = f32_tensor(model_, name);
            void* d = nullptr;
            MNEMO_TRY(upload(host, static_cast<size_t>(t->n_elements) * sizeof(float), &d));
            it = vectors_.emplace(name, static_cast<const float*>(d)).first;
        }
        *out = it->second;
        return MNEMO_OK;
    }
    // An LTE conv weight [groups·cout][cin][K] repacked as [groups][cout][K][cin], so the
    // scorer kernel's lanes (input channels) read neighbouring words.
    mnemo_status lte_conv_weight(const std::string& name, int64_t groups, int64_t cout, int64_t cin, int64_t K, const float** out) {
        const std::string key = name + "#input-innermost";
        auto it = vectors_.find(key);
        if (it == vectors_.end()) {
            const float* src = f32_tensor(model_, name);
            std::vector<float> packed(static_cast<size_t>(groups * cout * cin * K));
            for (int64_t o = 0; o < groups * cout; ++o)
                for (int64_t c = 0; c < cin; ++c)
                    for (int64_t j = 0; j < K; ++j) packed[static_cast<size_t>((o * K + j) * cin + c)] = src[(o * cin + c) * K + j];
            void* d = nullptr;
            MNEMO_TRY(upload(packed.data(), packed.size() * sizeof(float), &d));
            it = vectors_.emplace(key, static_cast<const float*>(d)).first;
        }
        *out = it->second;
        return MNEMO_OK;
    }
    uint64_t bytes() const { return bytes_; }

private:
    // q8_0 stays q8_0 (cuda::WeightType::q8_0): quants and scales split into two arrays.
    mnemo_status upload_q8_0(const Linear& lin, DeviceMatrix* m) {
        m->type = WeightType::q8_0;
        const int64_t blocks = lin.out * (lin.in / cuda::kQ8Block);
        std::vector<int8_t> quants(static_cast<size_t>(lin.out * lin.in));
        std::vector<uint16_t> scales(static_cast<size_t>(blocks));
        cuda::split_q8_0_blocks(lin.weight, blocks, quants.data(), scales.data());
        void* d = nullptr;
        MNEMO_TRY(upload(quants.data(), quants.size(), &d));
        m->data = d;
        MNEMO_TRY(upload(scales.data(), scales.size() * sizeof(uint16_t), &d));
        m->scales = d;
        return MNEMO_OK;
    }
    // Every other type: f32 stays f32, f16 and bf16 become bf16.
    mnemo_status upload_widened(const Linear& lin, DeviceMatrix* m) {
        const bool keep_f32 = lin.type == cpu::DType::f32;
        m->type = keep_f32 ? WeightType::f32 : WeightType::bf16;
        const size_t n = static_cast<size_t>(lin.out * lin.in);
        std::vector<float> row(static_cast<size_t>(lin.in));
        std::vector<uint16_t> packed;
        std::vector<float> full;
        const int64_t rb = cpu::row_bytes(lin.type, lin.in);
        if (keep_f32) full.resize(n); else packed.resize(n);
        for (int64_t r = 0; r < lin.out; ++r) {
            cpu::row_to_f32(lin.type, static_cast<const uint8_t*>(lin.weight) + r * rb, row.data(), lin.in);
            for (int64_t c = 0; c < lin.in; ++c) {
                if (keep_f32) full[static_cast<size_t>(r * lin.in + c)] = row[static_cast<size_t>(c)];
                else packed[static_cast<size_t>(r * lin.in + c)] = to_bf16(row[static_cast<size_t>(c)]);
            }
        }
        void* d = nullptr;
        MNEMO_TRY(upload(keep_f32 ? static_cast<const void*>(full.data()) : packed.data(), n * (keep_f32 ? 4 : 2), &d));
        m->data = d;
        return MNEMO_OK;
    }
    mnemo_status upload(const void* host, size_t bytes, void** out) {
        MNEMO_CUDA_TRY(cudaMalloc(out, std::max<size_t>(bytes, 16)));
        allocations_.push_back(*out);
        MNEMO_CUDA_TRY(cudaMemcpy(*out, host, bytes, cudaMemcpyHostToDevice));
        bytes_ += bytes;
        return MNEMO_OK;
    }
    const ModelImpl& model_;
    std::map<std::string, DeviceMatrix> matrices_;
    std::map<std::string, const float*> vectors_;
    std::vector<void*> allocations_;
    uint64_t bytes_ = 0;
};

std::mutex g_weights_mutex;
std::map<const ModelImpl*, std::weak_ptr<DeviceWeights>> g_weights;

// What can run on the device: every mixer but nsa; for attn/swa the policies that only
// change capacities (none, StreamingLLM); head sizes the kernels are built for.
mnemo_status check_layer(const LayerConfig& l, int32_t i, const SessionOptions& o) {
    const char* kind = mnemo_mixer_kind_name(l.mixer);
    if (l.mixer == MNEMO_MIXER_GDN) {
        if (l.head_dim != 16 && l.head_dim != 32 && l.head_dim != 64 && l.head_dim != 128 && l.head_dim != 256)
            return failf(MNEMO_ERR_UNSUPPORTED, "layer %d (gdn): key head size %d is not one of 16, 32, 64, 128, 256 on CUDA", i, l.head_dim);
        if (l.use_short_conv && (l.conv_size < 1 || l.conv_size > 8))
            return failf(MNEMO_ERR_UNSUPPORTED, "layer %d (gdn): conv_size %d is outside [1, 8] on CUDA", i, l.conv_size);
        return MNEMO_OK;
    }
    if (l.head_dim > 256 || l.head_dim % 2 != 0)
        return failf(MNEMO_ERR_UNSUPPORTED, "layer %d (%s): head size %d is not even and <= 256 on CUDA", i, kind, l.head_dim);
    if (l.mixer != MNEMO_MIXER_NSA && l.n_heads / l.n_kv_heads > 8)
        return failf(MNEMO_ERR_UNSUPPORTED, "layer %d (%s): more than 8 query heads per KV head on CUDA", i, kind);
    if (l.mixer != MNEMO_MIXER_LTE && l.mixer != MNEMO_MIXER_NSA && o.policy != MNEMO_POLICY_NONE && o.policy != MNEMO_POLICY_STREAMING)
        return failf(MNEMO_ERR_UNSUPPORTED, "layer %d (%s): policy %d scores by attention and runs on the CPU only", i, kind,
                     static_cast<int>(o.policy));
    if (l.mixer == MNEMO_MIXER_LTE && l.lte_conv_sizes.size() > static_cast<size_t>(cuda::kMaxLteLayers))
        return failf(MNEMO_ERR_UNSUPPORTED, "layer %d (lte): more than %d scorer layers on CUDA", i, cuda::kMaxLteLayers);
    return MNEMO_OK;
}

struct DeviceLayer {
    mnemo_mixer_kind kind = MNEMO_MIXER_GDN;
    const LayerConfig* config = nullptr;
    const float *attn_norm = nullptr, *mlp_norm = nullptr;
    DeviceMatrix gate, up, down;
    // Decode steps (one token) run the MLP in one launch (cuda::mlp_split), where it fits.
    bool mlp_split = false;
    // gdn
    DeviceMatrix q, k, v, a, b, g, o;
    const float *a_log = nullptr, *dt_bias = nullptr, *o_norm = nullptr, *conv[3] = {};
    float *state = nullptr, *tails[3] = {};
    // attention family (q, k, v, o above)
    cuda::DeviceKvCache cache;
    cuda::LteScorerDevice scorer;
    bool learned = false;
    // nsa (q, k, v, o above; g = gates)
    cuda::DeviceNsa nsa;
    int32_t splits = 1, decode_splits = 1;
    cuda::AttnPrecision attn_precision = cuda::AttnPrecision::f32;
    // A decode step's RoPE, plan and attention in one launch (cuda::kv_decode), where it fits.
    bool decode_one_launch = false;
    // Decode steps (one token) commit the cache inside kv_decode (or, in split launches, on the
    // side stream), and LTE scores it (cuda::lte_score_committed) on the side stream, off the
    // step's critical path. What the side stream reads stays the layer's own until the step ends:
    // its chunk rows (step_k/v/k_pre) and its plan (step's meta, sources).
    bool decode_side = false;
    cuda::KvScratch step;
    float *step_k = nullptr, *step_v = nullptr, *step_k_pre = nullptr;
};

// A switch: unset or anything but "0" means on (A/B measurements, tests). Read where it is
// called: once per process (MNEMO_CUDA_SIDE_STREAM) or at each session's creation
// (MNEMO_CUDA_MLP_SPLIT=0: decode MLPs as two GEMV launches even where cuda::mlp_split fits;
// MNEMO_CUDA_O_HALF=0: the output projection before a split MLP on the default grid;
// MNEMO_CUDA_GDN_FUSED=0: a decode step's GDN convs and rule as two launches;
// MNEMO_CUDA_FOLD_EMBEDDING=0: a decode step's embedding as a launch of its own;
// MNEMO_CUDA_PREFETCH_STEP_START=0: no L2 prefetch of the next step's first GEMV after a step;
// MNEMO_CUDA_FUSED_ARGMAX=0: greedy sampling by an argmax launch after the LM head;
// MNEMO_CUDA_PUBLISH_TOKEN=0: a chosen token read back by a copy and a stream synchronisation).
bool env_switch(const char* name) {
    const char* env = std::getenv(name);
    return env == nullptr || std::strcmp(env, "0") != 0;
}
// MNEMO_CUDA_SCORE_BATCH=N: single-token steps score LTE tokens every N steps (1: every step;
// A/B measurements, tests); read at each session's creation, capped by the window's slack and
// cuda::kLteDecodeBatch.
int64_t score_batch_wanted() {
    const char* env = std::getenv("MNEMO_CUDA_SCORE_BATCH");
    const long n = env != nullptr ? std::strtol(env, nullptr, 10) : 0;
    return n >= 1 ? n : cuda::kLteDecodeBatch;
}
// MNEMO_CUDA_DECODE_ATTN=split: decode steps run rope, kv_plan and kv_attend as separate
// launches (A/B measurements, tests); read at each session's creation.
bool decode_one_launch_wanted() {
    const char* env = std::getenv("MNEMO_CUDA_DECODE_ATTN");
    return env == nullptr || std::strcmp(env, "split") != 0;
}
bool side_stream_enabled() {
    static const bool on = env_switch("MNEMO_CUDA_SIDE_STREAM");
    return on;
}

// A stream beside the session's for work off a decode step's critical path: forked from the
// session's stream at a point (a branch of the graph when captured) and joined back before
// the step's last kernel, so the step still ends after everything it started.
class SideStream {
public:
    ~SideStream() {
        for (cudaEvent_t e : {fork_, join_})
            if (e != nullptr) cudaEventDestroy(e);
        if (stream_ != nullptr) cudaStreamDestroy(stream_);
    }
    mnemo_status init() {
        MNEMO_CUDA_TRY(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
        MNEMO_CUDA_TRY(cudaEventCreateWithFlags(&fork_, cudaEventDisableTiming));
        MNEMO_CUDA_TRY(cudaEventCreateWithFlags(&join_, cudaEventDisableTiming));
        return MNEMO_OK;
    }
    // Work enqueued on get() after this runs after everything enqueued on `main` before it.
    mnemo_status fork(cudaStream_t main) {
        MNEMO_CUDA_TRY(cudaEventRecord(fork_, main));
        MNEMO_CUDA_TRY(cudaStreamWaitEvent(stream_, fork_, 0));
        forked_ = true;
        return MNEMO_OK;
    }
    // Work enqueued on `main` after this runs after everything enqueued here.
    mnemo_status join(cudaStream_t main) {
        if (!forked_) return MNEMO_OK;
        forked_ = false;
        MNEMO_CUDA_TRY(cudaEventRecord(join_, stream_));
        MNEMO_CUDA_TRY(cudaStreamWaitEvent(main, join_, 0));
        return MNEMO_OK;
    }
    cudaStream_t get() const { return stream_; }

private:
    cudaStream_t stream_ = nullptr;
    cudaEvent_t fork_ = nullptr, join_ = nullptr;
    bool forked_ = false;
};

// Precision of the window attention of a layer whose q projection is `q` (docs/performance-cuda.md):
// tensor cores (bf16 operands, f32 accumulation) when the weights are lower precision already
// (f16 / bf16 / q8_0), f32 for f32 models (the golden models' parity).
// MNEMO_CUDA_ATTN=f32|tc overrides it for every layer (tests, A/B measurements).
cuda::AttnPrecision attention_precision(const DeviceMatrix& q) {
    static const int forced = [] {
        const char* env = std::getenv("MNEMO_CUDA_ATTN");
        if (env == nullptr) return -1;
        if (std::strcmp(env, "f32") == 0) return 0;
        if (std::strcmp(env, "tc") == 0) return 1;
        return -1;  // "auto" or anything else: by the weights
    }();
    if (forced >= 0) return forced == 1 ? cuda::AttnPrecision::bf16_tensor_cores : cuda::AttnPrecision::f32;
    return q.type != WeightType::f32 ? cuda::AttnPrecision::bf16_tensor_cores : cuda::AttnPrecision::f32;
}

class CudaBackend final : public DeviceBackend {
public:
    ~CudaBackend() override {
        if (stream_ != nullptr) cudaStreamSynchronize(stream_);  // a step may still run past its published token
        for (DecodeGraph* graphs : {feed_graphs_, greedy_graphs_, sample_graphs_})
            for (int scoring = 0; scoring < 2; ++scoring)
                if (graphs[scoring].exec != nullptr) cudaGraphExecDestroy(graphs[scoring].exec);
        if (blas_) cuda::blas_shutdown();
        for (void* p : allocations_) cudaFree(p);
        if (pinned_token_ != nullptr) cudaFreeHost(pinned_token_);
        if (published_ != nullptr) cudaFreeHost(published_);
        if (pinned_config_ != nullptr) cudaFreeHost(pinned_config_);
        if (stream_ != nullptr) cudaStreamDestroy(stream_);
    }
    const char* name() const override { return "cuda"; }

    mnemo_status init(const ModelImpl& model, const SessionOptions& options, const std::vector<std::unique_ptr<Mixer>>& mixers,
                      const std::byte* host_state, uint64_t state_bytes) {
        model_ = &model;
        chunk_ = options.chunk_tokens;
        state_bytes_ = state_bytes;
        MNEMO_CUDA_TRY(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
        MNEMO_TRY(side_.init());
        o_blocks_halved_ = env_switch("MNEMO_CUDA_O_HALF");
        fold_embedding_ = env_switch("MNEMO_CUDA_FOLD_EMBEDDING");
        fused_argmax_ = env_switch("MNEMO_CUDA_FUSED_ARGMAX");
        gdn_fused_ = env_switch("MNEMO_CUDA_GDN_FUSED");
        prefetch_step_start_ = env_switch("MNEMO_CUDA_PREFETCH_STEP_START");
        const char* why = nullptr;
        blas_ = cuda::blas_init(stream_, &why);
        {
            std::lock_guard<std::mutex> lock(g_weights_mutex);
            weights_ = g_weights[&model].lock();
            if (!weights_) {
                weights_ = std::make_shared<DeviceWeights>(model);
                g_weights[&model] = weights_;
            }
        }
        std::lock_guard<std::mutex> lock(g_weights_mutex);  // uploads are serialised per process
        MNEMO_TRY(alloc(state_bytes, reinterpret_cast<void**>(&state_)));
        MNEMO_CUDA_TRY(cudaMemcpy(state_, host_state, state_bytes, cudaMemcpyHostToDevice));
        const auto dev = [&](const void* host_ptr) -> std::byte* {
            return host_ptr == nullptr ? nullptr : state_ + (static_cast<const std::byte*>(host_ptr) - host_state);
        };
        position_ = reinterpret_cast<int64_t*>(state_);
        const ModelConfig& c = model.config;
        int64_t width = std::max<int64_t>(c.hidden_size, c.intermediate_size), heads = 1, kv_width = 1, list_width = 1, list_entries = 1, plan_work = 1, score_rows = 1;
        int64_t partial = 1, nsa_probs = 1, nsa_importance = 1, lte_act = 1, side_lte_act = 1;
        int64_t gdn_scratch[5] = {1, 1, 1, 1, 1};  // chunked gated delta rule: w, u, p, g, h
        for (int32_t i = 0; i < c.n_layers; ++i) {
            const LayerConfig& l = c.layers[static_cast<size_t>(i)];
            MNEMO_TRY(check_layer(l, i, options));
            DeviceLayer d;
            d.kind = l.mixer;
            d.config = &l;
            const std::string p = "model.layers." + std::to_string(i) + ".";
            const std::string a = layer_prefix(i);
            MNEMO_TRY(weights_->vector(p + "attn_norm.weight", &d.attn_norm));
            MNEMO_TRY(weights_->vector(p + "mlp_norm.weight", &d.mlp_norm));
            MNEMO_TRY(weights_->matrix(p + "mlp.gate_proj.weight", "", &d.gate));
            MNEMO_TRY(weights_->matrix(p + "mlp.up_proj.weight", "", &d.up));
            MNEMO_TRY(weights_->matrix(p + "mlp.down_proj.weight", "", &d.down));
            d.mlp_split = env_switch("MNEMO_CUDA_MLP_SPLIT") && cuda::mlp_split_fits(d.gate, d.up, d.down);
            const MixerStateMap map = mixers[static_cast<size_t>(i)]->state_map();
            heads = std::max<int64_t>(heads, l.n_heads);
            if (l.mixer == MNEMO_MIXER_GDN) {
                MNEMO_TRY(weights_->matrix(a + "q_proj.weight", "", &d.q));
                MNEMO_TRY(weights_->matrix(a + "k_proj.weight", "", &d.k));
                MNEMO_TRY(weights_->matrix(a + "v_proj.weight", "", &d.v));
                MNEMO_TRY(weights_->matrix(a + "a_proj.weight", "", &d.a));
                MNEMO_TRY(weights_->matrix(a + "b_proj.weight", "", &d.b));
                MNEMO_TRY(weights_->matrix(a + "o_proj.weight", "", &d.o));
                if (l.use_gate) MNEMO_TRY(weights_->matrix(a + "g_proj.weight", "", &d.g));
                MNEMO_TRY(weights_->vector(a + "A_log", &d.a_log));
                MNEMO_TRY(weights_->vector(a + "dt_bias", &d.dt_bias));
                MNEMO_TRY(weights_->vector(a + "o_norm.weight", &d.o_norm));
                if (l.use_short_conv) {
                    MNEMO_TRY(weights_->vector(a + "q_conv1d.weight", &d.conv[0]));
                    MNEMO_TRY(weights_->vector(a + "k_conv1d.weight", &d.conv[1]));
                    MNEMO_TRY(weights_->vector(a + "v_conv1d.weight", &d.conv[2]));
                }
                d.state = reinterpret_cast<float*>(dev(map.recurrent));
                for (int j = 0; j < 3; ++j) d.tails[j] = reinterpret_cast<float*>(dev(map.conv_tails[j]));
                width = std::max<int64_t>({width, 2 * int64_t{l.n_heads} * l.head_dim, int64_t{l.n_heads} * l.head_v_dim});
                int64_t sizes[5] = {};
                cuda::gdn_chunk_scratch_floats(chunk_, l.n_heads, l.head_dim, l.head_v_dim, &sizes[0], &sizes[1], &sizes[2], &sizes[3],
                                               &sizes[4]);
                for (int j = 0; j < 5; ++j) gdn_scratch[j] = std::max(gdn_scratch[j], sizes[j]);
            } else if (l.mixer == MNEMO_MIXER_NSA) {
                MNEMO_TRY(weights_->matrix(a + "q_proj.weight", a + "q_proj.bias", &d.q));
                MNEMO_TRY(weights_->matrix(a + "k_proj.weight", a + "k_proj.bias", &d.k));
                MNEMO_TRY(weights_->matrix(a + "v_proj.weight", a + "v_proj.bias", &d.v));
                MNEMO_TRY(weights_->matrix(a + "g_proj.weight", "", &d.g));
                MNEMO_TRY(weights_->matrix(a + "o_proj.weight", "", &d.o));
                cuda::DeviceNsa& n = d.nsa;
                n.keys = reinterpret_cast<float*>(dev(map.nsa_keys));
                n.values = reinterpret_cast<float*>(dev(map.nsa_values));
                n.block_keys = reinterpret_cast<float*>(dev(map.nsa_block_keys));
                n.block_values = reinterpret_cast<float*>(dev(map.nsa_block_values));
                n.count = reinterpret_cast<int64_t*>(dev(map.nsa_count));
                n.n_kv_heads = l.n_kv_heads;
                n.n_q_heads = l.n_heads;
                n.head_dim = l.head_dim;
                n.capacity = options.max_context;
                n.block_size = l.block_size;
                n.n_blocks = (n.capacity + l.block_size - 1) / l.block_size;
                n.n_select = 1;
                while (n.n_select < l.block_count) n.n_select *= 2;  // the reference pads to a power of two (mixers/nsa.cpp)
                n.window = l.window_size;
                width = std::max<int64_t>({width, int64_t{l.n_heads} * l.head_dim, int64_t{l.n_heads} * 3});
                nsa_probs = std::max<int64_t>(nsa_probs, int64_t{chunk_} * l.n_heads * n.n_blocks);
                nsa_importance = std::max<int64_t>(nsa_importance, int64_t{chunk_} * l.n_kv_heads * n.n_blocks);
            } else {
                MNEMO_TRY(weights_->matrix(a + "q_proj.weight", a + "q_proj.bias", &d.q));
                MNEMO_TRY(weights_->matrix(a + "k_proj.weight", a + "k_proj.bias", &d.k));
                MNEMO_TRY(weights_->matrix(a + "v_proj.weight", a + "v_proj.bias", &d.v));
                MNEMO_TRY(weights_->matrix(a + "o_proj.weight", "", &d.o));
                const KvCache& kc = *map.cache;
                const KvCache::Raw raw = kc.raw();
                cuda::DeviceKvCache& dc = d.cache;
                dc.keys = reinterpret_cast<float*>(dev(raw.keys));
                dc.values = reinterpret_cast<float*>(dev(raw.values));
                dc.positions = reinterpret_cast<int64_t*>(dev(raw.positions));
                dc.scores = reinterpret_cast<float*>(dev(raw.scores));
                dc.pre_rope = reinterpret_cast<float*>(dev(raw.pre_rope));
                dc.window_meta = reinterpret_cast<int64_t*>(dev(raw.window_meta));
                dc.sink_meta = reinterpret_cast<int32_t*>(dev(raw.sink_meta));
                dc.n_kv_heads = kc.shape().n_kv_heads;
                dc.head_dim = kc.shape().head_dim;
                dc.sink_capacity = kc.shape().sink_capacity;
                dc.retained_capacity = kc.shape().retained_capacity;
                dc.window_capacity = kc.shape().window_capacity;
                dc.slots = kc.slots_per_head();
                d.attn_precision = attention_precision(d.q);
                d.learned = l.mixer == MNEMO_MIXER_LTE;
                dc.learned = d.learned;
                if (d.learned) MNEMO_TRY(load_scorer(l, a, map, dev, &d.scorer));
                // LTE: every row a decode step's score reads must still be in the ring after
                // kv_commit, and the score must not be needed in the step that computes it, with
                // the tokens a step scores together waiting up to score_period_ − 1 steps.
                const int64_t slack = dc.window_capacity - d.scorer.left - d.scorer.right;
                d.decode_side = side_stream_enabled() && (!d.learned || slack > 0);
                if (d.learned && d.decode_side) {
                    const auto period = static_cast<int32_t>(std::min<int64_t>({slack, cuda::kLteDecodeBatch, score_batch_wanted()}));
                    score_period_ = score_period_ == 0 ? period : std::min(score_period_, period);
                }
                const int64_t visible = dc.slots;
                d.splits = static_cast<int32_t>(std::clamp<int64_t>((visible + 255) / 256, 1, 64));  // ~256 keys per block
                const int64_t per_split = int64_t{chunk_} * l.n_heads * (l.head_dim + 2) * 4;
                while (d.splits > 1 && per_split * d.splits > (int64_t{256} << 20)) d.splits /= 2;
                // A decode step has one query: ~64 keys per block keep enough blocks busy.
                d.decode_splits = static_cast<int32_t>(std::clamp<int64_t>((visible + 63) / 64, 1, 64));
                d.decode_one_launch = decode_one_launch_wanted() && cuda::kv_decode_fits(dc, l.n_heads);
                partial = std::max<int64_t>({partial, per_split / 4 * d.splits, int64_t{l.n_heads} * (l.head_dim + 2) * d.decode_splits});
                width = std::max<int64_t>(width, int64_t{l.n_heads} * l.head_dim);
                kv_width = std::max<int64_t>(kv_width, int64_t{l.n_kv_heads} * l.head_dim);
                list_width = std::max<int64_t>(list_width, int64_t{l.n_kv_heads} * (dc.sink_capacity + dc.retained_capacity));
                list_entries = std::max(list_entries, cuda::kv_list_entries(dc, chunk_));
                plan_work = std::max(plan_work, cuda::kv_plan_work_ints(dc, chunk_));
                if (d.learned) {
                    score_rows = std::max<int64_t>(score_rows, (chunk_ + dc.window_capacity) * dc.n_kv_heads);
                    lte_act = std::max(lte_act, cuda::lte_act_floats(d.scorer, dc.n_kv_heads, dc.head_dim, dc.window_capacity, chunk_));
                    side_lte_act = std::max(side_lte_act, cuda::lte_act_floats(d.scorer, dc.n_kv_heads, dc.head_dim, dc.window_capacity, 1));
                }
            }
            layers_.push_back(d);
        }
        MNEMO_TRY(weights_->vector("model.norm.weight", &final_norm_));
        MNEMO_TRY(weights_->matrix(c.tie_word_embeddings ? "model.embeddings.weight" : "lm_head.weight", "", &lm_head_));
        MNEMO_TRY(weights_->matrix("model.embeddings.weight", "", &embeddings_));
        // Scratch for one chunk.
        const int64_t T = chunk_;
        for (float** buf : {&x_, &x2_, &h_, &y_, &b1_, &b2_, &b3_, &b4_, &b5_, &b7_})
            MNEMO_TRY(alloc(static_cast<uint64_t>(T * width) * 4, reinterpret_cast<void**>(buf)));
        MNEMO_TRY(alloc(static_cast<uint64_t>(T * heads) * 4, reinterpret_cast<void**>(&ga_)));
        MNEMO_TRY(alloc(static_cast<uint64_t>(T * heads) * 4, reinterpret_cast<void**>(&gb_)));
        int64_t bf16_scratch = std::max(T * width, cuda::linear_scratch_bf16(lm_head_, 1));  // x in bf16 (+ a q8_0 matrix) for cuBLAS
        for (const DeviceLayer& L : layers_)
            for (const DeviceMatrix* m : {&L.gate, &L.up, &L.down, &L.q, &L.k, &L.v, &L.a, &L.b, &L.g, &L.o})
                if (m->data != nullptr) bf16_scratch = std::max(bf16_scratch, cuda::linear_scratch_bf16(*m, T));
        MNEMO_TRY(alloc(static_cast<uint64_t>(bf16_scratch) * 2, &x_bf16_));
        MNEMO_TRY(alloc(static_cast<uint64_t>(c.vocab_size) * 4, reinterpret_cast<void**>(&logits_)));
        if (std::any_of(layers_.begin(), layers_.end(), [](const DeviceLayer& L) { return L.mlp_split; })) {
            MNEMO_TRY(alloc(static_cast<uint64_t>(2 * width) * 8, reinterpret_cast<void**>(&mlp_sums_)));
            MNEMO_CUDA_TRY(cudaMemsetAsync(mlp_sums_, 0, static_cast<size_t>(2 * width) * 8, stream_));
        }
        MNEMO_TRY(alloc(static_cast<uint64_t>(T) * 4, reinterpret_cast<void**>(&tokens_)));
        MNEMO_TRY(alloc(16 * 8, reinterpret_cast<void**>(&kv_.meta)));
        MNEMO_TRY(alloc(static_cast<uint64_t>(std::max<int64_t>(1, list_entries)) * 4, reinterpret_cast<void**>(&kv_.lists)));
        MNEMO_TRY(alloc(static_cast<uint64_t>(std::max<int64_t>(1, list_entries)) * 8, reinterpret_cast<void**>(&kv_.spans)));
        MNEMO_TRY(alloc(static_cast<uint64_t>(std::max<int64_t>(1, kv_width)) * 4, reinterpret_cast<void**>(&kv_.counts)));
        MNEMO_TRY(alloc(static_cast<uint64_t>(std::max<int64_t>(1, plan_work)) * 4, reinterpret_cast<void**>(&kv_.plan_work)));
        MNEMO_TRY(alloc(static_cast<uint64_t>(T) * 4, reinterpret_cast<void**>(&kv_.window_counts)));
        MNEMO_TRY(alloc(static_cast<uint64_t>(list_width) * 4, reinterpret_cast<void**>(&kv_.sources)));
        MNEMO_TRY(alloc(static_cast<uint64_t>(score_rows) * 4, reinterpret_cast<void**>(&kv_.new_scores)));
        MNEMO_TRY(alloc(static_cast<uint64_t>(partial) * 4, reinterpret_cast<void**>(&kv_.partial)));
        for (float*& act : kv_.lte_act) MNEMO_TRY(alloc(static_cast<uint64_t>(lte_act) * 4, reinterpret_cast<void**>(&act)));
        side_kv_ = kv_;  // the side stream's scorer uses only its own activations
        for (float*& act : side_kv_.lte_act) MNEMO_TRY(alloc(static_cast<uint64_t>(side_lte_act) * 4, reinterpret_cast<void**>(&act)));
        for (DeviceLayer& L : layers_) {
            if (!L.decode_side) continue;
            const cuda::DeviceKvCache& dc = L.cache;
            const uint64_t row = static_cast<uint64_t>(dc.n_kv_heads * dc.head_dim) * 4;
            L.step = kv_;
            MNEMO_TRY(alloc(16 * 8, reinterpret_cast<void**>(&L.step.meta)));
            MNEMO_TRY(alloc(4, reinterpret_cast<void**>(&L.step.decode_arrivals)));
            MNEMO_CUDA_TRY(cudaMemsetAsync(L.step.decode_arrivals, 0, 4, stream_));
            MNEMO_TRY(alloc(static_cast<uint64_t>(dc.n_kv_heads * (dc.sink_capacity + dc.retained_capacity)) * 4,
                            reinterpret_cast<void**>(&L.step.sources)));
            for (float** buf : {&L.step_k, &L.step_v, &L.step_k_pre}) MNEMO_TRY(alloc(row, reinterpret_cast<void**>(buf)));
        }
        MNEMO_TRY(alloc(static_cast<uint64_t>(nsa_probs) * 4, reinterpret_cast<void**>(&nsa_.probs)));
        MNEMO_TRY(alloc(static_cast<uint64_t>(nsa_importance) * 4, reinterpret_cast<void**>(&nsa_.importance)));
        float** gdn_buffers[5] = {&gdn_chunk_.w, &gdn_chunk_.u, &gdn_chunk_.p, &gdn_chunk_.g, &gdn_chunk_.h};
        for (int j = 0; j < 5; ++j) MNEMO_TRY(alloc(static_cast<uint64_t>(gdn_scratch[j]) * 4, reinterpret_cast<void**>(gdn_buffers[j])));
        MNEMO_CUDA_TRY(cudaMallocHost(reinterpret_cast<void**>(&pinned_token_), sizeof(int32_t)));
        if (env_switch("MNEMO_CUDA_PUBLISH_TOKEN")) MNEMO_TRY(alloc_publish());
        MNEMO_TRY(alloc(sizeof(unsigned long long), reinterpret_cast<void**>(&argmax_key_)));
        MNEMO_CUDA_TRY(cudaMemsetAsync(argmax_key_, 0, sizeof(unsigned long long), stream_));
        MNEMO_TRY(alloc_sampler(c.vocab_size));
        MNEMO_CUDA_TRY(cudaStreamSynchronize(stream_));
        return MNEMO_OK;
    }

    mnemo_status feed_chunk(const int32_t* tokens, int64_t n) override {
        if (n == 1) MNEMO_TRY(catch_up_scores());
        // A token just sampled here is in tokens_[0] already (feed_sample's rule): then nothing of
        // the host's is read and the feed returns without waiting for the step, so the sample
        // after it (mnemo bench's decode loop) is queued behind it with one round trip a token.
        const bool held = n == 1 && tokens[0] == last_sampled_;
        if (!held) MNEMO_CUDA_TRY(cudaMemcpyAsync(tokens_, tokens, static_cast<size_t>(n) * sizeof(int32_t), cudaMemcpyHostToDevice, stream_));
        if (n == 1) {
            // A single token replays the captured step (~200 launches in one), as generation does.
            MNEMO_TRY(launch_decode_graph(StepEnd::logits, feed_graphs_));
            last_sampled_ = -1;  // tokens_ holds the fed token
        } else {
            MNEMO_TRY(forward(n, true));
        }
        argmax_ready_ = fused_argmax_;
        if (!held) MNEMO_CUDA_TRY(cudaStreamSynchronize(stream_));  // the host's tokens buffer may go away
        return MNEMO_OK;
    }
    mnemo_status download_logits(float* host) override {
        MNEMO_CUDA_TRY(cudaMemcpyAsync(host, logits_, static_cast<size_t>(model_->config.vocab_size) * 4, cudaMemcpyDeviceToHost, stream_));
        MNEMO_CUDA_TRY(cudaStreamSynchronize(stream_));
        return MNEMO_OK;
    }
    mnemo_status download_state(std::byte* host) override {
        MNEMO_CUDA_TRY(cudaMemcpyAsync(host, state_, state_bytes_, cudaMemcpyDeviceToHost, stream_));
        MNEMO_CUDA_TRY(cudaStreamSynchronize(stream_));
        return MNEMO_OK;
    }
    mnemo_status upload_state(const std::byte* host) override {
        MNEMO_CUDA_TRY(cudaMemcpyAsync(state_, host, state_bytes_, cudaMemcpyHostToDevice, stream_));
        MNEMO_CUDA_TRY(cudaStreamSynchronize(stream_));
        scores_behind_ = true;
        return MNEMO_OK;
    }
    mnemo_status begin_sampling(const mnemo_sampler_params& p, const std::vector<int32_t>& recent) override {
        greedy_ = plain_greedy(p);
        *pinned_config_ = cuda::SamplerConfig{p.temperature, p.top_k, p.top_p, p.repetition_penalty, p.repetition_window, 0, 0.0};
        MNEMO_CUDA_TRY(cudaMemcpyAsync(sampler_config_, pinned_config_, sizeof(cuda::SamplerConfig), cudaMemcpyHostToDevice, stream_));
        // The recent tokens as the ring's first entries (the last kRecentCapacity of them).
        const size_t n = std::min(recent.size(), static_cast<size_t>(cuda::kRecentCapacity));
        int32_t meta[2] = {0, static_cast<int32_t>(n)};
        MNEMO_CUDA_TRY(cudaMemcpyAsync(recent_, recent.data() + (recent.size() - n), n * 4, cudaMemcpyHostToDevice, stream_));
        MNEMO_CUDA_TRY(cudaMemcpyAsync(recent_meta_, meta, sizeof meta, cudaMemcpyHostToDevice, stream_));
        MNEMO_CUDA_TRY(cudaStreamSynchronize(stream_));  // `recent` and `meta` are pageable host memory
        return MNEMO_OK;
    }
    mnemo_status sample(double uniform, int32_t* token) override {
        if (greedy_) return argmax(token);
        MNEMO_TRY(set_uniform(uniform));
        cuda::sample(logits_, model_->config.vocab_size, sampler_config_, recent_, recent_meta_, sample_, tokens_, stream_, counted_publish());
        argmax_ready_ = false;
        return read_token(token);
    }
    mnemo_status feed_sample(int32_t token, double uniform, int32_t* next) override {
        // tokens_[0] already holds `token` when it was sampled here; else upload it.
        if (token != last_sampled_) MNEMO_CUDA_TRY(cudaMemcpyAsync(tokens_, &token, 4, cudaMemcpyHostToDevice, stream_));
        if (!greedy_) MNEMO_TRY(set_uniform(uniform));
        MNEMO_TRY(catch_up_scores());
        if (greedy_ && fused_argmax_) MNEMO_TRY(launch_decode_graph(StepEnd::logits, feed_graphs_));  // its advance chose
        else MNEMO_TRY(greedy_ ? launch_decode_graph(StepEnd::argmax, greedy_graphs_) : launch_decode_graph(StepEnd::sample, sample_graphs_));
        argmax_ready_ = greedy_ && fused_argmax_;
        return read_token(next);
    }
    mnemo_status argmax(int32_t* token) override {
        if (!argmax_ready_) cuda::argmax(logits_, model_->config.vocab_size, tokens_, stream_, counted_publish());
        argmax_ready_ = true;
        return read_token(token);
    }
    uint64_t device_bytes() const override { return weights_->bytes() + own_bytes_; }

private:
    mnemo_status alloc(uint64_t bytes, void** out) {
        MNEMO_CUDA_TRY(cudaMalloc(out, std::max<uint64_t>(bytes, 16)));
        allocations_.push_back(*out);
        own_bytes_ += bytes;
        return MNEMO_OK;
    }
    template <typename Dev>
    mnemo_status load_scorer(const LayerConfig& l, const std::string& a, const MixerStateMap& map, const Dev& dev,
                             cuda::LteScorerDevice* s) {
        const std::string p = a + "router.conv_stack.";
        const int64_t groups = l.routing_shared == "head" ? l.n_kv_heads : 1;
        s->per_head_groups = groups > 1;
        s->relu = l.routing_method == "relu";
        s->n_layers = static_cast<int32_t>(l.lte_conv_sizes.size());
        int64_t per_group = 2 * int64_t{l.head_dim};
        for (int32_t j = 0; j < s->n_layers; ++j) {
            MNEMO_TRY(weights_->lte_conv_weight(p + "convs." + std::to_string(j) + ".weight", groups, per_group / 2, per_group,
                                                l.lte_conv_sizes[static_cast<size_t>(j)], &s->weight[j]));
            if (model_->tensor(p + "convs." + std::to_string(j) + ".bias") != nullptr)
                MNEMO_TRY(weights_->vector(p + "convs." + std::to_string(j) + ".bias", &s->bias[j]));
            s->kernel_size[j] = l.lte_conv_sizes[static_cast<size_t>(j)];
            s->dilation[j] = l.lte_conv_dilations[static_cast<size_t>(j)];
            s->in_per_group[j] = static_cast<int32_t>(per_group);
            s->out_per_group[j] = static_cast<int32_t>(per_group / 2);
            const int32_t total = s->dilation[j] * (s->kernel_size[j] - 1);
            s->left += total / 2;
            s->right += total - total / 2;
            per_group /= 2;
        }
        MNEMO_TRY(weights_->vector(p + "proj.weight", &s->proj_weight));
        if (model_->tensor(p + "proj.bias") != nullptr) MNEMO_TRY(weights_->vector(p + "proj.bias", &s->proj_bias));
        s->next_unscored = reinterpret_cast<int64_t*>(dev(map.next_unscored));
        return MNEMO_OK;
    }

    // A state the CPU wrote (upload_state, or the one the session started from) may have left
    // window tokens unscored for longer than a decode step that defers its scoring allows:
    // score them before the next single-token step (outside any graph capture).
    mnemo_status catch_up_scores() {
        if (!scores_behind_) return MNEMO_OK;
        scores_behind_ = false;
        for (const DeviceLayer& L : layers_) {
            if (!L.learned || !L.decode_side) continue;
            cuda::KvChunk none;
            none.position = position_;
            cuda::lte_score_committed(L.cache, none, L.scorer, kv_, stream_, 1);
        }
        return launch_status();
    }

    // Whether the kernels enqueued since the last check launched.
    static mnemo_status launch_status() {
        const char* e = cuda::last_error();
        if (*e != '\0') return failf(MNEMO_ERR_NO_DEVICE, "CUDA: a kernel launch failed: %s", e);
        return MNEMO_OK;
    }

    // The token just chosen into tokens_[0]: every launch that chooses one publishes it
    // (counted_publish), so with publishing on the host polls its own memory for the latest count
    // and the step's tail runs on while it returns; else a copy behind the step.
    mnemo_status read_token(int32_t* token) {
        if (published_ != nullptr) {
            MNEMO_TRY(wait_published(token));
        } else {
            MNEMO_CUDA_TRY(cudaMemcpyAsync(pinned_token_, tokens_, 4, cudaMemcpyDeviceToHost, stream_));
            MNEMO_CUDA_TRY(cudaStreamSynchronize(stream_));
            *token = *pinned_token_;
        }
        last_sampled_ = *token;
        return MNEMO_OK;
    }
    mnemo_status wait_published(int32_t* token) {
        const auto take = [&] {
            const unsigned long long w = __atomic_load_n(published_, __ATOMIC_ACQUIRE);
            if (static_cast<uint32_t>(w >> 32) != publishes_) return false;
            *token = static_cast<int32_t>(static_cast<uint32_t>(w));
            return true;
        };
        for (uint32_t polls = 1;; ++polls) {
            if (take()) return MNEMO_OK;
            if (polls % 4096 != 0) continue;
            // Now and then the stream: a failed step publishes nothing, and a finished one has
            // published (its last kernel's store reached host memory before it ended).
            const cudaError_t q = cudaStreamQuery(stream_);
            if (q == cudaErrorNotReady) continue;
            if (q != cudaSuccess) return failf(MNEMO_ERR_NO_DEVICE, "CUDA: a decode step failed: %s", cudaGetErrorString(q));
            if (take()) return MNEMO_OK;
            return failf(MNEMO_ERR_INTERNAL, "CUDA: the step ended without publishing token %u (the last published is %llu)", publishes_,
                         static_cast<unsigned long long>(*published_ >> 32));
        }
    }
    // Where the launch being enqueued publishes the token it chooses, counted: now, or while a
    // decode step is captured, once for each launch of its graph (launch_decode_graph).
    cuda::TokenPublish counted_publish() {
        if (published_ == nullptr) return {};
        ++(capturing_ ? captured_publishes_ : publishes_);
        return cuda::TokenPublish{published_on_device_, publish_count_};
    }
    mnemo_status alloc_publish() {
        MNEMO_CUDA_TRY(cudaHostAlloc(reinterpret_cast<void**>(&published_), sizeof(unsigned long long), cudaHostAllocMapped));
        *published_ = 0;
        MNEMO_CUDA_TRY(cudaHostGetDevicePointer(reinterpret_cast<void**>(&published_on_device_), published_, 0));
        MNEMO_TRY(alloc(sizeof(uint32_t), reinterpret_cast<void**>(&publish_count_)));
        MNEMO_CUDA_TRY(cudaMemsetAsync(publish_count_, 0, sizeof(uint32_t), stream_));
        return MNEMO_OK;
    }

    // The sampler's scratch: sort buffers over the vocabulary, the recent-token ring, the
    // configuration (device and pinned host copies).
    mnemo_status alloc_sampler(int64_t V) {
        MNEMO_TRY(alloc(static_cast<uint64_t>(2 * V) * 4, reinterpret_cast<void**>(&sample_.keys)));
        MNEMO_TRY(alloc(static_cast<uint64_t>(2 * V) * 4, reinterpret_cast<void**>(&sample_.ids)));
        MNEMO_TRY(alloc(static_cast<uint64_t>(V) * 4, reinterpret_cast<void**>(&sample_.seen)));
        // On the session's stream: a plain cudaMemset runs on the legacy stream, which this
        // non-blocking stream does not wait for (seen under load: the first penalty read
        // stale marks).
        MNEMO_CUDA_TRY(cudaMemsetAsync(sample_.seen, 0, static_cast<size_t>(V) * 4, stream_));
        MNEMO_TRY(alloc(static_cast<uint64_t>(V) * 8, reinterpret_cast<void**>(&sample_.probs)));
        sample_.sort_temp_bytes = cuda::sample_sort_temp_bytes(V);
        MNEMO_TRY(alloc(sample_.sort_temp_bytes, &sample_.sort_temp));
        MNEMO_TRY(alloc(cuda::kRecentCapacity * 4, reinterpret_cast<void**>(&recent_)));
        MNEMO_TRY(alloc(2 * 4, reinterpret_cast<void**>(&recent_meta_)));
        MNEMO_TRY(alloc(sizeof(cuda::SamplerConfig), reinterpret_cast<void**>(&sampler_config_)));
        MNEMO_CUDA_TRY(cudaMallocHost(reinterpret_cast<void**>(&pinned_config_), sizeof(cuda::SamplerConfig)));
        return MNEMO_OK;
    }

    // The step's draw goes to the device ahead of the kernels that read it (no host
    // synchronisation; the previous step's read_token has finished with the pinned copy).
    mnemo_status set_uniform(double uniform) {
        pinned_config_->uniform = uniform;
        MNEMO_CUDA_TRY(cudaMemcpyAsync(&sampler_config_->uniform, &pinned_config_->uniform, sizeof(double), cudaMemcpyHostToDevice,
                                       stream_));
        return MNEMO_OK;
    }

    // What a captured decode step ends with: the logits (a fed token), or the next token in
    // tokens_[0] by argmax or by the sampler.
    enum class StepEnd { logits, argmax, sample };

    // One single-token step through its graph. LTE layers score the tokens that became final
    // once every score_period_ steps (all that wait, together), so a step takes the graph with or
    // without the scoring launches (each captured on first use): the steps without them no longer
    // launch ~5 kernels a layer that find nothing due. (A graph per layer phase, so that no step
    // scores every layer, was slower: 2026-11-30/f_….)
    struct DecodeGraph {
        cudaGraphExec_t exec = nullptr;
        uint32_t publishes = 0;  // tokens it publishes (counted_publish)
    };
    mnemo_status launch_decode_graph(StepEnd end_with, DecodeGraph (&graphs)[2]) {
        const int scoring = score_period_ <= 1 || ++single_steps_ % score_period_ == 0 ? 1 : 0;
        DecodeGraph& g = graphs[scoring];
        if (g.exec == nullptr) MNEMO_TRY(capture_decode_graph(end_with, scoring == 1, &g));
        MNEMO_CUDA_TRY(cudaGraphLaunch(g.exec, stream_));
        publishes_ += g.publishes;
        return MNEMO_OK;
    }

    // One decode step as a graph: (sampling: the fed token joins the recent ring) forward
    // pass of tokens_[0], then (argmax, sample) the next token into tokens_[0].
    // The launch that chooses the step's last token publishes it (forward's advance only when
    // nothing chooses after it).
    mnemo_status capture_decode_graph(StepEnd end_with, bool scoring, DecodeGraph* out) {
        cudaGraph_t graph = nullptr;
        MNEMO_CUDA_TRY(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
        if (end_with == StepEnd::sample) cuda::recent_push(recent_, recent_meta_, tokens_, stream_);
        score_now_ = scoring;
        capturing_ = true;
        captured_publishes_ = 0;
        const mnemo_status s = forward(1, end_with == StepEnd::logits);
        score_now_ = true;
        if (end_with == StepEnd::argmax) cuda::argmax(logits_, model_->config.vocab_size, tokens_, stream_, counted_publish());
        if (end_with == StepEnd::sample)
            cuda::sample(logits_, model_->config.vocab_size, sampler_config_, recent_, recent_meta_, sample_, tokens_, stream_, counted_publish());
        capturing_ = false;
        out->publishes = captured_publishes_;
        const cudaError_t end = cudaStreamEndCapture(stream_, &graph);
        MNEMO_TRY(s);
        if (end != cudaSuccess) return failf(MNEMO_ERR_NO_DEVICE, "CUDA: capturing the decode step failed: %s", cudaGetErrorString(end));
        const cudaError_t inst = cudaGraphInstantiate(&out->exec, graph, 0);
        cudaGraphDestroy(graph);
        if (inst != cudaSuccess) return failf(MNEMO_ERR_NO_DEVICE, "CUDA: instantiating the decode graph failed: %s", cudaGetErrorString(inst));
        return MNEMO_OK;
    }

    // Enqueues the forward pass of n tokens held in tokens_ (no host synchronisation); with
    // fused argmax, its last launch chooses the greedy token (published when `publish`).
    mnemo_status forward(int64_t T, bool publish) {
        last_sampled_ = -1;
        const ModelConfig& c = model_->config;
        const int64_t d = c.hidden_size;
        // The residual stream alternates between two buffers: each norm, fused into the
        // linear after it, reads the stream and the last output and writes their sum to
        // the other buffer. The last output is y_, or at one token the sum a split MLP left in
        // mlp_sums_: split MLP j adds into half j % 2 and clears the other half, which the
        // norm before it has read; the embedding launch clears both at the step's start.
        float* stream_x[2] = {x_, x2_};
        int cur = 0;
        const int64_t* fixed = nullptr;  // the last output, when a split MLP's
        int splits = 0;
        const auto norm = [&](const float* weight, bool add) {
            cuda::InputNorm n{stream_x[cur], add && fixed == nullptr ? y_ : nullptr, add ? stream_x[1 - cur] : nullptr, weight, c.norm_eps};
            n.residual_fixed = add ? fixed : nullptr;
            if (add) cur = 1 - cur, fixed = nullptr;
            return n;
        };
        // A single token's embedding is read by the first layer's input GEMV (one launch fewer
        // at the step's start); it clears the split MLPs' sums as embed() would.
        const bool fold_embedding = T == 1 && fold_embedding_ && cuda::embedding_foldable(d);
        if (!fold_embedding) cuda::embed(tokens_, T, embeddings_, x_, stream_, T == 1 ? mlp_sums_ : nullptr, 2 * d);
        for (size_t i = 0; i < layers_.size(); ++i) {
            const DeviceLayer& L = layers_[i];
            cuda::InputNorm attn_in = norm(L.attn_norm, i > 0);
            if (i == 0 && fold_embedding) {
                attn_in.sum = stream_x[cur];  // where embed() writes the residual stream
                attn_in.x = nullptr;
                attn_in.token = tokens_;
                attn_in.embedding = embeddings_;
                attn_in.clear = mlp_sums_;  // null without split MLPs
                attn_in.n_clear = mlp_sums_ != nullptr ? 2 * d : 0;
            }
            if (L.kind == MNEMO_MIXER_GDN) MNEMO_TRY(gdn(L, T, attn_in));
            else if (L.kind == MNEMO_MIXER_NSA) nsa(L, T, attn_in);
            else MNEMO_TRY(attention(L, T, attn_in));
            const cuda::InputNorm mlp_in = norm(L.mlp_norm, true);
            if (T == 1 && L.mlp_split) {
                int64_t* sum = mlp_sums_ + (splits % 2) * d;
                cuda::mlp_split(L.gate, L.up, L.down, mlp_in, sum, mlp_sums_ + ((splits + 1) % 2) * d, stream_);
                fixed = sum;
                ++splits;
            } else {
                cuda::mlp(L.gate, L.up, L.down, h_, T, b1_, b2_, y_, x_bf16_, stream_, &mlp_in);
            }
        }
        // Only the last token's logits are kept.
        cuda::InputNorm head_in{stream_x[cur] + (T - 1) * d, fixed == nullptr ? y_ + (T - 1) * d : nullptr, nullptr, final_norm_, c.norm_eps};
        head_in.residual_fixed = fixed;
        // The LM head also leaves its greedy choice in argmax_key_, which the advance launch writes
        // to tokens_[0] (argmax_ready_).
        unsigned long long* key = fused_argmax_ ? argmax_key_ : nullptr;
        cuda::linear(lm_head_, h_, 1, logits_, x_bf16_, stream_, &head_in, 0, key);
        MNEMO_TRY(side_.join(stream_));  // the side stream's commits and scorers read the position advanced next
        cuda::advance_position(position_, T, stream_, key, tokens_, key != nullptr && publish ? counted_publish() : cuda::TokenPublish{});
        if (T == 1 && prefetch_step_start_) {
            // The next step's first GEMV reads these cold (no launch before it to overlap with).
            cuda::StepStart next;
            for (const DeviceMatrix* w : {&layers_[0].q, &layers_[0].k, &layers_[0].v, &layers_[0].a, &layers_[0].b, &layers_[0].g})
                if (w->data != nullptr) next.matrices[next.n++] = *w;  // kMaxMatrices: these six at most
            if (fold_embedding && key != nullptr) next.token = tokens_, next.embedding = embeddings_;
            cuda::prefetch_step_start(next, stream_);
        }
        return launch_status();
    }

    // Blocks of the mixer's output projection: at one token before a split MLP, half the SMs, so
    // the MLP's blocks start on the others (cuda::gemv_blocks_before_mlp_split); else the default.
    int64_t output_blocks(const DeviceLayer& L, int64_t T) const {
        return T == 1 && L.mlp_split && o_blocks_halved_ ? cuda::gemv_blocks_before_mlp_split() : 0;
    }

    mnemo_status gdn(const DeviceLayer& L, int64_t T, const cuda::InputNorm& in) {
        const LayerConfig& l = *L.config;
        const int64_t H = l.n_heads, dk = l.head_dim, dv = l.head_v_dim, kd = H * dk, vd = H * dv;
        // q and k side by side (one L2 norm over both above decode sizes); the convs run in place.
        float *q = b1_, *k = b1_ + T * kd, *v = b3_, *gate = b7_, *o = b4_;
        const int64_t K = l.use_short_conv ? l.conv_size : 1;
        const DeviceMatrix* proj[6] = {&L.q, &L.k, &L.v, &L.b, &L.a, &L.g};
        float* outs[6] = {q, k, v, gb_, ga_, gate};
        // The gates come out of the projections finished: beta = sigmoid(b), g the decay.
        cuda::Epilogue gates[6];
        gates[3].kind = cuda::Epilogue::sigmoid;
        gates[4] = cuda::Epilogue{cuda::Epilogue::gdn_decay, L.a_log, L.dt_bias};
        cuda::linear_batch(proj, outs, l.use_gate ? 6 : 5, h_, T, x_bf16_, stream_, &in, gates);
        cuda::ShortConv convs[3];
        const int64_t widths[3] = {kd, kd, vd};
        for (int j = 0; j < 3; ++j)
            convs[j] = cuda::ShortConv{outs[j], outs[j], l.use_short_conv ? L.conv[j] : nullptr, L.tails[j], widths[j]};
        const float scale = 1.0f / std::sqrt(static_cast<float>(dk));
        // A decode step's convs, norms and rule in one launch where it applies (the same bits).
        bool done = T == 1 && gdn_fused_ && cuda::gdn_decode_step(convs, K, ga_, gb_, L.state, o, H, dk, dv, scale, 1e-6f, stream_);
        if (!done) {
            cuda::short_conv_silu_l2(convs, T, K, dk, 1e-6f, stream_);
            done = T >= cuda::kGdnChunkedMinTokens
                       ? cuda::gated_delta_rule_chunked(q, k, v, ga_, gb_, L.state, o, T, H, dk, dv, scale, gdn_chunk_, stream_)
                       : cuda::gated_delta_rule(q, k, v, ga_, gb_, L.state, o, T, H, dk, dv, scale, stream_);
        }
        if (!done)
            return failf(MNEMO_ERR_UNSUPPORTED, "gated delta rule: key head size %lld", static_cast<long long>(dk));
        // o's per-head RMSNorm (times silu(gate) with a gate) on o_proj's way in.
        const cuda::InputNorm o_in{o, nullptr, nullptr, L.o_norm, model_->config.norm_eps, dv, l.use_gate ? gate : nullptr};
        cuda::linear(L.o, o, T, y_, x_bf16_, stream_, &o_in, output_blocks(L, T));
        return MNEMO_OK;
    }

    void nsa(const DeviceLayer& L, int64_t T, const cuda::InputNorm& in) {
        const LayerConfig& l = *L.config;
        float *q = b1_, *k = b2_, *v = b3_, *gates = b4_, *out = b5_;
        const DeviceMatrix* proj[4] = {&L.q, &L.k, &L.v, &L.g};
        float* outs[4] = {q, k, v, gates};
        cuda::linear_batch(proj, outs, 4, h_, T, x_bf16_, stream_, &in);
        cuda::rope(q, l.n_heads, k, l.n_kv_heads, nullptr, T, l.head_dim, position_, l.rope_theta, stream_);
        cuda::nsa_forward(L.nsa, q, k, v, gates, out, nsa_, T, position_, stream_);
        cuda::linear(L.o, out, T, y_, x_bf16_, stream_);
    }

    mnemo_status attention(const DeviceLayer& L, int64_t T, const cuda::InputNorm& in) {
        const LayerConfig& l = *L.config;
        const int64_t hd = l.head_dim;
        const bool side = T == 1 && L.decode_side, one_launch = T == 1 && L.decode_one_launch;
        float *q = b1_, *out = b5_;
        float *k = side ? L.step_k : b2_, *v = side ? L.step_v : b3_, *k_pre = side ? L.step_k_pre : b4_;
        // In one launch the projection's k goes where RoPE would have copied it (the scorer reads
        // keys before RoPE) and kv_decode rotates it into k.
        float* k_proj = one_launch && L.cache.pre_rope != nullptr ? k_pre : k;
        const DeviceMatrix* proj[3] = {&L.q, &L.k, &L.v};
        float* outs[3] = {q, k_proj, v};
        cuda::linear_batch(proj, outs, 3, h_, T, x_bf16_, stream_, &in);
        if (!one_launch)
            cuda::rope(q, l.n_heads, k, l.n_kv_heads, L.cache.pre_rope != nullptr ? k_pre : nullptr, T, hd, position_, l.rope_theta, stream_);
        cuda::KvChunk ch;
        ch.k = k;
        ch.k_pre = k_pre;
        ch.v = v;
        ch.n_tokens = T;
        ch.position = position_;
        cuda::KvScratch s = side ? L.step : kv_;
        s.splits = T == 1 ? L.decode_splits : L.splits;
        const cuda::LteScorerDevice* scorer = L.learned ? &L.scorer : nullptr;
        if (scorer != nullptr && !side) cuda::lte_score(L.cache, ch, *scorer, s, stream_);
        // A decode step on the side stream's terms commits inside kv_decode: no launch beside the
        // layers after this one, unless it scores.
        const bool commit_in_decode = one_launch && side;
        if (one_launch) {
            cuda::kv_decode(L.cache, q, l.n_heads, k_proj, k, v, position_, l.rope_theta, scorer, out, s, stream_, commit_in_decode);
        } else {
            cuda::kv_plan(L.cache, ch, scorer, s, stream_);
            cuda::kv_attend(L.cache, ch, q, l.n_heads, out, s, stream_, L.attn_precision);
        }
        if (side) {
            // Nothing later in the step reads this layer's cache: the commit (split launches only),
            // then (LTE, on scoring steps) the scores of the tokens that became final, run beside the
            // layers after this one. The token the plan moves out of the window was scored steps ago.
            const bool score = scorer != nullptr && score_now_;
            if (!commit_in_decode || score) MNEMO_TRY(side_.fork(stream_));
            if (!commit_in_decode) cuda::kv_commit(L.cache, ch, nullptr, s, side_.get());
            if (score) cuda::lte_score_committed(L.cache, ch, *scorer, side_kv_, side_.get(), score_period_);
        } else {
            cuda::kv_commit(L.cache, ch, scorer, s, stream_);
        }
        cuda::linear(L.o, out, T, y_, x_bf16_, stream_, nullptr, output_blocks(L, T));
        return MNEMO_OK;
    }

    const ModelImpl* model_ = nullptr;
    int32_t chunk_ = 0;
    uint64_t state_bytes_ = 0;
    cudaStream_t stream_ = nullptr;
    bool blas_ = false;
    std::shared_ptr<DeviceWeights> weights_;
    std::vector<void*> allocations_;
    uint64_t own_bytes_ = 0;
    std::byte* state_ = nullptr;
    int64_t* position_ = nullptr;
    std::vector<DeviceLayer> layers_;
    const float* final_norm_ = nullptr;
    DeviceMatrix lm_head_, embeddings_;
    float *x_ = nullptr, *x2_ = nullptr, *h_ = nullptr, *y_ = nullptr;
    int64_t* mlp_sums_ = nullptr;  // [2][hidden]: the split MLPs' sums (fixed point), when a layer splits
    float *b1_ = nullptr, *b2_ = nullptr, *b3_ = nullptr, *b4_ = nullptr, *b5_ = nullptr, *b7_ = nullptr;
    float *ga_ = nullptr, *gb_ = nullptr, *logits_ = nullptr;
    void* x_bf16_ = nullptr;
    int32_t* tokens_ = nullptr;
    int32_t* pinned_token_ = nullptr;
    int32_t last_sampled_ = -1;
    cuda::KvScratch kv_, side_kv_;
    SideStream side_;
    bool o_blocks_halved_ = true;  // MNEMO_CUDA_O_HALF (output_blocks)
    bool fold_embedding_ = true;   // MNEMO_CUDA_FOLD_EMBEDDING (forward)
    bool prefetch_step_start_ = true;  // MNEMO_CUDA_PREFETCH_STEP_START (forward)
    bool fused_argmax_ = true;     // MNEMO_CUDA_FUSED_ARGMAX (forward)
    unsigned long long* argmax_key_ = nullptr;
    bool argmax_ready_ = false;    // tokens_[0] holds the greedy choice over logits_ (forward's advance wrote it)
    // Chosen tokens published to the host (counted_publish; null: MNEMO_CUDA_PUBLISH_TOKEN=0):
    // mapped pinned memory, the device's count, and the host's counts of publishing launches
    // enqueued (and in the graph being captured).
    unsigned long long *published_ = nullptr, *published_on_device_ = nullptr;
    uint32_t* publish_count_ = nullptr;
    uint32_t publishes_ = 0, captured_publishes_ = 0;
    bool capturing_ = false;
    bool gdn_fused_ = true;        // MNEMO_CUDA_GDN_FUSED: decode steps through cuda::gdn_decode_step
    bool scores_behind_ = true;  // catch_up_scores() owed before the next single-token step
    cuda::NsaScratch nsa_;
    cuda::GdnChunkScratch gdn_chunk_;
    // Single-token steps' graphs, without and with the LTE scoring launches (launch_decode_graph).
    DecodeGraph feed_graphs_[2], greedy_graphs_[2], sample_graphs_[2];
    // LTE layers that score on the side stream: ≤ kLteDecodeBatch, ≤ each one's window slack (0: none).
    int32_t score_period_ = 0;
    int64_t single_steps_ = 0;
    bool score_now_ = true;      // whether the single-token step being captured scores
    bool greedy_ = true;
    cuda::SampleScratch sample_;
    cuda::SamplerConfig* sampler_config_ = nullptr;
    cuda::SamplerConfig* pinned_config_ = nullptr;
    int32_t *recent_ = nullptr, *recent_meta_ = nullptr;
};

}  // namespace

int cuda_device_count() {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError();
        return 0;
    }
    return n;
}

mnemo_status cuda_supports(const ModelImpl& model, const SessionOptions& options) {
    for (int32_t i = 0; i < model.config.n_layers; ++i) MNEMO_TRY(check_layer(model.config.layers[static_cast<size_t>(i)], i, options));
    return MNEMO_OK;
}

mnemo_status create_cuda_backend(const ModelImpl& model, const SessionOptions& options, const std::vector<std::unique_ptr<Mixer>>& mixers,
                                 const std::byte* host_state, uint64_t state_bytes, std::unique_ptr<DeviceBackend>* out) {
    if (cuda_device_count() == 0) return fail(MNEMO_ERR_NO_DEVICE, "no CUDA device is available; use MNEMO_BACKEND_CPU or AUTO");
    auto backend = std::make_unique<CudaBackend>();
    MNEMO_TRY(backend->init(model, options, mixers, host_state, state_bytes));
    *out = std::move(backend);
    return MNEMO_OK;
}

}  // namespace mnemo
