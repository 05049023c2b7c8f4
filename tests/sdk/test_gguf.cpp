// GGUF reader/writer: round trip, and every malformed-input class the reader must
// refuse with a specific status and a message naming the problem.
#include "gguf.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

using namespace mnemo;

namespace {

std::string temp_path(const std::string& name) {
    return (std::filesystem::temp_directory_path() / ("mnemo_test_" + std::to_string(::getpid()) + "_" + name)).string();
}

// Builds raw GGUF images byte by byte, so tests can write exactly the lie they need.
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

mnemo_status parse(const Bytes& bytes, std::string* message = nullptr) {
    GgufFile f;
    const mnemo_status s = f.open_memory(bytes.b.data(), bytes.b.size(), "test.gguf");
    if (message) *message = mnemo_last_error();
    return s;
}

}  // namespace

TEST(Gguf, RoundTripPreservesMetadataAndTensorBytes) {
    std::mt19937 rng(7);
    std::vector<float> a(6 * 8);
    for (auto& x : a) x = std::uniform_real_distribution<float>(-1, 1)(rng);
    std::vector<uint16_t> h(4 * 32);
    for (auto& x : h) x = static_cast<uint16_t>(rng());
    std::vector<uint8_t> q(2 * 34);
    for (auto& x : q) x = static_cast<uint8_t>(rng());

    GgufWriter w;
    w.set("general.architecture", GgufValue::make_string("mnemo-hybrid"));
    w.set("test.u32", GgufValue::make_u32(42));
    w.set("test.i32", GgufValue::make_i32(-5));
    w.set("test.u64", GgufValue::make_u64(1ull << 40));
    w.set("test.f32", GgufValue::make_f32(0.25f));
    w.set("test.f64", GgufValue::make_f64(1e-9));
    w.set("test.bool", GgufValue::make_bool(true));
    w.set("test.ints", GgufValue::make_i32_array({1, -2, 3}));
    w.set("test.reals", GgufValue::make_f32_array({0.5f, 1.5f}));
    w.set("test.strings", GgufValue::make_string_array({"a", "héllo", ""}));
    w.set("test.bytes", GgufValue::make_bytes({0, 1, 255}));
    ASSERT_EQ(w.add_tensor("a", DType::F32, {6, 8}, a.data(), a.size() * 4), MNEMO_OK);
    ASSERT_EQ(w.add_tensor("h", DType::F16, {4, 32}, h.data(), h.size() * 2), MNEMO_OK);
    ASSERT_EQ(w.add_tensor("q", DType::Q8_0, {1, 64}, q.data(), q.size()), MNEMO_OK);
    const std::string path = temp_path("roundtrip.gguf");
    ASSERT_EQ(w.write(path), MNEMO_OK) << mnemo_last_error();

    for (bool use_mmap : {true, false}) {
        GgufFile f;
        ASSERT_EQ(f.open(path, use_mmap), MNEMO_OK) << mnemo_last_error();
        EXPECT_EQ(f.version(), 3u);
        ASSERT_EQ(f.metadata().size(), 11u);
        EXPECT_EQ(f.find("general.architecture")->string, "mnemo-hybrid");
        EXPECT_EQ(f.find("test.u32")->integer, 42);
        EXPECT_EQ(f.find("test.i32")->integer, -5);
        EXPECT_EQ(f.find("test.u64")->uinteger, 1ull << 40);
        EXPECT_FLOAT_EQ(static_cast<float>(f.find("test.f32")->real), 0.25f);
        EXPECT_DOUBLE_EQ(f.find("test.f64")->real, 1e-9);
        EXPECT_EQ(f.find("test.bool")->integer, 1);
        EXPECT_EQ(f.find("test.ints")->integers, (std::vector<int64_t>{1, -2, 3}));
        EXPECT_EQ(f.find("test.reals")->reals, (std::vector<double>{0.5, 1.5}));
        EXPECT_EQ(f.find("test.strings")->strings, (std::vector<std::string>{"a", "héllo", ""}));
        EXPECT_EQ(f.find("test.bytes")->bytes, (std::vector<uint8_t>{0, 1, 255}));
        ASSERT_EQ(f.tensors().size(), 3u);
        const GgufTensor* ta = f.find_tensor("a");
        ASSERT_NE(ta, nullptr);
        EXPECT_EQ(ta->shape, (std::vector<int64_t>{6, 8}));
        EXPECT_EQ(ta->type, DType::F32);
        EXPECT_EQ(std::memcmp(ta->data, a.data(), a.size() * 4), 0);
        EXPECT_EQ(reinterpret_cast<uintptr_t>(ta->data) % 32, use_mmap ? 0u : reinterpret_cast<uintptr_t>(ta->data) % 32);
        const GgufTensor* th = f.find_tensor("h");
        EXPECT_EQ(std::memcmp(th->data, h.data(), h.size() * 2), 0);
        const GgufTensor* tq = f.find_tensor("q");
        EXPECT_EQ(tq->n_bytes, 68u);
        EXPECT_EQ(std::memcmp(tq->data, q.data(), q.size()), 0);
    }
    std::remove(path.c_str());
}

