// Writes the seed corpora of tests/fuzz/corpus/ for fuzz_gguf, fuzz_safetensors,
// fuzz_snapshot and fuzz_api_sequence with the project's own writers, plus hand-made
// malformed images (one lie each). Deterministic: the same build writes the same bytes.
//
//   build-fuzz/tests/fuzz/fuzz_make_seeds tests/fuzz/corpus
//
// fuzz_hf_config's and fuzz_tokenizer's seeds are plain text files kept in git as they are.
#include "cpu/dtype.h"
#include "fuzz_models.h"
#include "gguf.h"
#include "mixers/mixer.h"
#include "model.h"
#include "model_config.h"
#include "safetensors.h"
#include "tokenizer.h"

#include <sentencepiece_trainer.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <unistd.h>

using namespace mnemo;
namespace fs = std::filesystem;

namespace {

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "fuzz_make_seeds: %s: %s\n", what.c_str(), mnemo_last_error());
    std::exit(1);
}

std::vector<uint8_t> read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), {});
}

void write_file(const fs::path& p, const void* data, size_t n) {
    std::ofstream out(p, std::ios::binary);
    out.write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
    if (!out) die("cannot write " + p.string());
    std::printf("  %-48s %7zu bytes\n", p.string().c_str(), n);
}
void write_file(const fs::path& p, const std::vector<uint8_t>& b) { write_file(p, b.data(), b.size()); }

LayerConfig attention_layer(mnemo_mixer_kind kind) {
    LayerConfig l;
    l.mixer = kind;
    l.n_heads = 2;
    l.n_kv_heads = 1;
    l.head_dim = l.head_v_dim = 4;
    l.rope_theta = 10000.0f;
    // LTE's window must cover the scorer's receptive field − 1 (here 1 + 2·1 + 2·2 − 1 = 6).
    l.window_size = kind == MNEMO_MIXER_ATTN ? 0 : kind == MNEMO_MIXER_LTE ? 8 : 4;
    if (kind == MNEMO_MIXER_LTE) {
        l.sink_size = 1;
        l.buffer_size = 3;
        l.lte_conv_sizes = {3, 3};
        l.lte_conv_dilations = {1, 2};
        l.routing_method = "sigmoid";
        l.routing_shared = "head";
    }
    if (kind == MNEMO_MIXER_NSA) {
        l.block_size = 4;
        l.block_count = 2;
    }
    return l;
}

LayerConfig gdn_layer() {
    LayerConfig l;
    l.mixer = MNEMO_MIXER_GDN;
    l.n_heads = l.n_kv_heads = 2;
    l.head_dim = l.head_v_dim = 4;
    l.conv_size = 4;
    return l;
}

ModelConfig tiny(std::vector<LayerConfig> layers, int32_t vocab, int32_t hidden, bool tied) {
    ModelConfig c;
    c.name = "seed";
    c.vocab_size = vocab;
    c.hidden_size = hidden;
    c.intermediate_size = 2 * hidden;
    c.n_layers = static_cast<int32_t>(layers.size());
    c.tie_word_embeddings = tied;
    c.max_position_embeddings = 64;
    c.bos_token_id = 1;
    c.eos_token_id = 2;
    c.layers = std::move(layers);
    return c;
}

