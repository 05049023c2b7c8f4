// Tokenizers: the byte tokenizer, and SentencePiece trained here with Debian's
// libsentencepiece on a small text, then embedded in a GGUF model.
#include "tokenizer.h"

#include <gtest/gtest.h>
#include <sentencepiece_trainer.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace mnemo;

TEST(ByteTokenizer, RoundTripsArbitraryBytes) {
    auto t = make_byte_tokenizer(4);
    EXPECT_EQ(t->vocab_size(), 260);
    const std::string text("h\xC3\xA9llo \xFF\x00 world", 14);
    std::vector<int32_t> ids;
    ASSERT_EQ(t->encode(text, &ids), MNEMO_OK);
    ASSERT_EQ(ids.size(), text.size());
    EXPECT_EQ(ids[0], 'h' + 4);
    std::string back;
    ASSERT_EQ(t->decode(ids.data(), ids.size(), &back), MNEMO_OK);
    EXPECT_EQ(back, text);
    // Special tokens below the offset decode to nothing.
    const int32_t specials[] = {1, 'a' + 4, 2};
    ASSERT_EQ(t->decode(specials, 3, &back), MNEMO_OK);
    EXPECT_EQ(back, "a");
}

class SentencePiece : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        const std::string dir = ::testing::TempDir() + "/spm_" + std::to_string(::getpid());
        std::filesystem::create_directories(dir);
        const std::string corpus = dir + "/spm_corpus.txt";
        std::ofstream out(corpus);
        const char* lines[] = {"The quick brown fox jumps over the lazy dog.", "Memory that does not grow with the document.",
                               "Learnable token eviction keeps what linear attention forgets.", "A sliding window sees recent tokens.",
                               "Gated DeltaNet updates a fixed-size state.", "Sink tokens are never evicted."};
        for (int rep = 0; rep < 40; ++rep)
            for (const char* l : lines) out << l << " " << rep << "\n";
        out.close();
        const auto st = sentencepiece::SentencePieceTrainer::Train("--input=" + corpus + " --model_prefix=" + dir +
                                                                   "/spm_test --vocab_size=120 --model_type=unigram --minloglevel=2 "
                                                                   "--hard_vocab_limit=false --character_coverage=1.0");
        train_error_ = st.ok() ? "" : st.ToString();
        std::ifstream in(dir + "/spm_test.model", std::ios::binary);
        serialized_ = std::string(std::istreambuf_iterator<char>(in), {});
    }
    // A failed SetUpTestSuite would only mark tests skipped; fail them instead.
    void SetUp() override { ASSERT_EQ(train_error_, "") << "spm training failed"; }
    static std::string serialized_;
    static std::string train_error_;
};
std::string SentencePiece::serialized_;
std::string SentencePiece::train_error_;

TEST_F(SentencePiece, EncodesAndDecodes) {
    std::unique_ptr<Tokenizer> t;
    ASSERT_EQ(make_sentencepiece_tokenizer(serialized_, &t), MNEMO_OK) << mnemo_last_error();
    EXPECT_GT(t->vocab_size(), 40);
    EXPECT_LE(t->vocab_size(), 120);
    std::vector<int32_t> ids;
    const std::string text = "The lazy fox keeps what attention forgets.";
    ASSERT_EQ(t->encode(text, &ids), MNEMO_OK);
    EXPECT_GT(ids.size(), 3u);
    EXPECT_LT(ids.size(), text.size());
    std::string back;
    ASSERT_EQ(t->decode(ids.data(), ids.size(), &back), MNEMO_OK);
    EXPECT_EQ(back, text);
}

TEST_F(SentencePiece, InvalidUtf8IsRefusedWithOffset) {
    std::unique_ptr<Tokenizer> t;
    ASSERT_EQ(make_sentencepiece_tokenizer(serialized_, &t), MNEMO_OK);
    std::vector<int32_t> ids;
    EXPECT_EQ(t->encode(std::string("ok \xE2\x82 broken"), &ids), MNEMO_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(mnemo_last_error()).find("offset 3"), std::string::npos) << mnemo_last_error();
}

TEST_F(SentencePiece, GarbageModelIsRefused) {
    std::unique_ptr<Tokenizer> t;
    EXPECT_EQ(make_sentencepiece_tokenizer("definitely not a model proto", &t), MNEMO_ERR_TOKENIZER);
}

TEST_F(SentencePiece, LivesInsideTheGgufModel) {
    GgufWriter w;
    w.set("mnemo.tokenizer.kind", GgufValue::make_string("sentencepiece"));
    w.set("mnemo.tokenizer.sentencepiece.model", GgufValue::make_bytes(std::vector<uint8_t>(serialized_.begin(), serialized_.end())));
    const std::string path = ::testing::TempDir() + "/spm_in_gguf.gguf";
    ASSERT_EQ(w.write(path), MNEMO_OK);
    GgufFile f;
    ASSERT_EQ(f.open(path, true), MNEMO_OK);
    std::unique_ptr<Tokenizer> t;
    ASSERT_EQ(load_tokenizer(f, &t), MNEMO_OK) << mnemo_last_error();
    ASSERT_TRUE(t);
    EXPECT_STREQ(t->kind(), "sentencepiece");
    std::vector<int32_t> ids;
    ASSERT_EQ(t->encode("Sink tokens", &ids), MNEMO_OK);
    EXPECT_FALSE(ids.empty());
}
