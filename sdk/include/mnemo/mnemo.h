/*
 * mnemo.h — the public C API of Mnemo, an on-device runtime for hybrid linear /
 * sparse-attention language models whose per-sequence memory is bounded.
 *
 * Conventions (see docs/api.md):
 *  - Every call returns a mnemo_status; on failure mnemo_last_error() returns a
 *    thread-local message naming what went wrong and where. No call aborts or exits.
 *  - Parameter and info structs begin with `struct_size`; obtain them from the
 *    matching mnemo_*_default_params() / fill `struct_size = sizeof(...)` so the ABI
 *    can grow.
 *  - Thread safety (tests/concurrency, run under ThreadSanitizer in CI):
 *    - A mnemo_model is immutable after load. Every function taking a
 *      `const mnemo_model*` (info, tokenize, detokenize, memory plans, hash, session
 *      creation, mnemo_store_ask) may run on any number of threads at once.
 *    - A mnemo_session is used by one thread at a time (no internal lock): calls on
 *      one session from two threads at once are a data race. Sessions are
 *      independent of each other, also on one model; a session may move between
 *      threads if the caller orders the hand-over (mutex, join). Results do not
 *      depend on the thread: N threads with a session each compute bit for bit what
 *      one thread computes. Each session owns a pool of n_threads - 1 worker threads.
 *    - A mnemo_store handle is used by one thread at a time; several handles (in one
 *      process or several) may use one database file concurrently. A session passed
 *      to a store call belongs to that call until it returns.
 *    - Callbacks (cancel, on_token, eviction, progress) run synchronously on the
 *      thread that made the call.
 *    - mnemo_last_error() is per thread.
 *  - Handles: the free functions accept NULL (no-op). A model must outlive every
 *    session created from it. Using a handle after its free function, or freeing it
 *    twice, is undefined behaviour, as with free(): handles are not validated.
 *
 * This header is C11 and exposes nothing from C++.
 */
#ifndef MNEMO_H
#define MNEMO_H

#include <stddef.h>
#include <stdint.h>

#define MNEMO_VERSION_MAJOR 0
#define MNEMO_VERSION_MINOR 1
#define MNEMO_VERSION_PATCH 0
#define MNEMO_VERSION_STRING "0.1.0"
/* Single comparable number: major * 10000 + minor * 100 + patch. */
#define MNEMO_VERSION (MNEMO_VERSION_MAJOR * 10000 + MNEMO_VERSION_MINOR * 100 + MNEMO_VERSION_PATCH)

#if defined(_WIN32)
#  if defined(MNEMO_BUILDING_LIBRARY)
#    define MNEMO_API __declspec(dllexport)
#  else
#    define MNEMO_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__)
#  define MNEMO_API __attribute__((visibility("default")))
#else
#  define MNEMO_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- status codes */

typedef enum mnemo_status {
    MNEMO_OK = 0,
    MNEMO_ERR_INVALID_ARGUMENT = 1, /* NULL handle, bad parameter value, struct_size too small */
    MNEMO_ERR_IO = 2,               /* file cannot be opened, read, written or mapped */
    MNEMO_ERR_BAD_MAGIC = 3,        /* the file is not of the expected format */
    MNEMO_ERR_TRUNCATED = 4,        /* the file ends before a structure it declares */
    MNEMO_ERR_CORRUPT = 5,          /* malformed content: duplicate keys, invalid UTF-8, bad offsets */
    MNEMO_ERR_UNSUPPORTED = 6,      /* valid but unsupported: format version, tensor type, mixer */
    MNEMO_ERR_TOO_LARGE = 7,        /* sizes whose byte count overflows or exceeds the file */
    MNEMO_ERR_MODEL_INVALID = 8,    /* metadata and tensors contradict each other */
    MNEMO_ERR_OUT_OF_MEMORY = 9,
    MNEMO_ERR_BUFFER_TOO_SMALL = 10, /* caller's output buffer too small; the needed size is returned */
    MNEMO_ERR_OUT_OF_RANGE = 11,    /* token id or index outside its valid range */
    MNEMO_ERR_BUDGET = 12,          /* the session's memory plan exceeds the caller's budget */
    MNEMO_ERR_UNBOUNDED = 13,       /* an unbounded mixer needs max_context or an eviction policy */
    MNEMO_ERR_CANCELLED = 14,       /* the caller's cancellation callback stopped the work */
    MNEMO_ERR_STATE = 15,           /* the call is not valid in the handle's current state */
    MNEMO_ERR_MISMATCH = 16,        /* a snapshot belongs to another model or version */
    MNEMO_ERR_NO_DEVICE = 17,       /* the requested backend has no usable device */
    MNEMO_ERR_TOKENIZER = 18,       /* the model has no tokenizer or it failed */
    MNEMO_ERR_INTERNAL = 19
} mnemo_status;

