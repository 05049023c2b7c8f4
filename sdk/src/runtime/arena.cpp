#include "arena.h"

#include <cstdlib>
#include <cstring>
#include <new>

namespace mnemo {

void Arena::Free::operator()(std::byte* p) const { std::free(p); }

Arena::Arena(uint64_t bytes) : size_(bytes) {
    const uint64_t rounded = (bytes + 63) / 64 * 64;
    void* p = rounded == 0 ? nullptr : std::aligned_alloc(64, rounded);
    if (rounded != 0 && p == nullptr) throw std::bad_alloc();
    if (p != nullptr) std::memset(p, 0, rounded);
    data_.reset(static_cast<std::byte*>(p));
}

}  // namespace mnemo