// A loadable GGUF: every tensor of the description, 2-D weights in `matrix_type`.
void write_model(const fs::path& path, const ModelConfig& c, DType matrix_type, const std::vector<std::pair<std::string, GgufValue>>& extra) {
    GgufWriter w;
    write_model_config(c, &w);
    for (const auto& [k, v] : extra) w.set(k, v);
    std::mt19937 rng(1);
    std::normal_distribution<float> normal(0.0f, 0.05f);
    const auto specs = model_tensor_specs(c);
    std::vector<std::vector<uint8_t>> buffers(specs.size());
    for (size_t i = 0; i < specs.size(); ++i) {
        const auto& shape = specs[i].shape;
        DType type = shape.size() == 2 ? matrix_type : DType::F32;
        if (type == DType::Q8_0 && shape.back() % 32 != 0) type = DType::F32;
        uint64_t n = 0, bytes = 0;
        if (tensor_byte_size(type, shape, specs[i].name, &n, &bytes) != MNEMO_OK) die(specs[i].name);
        std::vector<float> values(n);
        for (auto& x : values) x = normal(rng);
        buffers[i].resize(bytes);
        const int64_t row = shape.back(), rows = static_cast<int64_t>(n) / row;
        for (int64_t r = 0; r < rows; ++r)
            cpu::row_from_f32(static_cast<cpu::DType>(type), values.data() + r * row, buffers[i].data() + r * (bytes / rows), row);
        if (w.add_tensor(specs[i].name, type, shape, buffers[i].data(), bytes) != MNEMO_OK) die(specs[i].name);
    }
    if (w.write(path.string()) != MNEMO_OK) die(path.string());
    std::printf("  %-48s %7llu bytes\n", path.string().c_str(), static_cast<unsigned long long>(fs::file_size(path)));
}

std::string tiny_spm_model(const fs::path& scratch) {
    const fs::path corpus = scratch / "spm.txt";
    {
        std::ofstream out(corpus);
        for (int rep = 0; rep < 20; ++rep)
            out << "memory that does not grow " << rep << "\nla m\xC3\xA9moire ne grandit pas\nsink window buffer\n";
    }
    // Relative paths (the trainer records them in the model): run in the scratch directory
    // so the seed's bytes do not depend on where it was made.
    const fs::path cwd = fs::current_path();
    fs::current_path(scratch);
    const auto st = sentencepiece::SentencePieceTrainer::Train(
        "--input=spm.txt --model_prefix=spm"
        " --num_threads=1"
        " --model_type=bpe --vocab_size=40 --hard_vocab_limit=false --character_coverage=1.0 --byte_fallback=false"
        " --normalization_rule_name=identity --minloglevel=2");
    fs::current_path(cwd);
    if (!st.ok()) die("sentencepiece training: " + st.ToString());
    const auto b = read_file(scratch / "spm.model");
    return std::string(b.begin(), b.end());
}

// Raw GGUF bytes, for the malformed seeds.
struct Bytes {
    std::vector<uint8_t> b;
    template <typename T> Bytes& put(T v) {
        const auto* p = reinterpret_cast<const uint8_t*>(&v);
        b.insert(b.end(), p, p + sizeof(T));
        return *this;
    }
    Bytes& str(const std::string& s) { put<uint64_t>(s.size()); b.insert(b.end(), s.begin(), s.end()); return *this; }
    Bytes& header(uint64_t n_tensors, uint64_t n_kv) { return put<uint32_t>(0x46554747).put<uint32_t>(3).put(n_tensors).put(n_kv); }
    Bytes& kv_u32(const std::string& k, uint32_t v) { str(k); put<uint32_t>(4); return put(v); }
    Bytes& kv_str(const std::string& k, const std::string& v) { str(k); put<uint32_t>(8); return str(v); }
    Bytes& tensor(const std::string& name, std::vector<uint64_t> ne, uint32_t type, uint64_t offset) {
        str(name);
        put<uint32_t>(static_cast<uint32_t>(ne.size()));
        for (auto d : ne) put(d);
        put(type);
        return put(offset);
    }
    Bytes& align(size_t a = 32) { while (b.size() % a) b.push_back(0); return *this; }
    Bytes& zeros(size_t n) { b.insert(b.end(), n, 0); return *this; }
};

