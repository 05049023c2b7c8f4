#include "theme.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

namespace mnemo::viz {
namespace {

// Latin-1, general punctuation (… – —), arrows, maths (≥ ∅), control pictures (␣),
// box drawing and geometric shapes (▶ ▌).
const ImWchar kGlyphRanges[] = {0x0020, 0x00FF, 0x2000, 0x206F, 0x2190, 0x22FF, 0x2400, 0x243F, 0x2500, 0x25FF, 0};

ImFont* add_font(const char* const* candidates, float size_px) {
    ImGuiIO& io = ImGui::GetIO();
    for (const char* const* p = candidates; *p != nullptr; ++p) {
        std::error_code ec;
        if (std::filesystem::is_regular_file(*p, ec)) {
            ImFontConfig cfg;
            cfg.OversampleH = 2;
            cfg.OversampleV = 1;
            if (ImFont* f = io.Fonts->AddFontFromFileTTF(*p, size_px, &cfg, kGlyphRanges)) return f;
        }
    }
    return nullptr;
}

ImU32 lerp_color(ImU32 a, ImU32 b, float t) {
    auto ch = [&](int shift) {
        const float x = static_cast<float>((a >> shift) & 0xFF), y = static_cast<float>((b >> shift) & 0xFF);
        return static_cast<ImU32>(std::lround(x + (y - x) * t)) << shift;
    };
    return ch(0) | ch(8) | ch(16) | ch(24);
}

}  // namespace

StudioFonts load_studio_fonts(float size_px) {
    static const char* const kSans[] = {"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", nullptr};
    static const char* const kMono[] = {"/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf", nullptr};
    StudioFonts f;
    f.ui = add_font(kSans, size_px);
    if (f.ui == nullptr) f.ui = ImGui::GetIO().Fonts->AddFontDefault();
    f.mono = add_font(kMono, size_px);
    if (f.mono == nullptr) f.mono = f.ui;
    return f;
}

void apply_studio_style() {
    ImGui::StyleColorsDark();
    ImGuiStyle& s = ImGui::GetStyle();
    s.WindowRounding = 4.0f;
    s.FrameRounding = 3.0f;
    s.GrabRounding = 3.0f;
    s.WindowPadding = ImVec2(8, 6);
    s.ItemSpacing = ImVec2(8, 5);
    s.Colors[ImGuiCol_WindowBg] = ImGui::ColorConvertU32ToFloat4(IM_COL32(28, 29, 35, 255));
    s.Colors[ImGuiCol_ChildBg] = ImGui::ColorConvertU32ToFloat4(IM_COL32(24, 25, 30, 255));
    s.Colors[ImGuiCol_TitleBg] = ImGui::ColorConvertU32ToFloat4(IM_COL32(38, 42, 56, 255));
    s.Colors[ImGuiCol_TitleBgActive] = ImGui::ColorConvertU32ToFloat4(IM_COL32(46, 62, 100, 255));
}

ImU32 score_color(float score, float scale, float alpha) {
    const ImU32 neutral = IM_COL32(120, 120, 132, 255);
    const ImU32 negative = IM_COL32(70, 130, 240, 255);
    const ImU32 positive_mid = IM_COL32(240, 140, 50, 255);
    const ImU32 positive = IM_COL32(255, 225, 80, 255);
    const float t = std::clamp(scale > 0.0f ? score / scale : 0.0f, -1.0f, 1.0f);
    ImU32 c;
    if (t < 0.0f) c = lerp_color(neutral, negative, std::sqrt(-t));
    else if (t < 0.5f) c = lerp_color(neutral, positive_mid, std::sqrt(t * 2.0f));
    else c = lerp_color(positive_mid, positive, (t - 0.5f) * 2.0f);
    const ImU32 a = static_cast<ImU32>(std::lround(std::clamp(alpha, 0.0f, 1.0f) * 255.0f));
    return (c & 0x00FFFFFFu) | (a << 24);
}

ImU32 mixer_color(std::string_view mixer, int shade) {
    ImU32 base = IM_COL32(150, 150, 150, 255);
    if (mixer == "gdn") base = IM_COL32(60, 170, 160, 255);
    else if (mixer == "lte") base = IM_COL32(240, 160, 60, 255);
    else if (mixer == "swa") base = IM_COL32(160, 120, 230, 255);
    else if (mixer == "nsa") base = IM_COL32(110, 200, 90, 255);
    else if (mixer == "attn") base = IM_COL32(230, 80, 90, 255);
    // Alternate shades so neighbouring layers of one kind stay apart in stacked charts.
    const float k = (shade % 2 == 0) ? 1.0f : 0.72f;
    return lerp_color(IM_COL32(0, 0, 0, 255), base, k) | 0xFF000000u;
}

ImU32 reason_color(EvictionReason reason) {
    switch (reason) {
        case EvictionReason::NonpositiveScore: return IM_COL32(90, 140, 240, 255);
        case EvictionReason::BufferFull: return IM_COL32(240, 150, 60, 255);
        case EvictionReason::Replaced: return IM_COL32(230, 90, 110, 255);
        case EvictionReason::Window: return IM_COL32(150, 150, 160, 255);
        case EvictionReason::Policy: return IM_COL32(170, 120, 230, 255);
    }
    return IM_COL32(200, 200, 200, 255);
}

}  // namespace mnemo::viz
