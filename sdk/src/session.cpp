#include "session.h"

#include "cpu/activation.h"
#include "cpu/dtype.h"
#include "cpu/norm.h"
#include "error.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <thread>

namespace mnemo {
namespace {

constexpr size_t kRecentTokens = 256;

SessionOptions options_from(const mnemo_session_params& p) {
    SessionOptions o;
    o.max_context = p.max_context;
    o.chunk_tokens = p.chunk_tokens;
    o.policy = p.policy;
    o.policy_budget = p.policy_budget;
    o.policy_sink = p.policy_sink;
    return o;
}

// The int a C caller stored in an enum field: read as bytes, since a value outside
// the enumerators must not be loaded as the C++ enum (UBSan's -fsanitize=enum).
template <typename E>
int32_t enum_int(const E& e) {
    static_assert(sizeof(E) == sizeof(int32_t));
    int32_t v;
    std::memcpy(&v, &e, sizeof v);
    return v;
}

mnemo_status validate_params(const ModelImpl& model, const mnemo_session_params& p) {
    const int32_t backend = enum_int(p.backend), policy = enum_int(p.policy);
    if (backend == MNEMO_BACKEND_CUDA && cuda_device_count() == 0)
        return fail(MNEMO_ERR_NO_DEVICE,
#if MNEMO_HAVE_CUDA
                    "no CUDA device is available; use MNEMO_BACKEND_CPU or AUTO"
#else
                    "the CUDA backend is not available in this build (configure with -DMNEMO_CUDA=ON); use MNEMO_BACKEND_CPU or AUTO"
#endif
        );
    if (backend != MNEMO_BACKEND_AUTO && backend != MNEMO_BACKEND_CPU && backend != MNEMO_BACKEND_CUDA)
        return failf(MNEMO_ERR_INVALID_ARGUMENT, "unknown backend %d", backend);
    if (policy < MNEMO_POLICY_NONE || policy > MNEMO_POLICY_SNAPKV)
        return failf(MNEMO_ERR_INVALID_ARGUMENT, "unknown eviction policy %d", policy);
    if (p.n_threads < 0 || p.n_threads > 1024) return failf(MNEMO_ERR_INVALID_ARGUMENT, "n_threads = %d is outside [0, 1024]", p.n_threads);
    if (p.max_context < 0 || p.max_context > kMaxContextLimit)
        return failf(MNEMO_ERR_INVALID_ARGUMENT, "max_context = %lld is outside [0 (unlimited), %lld]", static_cast<long long>(p.max_context),
                     static_cast<long long>(kMaxContextLimit));
    if (p.chunk_tokens < 0 || p.chunk_tokens > (1 << 16))
        return failf(MNEMO_ERR_INVALID_ARGUMENT, "chunk_tokens = %d is outside [1, 65536] (or 0: the backend's choice, the default)",
                     p.chunk_tokens);
    if (p.policy_budget < 0 || p.policy_sink < 0)
        return fail(MNEMO_ERR_INVALID_ARGUMENT, "policy_budget and policy_sink must not be negative");
    const SessionOptions o = options_from(p);
    for (int32_t i = 0; i < model.config.n_layers; ++i) {
        const LayerConfig& l = model.config.layers[static_cast<size_t>(i)];
        MNEMO_TRY(mixer_module(l.mixer).check_options(l, i, o));
    }
    (void)model;
    return MNEMO_OK;
}

// Session-level scratch: residual stream, normed input, mixer/MLP outputs, logits.
struct SessionScratch {
    float *x, *h, *y, *gate, *up, *logits;
    int64_t* positions;
};

SessionScratch layout_session_scratch(const ModelConfig& c, int64_t chunk, ArenaLayout& scratch) {
    SessionScratch s;
    s.x = scratch.take<float>(static_cast<uint64_t>(chunk * c.hidden_size));
    s.h = scratch.take<float>(static_cast<uint64_t>(chunk * c.hidden_size));
    s.y = scratch.take<float>(static_cast<uint64_t>(chunk * c.hidden_size));
    s.gate = scratch.take<float>(static_cast<uint64_t>(chunk * c.intermediate_size));
    s.up = scratch.take<float>(static_cast<uint64_t>(chunk * c.intermediate_size));
    s.logits = scratch.take<float>(static_cast<uint64_t>(c.vocab_size));
    s.positions = scratch.take<int64_t>(static_cast<uint64_t>(chunk));
    return s;
}

mnemo_status build_mixers(const ModelImpl& model, const SessionOptions& o, std::vector<std::unique_ptr<Mixer>>* mixers,
                          MemoryPlan* plan) {
    mixers->clear();
    plan->layer_state_bytes.clear();
    uint64_t state = 8;  // the session position (int64), rounded below
    uint64_t mixer_scratch = 0;
    for (int32_t i = 0; i < model.config.n_layers; ++i) {
        const LayerConfig& l = model.config.layers[static_cast<size_t>(i)];
        auto m = mixer_module(l.mixer).create(model, i, o);
        if (!m) return failf(MNEMO_ERR_UNSUPPORTED, "layer %d (%s) cannot run on the CPU", i, mnemo_mixer_kind_name(l.mixer));
        ArenaLayout st, sc;
        m->layout(st, sc, o.chunk_tokens);
        plan->layer_state_bytes.push_back(st.bytes());
        state = ArenaLayout::add(state, st.bytes());
        mixer_scratch = std::max(mixer_scratch, sc.bytes());
        mixers->push_back(std::move(m));
    }
    ArenaLayout session_scratch;
    layout_session_scratch(model.config, o.chunk_tokens, session_scratch);
    // Sizes saturate rather than wrap (arena.h): a plan past 2^64 bytes is refused.
    plan->state_bytes = ArenaLayout::round_up(state);
    plan->scratch_bytes = ArenaLayout::add(session_scratch.bytes(), mixer_scratch);
    plan->total_bytes = ArenaLayout::add(plan->state_bytes, plan->scratch_bytes);
    plan->bounded = model.config.bounded() || o.policy != MNEMO_POLICY_NONE;
    if (plan->total_bytes == ArenaLayout::kOverflow)
        return fail(MNEMO_ERR_TOO_LARGE, "the session's memory plan overflows 64 bits; lower max_context, policy_budget or policy_sink");
    return MNEMO_OK;
}

// AUTO runs on CUDA when a device exists and every layer can run there; CUDA insists.
bool wants_cuda(const ModelImpl& model, const mnemo_session_params& params) {
    return params.backend == MNEMO_BACKEND_CUDA ||
           (params.backend == MNEMO_BACKEND_AUTO && cuda_device_count() > 0 && cuda_supports(model, options_from(params)) == MNEMO_OK);
}

// chunk_tokens 0 is the backend's choice: kCpuChunkTokens on the CPU, where larger chunks buy
// little and cost scratch; kCudaChunkTokens on CUDA, where a chunk's kernels need thousands of
// rows to fill the GPU (docs/performance-cuda.md: laLTE 0.4B prefill at 16K on an H100, 113K tok/s
// in chunks of 1024, 147K in 2048, 159K in 4096 for 0.3 GiB more than 2048).
mnemo_session_params resolve_chunk(mnemo_session_params params, bool on_cuda) {
    if (params.chunk_tokens == 0) params.chunk_tokens = on_cuda ? kCudaChunkTokens : kCpuChunkTokens;
    return params;
}

}  // namespace

mnemo_status plan_session(const ModelImpl& model, const mnemo_session_params& params_in, MemoryPlan* plan) {
    MNEMO_TRY(validate_params(model, params_in));
    const mnemo_session_params params = resolve_chunk(params_in, wants_cuda(model, params_in));
    std::vector<std::unique_ptr<Mixer>> mixers;
    return build_mixers(model, options_from(params), &mixers, plan);
}

mnemo_status create_session(const ModelImpl& model, const mnemo_session_params& params_in, std::unique_ptr<SessionImpl>* out) {
    MNEMO_TRY(validate_params(model, params_in));
    const bool on_cuda = wants_cuda(model, params_in);
    const mnemo_session_params params = resolve_chunk(params_in, on_cuda);
    const SessionOptions o = options_from(params);
    std::vector<std::unique_ptr<Mixer>> mixers;
    MemoryPlan plan;
    MNEMO_TRY(build_mixers(model, o, &mixers, &plan));
    if (params.budget_bytes > 0 && plan.total_bytes > params.budget_bytes)
        return failf(MNEMO_ERR_BUDGET,
                     "the session needs %llu bytes (state %llu + scratch %llu) but the budget is %llu bytes; raise budget_bytes, "
                     "lower max_context / chunk_tokens, or use an eviction policy",
                     static_cast<unsigned long long>(plan.total_bytes), static_cast<unsigned long long>(plan.state_bytes),
                     static_cast<unsigned long long>(plan.scratch_bytes), static_cast<unsigned long long>(params.budget_bytes));
    std::unique_ptr<SessionImpl> session;
    try {
        session = std::make_unique<SessionImpl>(model, params, o, std::move(mixers), std::move(plan));
    } catch (const std::bad_alloc&) {
        return failf(MNEMO_ERR_OUT_OF_MEMORY, "cannot allocate the session's %llu planned bytes",
                     static_cast<unsigned long long>(plan.total_bytes));
    }
    if (on_cuda) {  // CUDA insists (and says why not); AUTO falls back to the CPU
        std::unique_ptr<DeviceBackend> device;
        const mnemo_status s = create_cuda_backend(model, o, session->mixers(), session->state_data(), session->state_bytes(), &device);
        if (s != MNEMO_OK && params.backend == MNEMO_BACKEND_CUDA) return s;
        if (s == MNEMO_OK) session->attach_device(std::move(device));
    }
    *out = std::move(session);
    return MNEMO_OK;
}

SessionImpl::SessionImpl(const ModelImpl& model, const mnemo_session_params& params, SessionOptions options,
                         std::vector<std::unique_ptr<Mixer>> mixers, MemoryPlan plan)
    : model_(model), params_(params), options_(options), mixers_(std::move(mixers)), plan_(std::move(plan)),
      pool_(params.n_threads > 0 ? params.n_threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))),
      arena_(plan_.total_bytes) {
    const ModelConfig& c = model.config;
    // State first (layer by layer, exactly as planned), then the shared scratch.
    std::byte* base = arena_.data();
    position_ = reinterpret_cast<int64_t*>(base);
    uint64_t offset = 64;
    std::byte* scratch_base = base + plan_.state_bytes;
    ArenaLayout session_scratch(scratch_base);
    const SessionScratch s = layout_session_scratch(c, options_.chunk_tokens, session_scratch);
    std::byte* mixer_scratch_base = scratch_base + session_scratch.bytes();
    for (size_t i = 0; i < mixers_.size(); ++i) {
        ArenaLayout st(base + offset), sc(mixer_scratch_base);
        mixers_[i]->layout(st, sc, options_.chunk_tokens);
        offset += st.bytes();
        mixers_[i]->reset();
    }
    x_ = s.x; h_ = s.h; y_ = s.y; gate_ = s.gate; up_ = s.up; logits_ = s.logits; positions_ = s.positions;
    for (int32_t i = 0; i < c.n_layers; ++i) {
        const std::string p = "model.layers." + std::to_string(i) + ".";
        attn_norm_.push_back(f32_tensor(model, p + "attn_norm.weight"));
        mlp_norm_.push_back(f32_tensor(model, p + "mlp_norm.weight"));
        gate_proj_.push_back(linear_weight(model, p + "mlp.gate_proj.weight"));
        up_proj_.push_back(linear_weight(model, p + "mlp.up_proj.weight"));
        down_proj_.push_back(linear_weight(model, p + "mlp.down_proj.weight"));
    }
    final_norm_ = f32_tensor(model, "model.norm.weight");
    lm_head_ = linear_weight(model, c.tie_word_embeddings ? "model.embeddings.weight" : "lm_head.weight");
    recent_.reserve(kRecentTokens);
    *position_ = 0;
}