void gguf_seeds(const fs::path& dir, const fs::path& scratch) {
    fs::create_directories(dir);
    const std::vector<std::pair<std::string, GgufValue>> byte_tok = {
        {"mnemo.tokenizer.kind", GgufValue::make_string("byte")}, {"mnemo.tokenizer.byte.offset", GgufValue::make_u32(4)}};
    // Valid models, each as small as its mixers allow.
    write_model(dir / "lte_1layer_f32.gguf", tiny({attention_layer(MNEMO_MIXER_LTE)}, 16, 8, true), DType::F32, {});
    write_model(dir / "gdn_swa_f16_byte_tokenizer.gguf", tiny({gdn_layer(), attention_layer(MNEMO_MIXER_SWA)}, 260, 8, true), DType::F16,
                byte_tok);
    write_model(dir / "nsa_q8_0_untied.gguf",
                tiny({attention_layer(MNEMO_MIXER_NSA)}, 8, 32, false), DType::Q8_0, {});
    write_model(dir / "attn_bf16.gguf", tiny({attention_layer(MNEMO_MIXER_ATTN)}, 8, 8, true), DType::BF16, {});
    const std::string spm = tiny_spm_model(scratch);
    std::unique_ptr<Tokenizer> check;
    if (make_sentencepiece_tokenizer(spm, &check) != MNEMO_OK) die("spm seed");
    write_model(dir / "gdn_sentencepiece.gguf", tiny({gdn_layer()}, check->vocab_size(), 8, true), DType::F32,
                {{"mnemo.tokenizer.kind", GgufValue::make_string("sentencepiece")},
                 {"mnemo.tokenizer.sentencepiece.model", GgufValue::make_bytes(std::vector<uint8_t>(spm.begin(), spm.end()))}});

    // A description without tensors: the config parses, the load must refuse it.
    {
        GgufWriter w;
        write_model_config(tiny({attention_layer(MNEMO_MIXER_LTE)}, 16, 8, true), &w);
        if (w.write((dir / "metadata_only.gguf").string()) != MNEMO_OK) die("metadata_only");
    }

    // Malformed, one lie each.
    const auto valid = read_file(dir / "lte_1layer_f32.gguf");
    write_file(dir / "bad_truncated_in_metadata.gguf", valid.data(), 200);
    write_file(dir / "bad_truncated_in_data.gguf", valid.data(), valid.size() - 40);
    auto magic = valid;
    std::memcpy(magic.data(), "GGUG", 4);
    write_file(dir / "bad_magic.gguf", magic);
    write_file(dir / "bad_version.gguf", Bytes().put<uint32_t>(0x46554747).put<uint32_t>(99).put<uint64_t>(0).put<uint64_t>(0).b);
    write_file(dir / "bad_huge_counts.gguf", Bytes().header(1ull << 40, 1ull << 40).zeros(16).b);
    write_file(dir / "bad_duplicate_key.gguf", Bytes().header(0, 2).kv_u32("a", 1).kv_u32("a", 2).b);
    write_file(dir / "bad_utf8_key.gguf", Bytes().header(0, 1).kv_u32("bad\xC3(", 1).b);
    write_file(dir / "bad_bool.gguf", Bytes().header(0, 1).str("flag").put<uint32_t>(7).put<uint8_t>(2).b);
    write_file(dir / "bad_string_length.gguf", Bytes().header(0, 1).str("k").put<uint32_t>(8).put<uint64_t>(1ull << 62).b);
    write_file(dir / "bad_array_length.gguf",
               Bytes().header(0, 1).str("k").put<uint32_t>(9).put<uint32_t>(4).put<uint64_t>(1ull << 61).b);
    write_file(dir / "bad_tensor_offset.gguf", Bytes().header(1, 0).tensor("t", {4}, 0, 3).align().zeros(32).b);
    write_file(dir / "bad_tensor_beyond_end.gguf", Bytes().header(1, 0).tensor("t", {1024}, 0, 0).align().zeros(32).b);
    write_file(dir / "bad_tensor_overflow.gguf",
               Bytes().header(1, 0).tensor("t", {1ull << 62, 1ull << 62}, 0, 0).align().zeros(32).b);
    write_file(dir / "bad_q8_row.gguf", Bytes().header(1, 0).tensor("t", {33}, 8, 0).align().zeros(64).b);
    write_file(dir / "bad_alignment.gguf", Bytes().header(0, 1).kv_u32("general.alignment", 3).b);
    write_file(dir / "bad_arch.gguf", Bytes().header(0, 1).kv_str("general.architecture", "llama").b);
}

