// The studio's data model: plain structs that probe_capture fills from Mnemo's
// public C API and that the views draw. Nothing here calls the runtime, so the
// views render the same way in the app, headlessly to PNG, and in tests.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mnemo::viz {

enum class TokenKind : uint8_t { Sink = 0, Window = 1, Retained = 2 };
inline constexpr int kTokenKindCount = 3;
const char* token_kind_name(TokenKind kind);

enum class EvictionReason : uint8_t { NonpositiveScore = 0, BufferFull = 1, Replaced = 2, Window = 3, Policy = 4 };
inline constexpr int kEvictionReasonCount = 5;
const char* eviction_reason_name(EvictionReason reason);

// One token a KV head holds.
struct HeldToken {
    int64_t position = 0;
    TokenKind kind = TokenKind::Window;
    float score = 0.0f;  // retention (LTE) or policy score; 0 where none applies
};

struct HeadSnapshot {
    std::vector<HeldToken> tokens;  // ordered by position
};

// One layer at the current position: its shape (from the model) and its probes.
struct LayerSnapshot {
    std::string mixer;  // "gdn", "swa", "lte", "nsa", "attn"
    int32_t n_heads = 0;
    int32_t n_kv_heads = 0;  // heads that hold tokens; 0 for gdn
    int32_t window_size = 0;
    int32_t sink_size = 0;
    int32_t buffer_size = 0;  // LTE: retained capacity including the sink
    uint64_t state_bytes_used = 0;
    uint64_t state_bytes_reserved = 0;
    int64_t window_begin = -1;  // first position in the window, -1 if none
    int64_t window_end = 0;     // one past the last
    std::vector<HeadSnapshot> heads;  // one per KV head of token-holding layers

    bool holds_tokens() const { return n_kv_heads > 0; }
};

// State bytes per layer at one stream position.
struct UsageSample {
    int64_t position = 0;
    std::vector<uint64_t> layer_bytes_used;
    uint64_t total_used() const;
};

// Usage over the whole stream, decimated so a 100K-token document keeps a bounded
// number of samples: when full, every other sample is dropped and the spacing doubles.
class UsageHistory {
public:
    explicit UsageHistory(size_t capacity = 2048) : capacity_(capacity < 4 ? 4 : capacity) {}
    void add(UsageSample sample);
    void clear();
    const std::vector<UsageSample>& samples() const { return samples_; }
    size_t capacity() const { return capacity_; }

private:
    size_t capacity_;
    int64_t min_spacing_ = 1;
    std::vector<UsageSample> samples_;
};

struct EvictionRecord {
    uint64_t sequence = 0;  // 0, 1, 2, ... in the order the runtime reported them
    int64_t position = 0;   // the evicted token's position
    int32_t layer = 0;
    int32_t kv_head = 0;
    float score = 0.0f;
    EvictionReason reason = EvictionReason::Window;
};

// The most recent eviction events (a ring buffer) plus totals over the whole stream.
class EvictionLog {
public:
    explicit EvictionLog(size_t capacity = 8192) : ring_(capacity == 0 ? 1 : capacity) {}
    void push(int64_t position, int32_t layer, int32_t kv_head, float score, EvictionReason reason);
    void clear();
    size_t size() const { return size_; }
    size_t capacity() const { return ring_.size(); }
    uint64_t total() const { return total_; }
    uint64_t total_for(EvictionReason r) const { return by_reason_[static_cast<size_t>(r)]; }
    // i = 0 is the oldest event still held, size() - 1 the newest.
    const EvictionRecord& at(size_t i) const { return ring_[(start_ + i) % ring_.size()]; }

private:
    std::vector<EvictionRecord> ring_;
    size_t start_ = 0;
    size_t size_ = 0;
    uint64_t total_ = 0;
    std::array<uint64_t, kEvictionReasonCount> by_reason_{};
};

// A stretch of stream positions that did not come from the document (a question
// asked in the Ask box and the model's answer).
struct InsertedSpan {
    int64_t begin = 0;
    int64_t end = 0;
    bool answer = false;  // false: the question the user typed; true: generated text
};

// The token stream the session reads: the document's tokens with any questions and
// answers spliced in where they were asked. `text` is the concatenation of every
// token's text, so offsets and text agree whatever the tokenizer does.
struct DocumentModel {
    std::string title;  // file name shown in the views
    std::string text;
    std::vector<int32_t> token_ids;
    std::vector<uint32_t> token_offsets;  // size() == token_ids.size() + 1
    std::vector<InsertedSpan> inserted;

    int64_t token_count() const { return static_cast<int64_t>(token_ids.size()); }
    std::string_view token_text(int64_t position) const;
    // Text of positions [begin, end), clamped to the stream.
    std::string_view range_text(int64_t begin, int64_t end) const;
    // Index of the token whose text covers `offset` (last token for offsets past the end).
    int64_t position_at_offset(size_t offset) const;
    const InsertedSpan* inserted_at(int64_t position) const;
    void clear();
};

struct ModelSummary {
    std::string path;
    std::string name;
    int32_t n_layers = 0;
    int32_t vocab_size = 0;
    uint64_t n_params = 0;
    uint64_t weight_bytes = 0;
    bool bounded = false;
};

struct PlanSummary {
    uint64_t total_bytes = 0;
    uint64_t state_bytes = 0;
    uint64_t scratch_bytes = 0;
    uint64_t budget_bytes = 0;  // the session's budget, 0 = none
    bool bounded = false;
    std::string backend;  // "cpu", ...
};

// Everything the views draw.
struct StudioModel {
    ModelSummary model;
    PlanSummary plan;
    DocumentModel document;
    int64_t position = 0;  // tokens the session has consumed
    std::vector<LayerSnapshot> layers;
    UsageHistory usage;
    EvictionLog evictions;

    // First layer that holds tokens (LTE/SWA/attention), -1 if none.
    int first_token_layer() const;
};

// Human-readable byte counts: "512 B", "12.5 KiB", "3.20 MiB".
std::string format_bytes(uint64_t bytes);

}  // namespace mnemo::viz