TEST(Gguf, WrongMagicIsBadMagic) {
    Bytes b;
    b.put<uint32_t>(0x12345678).put<uint32_t>(3).put<uint64_t>(0).put<uint64_t>(0);
    std::string msg;
    EXPECT_EQ(parse(b, &msg), MNEMO_ERR_BAD_MAGIC);
    EXPECT_NE(msg.find("not a GGUF file"), std::string::npos) << msg;
}

TEST(Gguf, EveryTruncationOfAValidFileIsRefused) {
    Bytes b;
    b.header(1, 2).kv_str("general.architecture", "x").kv_u32("k", 1).tensor("t", {4}, 0, 0).align().zeros(16);
    ASSERT_EQ(parse(b), MNEMO_OK) << mnemo_last_error();
    for (size_t n = 0; n < b.b.size(); ++n) {
        Bytes cut;
        cut.b.assign(b.b.begin(), b.b.begin() + static_cast<long>(n));
        const mnemo_status s = parse(cut);
        EXPECT_TRUE(s == MNEMO_ERR_TRUNCATED) << "prefix " << n << " gave " << mnemo_status_name(s);
    }
}

TEST(Gguf, TensorDataBeyondEndOfFileIsTruncated) {
    Bytes b;
    b.header(1, 0).tensor("weights", {1024}, 0, 0).align().zeros(64);
    std::string msg;
    EXPECT_EQ(parse(b, &msg), MNEMO_ERR_TRUNCATED);
    EXPECT_NE(msg.find("weights"), std::string::npos) << msg;
}

TEST(Gguf, OverflowingDimensionsAreTooLarge) {
    Bytes b;
    b.header(1, 0).tensor("huge", {1ull << 40, 1ull << 40}, 0, 0).align();
    std::string msg;
    EXPECT_EQ(parse(b, &msg), MNEMO_ERR_TOO_LARGE);
    EXPECT_NE(msg.find("huge"), std::string::npos) << msg;
    Bytes c;
    c.header(1, 0).tensor("huge2", {1ull << 62, 1ull << 62, 1ull << 62}, 0, 0).align();
    EXPECT_EQ(parse(c), MNEMO_ERR_TOO_LARGE);
}

TEST(Gguf, AbsurdCountsAreRefusedBeforeAllocation) {
    Bytes b;
    b.header(1ull << 60, 1ull << 60);
    EXPECT_EQ(parse(b), MNEMO_ERR_TOO_LARGE);
    Bytes c;
    c.header(0, 1).str("arr").put<uint32_t>(9).put<uint32_t>(4).put<uint64_t>(1ull << 61);
    EXPECT_EQ(parse(c), MNEMO_ERR_TOO_LARGE);
    Bytes d;
    d.header(0, 1).str("s").put<uint32_t>(8).put<uint64_t>(1ull << 50);
    EXPECT_EQ(parse(d), MNEMO_ERR_TOO_LARGE);
}

TEST(Gguf, UnknownTensorTypeIsUnsupported) {
    Bytes b;
    b.header(1, 0).tensor("t", {32}, 99, 0).align().zeros(256);
    std::string msg;
    EXPECT_EQ(parse(b, &msg), MNEMO_ERR_UNSUPPORTED);
    EXPECT_NE(msg.find("type id 99"), std::string::npos) << msg;
}

TEST(Gguf, UnknownValueTypeIsCorrupt) {
    Bytes b;
    b.header(0, 1).str("k").put<uint32_t>(77).put<uint32_t>(0);
    EXPECT_EQ(parse(b), MNEMO_ERR_CORRUPT);
}

