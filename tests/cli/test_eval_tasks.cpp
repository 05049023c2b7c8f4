// mnemo eval's sample builder and scorer (tools/eval_tasks.*): exact lengths, BOS first,
// needles where the metadata says and before the questions, answers that decode to the
// values, determinism, and teacher-forced scoring against fake predictors. Run with the
// bundled model's SentencePiece tokenizer (through the C API) and with a byte tokenizer.
#include "eval_tasks.h"

#include "mnemo/mnemo.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace {

using mnemo::eval::Sample;
using mnemo::eval::Tokens;

const std::string kModel = std::string(MNEMO_SOURCE_DIR) + "/models/lalte-18m/lalte-18m-q8_0.gguf";

// retrieval.py's ByteTokenizer: id = byte + 3, BOS 1.
struct ByteTok {
    mnemo::eval::Tokenizer tok;
    ByteTok() {
        tok.bos = 1;
        tok.encode = [](const std::string& s) {
            Tokens t;
            for (unsigned char c : s) t.push_back(static_cast<int32_t>(c) + 3);
            return t;
        };
    }
    std::string decode(const int32_t* ids, size_t n) const {
        std::string s;
        for (size_t i = 0; i < n; ++i) s += static_cast<char>(ids[i] - 3);
        return s;
    }
};

// The bundled model's tokenizer through the public API.
struct ModelTok {
    mnemo_model* model = nullptr;
    mnemo::eval::Tokenizer tok;
    explicit ModelTok(const std::string& path) {
        if (mnemo_model_load(path.c_str(), nullptr, &model) != MNEMO_OK) return;
        tok.bos = 1;
        mnemo_model* m = model;
        tok.encode = [m](const std::string& s) {
            std::vector<int32_t> out(s.size() + 16);
            size_t n = 0;
            if (mnemo_tokenize(m, s.data(), s.size(), 0, out.data(), out.size(), &n) != MNEMO_OK) throw std::runtime_error("tokenize");
            out.resize(n);
            return out;
        };
    }
    ~ModelTok() { mnemo_model_free(model); }
    std::string decode(const int32_t* ids, size_t n) const {
        std::string s(n * 16 + 16, '\0');
        size_t len = 0;
        if (mnemo_detokenize(model, ids, n, s.data(), s.size(), &len) != MNEMO_OK) return "<detokenize failed>";
        s.resize(len);
        return s;
    }
};

// Held-out-like text: numbered lines of prose (enough for wrap-around at the lengths used).
std::string haystack_text() {
    std::string t;
    for (int i = 0; i < 400; ++i)
        t += "Line " + std::to_string(i) + " of the held-out text tells of rivers, hills and the weather that year.\n";
    return t;
}

template <typename Tok>
class EvalTasks {
public:
    explicit EvalTasks(const Tok& t) : t_(t), hay_(t.tok.encode(haystack_text()), t.tok.encode("\n").at(0)) {}

    std::string text(const Sample& s, int64_t from, int64_t to) const {
        return t_.decode(s.ids.data() + from, static_cast<size_t>(to - from));
    }