/* Human-readable name of a status code ("MNEMO_ERR_TRUNCATED", ...). Never NULL. */
MNEMO_API const char* mnemo_status_name(mnemo_status status);

/* Message describing the last failure on the calling thread ("" if none). The
 * pointer stays valid until the next Mnemo call on this thread. */
MNEMO_API const char* mnemo_last_error(void);

/* ---------------------------------------------------------------- version */

/* Runtime library version as MNEMO_VERSION computes it; compare with the macro to
 * detect a header/library mismatch. */
MNEMO_API int mnemo_version(void);
MNEMO_API const char* mnemo_version_string(void);

/* ---------------------------------------------------------------- models */

typedef struct mnemo_model mnemo_model;

typedef struct mnemo_model_params {
    size_t struct_size;
    int use_mmap;  /* 1 (default): map the file; 0: read it into memory */
} mnemo_model_params;

MNEMO_API mnemo_model_params mnemo_model_default_params(void);

/* Loads a GGUF model file. On success *out_model owns the model; free it with
 * mnemo_model_free. params may be NULL for defaults. */
MNEMO_API mnemo_status mnemo_model_load(const char* path, const mnemo_model_params* params,
                                        mnemo_model** out_model);
MNEMO_API void mnemo_model_free(mnemo_model* model);

typedef enum mnemo_mixer_kind {
    MNEMO_MIXER_GDN = 0,  /* Gated DeltaNet (linear attention), fixed state */
    MNEMO_MIXER_SWA = 1,  /* sliding-window softmax attention, fixed state */
    MNEMO_MIXER_LTE = 2,  /* SWA + sink + learnable token eviction, fixed state */
    MNEMO_MIXER_NSA = 3,  /* native sparse attention, grows with context */
    MNEMO_MIXER_ATTN = 4  /* full softmax attention, grows with context */
} mnemo_mixer_kind;

/* Short lowercase name of a mixer kind ("gdn", "swa", "lte", "nsa", "attn"). */
MNEMO_API const char* mnemo_mixer_kind_name(mnemo_mixer_kind kind);

typedef struct mnemo_model_info {
    size_t struct_size;
    const char* name;          /* general.name, may be "" */
    const char* architecture;  /* "mnemo-hybrid" */
    int32_t vocab_size;
    int32_t n_layers;
    int32_t hidden_size;
    int32_t intermediate_size;
    int32_t max_position_embeddings; /* the training context length */
    int32_t bos_token_id;            /* -1 if none */
    int32_t eos_token_id;            /* -1 if none */
    int32_t tied_embeddings;         /* 1 if the LM head is the embedding matrix */
    uint64_t n_params;
    uint64_t weight_bytes;
    int32_t bounded;                 /* 1 if every layer's state is fixed-size */
} mnemo_model_info;

/* Fills *info (set info->struct_size = sizeof(*info) first). Strings are owned by
 * the model. */
MNEMO_API mnemo_status mnemo_model_get_info(const mnemo_model* model, mnemo_model_info* info);

typedef struct mnemo_layer_info {
    size_t struct_size;
    mnemo_mixer_kind mixer;
    int32_t n_heads;       /* query heads (GDN: heads) */
    int32_t n_kv_heads;    /* key/value heads (GDN: = n_heads) */
    int32_t head_dim;      /* key head dim */
    int32_t head_v_dim;    /* value head dim */
    int32_t window_size;   /* the paper's window_size: SWA sees that many tokens incl. the current one, LTE
                            * window_size past tokens plus the current one, NSA its window branch; else 0 */
    int32_t sink_size;     /* LTE: never-evicted first tokens; else 0 */
    int32_t buffer_size;   /* LTE: retained capacity incl. the sink (paper's buffer_size); else 0 */
    int32_t block_size;    /* NSA: compression/selection block; else 0 */
    int32_t block_count;   /* NSA: selected blocks per query; else 0 */
    int32_t conv_size;     /* GDN: short-conv kernel; else 0 */
} mnemo_layer_info;

