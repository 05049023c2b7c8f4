// safetensors reader: valid files, and headers that lie.
#include "safetensors.h"

#include <gtest/gtest.h>

#include <cstring>

using namespace mnemo;

namespace {

std::vector<uint8_t> image(const std::string& header, size_t data_bytes) {
    std::vector<uint8_t> b(8 + header.size() + data_bytes, 0);
    const uint64_t n = header.size();
    std::memcpy(b.data(), &n, 8);
    std::memcpy(b.data() + 8, header.data(), header.size());
    return b;
}

mnemo_status parse(const std::vector<uint8_t>& b, std::string* msg = nullptr) {
    SafetensorsFile f;
    const mnemo_status s = f.open_memory(b.data(), b.size(), "test.safetensors");
    if (msg) *msg = mnemo_last_error();
    return s;
}

}  // namespace

TEST(Safetensors, ReadsValidFile) {
    const auto b = image(R"({"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
                         R"("h":{"dtype":"BF16","shape":[4],"data_offsets":[24,32]}})",
                         32);
    SafetensorsFile f;
    ASSERT_EQ(f.open_memory(b.data(), b.size(), "t"), MNEMO_OK) << mnemo_last_error();
    ASSERT_EQ(f.tensors().size(), 2u);
    const SafeTensor* w = f.find("w");
    ASSERT_NE(w, nullptr);
    EXPECT_EQ(w->shape, (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(w->n_bytes, 24u);
    EXPECT_EQ(f.metadata().at("format"), "pt");
    std::vector<float> values;
    ASSERT_EQ(safetensor_to_f32(*f.find("h"), &values), MNEMO_OK);
    EXPECT_EQ(values.size(), 4u);
}

TEST(Safetensors, WriterRoundTrip) {
    const std::string path = testing::TempDir() + "/rt.safetensors";
    std::vector<float> x = {1.5f, -2.0f, 3.25f};
    SafeTensorToWrite t{"x", "F32", {3}, std::vector<uint8_t>(reinterpret_cast<uint8_t*>(x.data()), reinterpret_cast<uint8_t*>(x.data()) + 12)};
    ASSERT_EQ(write_safetensors(path, {t}), MNEMO_OK);
    SafetensorsFile f;
    ASSERT_EQ(f.open(path), MNEMO_OK) << mnemo_last_error();
    std::vector<float> back;
    ASSERT_EQ(safetensor_to_f32(*f.find("x"), &back), MNEMO_OK);
    EXPECT_EQ(back, x);
}

TEST(Safetensors, HeaderThatLiesAboutSizesIsRefused) {
    std::string msg;
    // Offsets span 16 bytes but F32 [2,3] needs 24.
    EXPECT_EQ(parse(image(R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,16]}})", 24), &msg), MNEMO_ERR_CORRUPT);
    EXPECT_NE(msg.find("'w'"), std::string::npos) << msg;
    // Offsets beyond the data section.
    EXPECT_EQ(parse(image(R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}})", 8), &msg), MNEMO_ERR_TRUNCATED);
    // Header length beyond the file.
    std::vector<uint8_t> b = image(R"({})", 0);
    const uint64_t lie = 1000;
    std::memcpy(b.data(), &lie, 8);
    EXPECT_EQ(parse(b), MNEMO_ERR_TRUNCATED);
    // Absurd header length.
    const uint64_t absurd = 1ull << 62;
    std::memcpy(b.data(), &absurd, 8);
    EXPECT_EQ(parse(b), MNEMO_ERR_TOO_LARGE);
    // Overflowing shape.
    EXPECT_EQ(parse(image(R"({"w":{"dtype":"F32","shape":[4611686018427387904,4611686018427387904],"data_offsets":[0,8]}})", 8)),
              MNEMO_ERR_TOO_LARGE);
    // Reversed offsets.
    EXPECT_EQ(parse(image(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", 8)), MNEMO_ERR_CORRUPT);
}

TEST(Safetensors, MalformedHeadersAreRefused) {
    EXPECT_EQ(parse({1, 2, 3}), MNEMO_ERR_TRUNCATED);
    EXPECT_EQ(parse(image("not json", 0)), MNEMO_ERR_BAD_MAGIC);
    EXPECT_EQ(parse(image("{broken", 0)), MNEMO_ERR_CORRUPT);
    EXPECT_EQ(parse(image(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4)), MNEMO_ERR_CORRUPT);
    EXPECT_EQ(parse(image(R"({"w":{"dtype":"Q4","shape":[1],"data_offsets":[0,4]}})", 4)), MNEMO_ERR_UNSUPPORTED);
    EXPECT_EQ(parse(image(R"({"w":{"dtype":"F32","shape":[1]}})", 4)), MNEMO_ERR_CORRUPT);
    EXPECT_EQ(parse(image(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,"4"]}})", 4)), MNEMO_ERR_CORRUPT);
}

// Found by fuzz_safetensors: a float tensor with a zero dimension converted with
// memcpy(nullptr, ..., 0) (undefined behaviour); it must convert to no values.
TEST(Safetensors, EmptyFloatTensorsConvertToNoValues) {
    const auto b = image(R"({"a":{"dtype":"F32","shape":[0,4],"data_offsets":[0,0]},"b":{"dtype":"F16","shape":[0],"data_offsets":[0,0]},)"
                         R"("c":{"dtype":"BF16","shape":[3,0],"data_offsets":[0,0]},"d":{"dtype":"F64","shape":[0],"data_offsets":[0,0]},)"
                         R"("i":{"dtype":"I32","shape":[0],"data_offsets":[0,0]}})",
                         0);
    SafetensorsFile f;
    ASSERT_EQ(f.open_memory(b.data(), b.size(), "t"), MNEMO_OK) << mnemo_last_error();
    for (const char* name : {"a", "b", "c", "d"}) {
        std::vector<float> values(5, 1.0f);
        ASSERT_NE(f.find(name), nullptr) << name;
        EXPECT_EQ(safetensor_to_f32(*f.find(name), &values), MNEMO_OK) << name;
        EXPECT_TRUE(values.empty()) << name;
    }
    std::vector<float> values;
    EXPECT_EQ(safetensor_to_f32(*f.find("i"), &values), MNEMO_ERR_UNSUPPORTED);
}
