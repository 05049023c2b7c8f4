// An RGBA8 image in memory and PNG files through libpng (Debian's libpng-dev).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mnemo::viz {

struct Image {
    int width = 0;
    int height = 0;
    std::vector<uint8_t> rgba;  // row-major, 4 bytes per pixel, no padding

    void resize(int w, int h, uint32_t fill_abgr = 0xFF000000u);
    uint8_t* pixel(int x, int y) { return &rgba[(static_cast<size_t>(y) * static_cast<size_t>(width) + static_cast<size_t>(x)) * 4]; }
    const uint8_t* pixel(int x, int y) const {
        return &rgba[(static_cast<size_t>(y) * static_cast<size_t>(width) + static_cast<size_t>(x)) * 4];
    }
};

// Writes `image` as an 8-bit RGB PNG (alpha dropped: the views render opaque).
bool write_png(const std::string& path, const Image& image, std::string* error);
// Reads any PNG libpng understands into RGBA8.
bool read_png(const std::string& path, Image* image, std::string* error);

}  // namespace mnemo::viz