std::vector<uint8_t> f32_bytes(std::initializer_list<float> xs) {
    std::vector<uint8_t> b(xs.size() * 4);
    std::memcpy(b.data(), std::data(xs), b.size());
    return b;
}

std::vector<uint8_t> safetensors_image(const std::string& header, size_t data_bytes) {
    std::vector<uint8_t> b(8 + header.size() + data_bytes, 0);
    const uint64_t n = header.size();
    std::memcpy(b.data(), &n, 8);
    std::memcpy(b.data() + 8, header.data(), header.size());
    for (size_t i = 0; i < data_bytes; ++i) b[8 + header.size() + i] = static_cast<uint8_t>(i * 37 + 11);
    return b;
}

void safetensors_seeds(const fs::path& dir) {
    fs::create_directories(dir);
    std::vector<SafeTensorToWrite> ts;
    ts.push_back({"model.embeddings.weight", "F32", {2, 3}, f32_bytes({0.5f, -1.0f, 2.0f, 0.0f, 1e-3f, -7.25f})});
    ts.push_back({"h", "F16", {4}, {0x00, 0x3c, 0x00, 0xc0, 0x00, 0x7c, 0x01, 0x00}});
    ts.push_back({"b", "BF16", {2, 2}, {0x80, 0x3f, 0x00, 0x40, 0xc0, 0x7f, 0x00, 0x80}});
    ts.push_back({"d", "F64", {1}, {0, 0, 0, 0, 0, 0, 0xf0, 0x3f}});
    ts.push_back({"ids", "I64", {2}, std::vector<uint8_t>(16, 1)});
    ts.push_back({"mask", "BOOL", {3}, {1, 0, 1}});
    ts.push_back({"scalar", "F32", {}, f32_bytes({3.0f})});
    const fs::path p = dir / "mixed_dtypes.safetensors";
    if (write_safetensors(p.string(), ts) != MNEMO_OK) die(p.string());
    std::printf("  %-48s %7llu bytes\n", p.string().c_str(), static_cast<unsigned long long>(fs::file_size(p)));
    write_file(dir / "metadata_and_empty.safetensors",
               safetensors_image(R"({"__metadata__":{"format":"pt","note":"x"},"e":{"dtype":"F32","shape":[0,4],"data_offsets":[0,0]},)"
                                 R"("w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})", 4));
    // Malformed, one lie each.
    write_file(dir / "bad_header_length.safetensors", safetensors_image("{}", 0).data(), 4);
    auto huge = safetensors_image("{}", 0);
    const uint64_t big = 1ull << 40;
    std::memcpy(huge.data(), &big, 8);
    write_file(dir / "bad_huge_header.safetensors", huge);
    write_file(dir / "bad_not_json.safetensors", safetensors_image("{\"a\": [1, 2", 0));
    write_file(dir / "bad_offsets.safetensors", safetensors_image(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[4,0]}})", 8));
    write_file(dir / "bad_beyond_end.safetensors", safetensors_image(R"({"w":{"dtype":"F32","shape":[64],"data_offsets":[0,256]}})", 8));
    write_file(dir / "bad_dtype.safetensors", safetensors_image(R"({"w":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}})", 2));
    write_file(dir / "bad_negative_dim.safetensors", safetensors_image(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4));
    write_file(dir / "bad_overflow.safetensors",
               safetensors_image(R"({"w":{"dtype":"F64","shape":[4611686018427387904,8],"data_offsets":[0,8]}})", 8));
}

