#include "tokenizer.h"

#include "error.h"
#include "util.h"

#include <sentencepiece_processor.h>

namespace mnemo {
namespace {

class ByteTokenizer final : public Tokenizer {
public:
    explicit ByteTokenizer(int32_t offset) : offset_(offset) {}
    const char* kind() const override { return "byte"; }
    int32_t vocab_size() const override { return offset_ + 256; }
    mnemo_status encode(std::string_view text, std::vector<int32_t>* out) const override {
        out->clear();
        out->reserve(text.size());
        for (unsigned char c : text) out->push_back(offset_ + c);
        return MNEMO_OK;
    }
    mnemo_status decode(const int32_t* ids, size_t n, std::string* out) const override {
        out->clear();
        for (size_t i = 0; i < n; ++i) {
            const int32_t b = ids[i] - offset_;
            if (b >= 0 && b < 256) out->push_back(static_cast<char>(b));  // special tokens decode to nothing
        }
        return MNEMO_OK;
    }

private:
    int32_t offset_;
};

class SentencePieceTokenizer final : public Tokenizer {
public:
    const char* kind() const override { return "sentencepiece"; }
    int32_t vocab_size() const override { return processor_.GetPieceSize(); }
    mnemo_status load(const std::string& serialized) {
        const auto st = processor_.LoadFromSerializedProto(serialized);
        if (!st.ok()) return failf(MNEMO_ERR_TOKENIZER, "SentencePiece model cannot be loaded: %s", st.ToString().c_str());
        return MNEMO_OK;
    }
    mnemo_status encode(std::string_view text, std::vector<int32_t>* out) const override {
        const size_t bad = find_invalid_utf8(text);
        if (bad != std::string_view::npos)
            return failf(MNEMO_ERR_INVALID_ARGUMENT, "text is not valid UTF-8 (first invalid byte at offset %zu)", bad);
        std::vector<int> ids;
        const auto st = processor_.Encode(text, &ids);
        if (!st.ok()) return failf(MNEMO_ERR_TOKENIZER, "SentencePiece encode failed: %s", st.ToString().c_str());
        out->assign(ids.begin(), ids.end());
        return MNEMO_OK;
    }
    mnemo_status decode(const int32_t* ids, size_t n, std::string* out) const override {
        std::vector<int> v(ids, ids + n);
        const auto st = processor_.Decode(v, out);
        if (!st.ok()) return failf(MNEMO_ERR_TOKENIZER, "SentencePiece decode failed: %s", st.ToString().c_str());
        return MNEMO_OK;
    }

private:
    sentencepiece::SentencePieceProcessor processor_;
};

}  // namespace

std::unique_ptr<Tokenizer> make_byte_tokenizer(int32_t offset) { return std::make_unique<ByteTokenizer>(offset); }

mnemo_status make_sentencepiece_tokenizer(const std::string& serialized, std::unique_ptr<Tokenizer>* out) {
    auto spm = std::make_unique<SentencePieceTokenizer>();
    MNEMO_TRY(spm->load(serialized));
    *out = std::move(spm);
    return MNEMO_OK;
}

mnemo_status load_tokenizer(const GgufFile& file, std::unique_ptr<Tokenizer>* out) {
    out->reset();
    const GgufValue* kind = file.find("mnemo.tokenizer.kind");
    if (kind == nullptr) return MNEMO_OK;
    if (kind->type != GgufValueType::STRING)
        return failf(MNEMO_ERR_MODEL_INVALID, "%s: mnemo.tokenizer.kind must be a string", file.label().c_str());
    if (kind->string == "byte") {
        int32_t offset = 0;
        if (const GgufValue* o = file.find("mnemo.tokenizer.byte.offset")) {
            if (!o->is_integer() || o->integer < 0 || o->integer > (1 << 24))
                return failf(MNEMO_ERR_MODEL_INVALID, "%s: mnemo.tokenizer.byte.offset must be an integer in [0, 2^24]", file.label().c_str());
            offset = static_cast<int32_t>(o->integer);
        }
        *out = make_byte_tokenizer(offset);
        return MNEMO_OK;
    }
    if (kind->string == "sentencepiece") {
        const GgufValue* m = file.find("mnemo.tokenizer.sentencepiece.model");
        if (m == nullptr || m->type != GgufValueType::ARRAY || m->element_type != GgufValueType::U8 || m->bytes.empty())
            return failf(MNEMO_ERR_MODEL_INVALID, "%s: mnemo.tokenizer.sentencepiece.model (u8 array) is missing or empty", file.label().c_str());
        return make_sentencepiece_tokenizer(std::string(m->bytes.begin(), m->bytes.end()), out);
    }
    return failf(MNEMO_ERR_UNSUPPORTED, "%s: tokenizer kind '%s' is not supported (expected 'sentencepiece' or 'byte')",
                 file.label().c_str(), kind->string.c_str());
}

}  // namespace mnemo
