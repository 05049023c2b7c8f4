#include "safetensors.h"

#include "error.h"
#include "cpu/dtype.h"
#include "util.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace mnemo {
namespace {

constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

uint32_t dtype_bytes(const std::string& d) {
    if (d == "F64" || d == "I64" || d == "U64") return 8;
    if (d == "F32" || d == "I32" || d == "U32") return 4;
    if (d == "F16" || d == "BF16" || d == "I16" || d == "U16") return 2;
    if (d == "I8" || d == "U8" || d == "BOOL") return 1;
    return 0;
}

}  // namespace

mnemo_status SafetensorsFile::open(const std::string& path) {
    file_ = std::make_unique<MappedFile>();
    MNEMO_TRY(file_->open(path, true));
    return open_memory(file_->data(), file_->size(), path);
}

mnemo_status SafetensorsFile::open_memory(const uint8_t* data, uint64_t size, const std::string& label) {
    data_ = data;
    size_ = size;
    label_ = label;
    return parse();
}

const SafeTensor* SafetensorsFile::find(const std::string& name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &tensors_[it->second];
}

mnemo_status SafetensorsFile::parse() {
    using ull = unsigned long long;
    if (size_ < 8) return failf(MNEMO_ERR_TRUNCATED, "%s: %llu bytes is too short for a safetensors header", label_.c_str(), ull(size_));
    uint64_t header_len = 0;
    std::memcpy(&header_len, data_, 8);
    if (header_len > kMaxHeaderBytes)
        return failf(MNEMO_ERR_TOO_LARGE, "%s: safetensors header declares %llu bytes (limit %llu)", label_.c_str(), ull(header_len), ull(kMaxHeaderBytes));
    if (header_len > size_ - 8)
        return failf(MNEMO_ERR_TRUNCATED, "%s: safetensors header declares %llu bytes but only %llu follow", label_.c_str(), ull(header_len), ull(size_ - 8));
    const std::string_view header(reinterpret_cast<const char*>(data_ + 8), header_len);
    if (header.empty() || header[0] != '{')
        return failf(MNEMO_ERR_BAD_MAGIC, "%s: not a safetensors file (header does not start with '{')", label_.c_str());
    nlohmann::json j = nlohmann::json::parse(header, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object())
        return failf(MNEMO_ERR_CORRUPT, "%s: safetensors header is not a valid JSON object", label_.c_str());
    const uint8_t* base = data_ + 8 + header_len;
    const uint64_t data_size = size_ - 8 - header_len;
    tensors_.clear();
    index_.clear();
    for (auto it = j.begin(); it != j.end(); ++it) {
        const std::string& name = it.key();
        const auto& v = it.value();
        if (name == "__metadata__") {
            if (!v.is_object()) return failf(MNEMO_ERR_CORRUPT, "%s: __metadata__ is not an object", label_.c_str());
            for (auto m = v.begin(); m != v.end(); ++m)
                if (m.value().is_string()) metadata_[m.key()] = m.value().get<std::string>();
            continue;
        }
        if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets") ||
            !v["dtype"].is_string() || !v["shape"].is_array() || !v["data_offsets"].is_array() || v["data_offsets"].size() != 2)
            return failf(MNEMO_ERR_CORRUPT, "%s: tensor '%s' needs dtype (string), shape (array) and data_offsets ([begin, end])",
                         label_.c_str(), name.c_str());
        SafeTensor t;
        t.name = name;
        t.dtype = v["dtype"].get<std::string>();
        t.element_bytes = dtype_bytes(t.dtype);
        if (t.element_bytes == 0)
            return failf(MNEMO_ERR_UNSUPPORTED, "%s: tensor '%s' has unsupported dtype '%s'", label_.c_str(), name.c_str(), t.dtype.c_str());
        uint64_t elements = 1;
        for (const auto& d : v["shape"]) {
            if (!d.is_number_unsigned())
                return failf(MNEMO_ERR_CORRUPT, "%s: tensor '%s' has a non-integer or negative dimension", label_.c_str(), name.c_str());
            const uint64_t dim = d.get<uint64_t>();
            if (dim > (1ull << 62) || !checked_mul(elements, dim, &elements))
                return failf(MNEMO_ERR_TOO_LARGE, "%s: tensor '%s' element count overflows", label_.c_str(), name.c_str());
            t.shape.push_back(static_cast<int64_t>(dim));
        }
        t.n_elements = elements;
        const auto& off = v["data_offsets"];
        if (!off[0].is_number_unsigned() || !off[1].is_number_unsigned())
            return failf(MNEMO_ERR_CORRUPT, "%s: tensor '%s' data_offsets are not non-negative integers", label_.c_str(), name.c_str());
        const uint64_t begin = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
        uint64_t expected = 0;
        if (!checked_mul(elements, t.element_bytes, &expected))
            return failf(MNEMO_ERR_TOO_LARGE, "%s: tensor '%s' byte count overflows", label_.c_str(), name.c_str());
        if (end < begin || end - begin != expected)
            return failf(MNEMO_ERR_CORRUPT, "%s: tensor '%s' data_offsets [%llu, %llu) hold %llu bytes but %s%s needs %llu",
                         label_.c_str(), name.c_str(), ull(begin), ull(end), ull(end >= begin ? end - begin : 0), t.dtype.c_str(),
                         " of its shape", ull(expected));
        if (end > data_size)
            return failf(MNEMO_ERR_TRUNCATED, "%s: tensor '%s' data ends at %llu, beyond the %llu-byte data section", label_.c_str(),
                         name.c_str(), ull(end), ull(data_size));
        t.data = base + begin;
        t.n_bytes = expected;
        index_[name] = tensors_.size();
        tensors_.push_back(std::move(t));
    }
    return MNEMO_OK;
}

