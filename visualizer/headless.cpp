#include "headless.h"

#include "imgui_includes.h"
#include "soft_raster.h"
#include "theme.h"

#include <cfloat>

namespace mnemo::viz {

bool rasterize_current_frame(Image* out, std::string* error) {
    const ImDrawData* dd = ImGui::GetDrawData();
    if (dd == nullptr || !dd->Valid) {
        *error = "no rendered ImGui frame to rasterise";
        return false;
    }
    unsigned char* pixels = nullptr;
    int w = 0, h = 0;
    ImGui::GetIO().Fonts->GetTexDataAsRGBA32(&pixels, &w, &h);
    rasterize_draw_data(*dd, SoftTexture{pixels, w, h}, kColorBackground, out);
    return true;
}

bool render_views(const StudioModel& model, const ViewState& state, const AskState* ask, ViewId which, const HeadlessOptions& options,
                  Image* out, std::string* error) {
    if (options.width <= 0 || options.height <= 0) {
        *error = "render_views: width and height must be positive";
        return false;
    }
    ImGuiContext* previous = ImGui::GetCurrentContext();
    ImGuiContext* ctx = ImGui::CreateContext();
    ImGui::SetCurrentContext(ctx);
    ImGuiIO& io = ImGui::GetIO();
    io.IniFilename = nullptr;
    io.LogFilename = nullptr;
    io.DisplaySize = ImVec2(static_cast<float>(options.width), static_cast<float>(options.height));
    io.DeltaTime = 1.0f / 60.0f;
    io.MousePos = ImVec2(-FLT_MAX, -FLT_MAX);
    const StudioFonts fonts = load_studio_fonts(options.font_px);
    apply_studio_style();
    unsigned char* pixels = nullptr;
    int tw = 0, th = 0;
    io.Fonts->GetTexDataAsRGBA32(&pixels, &tw, &th);
    io.Fonts->SetTexID(reinterpret_cast<ImTextureID>(static_cast<intptr_t>(1)));

    ViewState vs = state;
    vs.mono_font = fonts.mono;
    AskState ask_copy;
    if (ask != nullptr) ask_copy = *ask;
    for (int f = 0; f < std::max(options.frames, 1); ++f) {
        ImGui::NewFrame();
        draw_views(model, vs, ask != nullptr ? &ask_copy : nullptr, which, ImVec2(0, 0), io.DisplaySize);
        ImGui::Render();
    }
    const bool ok = rasterize_current_frame(out, error);
    ImGui::DestroyContext(ctx);
    ImGui::SetCurrentContext(previous);
    return ok;
}

bool render_views_png(const StudioModel& model, const ViewState& state, const AskState* ask, ViewId which, const HeadlessOptions& options,
                      const std::string& path, std::string* error) {
    Image image;
    return render_views(model, state, ask, which, options, &image, error) && write_png(path, image, error);
}

}  // namespace mnemo::viz
