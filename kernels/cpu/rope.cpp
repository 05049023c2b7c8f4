#include "cpu/rope.h"

#include <cmath>
#include <vector>

#include "cpu/isa.h"
#include "cpu/simd.h"

namespace mnemo::cpu {
namespace {

// Reproduces the f32 table FLA builds: inv_freq in f32, then f32 angle, then cos/sin.
void angles_cos_sin(const RopeArgs& a, int64_t position, float* cos_out, float* sin_out) {
    const int64_t half = a.rotary_dim / 2;
    for (int64_t i = 0; i < half; ++i) {
        const float exponent = static_cast<float>(2 * i) / static_cast<float>(a.rotary_dim);
        const float inv_freq = 1.0f / std::pow(a.theta, exponent);
        const float angle = static_cast<float>(position) * inv_freq;
        cos_out[i] = static_cast<float>(std::cos(static_cast<double>(angle)));
        const float s = static_cast<float>(std::sin(static_cast<double>(angle)));
        sin_out[i] = a.inverse ? -s : s;
    }
}

// Body shared by the scalar and AVX2 entry points; the compiler vectorises it for each.
inline __attribute__((always_inline)) void rotate_heads(const RopeArgs& a, float* token, const float* c,
                                                        const float* s) {
    const int64_t half = a.rotary_dim / 2;
    for (int64_t h = 0; h < a.n_heads; ++h) {
        float* x1 = token + h * a.head_stride;
        float* x2 = x1 + half;
        for (int64_t i = 0; i < half; ++i) {
            const float a1 = x1[i], a2 = x2[i];
            x1[i] = a1 * c[i] - a2 * s[i];
            x2[i] = a2 * c[i] + a1 * s[i];
        }
    }
}

void rotate_heads_portable(const RopeArgs& a, float* token, const float* c, const float* s) {
    rotate_heads(a, token, c, s);
}
#if MNEMO_HAVE_X86
MNEMO_AVX2 void rotate_heads_avx2(const RopeArgs& a, float* token, const float* c, const float* s) {
    rotate_heads(a, token, c, s);
}
#endif

}  // namespace

void rope(const RopeArgs& a, ThreadPool* pool) {
#if MNEMO_HAVE_X86
    const bool avx2 = active_isa() == Isa::avx2;
#endif
    parallel_for(pool, a.n_tokens, 4, [&](int64_t begin, int64_t end) {
        std::vector<float> c(static_cast<size_t>(a.rotary_dim / 2)), s(static_cast<size_t>(a.rotary_dim / 2));
        for (int64_t t = begin; t < end; ++t) {
            angles_cos_sin(a, a.positions[t], c.data(), s.data());
            float* token = a.x + t * a.token_stride;
#if MNEMO_HAVE_X86
            if (avx2) {
                rotate_heads_avx2(a, token, c.data(), s.data());
                continue;
            }
#endif
            rotate_heads_portable(a, token, c.data(), s.data());
        }
    });
}

void rope_reference(const RopeArgs& a) {
    const int64_t half = a.rotary_dim / 2;
    for (int64_t t = 0; t < a.n_tokens; ++t) {
        for (int64_t h = 0; h < a.n_heads; ++h) {
            float* x = a.x + t * a.token_stride + h * a.head_stride;
            for (int64_t i = 0; i < half; ++i) {
                const float exponent = static_cast<float>(2 * i) / static_cast<float>(a.rotary_dim);
                const float inv_freq = 1.0f / std::pow(a.theta, exponent);
                const double angle = static_cast<float>(a.positions[t]) * inv_freq;
                const double c = std::cos(angle);
                const double s = a.inverse ? -std::sin(angle) : std::sin(angle);
                const double x1 = x[i], x2 = x[i + half];
                x[i] = static_cast<float>(x1 * c - x2 * s);
                x[i + half] = static_cast<float>(x2 * c + x1 * s);
            }
        }
    }
}

}  // namespace mnemo::cpu