MNEMO_API mnemo_status mnemo_model_get_layer_info(const mnemo_model* model, int32_t layer,
                                                  mnemo_layer_info* info);

/* ---------------------------------------------------------------- tokenizer */

/* Converts UTF-8 text to token ids. If out_tokens is too small (or NULL with
 * capacity 0), returns MNEMO_ERR_BUFFER_TOO_SMALL and sets *out_count to the number
 * needed. add_bos prepends the model's BOS token when it has one. */
MNEMO_API mnemo_status mnemo_tokenize(const mnemo_model* model, const char* text, size_t text_len,
                                      int add_bos, int32_t* out_tokens, size_t capacity,
                                      size_t* out_count);

/* Converts token ids to UTF-8 text (not NUL-terminated unless room remains; *out_len
 * excludes the NUL). MNEMO_ERR_BUFFER_TOO_SMALL with *out_len = bytes needed. */
MNEMO_API mnemo_status mnemo_detokenize(const mnemo_model* model, const int32_t* tokens,
                                        size_t n_tokens, char* out_text, size_t capacity,
                                        size_t* out_len);

/* ---------------------------------------------------------------- sessions */

typedef struct mnemo_session mnemo_session;

typedef enum mnemo_backend {
    MNEMO_BACKEND_AUTO = 0,
    MNEMO_BACKEND_CPU = 1,
    MNEMO_BACKEND_CUDA = 2
} mnemo_backend;

/* Training-free eviction policies for attn/swa/nsa layers (laLTE layers always use
 * their learned scorer). With a policy, each KV head keeps `policy_sink` first tokens
 * plus at most `policy_budget` further tokens, so the layer's state is bounded. */
typedef enum mnemo_policy {
    MNEMO_POLICY_NONE = 0,       /* keep everything the mixer keeps (attn: all; swa: window) */
    MNEMO_POLICY_STREAMING = 1,  /* StreamingLLM: sink + most recent tokens */
    MNEMO_POLICY_H2O = 2,        /* heavy hitters: accumulated attention probability */
    MNEMO_POLICY_TOVA = 3,       /* evict the token the current query attends to least */
    MNEMO_POLICY_SNAPKV = 4      /* observation-window scores, refreshed every window */
} mnemo_policy;

/* Returns nonzero to cancel; checked between prefill chunks and generated tokens. */
typedef int (*mnemo_cancel_fn)(void* user_data);

typedef struct mnemo_session_params {
    size_t struct_size;
    mnemo_backend backend;   /* default AUTO: CUDA when a device exists and every layer runs there, else CPU */
    int32_t n_threads;       /* 0 (default): all cores */
    uint64_t budget_bytes;   /* 0 (default): no budget; else creation fails with MNEMO_ERR_BUDGET above it */
    int64_t max_context;     /* 0 (default): unlimited, allowed only if every layer is bounded; at most 2^32 */
    int32_t chunk_tokens;    /* prefill chunk size in [1, 65536]; 0 (default): 256 on the CPU, 4096 on CUDA */
    mnemo_policy policy;     /* for attn/swa/nsa layers; default NONE */
    int32_t policy_budget;   /* tokens kept per KV head beyond the sink (policies other than NONE) */
    int32_t policy_sink;     /* sink tokens per KV head (policies other than NONE); default 4 */
    mnemo_cancel_fn cancel;  /* optional */
    void* cancel_user_data;
} mnemo_session_params;

MNEMO_API mnemo_session_params mnemo_session_default_params(void);

/* ---------------------------------------------------------------- memory plan */

