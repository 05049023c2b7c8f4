#include "gguf.h"

#include "error.h"
#include "util.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace mnemo {

const DTypeTraits* dtype_traits(uint32_t id) {
    static const DTypeTraits f32{"f32", 1, 4}, f16{"f16", 1, 2}, q8_0{"q8_0", 32, 34}, i8{"i8", 1, 1},
        i16{"i16", 1, 2}, i32{"i32", 1, 4}, i64{"i64", 1, 8}, f64{"f64", 1, 8}, bf16{"bf16", 1, 2};
    switch (static_cast<DType>(id)) {
        case DType::F32: return &f32;
        case DType::F16: return &f16;
        case DType::Q8_0: return &q8_0;
        case DType::I8: return &i8;
        case DType::I16: return &i16;
        case DType::I32: return &i32;
        case DType::I64: return &i64;
        case DType::F64: return &f64;
        case DType::BF16: return &bf16;
    }
    return nullptr;
}

const char* gguf_value_type_name(GgufValueType t) {
    switch (t) {
        case GgufValueType::U8: return "u8";
        case GgufValueType::I8: return "i8";
        case GgufValueType::U16: return "u16";
        case GgufValueType::I16: return "i16";
        case GgufValueType::U32: return "u32";
        case GgufValueType::I32: return "i32";
        case GgufValueType::F32: return "f32";
        case GgufValueType::BOOL: return "bool";
        case GgufValueType::STRING: return "string";
        case GgufValueType::ARRAY: return "array";
        case GgufValueType::U64: return "u64";
        case GgufValueType::I64: return "i64";
        case GgufValueType::F64: return "f64";
    }
    return "?";
}

namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" little-endian
constexpr uint64_t kMaxDims = 4;
constexpr uint64_t kMaxStringBytes = 1ull << 30;
// Counts above this are absurd rather than merely cut short.
constexpr uint64_t kMaxEntries = 1ull << 26;

uint64_t scalar_size(GgufValueType t) {
    switch (t) {
        case GgufValueType::U8: case GgufValueType::I8: case GgufValueType::BOOL: return 1;
        case GgufValueType::U16: case GgufValueType::I16: return 2;
        case GgufValueType::U32: case GgufValueType::I32: case GgufValueType::F32: return 4;
        case GgufValueType::U64: case GgufValueType::I64: case GgufValueType::F64: return 8;
        default: return 0;
    }
}

bool is_known_type(uint32_t t) { return t <= static_cast<uint32_t>(GgufValueType::F64); }

// Bounds-checked little-endian cursor over the file image.
class Reader {
public:
    Reader(const uint8_t* data, uint64_t size, const std::string& label) : data_(data), size_(size), label_(label) {}

    uint64_t pos() const { return pos_; }
    uint64_t remaining() const { return size_ - pos_; }

    mnemo_status need(uint64_t n, const char* what) {
        if (n > remaining())
            return failf(MNEMO_ERR_TRUNCATED, "%s: truncated at offset %llu reading %s (%llu bytes needed, %llu left)",
                         label_.c_str(), ull(pos_), what, ull(n), ull(remaining()));
        return MNEMO_OK;
    }
    template <typename T>
    mnemo_status read(T* out, const char* what) {
        MNEMO_TRY(need(sizeof(T), what));
        std::memcpy(out, data_ + pos_, sizeof(T));
        pos_ += sizeof(T);
        return MNEMO_OK;
    }
    mnemo_status read_string(std::string* out, const char* what) {
        uint64_t len = 0;
        MNEMO_TRY(read(&len, what));
        if (len > kMaxStringBytes)
            return failf(MNEMO_ERR_TOO_LARGE, "%s: %s at offset %llu declares a %llu-byte string", label_.c_str(), what,
                         ull(pos_ - 8), ull(len));
        MNEMO_TRY(need(len, what));
        out->assign(reinterpret_cast<const char*>(data_ + pos_), len);
        pos_ += len;
        const size_t bad = find_invalid_utf8(*out);
        if (bad != std::string::npos)
            return failf(MNEMO_ERR_CORRUPT, "%s: %s at offset %llu is not valid UTF-8 (byte %zu)", label_.c_str(), what,
                         ull(pos_ - len), bad);
        return MNEMO_OK;
    }
    const uint8_t* here() const { return data_ + pos_; }
    void skip(uint64_t n) { pos_ += n; }
    static unsigned long long ull(uint64_t v) { return static_cast<unsigned long long>(v); }

private:
    const uint8_t* data_;
    uint64_t size_;
    uint64_t pos_ = 0;
    const std::string& label_;
};

