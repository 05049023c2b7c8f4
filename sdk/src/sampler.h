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

// Whether the repetition penalty changes any logit under these parameters.
inline bool repetition_penalty_active(const mnemo_sampler_params& p) { return p.repetition_penalty != 1.0f && p.repetition_window > 0; }
// Greedy with no penalty in effect: the token is the argmax of the logits as they are (which a
// device backend can take where the logits are).
inline bool plain_greedy(const mnemo_sampler_params& p) { return p.temperature == 0.0f && !repetition_penalty_active(p); }

}  // namespace mnemo