mnemo_status SessionImpl::check_state() const {
    const int64_t pos = *position_;
    const int64_t limit = options_.max_context > 0 ? options_.max_context : kMaxPosition;
    if (pos < 0 || pos > limit)
        return failf(MNEMO_ERR_CORRUPT, "the state's position %lld is outside [0, %lld]", static_cast<long long>(pos),
                     static_cast<long long>(limit));
    std::string why;
    for (size_t i = 0; i < mixers_.size(); ++i)
        if (!mixers_[i]->state_consistent(pos, &why))
            return failf(MNEMO_ERR_CORRUPT, "layer %zu (%s) state is inconsistent at position %lld: %s", i,
                         mnemo_mixer_kind_name(model_.config.layers[i].mixer), static_cast<long long>(pos), why.c_str());
    return MNEMO_OK;
}

void SessionImpl::reset() {
    host_state_stale_ = false;  // the mirror is rewritten whole and uploaded
    for (auto& m : mixers_) m->reset();
    *position_ = 0;
    has_logits_ = false;
    failed_ = false;
    recent_.clear();
    if (device_ && device_->upload_state(arena_.data()) != MNEMO_OK) failed_ = true;
}

mnemo_status SessionImpl::check_feed(const int32_t* tokens, size_t n) const {
    if (failed_) return fail(MNEMO_ERR_STATE, "the session failed earlier; call mnemo_session_reset before feeding it again");
    if (n == 0) return fail(MNEMO_ERR_INVALID_ARGUMENT, "no tokens to feed (n_tokens = 0)");
    if (tokens == nullptr) return fail(MNEMO_ERR_INVALID_ARGUMENT, "tokens is NULL");
    const int32_t vocab = model_.config.vocab_size;
    for (size_t i = 0; i < n; ++i)
        if (tokens[i] < 0 || tokens[i] >= vocab)
            return failf(MNEMO_ERR_OUT_OF_RANGE, "token %zu = %d is outside the vocabulary [0, %d)", i, tokens[i], vocab);
    if (options_.max_context > 0 && *position_ + static_cast<int64_t>(n) > options_.max_context)
        return failf(MNEMO_ERR_OUT_OF_RANGE, "feeding %zu tokens at position %lld would exceed max_context = %lld", n,
                     static_cast<long long>(*position_), static_cast<long long>(options_.max_context));
    if (n > static_cast<uint64_t>(kMaxPosition - *position_))
        return failf(MNEMO_ERR_OUT_OF_RANGE, "feeding %zu tokens at position %lld would exceed the largest position 2^53", n,
                     static_cast<long long>(*position_));
    return MNEMO_OK;
}