mnemo_status read_scalar(Reader& r, GgufValueType t, GgufValue* v, const std::string& key) {
    v->type = t;
    switch (t) {
        case GgufValueType::U8: { uint8_t x; MNEMO_TRY(r.read(&x, key.c_str())); v->integer = x; v->uinteger = x; break; }
        case GgufValueType::I8: { int8_t x; MNEMO_TRY(r.read(&x, key.c_str())); v->integer = x; v->uinteger = static_cast<uint64_t>(x); break; }
        case GgufValueType::U16: { uint16_t x; MNEMO_TRY(r.read(&x, key.c_str())); v->integer = x; v->uinteger = x; break; }
        case GgufValueType::I16: { int16_t x; MNEMO_TRY(r.read(&x, key.c_str())); v->integer = x; v->uinteger = static_cast<uint64_t>(x); break; }
        case GgufValueType::U32: { uint32_t x; MNEMO_TRY(r.read(&x, key.c_str())); v->integer = x; v->uinteger = x; break; }
        case GgufValueType::I32: { int32_t x; MNEMO_TRY(r.read(&x, key.c_str())); v->integer = x; v->uinteger = static_cast<uint64_t>(x); break; }
        case GgufValueType::U64: { uint64_t x; MNEMO_TRY(r.read(&x, key.c_str())); v->integer = static_cast<int64_t>(x); v->uinteger = x; break; }
        case GgufValueType::I64: { int64_t x; MNEMO_TRY(r.read(&x, key.c_str())); v->integer = x; v->uinteger = static_cast<uint64_t>(x); break; }
        case GgufValueType::F32: { float x; MNEMO_TRY(r.read(&x, key.c_str())); v->real = x; break; }
        case GgufValueType::F64: { double x; MNEMO_TRY(r.read(&x, key.c_str())); v->real = x; break; }
        case GgufValueType::BOOL: {
            uint8_t x;
            MNEMO_TRY(r.read(&x, key.c_str()));
            if (x > 1) return failf(MNEMO_ERR_CORRUPT, "metadata '%s': bool value %u is neither 0 nor 1", key.c_str(), x);
            v->integer = x; v->uinteger = x;
            break;
        }
        case GgufValueType::STRING: MNEMO_TRY(r.read_string(&v->string, key.c_str())); break;
        default: return failf(MNEMO_ERR_CORRUPT, "metadata '%s': unexpected value type", key.c_str());
    }
    return MNEMO_OK;
}

}  // namespace

bool GgufValue::is_integer() const {
    switch (type) {
        case GgufValueType::U8: case GgufValueType::I8: case GgufValueType::U16: case GgufValueType::I16:
        case GgufValueType::U32: case GgufValueType::I32: case GgufValueType::U64: case GgufValueType::I64:
        case GgufValueType::BOOL: return true;
        default: return false;
    }
}
bool GgufValue::is_float() const { return type == GgufValueType::F32 || type == GgufValueType::F64; }

