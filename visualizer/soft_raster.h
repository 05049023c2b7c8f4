// A software rasteriser for Dear ImGui draw lists: renders ImDrawData into an RGBA8
// image with the same blending and scissoring as ImGui's Vulkan backend, so views
// can be saved to PNG without a display or GPU (tests, docs, reports).
#pragma once

#include "image.h"

struct ImDrawData;

namespace mnemo::viz {

// The texture every draw command samples (the views use only the font atlas).
struct SoftTexture {
    const unsigned char* rgba = nullptr;
    int width = 0;
    int height = 0;
};

// Clears `image` to `clear_abgr` (IM_COL32 layout) at the draw data's framebuffer
// size and draws every command list into it.
void rasterize_draw_data(const ImDrawData& draw_data, const SoftTexture& texture, uint32_t clear_abgr, Image* image);

}  // namespace mnemo::viz
