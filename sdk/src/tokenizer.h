// Tokenizers: SentencePiece (through libsentencepiece, its model stored inside the
// GGUF so one file is a complete model) and a byte-level tokenizer for tests.
#pragma once

#include "gguf.h"
#include "mnemo/mnemo.h"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace mnemo {

class Tokenizer {
public:
    virtual ~Tokenizer() = default;
    virtual const char* kind() const = 0;
    virtual int32_t vocab_size() const = 0;
    virtual mnemo_status encode(std::string_view text, std::vector<int32_t>* out) const = 0;
    // Ids must already be range-checked by the caller.
    virtual mnemo_status decode(const int32_t* ids, size_t n, std::string* out) const = 0;
};

// GGUF keys (docs/format.md): mnemo.tokenizer.kind = "sentencepiece" | "byte";
// mnemo.tokenizer.sentencepiece.model = u8 array (serialized ModelProto);
// mnemo.tokenizer.byte.offset = u32 (token id of byte 0). Absent kind: no tokenizer
// (*out stays null).
mnemo_status load_tokenizer(const GgufFile& file, std::unique_ptr<Tokenizer>* out);

// Builds a SentencePiece tokenizer from a serialized model (for `mnemo convert --tokenizer`).
mnemo_status make_sentencepiece_tokenizer(const std::string& serialized, std::unique_ptr<Tokenizer>* out);
std::unique_ptr<Tokenizer> make_byte_tokenizer(int32_t offset);

}  // namespace mnemo