typedef struct mnemo_memory_plan {
    size_t struct_size;
    uint64_t total_bytes;    /* everything the session allocates: state + scratch + logits */
    uint64_t state_bytes;    /* per-sequence state (what a snapshot holds) */
    uint64_t scratch_bytes;  /* activations for one prefill chunk, logits */
    int32_t bounded;         /* 1 if the state cannot grow beyond state_bytes whatever the input */
} mnemo_memory_plan;

/* The exact bytes a session created with `params` will hold, computed before any
 * allocation. Fails with MNEMO_ERR_UNBOUNDED like mnemo_session_create would. */
MNEMO_API mnemo_status mnemo_memory_plan_get(const mnemo_model* model, const mnemo_session_params* params,
                                             mnemo_memory_plan* out_plan);
/* State bytes of one layer under that plan. */
MNEMO_API mnemo_status mnemo_memory_plan_layer(const mnemo_model* model, const mnemo_session_params* params,
                                               int32_t layer, uint64_t* out_state_bytes);

MNEMO_API mnemo_status mnemo_session_create(const mnemo_model* model,
                                            const mnemo_session_params* params,
                                            mnemo_session** out_session);
MNEMO_API void mnemo_session_free(mnemo_session* session);

/* Number of tokens the session has consumed. */
MNEMO_API mnemo_status mnemo_session_position(const mnemo_session* session, int64_t* out_position);

/* The backend the session runs its forward pass on: MNEMO_BACKEND_CPU or
 * MNEMO_BACKEND_CUDA, never MNEMO_BACKEND_AUTO (what AUTO resolved to at creation). */
MNEMO_API mnemo_status mnemo_session_backend(const mnemo_session* session, mnemo_backend* out_backend);

/* Feeds tokens (prefill, in chunks of chunk_tokens; decode is n_tokens == 1). Results
 * are identical whatever the chunking. On MNEMO_ERR_CANCELLED the tokens of completed
 * chunks are consumed and the session stays usable; any other failure leaves the
 * session in an error state (MNEMO_ERR_STATE until mnemo_session_reset). On a GPU a
 * single-token feed of the token the session just sampled returns once the step is queued;
 * a device failure in it is reported by the next call that reads a result (sample, logits). */
MNEMO_API mnemo_status mnemo_session_feed(mnemo_session* session, const int32_t* tokens, size_t n_tokens);

/* Logits of the last fed token: a pointer valid until the next feed/reset. */
MNEMO_API mnemo_status mnemo_session_logits(const mnemo_session* session, const float** out_logits,
                                            int32_t* out_n_vocab);

/* Forgets every token: back to position 0 with an empty state. */
MNEMO_API mnemo_status mnemo_session_reset(mnemo_session* session);

/* ---------------------------------------------------------------- sampling and generation */

typedef struct mnemo_sampler_params {
    size_t struct_size;
    float temperature;         /* 0: greedy (default) */
    int32_t top_k;             /* 0: off */
    float top_p;               /* 1: off (default) */
    float repetition_penalty;  /* 1: off (default); >1 penalises tokens seen in the last window */
    int32_t repetition_window; /* tokens looked back for the penalty (default 64) */
    uint64_t seed;             /* random seed for temperature sampling */
} mnemo_sampler_params;

MNEMO_API mnemo_sampler_params mnemo_sampler_default_params(void);

/* Called with each generated token's text; return nonzero to stop. */
typedef int (*mnemo_token_fn)(int32_t token, const char* piece, size_t piece_len, void* user_data);

typedef struct mnemo_generate_params {
    size_t struct_size;
    mnemo_sampler_params sampler;
    int32_t max_tokens;              /* default 128 */
    const int32_t* stop_tokens;      /* generation ends after emitting one (the model's EOS is always a stop) */
    size_t n_stop_tokens;
    const char* const* stop_strings; /* generation ends once the text ends with one (it is not removed) */
    size_t n_stop_strings;
    mnemo_token_fn on_token;         /* optional streaming callback */
    void* user_data;
} mnemo_generate_params;

MNEMO_API mnemo_generate_params mnemo_generate_default_params(void);

/* Samples one token from the current logits (does not feed it). On a CUDA session a greedy
 * sampler (temperature 0, no repetition penalty) chooses on the device, by the same rule. */
MNEMO_API mnemo_status mnemo_session_sample(mnemo_session* session, const mnemo_sampler_params* params,
                                            int32_t* out_token);

