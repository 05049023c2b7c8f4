// Reader (and a small writer, for the converter's tests and tools) of the
// safetensors format: 8-byte little-endian header length, a JSON header mapping
// names to {dtype, shape, data_offsets}, then raw little-endian tensor bytes.
#pragma once

#include "mapped_file.h"
#include "mnemo/mnemo.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace mnemo {

struct SafeTensor {
    std::string name;
    std::string dtype;           // "F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL"
    uint32_t element_bytes = 0;
    std::vector<int64_t> shape;  // outermost first
    uint64_t n_elements = 0;
    const uint8_t* data = nullptr;
    uint64_t n_bytes = 0;
};

class SafetensorsFile {
public:
    mnemo_status open(const std::string& path);
    mnemo_status open_memory(const uint8_t* data, uint64_t size, const std::string& label);

    const std::vector<SafeTensor>& tensors() const { return tensors_; }
    const SafeTensor* find(const std::string& name) const;
    const std::map<std::string, std::string>& metadata() const { return metadata_; }

private:
    mnemo_status parse();

    std::unique_ptr<MappedFile> file_;
    const uint8_t* data_ = nullptr;
    uint64_t size_ = 0;
    std::string label_;
    std::vector<SafeTensor> tensors_;
    std::map<std::string, size_t> index_;
    std::map<std::string, std::string> metadata_;
};

// Reads one float tensor of any float dtype as f32 values.
mnemo_status safetensor_to_f32(const SafeTensor& t, std::vector<float>* out);

struct SafeTensorToWrite {
    std::string name;
    std::string dtype;
    std::vector<int64_t> shape;
    std::vector<uint8_t> bytes;
};

mnemo_status write_safetensors(const std::string& path, const std::vector<SafeTensorToWrite>& tensors);

}  // namespace mnemo
