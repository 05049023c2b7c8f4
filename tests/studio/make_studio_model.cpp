// make_studio_model OUT.gguf [lte|attn|swa]: a wider random hybrid than the tests'
// tiny model (8 KV heads, window 64, retained buffer 96 for laLTE) so the studio's
// screenshots show more than two heads. Random weights, byte tokenizer.
#include "tiny_model.h"

#include <cstdio>
#include <string>

int main(int argc, char** argv) {
    if (argc < 2 || argc > 3 || std::string(argv[1]) == "--help") {
        std::fprintf(stderr, "usage: make_studio_model OUT.gguf [lte|attn|swa]\n");
        return 2;
    }
    const std::string mixer = argc == 3 ? argv[2] : "lte";
    mnemo::ModelConfig config = mnemo::test_support::tiny_config(mixer, 4);
    config.name = "studio-demo-" + mixer;
    for (mnemo::LayerConfig& layer : config.layers) {
        if (layer.mixer == MNEMO_MIXER_GDN) continue;
        layer.n_heads = 8;
        layer.n_kv_heads = 8;
        if (layer.window_size > 0) layer.window_size = 64;
        if (layer.mixer == MNEMO_MIXER_LTE) layer.buffer_size = 100;  // 4 sink + 96 retained
    }
    if (mnemo::test_support::write_tiny_model(argv[1], config, 7) != MNEMO_OK) {
        std::fprintf(stderr, "make_studio_model: %s\n", mnemo_last_error());
        return 1;
    }
    return 0;
}