GgufValue GgufValue::make_string(std::string s) { GgufValue v; v.type = GgufValueType::STRING; v.string = std::move(s); return v; }
GgufValue GgufValue::make_u32(uint32_t x) { GgufValue v; v.type = GgufValueType::U32; v.integer = x; v.uinteger = x; return v; }
GgufValue GgufValue::make_i32(int32_t x) { GgufValue v; v.type = GgufValueType::I32; v.integer = x; v.uinteger = static_cast<uint64_t>(x); return v; }
GgufValue GgufValue::make_u64(uint64_t x) { GgufValue v; v.type = GgufValueType::U64; v.integer = static_cast<int64_t>(x); v.uinteger = x; return v; }
GgufValue GgufValue::make_f32(float x) { GgufValue v; v.type = GgufValueType::F32; v.real = x; return v; }
GgufValue GgufValue::make_f64(double x) { GgufValue v; v.type = GgufValueType::F64; v.real = x; return v; }
GgufValue GgufValue::make_bool(bool x) { GgufValue v; v.type = GgufValueType::BOOL; v.integer = x; v.uinteger = x; return v; }
GgufValue GgufValue::make_i32_array(const std::vector<int32_t>& xs) {
    GgufValue v; v.type = GgufValueType::ARRAY; v.element_type = GgufValueType::I32; v.count = xs.size();
    v.integers.assign(xs.begin(), xs.end());
    return v;
}
GgufValue GgufValue::make_f32_array(const std::vector<float>& xs) {
    GgufValue v; v.type = GgufValueType::ARRAY; v.element_type = GgufValueType::F32; v.count = xs.size();
    v.reals.assign(xs.begin(), xs.end());
    return v;
}
GgufValue GgufValue::make_string_array(std::vector<std::string> xs) {
    GgufValue v; v.type = GgufValueType::ARRAY; v.element_type = GgufValueType::STRING; v.count = xs.size();
    v.strings = std::move(xs);
    return v;
}
GgufValue GgufValue::make_bytes(std::vector<uint8_t> xs) {
    GgufValue v; v.type = GgufValueType::ARRAY; v.element_type = GgufValueType::U8; v.count = xs.size();
    v.bytes = std::move(xs);
    return v;
}

mnemo_status tensor_byte_size(DType type, const std::vector<int64_t>& shape, const std::string& what,
                              uint64_t* n_elements, uint64_t* n_bytes) {
    const DTypeTraits* tr = dtype_traits(static_cast<uint32_t>(type));
    if (tr == nullptr)
        return failf(MNEMO_ERR_UNSUPPORTED, "tensor '%s': unknown type id %u", what.c_str(), static_cast<unsigned>(type));
    uint64_t elements = 1;
    for (int64_t d : shape) {
        if (d <= 0) return failf(MNEMO_ERR_CORRUPT, "tensor '%s': dimension %lld is not positive", what.c_str(), static_cast<long long>(d));
        if (!checked_mul(elements, static_cast<uint64_t>(d), &elements))
            return failf(MNEMO_ERR_TOO_LARGE, "tensor '%s': element count overflows 64 bits", what.c_str());
    }
    const uint64_t row = shape.empty() ? 1 : static_cast<uint64_t>(shape.back());
    if (row % tr->block_elements != 0)
        return failf(MNEMO_ERR_CORRUPT, "tensor '%s': row length %llu is not a multiple of %s's block of %u", what.c_str(),
                     static_cast<unsigned long long>(row), tr->name, tr->block_elements);
    uint64_t bytes = 0;
    if (!checked_mul(elements / tr->block_elements, tr->block_bytes, &bytes))
        return failf(MNEMO_ERR_TOO_LARGE, "tensor '%s': byte count overflows 64 bits", what.c_str());
    *n_elements = elements;
    *n_bytes = bytes;
    return MNEMO_OK;
}

mnemo_status GgufFile::open(const std::string& path, bool use_mmap) {
    file_ = std::make_unique<MappedFile>();
    MNEMO_TRY(file_->open(path, use_mmap));
    data_ = file_->data();
    size_ = file_->size();
    label_ = path;
    return parse();
}

mnemo_status GgufFile::open_memory(const uint8_t* data, uint64_t size, const std::string& label) {
    data_ = data;
    size_ = size;
    label_ = label;
    return parse();
}