    void check_sample(const Sample& s, int64_t length) const {
        SCOPED_TRACE(s.task + " at " + std::to_string(length));
        ASSERT_EQ(static_cast<int64_t>(s.ids.size()), length);
        EXPECT_EQ(s.ids[0], t_.tok.bos);
        EXPECT_EQ(std::count(s.ids.begin(), s.ids.end(), t_.tok.bos), 1) << "BOS only first";
        ASSERT_FALSE(s.answers.empty());
        ASSERT_EQ(s.answers.size(), s.answer_texts.size());
        int64_t prev = 1;
        for (size_t i = 0; i < s.answers.size(); ++i) {
            const auto [a, b] = s.answers[i];
            EXPECT_LT(prev, a);
            EXPECT_LT(a, b);
            EXPECT_LT(b, length) << "the '.' after the answer is in the sample";
            prev = b;
            EXPECT_EQ(text(s, a, b), " " + s.answer_texts[i]) << "answer span decodes to the value";
            EXPECT_EQ(text(s, b, b + 1), ".");
        }
        const int64_t q0 = s.answers.front().first;
        const std::string before = text(s, 1, q0);
        // every needle sits at its recorded position, before the first answer, and says the value
        ASSERT_EQ(s.needle_pos.size(), s.task == "passkey" ? 1u : s.keys.size());
        for (size_t i = 0; i < s.needle_pos.size(); ++i) {
            const int64_t p = s.needle_pos[i];
            EXPECT_LT(p, q0);
            const std::string at = text(s, p, std::min<int64_t>(p + 160, q0));
            std::string needle;
            if (s.task == "mqar") needle = "The code for " + s.keys[i] + " is " + s.values[i] + ".";
            else if (s.task == "passkey") needle = " The pass key is " + s.values[0] + ". Remember it. " + s.values[0] + " is the pass key.";
            else
                needle = std::string(s.task == "niah-single-repeat" ? " " : "") + "One of the special magic " +
                         (s.task == "niah-single-uuid" ? "uuid" : "number") + "s for " + s.keys[i] + " is: " + s.values[i] + ".";
            EXPECT_EQ(at.substr(0, needle.size()), needle);
            EXPECT_NE(before.find(needle), std::string::npos);
            if (s.task != "niah-single-repeat" && s.task != "passkey" && p > 0) {
                EXPECT_EQ(text(s, p - 1, p), "\n") << "real-text needles follow a newline";
            }
        }
        // each question asks for its key, and its answer is that key's value
        for (size_t q = 0; q < s.answers.size(); ++q) {
            std::string question = "The pass key is";
            if (s.task != "passkey") {
                const auto k = static_cast<size_t>(std::find(s.keys.begin(), s.keys.end(), s.asked.at(q)) - s.keys.begin());
                ASSERT_LT(k, s.keys.size());
                EXPECT_EQ(s.answer_texts[q], s.values[k]);
                question = s.task == "mqar" ? "\nThe code for " + s.asked[q] + " is"
                                            : " The special magic " + std::string(s.task == "niah-single-uuid" ? "uuid" : "number") +
                                                  " for " + s.asked[q] + " mentioned in the provided text is";
            }
            const std::string upto = text(s, std::max<int64_t>(1, s.answers[q].first - 160), s.answers[q].first);
            EXPECT_TRUE(upto.size() >= question.size() && upto.compare(upto.size() - question.size(), question.size(), question) == 0)
                << "question " << q << " ends: " << upto;
        }
        // value formats
        const std::regex digits7("[1-9][0-9]{6}"), digits5("[1-9][0-9]{4}"), digits4("[1-9][0-9]{3}"),
            uuid("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
        for (const auto& v : s.values) {
            const std::regex& re = s.task == "niah-single-uuid" ? uuid : s.task == "passkey" ? digits5 : s.task == "mqar" ? digits4 : digits7;
            EXPECT_TRUE(std::regex_match(v, re)) << v;
        }
        std::set<std::string> keys(s.keys.begin(), s.keys.end());
        EXPECT_EQ(keys.size(), s.keys.size()) << "distinct keys";
        if (s.task == "niah-multikey") { EXPECT_EQ(s.keys.size(), 4u); EXPECT_EQ(s.answers.size(), 1u); }
        if (s.task == "niah-single" || s.task == "niah-single-uuid" || s.task == "niah-single-repeat") {
            EXPECT_EQ(s.answers.size(), 1u);
        }
        // the filler tasks' text round-trips exactly through the tokenizer
        if (s.task == "niah-single-repeat" || s.task == "passkey") {
            EXPECT_EQ(t_.tok.encode(text(s, 1, length)), Tokens(s.ids.begin() + 1, s.ids.end()));
        }
    }

    const Tok& t_;
    mnemo::eval::TextHaystack hay_;
};

template <typename Tok>
void check_all(const Tok& t, const std::vector<int64_t>& lengths) {
    EvalTasks<Tok> e(t);
    for (const auto& task : mnemo::eval::task_names())
        for (int64_t L : lengths)
            for (int i = 0; i < 3; ++i) {
                const Sample s = mnemo::eval::eval_sample(task, 5, L, i, 3, t.tok, &e.hay_, 16);
                e.check_sample(s, L);
                if (task == "mqar") { EXPECT_EQ(s.keys.size(), 16u); EXPECT_EQ(s.answers.size(), 8u); }
            }
}

TEST(EvalTasks, ByteTokenizerSamplesHaveTheLayout) { check_all(ByteTok(), {1024, 1500, 4096}); }

TEST(EvalTasks, ModelTokenizerSamplesHaveTheLayout) {
    if (!std::filesystem::exists(kModel)) GTEST_SKIP() << "no " << kModel;
    ModelTok t(kModel);
    ASSERT_NE(t.model, nullptr) << mnemo_last_error();
    check_all(t, {512, 1000, 2048, 8192});
}

TEST(EvalTasks, MqarAutoPairsScaleWithLength) {
    ByteTok t;
    EvalTasks<ByteTok> e(t);
    const Sample s = mnemo::eval::eval_sample("mqar", 0, 8192, 0, 1, t.tok, &e.hay_, 0);
    EXPECT_EQ(s.keys.size(), 85u);  // max(4, min(253 / 2, 8192 / 96))
    EXPECT_EQ(s.answers.size(), 42u);
    e.check_sample(s, 8192);
}

TEST(EvalTasks, DeterministicFromTheSeed) {
    ByteTok t;
    EvalTasks<ByteTok> e(t);
    for (const auto& task : mnemo::eval::task_names()) {
        const auto a = mnemo::eval::eval_sample(task, 1, 2048, 0, 4, t.tok, &e.hay_, 16);
        const auto b = mnemo::eval::eval_sample(task, 1, 2048, 0, 4, t.tok, &e.hay_, 16);
        const auto c = mnemo::eval::eval_sample(task, 2, 2048, 0, 4, t.tok, &e.hay_, 16);
        const auto d = mnemo::eval::eval_sample(task, 1, 2048, 1, 4, t.tok, &e.hay_, 16);
        EXPECT_EQ(a.ids, b.ids) << task;
        EXPECT_EQ(a.answers, b.answers) << task;
        EXPECT_NE(a.ids, c.ids) << task << ": another seed, another sample";
        EXPECT_NE(a.ids, d.ids) << task << ": another index, another sample";
    }
}

TEST(EvalTasks, NeedleDepthSpreadsOverTheCell) {
    ByteTok t;
    EvalTasks<ByteTok> e(t);
    for (const char* task : {"niah-single-repeat", "niah-single", "passkey"}) {
        int64_t prev = -1;
        for (int i = 0; i < 4; ++i) {
            const auto s = mnemo::eval::eval_sample(task, 0, 4096, i, 4, t.tok, &e.hay_, 16);
            EXPECT_GT(s.needle_pos[0], prev) << task << " sample " << i;
            prev = s.needle_pos[0];
        }
        EXPECT_GT(prev, 4096 / 2) << task;
    }
}

TEST(EvalTasks, TooShortLengthIsRefused) {
    ByteTok t;
    EvalTasks<ByteTok> e(t);
    for (const auto& task : mnemo::eval::task_names())
        EXPECT_THROW(mnemo::eval::eval_sample(task, 0, 64, 0, 1, t.tok, &e.hay_, 16), std::invalid_argument) << task;
}

TEST(EvalTasks, TextHaystackSegmentsStartAfterANewlineAndWrap) {
    ByteTok t;
    const Tokens ids = t.tok.encode(haystack_text());
    const int32_t nl = t.tok.encode("\n")[0];
    mnemo::eval::TextHaystack hay(ids, nl);
    for (int k = 0; k < 20; ++k) {
        mnemo::eval::Rng rng("seg" + std::to_string(k));
        const int64_t n = 3 * static_cast<int64_t>(ids.size()) / 2;  // longer than the stream: wraps
        const Tokens seg = hay.segment(rng, n);
        ASSERT_EQ(static_cast<int64_t>(seg.size()), n);
        EXPECT_EQ(seg.back(), nl);
        EXPECT_EQ(t.decode(seg.data(), 5), "Line ");
        for (int64_t p : hay.insertion_points(seg)) {
            if (p > 0) {
                EXPECT_EQ(seg[static_cast<size_t>(p - 1)], nl);
            }
        }
    }
    EXPECT_THROW(mnemo::eval::TextHaystack(t.tok.encode("too short\n"), nl), std::runtime_error);
}

// ------------------------------------------------------------------------------ scoring

// Predicts the sample itself, except at the chosen positions; records what it was fed.
class FakePredictor : public mnemo::eval::Predictor {
public:
    FakePredictor(const Sample& s, std::set<int64_t> wrong_at) : s_(s), wrong_(std::move(wrong_at)) {}
    bool feed(const int32_t* t, size_t n) override {
        fed.insert(fed.end(), t, t + n);
        ++calls;
        return true;
    }
    int32_t argmax() override {
        const auto p = static_cast<int64_t>(fed.size());  // predicting position p
        const int32_t truth = s_.ids.at(static_cast<size_t>(p));
        return wrong_.count(p) ? truth + 1 : truth;
    }
    Tokens fed;
    int calls = 0;

private:
    const Sample& s_;
    std::set<int64_t> wrong_;
};

TEST(EvalScore, OracleIsRightEverywhereAndIsFedTheSample) {
    ByteTok t;
    EvalTasks<ByteTok> e(t);
    const auto s = mnemo::eval::eval_sample("mqar", 3, 2048, 0, 1, t.tok, &e.hay_, 16);
    FakePredictor oracle(s, {});
    const auto ok = mnemo::eval::score_sample(s, oracle);
    ASSERT_EQ(ok.size(), 8u);
    EXPECT_EQ(std::count(ok.begin(), ok.end(), true), 8);
    const int64_t last = s.answers.back().second;
    EXPECT_EQ(oracle.fed, Tokens(s.ids.begin(), s.ids.begin() + last - 1)) << "every token up to the last answer token's check";
}

TEST(EvalScore, OneWrongTokenFailsOnlyItsQueryAndTeacherForcingGoesOn) {
    ByteTok t;
    EvalTasks<ByteTok> e(t);
    const auto s = mnemo::eval::eval_sample("mqar", 3, 2048, 0, 1, t.tok, &e.hay_, 16);
    // wrong at the last token of answer 1 and at the first of answer 5; wrong outside answers does not count
    const std::set<int64_t> wrong = {s.answers[1].second - 1, s.answers[5].first, s.answers[0].first - 3, 10};
    FakePredictor p(s, wrong);
    int64_t right = -1;
    const auto ok = mnemo::eval::score_sample(s, p, &right);
    int64_t answer_tokens = 0;
    for (const auto& [a, b] : s.answers) answer_tokens += b - a;
    EXPECT_EQ(right, answer_tokens - 2) << "two answer tokens were wrong";
    const std::vector<bool> want = {true, false, true, true, true, false, true, true};
    EXPECT_EQ(ok, want);
    EXPECT_EQ(p.fed, Tokens(s.ids.begin(), s.ids.begin() + s.answers.back().second - 1)) << "the true tokens are fed, not the predictions";
}

TEST(EvalScore, FeedFailureThrows) {
    ByteTok t;
    EvalTasks<ByteTok> e(t);
    const auto s = mnemo::eval::eval_sample("passkey", 0, 1024, 0, 1, t.tok, &e.hay_, 16);
    struct Failing : mnemo::eval::Predictor {
        bool feed(const int32_t*, size_t) override { return false; }
        int32_t argmax() override { return 0; }
    } f;
    EXPECT_THROW(mnemo::eval::score_sample(s, f), std::runtime_error);
}

}  // namespace
