// fuzz_safetensors: the input is a .safetensors file (what `mnemo convert` reads).
//
// SafetensorsFile::open_memory parses it; every tensor it accepts must lie inside the
// input and hold exactly shape x dtype bytes. Every float tensor is then converted
// with safetensor_to_f32, as the converter does (non-float dtypes must be refused).
#include "fuzz_util.h"
#include "safetensors.h"

#include <cmath>

using namespace mnemo;

namespace {

volatile float g_sink;

bool is_float_dtype(const std::string& d) { return d == "F32" || d == "F16" || d == "BF16" || d == "F64"; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    SafetensorsFile f;
    const mnemo_status s = f.open_memory(data, size, "fuzz.safetensors");
    FUZZ_CHECK(fuzz::is_verdict(s), "open_memory returned %d", s);
    if (s != MNEMO_OK) return 0;

    float acc = 0.0f;
    std::vector<float> values;
    for (const SafeTensor& t : f.tensors()) {
        FUZZ_CHECK(f.find(t.name) == &t, "tensor index is inconsistent for '%s'", t.name.c_str());
        uint64_t elements = 1;
        for (int64_t d : t.shape) {
            FUZZ_CHECK(d >= 0, "tensor '%s' has a negative dimension", t.name.c_str());
            elements *= static_cast<uint64_t>(d);
        }
        FUZZ_CHECK(elements == t.n_elements && t.n_bytes == t.n_elements * t.element_bytes, "tensor '%s' sizes disagree",
                   t.name.c_str());
        FUZZ_CHECK(t.data >= data && t.n_bytes <= size && static_cast<size_t>(t.data - data) <= size - t.n_bytes,
                   "tensor '%s' lies outside the input", t.name.c_str());
        const mnemo_status cs = safetensor_to_f32(t, &values);
        if (!is_float_dtype(t.dtype)) {
            FUZZ_CHECK(cs == MNEMO_ERR_UNSUPPORTED, "non-float dtype %s converted (%d)", t.dtype.c_str(), cs);
            continue;
        }
        FUZZ_CHECK(cs == MNEMO_OK, "float tensor '%s' (%s) failed to convert", t.name.c_str(), t.dtype.c_str());
        FUZZ_CHECK(values.size() == t.n_elements, "converted %zu of %llu elements", values.size(),
                   static_cast<unsigned long long>(t.n_elements));
        for (float v : values) acc += std::isfinite(v) ? v : 0.0f;
    }
    g_sink = acc;
    return 0;
}