mnemo_status SessionImpl::feed(const int32_t* tokens, size_t n, float* all_logits, const BlockObserver& observe) {
    MNEMO_TRY(check_feed(tokens, n));
    if (device_ && (all_logits != nullptr || observe))
        return fail(MNEMO_ERR_UNSUPPORTED, "per-token logits and block observers need the CPU backend (MNEMO_BACKEND_CPU)");
    const int32_t vocab = model_.config.vocab_size;
    const int64_t chunk = options_.chunk_tokens;
    for (size_t done = 0; done < n;) {
        if (params_.cancel != nullptr && params_.cancel(params_.cancel_user_data) != 0)
            return failf(MNEMO_ERR_CANCELLED, "cancelled after %zu of %zu tokens (position %lld); the session stays usable", done, n,
                         static_cast<long long>(*position_));
        const int64_t m = std::min<int64_t>(chunk, static_cast<int64_t>(n - done));
        const mnemo_status s = feed_chunk(tokens + done, m, all_logits != nullptr ? all_logits + done * static_cast<size_t>(vocab) : nullptr,
                                          observe);
        if (s != MNEMO_OK) {
            failed_ = true;
            return s;
        }
        done += static_cast<size_t>(m);
    }
    return MNEMO_OK;
}

mnemo_status SessionImpl::feed_chunk(const int32_t* tokens, int64_t T, float* all_logits, const BlockObserver& observe) {
    if (device_) {
        MNEMO_TRY(device_->feed_chunk(tokens, T));
        host_state_stale_ = true;
        host_logits_stale_ = true;
        advanced(tokens, T);
        return MNEMO_OK;
    }
    const ModelConfig& c = model_.config;
    const int64_t d = c.hidden_size, f = c.intermediate_size;
    const GgufTensor* emb = model_.tensor("model.embeddings.weight");
    const auto emb_type = static_cast<cpu::DType>(emb->type);
    const int64_t emb_row = cpu::row_bytes(emb_type, d);
    for (int64_t t = 0; t < T; ++t) {
        cpu::row_to_f32(emb_type, emb->data + static_cast<int64_t>(tokens[t]) * emb_row, x_ + t * d, d);
        positions_[t] = *position_ + t;
    }
    ForwardContext ctx;
    ctx.pool = &pool_;
    ctx.positions = positions_;
    ctx.n_tokens = T;
    ctx.events.fn = eviction_fn_;
    ctx.events.user_data = eviction_user_;
    for (int32_t i = 0; i < c.n_layers; ++i) {
        ctx.events.layer = i;
        cpu::rms_norm({x_, d, h_, d, T, d}, attn_norm_[static_cast<size_t>(i)], c.norm_eps, &pool_);
        mixers_[static_cast<size_t>(i)]->forward(ctx, h_, y_);
        for (int64_t j = 0; j < T * d; ++j) x_[j] += y_[j];
        cpu::rms_norm({x_, d, h_, d, T, d}, mlp_norm_[static_cast<size_t>(i)], c.norm_eps, &pool_);
        apply_linear(gate_proj_[static_cast<size_t>(i)], h_, T, gate_, &pool_);
        apply_linear(up_proj_[static_cast<size_t>(i)], h_, T, up_, &pool_);
        cpu::swiglu(gate_, up_, gate_, T * f);
        apply_linear(down_proj_[static_cast<size_t>(i)], gate_, T, y_, &pool_);
        for (int64_t j = 0; j < T * d; ++j) x_[j] += y_[j];
        if (observe) observe(i, x_, T, d);
    }
    // Logits: every position when asked (tests), else only the last token's.
    if (all_logits != nullptr) {
        cpu::rms_norm({x_, d, h_, d, T, d}, final_norm_, c.norm_eps, &pool_);
        if (observe) observe(c.n_layers, h_, T, d);
        apply_linear(lm_head_, h_, T, all_logits, &pool_);
        std::memcpy(logits_, all_logits + (T - 1) * c.vocab_size, static_cast<size_t>(c.vocab_size) * sizeof(float));
    } else {
        cpu::rms_norm({x_ + (T - 1) * d, d, h_, d, 1, d}, final_norm_, c.norm_eps, &pool_);
        apply_linear(lm_head_, h_, 1, logits_, &pool_);
    }
    advanced(tokens, T);
    return MNEMO_OK;
}

