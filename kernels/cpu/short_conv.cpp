#include "cpu/short_conv.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "cpu/activation.h"
#include "cpu/isa.h"
#include "cpu/simd.h"

namespace mnemo::cpu {
namespace {

constexpr int64_t kChannelBlock = 256;

// Input row at time index `time` (may be negative: from the tail) for channels [c0, ..).
inline const float* input_row(const ShortConvArgs& a, int64_t time, int64_t c0) {
    if (time >= 0) return a.x + time * a.x_stride + c0;
    return a.tail + (a.kernel_size - 1 + time) * a.n_channels + c0;
}

// One channel block over all tokens: w_t is the block's weight transposed [K][cb].
inline __attribute__((always_inline)) void conv_block(const ShortConvArgs& a, int64_t c0, int64_t cb,
                                                      const float* w_t) {
    const int64_t k = a.kernel_size;
    for (int64_t t = 0; t < a.n_tokens; ++t) {
        float* y = a.y + t * a.y_stride + c0;
        if (a.bias != nullptr) {
            for (int64_t c = 0; c < cb; ++c) y[c] = a.bias[c0 + c];
        } else {
            for (int64_t c = 0; c < cb; ++c) y[c] = 0.0f;
        }
        for (int64_t j = 0; j < k; ++j) {
            const float* x = input_row(a, t - (k - 1) + j, c0);
            const float* w = w_t + j * cb;
            for (int64_t c = 0; c < cb; ++c) y[c] += w[c] * x[c];
        }
    }
}

void conv_block_portable(const ShortConvArgs& a, int64_t c0, int64_t cb, const float* w_t) { conv_block(a, c0, cb, w_t); }
#if MNEMO_HAVE_X86
MNEMO_AVX2 void conv_block_avx2(const ShortConvArgs& a, int64_t c0, int64_t cb, const float* w_t) {
    conv_block(a, c0, cb, w_t);
}
#endif

// New tail for channels [c0, c0 + cb): the last K−1 rows of (old tail ++ x).
void update_tail(const ShortConvArgs& a, int64_t c0, int64_t cb, float* scratch) {
    const int64_t keep = a.kernel_size - 1;
    for (int64_t r = 0; r < keep; ++r) {
        const float* src = input_row(a, a.n_tokens - keep + r, c0);
        std::copy(src, src + cb, scratch + r * cb);
    }
    for (int64_t r = 0; r < keep; ++r) std::copy(scratch + r * cb, scratch + (r + 1) * cb, a.tail + r * a.n_channels + c0);
}

}  // namespace

void short_conv(const ShortConvArgs& a, ThreadPool* pool) {
    if (a.n_tokens <= 0) return;
#if MNEMO_HAVE_X86
    const bool avx2 = active_isa() == Isa::avx2;
#endif
    const int64_t n_blocks = (a.n_channels + kChannelBlock - 1) / kChannelBlock;
    parallel_for(pool, n_blocks, 1, [&](int64_t begin, int64_t end) {
        std::vector<float> w_t(static_cast<size_t>(a.kernel_size * kChannelBlock));
        std::vector<float> scratch(static_cast<size_t>(std::max<int64_t>(1, a.kernel_size - 1) * kChannelBlock));
        for (int64_t block = begin; block < end; ++block) {
            const int64_t c0 = block * kChannelBlock;
            const int64_t cb = std::min(kChannelBlock, a.n_channels - c0);
            for (int64_t c = 0; c < cb; ++c) {
                for (int64_t j = 0; j < a.kernel_size; ++j) w_t[static_cast<size_t>(j * cb + c)] = a.weight[(c0 + c) * a.kernel_size + j];
            }
#if MNEMO_HAVE_X86
            if (avx2) {
                conv_block_avx2(a, c0, cb, w_t.data());
            } else {
                conv_block_portable(a, c0, cb, w_t.data());
            }
#else
            conv_block_portable(a, c0, cb, w_t.data());
#endif
            if (a.silu) {
                for (int64_t t = 0; t < a.n_tokens; ++t) {
                    float* y = a.y + t * a.y_stride + c0;
                    silu(y, y, cb);
                }
            }
            update_tail(a, c0, cb, scratch.data());
        }
    });
}

void short_conv_reference(const ShortConvArgs& a) {
    const int64_t k = a.kernel_size, c_count = a.n_channels;
    // Full input history: tail rows then x rows.
    std::vector<float> history(static_cast<size_t>((k - 1 + a.n_tokens) * c_count));
    for (int64_t r = 0; r < k - 1; ++r) {
        for (int64_t c = 0; c < c_count; ++c) history[static_cast<size_t>(r * c_count + c)] = a.tail[r * c_count + c];
    }
    for (int64_t t = 0; t < a.n_tokens; ++t) {
        for (int64_t c = 0; c < c_count; ++c) history[static_cast<size_t>((k - 1 + t) * c_count + c)] = a.x[t * a.x_stride + c];
    }
    for (int64_t t = 0; t < a.n_tokens; ++t) {
        for (int64_t c = 0; c < c_count; ++c) {
            double acc = a.bias != nullptr ? a.bias[c] : 0.0;
            for (int64_t j = 0; j < k; ++j) {
                acc += static_cast<double>(a.weight[c * k + j]) * history[static_cast<size_t>((t + j) * c_count + c)];
            }
            if (a.silu) acc = acc / (1.0 + std::exp(-acc));
            a.y[t * a.y_stride + c] = static_cast<float>(acc);
        }
    }
    for (int64_t r = 0; r < k - 1; ++r) {
        for (int64_t c = 0; c < c_count; ++c) {
            a.tail[r * c_count + c] = history[static_cast<size_t>((a.n_tokens + r) * c_count + c)];
        }
    }
}

}  // namespace mnemo::cpu
