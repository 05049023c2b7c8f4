// GGUF (version 3) reader and writer. The reader validates every count, offset, size
// and type against the file before use, with overflow-checked arithmetic, so a
// hostile file yields a status and a message, never a crash.
//
// Shapes are kept outermost-first (PyTorch order: a Linear weight is {out, in});
// the file stores them innermost-first as GGML does, and the I/O reverses them.
#pragma once

#include "dtype.h"
#include "mapped_file.h"
#include "mnemo/mnemo.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace mnemo {

enum class GgufValueType : uint32_t {
    U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7,
    STRING = 8, ARRAY = 9, U64 = 10, I64 = 11, F64 = 12,
};

const char* gguf_value_type_name(GgufValueType t);

struct GgufValue {
    GgufValueType type = GgufValueType::U8;
    // Scalars: integers and bools in `integer` (sign-extended for signed types),
    // floats in `real`.
    int64_t integer = 0;
    uint64_t uinteger = 0;
    double real = 0.0;
    std::string string;
    // Arrays: element type, element count, and either strings or numeric elements
    // widened to int64/double (byte arrays also kept raw in `bytes`).
    GgufValueType element_type = GgufValueType::U8;
    std::vector<std::string> strings;
    std::vector<int64_t> integers;
    std::vector<double> reals;
    std::vector<uint8_t> bytes;
    uint64_t count = 0;

    bool is_integer() const;
    bool is_float() const;

    static GgufValue make_string(std::string s);
    static GgufValue make_u32(uint32_t v);
    static GgufValue make_i32(int32_t v);
    static GgufValue make_u64(uint64_t v);
    static GgufValue make_f32(float v);
    static GgufValue make_f64(double v);
    static GgufValue make_bool(bool v);
    static GgufValue make_i32_array(const std::vector<int32_t>& v);
    static GgufValue make_f32_array(const std::vector<float>& v);
    static GgufValue make_string_array(std::vector<std::string> v);
    static GgufValue make_bytes(std::vector<uint8_t> v);
};

struct GgufTensor {
    std::string name;
    DType type = DType::F32;
    std::vector<int64_t> shape;  // outermost first
    uint64_t offset = 0;         // relative to the data section
    uint64_t n_elements = 0;
    uint64_t n_bytes = 0;
    const uint8_t* data = nullptr;  // valid while the GgufFile lives
};

class GgufFile {
public:
    // Opens and validates `path`. On failure the message names the file and the
    // offending key or tensor.
    mnemo_status open(const std::string& path, bool use_mmap);
    // Validates an in-memory image (for tests and fuzzing); `data` must outlive this.
    mnemo_status open_memory(const uint8_t* data, uint64_t size, const std::string& label);

    uint32_t version() const { return version_; }
    uint32_t alignment() const { return alignment_; }
    const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return metadata_; }
    const std::vector<GgufTensor>& tensors() const { return tensors_; }
    const GgufValue* find(const std::string& key) const;
    const GgufTensor* find_tensor(const std::string& name) const;
    const std::string& label() const { return label_; }
    uint64_t file_size() const { return size_; }

private:
    mnemo_status parse();

    std::unique_ptr<MappedFile> file_;
    const uint8_t* data_ = nullptr;
    uint64_t size_ = 0;
    std::string label_;
    uint32_t version_ = 0;
    uint32_t alignment_ = 32;
    std::vector<std::pair<std::string, GgufValue>> metadata_;
    std::map<std::string, size_t> metadata_index_;
    std::vector<GgufTensor> tensors_;
    std::map<std::string, size_t> tensor_index_;
};

class GgufWriter {
public:
    void set(const std::string& key, GgufValue value);
    // Copies nothing: `data` must stay valid until write(). n_bytes must match the
    // shape and type.
    mnemo_status add_tensor(const std::string& name, DType type, std::vector<int64_t> shape,
                            const void* data, uint64_t n_bytes);
    // Writes atomically (temporary file + rename).
    mnemo_status write(const std::string& path) const;

private:
    struct PendingTensor {
        std::string name;
        DType type;
        std::vector<int64_t> shape;
        const void* data;
        uint64_t n_bytes;
    };
    std::vector<std::pair<std::string, GgufValue>> metadata_;
    std::vector<PendingTensor> tensors_;
    uint32_t alignment_ = 32;
};

// Bytes needed by a tensor of `type` and `shape`; false (with message) on overflow,
// non-positive dimensions or a row length not divisible by the block size.
mnemo_status tensor_byte_size(DType type, const std::vector<int64_t>& shape, const std::string& what,
                              uint64_t* n_elements, uint64_t* n_bytes);

}  // namespace mnemo