void SessionImpl::advanced(const int32_t* tokens, int64_t T) {
    has_logits_ = true;
    *position_ += T;  // on a device backend the mirror's counter follows the device's
    for (int64_t t = 0; t < T; ++t) {
        if (recent_.size() == kRecentTokens) recent_.erase(recent_.begin());
        recent_.push_back(tokens[t]);
    }
}

const float* SessionImpl::logits() const {
    if (!has_logits_) return nullptr;
    if (device_ && host_logits_stale_) {
        if (device_->download_logits(logits_) != MNEMO_OK) return nullptr;
        host_logits_stale_ = false;
    }
    return logits_;
}

void SessionImpl::sync_host_state() const {
    if (!device_ || !host_state_stale_) return;
    // A failed copy leaves the mirror as it was; the device error is the thread's last error.
    if (device_->download_state(const_cast<Arena&>(arena_).data()) == MNEMO_OK) host_state_stale_ = false;
}

void SessionImpl::state_restored() {
    has_logits_ = false;
    failed_ = false;
    recent_.clear();
    if (device_ && device_->upload_state(arena_.data()) != MNEMO_OK) failed_ = true;
    host_state_stale_ = false;
}

mnemo_status SessionImpl::set_eviction_callback(mnemo_eviction_fn fn, void* user_data) {
    if (device_ && fn != nullptr)
        return fail(MNEMO_ERR_UNSUPPORTED,
                    "eviction events are reported by the CPU backend only; create the session with MNEMO_BACKEND_CPU to receive them");
    eviction_fn_ = fn;
    eviction_user_ = user_data;
    return MNEMO_OK;
}

