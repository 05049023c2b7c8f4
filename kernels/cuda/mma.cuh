// Tensor-core primitives (mma.sync, ldmatrix; sm_80 and later, a trap below): shared by the
// chunk attention (bf16, kv_attend_tc) and the LTE scorer (3xTF32, lte_conv_mma) in ops.cu.
#pragma once

#include <cstdint>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

namespace mnemo::cuda {

// d += a·b for one warp: m16n8k16, bf16 operands, f32 accumulation.
__device__ __forceinline__ void mma_bf16_16816(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#else
    (void)d, (void)a, (void)b0, (void)b1;
    __trap();
#endif
}

// Four 8×8 bf16 matrices from shared memory; lane l gives the address of row l % 8 of
// matrix l / 8. trans: each thread receives the transposed fragment (V as a B operand).
template <bool kTrans>
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const __nv_bfloat16* row) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    const uint32_t a = static_cast<uint32_t>(__cvta_generic_to_shared(row));
    if constexpr (kTrans)
        asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                     : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(a) : "memory");
    else
        asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                     : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(a) : "memory");
#else
    (void)r, (void)row;
    __trap();
#endif
}

// Where element e (0 … 3) of this thread's m16n8 C fragment sits in the 16 × 8 tile: rows
// lane / 4 and lane / 4 + 8, columns 2·(lane % 4) and the one after.
__device__ __forceinline__ int mma_c_row(int e) { return static_cast<int>(threadIdx.x % 32) / 4 + (e >= 2 ? 8 : 0); }
__device__ __forceinline__ int mma_c_col(int e) { return 2 * static_cast<int>(threadIdx.x % 4) + e % 2; }

// x = big + small: big is x rounded to tf32's 10 mantissa bits (to nearest, ties away from
// zero, in two integer operations rather than cvt.rna), small the exact f32 remainder. The
// tensor cores read a tf32 operand's top 19 bits, so small goes in as it is: its truncation
// costs at most 2⁻²¹·|x|.
__device__ __forceinline__ void split_tf32(float x, uint32_t& big, uint32_t& small) {
    big = (__float_as_uint(x) + 0x1000u) & 0xffffe000u;
    small = __float_as_uint(x - __uint_as_float(big));
}

// d += a·b for one warp: m16n8k8, tf32 operands (f32 bit patterns, the low 13 bits unread), f32
// accumulation.
__device__ __forceinline__ void mma_tf32_1688(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#else
    (void)d, (void)a, (void)b0, (void)b1;
    __trap();
#endif
}

}  // namespace mnemo::cuda