TEST(Gguf, DuplicateKeysAndTensorsAreCorrupt) {
    Bytes b;
    b.header(0, 2).kv_u32("dup.key", 1).kv_u32("dup.key", 2);
    std::string msg;
    EXPECT_EQ(parse(b, &msg), MNEMO_ERR_CORRUPT);
    EXPECT_NE(msg.find("duplicate metadata key 'dup.key'"), std::string::npos) << msg;
    Bytes c;
    c.header(2, 0).tensor("t", {4}, 0, 0).tensor("t", {4}, 0, 32).align().zeros(64);
    EXPECT_EQ(parse(c, &msg), MNEMO_ERR_CORRUPT);
    EXPECT_NE(msg.find("duplicate tensor 't'"), std::string::npos) << msg;
}

TEST(Gguf, InvalidUtf8InMetadataIsCorrupt) {
    Bytes b;
    b.header(0, 1).kv_str("name", std::string("bad \xC3\x28 utf8"));
    std::string msg;
    EXPECT_EQ(parse(b, &msg), MNEMO_ERR_CORRUPT);
    EXPECT_NE(msg.find("UTF-8"), std::string::npos) << msg;
    Bytes c;
    c.header(0, 1).kv_u32(std::string("key\xFF"), 1);
    EXPECT_EQ(parse(c), MNEMO_ERR_CORRUPT);
    Bytes d;  // overlong encoding of '/'
    d.header(0, 1).kv_str("k", std::string("\xC0\xAF"));
    EXPECT_EQ(parse(d), MNEMO_ERR_CORRUPT);
}

TEST(Gguf, BadDimsAndAlignmentAreCorrupt) {
    Bytes zero_dims;
    zero_dims.header(1, 0).tensor("t", {}, 0, 0).align();
    EXPECT_EQ(parse(zero_dims), MNEMO_ERR_CORRUPT);
    Bytes five_dims;
    five_dims.header(1, 0).tensor("t", {1, 1, 1, 1, 1}, 0, 0).align();
    EXPECT_EQ(parse(five_dims), MNEMO_ERR_CORRUPT);
    Bytes misaligned;
    misaligned.header(1, 0).tensor("t", {4}, 0, 3).align().zeros(64);
    EXPECT_EQ(parse(misaligned), MNEMO_ERR_CORRUPT);
    Bytes q8_row;  // q8_0 rows must be a multiple of 32
    q8_row.header(1, 0).tensor("t", {30}, 8, 0).align().zeros(64);
    EXPECT_EQ(parse(q8_row), MNEMO_ERR_CORRUPT);
    Bytes bad_bool;
    bad_bool.header(0, 1).str("b").put<uint32_t>(7).put<uint8_t>(2);
    EXPECT_EQ(parse(bad_bool), MNEMO_ERR_CORRUPT);
}

TEST(Gguf, UnsupportedVersion) {
    Bytes b;
    b.put<uint32_t>(0x46554747).put<uint32_t>(1).put<uint64_t>(0).put<uint64_t>(0);
    EXPECT_EQ(parse(b), MNEMO_ERR_UNSUPPORTED);
}

TEST(Gguf, RandomCorruptionNeverCrashes) {
    Bytes b;
    b.header(2, 2).kv_str("general.architecture", "mnemo-hybrid").kv_u32("k", 1).tensor("a", {8}, 0, 0).tensor("b", {32, 2}, 8, 32).align().zeros(128);
    ASSERT_EQ(parse(b), MNEMO_OK) << mnemo_last_error();
    std::mt19937 rng(1234);
    int refused = 0;
    for (int iter = 0; iter < 3000; ++iter) {
        Bytes m = b;
        const int flips = 1 + static_cast<int>(rng() % 4);
        for (int f = 0; f < flips; ++f) m.b[rng() % m.b.size()] = static_cast<uint8_t>(rng());
        const mnemo_status s = parse(m);
        if (s != MNEMO_OK) {
            ++refused;
            EXPECT_NE(std::string(mnemo_last_error()), "");
        }
    }
    EXPECT_GT(refused, 0);
}

TEST(Gguf, MissingFileIsIoError) {
    GgufFile f;
    EXPECT_EQ(f.open("/nonexistent/dir/model.gguf", true), MNEMO_ERR_IO);
    EXPECT_NE(std::string(mnemo_last_error()).find("/nonexistent/dir/model.gguf"), std::string::npos);
}

TEST(Gguf, WriterRejectsSizeMismatch) {
    GgufWriter w;
    float x[3] = {};
    EXPECT_EQ(w.add_tensor("t", DType::F32, {4}, x, sizeof x), MNEMO_ERR_INVALID_ARGUMENT);
}