mnemo_status SessionImpl::begin_device_sampling(const mnemo_sampler_params& sampler) {
    if (!device_) return fail(MNEMO_ERR_STATE, "the session has no device backend");
    return device_->begin_sampling(sampler, recent_);
}

mnemo_status SessionImpl::device_sample(double uniform, int32_t* token) {
    if (!device_ || !has_logits_) return fail(MNEMO_ERR_STATE, "no logits on the device");
    const mnemo_status s = device_->sample(uniform, token);
    if (s != MNEMO_OK) failed_ = true;  // a device failure (also one of a feed that did not wait)
    return s;
}

mnemo_status SessionImpl::device_greedy(int32_t* token, bool* done) {
    *done = false;
    if (!device_ || !has_logits_ || !host_logits_stale_) return MNEMO_OK;
    if (const mnemo_status s = device_->argmax(token); s != MNEMO_OK) {
        failed_ = true;  // a device failure (also one of a feed that did not wait)
        return s;
    }
    *done = true;
    return MNEMO_OK;
}

mnemo_status SessionImpl::feed_device_sample(int32_t token, double uniform, int32_t* next) {
    MNEMO_TRY(check_feed(&token, 1));
    if (params_.cancel != nullptr && params_.cancel(params_.cancel_user_data) != 0)
        return failf(MNEMO_ERR_CANCELLED, "cancelled at position %lld; the session stays usable", static_cast<long long>(*position_));
    const mnemo_status s = device_->feed_sample(token, uniform, next);
    if (s != MNEMO_OK) {
        failed_ = true;
        return s;
    }
    host_state_stale_ = true;
    host_logits_stale_ = true;
    advanced(&token, 1);
    return MNEMO_OK;
}

}  // namespace mnemo
