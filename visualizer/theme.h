// Colours, fonts and style shared by every view, so the app and the headless
// renderer draw identically.
#pragma once

#include "imgui_includes.h"
#include "studio_model.h"

#include <string_view>

namespace mnemo::viz {

struct StudioFonts {
    ImFont* ui = nullptr;
    ImFont* mono = nullptr;
};

// Adds the UI and monospace fonts (DejaVu from fonts-dejavu-core when installed,
// ImGui's built-in font otherwise) to the current context's atlas.
StudioFonts load_studio_fonts(float size_px);
// Dark theme with the studio's spacing.
void apply_studio_style();

// Diverging colour for a score: blue (negative) – grey (0) – amber (positive);
// `scale` is the magnitude that saturates.
ImU32 score_color(float score, float scale, float alpha = 1.0f);
ImU32 mixer_color(std::string_view mixer, int shade = 0);
ImU32 reason_color(EvictionReason reason);

inline constexpr ImU32 kColorBackground = IM_COL32(22, 23, 28, 255);
inline constexpr ImU32 kColorRead = IM_COL32(34, 36, 44, 255);
inline constexpr ImU32 kColorUnread = IM_COL32(24, 25, 30, 255);
inline constexpr ImU32 kColorWindowBand = IM_COL32(90, 150, 255, 40);
inline constexpr ImU32 kColorWindowEdge = IM_COL32(90, 150, 255, 160);
inline constexpr ImU32 kColorCursor = IM_COL32(255, 255, 255, 220);
inline constexpr ImU32 kColorSink = IM_COL32(240, 240, 255, 255);
inline constexpr ImU32 kColorGhost = IM_COL32(220, 80, 80, 120);
inline constexpr ImU32 kColorQuestion = IM_COL32(120, 220, 120, 255);
inline constexpr ImU32 kColorAnswer = IM_COL32(110, 210, 240, 255);
inline constexpr ImU32 kColorBudget = IM_COL32(240, 80, 80, 255);
inline constexpr ImU32 kColorText = IM_COL32(225, 226, 232, 255);
inline constexpr ImU32 kColorDim = IM_COL32(125, 128, 140, 255);

}  // namespace mnemo::viz