mnemo_status safetensor_to_f32(const SafeTensor& t, std::vector<float>* out) {
    out->resize(t.n_elements);
    float* o = out->data();
    // A tensor with a zero dimension has no bytes: nothing to copy, and memcpy must
    // not be handed the empty vector's null pointer (found by fuzz_safetensors).
    if (t.n_elements == 0 && (t.dtype == "F32" || t.dtype == "F16" || t.dtype == "BF16" || t.dtype == "F64")) return MNEMO_OK;
    if (t.dtype == "F32") {
        std::memcpy(o, t.data, t.n_elements * 4);
    } else if (t.dtype == "F16") {
        std::vector<uint16_t> h(t.n_elements);
        std::memcpy(h.data(), t.data, t.n_bytes);
        cpu::convert_f16_to_f32(h.data(), o, static_cast<int64_t>(t.n_elements));
    } else if (t.dtype == "BF16") {
        std::vector<uint16_t> h(t.n_elements);
        std::memcpy(h.data(), t.data, t.n_bytes);
        cpu::convert_bf16_to_f32(h.data(), o, static_cast<int64_t>(t.n_elements));
    } else if (t.dtype == "F64") {
        for (uint64_t i = 0; i < t.n_elements; ++i) { double d; std::memcpy(&d, t.data + 8 * i, 8); o[i] = static_cast<float>(d); }
    } else {
        return failf(MNEMO_ERR_UNSUPPORTED, "tensor '%s': dtype %s is not a float type", t.name.c_str(), t.dtype.c_str());
    }
    return MNEMO_OK;
}

mnemo_status write_safetensors(const std::string& path, const std::vector<SafeTensorToWrite>& tensors) {
    nlohmann::json header = nlohmann::json::object();
    uint64_t offset = 0;
    for (const auto& t : tensors) {
        header[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.bytes.size()}}};
        offset += t.bytes.size();
    }
    std::string text = header.dump();
    while ((text.size() + 8) % 8 != 0) text.push_back(' ');
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) return failf(MNEMO_ERR_IO, "cannot create '%s': %s", path.c_str(), std::strerror(errno));
    const uint64_t len = text.size();
    bool ok = std::fwrite(&len, 8, 1, f) == 1 && std::fwrite(text.data(), 1, text.size(), f) == text.size();
    for (const auto& t : tensors)
        ok = ok && (t.bytes.empty() || std::fwrite(t.bytes.data(), 1, t.bytes.size(), f) == t.bytes.size());
    ok = std::fclose(f) == 0 && ok;
    if (!ok) return failf(MNEMO_ERR_IO, "cannot write '%s'", path.c_str());
    return MNEMO_OK;
}

}  // namespace mnemo
