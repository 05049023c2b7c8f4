#include "studio_model.h"

#include <algorithm>
#include <cstdio>

namespace mnemo::viz {

const char* token_kind_name(TokenKind kind) {
    switch (kind) {
        case TokenKind::Sink: return "sink";
        case TokenKind::Window: return "window";
        case TokenKind::Retained: return "retained";
    }
    return "?";
}

const char* eviction_reason_name(EvictionReason reason) {
    switch (reason) {
        case EvictionReason::NonpositiveScore: return "score<=0";
        case EvictionReason::BufferFull: return "buffer full";
        case EvictionReason::Replaced: return "replaced";
        case EvictionReason::Window: return "left window";
        case EvictionReason::Policy: return "policy";
    }
    return "?";
}

uint64_t UsageSample::total_used() const {
    uint64_t total = 0;
    for (uint64_t b : layer_bytes_used) total += b;
    return total;
}

void UsageHistory::add(UsageSample sample) {
    const size_t n = samples_.size();
    if (n > 0 && sample.position <= samples_.back().position) {
        // Same or earlier position (a re-read after reset clears first): refresh the last one.
        if (sample.position == samples_.back().position) samples_.back() = std::move(sample);
        return;
    }
    // The newest sample is provisional: it moves forward until it is min_spacing_
    // past the one before it, so the chart always ends at the current position.
    if (n >= 2 && sample.position - samples_[n - 2].position < min_spacing_) {
        samples_.back() = std::move(sample);
        return;
    }
    if (n >= capacity_) {
        std::vector<UsageSample> kept;
        kept.reserve(capacity_);
        for (size_t i = 0; i < n; i += 2) kept.push_back(std::move(samples_[i]));
        samples_ = std::move(kept);
        min_spacing_ *= 2;
    }
    samples_.push_back(std::move(sample));
}

void UsageHistory::clear() {
    samples_.clear();
    min_spacing_ = 1;
}

void EvictionLog::push(int64_t position, int32_t layer, int32_t kv_head, float score, EvictionReason reason) {
    EvictionRecord r;
    r.sequence = total_;
    r.position = position;
    r.layer = layer;
    r.kv_head = kv_head;
    r.score = score;
    r.reason = reason;
    if (size_ < ring_.size()) {
        ring_[(start_ + size_) % ring_.size()] = r;
        ++size_;
    } else {
        ring_[start_] = r;
        start_ = (start_ + 1) % ring_.size();
    }
    ++total_;
    ++by_reason_[static_cast<size_t>(reason)];
}

void EvictionLog::clear() {
    start_ = size_ = 0;
    total_ = 0;
    by_reason_.fill(0);
}

std::string_view DocumentModel::token_text(int64_t position) const { return range_text(position, position + 1); }

std::string_view DocumentModel::range_text(int64_t begin, int64_t end) const {
    const int64_t n = token_count();
    begin = std::clamp<int64_t>(begin, 0, n);
    end = std::clamp<int64_t>(end, begin, n);
    if (token_offsets.size() != token_ids.size() + 1 || begin == end) return {};
    const size_t b = token_offsets[static_cast<size_t>(begin)];
    const size_t e = token_offsets[static_cast<size_t>(end)];
    return std::string_view(text).substr(b, e - b);
}

int64_t DocumentModel::position_at_offset(size_t offset) const {
    if (token_ids.empty()) return 0;
    auto it = std::upper_bound(token_offsets.begin(), token_offsets.end() - 1, static_cast<uint32_t>(offset));
    const int64_t i = static_cast<int64_t>(it - token_offsets.begin()) - 1;
    return std::clamp<int64_t>(i, 0, token_count() - 1);
}

const InsertedSpan* DocumentModel::inserted_at(int64_t position) const {
    for (const InsertedSpan& s : inserted)
        if (position >= s.begin && position < s.end) return &s;
    return nullptr;
}

void DocumentModel::clear() {
    title.clear();
    text.clear();
    token_ids.clear();
    token_offsets.assign(1, 0);
    inserted.clear();
}

int StudioModel::first_token_layer() const {
    for (size_t i = 0; i < layers.size(); ++i)
        if (layers[i].holds_tokens()) return static_cast<int>(i);
    return -1;
}

std::string format_bytes(uint64_t bytes) {
    char buf[32];
    const double b = static_cast<double>(bytes);
    if (bytes < 1024) std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
    else if (b < 1024.0 * 1024.0) std::snprintf(buf, sizeof buf, "%.1f KiB", b / 1024.0);
    else if (b < 1024.0 * 1024.0 * 1024.0) std::snprintf(buf, sizeof buf, "%.2f MiB", b / (1024.0 * 1024.0));
    else std::snprintf(buf, sizeof buf, "%.2f GiB", b / (1024.0 * 1024.0 * 1024.0));
    return buf;
}

}  // namespace mnemo::viz