/* Generates from the current state: sample, feed, repeat. Writes up to `capacity`
 * tokens to out_tokens (may be NULL with capacity 0) and their count to *out_count. */
MNEMO_API mnemo_status mnemo_session_generate(mnemo_session* session, const mnemo_generate_params* params,
                                              int32_t* out_tokens, size_t capacity, size_t* out_count);

/* ---------------------------------------------------------------- probes (read-only views) */

typedef enum mnemo_token_kind {
    MNEMO_TOKEN_SINK = 0,
    MNEMO_TOKEN_WINDOW = 1,
    MNEMO_TOKEN_RETAINED = 2
} mnemo_token_kind;

typedef struct mnemo_probe_token {
    int64_t position;
    mnemo_token_kind kind;
    float score;  /* retention score (LTE) or policy score; 0 where none applies */
} mnemo_probe_token;

typedef struct mnemo_layer_probe {
    size_t struct_size;
    mnemo_mixer_kind mixer;
    uint64_t state_bytes_used;      /* bytes holding live state now */
    uint64_t state_bytes_reserved;  /* bytes planned for this layer */
    int64_t window_begin;           /* first position in the window, -1 if none */
    int64_t window_end;             /* one past the last position in the window */
    int32_t n_kv_heads;             /* heads that mnemo_probe_head_tokens can be asked for (0 for gdn) */
} mnemo_layer_probe;

MNEMO_API mnemo_status mnemo_probe_layer(const mnemo_session* session, int32_t layer, mnemo_layer_probe* out);

/* Tokens a KV head of an attention-family layer holds, ordered by position. Returns
 * MNEMO_ERR_BUFFER_TOO_SMALL with *out_count = the number needed if out is too small. */
MNEMO_API mnemo_status mnemo_probe_head_tokens(const mnemo_session* session, int32_t layer, int32_t kv_head,
                                               mnemo_probe_token* out, size_t capacity, size_t* out_count);

typedef enum mnemo_eviction_reason {
    MNEMO_EVICT_NONPOSITIVE_SCORE = 0, /* LTE: score <= 0 when leaving the window */
    MNEMO_EVICT_BUFFER_FULL = 1,       /* lower-scored than every retained token */
    MNEMO_EVICT_REPLACED = 2,          /* a retained token replaced by a higher-scored one */
    MNEMO_EVICT_WINDOW = 3,            /* left the window of a mixer that keeps nothing else */
    MNEMO_EVICT_POLICY = 4             /* removed by a training-free policy */
} mnemo_eviction_reason;

typedef struct mnemo_eviction_event {
    int64_t position;
    int32_t layer;
    int32_t kv_head;
    float score;
    mnemo_eviction_reason reason;
} mnemo_eviction_event;

typedef void (*mnemo_eviction_fn)(const mnemo_eviction_event* event, void* user_data);

/* Registers (or clears, with NULL) a callback called synchronously for every eviction.
 * Sessions on the CUDA backend do not report evictions: MNEMO_ERR_UNSUPPORTED. */
MNEMO_API mnemo_status mnemo_session_set_eviction_callback(mnemo_session* session, mnemo_eviction_fn fn,
                                                           void* user_data);

/* ---- store and snapshots ---- */

/* Snapshots: a versioned, checksummed blob of a session's whole per-sequence state
 * (docs/snapshot.md): a 128-byte header (magic "MNEMOSNP", format version, the hash
 * of the model, the session parameters that shape the state, checksums) followed by
 * exactly the plan's state_bytes. For a bounded model (laLTE, GDN, SWA) the size is
 * therefore a constant, whatever the number of tokens read.
 *
 * Restoring refuses, leaving the session untouched:
 *   - a blob that is not a snapshot                    MNEMO_ERR_BAD_MAGIC
 *   - another snapshot format version                  MNEMO_ERR_UNSUPPORTED
 *   - a blob shorter than it declares                  MNEMO_ERR_TRUNCATED
 *   - a damaged header or state (checksum)             MNEMO_ERR_CORRUPT
 *   - a state no feed produces, although the checksums MNEMO_ERR_CORRUPT
 *     hold (a crafted blob; counters, ring indices or positions that contradict
 *     the position), or an unknown policy
 *   - another model, or session parameters that shape  MNEMO_ERR_MISMATCH
 *     the state differently (max_context, policy, policy_budget, policy_sink)
 * Snapshots hold the state in host byte order (every supported host is little-endian). */

