// studio_png_check: is a studio screenshot non-trivial? Checks its size, the number
// of distinct colours, and that a region (the retention map) holds drawn tokens.
//
//   studio_png_check FILE [--min-size WxH] [--min-colors N]
//                         [--region X0,Y0,X1,Y1 (fractions of the image)]
//                         [--region-min-colors N] [--region-min-warm N]
//
// "Warm" pixels are the amber/yellow of sink and retained tokens (and positive scores).
#include "image.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_set>

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: studio_png_check FILE [--min-size WxH] [--min-colors N] [--region X0,Y0,X1,Y1] "
                             "[--region-min-colors N] [--region-min-warm N]\n");
        return 2;
    }
    int min_w = 1, min_h = 1;
    size_t min_colors = 2, region_min_colors = 0, region_min_warm = 0;
    double rx0 = 0, ry0 = 0, rx1 = 1, ry1 = 1;
    for (int i = 2; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        const char* v = argv[i + 1];
        bool ok = true;
        if (a == "--min-size") ok = std::sscanf(v, "%dx%d", &min_w, &min_h) == 2;
        else if (a == "--min-colors") min_colors = std::strtoul(v, nullptr, 10);
        else if (a == "--region") ok = std::sscanf(v, "%lf,%lf,%lf,%lf", &rx0, &ry0, &rx1, &ry1) == 4 && rx0 < rx1 && ry0 < ry1;
        else if (a == "--region-min-colors") region_min_colors = std::strtoul(v, nullptr, 10);
        else if (a == "--region-min-warm") region_min_warm = std::strtoul(v, nullptr, 10);
        else ok = false;
        if (!ok) {
            std::fprintf(stderr, "studio_png_check: bad option %s %s\n", a.c_str(), v);
            return 2;
        }
    }
    mnemo::viz::Image img;
    std::string error;
    if (!mnemo::viz::read_png(argv[1], &img, &error)) {
        std::fprintf(stderr, "studio_png_check: %s\n", error.c_str());
        return 1;
    }
    auto rgb = [&](int x, int y) {
        const uint8_t* p = img.pixel(x, y);
        return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16;
    };
    std::unordered_set<uint32_t> colors;
    for (int y = 0; y < img.height; ++y)
        for (int x = 0; x < img.width; ++x) colors.insert(rgb(x, y));
    const int x0 = static_cast<int>(rx0 * img.width), x1 = static_cast<int>(rx1 * img.width);
    const int y0 = static_cast<int>(ry0 * img.height), y1 = static_cast<int>(ry1 * img.height);
    std::unordered_set<uint32_t> region_colors;
    size_t warm = 0;
    for (int y = y0; y < y1 && y < img.height; ++y)
        for (int x = x0; x < x1 && x < img.width; ++x) {
            region_colors.insert(rgb(x, y));
            const uint8_t* p = img.pixel(x, y);
            if (p[0] >= 180 && p[1] >= 90 && p[2] <= 120 && p[0] > p[2] + 80) ++warm;
        }
    std::printf("%s: %dx%d, %zu colours; region [%d,%d)x[%d,%d): %zu colours, %zu warm pixels\n", argv[1], img.width, img.height,
                colors.size(), x0, x1, y0, y1, region_colors.size(), warm);
    bool pass = true;
    if (img.width < min_w || img.height < min_h) {
        std::printf("FAIL: smaller than %dx%d\n", min_w, min_h);
        pass = false;
    }
    if (colors.size() < min_colors) {
        std::printf("FAIL: fewer than %zu distinct colours\n", min_colors);
        pass = false;
    }
    if (region_colors.size() < region_min_colors) {
        std::printf("FAIL: region has fewer than %zu colours\n", region_min_colors);
        pass = false;
    }
    if (warm < region_min_warm) {
        std::printf("FAIL: region has fewer than %zu warm (sink/retained) pixels\n", region_min_warm);
        pass = false;
    }
    std::printf(pass ? "PNG check passed\n" : "PNG check failed\n");
    return pass ? 0 : 1;
}
