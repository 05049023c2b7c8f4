#include "cpu/dtype.h"

#include <cassert>
#include <cmath>
#include <cstring>

#include "cpu/isa.h"
#include "cpu/simd.h"

namespace mnemo::cpu {
namespace {

uint32_t float_bits(float value) {
    uint32_t bits;
    std::memcpy(&bits, &value, sizeof(bits));
    return bits;
}

float bits_float(uint32_t bits) {
    float value;
    std::memcpy(&value, &bits, sizeof(value));
    return value;
}

#if MNEMO_HAVE_X86
MNEMO_AVX2 void f32_to_f16_avx2(const float* src, uint16_t* dst, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), h);
    }
    for (; i < n; ++i) dst[i] = f32_to_f16(src[i]);
}

MNEMO_AVX2 void f16_to_f32_avx2(const uint16_t* src, float* dst, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, detail::load_f16x8(src + i));
    for (; i < n; ++i) dst[i] = f16_to_f32(src[i]);
}

MNEMO_AVX2 void bf16_to_f32_avx2(const uint16_t* src, float* dst, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, detail::load_bf16x8(src + i));
    for (; i < n; ++i) dst[i] = bf16_to_f32(src[i]);
}

MNEMO_AVX2 void dequantize_q8_0_avx2(const BlockQ8_0* src, float* dst, int64_t n) {
    for (int64_t b = 0; b < n / kQ8_0BlockSize; ++b) {
        const __m256 d = _mm256_set1_ps(f16_to_f32(src[b].d));
        float* out = dst + b * kQ8_0BlockSize;
        for (int j = 0; j < 32; j += 8) _mm256_storeu_ps(out + j, _mm256_mul_ps(d, detail::load_i8x8(src[b].qs + j)));
    }
}
#endif

}  // namespace

const char* dtype_name(DType type) {
    switch (type) {
        case DType::f32: return "f32";
        case DType::f16: return "f16";
        case DType::q8_0: return "q8_0";
        case DType::bf16: return "bf16";
    }
    return "unknown";
}

bool dtype_from_id(int32_t id, DType* out) {
    switch (id) {
        case 0: *out = DType::f32; return true;
        case 1: *out = DType::f16; return true;
        case 8: *out = DType::q8_0; return true;
        case 30: *out = DType::bf16; return true;
        default: return false;
    }
}

int64_t dtype_block_elements(DType type) { return type == DType::q8_0 ? kQ8_0BlockSize : 1; }

int64_t dtype_block_bytes(DType type) {
    switch (type) {
        case DType::f32: return 4;
        case DType::f16: return 2;
        case DType::bf16: return 2;
        case DType::q8_0: return static_cast<int64_t>(sizeof(BlockQ8_0));
    }
    return 0;
}

int64_t row_bytes(DType type, int64_t n) {
    return n / dtype_block_elements(type) * dtype_block_bytes(type);
}

uint16_t f32_to_f16(float value) {
    const uint32_t bits = float_bits(value);
    const uint32_t sign = (bits >> 16) & 0x8000u;
    const uint32_t abs = bits & 0x7fffffffu;
    if (abs >= 0x7f800000u) {  // inf or NaN
        if (abs == 0x7f800000u) return static_cast<uint16_t>(sign | 0x7c00u);
        return static_cast<uint16_t>(sign | 0x7e00u | ((abs >> 13) & 0x3ffu));  // quiet NaN, keep payload
    }
    if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds to >= 65520: inf
    if (abs >= 0x38800000u) {  // normal half (|x| >= 2^-14)
        const uint32_t mantissa_odd = (abs >> 13) & 1u;
        const uint32_t rounded = abs + 0xfffu + mantissa_odd;  // round to nearest even on bit 13
        return static_cast<uint16_t>(sign | ((rounded - 0x38000000u) >> 13));
    }
    if (abs < 0x33000000u) return static_cast<uint16_t>(sign);  // below half of the smallest subnormal
    // Subnormal half: value = m * 2^-24 with m in [1, 1023]; round the full significand.
    const uint32_t exponent = abs >> 23;                       // biased float exponent
    const uint32_t significand = (abs & 0x7fffffu) | 0x800000u;  // 24 bits, value = sig * 2^(e-150)
    const uint32_t shift = 126u - exponent;                    // 2^(e-150) / 2^-24 = 2^(e-126)
    // shift is in [14, 24]: the result is significand >> shift, rounded to nearest even.
    uint32_t result = significand >> shift;
    const uint32_t remainder = significand & ((1u << shift) - 1u);
    const uint32_t halfway = 1u << (shift - 1u);
    if (remainder > halfway || (remainder == halfway && (result & 1u))) ++result;
    return static_cast<uint16_t>(sign | result);
}

