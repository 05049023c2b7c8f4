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

    template <typename T>
    T* take(uint64_t count) {
        constexpr uint64_t kAlign = 64;  // cache line; also keeps SIMD loads aligned
        offset_ = (offset_ + kAlign - 1) / kAlign * kAlign;
        T* p = base_ != nullptr ? reinterpret_cast<T*>(base_ + offset_) : nullptr;
        offset_ += count * sizeof(T);
        return p;
    }
    uint64_t bytes() const { return (offset_ + 63) / 64 * 64; }
    bool measuring() const { return base_ == nullptr; }

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
