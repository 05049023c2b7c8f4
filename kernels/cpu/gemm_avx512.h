// Internal: the AVX-512 register tile of the packed GEMM (cpu/matmul.cpp). Not public.
//
// On CPUs whose AVX-512 units are full width (Zen 5, recent Xeons) a 512-bit FMA does twice
// the work of a 256-bit one. The tile below covers two adjacent 16-column panels with one
// zmm register per row and panel, so every output element sees exactly the operations, in
// the same order, that the 6x16 AVX2 tile applies to it (start from zero, one FMA per k,
// then store or add to Y): results are bit-identical to the AVX2 path, which is why this is
// not a separate ISA level. Off where the CPU lacks AVX-512F, or with MNEMO_CPU_AVX512=off.
#pragma once

#include <cstdint>

namespace mnemo::cpu::detail {

// True when the GEMM uses the AVX-512 tile (the CPU has AVX-512F and it was not turned off).
bool gemm_avx512_enabled();
// Turns the AVX-512 tile on or off (on only where supported); returns the state now. Tests.
bool set_gemm_avx512(bool enabled);

// Y[0..rows, 0..n_cols) = (or +=, when accumulate) Xp · [P0 | P1] over kc steps. rows <= 6;
// n_cols <= 32 (columns past it are computed from the zero-padded panels and dropped).
// xp: [kc][6] packed X (row r of step k at xp[6k + r]); p0, p1: [kc][16], 64-byte aligned.
void gemm_tile_avx512(int64_t rows, const float* xp, const float* p0, const float* p1, int64_t kc, float* y,
                      int64_t y_stride, int64_t n_cols, bool accumulate);

}  // namespace mnemo::cpu::detail