float f16_to_f32(uint16_t bits) {
    const uint32_t sign = static_cast<uint32_t>(bits & 0x8000u) << 16;
    const uint32_t exponent = (bits >> 10) & 0x1fu;
    uint32_t mantissa = bits & 0x3ffu;
    if (exponent == 0x1fu) {  // inf, or NaN made quiet (as F16C does)
        return bits_float(sign | 0x7f800000u | (mantissa << 13) | (mantissa != 0 ? 0x400000u : 0u));
    }
    if (exponent != 0) return bits_float(sign | ((exponent + 112u) << 23) | (mantissa << 13));
    if (mantissa == 0) return bits_float(sign);
    // Subnormal: normalise.
    int shift = 0;
    while ((mantissa & 0x400u) == 0) {
        mantissa <<= 1;
        ++shift;
    }
    mantissa &= 0x3ffu;
    return bits_float(sign | ((113u - static_cast<uint32_t>(shift)) << 23) | (mantissa << 13));
}

uint16_t f32_to_bf16(float value) {
    const uint32_t bits = float_bits(value);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40u);  // quiet NaN
    const uint32_t rounded = bits + 0x7fffu + ((bits >> 16) & 1u);
    return static_cast<uint16_t>(rounded >> 16);
}

float bf16_to_f32(uint16_t bits) { return bits_float(static_cast<uint32_t>(bits) << 16); }

void convert_f32_to_f16(const float* src, uint16_t* dst, int64_t n) {
#if MNEMO_HAVE_X86
    if (active_isa() == Isa::avx2) return f32_to_f16_avx2(src, dst, n);
#endif
    for (int64_t i = 0; i < n; ++i) dst[i] = f32_to_f16(src[i]);
}

void convert_f16_to_f32(const uint16_t* src, float* dst, int64_t n) {
#if MNEMO_HAVE_X86
    if (active_isa() == Isa::avx2) return f16_to_f32_avx2(src, dst, n);
#endif
    for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(src[i]);
}

void convert_f32_to_bf16(const float* src, uint16_t* dst, int64_t n) {
    for (int64_t i = 0; i < n; ++i) dst[i] = f32_to_bf16(src[i]);
}

void convert_bf16_to_f32(const uint16_t* src, float* dst, int64_t n) {
#if MNEMO_HAVE_X86
    if (active_isa() == Isa::avx2) return bf16_to_f32_avx2(src, dst, n);
#endif
    for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(src[i]);
}

void quantize_row_q8_0(const float* src, BlockQ8_0* dst, int64_t n) {
    assert(n % kQ8_0BlockSize == 0);
    for (int64_t b = 0; b < n / kQ8_0BlockSize; ++b) {
        const float* x = src + b * kQ8_0BlockSize;
        float amax = 0.0f;
        for (int j = 0; j < kQ8_0BlockSize; ++j) amax = std::fmax(amax, std::fabs(x[j]));
        const float d = amax / 127.0f;
        const float inverse = d != 0.0f ? 1.0f / d : 0.0f;
        dst[b].d = f32_to_f16(d);
        for (int j = 0; j < kQ8_0BlockSize; ++j) {
            dst[b].qs[j] = static_cast<int8_t>(std::round(x[j] * inverse));
        }
    }
}

void dequantize_row_q8_0(const BlockQ8_0* src, float* dst, int64_t n) {
    assert(n % kQ8_0BlockSize == 0);
#if MNEMO_HAVE_X86
    if (active_isa() == Isa::avx2) return dequantize_q8_0_avx2(src, dst, n);
#endif
    for (int64_t b = 0; b < n / kQ8_0BlockSize; ++b) {
        const float d = f16_to_f32(src[b].d);
        for (int j = 0; j < kQ8_0BlockSize; ++j) dst[b * kQ8_0BlockSize + j] = d * static_cast<float>(src[b].qs[j]);
    }
}

void row_to_f32(DType type, const void* src, float* dst, int64_t n) {
    switch (type) {
        case DType::f32: std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float)); return;
        case DType::f16: convert_f16_to_f32(static_cast<const uint16_t*>(src), dst, n); return;
        case DType::bf16: convert_bf16_to_f32(static_cast<const uint16_t*>(src), dst, n); return;
        case DType::q8_0: dequantize_row_q8_0(static_cast<const BlockQ8_0*>(src), dst, n); return;
    }
}

void row_from_f32(DType type, const float* src, void* dst, int64_t n) {
    switch (type) {
        case DType::f32: std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float)); return;
        case DType::f16: convert_f32_to_f16(src, static_cast<uint16_t*>(dst), n); return;
        case DType::bf16: convert_f32_to_bf16(src, static_cast<uint16_t*>(dst), n); return;
        case DType::q8_0: quantize_row_q8_0(src, static_cast<BlockQ8_0*>(dst), n); return;
    }
}

}  // namespace mnemo::cpu
