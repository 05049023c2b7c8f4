// Tensor element types as stored in GGUF. The ids are GGML's, so Mnemo's files stay
// readable by the wider GGUF ecosystem's tools.
#pragma once

#include <cstdint>

namespace mnemo {

enum class DType : uint32_t {
    F32 = 0,
    F16 = 1,
    Q8_0 = 8,   // blocks of 32: fp16 scale, then 32 int8
    I8 = 24,
    I16 = 25,
    I32 = 26,
    I64 = 27,
    F64 = 28,
    BF16 = 30,
};

struct DTypeTraits {
    const char* name;
    uint32_t block_elements;  // elements per block (1 for plain types)
    uint32_t block_bytes;     // bytes per block
};

// Returns nullptr for ids Mnemo does not know.
const DTypeTraits* dtype_traits(uint32_t id);

inline const char* dtype_name(DType t) {
    const DTypeTraits* tr = dtype_traits(static_cast<uint32_t>(t));
    return tr != nullptr ? tr->name : "?";
}

}  // namespace mnemo
