// fuzz_tokenizer: the input is text (any bytes) given to the tokenizers.
//
// At start-up two SentencePiece models are trained into a scratch directory with
// Debian's libsentencepiece_train: a unigram model with NFKC normalisation and byte
// fallback (what a real model ships), and a BPE model with identity normalisation,
// byte fallback and no whitespace rewriting (so text must survive a round trip).
//
// The first input byte picks what runs on the rest:
//   byte tokenizer    encode -> ids in range -> decode == the text, byte for byte;
//   SentencePiece     encode is refused (INVALID_ARGUMENT) exactly when the text is not
//                     UTF-8; otherwise ids are in range and decode succeeds, and the
//                     identity BPE model gives the text back;
//   decode            the bytes read as token ids (mod the vocabulary), decoded;
// and every input is checked against a reference UTF-8 validator (find_invalid_utf8
// is what every text entry point relies on).
#include "fuzz_util.h"
#include "tokenizer.h"
#include "util.h"

#include <sentencepiece_trainer.h>

#include <cstring>
#include <fstream>
#include <iterator>

using namespace mnemo;

namespace {

std::unique_ptr<Tokenizer> g_unigram, g_bpe;

std::unique_ptr<Tokenizer> train(const std::string& dir, const std::string& corpus, const std::string& name,
                                 const std::string& options) {
    const auto st = sentencepiece::SentencePieceTrainer::Train("--input=" + corpus + " --model_prefix=" + dir + "/" + name +
                                                               " --minloglevel=2 --character_coverage=1.0 " + options);
    if (!st.ok()) {
        std::fprintf(stderr, "fuzz_tokenizer: training %s failed: %s\n", name.c_str(), st.ToString().c_str());
        std::abort();
    }
    std::ifstream in(dir + "/" + name + ".model", std::ios::binary);
    const std::string serialized((std::istreambuf_iterator<char>(in)), {});
    std::unique_ptr<Tokenizer> t;
    if (make_sentencepiece_tokenizer(serialized, &t) != MNEMO_OK) {
        std::fprintf(stderr, "fuzz_tokenizer: %s\n", mnemo_last_error());
        std::abort();
    }
    return t;
}

// Unicode 15, Table 3-7 (well-formed UTF-8 byte sequences): the offset of the first
// ill-formed sequence, or npos.
size_t reference_invalid_utf8(const uint8_t* s, size_t n) {
    size_t i = 0;
    while (i < n) {
        const uint8_t c = s[i];
        size_t len;
        uint8_t lo = 0x80, hi = 0xBF;  // range of the second byte
        if (c <= 0x7F) { ++i; continue; }
        else if (c >= 0xC2 && c <= 0xDF) len = 2;
        else if (c == 0xE0) { len = 3; lo = 0xA0; }
        else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) len = 3;
        else if (c == 0xED) { len = 3; hi = 0x9F; }
        else if (c == 0xF0) { len = 4; lo = 0x90; }
        else if (c >= 0xF1 && c <= 0xF3) len = 4;
        else if (c == 0xF4) { len = 4; hi = 0x8F; }
        else return i;
        if (i + len > n) return i;
        if (s[i + 1] < lo || s[i + 1] > hi) return i;
        for (size_t j = 2; j < len; ++j)
            if (s[i + j] < 0x80 || s[i + j] > 0xBF) return i;
        i += len;
    }
    return std::string_view::npos;
}

void check_spm(const Tokenizer& t, std::string_view text, bool exact_round_trip) {
    const bool valid = find_invalid_utf8(text) == std::string_view::npos;
    std::vector<int32_t> ids;
    const mnemo_status s = t.encode(text, &ids);
    if (!valid) {
        FUZZ_CHECK(s == MNEMO_ERR_INVALID_ARGUMENT, "invalid UTF-8 gave status %d", s);
        return;
    }
    FUZZ_CHECK(s == MNEMO_OK, "valid UTF-8 was refused (%d)", s);
    const int32_t vocab = t.vocab_size();
    for (int32_t id : ids) FUZZ_CHECK(id >= 0 && id < vocab, "id %d outside [0, %d)", id, vocab);
    std::string back;
    FUZZ_CHECK(t.decode(ids.data(), ids.size(), &back) == MNEMO_OK, "decode of encoded ids failed");
    if (exact_round_trip && text.find('\0') == std::string_view::npos &&
        text.find("\xE2\x96\x81") == std::string_view::npos)  // U+2581 is SentencePiece's space marker
        FUZZ_CHECK(back == text, "identity BPE round trip changed the text (%zu -> %zu bytes)", text.size(), back.size());
}

