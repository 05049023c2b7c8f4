// The retrieval tasks of `mnemo eval`: the C++ twin of training/data/retrieval.py's sample
// construction (same templates, key words, haystacks, needle/question/answer layout and
// token-exactness rules; its own deterministic RNG, so the same distribution but not the
// same bits as Python), and the teacher-forced scorer.
//
// Independent of the runtime: the tokenizer is a function (the CLI wraps mnemo_tokenize),
// the model a Predictor (the CLI wraps a session), so both can be faked in tests.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace mnemo::eval {

using Tokens = std::vector<int32_t>;

// The six task names, in retrieval.py's TASKS order.
const std::vector<std::string>& task_names();
bool is_task(const std::string& name);

// Text -> token ids without BOS (throws std::runtime_error on failure), and the BOS id.
struct Tokenizer {
    std::function<Tokens(const std::string&)> encode;
    int32_t bos = 1;
};

// xoshiro256** seeded through splitmix64 from a string key.
class Rng {
public:
    explicit Rng(const std::string& key);
    uint64_t next();
    uint64_t below(uint64_t n);  // uniform in [0, n), n > 0
    double uniform();            // uniform in [0, 1)
    // k distinct indices of [0, n) in random order (Python's random.sample(range(n), k)).
    std::vector<size_t> sample(size_t n, size_t k);
    template <typename T>
    void shuffle(std::vector<T>* v) {
        for (size_t i = v->size(); i > 1; --i) std::swap((*v)[i - 1], (*v)[below(i)]);
    }

private:
    uint64_t s_[4];
};

// Real text (retrieval.py's TextHaystack): a token stream where `nl` is the newline id.
// segment(n) returns n tokens starting right after a newline, wrapping around at the end of
// the stream, the last token a newline.
class TextHaystack {
public:
    TextHaystack(Tokens ids, int32_t newline_id);  // throws if shorter than 64 tokens
    Tokens segment(Rng& rng, int64_t n) const;
    std::vector<int64_t> insertion_points(const Tokens& seg) const;
    size_t size() const { return ids_.size(); }

private:
    Tokens ids_;
    int32_t nl_;
};

// The FILLER sentences repeated (retrieval.py's RepeatHaystack).
class RepeatHaystack {
public:
    explicit RepeatHaystack(const Tokenizer& tok);
    Tokens segment(int64_t n) const;
    std::vector<int64_t> insertion_points(const Tokens& seg) const;
    const Tokens& unit() const { return unit_; }

private:
    Tokens unit_, first_;
    int32_t nl_;
};

struct Sample {
    std::string task;
    Tokens ids;
    std::vector<std::pair<int64_t, int64_t>> answers;  // token spans [start, end), increasing
    std::vector<std::string> answer_texts;
    std::vector<std::string> keys, values, asked;
    std::vector<int64_t> needle_pos;  // token position of each needle (keys/values order)
};

struct SampleOptions {
    int n_keys = 4;       // niah-multikey
    int n_queries = 1;    // niah-multikey; mqar: >1 asks that many, else n_pairs / 2
    int n_pairs = 0;      // mqar; 0: max(4, min(len(WORDS) / 2, length / 96))
    double depth = -1.0;  // needle depth in [0, 1]; < 0: random per needle
};

// One sample of exactly `length` tokens, BOS first (retrieval.py's make_sample). `hay` is
// needed by the real-text tasks. Throws std::invalid_argument when `length` is too short for
// the task, std::runtime_error when the tokenizer breaks the exactness rules.
Sample make_sample(const std::string& task, Rng& rng, const Tokenizer& tok, int64_t length, const TextHaystack* hay,
                   const SampleOptions& opt);

// Sample `index` of `n` of an evaluation cell (retrieval.py's eval_set): its own RNG keyed by
// (seed, task, length, index); needle depths evenly spread over [0.05, 0.95] (random for
// mqar); niah-multikey 4 keys and 1 query; mqar `mqar_pairs` pairs (0: the length-scaled
// default) and half of them asked.
Sample eval_sample(const std::string& task, uint64_t seed, int64_t length, int index, int n, const Tokenizer& tok,
                   const TextHaystack* hay, int mqar_pairs);

// The model as the scorer sees it: feed tokens, then ask for the argmax of the next-token
// distribution after the last fed token. feed returns false on failure.
class Predictor {
public:
    virtual ~Predictor() = default;
    virtual bool feed(const int32_t* tokens, size_t n) = 0;
    virtual int32_t argmax() = 0;
};

// Feeds the sample from the start and, for each answer, compares the argmax before each
// answer token with it, then feeds the true token (teacher forcing). One bool per answer:
// true when every answer token was the argmax (retrieval.py's score). Throws
// std::runtime_error when a feed fails. Stops after the last answer token's check.
// `tokens_right`, if given, receives the number of answer tokens that were the argmax (a
// finer signal than exact match for models that are still learning).
std::vector<bool> score_sample(const Sample& sample, Predictor& predictor, int64_t* tokens_right = nullptr);

}  // namespace mnemo::eval