#define MNEMO_SNAPSHOT_FORMAT_VERSION 1
#define MNEMO_SNAPSHOT_HEADER_BYTES 128

/* The model's identity: a 64-bit hash of its GGUF metadata, tensor table and tensor
 * bytes (docs/snapshot.md). Reads every weight once (fast; ~10 ms per 100 MB). */
MNEMO_API mnemo_status mnemo_model_hash(const mnemo_model* model, uint64_t* out_hash);

/* Bytes of the session's snapshot: MNEMO_SNAPSHOT_HEADER_BYTES + the plan's state_bytes. */
MNEMO_API mnemo_status mnemo_session_snapshot_size(const mnemo_session* session, size_t* out_size);

/* Writes the snapshot into out[capacity]; MNEMO_ERR_BUFFER_TOO_SMALL with *out_size
 * = the bytes needed when it does not fit (out may be NULL with capacity 0). Take a
 * snapshot only of a session whose last feed succeeded (or was cancelled). */
MNEMO_API mnemo_status mnemo_session_snapshot(const mnemo_session* session, void* out, size_t capacity, size_t* out_size);

/* Replaces the session's state with the snapshot's. The session must come from the
 * same model with the same state-shaping parameters (see above). Afterwards the
 * position is the snapshot's; there are no logits until the next feed. */
MNEMO_API mnemo_status mnemo_session_restore(mnemo_session* session, const void* snapshot, size_t size);

typedef struct mnemo_snapshot_info {
    size_t struct_size;
    uint32_t format_version;
    uint32_t library_version;  /* MNEMO_VERSION of the library that wrote it */
    uint64_t model_hash;
    uint64_t state_bytes;
    int64_t position;          /* tokens the state has consumed */
    int64_t max_context;       /* the session parameters that shape the state */
    mnemo_policy policy;
    int32_t policy_budget;
    int32_t policy_sink;
    int32_t chunk_tokens;      /* chunk size it was fed with (informational) */
    int32_t n_layers;
} mnemo_snapshot_info;

/* Checks a snapshot (magic, version, checksums, size) and describes it. */
MNEMO_API mnemo_status mnemo_snapshot_get_info(const void* snapshot, size_t size, mnemo_snapshot_info* out_info);

/* Creates a session whose state-shaping parameters are the snapshot's (the rest,
 * e.g. n_threads, backend, budget, cancel, from `params`, which may be NULL) and
 * restores the snapshot into it. */
MNEMO_API mnemo_status mnemo_session_create_from_snapshot(const mnemo_model* model, const void* snapshot, size_t size,
                                                          const mnemo_session_params* params, mnemo_session** out_session);

/* The store: an SQLite database (WAL journal, foreign keys, versioned schema migrated
 * on open; docs/store.md) of documents, their ingested snapshots, resumable ingest
 * checkpoints, questions with answers and timings, and optional eviction traces.
 * Every write is one transaction: a crash, even SIGKILL, never loses what was stored.
 * A store handle is used by one thread at a time; several processes may open the
 * same file (writers wait up to busy_timeout_ms for each other).
 *
 * Failures beyond the usual ones:
 *   - the file is not an SQLite database or not a store      MNEMO_ERR_BAD_MAGIC
 *   - its schema is newer than this library's                MNEMO_ERR_UNSUPPORTED
 *   - read-only, locked by another process past the timeout,
 *     disk full (the transaction is rolled back)             MNEMO_ERR_IO
 *   - an empty document                                      MNEMO_ERR_INVALID_ARGUMENT
 *   - a document that is not valid UTF-8                     MNEMO_ERR_CORRUPT
 *   - a document (same text) or title already stored         MNEMO_ERR_STATE
 *   - an unknown document id or title                        MNEMO_ERR_OUT_OF_RANGE */

typedef struct mnemo_store mnemo_store;

#define MNEMO_STORE_SCHEMA_VERSION 2

