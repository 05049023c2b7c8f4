// Planned memory. A session's buffers are laid out twice by the same code: once to
// measure (no memory, only offsets) — that is the memory plan — and once to bind
// pointers into a single allocation of exactly the planned size. So the plan is exact
// by construction, and feeding tokens allocates nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace mnemo {

class ArenaLayout {
public:
    // Measuring layout (base == nullptr) or binding layout over `base`.
    explicit ArenaLayout(std::byte* base = nullptr) : base_(base) {}

    // A layout whose size overflows 64 bits saturates at kOverflow (sticky), so a plan
    // can tell it apart instead of wrapping to a small number.
    static constexpr uint64_t kOverflow = ~uint64_t{0};

    // Every buffer starts on a 64-byte boundary (a cache line; keeps SIMD loads aligned).
    template <typename T>
    T* take(uint64_t count) {
        offset_ = round_up(offset_);
        T* p = base_ != nullptr && offset_ != kOverflow ? reinterpret_cast<T*>(base_ + offset_) : nullptr;
        offset_ = count > (kOverflow - offset_) / sizeof(T) ? kOverflow : offset_ + count * sizeof(T);
        return p;
    }
    uint64_t bytes() const { return round_up(offset_); }
    bool measuring() const { return base_ == nullptr; }
    bool overflowed() const { return offset_ == kOverflow; }

    // x rounded up to 64 bytes, saturating at kOverflow.
    static uint64_t round_up(uint64_t x) { return x > kOverflow - 63 ? kOverflow : (x + 63) / 64 * 64; }
    // a + b, saturating at kOverflow.
    static uint64_t add(uint64_t a, uint64_t b) { return b > kOverflow - a ? kOverflow : a + b; }

private:
    std::byte* base_;
    uint64_t offset_ = 0;
};

// One zero-initialised, 64-byte aligned block.
class Arena {
public:
    explicit Arena(uint64_t bytes);
    std::byte* data() { return data_.get(); }
    uint64_t size() const { return size_; }

private:
    struct Free { void operator()(std::byte* p) const; };
    std::unique_ptr<std::byte, Free> data_;
    uint64_t size_;
};

}  // namespace mnemo
