#include "kv_cache.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace mnemo {

void KvCache::layout(const KvCacheShape& shape, ArenaLayout& state) {
    shape_ = shape;
    slots_ = int64_t{shape.sink_capacity} + shape.retained_capacity + shape.window_capacity;  // int64: policy sizes reach INT32_MAX
    const int64_t h = shape.n_kv_heads, d = shape.head_dim;
    keys_ = state.take<float>(static_cast<uint64_t>(h * slots_ * d));
    values_ = state.take<float>(static_cast<uint64_t>(h * slots_ * d));
    positions_ = state.take<int64_t>(static_cast<uint64_t>(h * slots_));
    scores_ = state.take<float>(static_cast<uint64_t>(h * slots_));
    pre_rope_ = shape.keep_pre_rope_keys ? state.take<float>(static_cast<uint64_t>(shape.window_capacity * h * d)) : nullptr;
    window_meta_ = state.take<int64_t>(2);
    sink_meta_ = state.take<int32_t>(1);
    if (!state.measuring()) reset();
}

void KvCache::reset() {
    std::fill(positions_, positions_ + shape_.n_kv_heads * slots_, int64_t{-1});
    std::fill(scores_, scores_ + shape_.n_kv_heads * slots_, 0.0f);
    window_meta_[0] = window_meta_[1] = 0;
    sink_meta_[0] = 0;
}

int32_t KvCache::window_slot(int64_t i) const {
    return window_base() + static_cast<int32_t>((window_meta_[0] + i) % shape_.window_capacity);
}

int64_t KvCache::oldest_window_position() const { return window_meta_[1] == 0 ? -1 : position(0, window_slot(0)); }

int32_t KvCache::window_slot_of(int64_t pos) const {
    const int64_t oldest = oldest_window_position();
    return window_slot(pos - oldest);
}

int32_t KvCache::pop_oldest_window() {
    const int32_t slot = window_slot(0);
    window_meta_[0] = (window_meta_[0] + 1) % shape_.window_capacity;
    --window_meta_[1];
    return slot;
}

int32_t KvCache::push_window(int64_t pos) {
    const int32_t slot = window_slot(window_meta_[1]);
    ++window_meta_[1];
    for (int32_t h = 0; h < shape_.n_kv_heads; ++h) {
        positions_[h * slots_ + slot] = pos;
        scores_[h * slots_ + slot] = 0.0f;
    }
    return slot;
}

float* KvCache::pre_rope_key(int32_t window_slot_index) {
    return pre_rope_ + static_cast<int64_t>(window_slot_index - window_base()) * shape_.n_kv_heads * shape_.head_dim;
}

bool KvCache::keep_in_sink(int32_t from) {
    if (sink_meta_[0] >= shape_.sink_capacity) return false;
    const int32_t to = sink_slot(sink_meta_[0]++);
    const int64_t d = shape_.head_dim;
    for (int32_t h = 0; h < shape_.n_kv_heads; ++h) {
        std::memcpy(keys(h) + to * d, keys(h) + from * d, static_cast<size_t>(d) * sizeof(float));
        std::memcpy(values(h) + to * d, values(h) + from * d, static_cast<size_t>(d) * sizeof(float));
        positions_[h * slots_ + to] = positions_[h * slots_ + from];
        scores_[h * slots_ + to] = scores_[h * slots_ + from];
    }
    return true;
}

void KvCache::offer_retained(int32_t head, int32_t from, float s, const EvictionListener& events) {
    const int64_t pos = position(head, from);
    if (!(s > 0.0f)) {
        events.emit(pos, head, s, MNEMO_EVICT_NONPOSITIVE_SCORE);
        return;
    }
    if (shape_.retained_capacity == 0) {
        events.emit(pos, head, s, MNEMO_EVICT_BUFFER_FULL);
        return;
    }
    // A free slot, else the lowest-ranked entry: lowest score, among equal scores the
    // most recent (rank = higher score, then lower position).
    int32_t target = -1, worst = -1;
    for (int32_t i = 0; i < shape_.retained_capacity; ++i) {
        const int32_t slot = retained_slot(i);
        const int64_t p = position(head, slot);
        if (p < 0) { target = slot; break; }
        if (worst < 0 || score(head, slot) < score(head, worst) ||
            (score(head, slot) == score(head, worst) && p > position(head, worst)))
            worst = slot;
    }
    if (target < 0) {
        if (!(s > score(head, worst))) {  // equal score: the incumbent (older) stays
            events.emit(pos, head, s, MNEMO_EVICT_BUFFER_FULL);
            return;
        }
        events.emit(position(head, worst), head, score(head, worst), MNEMO_EVICT_REPLACED);
        target = worst;
    }
    const int64_t d = shape_.head_dim;
    std::memcpy(keys(head) + target * d, keys(head) + from * d, static_cast<size_t>(d) * sizeof(float));
    std::memcpy(values(head) + target * d, values(head) + from * d, static_cast<size_t>(d) * sizeof(float));
    positions_[head * slots_ + target] = pos;
    scores_[head * slots_ + target] = s;
}

