// cp.async (sm_80 and later): global → shared memory copies that run while the thread goes on,
// waited for by group. Shared by the kernels that stage their next inputs ahead (gdn_chunked.cu:
// the next chunk's tiles; ops.cu: kv_decode's slots).
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

}  // namespace mnemo::cuda
