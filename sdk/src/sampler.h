// Token sampling from logits: greedy, temperature, top-k, top-p, repetition penalty,
// seeded. One implementation for every caller (API, CLI, studio).
#pragma once

#include "mnemo/mnemo.h"

#include <cstdint>
#include <random>
#include <vector>

namespace mnemo {

class Sampler {
public:
    explicit Sampler(const mnemo_sampler_params& params);
    // `recent` are the last tokens (for the repetition penalty). Returns a token id.
    int32_t sample(const float* logits, int32_t n_vocab, const std::vector<int32_t>& recent);
    // The next draw in [0, 1) (53-bit canonical). A temperature sample uses exactly one,
    // as r = draw() · total; device backends take it from here so that a seed means the
    // same tokens on every backend.
    double draw() { return std::generate_canonical<double, 53>(rng_); }

private:
    mnemo_sampler_params params_;
    std::mt19937_64 rng_;
    std::vector<std::pair<float, int32_t>> candidates_;
};

mnemo_status validate_sampler_params(const mnemo_sampler_params& p);

}  // namespace mnemo
