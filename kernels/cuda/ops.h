// The CUDA backend's device operations, callable from plain C++ (no CUDA headers
// needed by callers). Every pointer is a device pointer; every launch goes on `stream`
// and none synchronises, so a whole decode step can be captured in a CUDA graph.
// Positions are read from device memory (the session's position counter), never
// passed from the host, for the same reason.
//
// Each op mirrors a CPU kernel in kernels/cpu/ (the specification): the same formulas
// and the same state layouts, so a session's state block means the same bytes on
// both backends (snapshots and probes copy it to the host unchanged).
#pragma once

#include <cstddef>
#include <cstdint>

struct CUstream_st;

namespace mnemo::cuda {

using Stream = CUstream_st*;

// q8_0 is GGUF's q8_0 (value = d · q per block of 32 along a row) split into two arrays so
// every load is aligned: `data` holds the int8 quants [rows][cols], `scales` the fp16 d
// [rows][cols / 32]; cols is a multiple of 32.
enum class WeightType : int32_t { f32 = 0, bf16 = 1, q8_0 = 2 };

// A matrix W [rows = out, cols = in], row-major, with an optional f32 bias [out].
struct DeviceMatrix {
    const void* data = nullptr;
    WeightType type = WeightType::f32;
    int64_t rows = 0;
    int64_t cols = 0;
    const float* bias = nullptr;
    const void* scales = nullptr;  // q8_0 only
};
inline constexpr int64_t kQ8Block = 32;
// GGUF q8_0 blocks (fp16 d, then 32 int8; 34 bytes each) into the device layout's two arrays
// (host memory): quants[n_blocks · 32], scales[n_blocks].
void split_q8_0_blocks(const void* blocks, int64_t n_blocks, int8_t* quants, uint16_t* scales);

// Tokens up to which linear() uses its own GEMV kernel (weights read once for all
// rows); above it, cuBLAS.
inline constexpr int64_t kGemvMaxTokens = 8;
// Most matrices linear_batch() takes at once.
inline constexpr int kMaxLinearBatch = 8;

// cuBLAS is loaded at run time (dlopen), so libmnemo runs on machines without it.
// Returns false with a message if it cannot be loaded; linear() then uses the GEMV
// kernel for every size.
bool blas_init(Stream stream, const char** why);
void blas_shutdown();

// An RMSNorm on a linear layer's way in: sum = x + residual (the residual stream's next
// value; residual and sum may be null), then rms_norm(sum) · weight is the layer's input.
// At GEMV sizes every block recomputes it from x (one row of a few KB) instead of a
// launch of its own; above them it is materialised into the linear's `x` buffer first.
// sum must not alias x (other blocks still read x while block 0 writes sum).
// With `group` > 0 (a divisor of the row) each run of `group` values is normalised on its own
// with weight[0, group) (GDN's per-head output norm: add_rms_norm's sums), times silu(gate)
// when gate is set (rms_norm_gated's sums; gate rows like x's); no residual then. At one
// token the GEMV reads the gate before its programmatic wait, so the gate must come from a
// launch before the one the linear layer waits on (GDN: the projections, then the rule).
// `residual_fixed` instead of `residual`: the residual as mlp_split() sums it (64-bit fixed
// point); GEMV sizes only (the split MLP runs at one token).
struct InputNorm {
    const float* x = nullptr;
    const float* residual = nullptr;
    float* sum = nullptr;
    const float* weight = nullptr;
    float eps = 0.0f;
    int64_t group = 0;
    const float* gate = nullptr;
    const int64_t* residual_fixed = nullptr;
    // A decode step's first linear layer folds the embedding in (embedding_foldable): x is row
    // token[0] of `embedding` (read before the GEMV's wait: the token was written by an earlier
    // launch or copy, never by the kernel before it), block 0 writes it to `sum` (the residual
    // stream), and `clear` (n_clear values) is zeroed after the wait, as embed() zeroes it.
    const int32_t* token = nullptr;
    DeviceMatrix embedding;
    int64_t* clear = nullptr;
    int64_t n_clear = 0;
};
// Whether a GEMV at one token can fold the embedding of a row of `cols` values into its input
// norm (InputNorm::token): up to 1 024 values, without a residual or groups.
bool embedding_foldable(int64_t cols);

// y[T, out] = x[T, in] · Wᵀ (+ bias). x, y f32. `x_bf16` is scratch of T·in bf16
// values, used when cuBLAS multiplies bf16 weights; for q8_0 weights above GEMV sizes it
// holds rows·in more (linear_scratch_bf16 counts both): the matrix dequantised for cuBLAS.
// At GEMV sizes q8_0 is dequantised on the fly (f32 products, as the CPU); an int8 (dp4a)
// path was measured slower and less exact (docs/performance-cuda.md). With `norm`, the input is norm's;
// when cuBLAS runs, the norm's launch writes the rows straight into x_bf16 (bf16 / q8_0 weights) or
// into x (f32 weights), so x's contents afterwards are unspecified. `max_blocks` (> 0) caps the
// GEMV's grid (gemv_blocks_before_mlp_split). `argmax_key` (one token only, where the GEMV
// runs): the LM head also leaves argmax()'s choice over its outputs there, as a key that
// advance_position() turns into the token (it must hold 0 before: advance_position empties it).
void linear(const DeviceMatrix& w, float* x, int64_t n_tokens, float* y, void* x_bf16, Stream stream, const InputNorm* norm = nullptr,
            int64_t max_blocks = 0, unsigned long long* argmax_key = nullptr);
// A function applied to a linear layer's outputs (row = output index): in the GEMV at
// decode sizes, by a kernel of its own above them. gdn_decay is GDN's decay gate
// g = −exp(A_log[row]) · softplus(v + dt_bias[row]); sigmoid gives its beta.
struct Epilogue {
    enum Kind : int32_t { none = 0, sigmoid = 1, gdn_decay = 2 } kind = none;
    const float* a_log = nullptr;
    const float* dt_bias = nullptr;
};

// y[m] = x · w[m]ᵀ for n <= kMaxLinearBatch matrices of the same width reading the same x
// (a layer's q/k/v and gates): one GEMV launch for all at decode sizes; above them cuBLAS
// per matrix, x converted to bf16 once. `epilogues` (n of them, or null) per matrix; `max_blocks`
// as for linear().
void linear_batch(const DeviceMatrix* const* w, float* const* y, int n, float* x, int64_t n_tokens, void* x_bf16, Stream stream,
                  const InputNorm* norm = nullptr, const Epilogue* epilogues = nullptr, int64_t max_blocks = 0,
                  unsigned long long* argmax_key = nullptr);
// out = silu(x · gateᵀ) · (x · upᵀ) (the MLP's two projections and their product in one
// launch at decode sizes); `up_scratch` [T, rows] is used above them. There, with `out_bf16`
// set, the product goes to out_bf16 as bf16 instead (out then holds x · gateᵀ).
void linear_swiglu(const DeviceMatrix& gate, const DeviceMatrix& up, float* x, int64_t n_tokens, float* out, float* up_scratch,
                   void* x_bf16, Stream stream, const InputNorm* norm = nullptr, void* out_bf16 = nullptr);
// The MLP: y = down(silu(x · gateᵀ) · (x · upᵀ)), `hidden` [T, gate.rows] and `up_scratch` its
// scratch. Above GEMV sizes the product goes straight into x_bf16 for a lower-precision down.
void mlp(const DeviceMatrix& gate, const DeviceMatrix& up, const DeviceMatrix& down, float* x, int64_t n_tokens, float* hidden,
         float* up_scratch, float* y, void* x_bf16, Stream stream, const InputNorm* norm = nullptr);

// The MLP at one token in one launch, split over its rows: block b takes a run of the MLP's
// rows of gate and up and the same columns of down, so its SwiGLU values need no other block
// and every weight it reads is requested before the programmatic wait; its share of down's
// product is added into y_fixed with 64-bit integer atomics, in fixed point with
// kMlpFixedBits fractional bits, so the sum is the same whatever order the blocks arrive in.
// A share beyond ±2^23 saturates there. y_fixed (hidden values) must be zero on entry; `clear`
// (hidden values, may be null) is zeroed after the wait: the sum the next split MLP adds into,
// once the launch that read it has finished. The next layer's input norm reads y_fixed as
// InputNorm::residual_fixed. One launch instead of the GEMVs' two (gate/up, then down): 24 MLPs
// of the 0.4B shape in a chain 8.6 against 12.8 µs an MLP; in the graph-captured step ~18 µs
// (bench/results/cuda/2026-12-03/, 2026-12-04/). The blocks placed first (7/16 of them, while
// o_proj still runs) take up to 4 runs of 8 rows each, the others the rest: 624–626 against
// 639–640 µs a traced step (bench/results/cuda/2026-12-06/a_…; MNEMO_CUDA_MLP_EARLY_RUNS=0
// shares the rows evenly). Which rows a block sums changes the rounding of its share, not the
// determinism: the split depends only on the shape and the SM count.
// mlp_split_fits says which MLPs it takes: bf16 without biases, hidden 1024 (the paper's 0.4B
// shape), MLP rows a multiple of 8 and at most 32 a block on this device's SMs. `norm` as for
// linear(), without groups.
inline constexpr int kMlpFixedBits = 32;
bool mlp_split_fits(const DeviceMatrix& gate, const DeviceMatrix& up, const DeviceMatrix& down);
void mlp_split(const DeviceMatrix& gate, const DeviceMatrix& up, const DeviceMatrix& down, const InputNorm& norm, int64_t* y_fixed,
               int64_t* clear, Stream stream);
// Blocks for the GEMV launched just before a split MLP (a decode step's o_proj): half the SMs.
// A split MLP block takes a whole SM's registers, so it starts only on an SM no block of the
// kernel before it holds; with o_proj's 1 024 rows on half the SMs (the default grid takes 128),
// half the MLP's blocks load their weights while o_proj runs: graph decode of the 0.4B laLTE
// model 0.73 against 0.77 ms (bench/results/cuda/2026-12-04/).
int64_t gemv_blocks_before_mlp_split();

// bf16 values of x_bf16 scratch that linear() needs for n_tokens rows through `w`.
int64_t linear_scratch_bf16(const DeviceMatrix& w, int64_t n_tokens);

// x[t] = table[tokens[t]] as f32 (table rows of table.cols values). `clear` (n_clear values,
// may be null) is zeroed too: the split MLPs' first sums, at the start of a step.
void embed(const int32_t* tokens, int64_t n_tokens, const DeviceMatrix& table, float* x, Stream stream, int64_t* clear = nullptr,
           int64_t n_clear = 0);

// v = x + residual (residual may be null), written to `sum` when not null (sum may be x);
// y = v / sqrt(mean(v²) + eps) · w (y may be x). y may be null; y_bf16, when set, receives y
// rounded to bf16 (what cuBLAS reads for lower-precision weights, without a launch of its own).
void add_rms_norm(const float* x, const float* residual, float* sum, const float* weight, float* y, int64_t n_rows, int64_t dim,
                  float eps, Stream stream, void* y_bf16 = nullptr);
// y = rms_norm(x) · w · silu(gate) (rows of `dim`, gate rows alike; y may be x); y and y_bf16 as
// for add_rms_norm.
void rms_norm_gated(const float* x, const float* gate, const float* weight, float* y, int64_t n_rows, int64_t dim, float eps,
                    Stream stream, void* y_bf16 = nullptr);
// x = x / sqrt(sum(x²) + eps), in place.
void l2_norm(float* x, int64_t n_rows, int64_t dim, float eps, Stream stream);
// gate = silu(gate) · up; with out_bf16 set, the product goes there as bf16 instead.
void swiglu(float* gate, const float* up, int64_t n, Stream stream, void* out_bf16 = nullptr);

// Causal depthwise conv with carried tail (cpu/short_conv.h), SiLU after; or SiLU only
// when weight is null. x, y [T, C] (x may be y); weight [C, K]; tail [K−1, C]. Up to three
// (a GDN layer's q, k, v) in one launch, all with the same K (<= 8).
struct ShortConv {
    const float* x = nullptr;
    float* y = nullptr;
    const float* weight = nullptr;
    float* tail = nullptr;
    int64_t channels = 0;
};
struct ShortConvBatch {
    ShortConv convs[3];
};
void short_conv_silu(const ShortConv* convs, int n, int64_t n_tokens, int64_t kernel_size, Stream stream);
// A GDN layer's convs (q, k, v) then l2_norm of q and k per head of head_dim: at decode
// sizes one launch (the same sums, the same bits), above them the two ops.
void short_conv_silu_l2(const ShortConv (&qkv)[3], int64_t n_tokens, int64_t kernel_size, int64_t head_dim, float eps, Stream stream);

// Gated delta rule, token by token (cpu/gated_delta_rule.h), state [H, dk, dv] in place.
// q, k [T, H, dk] (L2-normalised), v [T, H, dv], g/beta [T, H]; out [T, H, dv].
bool gated_delta_rule(const float* q, const float* k, const float* v, const float* g, const float* beta, float* state,
                      float* out, int64_t n_tokens, int64_t n_heads, int64_t dk, int64_t dv, float scale, Stream stream);
// A decode step's (one token) short convs of q, k and v with silu, the q/k L2 norms (eps) and the
// gated delta rule in one launch, with the bits of short_conv_silu_l2 then gated_delta_rule (the
// convs' outputs are not written: only the rule reads them). Key head sizes 16 to 128, value heads
// of up to 256, sm_90 (the head's blocks form a cluster); false where it does not apply.
bool gdn_decode_step(const ShortConv (&qkv)[3], int64_t kernel_size, const float* g, const float* beta, float* state, float* out, int64_t H,
                     int64_t dk, int64_t dv, float scale, float eps, Stream stream);

// The same rule in chunked (WY) form for prefill (gdn_chunked.cu): one sequential step per
// kGdnChunk tokens. Its scratch holds per-token W and U_v rows, per-chunk P matrices,
// cumulative gates and chunk-start states; gdn_chunk_scratch_floats() gives the sizes (in floats)
// for a chunk of max_tokens (at most kGdnSliceTokens: longer inputs run in slices). Returns false for unsupported head sizes (as gated_delta_rule).
inline constexpr int64_t kGdnChunk = 64;
inline constexpr int64_t kGdnChunkedMinTokens = 32;  // below it the token-by-token form is faster
inline constexpr int64_t kGdnSliceTokens = 2048;      // longer inputs run in slices of this many tokens
struct GdnChunkScratch {
    float* w = nullptr;  // [T][H][dk]
    float* u = nullptr;  // [T][H][dv]
    float* p = nullptr;  // [chunks][H][kGdnChunk][kGdnChunk]
    float* g = nullptr;  // [T][H]
    float* h = nullptr;  // [chunks][H][dk][dv] the state at each chunk's start
};
int64_t gdn_chunk_scratch_floats(int64_t max_tokens, int64_t n_heads, int64_t dk, int64_t dv, int64_t* w, int64_t* u, int64_t* p,
                                 int64_t* g, int64_t* h);
bool gated_delta_rule_chunked(const float* q, const float* k, const float* v, const float* g, const float* beta, float* state,
                              float* out, int64_t n_tokens, int64_t n_heads, int64_t dk, int64_t dv, float scale,
                              const GdnChunkScratch& scratch, Stream stream);

// RoPE (cpu/rope.h) in place on q [T, q_heads, head_dim] and k [T, k_heads, head_dim] at
// positions *position + t; k's values before the rotation go to k_pre when it is not null.
void rope(float* q, int64_t q_heads, float* k, int64_t k_heads, float* k_pre, int64_t n_tokens, int64_t head_dim,
          const int64_t* position, float theta, Stream stream);

// ---------------------------------------------------------------- bounded KV cache
// The cache of runtime/kv_cache.h, same layout: per KV head `slots` entries = sink,
// retained, window ring; window_meta = {ring start, ring count}; sink_meta = {count}.
struct DeviceKvCache {
    float* keys = nullptr;       // [H][slots][hd]
    float* values = nullptr;     // [H][slots][hd]
    int64_t* positions = nullptr;  // [H][slots]
    float* scores = nullptr;       // [H][slots]
    float* pre_rope = nullptr;     // [window][H·hd] or null
    int64_t* window_meta = nullptr;
    int32_t* sink_meta = nullptr;
    int32_t n_kv_heads = 0;
    int32_t head_dim = 0;
    int32_t sink_capacity = 0;
    int32_t retained_capacity = 0;
    int64_t window_capacity = 0;
    int64_t slots = 0;
    bool learned = false;  // retained by LTE score (else leaving the window evicts)
};

// The chunk being added: its keys after and before RoPE and its values, [T, H·hd].
struct KvChunk {
    const float* k = nullptr;
    const float* k_pre = nullptr;
    const float* v = nullptr;
    int64_t n_tokens = 0;
    const int64_t* position = nullptr;  // device: position of the chunk's first token
};

// Scratch for one chunk (sizes from kv_scratch_floats()).
struct KvScratch {
    int64_t* meta = nullptr;     // [16] chunk-start and final bookkeeping
    int32_t* lists = nullptr;    // [H][sink + retained + T] sink/retained entries some token of the chunk sees (refs)
    int32_t* spans = nullptr;    // [H][sink + retained + T][2] chunk tokens [first, last) that see each list entry
    int32_t* counts = nullptr;   // [H] entries in each list
    int32_t* plan_work = nullptr;  // [H][kv_plan_work_ints] kv_plan's ranking of the retained candidates
    int32_t* window_counts = nullptr;  // [T] window entries visible to each token
    int32_t* sources = nullptr;  // [H][sink + retained] new content of each slot (or kUnchanged)
    float* new_scores = nullptr;  // [T + window][H] LTE scores computed this chunk
    float* partial = nullptr;     // [T][n_q_heads][splits][hd + 2] split attention partials
    int32_t splits = 1;
    float* lte_act[2] = {};       // LTE scorer activations, alternate layers (lte_act_floats() each)
    uint32_t* decode_arrivals = nullptr;  // [1] zeroed: kv_decode's blocks that have read the ring meta (commit)
};

struct LteScorerDevice {
    int32_t n_layers = 0;
    const float* weight[4] = {};  // layer l: [groups][out_per_group][k][in_per_group] (input channels innermost)
    const float* bias[4] = {};
    int32_t kernel_size[4] = {};
    int32_t dilation[4] = {};
    int32_t in_per_group[4] = {};
    int32_t out_per_group[4] = {};
    const float* proj_weight = nullptr;  // [groups][last_out_per_group]
    const float* proj_bias = nullptr;
    bool per_head_groups = false;  // routing_shared == "head": group h runs head h
    bool relu = false;             // routing: relu, else sigmoid − 0.5
    int32_t left = 0, right = 0;   // receptive-field contexts
    int64_t* next_unscored = nullptr;  // state
};

// Largest number of LTE stack layers supported (the paper uses 2).
inline constexpr int32_t kMaxLteLayers = 4;

// Scores every token that becomes final in this chunk (positions next_unscored ..
// end − right − 1) into scratch.new_scores: one launch per scorer layer, each row of each
// layer computed once.
void lte_score(const DeviceKvCache& cache, const KvChunk& chunk, const LteScorerDevice& scorer, const KvScratch& scratch,
               Stream stream);
// The same scores after kv_commit (which then ran without a scorer) has put the chunk's
// n_tokens rows into the ring: every token that waits for a score (from next_unscored to the
// chunk's end − right) is scored from the rows in the cache, each score going into its ring
// slot's score, then next_unscored moves on. Only scratch.lte_act is used, so it can run on a
// stream of its own while the next layers run: a decode step needs the score of a token only
// when it leaves the window, window_capacity − right steps later. `expected`: how many tokens
// the caller expects to wait (it sizes the grid; any number are scored). Decode steps score
// every score period of up to kLteDecodeBatch steps (the caller keeps it ≤ window_capacity −
// left − right, which also keeps every row in the ring). With n_tokens 0 it catches up on what a
// CPU-written state left unscored.
inline constexpr int32_t kLteDecodeBatch = 16;
void lte_score_committed(const DeviceKvCache& cache, const KvChunk& chunk, const LteScorerDevice& scorer, const KvScratch& scratch,
                         Stream stream, int32_t expected);
// Floats of each KvScratch::lte_act buffer for chunks of up to max_tokens.
int64_t lte_act_floats(const LteScorerDevice& scorer, int64_t n_kv_heads, int64_t head_dim, int64_t window_capacity, int64_t max_tokens);
// Plans the chunk (window → sink / retained / evicted, replace-min) with the cache's rules,
// token by token in effect but in parallel: the retained set after any token is the top
// (retained capacity) of the retained entries at the chunk start and the chunk's candidates so
// far (positive score; ranked by score, then lower position), so each entry's entering and
// eviction steps come from counting the entries ranked above it, and each new entry takes a
// free slot or the slot of the entry it evicts. Writes the list of sink/retained entries some
// token sees, with the tokens that see each (lists, spans, counts) and the window count of every
// token; then attention over them; then commits the new cache contents. q [T, n_q_heads, hd]
// after RoPE; out [T, n_q_heads, hd]. Scratch: KvScratch::lists and spans hold kv_list_entries
// entries, plan_work kv_plan_work_ints.
void kv_plan(const DeviceKvCache& cache, const KvChunk& chunk, const LteScorerDevice* scorer, const KvScratch& scratch,
             Stream stream);
int64_t kv_list_entries(const DeviceKvCache& cache, int64_t max_tokens);
int64_t kv_plan_work_ints(const DeviceKvCache& cache, int64_t max_tokens);
// Precision of kv_attend for chunks of two tokens or more: f32 on CUDA cores (the golden
// models' parity), or flash-attention style on tensor cores with q, k, v, p rounded to bf16 and
// f32 accumulation (for models whose weights are bf16 already; head sizes up to 128, compute
// capability 8.0 or later, else f32).
enum class AttnPrecision : int32_t { f32 = 0, bf16_tensor_cores = 1 };
void kv_attend(const DeviceKvCache& cache, const KvChunk& chunk, const float* q, int32_t n_q_heads, float* out,
               const KvScratch& scratch, Stream stream, AttnPrecision precision = AttnPrecision::f32);
// Whether kv_attend with bf16_tensor_cores takes the tensor-core kernel for chunks of this
// cache (and this device), rather than falling back to f32.
bool kv_attend_tensor_cores(const DeviceKvCache& cache, int32_t n_q_heads);
void kv_commit(const DeviceKvCache& cache, const KvChunk& chunk, const LteScorerDevice* scorer, const KvScratch& scratch,
               Stream stream);
// A decode step (one token) of an attention-family layer in one launch, in place of rope,
// kv_plan and kv_attend (+ its combine): RoPE of q and of the token's key (k_in, before RoPE,
// rotated into k_out; the same buffer or, when the cache keeps pre-RoPE keys, k_pre), kv_plan's
// step for the one token, and the attention over what the token sees. Writes what kv_plan
// writes for kv_commit (the cache's sink/retained positions and scores, scratch.meta,
// scratch.sources) and out [n_q_heads, hd]; not scratch.lists / counts / partial. It starts
// reading the cache before the kernel ahead of it has finished (programmatic dependent launch),
// so that kernel must not write this cache: the q/k/v projections or lte_score do not.
// commit: also do kv_commit's work for the token (without a scorer, as the side stream's commit
// does) and leave scratch.meta / scratch.sources alone; the cache is then the step's final one
// when the kernel ends. The ring meta that every block reads before its wait is written by head
// 0 once every block has counted itself in scratch.decode_arrivals (zero again afterwards).
// kv_decode_fits: whether this device and cache shape take it (compute capability 9.0 for
// thread-block clusters, head size a multiple of 4 up to 256, query groups up to 8, and the
// cache small enough for shared memory: bounded caches, not full attention at long context).
bool kv_decode_fits(const DeviceKvCache& cache, int32_t n_q_heads);
void kv_decode(const DeviceKvCache& cache, const float* q, int32_t n_q_heads, const float* k_in, float* k_out, const float* v,
               const int64_t* position, float rope_theta, const LteScorerDevice* scorer, float* out, const KvScratch& scratch,
               Stream stream, bool commit = false);

// ---------------------------------------------------------------- native sparse attention
// The NSA layer's state (mixers/nsa.cpp): every key/value row by position, the means of
// complete blocks, the count.
struct DeviceNsa {
    float* keys = nullptr;          // [H][capacity][hd]
    float* values = nullptr;
    float* block_keys = nullptr;    // [H][n_blocks][hd]
    float* block_values = nullptr;
    int64_t* count = nullptr;
    int32_t n_kv_heads = 0, n_q_heads = 0, head_dim = 0;
    int64_t capacity = 0, n_blocks = 0, block_size = 0, n_select = 0, window = 0;
};
struct NsaScratch {
    float* probs = nullptr;       // [T][H][G][n_blocks]
    float* importance = nullptr;  // [T][H][n_blocks]
};
// q [T, HQ, hd], k/v [T, H, hd] after RoPE; gates [T, HQ, 3] before the sigmoid (applied
// here, in place); out [T, HQ, hd].
void nsa_forward(const DeviceNsa& n, const float* q, const float* k, const float* v, float* gates, float* out, const NsaScratch& s,
                 int64_t n_tokens, const int64_t* position, Stream stream);

// ---------------------------------------------------------------- sampling, position
// Where a kernel that chooses the next token also hands it to the host: `word` is mapped
// pinned host memory, written (count << 32) | token after ++*count (device memory, never
// rewound), so the host waits for its own count of publishing launches by polling host memory
// instead of a copy and a stream synchronisation behind the step. Null `word`: not published.
struct TokenPublish {
    unsigned long long* word = nullptr;
    uint32_t* count = nullptr;
};
#ifdef __CUDACC__
// One thread: the kernel's token choice, published when asked. A plain 8-byte store reaches the
// host whole; the kernel's end (and the stream's) follows it.
__device__ inline void publish_token(const TokenPublish& p, int32_t token) {
    if (p.word == nullptr) return;
    const uint32_t c = ++*p.count;
    *reinterpret_cast<volatile unsigned long long*>(p.word) = (static_cast<unsigned long long>(c) << 32) | static_cast<uint32_t>(token);
}
#endif

// out_token = argmax(logits) (lowest index among ties, like the CPU sampler).
void argmax(const float* logits, int64_t n, int32_t* out_token, Stream stream, TokenPublish publish = {});

// Sampling on the device with the CPU sampler's rules (sdk/src/sampler.cpp, the
// specification): repetition penalty over the recent tokens (each once), then greedy, or
// temperature + top-k + top-p over the candidates sorted by logit (ties: lower id first)
// and one draw r = uniform · total, with the probabilities summed in the CPU's order.
struct SamplerConfig {        // device memory, written before a generate call
    float temperature;
    int32_t top_k;
    float top_p;
    float repetition_penalty;
    int32_t repetition_window;
    int32_t pad;
    double uniform;           // this step's draw in [0, 1), from the host's generator
};
// The recent tokens (repetition penalty): ring[kRecentCapacity], meta = {start, count}.
inline constexpr int32_t kRecentCapacity = 256;
struct SampleScratch {
    float* keys = nullptr;         // [2][n_vocab]
    int32_t* ids = nullptr;        // [2][n_vocab]
    int32_t* seen = nullptr;       // [n_vocab], zero between calls
    double* probs = nullptr;       // [n_vocab]
    void* sort_temp = nullptr;
    size_t sort_temp_bytes = 0;
};
// Bytes of SampleScratch::sort_temp for a vocabulary of n.
size_t sample_sort_temp_bytes(int64_t n);
// Appends *token to the recent ring (the token being fed).
void recent_push(int32_t* ring, int32_t* meta, const int32_t* token, Stream stream);
void sample(const float* logits, int64_t n_vocab, const SamplerConfig* config, const int32_t* ring, const int32_t* ring_meta,
            const SampleScratch& scratch, int32_t* out_token, Stream stream, TokenPublish publish = {});
// With argmax_key: token[0] = the greedy choice the LM head left there (linear), and the key is
// emptied for the next step (published with `publish`).
void advance_position(int64_t* position, int64_t n, Stream stream, unsigned long long* argmax_key = nullptr, int32_t* token = nullptr,
                      TokenPublish publish = {});
// What a decode step's first launch reads from memory: its GEMV's matrices and (with `token`) the
// embedding row it folds in. prefetch_step_start, the last launch of a step, requests them into
// L2 while the host reads the step's token and launches the next step (the GPU idles then).
struct StepStart {
    static constexpr int kMaxMatrices = 6;
    DeviceMatrix matrices[kMaxMatrices];
    int32_t n = 0;
    const int32_t* token = nullptr;
    DeviceMatrix embedding;
};
void prefetch_step_start(const StepStart& s, Stream stream);

// Last CUDA error as text (empty if none), clearing it.
const char* last_error();

}  // namespace mnemo::cuda
