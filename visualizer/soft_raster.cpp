#include "soft_raster.h"

#include "imgui_includes.h"

#include <algorithm>
#include <cmath>

namespace mnemo::viz {
namespace {

struct Vec4 {
    float r, g, b, a;
};

Vec4 unpack(ImU32 c) {
    return {static_cast<float>(c & 0xFF), static_cast<float>((c >> 8) & 0xFF), static_cast<float>((c >> 16) & 0xFF),
            static_cast<float>((c >> 24) & 0xFF)};
}

// Bilinear, clamp-to-edge: what the Vulkan backend's sampler does.
Vec4 sample(const SoftTexture& t, float u, float v) {
    if (t.rgba == nullptr || t.width <= 0 || t.height <= 0) return {255, 255, 255, 255};
    const float x = u * static_cast<float>(t.width) - 0.5f;
    const float y = v * static_cast<float>(t.height) - 0.5f;
    const float fx = std::floor(x), fy = std::floor(y);
    const float ax = x - fx, ay = y - fy;
    const int x0 = static_cast<int>(fx), y0 = static_cast<int>(fy);
    auto texel = [&](int xi, int yi) {
        xi = std::clamp(xi, 0, t.width - 1);
        yi = std::clamp(yi, 0, t.height - 1);
        const unsigned char* p = t.rgba + (static_cast<size_t>(yi) * static_cast<size_t>(t.width) + static_cast<size_t>(xi)) * 4;
        return Vec4{static_cast<float>(p[0]), static_cast<float>(p[1]), static_cast<float>(p[2]), static_cast<float>(p[3])};
    };
    const Vec4 a = texel(x0, y0), b = texel(x0 + 1, y0), c = texel(x0, y0 + 1), d = texel(x0 + 1, y0 + 1);
    auto mix = [](float p, float q, float w) { return p + (q - p) * w; };
    return {mix(mix(a.r, b.r, ax), mix(c.r, d.r, ax), ay), mix(mix(a.g, b.g, ax), mix(c.g, d.g, ax), ay),
            mix(mix(a.b, b.b, ax), mix(c.b, d.b, ax), ay), mix(mix(a.a, b.a, ax), mix(c.a, d.a, ax), ay)};
}

inline void blend(uint8_t* dst, float r, float g, float b, float a /* 0..255 */) {
    if (a <= 0.0f) return;
    const float sa = a / 255.0f, da = 1.0f - sa;
    dst[0] = static_cast<uint8_t>(std::clamp(r * sa + dst[0] * da + 0.5f, 0.0f, 255.0f));
    dst[1] = static_cast<uint8_t>(std::clamp(g * sa + dst[1] * da + 0.5f, 0.0f, 255.0f));
    dst[2] = static_cast<uint8_t>(std::clamp(b * sa + dst[2] * da + 0.5f, 0.0f, 255.0f));
    dst[3] = static_cast<uint8_t>(std::clamp(a + dst[3] * da + 0.5f, 0.0f, 255.0f));
}

struct Clip {
    int x0, y0, x1, y1;  // pixels [x0, x1) × [y0, y1)
};

inline float edge(const ImVec2& a, const ImVec2& b, float px, float py) { return (b.x - a.x) * (py - a.y) - (b.y - a.y) * (px - a.x); }

// Top-left fill rule, so pixels on an edge shared by two triangles are drawn once
// (matters for the translucent quads ImGui draws as two triangles).
inline bool is_top_left(const ImVec2& a, const ImVec2& b) { return (a.y == b.y && b.x < a.x) || b.y < a.y; }

void draw_triangle(ImDrawVert v0, ImDrawVert v1, ImDrawVert v2, const SoftTexture& tex, const Clip& clip, Image* img) {
    float area = edge(v0.pos, v1.pos, v2.pos.x, v2.pos.y);
    if (area == 0.0f) return;
    if (area < 0.0f) {
        std::swap(v1, v2);
        area = -area;
    }
    const int bx0 = std::max(clip.x0, static_cast<int>(std::floor(std::min({v0.pos.x, v1.pos.x, v2.pos.x}))));
    const int by0 = std::max(clip.y0, static_cast<int>(std::floor(std::min({v0.pos.y, v1.pos.y, v2.pos.y}))));
    const int bx1 = std::min(clip.x1, static_cast<int>(std::ceil(std::max({v0.pos.x, v1.pos.x, v2.pos.x}))) + 1);
    const int by1 = std::min(clip.y1, static_cast<int>(std::ceil(std::max({v0.pos.y, v1.pos.y, v2.pos.y}))) + 1);
    if (bx0 >= bx1 || by0 >= by1) return;

    const Vec4 c0 = unpack(v0.col), c1 = unpack(v1.col), c2 = unpack(v2.col);
    const bool flat_color = v0.col == v1.col && v1.col == v2.col;
    const bool flat_uv = v0.uv.x == v1.uv.x && v1.uv.x == v2.uv.x && v0.uv.y == v1.uv.y && v1.uv.y == v2.uv.y;
    Vec4 flat_tex{255, 255, 255, 255};
    if (flat_uv) flat_tex = sample(tex, v0.uv.x, v0.uv.y);
    const bool tl0 = is_top_left(v1.pos, v2.pos), tl1 = is_top_left(v2.pos, v0.pos), tl2 = is_top_left(v0.pos, v1.pos);
    const float inv_area = 1.0f / area;

    for (int y = by0; y < by1; ++y) {
        const float py = static_cast<float>(y) + 0.5f;
        uint8_t* row = img->pixel(0, y);
        for (int x = bx0; x < bx1; ++x) {
            const float px = static_cast<float>(x) + 0.5f;
            const float w0 = edge(v1.pos, v2.pos, px, py);
            const float w1 = edge(v2.pos, v0.pos, px, py);
            const float w2 = edge(v0.pos, v1.pos, px, py);
            if (w0 < 0 || w1 < 0 || w2 < 0) continue;
            if ((w0 == 0 && !tl0) || (w1 == 0 && !tl1) || (w2 == 0 && !tl2)) continue;
            const float b0 = w0 * inv_area, b1 = w1 * inv_area, b2 = w2 * inv_area;
            Vec4 c = flat_color ? c0
                                : Vec4{c0.r * b0 + c1.r * b1 + c2.r * b2, c0.g * b0 + c1.g * b1 + c2.g * b2,
                                       c0.b * b0 + c1.b * b1 + c2.b * b2, c0.a * b0 + c1.a * b1 + c2.a * b2};
            const Vec4 t = flat_uv ? flat_tex
                                   : sample(tex, v0.uv.x * b0 + v1.uv.x * b1 + v2.uv.x * b2, v0.uv.y * b0 + v1.uv.y * b1 + v2.uv.y * b2);
            blend(row + static_cast<size_t>(x) * 4, c.r * t.r / 255.0f, c.g * t.g / 255.0f, c.b * t.b / 255.0f,
                  c.a * t.a / 255.0f);
        }
    }
}

}  // namespace

void rasterize_draw_data(const ImDrawData& dd, const SoftTexture& texture, uint32_t clear_abgr, Image* image) {
    const int width = static_cast<int>(dd.DisplaySize.x * dd.FramebufferScale.x);
    const int height = static_cast<int>(dd.DisplaySize.y * dd.FramebufferScale.y);
    image->resize(width, height, clear_abgr);
    if (width <= 0 || height <= 0) return;
    const ImVec2 off = dd.DisplayPos;
    const ImVec2 scale = dd.FramebufferScale;
    for (int n = 0; n < dd.CmdListsCount; ++n) {
        const ImDrawList* list = dd.CmdLists[n];
        for (int ci = 0; ci < list->CmdBuffer.Size; ++ci) {
            const ImDrawCmd& cmd = list->CmdBuffer[ci];
            if (cmd.UserCallback != nullptr) continue;  // the views register none
            // Scissor as the Vulkan backend computes it.
            const float cx0 = std::max((cmd.ClipRect.x - off.x) * scale.x, 0.0f);
            const float cy0 = std::max((cmd.ClipRect.y - off.y) * scale.y, 0.0f);
            const float cx1 = std::min((cmd.ClipRect.z - off.x) * scale.x, static_cast<float>(width));
            const float cy1 = std::min((cmd.ClipRect.w - off.y) * scale.y, static_cast<float>(height));
            if (cx1 <= cx0 || cy1 <= cy0) continue;
            const Clip clip{static_cast<int>(cx0), static_cast<int>(cy0), static_cast<int>(cx0) + static_cast<int>(cx1 - cx0),
                            static_cast<int>(cy0) + static_cast<int>(cy1 - cy0)};
            for (unsigned int i = 0; i + 2 < cmd.ElemCount; i += 3) {
                ImDrawVert v[3];
                for (int k = 0; k < 3; ++k) {
                    v[k] = list->VtxBuffer[static_cast<int>(cmd.VtxOffset + list->IdxBuffer[static_cast<int>(cmd.IdxOffset + i) + k])];
                    v[k].pos.x = (v[k].pos.x - off.x) * scale.x;
                    v[k].pos.y = (v[k].pos.y - off.y) * scale.y;
                }
                draw_triangle(v[0], v[1], v[2], texture, clip, image);
            }
        }
    }
}

}  // namespace mnemo::viz
