// make_tiny_model OUT.gguf [MIXER]: writes a tiny random hybrid model (byte
// tokenizer) for tests and the README's first-run demo.
#include "tiny_model.h"

#include <cstdio>
#include <string>

int main(int argc, char** argv) {
    if (argc < 2 || argc > 3 || std::string(argv[1]) == "--help") {
        std::fprintf(stderr, "usage: make_tiny_model OUT.gguf [gdn|swa|lte|nsa|attn]\n");
        return 2;
    }
    const std::string mixer = argc == 3 ? argv[2] : "lte";
    if (mnemo::test_support::write_tiny_model(argv[1], mnemo::test_support::tiny_config(mixer)) != MNEMO_OK) {
        std::fprintf(stderr, "make_tiny_model: %s\n", mnemo_last_error());
        return 1;
    }
    return 0;
}