typedef struct mnemo_store_params {
    size_t struct_size;
    int read_only;            /* 0 (default): read-write */
    int create;               /* 1 (default): create the file if missing (not with read_only) */
    int32_t busy_timeout_ms;  /* how long to wait for another writer; default 5000 */
} mnemo_store_params;

MNEMO_API mnemo_store_params mnemo_store_default_params(void);

MNEMO_API mnemo_status mnemo_store_open(const char* path, const mnemo_store_params* params, mnemo_store** out_store);
MNEMO_API void mnemo_store_close(mnemo_store* store);

/* The schema version of the open store (MNEMO_STORE_SCHEMA_VERSION after migration). */
MNEMO_API mnemo_status mnemo_store_schema_version(const mnemo_store* store, int32_t* out_version);

typedef struct mnemo_document {
    size_t struct_size;
    int64_t id;
    const char* title;          /* owned by the store: valid until the next call on it */
    uint64_t content_hash;      /* hash of the text (same function as mnemo_model_hash) */
    uint64_t n_bytes;           /* UTF-8 bytes of the text */
    int64_t created_at;         /* Unix time, seconds */
    int32_t ingested;           /* 1 if a complete snapshot exists */
    int64_t n_tokens;           /* tokens of the latest complete snapshot */
    uint64_t state_bytes;       /* its state bytes */
    uint64_t snapshot_bytes;    /* its blob's bytes */
    double ingest_seconds;
    const char* model_path;     /* the model it was ingested with ("" if none); owned by the store */
    uint64_t model_hash;
    int64_t checkpoint_tokens;  /* an unfinished ingest's checkpoint (0 if none) ... */
    int64_t total_tokens;       /* ... out of this many tokens */
    int64_t n_questions;        /* questions asked and recorded */
} mnemo_document;

/* Adds a document (UTF-8 text, not NUL-terminated; its title must be unique). On a
 * duplicate, returns MNEMO_ERR_STATE and sets *out_id to the stored document's id. */
MNEMO_API mnemo_status mnemo_store_add_document(mnemo_store* store, const char* title, const char* text, size_t text_len,
                                                int64_t* out_id);

/* Finds a document by id ("12" or "#12") or, failing that, by exact title. */
MNEMO_API mnemo_status mnemo_store_find_document(mnemo_store* store, const char* id_or_title, int64_t* out_id);

MNEMO_API mnemo_status mnemo_store_get_document(mnemo_store* store, int64_t id, mnemo_document* out);

/* Lists every document by id. MNEMO_ERR_BUFFER_TOO_SMALL with *out_count = the number
 * of documents if `out` holds fewer (out may be NULL with capacity 0); set each
 * element's struct_size first. Strings stay valid until the next call on the store. */
MNEMO_API mnemo_status mnemo_store_list_documents(mnemo_store* store, mnemo_document* out, size_t capacity, size_t* out_count);

/* Copies a document's text (like mnemo_detokenize: NUL-terminated if room remains). */
MNEMO_API mnemo_status mnemo_store_document_text(mnemo_store* store, int64_t id, char* out_text, size_t capacity, size_t* out_len);

/* Deletes a document with its snapshots, questions and eviction traces. */
MNEMO_API mnemo_status mnemo_store_delete_document(mnemo_store* store, int64_t id);

/* Ingest progress: tokens fed so far, of total, and the state bytes in use (the sum
 * of the layer probes' state_bytes_used: it stops growing for bounded models). Return
 * nonzero to cancel (the ingest then returns MNEMO_ERR_CANCELLED; checkpoints already
 * saved stay, so a later ingest resumes). */
typedef int (*mnemo_progress_fn)(int64_t done_tokens, int64_t total_tokens, uint64_t state_bytes, void* user_data);

typedef struct mnemo_ingest_params {
    size_t struct_size;
    const char* model_path;     /* recorded so tools can reload the model; NULL: the path it was loaded from */
    int64_t checkpoint_tokens;  /* save a resumable checkpoint every this many tokens; 0: never; default 65536 */
    int resume;                 /* 1 (default): continue from the checkpoint of an interrupted ingest */
    int add_bos;                /* 1 (default): start the document with the model's BOS token */
    int record_evictions;       /* 1: store every eviction event of the ingest (replaces the session's
                                 * eviction callback during the ingest, cleared after); default 0 */
    mnemo_progress_fn progress; /* optional; called after every slice of tokens */
    void* user_data;
} mnemo_ingest_params;

