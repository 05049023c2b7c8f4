// Headless rendering of the views to images and PNG files: a private Dear ImGui
// context, the studio's fonts and style, and the software rasteriser. Needs no
// display and no GPU.
#pragma once

#include "image.h"
#include "studio_model.h"
#include "views.h"

#include <string>

namespace mnemo::viz {

struct HeadlessOptions {
    int width = 1600;
    int height = 1000;
    int frames = 3;  // ImGui settles layout (auto-sized columns, scrolling) over a few frames
    float font_px = 15.0f;
};

// Renders `which` (with `ask` if given) into `out`. `state` is copied: hover and
// scroll state of the render do not leak back.
bool render_views(const StudioModel& model, const ViewState& state, const AskState* ask, ViewId which, const HeadlessOptions& options,
                  Image* out, std::string* error);
bool render_views_png(const StudioModel& model, const ViewState& state, const AskState* ask, ViewId which, const HeadlessOptions& options,
                      const std::string& path, std::string* error);

// Rasterises the current context's last frame (ImGui::GetDrawData()) using its font atlas.
bool rasterize_current_frame(Image* out, std::string* error);

}  // namespace mnemo::viz