// Real snapshots of the tiny models (fuzz_models.h) after 3 and 30 tokens (30 is past
// every window), each behind a mode byte (fuzz_snapshot.cpp): restored into a session
// with the seed's parameters (bit 4), and for 30 tokens also through
// create_from_snapshot, plain and with recomputed checksums (bit 2).
void snapshot_seeds(const fs::path& dir) {
    fs::create_directories(dir);
    for (size_t kind = 0; kind < fuzz::kTinyKinds.size(); ++kind) {
        for (int v = 0; v < fuzz::seed_variants(kind); ++v) {
            const mnemo_session_params p = fuzz::seed_session_params(kind, v);
            mnemo_session* s = nullptr;
            if (mnemo_session_create(fuzz::tiny_models().model[kind], &p, &s) != MNEMO_OK) die("seed session");
            std::vector<int32_t> tokens(30);
            for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = static_cast<int32_t>(4 + (i * 37 + kind * 11) % 256);
            for (size_t n : {size_t{3}, size_t{30}}) {
                if (mnemo_session_reset(s) != MNEMO_OK || mnemo_session_feed(s, tokens.data(), n) != MNEMO_OK) die("seed feed");
                size_t size = 0;
                if (mnemo_session_snapshot_size(s, &size) != MNEMO_OK) die("seed snapshot size");
                std::vector<uint8_t> blob(1 + size);
                if (mnemo_session_snapshot(s, blob.data() + 1, size, &size) != MNEMO_OK) die("seed snapshot");
                const std::string name = std::string(fuzz::kTinyKinds[kind]) + (fuzz::seed_variants(kind) > 1 ? "_v" + std::to_string(v) : "") +
                                         "_" + std::to_string(n) + "tok";
                blob[0] = static_cast<uint8_t>(kind | 16u | (static_cast<unsigned>(v) << 5));
                write_file(dir / (name + "_restore.snap"), blob);
                if (n == 30) {
                    blob[0] = static_cast<uint8_t>(kind);
                    write_file(dir / (name + "_create.snap"), blob);
                    blob[0] = static_cast<uint8_t>(kind | 4u);
                    write_file(dir / (name + "_fixsum.snap"), blob);
                }
            }
            mnemo_session_free(s);
        }
    }
    // Malformed, one lie each (on the laLTE snapshot after 30 tokens).
    const auto good = read_file(dir / "lte_30tok_create.snap");
    write_file(dir / "bad_truncated_header.snap", good.data(), 1 + 100);
    write_file(dir / "bad_truncated_state.snap", good.data(), good.size() - 8);
    auto flipped = good;
    flipped[1 + 128 + 40] ^= 0x10;
    write_file(dir / "bad_state_checksum.snap", flipped);
    auto magic = good;
    magic[1] = 'X';
    write_file(dir / "bad_magic.snap", magic);
    auto version = good;
    version[1 + 8] = 2;
    write_file(dir / "bad_version.snap", version);
}

// The API-sequence target decodes its input with FuzzedDataProvider (integers from the
// end, byte strings from the front), so hand-written programs would be opaque: its
// seeds are pseudo-random inputs of a few lengths, from which coverage grows.
void api_sequence_seeds(const fs::path& dir) {
    fs::create_directories(dir);
    std::mt19937 rng(10);
    for (size_t len : {16, 64, 128, 256, 512, 1024, 2048, 4096}) {
        std::vector<uint8_t> b(len);
        for (auto& x : b) x = static_cast<uint8_t>(rng());
        write_file(dir / ("random_" + std::to_string(len) + ".bin"), b);
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s CORPUS_DIR   (writes CORPUS_DIR/fuzz_{gguf,safetensors,snapshot,api_sequence})\n", argv[0]);
        return 2;
    }
    const fs::path root(argv[1]);
    const fs::path scratch = fs::temp_directory_path() / ("mnemo-seeds-" + std::to_string(::getpid()));
    fs::create_directories(scratch);
    gguf_seeds(root / "fuzz_gguf", scratch);
    safetensors_seeds(root / "fuzz_safetensors");
    snapshot_seeds(root / "fuzz_snapshot");
    api_sequence_seeds(root / "fuzz_api_sequence");
    fs::remove_all(scratch);
    return 0;
}