MNEMO_API mnemo_ingest_params mnemo_ingest_default_params(void);

typedef struct mnemo_ingest_result {
    size_t struct_size;
    int64_t n_tokens;           /* the document's tokens */
    int64_t resumed_from;       /* tokens restored from a checkpoint (0 for a fresh ingest) */
    uint64_t state_bytes;
    uint64_t snapshot_bytes;
    double seconds;             /* this call's wall time */
    double tokens_per_second;   /* tokens fed by this call per second */
    int64_t n_eviction_events;  /* recorded (record_evictions) */
} mnemo_ingest_result;

/* Reads document `id` into `session` (reset first, or restored from a checkpoint) and
 * saves its snapshot in the store; the session then holds the document's state and
 * can be used further. The session's parameters (threads, policy, ...) are the
 * caller's; its cancel callback is honoured. out_result may be NULL. */
MNEMO_API mnemo_status mnemo_store_ingest(mnemo_store* store, mnemo_session* session, int64_t id, const mnemo_ingest_params* params,
                                          mnemo_ingest_result* out_result);

/* Restores document `id`'s snapshot for the session's model into the session
 * (MNEMO_ERR_MISMATCH if it was ingested with another model only, MNEMO_ERR_STATE if
 * it was not ingested). */
MNEMO_API mnemo_status mnemo_store_restore(mnemo_store* store, int64_t id, mnemo_session* session);

/* The prompt fed after the document; "{question}" is replaced by the question. */
#define MNEMO_ASK_DEFAULT_TEMPLATE "\n\nQuestion: {question}\nAnswer:"

typedef struct mnemo_ask_params {
    size_t struct_size;
    mnemo_generate_params generate;  /* default: greedy, max_tokens 128, stops at "\n" */
    const char* prompt_template;     /* NULL: MNEMO_ASK_DEFAULT_TEMPLATE */
    int32_t n_threads;               /* 0 (default): all cores */
    int record;                      /* 1 (default): store the question, answer and timings */
} mnemo_ask_params;

MNEMO_API mnemo_ask_params mnemo_ask_default_params(void);

typedef struct mnemo_answer {
    size_t struct_size;
    int64_t question_id;    /* the stored record (0 if record = 0) */
    const char* text;       /* the answer, NUL-terminated, without a trailing stop string
                             * or EOS, as valid UTF-8 (a byte that starts no valid sequence
                             * becomes U+FFFD); owned by the store until the next call on it */
    size_t text_len;
    int64_t question_tokens;
    int64_t answer_tokens;
    double restore_ms;      /* loading and restoring the snapshot */
    double prefill_ms;      /* feeding the question */
    double generate_ms;
    uint64_t state_bytes;
} mnemo_answer;

/* Answers `question` about document `id`: restores its snapshot (for `model`) into a
 * fresh session, feeds the prompt, generates, and (record = 1) stores the question,
 * answer and timings. Deterministic under greedy sampling: the same answer as
 * generating in the session that ingested the document. */
MNEMO_API mnemo_status mnemo_store_ask(mnemo_store* store, const mnemo_model* model, int64_t id, const char* question,
                                       const mnemo_ask_params* params, mnemo_answer* out_answer);

typedef struct mnemo_question_record {
    size_t struct_size;
    int64_t id;
    const char* question;   /* owned by the store until the next call on it */
    const char* answer;
    int64_t question_tokens;
    int64_t answer_tokens;
    double restore_ms, prefill_ms, generate_ms;
    int64_t created_at;
    uint64_t model_hash;
} mnemo_question_record;

/* The questions recorded for a document, oldest first (same buffer convention as
 * mnemo_store_list_documents). */
MNEMO_API mnemo_status mnemo_store_list_questions(mnemo_store* store, int64_t id, mnemo_question_record* out, size_t capacity,
                                                  size_t* out_count);

#ifdef __cplusplus
}
#endif

#endif /* MNEMO_H */
