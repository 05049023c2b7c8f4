#include "sampler.h"

#include "error.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace mnemo {

mnemo_status validate_sampler_params(const mnemo_sampler_params& p) {
    if (!(p.temperature >= 0.0f) || !std::isfinite(p.temperature))
        return failf(MNEMO_ERR_INVALID_ARGUMENT, "temperature = %g must be finite and >= 0 (0 = greedy)", static_cast<double>(p.temperature));
    if (p.top_k < 0) return failf(MNEMO_ERR_INVALID_ARGUMENT, "top_k = %d must be >= 0 (0 = off)", p.top_k);
    if (!(p.top_p > 0.0f && p.top_p <= 1.0f))
        return failf(MNEMO_ERR_INVALID_ARGUMENT, "top_p = %g must be in (0, 1] (1 = off)", static_cast<double>(p.top_p));
    if (!(p.repetition_penalty > 0.0f) || !std::isfinite(p.repetition_penalty))
        return failf(MNEMO_ERR_INVALID_ARGUMENT, "repetition_penalty = %g must be finite and > 0 (1 = off)",
                     static_cast<double>(p.repetition_penalty));
    if (p.repetition_window < 0) return failf(MNEMO_ERR_INVALID_ARGUMENT, "repetition_window = %d must be >= 0", p.repetition_window);
    return MNEMO_OK;
}

Sampler::Sampler(const mnemo_sampler_params& params) : params_(params), rng_(params.seed) {}

int32_t Sampler::sample(const float* logits, int32_t n_vocab, const std::vector<int32_t>& recent) {
    candidates_.resize(static_cast<size_t>(n_vocab));
    // A NaN logit (from a state restored with NaN values, say) ranks lowest: sorting
    // with NaN keys would break std::sort's ordering contract (undefined behaviour).
    const auto ranked = [](float l) { return std::isnan(l) ? -std::numeric_limits<float>::infinity() : l; };
    for (int32_t i = 0; i < n_vocab; ++i) candidates_[static_cast<size_t>(i)] = {ranked(logits[i]), i};
    // Repetition penalty (CTRL-style): divide positive logits, multiply negative ones.
    if (repetition_penalty_active(params_)) {
        const size_t window = std::min(recent.size(), static_cast<size_t>(params_.repetition_window));
        // Each token in the window is penalised once, however often it appears.
        std::vector<char> seen(static_cast<size_t>(n_vocab), 0);
        for (size_t j = recent.size() - window; j < recent.size(); ++j)
            if (recent[j] >= 0 && recent[j] < n_vocab) seen[static_cast<size_t>(recent[j])] = 1;
        for (int32_t i = 0; i < n_vocab; ++i) {
            const float l = candidates_[static_cast<size_t>(i)].first;
            candidates_[static_cast<size_t>(i)].first =
                seen[static_cast<size_t>(i)] ? (l > 0 ? l / params_.repetition_penalty : l * params_.repetition_penalty) : l;
        }
    }
    // Greedy: highest logit, lowest id on ties.
    auto better = [](const std::pair<float, int32_t>& a, const std::pair<float, int32_t>& b) {
        return a.first > b.first || (a.first == b.first && a.second < b.second);
    };
    if (params_.temperature == 0.0f) return std::min_element(candidates_.begin(), candidates_.end(), better)->second;

    std::sort(candidates_.begin(), candidates_.end(), better);
    size_t n = candidates_.size();
    if (params_.top_k > 0) n = std::min(n, static_cast<size_t>(params_.top_k));
    const float top = candidates_[0].first;
    // No finite scale to sample from (every logit −inf/NaN, or +inf ones): the best.
    if (!std::isfinite(top)) return candidates_[0].second;
    std::vector<double> probs(n);
    double total = 0;
    for (size_t i = 0; i < n; ++i) {
        probs[i] = std::exp(static_cast<double>(candidates_[i].first - top) / params_.temperature);
        total += probs[i];
    }
    if (params_.top_p < 1.0f) {
        double cumulative = 0;
        size_t keep = n;
        for (size_t i = 0; i < n; ++i) {
            cumulative += probs[i] / total;
            if (cumulative >= params_.top_p) { keep = i + 1; break; }
        }
        n = keep;
        probs.resize(n);
        total = 0;
        for (double p : probs) total += p;
    }
    double r = draw() * total;
    for (size_t i = 0; i < n; ++i) {
        r -= probs[i];
        if (r <= 0) return candidates_[i].second;
    }
    return candidates_[n - 1].second;
}

}  // namespace mnemo
