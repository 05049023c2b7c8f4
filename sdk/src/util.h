// Small helpers shared by the file readers: overflow-checked arithmetic and UTF-8
// validation. Every size read from a file goes through these before use.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mnemo {

// a * b into *out; false on overflow.
inline bool checked_mul(uint64_t a, uint64_t b, uint64_t* out) { return !__builtin_mul_overflow(a, b, out); }
inline bool checked_add(uint64_t a, uint64_t b, uint64_t* out) { return !__builtin_add_overflow(a, b, out); }

// Returns the byte offset of the first invalid UTF-8 sequence, or npos if valid.
size_t find_invalid_utf8(std::string_view text);

// FNV-1a 64-bit; used for content hashes that need no cryptographic strength.
uint64_t fnv1a64(const void* data, size_t size, uint64_t seed = 0xcbf29ce484222325ull);

}  // namespace mnemo
