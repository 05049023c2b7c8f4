#include "image.h"

#include <png.h>

#include <cstring>

namespace mnemo::viz {

void Image::resize(int w, int h, uint32_t fill_abgr) {
    width = w > 0 ? w : 0;
    height = h > 0 ? h : 0;
    rgba.resize(static_cast<size_t>(width) * static_cast<size_t>(height) * 4);
    const uint8_t c[4] = {static_cast<uint8_t>(fill_abgr), static_cast<uint8_t>(fill_abgr >> 8),
                          static_cast<uint8_t>(fill_abgr >> 16), static_cast<uint8_t>(fill_abgr >> 24)};
    for (size_t i = 0; i < rgba.size(); i += 4) std::memcpy(&rgba[i], c, 4);
}

bool write_png(const std::string& path, const Image& image, std::string* error) {
    if (image.width <= 0 || image.height <= 0) {
        *error = "write_png: empty image";
        return false;
    }
    png_image png;
    std::memset(&png, 0, sizeof png);
    png.version = PNG_IMAGE_VERSION;
    png.width = static_cast<png_uint_32>(image.width);
    png.height = static_cast<png_uint_32>(image.height);
    png.format = PNG_FORMAT_RGB;
    // Drop alpha: libpng's simplified API composes nothing, so copy RGB out first.
    std::vector<uint8_t> rgb(static_cast<size_t>(image.width) * static_cast<size_t>(image.height) * 3);
    for (size_t i = 0, j = 0; i < image.rgba.size(); i += 4, j += 3) std::memcpy(&rgb[j], &image.rgba[i], 3);
    if (png_image_write_to_file(&png, path.c_str(), 0, rgb.data(), 0, nullptr) == 0) {
        *error = "cannot write PNG " + path + ": " + png.message;
        return false;
    }
    return true;
}

bool read_png(const std::string& path, Image* image, std::string* error) {
    png_image png;
    std::memset(&png, 0, sizeof png);
    png.version = PNG_IMAGE_VERSION;
    if (png_image_begin_read_from_file(&png, path.c_str()) == 0) {
        *error = "cannot read PNG " + path + ": " + png.message;
        return false;
    }
    png.format = PNG_FORMAT_RGBA;
    image->resize(static_cast<int>(png.width), static_cast<int>(png.height));
    if (png_image_finish_read(&png, nullptr, image->rgba.data(), 0, nullptr) == 0) {
        *error = "cannot decode PNG " + path + ": " + png.message;
        png_image_free(&png);
        return false;
    }
    return true;
}

}  // namespace mnemo::viz