void check_decode_ids(const Tokenizer& t, const uint8_t* data, size_t size) {
    const int32_t vocab = t.vocab_size();
    std::vector<int32_t> ids(size / 2);
    for (size_t i = 0; i < ids.size(); ++i) ids[i] = (data[2 * i] | data[2 * i + 1] << 8) % vocab;
    std::string text;
    FUZZ_CHECK(t.decode(ids.data(), ids.size(), &text) == MNEMO_OK, "decode of in-range ids failed");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    const std::string dir = fuzz::scratch_dir();
    const std::string corpus = dir + "/corpus.txt";
    std::ofstream out(corpus);
    const char* lines[] = {
        "The quick brown fox jumps over the lazy dog.",
        "Memory that does not grow with the document.",
        "Learnable token eviction keeps what linear attention forgets.",
        "A sliding window sees recent tokens; sink tokens are never evicted.",
        "Gated DeltaNet updates a fixed-size state, 64 x 64 per head.",
        "Ça ne grandit pas avec le document — naïve café, fiancée, Zürich.",
        "Память не растёт вместе с документом.",
        "記憶は文書と共に増えない。长文档问答。",
        "ｆｕｌｌｗｉｄｔｈ ① ﬁ ㎏ Ⅻ",  // NFKC rewrites these
        "emoji 😀🚀 and tabs\tand  double  spaces",
    };
    for (int rep = 0; rep < 30; ++rep)
        for (const char* l : lines) out << l << " " << rep << "\n";
    out.close();
    g_unigram = train(dir, corpus, "unigram",
                      "--model_type=unigram --vocab_size=600 --hard_vocab_limit=false --byte_fallback=true "
                      "--normalization_rule_name=nmt_nfkc");
    g_bpe = train(dir, corpus, "bpe",
                  "--model_type=bpe --vocab_size=600 --hard_vocab_limit=false --byte_fallback=true "
                  "--normalization_rule_name=identity --add_dummy_prefix=false --remove_extra_whitespaces=false "
                  "--split_by_whitespace=false");
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const size_t bad_ref = reference_invalid_utf8(data, size);
    const size_t bad = find_invalid_utf8(std::string_view(reinterpret_cast<const char*>(data), size));
    FUZZ_CHECK(bad == bad_ref, "find_invalid_utf8 says %zu, the reference %zu", bad, bad_ref);
    if (size == 0) return 0;

    const uint8_t mode = data[0];
    const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
    switch (mode % 5) {
        case 0: {
            const int32_t offset = mode / 5;  // 0..51: specials below the bytes
            auto t = make_byte_tokenizer(offset);
            std::vector<int32_t> ids;
            FUZZ_CHECK(t->encode(text, &ids) == MNEMO_OK, "byte encode failed");
            FUZZ_CHECK(ids.size() == text.size(), "byte tokenizer made %zu ids of %zu bytes", ids.size(), text.size());
            for (int32_t id : ids) FUZZ_CHECK(id >= 0 && id < t->vocab_size(), "byte id %d out of range", id);
            std::string back;
            FUZZ_CHECK(t->decode(ids.data(), ids.size(), &back) == MNEMO_OK && back == text, "byte round trip differs");
            break;
        }
        case 1: check_spm(*g_unigram, text, false); break;
        case 2: check_spm(*g_bpe, text, true); break;
        case 3: check_decode_ids(*g_unigram, data + 1, size - 1); break;
        case 4: check_decode_ids(*g_bpe, data + 1, size - 1); check_decode_ids(*make_byte_tokenizer(4), data + 1, size - 1); break;
    }
    return 0;
}
