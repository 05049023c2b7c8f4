#include "cpu/lte_conv.h"

#include <algorithm>
#include <cassert>
#include <cmath>

#include "cpu/activation.h"
#include "cpu/matmul.h"

namespace mnemo::cpu {
namespace {

constexpr int64_t kRowTile = 256;

float apply_routing(double logit, LteRouting routing) {
    switch (routing) {
        case LteRouting::sigmoid: return static_cast<float>(1.0 / (1.0 + std::exp(-logit)) - 0.5);
        case LteRouting::relu: return static_cast<float>(logit > 0.0 ? logit : 0.0);
        case LteRouting::logit: return static_cast<float>(logit);
    }
    return 0.0f;
}

int64_t pad_left_of(int64_t kernel, int64_t dilation) { return dilation * (kernel - 1) / 2; }

// Input channel c of group g at segment row r: [k_g, v_g].
float input_at(const LteSegment& s, int64_t head_dim, int64_t g, int64_t r, int64_t c) {
    return c < head_dim ? s.k[r * s.k_stride + g * head_dim + c] : s.v[r * s.v_stride + g * head_dim + c - head_dim];
}

}  // namespace

int64_t lte_receptive_field(const LteConvStackWeights& w) {
    int64_t rf = 1;
    for (const auto& layer : w.layers) rf += (layer.kernel_size - 1) * layer.dilation;
    return rf;
}

void lte_scores_reference(const LteConvStackWeights& w, const LteSegment& s, const LteOutput& out) {
    const int64_t n = s.n_rows, groups = w.groups;
    for (int64_t g = 0; g < groups; ++g) {
        int64_t channels = 2 * w.head_dim;
        std::vector<double> act(static_cast<size_t>(n * channels));
        for (int64_t r = 0; r < n; ++r) {
            for (int64_t c = 0; c < channels; ++c) act[static_cast<size_t>(r * channels + c)] = input_at(s, w.head_dim, g, r, c);
        }
        for (const auto& layer : w.layers) {
            const int64_t cin = layer.in_channels / groups, cout = layer.out_channels / groups;
            assert(cin == channels);
            const int64_t left = pad_left_of(layer.kernel_size, layer.dilation);
            std::vector<double> next(static_cast<size_t>(n * cout));
            for (int64_t p = 0; p < n; ++p) {
                for (int64_t o = 0; o < cout; ++o) {
                    const int64_t oc = g * cout + o;
                    double acc = layer.bias != nullptr ? layer.bias[oc] : 0.0;
                    for (int64_t j = 0; j < layer.kernel_size; ++j) {
                        const int64_t src = p - left + j * layer.dilation;
                        if (src < 0 || src >= n) continue;  // 'same' zero padding at the segment ends
                        for (int64_t c = 0; c < cin; ++c) {
                            acc += static_cast<double>(layer.weight[(oc * cin + c) * layer.kernel_size + j]) *
                                   act[static_cast<size_t>(src * cin + c)];
                        }
                    }
                    next[static_cast<size_t>(p * cout + o)] = acc / (1.0 + std::exp(-acc));  // SiLU
                }
            }
            act.swap(next);
            channels = cout;
        }
        for (int64_t p = out.out_begin; p < out.out_end; ++p) {
            double logit = w.proj_bias != nullptr ? w.proj_bias[g] : 0.0;
            for (int64_t c = 0; c < channels; ++c) {
                logit += static_cast<double>(w.proj_weight[g * channels + c]) * act[static_cast<size_t>(p * channels + c)];
            }
            out.scores[(p - out.out_begin) * out.scores_stride + g] = apply_routing(logit, out.routing);
        }
    }
}

LteScorer::LteScorer(const LteConvStackWeights& w)
    : groups_(w.groups), head_dim_(w.head_dim), receptive_field_(lte_receptive_field(w)) {
    int64_t channels = 2 * w.head_dim * w.groups;
    for (const auto& src : w.layers) {
        assert(src.in_channels == channels && src.in_channels % groups_ == 0 && src.out_channels % groups_ == 0);
        Layer layer;
        layer.in_per_group = src.in_channels / groups_;
        layer.out_per_group = src.out_channels / groups_;
        layer.kernel_size = src.kernel_size;
        layer.dilation = src.dilation;
        layer.pad_left = pad_left_of(src.kernel_size, src.dilation);
        layer.pad_right = src.dilation * (src.kernel_size - 1) - layer.pad_left;
        const int64_t width = layer.kernel_size * layer.in_per_group;
        layer.weight.resize(static_cast<size_t>(src.out_channels * width));
        for (int64_t o = 0; o < src.out_channels; ++o) {
            for (int64_t c = 0; c < layer.in_per_group; ++c) {
                for (int64_t j = 0; j < layer.kernel_size; ++j) {
                    layer.weight[static_cast<size_t>(o * width + j * layer.in_per_group + c)] =
                        src.weight[(o * layer.in_per_group + c) * layer.kernel_size + j];
                }
            }
        }
        layer.bias.assign(static_cast<size_t>(src.out_channels), 0.0f);
        if (src.bias != nullptr) std::copy(src.bias, src.bias + src.out_channels, layer.bias.begin());
        channels = src.out_channels;
        left_context_ += layer.pad_left;
        right_context_ += layer.pad_right;
        layers_.push_back(std::move(layer));
    }
    const int64_t last = channels / groups_;
    proj_weight_.assign(w.proj_weight, w.proj_weight + groups_ * last);
    proj_bias_.assign(static_cast<size_t>(groups_), 0.0f);
    if (w.proj_bias != nullptr) std::copy(w.proj_bias, w.proj_bias + groups_, proj_bias_.begin());
}

void LteScorer::scores(const LteSegment& s, const LteOutput& out, ThreadPool* pool) const {
    const int64_t n = s.n_rows;
    const int64_t n_out = out.out_end - out.out_begin;
    if (n_out <= 0) return;
    const int64_t n_tiles = (n_out + kRowTile - 1) / kRowTile;
    const int64_t n_layers = static_cast<int64_t>(layers_.size());
    parallel_for(pool, groups_ * n_tiles, 1, [&](int64_t begin, int64_t end) {
        // Per-thread buffers kept across calls (decode rescores the window every few tokens).
        thread_local std::vector<float> act, next, col;
        thread_local std::vector<int64_t> lo, hi;
        lo.resize(static_cast<size_t>(n_layers + 1));
        hi.resize(static_cast<size_t>(n_layers + 1));
        for (int64_t task = begin; task < end; ++task) {
            const int64_t g = task / n_tiles;
            const int64_t tile_begin = out.out_begin + (task % n_tiles) * kRowTile;
            const int64_t tile_end = std::min(out.out_end, tile_begin + kRowTile);
            // Rows each stage must produce: lo/hi[l + 1] for layer l's output, lo/hi[0] input.
            lo[static_cast<size_t>(n_layers)] = tile_begin;
            hi[static_cast<size_t>(n_layers)] = tile_end;
            for (int64_t l = n_layers - 1; l >= 0; --l) {
                const Layer& layer = layers_[static_cast<size_t>(l)];
                lo[static_cast<size_t>(l)] = std::max<int64_t>(0, lo[static_cast<size_t>(l + 1)] - layer.pad_left);
                hi[static_cast<size_t>(l)] = std::min<int64_t>(n, hi[static_cast<size_t>(l + 1)] + layer.pad_right);
            }
            // Gather this group's input rows.
            int64_t channels = 2 * head_dim_;
            const int64_t in_rows = hi[0] - lo[0];
            act.resize(static_cast<size_t>(in_rows * channels));
            for (int64_t r = 0; r < in_rows; ++r) {
                const float* kr = s.k + (lo[0] + r) * s.k_stride + g * head_dim_;
                const float* vr = s.v + (lo[0] + r) * s.v_stride + g * head_dim_;
                std::copy(kr, kr + head_dim_, act.begin() + r * channels);
                std::copy(vr, vr + head_dim_, act.begin() + r * channels + head_dim_);
            }
            for (int64_t l = 0; l < n_layers; ++l) {
                const Layer& layer = layers_[static_cast<size_t>(l)];
                const int64_t prev_lo = lo[static_cast<size_t>(l)], prev_hi = hi[static_cast<size_t>(l)];
                const int64_t row_lo = lo[static_cast<size_t>(l + 1)], rows = hi[static_cast<size_t>(l + 1)] - row_lo;
                const int64_t width = layer.kernel_size * channels;
                if (col.size() < static_cast<size_t>(rows * width)) col.resize(static_cast<size_t>(rows * width));
                for (int64_t r = 0; r < rows; ++r) {
                    for (int64_t j = 0; j < layer.kernel_size; ++j) {
                        const int64_t src = row_lo + r - layer.pad_left + j * layer.dilation;
                        const auto dst = col.begin() + r * width + j * channels;
                        if (src < prev_lo || src >= prev_hi) {
                            std::fill(dst, dst + channels, 0.0f);  // outside the segment: zero
                            continue;
                        }
                        std::copy(act.begin() + (src - prev_lo) * channels, act.begin() + (src - prev_lo + 1) * channels, dst);
                    }
                }
                const int64_t cout = layer.out_per_group;
                next.resize(static_cast<size_t>(rows * cout));
                MatmulArgs m;
                m.x = col.data();
                m.x_stride = width;
                m.n_rows = rows;
                m.k = width;
                m.w = layer.weight.data() + g * cout * width;
                m.w_type = DType::f32;
                m.n_cols = cout;
                m.bias = layer.bias.data() + g * cout;
                m.y = next.data();
                m.y_stride = cout;
                matmul(m, nullptr);
                silu(next.data(), next.data(), rows * cout);
                act.swap(next);
                channels = cout;
            }
            const float* pw = proj_weight_.data() + g * channels;
            for (int64_t p = tile_begin; p < tile_end; ++p) {
                const float* a = act.data() + (p - tile_begin) * channels;
                float logit = proj_bias_[static_cast<size_t>(g)];
                for (int64_t c = 0; c < channels; ++c) logit += pw[c] * a[c];
                out.scores[(p - out.out_begin) * out.scores_stride + g] = apply_routing(logit, out.routing);
            }
        }
    });
}

}  // namespace mnemo::cpu
