// cp.async (sm_80 and later): global → shared memory copies that run while the thread goes on,
// waited for by group. Shared by the kernels that stage their next inputs ahead (gdn_chunked.cu:
// the next chunk's tiles and every chunk's input tiles; ops.cu: kv_decode's slots).
#pragma once

#include <cuda_runtime.h>

namespace mnemo::cuda {

// One copy of Bytes (4, 8 or 16; dst and src aligned to it). 16-byte copies bypass L1.
template <int Bytes>
__device__ __forceinline__ void copy_async(void* dst, const void* src) {
    static_assert(Bytes == 4 || Bytes == 8 || Bytes == 16, "cp.async copies 4, 8 or 16 bytes");
    const unsigned d = static_cast<unsigned>(__cvta_generic_to_shared(dst));
    if constexpr (Bytes == 16) asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" ::"r"(d), "l"(src) : "memory");
    else asm volatile("cp.async.ca.shared.global [%0], [%1], %2;" ::"r"(d), "l"(src), "n"(Bytes) : "memory");
}
// Closes the group of the copies issued since the last commit.
__device__ __forceinline__ void copy_async_commit() { asm volatile("cp.async.commit_group;" ::: "memory"); }
// Waits until at most Pending committed groups are still in flight (the thread's own copies; a
// barrier after it makes them visible to the block).
template <int Pending>
__device__ __forceinline__ void copy_async_wait() { asm volatile("cp.async.wait_group %0;" ::"n"(Pending) : "memory"); }

// Stages a tile: rows r < rows of dst (dst_stride floats apart, dst_width floats each) get
// src[r · src_stride + i] for i < width and r < valid, zeros elsewhere, in 16-byte copies when every
// row start is 16-byte aligned (4-byte copies otherwise). Many copies in flight per thread, where a
// loop of plain loads would wait on one at a time. Every thread of the block calls it; commit, wait
// and a barrier follow.
__device__ __forceinline__ void stage_rows_async(float* dst, int dst_stride, int dst_width, const float* src, long long src_stride,
                                                 int rows, int valid, int width) {
    const bool vec = width % 4 == 0 && dst_width % 4 == 0 && dst_stride % 4 == 0 && src_stride % 4 == 0 &&
                     reinterpret_cast<unsigned long long>(src) % 16 == 0 && __cvta_generic_to_shared(dst) % 16 == 0;
    const int unit = vec ? 4 : 1, per_row = dst_width / unit;
    for (int idx = threadIdx.x; idx < rows * per_row; idx += blockDim.x) {
        const int r = idx / per_row, i = idx % per_row * unit;
        float* to = dst + r * dst_stride + i;
        const bool copy = r < valid && i < width;
        if (vec && copy) copy_async<16>(to, src + r * src_stride + i);
        else if (vec) *reinterpret_cast<float4*>(to) = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        else if (copy) copy_async<4>(to, src + r * src_stride + i);
        else *to = 0.0f;
    }
}

}  // namespace mnemo::cuda