int32_t KvCache::visible_slots(int32_t head, int32_t* out) const {
    int32_t n = 0;
    for (int32_t i = 0; i < sink_meta_[0]; ++i) out[n++] = sink_slot(i);
    for (int32_t i = 0; i < shape_.retained_capacity; ++i)
        if (position(head, retained_slot(i)) >= 0) out[n++] = retained_slot(i);
    for (int64_t i = 0; i < window_meta_[1]; ++i) out[n++] = window_slot(i);
    return n;
}

int32_t KvCache::retained_count(int32_t head) const {
    int32_t n = 0;
    for (int32_t i = 0; i < shape_.retained_capacity; ++i) n += position(head, retained_slot(i)) >= 0;
    return n;
}

uint64_t KvCache::bytes_used() const {
    uint64_t entries = 0;
    for (int32_t h = 0; h < shape_.n_kv_heads; ++h)
        entries += static_cast<uint64_t>(sink_meta_[0] + retained_count(h) + window_meta_[1]);
    // key + value + position + score per entry
    return entries * (2ull * shape_.head_dim * sizeof(float) + sizeof(int64_t) + sizeof(float));
}

bool KvCache::state_consistent(int64_t n_fed, std::string* why) const {
    const int64_t capacity = shape_.window_capacity;
    const int64_t count = std::min(n_fed, capacity);
    if (window_meta_[1] != count || window_meta_[0] < 0 || (capacity > 0 && window_meta_[0] >= capacity) ||
        (capacity == 0 && window_meta_[0] != 0)) {
        *why = "window ring start " + std::to_string(window_meta_[0]) + ", count " + std::to_string(window_meta_[1]) + " (expected count " +
               std::to_string(count) + " of capacity " + std::to_string(capacity) + ")";
        return false;
    }
    const int64_t sink = std::min<int64_t>(shape_.sink_capacity, std::max<int64_t>(0, n_fed - capacity));
    if (sink_meta_[0] != sink) {
        *why = "sink count " + std::to_string(sink_meta_[0]) + " (expected " + std::to_string(sink) + ")";
        return false;
    }
    const int64_t left = n_fed - count;  // positions [0, left) have left the window
    for (int32_t h = 0; h < shape_.n_kv_heads; ++h) {
        for (int64_t i = 0; i < count; ++i)
            if (position(h, window_slot(i)) != left + i) {
                *why = "head " + std::to_string(h) + " window entry " + std::to_string(i) + " holds position " +
                       std::to_string(position(h, window_slot(i))) + " (expected " + std::to_string(left + i) + ")";
                return false;
            }
        for (int32_t i = 0; i < sink; ++i)
            if (position(h, sink_slot(i)) != i) {
                *why = "head " + std::to_string(h) + " sink entry " + std::to_string(i) + " holds position " +
                       std::to_string(position(h, sink_slot(i)));
                return false;
            }
        std::vector<int64_t> retained;
        for (int32_t i = 0; i < shape_.retained_capacity; ++i) {
            const int64_t p = position(h, retained_slot(i));
            if (p != -1 && (p < shape_.sink_capacity || p >= left)) {
                *why = "head " + std::to_string(h) + " retained entry " + std::to_string(i) + " holds position " + std::to_string(p);
                return false;
            }
            if (p != -1) retained.push_back(p);
        }
        std::sort(retained.begin(), retained.end());
        if (std::adjacent_find(retained.begin(), retained.end()) != retained.end()) {
            *why = "head " + std::to_string(h) + " retains a position twice";
            return false;
        }
    }
    return true;
}

void KvCache::held_tokens(int32_t head, std::vector<mnemo_probe_token>* out) const {
    out->clear();
    for (int32_t i = 0; i < sink_meta_[0]; ++i)
        out->push_back({position(head, sink_slot(i)), MNEMO_TOKEN_SINK, score(head, sink_slot(i))});
    for (int32_t i = 0; i < shape_.retained_capacity; ++i) {
        const int32_t slot = retained_slot(i);
        if (position(head, slot) >= 0) out->push_back({position(head, slot), MNEMO_TOKEN_RETAINED, score(head, slot)});
    }
    for (int64_t i = 0; i < window_meta_[1]; ++i)
        out->push_back({position(head, window_slot(i)), MNEMO_TOKEN_WINDOW, score(head, window_slot(i))});
    std::sort(out->begin(), out->end(), [](const mnemo_probe_token& a, const mnemo_probe_token& b) { return a.position < b.position; });
}

}  // namespace mnemo
