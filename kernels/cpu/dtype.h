// Weight storage types: ids and block layouts as in GGML/GGUF, so tensors can be mmap-ed
// from a GGUF file and handed to the kernels as they are.
//
//   F32  (0)   plain float
//   F16  (1)   IEEE binary16
//   Q8_0 (8)   blocks of 32 values: fp16 scale d, then 32 int8 q; value = d * q.
//              Quantisation: d = max|x| / 127, q = round-half-away(x / d) (GGML's rule).
//   BF16 (30)  bfloat16 (upper half of a float)
//
// f32 -> f16/bf16 conversions round to nearest even; NaN stays NaN.
#pragma once

#include <cstdint>

namespace mnemo::cpu {

enum class DType : int32_t {
    f32 = 0,
    f16 = 1,
    q8_0 = 8,
    bf16 = 30,
};

inline constexpr int64_t kQ8_0BlockSize = 32;

struct BlockQ8_0 {
    uint16_t d;                 // fp16 scale
    int8_t qs[kQ8_0BlockSize];  // quants
};
static_assert(sizeof(BlockQ8_0) == 34, "q8_0 block must match GGML's 34-byte layout");

const char* dtype_name(DType type);
bool dtype_from_id(int32_t id, DType* out);  // false for ids the kernels do not support
int64_t dtype_block_elements(DType type);    // 32 for q8_0, else 1
int64_t dtype_block_bytes(DType type);       // 34 for q8_0, 2 for f16/bf16, 4 for f32
// Bytes of a row of n elements; n must be a multiple of dtype_block_elements(type).
int64_t row_bytes(DType type, int64_t n);

// Scalar conversions (bit-exact with F16C / the usual bf16 rounding).
uint16_t f32_to_f16(float value);
float f16_to_f32(uint16_t bits);
uint16_t f32_to_bf16(float value);
float bf16_to_f32(uint16_t bits);

// Row conversions, vectorised where the active ISA allows (results identical to scalar).
void convert_f32_to_f16(const float* src, uint16_t* dst, int64_t n);
void convert_f16_to_f32(const uint16_t* src, float* dst, int64_t n);
void convert_f32_to_bf16(const float* src, uint16_t* dst, int64_t n);
void convert_bf16_to_f32(const uint16_t* src, float* dst, int64_t n);

// n must be a multiple of 32.
void quantize_row_q8_0(const float* src, BlockQ8_0* dst, int64_t n);
void dequantize_row_q8_0(const BlockQ8_0* src, float* dst, int64_t n);

// Any supported type <-> f32 for one row of n elements (n a multiple of the block size).
void row_to_f32(DType type, const void* src, float* dst, int64_t n);
void row_from_f32(DType type, const float* src, void* dst, int64_t n);

}  // namespace mnemo::cpu