const GgufValue* GgufFile::find(const std::string& key) const {
    auto it = metadata_index_.find(key);
    return it == metadata_index_.end() ? nullptr : &metadata_[it->second].second;
}

const GgufTensor* GgufFile::find_tensor(const std::string& name) const {
    auto it = tensor_index_.find(name);
    return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

mnemo_status GgufFile::parse() {
    using ull = unsigned long long;
    Reader r(data_, size_, label_);
    uint32_t magic = 0;
    if (size_ < 4) return failf(MNEMO_ERR_TRUNCATED, "%s: %llu bytes is too short for a GGUF header", label_.c_str(), ull(size_));
    MNEMO_TRY(r.read(&magic, "magic"));
    if (magic != kMagic) return failf(MNEMO_ERR_BAD_MAGIC, "%s: not a GGUF file (magic 0x%08x, expected 0x%08x \"GGUF\")", label_.c_str(), magic, kMagic);
    MNEMO_TRY(r.read(&version_, "version"));
    if (version_ != 2 && version_ != 3)
        return failf(MNEMO_ERR_UNSUPPORTED, "%s: GGUF version %u is not supported (expected 2 or 3)", label_.c_str(), version_);
    uint64_t n_tensors = 0, n_kv = 0;
    MNEMO_TRY(r.read(&n_tensors, "tensor count"));
    MNEMO_TRY(r.read(&n_kv, "metadata count"));
    // Each key/value needs >= 13 bytes and each tensor info >= 24, so counts beyond
    // what the file can hold are rejected before any allocation.
    if (n_kv > size_ / 13 || n_tensors > size_ / 24)
        return failf(n_kv > kMaxEntries || n_tensors > kMaxEntries ? MNEMO_ERR_TOO_LARGE : MNEMO_ERR_TRUNCATED,
                     "%s: declares %llu metadata entries and %llu tensors, more than its %llu bytes can hold",
                     label_.c_str(), ull(n_kv), ull(n_tensors), ull(size_));

    metadata_.clear();
    metadata_index_.clear();
    metadata_.reserve(n_kv);
    for (uint64_t i = 0; i < n_kv; ++i) {
        std::string key;
        MNEMO_TRY(r.read_string(&key, "metadata key"));
        if (key.empty()) return failf(MNEMO_ERR_CORRUPT, "%s: metadata entry %llu has an empty key", label_.c_str(), ull(i));
        if (metadata_index_.count(key))
            return failf(MNEMO_ERR_CORRUPT, "%s: duplicate metadata key '%s'", label_.c_str(), key.c_str());
        uint32_t type_id = 0;
        MNEMO_TRY(r.read(&type_id, "metadata type"));
        if (!is_known_type(type_id))
            return failf(MNEMO_ERR_CORRUPT, "%s: metadata '%s' has unknown value type %u", label_.c_str(), key.c_str(), type_id);
        GgufValue value;
        const auto type = static_cast<GgufValueType>(type_id);
        if (type == GgufValueType::ARRAY) {
            uint32_t elem_id = 0;
            uint64_t count = 0;
            MNEMO_TRY(r.read(&elem_id, "array element type"));
            MNEMO_TRY(r.read(&count, "array length"));
            if (!is_known_type(elem_id) || elem_id == static_cast<uint32_t>(GgufValueType::ARRAY))
                return failf(MNEMO_ERR_CORRUPT, "%s: metadata array '%s' has invalid element type %u", label_.c_str(), key.c_str(), elem_id);
            value.type = GgufValueType::ARRAY;
            value.element_type = static_cast<GgufValueType>(elem_id);
            value.count = count;
            if (value.element_type == GgufValueType::STRING) {
                if (count > r.remaining() / 8)
                    return failf(count > kMaxEntries ? MNEMO_ERR_TOO_LARGE : MNEMO_ERR_TRUNCATED, "%s: metadata array '%s' declares %llu strings, beyond the file's end", label_.c_str(), key.c_str(), ull(count));
                value.strings.resize(count);
                for (uint64_t j = 0; j < count; ++j) MNEMO_TRY(r.read_string(&value.strings[j], key.c_str()));
            } else {
                const uint64_t es = scalar_size(value.element_type);
                uint64_t bytes = 0;
                if (!checked_mul(count, es, &bytes) || bytes > r.remaining())
                    return failf(count > kMaxEntries * 64 ? MNEMO_ERR_TOO_LARGE : MNEMO_ERR_TRUNCATED, "%s: metadata array '%s' declares %llu elements of %llu bytes, beyond the file's end",
                                 label_.c_str(), key.c_str(), ull(count), ull(es));
                if (value.element_type == GgufValueType::U8 || value.element_type == GgufValueType::I8) {
                    value.bytes.assign(r.here(), r.here() + bytes);
                    r.skip(bytes);
                } else {
                    const bool real = value.element_type == GgufValueType::F32 || value.element_type == GgufValueType::F64;
                    (real ? value.reals.reserve(count) : value.integers.reserve(count));
                    for (uint64_t j = 0; j < count; ++j) {
                        GgufValue e;
                        MNEMO_TRY(read_scalar(r, value.element_type, &e, key));
                        if (real) value.reals.push_back(e.real);
                        else value.integers.push_back(e.integer);
                    }
                }
            }
        } else {
            MNEMO_TRY(read_scalar(r, type, &value, key));
        }
        metadata_index_[key] = metadata_.size();
        metadata_.emplace_back(std::move(key), std::move(value));
    }

    if (const GgufValue* a = find("general.alignment")) {
        if (!a->is_integer() || a->integer <= 0 || a->integer > (1 << 20) || (a->integer & (a->integer - 1)) != 0)
            return failf(MNEMO_ERR_CORRUPT, "%s: general.alignment must be a power of two up to 1 MiB", label_.c_str());
        alignment_ = static_cast<uint32_t>(a->integer);
    }

    tensors_.clear();
    tensor_index_.clear();
    tensors_.reserve(n_tensors);
    for (uint64_t i = 0; i < n_tensors; ++i) {
        GgufTensor t;
        MNEMO_TRY(r.read_string(&t.name, "tensor name"));
        if (t.name.empty()) return failf(MNEMO_ERR_CORRUPT, "%s: tensor %llu has an empty name", label_.c_str(), ull(i));
        if (tensor_index_.count(t.name)) return failf(MNEMO_ERR_CORRUPT, "%s: duplicate tensor '%s'", label_.c_str(), t.name.c_str());
        uint32_t n_dims = 0;
        MNEMO_TRY(r.read(&n_dims, "tensor dimension count"));
        if (n_dims == 0 || n_dims > kMaxDims)
            return failf(MNEMO_ERR_CORRUPT, "%s: tensor '%s' has %u dimensions (1..%llu allowed)", label_.c_str(), t.name.c_str(), n_dims, ull(kMaxDims));
        t.shape.resize(n_dims);
        for (uint32_t d = 0; d < n_dims; ++d) {
            uint64_t ne = 0;
            MNEMO_TRY(r.read(&ne, "tensor dimension"));
            if (ne == 0 || ne > (1ull << 62))
                return failf(MNEMO_ERR_TOO_LARGE, "%s: tensor '%s' dimension %u is %llu", label_.c_str(), t.name.c_str(), d, ull(ne));
            t.shape[n_dims - 1 - d] = static_cast<int64_t>(ne);
        }
        uint32_t type_id = 0;
        MNEMO_TRY(r.read(&type_id, "tensor type"));
        if (dtype_traits(type_id) == nullptr)
            return failf(MNEMO_ERR_UNSUPPORTED, "%s: tensor '%s' has unsupported type id %u", label_.c_str(), t.name.c_str(), type_id);
        t.type = static_cast<DType>(type_id);
        MNEMO_TRY(r.read(&t.offset, "tensor offset"));
        if (t.offset % alignment_ != 0)
            return failf(MNEMO_ERR_CORRUPT, "%s: tensor '%s' offset %llu is not aligned to %u", label_.c_str(), t.name.c_str(), ull(t.offset), alignment_);
        MNEMO_TRY(tensor_byte_size(t.type, t.shape, t.name, &t.n_elements, &t.n_bytes));
        tensor_index_[t.name] = tensors_.size();
        tensors_.push_back(std::move(t));
    }

    uint64_t data_start = r.pos();
    data_start = (data_start + alignment_ - 1) / alignment_ * alignment_;
    if (n_tensors > 0 && data_start > size_)
        return failf(MNEMO_ERR_TRUNCATED, "%s: tensor data section starts at %llu, beyond the %llu-byte file", label_.c_str(), ull(data_start), ull(size_));
    const uint64_t data_size = data_start <= size_ ? size_ - data_start : 0;
    for (GgufTensor& t : tensors_) {
        uint64_t end = 0;
        if (!checked_add(t.offset, t.n_bytes, &end) || end > data_size)
            return failf(MNEMO_ERR_TRUNCATED, "%s: tensor '%s' data [%llu, +%llu) lies beyond the file's end (data section holds %llu bytes)",
                         label_.c_str(), t.name.c_str(), ull(t.offset), ull(t.n_bytes), ull(data_size));
        t.data = data_ + data_start + t.offset;
    }
    return MNEMO_OK;
}

// ------------------------------------------------------------------ writer

void GgufWriter::set(const std::string& key, GgufValue value) {
    for (auto& kv : metadata_) {
        if (kv.first == key) { kv.second = std::move(value); return; }
    }
    metadata_.emplace_back(key, std::move(value));
}

mnemo_status GgufWriter::add_tensor(const std::string& name, DType type, std::vector<int64_t> shape, const void* data,
                                    uint64_t n_bytes) {
    uint64_t elements = 0, bytes = 0;
    MNEMO_TRY(tensor_byte_size(type, shape, name, &elements, &bytes));
    if (bytes != n_bytes)
        return failf(MNEMO_ERR_INVALID_ARGUMENT, "tensor '%s': %llu bytes given, shape and type need %llu", name.c_str(),
                     static_cast<unsigned long long>(n_bytes), static_cast<unsigned long long>(bytes));
    if (shape.empty() || shape.size() > kMaxDims)
        return failf(MNEMO_ERR_INVALID_ARGUMENT, "tensor '%s': %zu dimensions (1..4 allowed)", name.c_str(), shape.size());
    for (const auto& t : tensors_)
        if (t.name == name) return failf(MNEMO_ERR_INVALID_ARGUMENT, "duplicate tensor '%s'", name.c_str());
    tensors_.push_back({name, type, std::move(shape), data, n_bytes});
    return MNEMO_OK;
}

namespace {

class Sink {
public:
    explicit Sink(std::FILE* f) : f_(f) {}
    template <typename T> void put(const T& v) { write(&v, sizeof(T)); }
    void write(const void* p, size_t n) {
        if (ok_ && n > 0 && std::fwrite(p, 1, n, f_) != n) ok_ = false;
        pos_ += n;
    }
    void str(const std::string& s) { put<uint64_t>(s.size()); write(s.data(), s.size()); }
    void pad_to(uint64_t alignment) {
        static const uint8_t zeros[64] = {};
        while (pos_ % alignment != 0) write(zeros, std::min<uint64_t>(sizeof zeros, alignment - pos_ % alignment));
    }
    bool ok() const { return ok_; }
    uint64_t pos() const { return pos_; }

private:
    std::FILE* f_;
    bool ok_ = true;
    uint64_t pos_ = 0;
};

void write_scalar(Sink& s, GgufValueType t, int64_t i, double r) {
    switch (t) {
        case GgufValueType::U8: s.put<uint8_t>(static_cast<uint8_t>(i)); break;
        case GgufValueType::I8: s.put<int8_t>(static_cast<int8_t>(i)); break;
        case GgufValueType::U16: s.put<uint16_t>(static_cast<uint16_t>(i)); break;
        case GgufValueType::I16: s.put<int16_t>(static_cast<int16_t>(i)); break;
        case GgufValueType::U32: s.put<uint32_t>(static_cast<uint32_t>(i)); break;
        case GgufValueType::I32: s.put<int32_t>(static_cast<int32_t>(i)); break;
        case GgufValueType::U64: s.put<uint64_t>(static_cast<uint64_t>(i)); break;
        case GgufValueType::I64: s.put<int64_t>(i); break;
        case GgufValueType::F32: s.put<float>(static_cast<float>(r)); break;
        case GgufValueType::F64: s.put<double>(r); break;
        case GgufValueType::BOOL: s.put<uint8_t>(i != 0 ? 1 : 0); break;
        default: break;
    }
}

}  // namespace

mnemo_status GgufWriter::write(const std::string& path) const {
    const std::string tmp = path + ".tmp";
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    if (f == nullptr) return failf(MNEMO_ERR_IO, "cannot create '%s': %s", tmp.c_str(), std::strerror(errno));
    Sink s(f);
    s.put<uint32_t>(kMagic);
    s.put<uint32_t>(3);
    s.put<uint64_t>(tensors_.size());
    s.put<uint64_t>(metadata_.size());
    for (const auto& [key, v] : metadata_) {
        s.str(key);
        s.put<uint32_t>(static_cast<uint32_t>(v.type));
        if (v.type == GgufValueType::STRING) {
            s.str(v.string);
        } else if (v.type == GgufValueType::ARRAY) {
            s.put<uint32_t>(static_cast<uint32_t>(v.element_type));
            if (v.element_type == GgufValueType::STRING) {
                s.put<uint64_t>(v.strings.size());
                for (const auto& x : v.strings) s.str(x);
            } else if (v.element_type == GgufValueType::U8 || v.element_type == GgufValueType::I8) {
                s.put<uint64_t>(v.bytes.size());
                s.write(v.bytes.data(), v.bytes.size());
            } else if (v.element_type == GgufValueType::F32 || v.element_type == GgufValueType::F64) {
                s.put<uint64_t>(v.reals.size());
                for (double x : v.reals) write_scalar(s, v.element_type, 0, x);
            } else {
                s.put<uint64_t>(v.integers.size());
                for (int64_t x : v.integers) write_scalar(s, v.element_type, x, 0);
            }
        } else {
            write_scalar(s, v.type, v.integer, v.real);
        }
    }
    uint64_t offset = 0;
    for (const auto& t : tensors_) {
        s.str(t.name);
        s.put<uint32_t>(static_cast<uint32_t>(t.shape.size()));
        for (auto it = t.shape.rbegin(); it != t.shape.rend(); ++it) s.put<uint64_t>(static_cast<uint64_t>(*it));
        s.put<uint32_t>(static_cast<uint32_t>(t.type));
        s.put<uint64_t>(offset);
        offset = (offset + t.n_bytes + alignment_ - 1) / alignment_ * alignment_;
    }
    s.pad_to(alignment_);
    for (const auto& t : tensors_) {
        s.write(t.data, t.n_bytes);
        s.pad_to(alignment_);
    }
    const bool flushed = std::fflush(f) == 0 && fsync(fileno(f)) == 0;
    const bool closed = std::fclose(f) == 0;
    if (!s.ok() || !flushed || !closed) {
        std::remove(tmp.c_str());
        return failf(MNEMO_ERR_IO, "cannot write '%s': %s", path.c_str(), std::strerror(errno));
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        std::remove(tmp.c_str());
        return failf(MNEMO_ERR_IO, "cannot rename '%s' to '%s': %s", tmp.c_str(), path.c_str(), std::strerror(errno));
    }
    return MNEMO_OK;
}

}  // namespace mnemo
