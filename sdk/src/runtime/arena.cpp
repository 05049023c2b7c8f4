#include "arena.h"

#include <cstdlib>
#include <cstring>
#include <new>

namespace mnemo {

void Arena::Free::operator()(std::byte* p) const { ::operator delete(p, std::align_val_t{64}); }

Arena::Arena(uint64_t bytes) : size_(bytes) {
    const uint64_t rounded = (bytes + 63) / 64 * 64;
    if (rounded == 0) return;
    void* p = ::operator new(rounded, std::align_val_t{64});  // throws std::bad_alloc
    std::memset(p, 0, rounded);
    data_.reset(static_cast<std::byte*>(p));
}

}  // namespace mnemo
