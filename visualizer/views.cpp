#include "views.h"

#include "theme.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace mnemo::viz {
namespace {

// ------------------------------------------------------------------ small helpers

double nice_step(double range, int target_ticks) {
    if (range <= 0 || target_ticks <= 0) return 1.0;
    const double raw = range / target_ticks;
    const double p = std::pow(10.0, std::floor(std::log10(raw)));
    for (double m : {1.0, 2.0, 5.0, 10.0})
        if (m * p >= raw) return m * p;
    return 10.0 * p;
}

std::string format_count(double v) {
    char buf[32];
    if (std::fabs(v) >= 1e6) std::snprintf(buf, sizeof buf, "%.1fM", v / 1e6);
    else if (std::fabs(v) >= 1e4) std::snprintf(buf, sizeof buf, "%.0fk", v / 1e3);
    else std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
}

// The held token of `tokens` at `position`, or null.
const HeldToken* find_held(const std::vector<HeldToken>& tokens, int64_t position) {
    auto it = std::lower_bound(tokens.begin(), tokens.end(), position,
                               [](const HeldToken& t, int64_t p) { return t.position < p; });
    return it != tokens.end() && it->position == position ? &*it : nullptr;
}

// Nearest held token within `tolerance` positions of `position`.
const HeldToken* find_near(const std::vector<HeldToken>& tokens, double position, double tolerance) {
    const int64_t p = static_cast<int64_t>(std::floor(position));
    auto it = std::lower_bound(tokens.begin(), tokens.end(), p, [](const HeldToken& t, int64_t q) { return t.position < q; });
    const HeldToken* best = nullptr;
    double best_d = tolerance;
    auto consider = [&](const HeldToken& t) {
        const double d = std::fabs(static_cast<double>(t.position) + 0.5 - position);
        if (d <= best_d) {
            best_d = d;
            best = &t;
        }
    };
    if (it != tokens.end()) consider(*it);
    if (it != tokens.begin()) consider(*(it - 1));
    if (it != tokens.end() && it + 1 != tokens.end()) consider(*(it + 1));
    return best;
}

const EvictionRecord* find_eviction(const EvictionLog& log, int layer, int head, int64_t position) {
    for (size_t i = log.size(); i-- > 0;) {
        const EvictionRecord& r = log.at(i);
        if (r.position == position && r.layer == layer && r.kv_head == head) return &r;
    }
    return nullptr;
}

float layer_score_scale(const LayerSnapshot& layer) {
    float scale = 0.0f;
    for (const HeadSnapshot& h : layer.heads)
        for (const HeldToken& t : h.tokens) scale = std::max(scale, std::fabs(t.score));
    return scale > 0.0f ? scale : 1.0f;
}

// Length of the valid UTF-8 sequence starting at text[i], 0 if invalid.
size_t utf8_length(std::string_view text, size_t i) {
    const auto b = static_cast<unsigned char>(text[i]);
    const size_t n = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > text.size()) return 0;
    for (size_t k = 1; k < n; ++k)
        if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return 0;
    return n;
}

// One line of text: newline → ¶, tabs → space, bytes that are not UTF-8 (byte-level
// tokens of a split character, a random model's output) → \xNN.
std::string printable_run(std::string_view text, size_t max_bytes = 200) {
    std::string out;
    for (size_t i = 0; i < text.size() && out.size() < max_bytes;) {
        const char c = text[i];
        const size_t n = utf8_length(text, i);
        if (c == '\n') out += "\xC2\xB6";  // ¶
        else if (c == '\t' || c == '\r') out += ' ';
        else if (n == 0) {
            char hex[8];
            std::snprintf(hex, sizeof hex, "\\x%02X", static_cast<unsigned char>(c));
            out += hex;
        } else {
            out.append(text.substr(i, n));
            i += n;
            continue;
        }
        ++i;
    }
    return out;
}

// The token at `position` with a few tokens of context on either side, the token
// highlighted, on one line.
void context_line(const DocumentModel& doc, int64_t position, int radius_tokens = 24) {
    if (position < 0 || position >= doc.token_count()) return;
    const std::string pre = printable_run(doc.range_text(position - radius_tokens, position));
    const std::string tok = printable_token(doc.token_text(position));
    const std::string post = printable_run(doc.range_text(position + 1, position + 1 + radius_tokens));
    ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(kColorDim), "…%s", pre.c_str());
    ImGui::SameLine(0, 0);
    ImGui::TextColored(ImVec4(1.0f, 0.85f, 0.3f, 1.0f), "%s", tok.c_str());
    ImGui::SameLine(0, 0);
    ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(kColorDim), "%s…", post.c_str());
}

void focus_on(ViewState& vs, int64_t position, bool scroll_document, bool center_map) {
    vs.focus_position = position;
    vs.follow = false;
    vs.document_scroll_request = vs.document_scroll_request || scroll_document;
    vs.map_center_request = vs.map_center_request || center_map;
}

// Combo of the layers that hold tokens; returns the resolved layer.
int layer_combo(const StudioModel& m, ViewState& vs, const char* id) {
    const int layer = resolve_layer(m, vs);
    char preview[64];
    std::snprintf(preview, sizeof preview, "layer %d (%s)", layer, layer >= 0 ? m.layers[static_cast<size_t>(layer)].mixer.c_str() : "-");
    ImGui::SetNextItemWidth(ImGui::CalcTextSize(preview).x + 40.0f);
    if (ImGui::BeginCombo(id, preview)) {
        for (size_t l = 0; l < m.layers.size(); ++l) {
            if (!m.layers[l].holds_tokens()) continue;
            char label[64];
            std::snprintf(label, sizeof label, "layer %zu (%s)", l, m.layers[l].mixer.c_str());
            if (ImGui::Selectable(label, static_cast<int>(l) == layer)) vs.layer = static_cast<int>(l);
        }
        ImGui::EndCombo();
    }
    return resolve_layer(m, vs);
}

void head_combo(const LayerSnapshot& layer, ViewState& vs, const char* id) {
    const int n = std::max(layer.n_kv_heads, 1);
    vs.kv_head = std::clamp(vs.kv_head, 0, n - 1);
    char preview[32];
    std::snprintf(preview, sizeof preview, "KV head %d", vs.kv_head);
    ImGui::SetNextItemWidth(ImGui::CalcTextSize(preview).x + 40.0f);
    if (ImGui::BeginCombo(id, preview)) {
        for (int h = 0; h < n; ++h) {
            char label[32];
            std::snprintf(label, sizeof label, "KV head %d", h);
            if (ImGui::Selectable(label, h == vs.kv_head)) vs.kv_head = h;
        }
        ImGui::EndCombo();
    }
}

// A coloured swatch with a label, on the current line.
void legend_item(const char* label, const std::function<void(ImDrawList*, ImVec2, ImVec2)>& draw_swatch) {
    const float h = ImGui::GetTextLineHeight();
    const ImVec2 p = ImGui::GetCursorScreenPos();
    ImGui::Dummy(ImVec2(h * 1.2f, h));
    draw_swatch(ImGui::GetWindowDrawList(), ImVec2(p.x + 1, p.y + 1), ImVec2(p.x + h * 1.2f - 1, p.y + h - 1));
    ImGui::SameLine(0, 4);
    ImGui::TextUnformatted(label);
    ImGui::SameLine(0, 14);
}

void score_legend(float scale) {
    const float h = ImGui::GetTextLineHeight();
    char lo[16], hi[16];
    std::snprintf(lo, sizeof lo, "%+.3g", -scale);
    std::snprintf(hi, sizeof hi, "%+.3g", scale);
    ImGui::TextUnformatted("score");
    ImGui::SameLine(0, 6);
    ImGui::TextUnformatted(lo);
    ImGui::SameLine(0, 4);
    const ImVec2 p = ImGui::GetCursorScreenPos();
    const float w = 120.0f;
    ImGui::Dummy(ImVec2(w, h));
    ImDrawList* dl = ImGui::GetWindowDrawList();
    const int steps = 40;
    for (int i = 0; i < steps; ++i) {
        const float t = -1.0f + 2.0f * (static_cast<float>(i) + 0.5f) / steps;
        dl->AddRectFilled(ImVec2(p.x + w * i / steps, p.y + 2), ImVec2(p.x + w * (i + 1) / steps, p.y + h - 2),
                          score_color(t * scale, scale));
    }
    ImGui::SameLine(0, 4);
    ImGui::TextUnformatted(hi);
}

// ------------------------------------------------------------------ token flow (document / window text)

struct FlowStyle {
    ImU32 text = kColorText;
    ImU32 background = 0;
    ImU32 border = 0;
};

struct FlowResult {
    int64_t hovered = -1;
    float mark_y = -1.0f;  // y of `mark` relative to the flow's top
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Lays out the text of positions [begin, end) at the cursor, wrapped at words, one
// call per token so each can carry its own style; a caret before `caret`.
FlowResult draw_token_flow(const DocumentModel& doc, int64_t begin, int64_t end, const std::function<FlowStyle(int64_t)>& style_of,
                           int64_t mark, int64_t caret) {
    FlowResult result;
    begin = std::clamp<int64_t>(begin, 0, doc.token_count());
    end = std::clamp<int64_t>(end, begin, doc.token_count());
    const ImVec2 origin = ImGui::GetCursorScreenPos();
    const float width = std::max(ImGui::GetContentRegionAvail().x - 4.0f, 40.0f);
    const float line_h = ImGui::GetTextLineHeightWithSpacing();
    const float space_w = ImGui::CalcTextSize(" ").x;
    ImDrawList* dl = ImGui::GetWindowDrawList();
    const ImVec2 mouse = ImGui::GetIO().MousePos;
    const bool window_hovered = ImGui::IsWindowHovered();
    const std::string& s = doc.text;
    const ImVec4 clip = dl->GetClipRectMax().y > 0 ? ImVec4(dl->GetClipRectMin().x, dl->GetClipRectMin().y, dl->GetClipRectMax().x,
                                                             dl->GetClipRectMax().y)
                                                   : ImVec4(0, 0, 0, 0);
    float x = 0.0f, y = 0.0f;
    std::string piece;
    for (int64_t tok = begin; tok < end;) {
        size_t a = doc.token_offsets[static_cast<size_t>(tok)];
        int64_t last = tok;
        size_t b = doc.token_offsets[static_cast<size_t>(tok + 1)];
        // Byte tokens split UTF-8 characters: keep a character's bytes in one draw call.
        while (last + 1 < end && b < s.size() && (static_cast<unsigned char>(s[b]) & 0xC0) == 0x80) {
            ++last;
            b = doc.token_offsets[static_cast<size_t>(last + 1)];
        }
        const FlowStyle st = style_of(tok);
        if (mark >= tok && mark <= last) result.mark_y = y;
        const bool visible_line = origin.y + y + line_h >= clip.y && origin.y + y <= clip.w;
        if (tok == caret && visible_line) {
            dl->AddRectFilled(ImVec2(origin.x + x - 1, origin.y + y), ImVec2(origin.x + x + 1, origin.y + y + line_h), kColorCursor);
        }
        // Split the token's text at newlines; draw each part.
        size_t p = a;
        while (p <= b) {
            size_t nl = p;
            while (nl < b && s[nl] != '\n') ++nl;
            piece.clear();
            for (size_t i = p; i < nl; ++i) {
                if (s[i] == '\t') piece += "    ";
                else if (s[i] != '\r') piece += s[i];
            }
            if (!piece.empty()) {
                const float w = ImGui::CalcTextSize(piece.data(), piece.data() + piece.size()).x;
                float wrap_w = w;
                // Starting a word: wrap before it if the whole word does not fit.
                if (!is_space(s[p]) && (p == 0 || is_space(s[p - 1]))) {
                    size_t e = p;
                    while (e < s.size() && e < p + 48 && !is_space(s[e])) ++e;
                    wrap_w = std::max(w, ImGui::CalcTextSize(s.data() + p, s.data() + e).x);
                }
                if (x > 0.0f && x + wrap_w > width && !(piece.size() == 1 && piece[0] == ' ')) {
                    x = 0.0f;
                    y += line_h;
                    if (mark >= tok && mark <= last) result.mark_y = y;
                }
                const ImVec2 p0(origin.x + x, origin.y + y), p1(origin.x + x + w, origin.y + y + line_h);
                if (p1.y >= clip.y && p0.y <= clip.w) {
                    if (st.background != 0) dl->AddRectFilled(p0, ImVec2(p1.x, p1.y - 1), st.background);
                    if (st.border != 0) dl->AddRect(p0, ImVec2(p1.x, p1.y - 1), st.border, 0.0f, 0, 1.5f);
                    dl->AddText(ImVec2(p0.x, p0.y + 1), st.text, piece.data(), piece.data() + piece.size());
                }
                if (window_hovered && mouse.x >= p0.x && mouse.x < p1.x && mouse.y >= p0.y && mouse.y < p1.y) result.hovered = tok;
                x += w;
            }
            if (nl < b) {  // the newline itself: a small mark so a highlighted newline token shows
                const ImVec2 p0(origin.x + x, origin.y + y);
                if (st.background != 0) dl->AddRectFilled(p0, ImVec2(p0.x + space_w, p0.y + line_h - 1), st.background);
                if (window_hovered && mouse.x >= p0.x && mouse.x < p0.x + space_w && mouse.y >= p0.y && mouse.y < p0.y + line_h)
                    result.hovered = tok;
                x = 0.0f;
                y += line_h;
            }
            p = nl + 1;
        }
        tok = last + 1;
    }
    if (caret == end) dl->AddRectFilled(ImVec2(origin.x + x - 1, origin.y + y), ImVec2(origin.x + x + 1, origin.y + y + line_h), kColorCursor);
    ImGui::Dummy(ImVec2(width, y + line_h));
    return result;
}

// ------------------------------------------------------------------ per-position lookup of a head's tokens

struct HeadLookup {
    int64_t begin = 0;
    std::vector<int8_t> kind;  // -1: not held, else TokenKind
    std::vector<float> score;
    void build(const HeadSnapshot* head, int64_t b, int64_t e) {
        begin = b;
        kind.assign(static_cast<size_t>(std::max<int64_t>(e - b, 0)), -1);
        score.assign(kind.size(), 0.0f);
        if (head == nullptr) return;
        auto it = std::lower_bound(head->tokens.begin(), head->tokens.end(), b,
                                   [](const HeldToken& t, int64_t p) { return t.position < p; });
        for (; it != head->tokens.end() && it->position < e; ++it) {
            kind[static_cast<size_t>(it->position - b)] = static_cast<int8_t>(it->kind);
            score[static_cast<size_t>(it->position - b)] = it->score;
        }
    }
    int kind_at(int64_t p) const {
        const int64_t i = p - begin;
        return i >= 0 && i < static_cast<int64_t>(kind.size()) ? kind[static_cast<size_t>(i)] : -1;
    }
    float score_at(int64_t p) const {
        const int64_t i = p - begin;
        return i >= 0 && i < static_cast<int64_t>(score.size()) ? score[static_cast<size_t>(i)] : 0.0f;
    }
};

FlowStyle document_style(const StudioModel& m, const ViewState& vs, const HeadLookup& held, float scale, int64_t pos) {
    FlowStyle st;
    st.text = pos < m.position ? kColorText : kColorDim;
    if (const InsertedSpan* span = m.document.inserted_at(pos)) st.text = span->answer ? kColorAnswer : kColorQuestion;
    switch (held.kind_at(pos)) {
        case static_cast<int>(TokenKind::Retained): st.background = score_color(held.score_at(pos), scale, 0.55f); break;
        case static_cast<int>(TokenKind::Sink): st.background = IM_COL32(235, 235, 255, 80); break;
        case static_cast<int>(TokenKind::Window): st.background = IM_COL32(90, 150, 255, 70); break;
        default: break;
    }
    if (pos == vs.focus_position) st.border = IM_COL32(255, 255, 255, 230);
    return st;
}

void held_tooltip(const StudioModel& m, int layer, int head, int64_t pos, const HeldToken* held) {
    ImGui::BeginTooltip();
    ImGui::Text("position %" PRId64 " · layer %d · KV head %d", pos, layer, head);
    if (held != nullptr) {
        ImGui::Text("%s · score %+.4f", token_kind_name(held->kind), static_cast<double>(held->score));
    } else if (pos >= m.position) {
        ImGui::TextDisabled("not read yet");
    } else if (const EvictionRecord* e = find_eviction(m.evictions, layer, head, pos)) {
        ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(reason_color(e->reason)), "evicted (%s) · score %+.4f",
                           eviction_reason_name(e->reason), static_cast<double>(e->score));
    } else {
        ImGui::TextDisabled("not held");
    }
    if (const InsertedSpan* span = m.document.inserted_at(pos)) ImGui::TextDisabled("%s", span->answer ? "(answer)" : "(question)");
    context_line(m.document, pos);
    ImGui::EndTooltip();
}

}  // namespace

// ------------------------------------------------------------------ public helpers

bool parse_view_id(std::string_view name, ViewId* out) {
    static const std::pair<const char*, ViewId> kNames[] = {
        {"retention", ViewId::Retention}, {"window", ViewId::Window}, {"state", ViewId::State}, {"evictions", ViewId::Evictions},
        {"document", ViewId::Document},   {"ask", ViewId::Ask},       {"all", ViewId::All}};
    for (const auto& [n, v] : kNames)
        if (name == n) {
            *out = v;
            return true;
        }
    return false;
}

const char* view_id_name(ViewId view) {
    switch (view) {
        case ViewId::Retention: return "retention";
        case ViewId::Window: return "window";
        case ViewId::State: return "state";
        case ViewId::Evictions: return "evictions";
        case ViewId::Document: return "document";
        case ViewId::Ask: return "ask";
        case ViewId::All: return "all";
    }
    return "?";
}

int resolve_layer(const StudioModel& m, const ViewState& vs) {
    if (vs.layer >= 0 && vs.layer < static_cast<int>(m.layers.size()) && m.layers[static_cast<size_t>(vs.layer)].holds_tokens())
        return vs.layer;
    return m.first_token_layer();
}

std::string printable_token(std::string_view text) {
    if (text.empty()) return "\xE2\x88\x85";  // ∅ (a special token)
    if (text == " ") return "\xE2\x90\xA3";   // ␣
    return printable_run(text, 64);
}

// ------------------------------------------------------------------ retention map

void draw_retention_map(const StudioModel& m, ViewState& vs) {
    const int layer_index = layer_combo(m, vs, "##map_layer");
    if (layer_index < 0) {
        ImGui::TextDisabled("No layer of this model holds tokens (a pure GDN stack keeps only fixed-size matrices).");
        return;
    }
    const LayerSnapshot& layer = m.layers[static_cast<size_t>(layer_index)];
    const double total = std::max({static_cast<double>(m.document.token_count()), static_cast<double>(m.position), 16.0});
    using MapRange = ViewState::MapRange;
    ImGui::SameLine();
    if (ImGui::RadioButton("Read so far", vs.map_range == MapRange::ReadSoFar)) vs.map_range = MapRange::ReadSoFar;
    ImGui::SameLine();
    if (ImGui::RadioButton("Whole stream", vs.map_range == MapRange::Whole)) vs.map_range = MapRange::Whole;
    ImGui::SameLine();
    if (ImGui::Button("Zoom to window") && layer.window_begin >= 0) {
        const double span = std::max<double>(static_cast<double>(layer.window_end - layer.window_begin) * 4.0, 64.0);
        vs.map_range = MapRange::Manual;
        vs.map_begin = static_cast<double>(layer.window_end) - span * 0.8;
        vs.map_end = vs.map_begin + span;
        vs.follow = true;
    }
    const double read_extent = std::max(static_cast<double>(m.position) * 1.02 + 8.0, 64.0);
    if (vs.map_range == MapRange::ReadSoFar || (vs.map_range == MapRange::Manual && !(vs.map_end > vs.map_begin))) {
        vs.map_begin = 0.0;
        vs.map_end = read_extent;
    } else if (vs.map_range == MapRange::Whole) {
        vs.map_begin = 0.0;
        vs.map_end = total;
    }
    ImGui::SameLine();
    ImGui::Checkbox("Follow", &vs.follow);
    ImGui::SameLine();
    ImGui::TextDisabled("positions %s–%s of %s · window [%" PRId64 ", %" PRId64 ") · wheel: zoom, drag: pan, double-click: fit",
                        format_count(std::max(vs.map_begin, 0.0)).c_str(), format_count(vs.map_end).c_str(),
                        format_count(static_cast<double>(m.document.token_count())).c_str(), layer.window_begin, layer.window_end);

    const float scale = layer_score_scale(layer);
    legend_item("sink", [](ImDrawList* dl, ImVec2 a, ImVec2 b) {
        dl->AddRectFilled(a, b, score_color(0.6f, 1.0f));
        dl->AddRectFilled(a, ImVec2(b.x, a.y + 3), kColorSink);
    });
    legend_item("retained", [](ImDrawList* dl, ImVec2 a, ImVec2 b) { dl->AddRectFilled(a, b, score_color(0.9f, 1.0f)); });
    legend_item("window", [](ImDrawList* dl, ImVec2 a, ImVec2 b) {
        const float h = b.y - a.y;
        dl->AddRectFilled(ImVec2(a.x, a.y + h * 0.3f), ImVec2(b.x, b.y - h * 0.3f), score_color(-0.4f, 1.0f));
    });
    legend_item("evicted", [](ImDrawList* dl, ImVec2 a, ImVec2 b) { dl->AddRectFilled(ImVec2(a.x, b.y - 3), b, kColorGhost); });
    legend_item("read position", [](ImDrawList* dl, ImVec2 a, ImVec2 b) {
        dl->AddRectFilled(ImVec2((a.x + b.x) * 0.5f - 1, a.y), ImVec2((a.x + b.x) * 0.5f + 1, b.y), kColorCursor);
    });
    score_legend(scale);

    // Geometry.
    const ImVec2 p0 = ImGui::GetCursorScreenPos();
    const ImVec2 avail = ImGui::GetContentRegionAvail();
    const float label_w = 52.0f, axis_h = ImGui::GetTextLineHeight() + 8.0f;
    const float x0 = p0.x + label_w, x1 = p0.x + std::max(avail.x, label_w + 50.0f) - 6.0f;
    const float y0 = p0.y + 2.0f, y1 = p0.y + std::max(avail.y - axis_h, 30.0f);
    const float mw = x1 - x0;
    ImGui::InvisibleButton("##retention_map", ImVec2(std::max(avail.x, 1.0f), std::max(avail.y, 1.0f)));
    const bool hovered = ImGui::IsItemHovered();
    const bool active = ImGui::IsItemActive();
    const ImGuiIO& io = ImGui::GetIO();

    // Interaction: zoom about the mouse, pan by dragging, double-click to fit.
    double width = vs.map_end - vs.map_begin;
    if (hovered && io.MouseWheel != 0.0f) {
        const double frac = std::clamp((io.MousePos.x - x0) / mw, 0.0f, 1.0f);
        const double anchor = vs.map_begin + frac * width;
        const double new_w = std::clamp(width * std::pow(0.8, static_cast<double>(io.MouseWheel)), 8.0, total * 1.05);
        vs.map_begin = anchor - frac * new_w;
        vs.map_end = vs.map_begin + new_w;
        vs.map_range = MapRange::Manual;
    }
    if (active && ImGui::IsMouseDragging(ImGuiMouseButton_Left, 2.0f)) {
        const double shift = -static_cast<double>(io.MouseDelta.x) / mw * width;
        vs.map_begin += shift;
        vs.map_end += shift;
        vs.map_range = MapRange::Manual;
        vs.follow = false;
    }
    if (hovered && ImGui::IsMouseDoubleClicked(ImGuiMouseButton_Left)) vs.map_range = MapRange::Whole;
    width = vs.map_end - vs.map_begin;
    if (vs.map_center_request && vs.focus_position >= 0) {
        if (vs.map_range != MapRange::Manual || width > 4096.0) width = std::min(width, 1024.0);
        vs.map_range = MapRange::Manual;
        vs.map_begin = static_cast<double>(vs.focus_position) - width * 0.5;
        vs.map_end = vs.map_begin + width;
        vs.map_center_request = false;
    } else if (vs.map_range == MapRange::Manual && vs.follow && width < total) {
        const double pos = static_cast<double>(m.position);
        if (pos > vs.map_end - width * 0.05 || pos < vs.map_begin) {
            vs.map_begin = pos - width * 0.85;
            vs.map_end = vs.map_begin + width;
        }
    }
    if (vs.map_begin < -width * 0.02) {
        vs.map_end -= vs.map_begin + width * 0.02;
        vs.map_begin = -width * 0.02;
    }
    const double vb = vs.map_begin, ve = vs.map_end;
    auto X = [&](double pos) { return x0 + static_cast<float>((pos - vb) / (ve - vb)) * mw; };

    ImDrawList* dl = ImGui::GetWindowDrawList();
    dl->PushClipRect(ImVec2(p0.x, p0.y), ImVec2(x1 + 6.0f, y1 + axis_h), true);
    // Backgrounds: read part, unread part, the window band.
    dl->AddRectFilled(ImVec2(x0, y0), ImVec2(x1, y1), kColorUnread);
    const float xr = std::clamp(X(static_cast<double>(m.position)), x0, x1);
    dl->AddRectFilled(ImVec2(std::max(x0, X(0.0)), y0), ImVec2(xr, y1), kColorRead);
    if (layer.window_begin >= 0 && layer.window_end > layer.window_begin) {
        const float wa = std::clamp(X(static_cast<double>(layer.window_begin)), x0, x1);
        const float wb = std::clamp(X(static_cast<double>(layer.window_end)), x0, x1);
        dl->AddRectFilled(ImVec2(wa, y0), ImVec2(std::max(wb, wa + 1.0f), y1), kColorWindowBand);
    }

    const int n_rows = std::max<int>(static_cast<int>(layer.heads.size()), 1);
    const float row_h = (y1 - y0) / static_cast<float>(n_rows);
    const float pad = row_h > 12.0f ? 2.0f : 0.0f;
    const float text_h = ImGui::GetTextLineHeight();
    const int label_every = std::max(1, static_cast<int>(std::ceil(text_h / std::max(row_h, 1.0f))));

    for (int h = 0; h < n_rows; ++h) {
        const float ry0 = y0 + row_h * static_cast<float>(h), ry1 = ry0 + row_h;
        if (h > 0 && row_h >= 6.0f) dl->AddLine(ImVec2(x0, ry0), ImVec2(x1, ry0), IM_COL32(60, 62, 74, 255));
        if (h % label_every == 0) {
            char label[16];
            std::snprintf(label, sizeof label, "h%d", h);
            dl->AddText(ImVec2(p0.x + 4.0f, ry0 + std::max(0.0f, (row_h - text_h) * 0.5f)),
                        h == vs.kv_head ? IM_COL32(255, 220, 120, 255) : kColorDim, label);
        }
        if (h >= static_cast<int>(layer.heads.size())) continue;
        const std::vector<HeldToken>& toks = layer.heads[static_cast<size_t>(h)].tokens;
        const float top = ry0 + pad, bot = ry1 - pad, th = bot - top;
        auto draw_token = [&](TokenKind kind, float xa, float xb, float score) {
            const ImU32 c = score_color(score, scale);
            switch (kind) {
                case TokenKind::Retained: dl->AddRectFilled(ImVec2(xa, top), ImVec2(xb, bot), c); break;
                case TokenKind::Sink:
                    dl->AddRectFilled(ImVec2(xa, top), ImVec2(xb, bot), c);
                    dl->AddRectFilled(ImVec2(xa, top), ImVec2(xb, top + std::max(2.0f, th * 0.2f)), kColorSink);
                    break;
                case TokenKind::Window: dl->AddRectFilled(ImVec2(xa, top + th * 0.3f), ImVec2(xb, bot - th * 0.3f), c); break;
            }
            if (xb - xa >= 6.0f && kind != TokenKind::Window)
                dl->AddRect(ImVec2(xa, top), ImVec2(xb, bot), IM_COL32(0, 0, 0, 140));
        };
        // Tokens narrower than a pixel merge with their neighbour of the same kind,
        // keeping the strongest score, so a zoomed-out 100K-token row stays cheap.
        bool pending = false;
        TokenKind pk = TokenKind::Window;
        float pa = 0, pb = 0, ps = 0;
        auto it = std::lower_bound(toks.begin(), toks.end(), static_cast<int64_t>(std::floor(vb)) - 1,
                                   [](const HeldToken& t, int64_t p) { return t.position < p; });
        for (; it != toks.end() && static_cast<double>(it->position) < ve; ++it) {
            float xa = X(static_cast<double>(it->position)), xb = X(static_cast<double>(it->position) + 1.0);
            const float min_w = it->kind == TokenKind::Window ? 1.0f : 2.0f;
            if (xb - xa < min_w) xb = xa + min_w;
            if (pending && pk == it->kind && xa <= pb + 0.5f && xb - xa <= 2.0f) {
                pb = std::max(pb, xb);
                if (std::fabs(it->score) > std::fabs(ps)) ps = it->score;
                continue;
            }
            if (pending) draw_token(pk, pa, pb, ps);
            pending = true;
            pk = it->kind;
            pa = xa;
            pb = xb;
            ps = it->score;
        }
        if (pending) draw_token(pk, pa, pb, ps);
    }
    // Evicted tokens: red ticks at the bottom of their head's row.
    for (size_t i = 0; i < m.evictions.size(); ++i) {
        const EvictionRecord& e = m.evictions.at(i);
        if (e.layer != layer_index || e.kv_head < 0 || e.kv_head >= n_rows) continue;
        const double pos = static_cast<double>(e.position);
        if (pos + 1.0 < vb || pos > ve) continue;
        const float ry1 = y0 + row_h * static_cast<float>(e.kv_head + 1);
        const float xa = X(pos), xb = std::max(X(pos + 1.0), xa + 1.0f);
        dl->AddRectFilled(ImVec2(xa, ry1 - std::min(2.0f, row_h * 0.2f) - pad), ImVec2(xb, ry1 - pad), kColorGhost);
    }
    // The read position.
    if (xr > x0 && xr < x1) {
        dl->AddLine(ImVec2(xr, y0), ImVec2(xr, y1), kColorCursor, 1.5f);
        dl->AddTriangleFilled(ImVec2(xr - 5, y0), ImVec2(xr + 5, y0), ImVec2(xr, y0 + 6), kColorCursor);
    }
    if (vs.focus_position >= 0) {
        const float xf = X(static_cast<double>(vs.focus_position) + 0.5);
        if (xf >= x0 && xf <= x1) dl->AddLine(ImVec2(xf, y0), ImVec2(xf, y1), IM_COL32(120, 255, 160, 200), 1.0f);
    }
    dl->AddRect(ImVec2(x0, y0), ImVec2(x1, y1), IM_COL32(70, 72, 86, 255));
    // Position axis.
    const double step = nice_step(ve - vb, std::max(2, static_cast<int>(mw / 110.0f)));
    for (double t = std::ceil(std::max(vb, 0.0) / step) * step; t <= ve; t += step) {
        const float xt = X(t);
        if (xt < x0 - 0.5f || xt > x1 + 0.5f) continue;
        dl->AddLine(ImVec2(xt, y1), ImVec2(xt, y1 + 4), kColorDim);
        const std::string label = format_count(t);
        const float lw = ImGui::CalcTextSize(label.c_str()).x;
        dl->AddText(ImVec2(std::clamp(xt - lw * 0.5f, x0, x1 - lw), y1 + 5), kColorDim, label.c_str());
    }
    dl->PopClipRect();

    // Hover: the token under the mouse with its context; click jumps the document there.
    if (hovered && io.MousePos.x >= x0 && io.MousePos.x < x1 && io.MousePos.y >= y0 && io.MousePos.y < y1 &&
        !ImGui::IsMouseDragging(ImGuiMouseButton_Left, 2.0f)) {
        const int row = std::clamp(static_cast<int>((io.MousePos.y - y0) / row_h), 0, n_rows - 1);
        const double pos = vb + static_cast<double>((io.MousePos.x - x0) / mw) * (ve - vb);
        const double tolerance = std::max(0.5, 3.0 * (ve - vb) / mw);
        const HeldToken* held = row < static_cast<int>(layer.heads.size())
                                    ? find_near(layer.heads[static_cast<size_t>(row)].tokens, pos, tolerance)
                                    : nullptr;
        const int64_t p = held != nullptr ? held->position : static_cast<int64_t>(std::floor(pos));
        if (p >= 0 && p < m.document.token_count()) {
            held_tooltip(m, layer_index, row, p, held);
            if (ImGui::IsMouseReleased(ImGuiMouseButton_Left) && io.MouseDragMaxDistanceSqr[0] < 16.0f) {
                vs.kv_head = row;
                focus_on(vs, p, true, false);
            }
        }
    }
}

// ------------------------------------------------------------------ window and buffer contents

void draw_window_contents(const StudioModel& m, ViewState& vs) {
    const int layer_index = layer_combo(m, vs, "##win_layer");
    if (layer_index < 0) {
        ImGui::TextDisabled("No layer of this model holds tokens.");
        return;
    }
    const LayerSnapshot& layer = m.layers[static_cast<size_t>(layer_index)];
    ImGui::SameLine();
    head_combo(layer, vs, "##win_head");
    const HeadSnapshot* head = vs.kv_head < static_cast<int>(layer.heads.size()) ? &layer.heads[static_cast<size_t>(vs.kv_head)] : nullptr;
    std::vector<const HeldToken*> sink, retained, window;
    if (head != nullptr)
        for (const HeldToken& t : head->tokens) {
            if (t.kind == TokenKind::Sink) sink.push_back(&t);
            else if (t.kind == TokenKind::Retained) retained.push_back(&t);
            else window.push_back(&t);
        }
    const float scale = layer_score_scale(layer);
    ImGui::SameLine();
    const int retained_capacity = std::max(layer.buffer_size - layer.sink_size, 0);
    if (retained_capacity > 0)
        ImGui::TextDisabled("sink %zu · retained %zu/%d · window %zu (w+1 = %d)", sink.size(), retained.size(), retained_capacity,
                            window.size(), layer.window_size + 1);
    else
        ImGui::TextDisabled("sink %zu · retained %zu · window %zu", sink.size(), retained.size(), window.size());

    // Sink tokens as chips.
    ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(kColorSink), "Sink");
    ImGui::SameLine();
    if (vs.mono_font != nullptr) ImGui::PushFont(vs.mono_font);
    for (const HeldToken* t : sink) {
        const std::string text = printable_token(m.document.token_text(t->position));
        const ImVec2 sz = ImGui::CalcTextSize(text.c_str());
        const ImVec2 p = ImGui::GetCursorScreenPos();
        ImGui::Dummy(ImVec2(sz.x + 8, sz.y + 2));
        ImDrawList* dl = ImGui::GetWindowDrawList();
        dl->AddRectFilled(p, ImVec2(p.x + sz.x + 8, p.y + sz.y + 2), score_color(t->score, scale, 0.45f), 3.0f);
        dl->AddRect(p, ImVec2(p.x + sz.x + 8, p.y + sz.y + 2), kColorSink, 3.0f);
        dl->AddText(ImVec2(p.x + 4, p.y + 1), kColorText, text.c_str());
        if (ImGui::IsItemHovered()) held_tooltip(m, layer_index, vs.kv_head, t->position, t);
        ImGui::SameLine();
    }
    if (vs.mono_font != nullptr) ImGui::PopFont();
    ImGui::NewLine();

    // Retained buffer as a table.
    ImGui::TextColored(ImVec4(1.0f, 0.75f, 0.3f, 1.0f), "Retained buffer");
    ImGui::SameLine();
    ImGui::Checkbox("sort by score", &vs.retained_by_score);
    if (vs.retained_by_score)
        std::stable_sort(retained.begin(), retained.end(), [](const HeldToken* a, const HeldToken* b) { return a->score > b->score; });
    const float avail_h = ImGui::GetContentRegionAvail().y;
    const float table_h = std::max(avail_h * 0.55f, ImGui::GetTextLineHeightWithSpacing() * 3.0f);
    const ImGuiTableFlags flags = ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerV | ImGuiTableFlags_ScrollY |
                                  ImGuiTableFlags_SizingFixedFit;
    if (ImGui::BeginTable("##retained", 4, flags, ImVec2(0, table_h))) {
        ImGui::TableSetupScrollFreeze(0, 1);
        ImGui::TableSetupColumn("position");
        ImGui::TableSetupColumn("score");
        ImGui::TableSetupColumn("token");
        ImGui::TableSetupColumn("context", ImGuiTableColumnFlags_WidthStretch);
        ImGui::TableHeadersRow();
        ImGuiListClipper clipper;
        clipper.Begin(static_cast<int>(retained.size()));
        while (clipper.Step()) {
            for (int i = clipper.DisplayStart; i < clipper.DisplayEnd; ++i) {
                const HeldToken& t = *retained[static_cast<size_t>(i)];
                ImGui::TableNextRow();
                ImGui::TableNextColumn();
                char label[32];
                std::snprintf(label, sizeof label, "%" PRId64 "##r%d", t.position, i);
                if (ImGui::Selectable(label, t.position == vs.focus_position, ImGuiSelectableFlags_SpanAllColumns))
                    focus_on(vs, t.position, true, true);
                ImGui::TableNextColumn();
                const ImVec2 p = ImGui::GetCursorScreenPos();
                const float bar_w = 60.0f, h = ImGui::GetTextLineHeight();
                ImGui::GetWindowDrawList()->AddRectFilled(ImVec2(p.x, p.y + 2),
                                                          ImVec2(p.x + bar_w * std::clamp(std::fabs(t.score) / scale, 0.02f, 1.0f), p.y + h - 2),
                                                          score_color(t.score, scale));
                ImGui::Dummy(ImVec2(bar_w, h));
                ImGui::SameLine();
                ImGui::Text("%+.3f", static_cast<double>(t.score));
                ImGui::TableNextColumn();
                if (vs.mono_font != nullptr) ImGui::PushFont(vs.mono_font);
                ImGui::TextUnformatted(printable_token(m.document.token_text(t.position)).c_str());
                if (vs.mono_font != nullptr) ImGui::PopFont();
                ImGui::TableNextColumn();
                context_line(m.document, t.position, 16);
            }
        }
        ImGui::EndTable();
    }

    // The window's text, each token shaded by its score.
    ImGui::TextColored(ImVec4(0.55f, 0.7f, 1.0f, 1.0f), "Window");
    if (!window.empty()) {
        ImGui::SameLine();
        ImGui::TextDisabled("[%" PRId64 ", %" PRId64 ")", window.front()->position, window.back()->position + 1);
    }
    ImGui::BeginChild("##window_text", ImVec2(0, 0), true);
    if (!window.empty()) {
        const int64_t wb = std::max(window.front()->position, window.back()->position - 4095);
        const int64_t we = window.back()->position + 1;
        HeadLookup lookup;
        lookup.build(head, wb, we);
        if (vs.mono_font != nullptr) ImGui::PushFont(vs.mono_font);
        const FlowResult r = draw_token_flow(
            m.document, wb, we,
            [&](int64_t pos) {
                FlowStyle st;
                if (const InsertedSpan* span = m.document.inserted_at(pos)) st.text = span->answer ? kColorAnswer : kColorQuestion;
                if (lookup.kind_at(pos) >= 0) st.background = score_color(lookup.score_at(pos), scale, 0.35f);
                if (pos == vs.focus_position) st.border = IM_COL32(255, 255, 255, 230);
                return st;
            },
            -1, m.position);
        if (vs.mono_font != nullptr) ImGui::PopFont();
        if (r.hovered >= 0) {
            held_tooltip(m, layer_index, vs.kv_head, r.hovered, find_held(head->tokens, r.hovered));
            if (ImGui::IsMouseClicked(ImGuiMouseButton_Left)) focus_on(vs, r.hovered, true, true);
        }
        if (vs.follow) ImGui::SetScrollHereY(1.0f);
    } else {
        ImGui::TextDisabled("(empty: nothing read yet)");
    }
    ImGui::EndChild();
}

// ------------------------------------------------------------------ document

void draw_document(const StudioModel& m, ViewState& vs) {
    const DocumentModel& doc = m.document;
    const int layer_index = resolve_layer(m, vs);
    const LayerSnapshot* layer = layer_index >= 0 ? &m.layers[static_cast<size_t>(layer_index)] : nullptr;
    const HeadSnapshot* head = layer != nullptr && vs.kv_head >= 0 && vs.kv_head < static_cast<int>(layer->heads.size())
                                   ? &layer->heads[static_cast<size_t>(vs.kv_head)]
                                   : nullptr;
    ImGui::Text("%s", doc.title.empty() ? "(no document)" : doc.title.c_str());
    ImGui::SameLine();
    ImGui::TextDisabled("read %" PRId64 " of %" PRId64 " tokens", m.position, doc.token_count());
    ImGui::SameLine();
    ImGui::Checkbox("Follow##doc", &vs.follow);
    if (layer != nullptr) {
        ImGui::SameLine();
        ImGui::TextDisabled("highlights: layer %d, KV head %d —", layer_index, vs.kv_head);
        ImGui::SameLine();
        legend_item("retained", [](ImDrawList* dl, ImVec2 a, ImVec2 b) { dl->AddRectFilled(a, b, score_color(0.8f, 1.0f, 0.55f)); });
        legend_item("window", [](ImDrawList* dl, ImVec2 a, ImVec2 b) { dl->AddRectFilled(a, b, IM_COL32(90, 150, 255, 70)); });
        legend_item("sink", [](ImDrawList* dl, ImVec2 a, ImVec2 b) { dl->AddRectFilled(a, b, IM_COL32(235, 235, 255, 80)); });
        ImGui::NewLine();
    }
    ImGui::BeginChild("##document_text", ImVec2(0, 0), true);
    if (doc.token_count() == 0) {
        ImGui::TextDisabled("Open a document to stream it through the model.");
        ImGui::EndChild();
        return;
    }
    const int64_t center = (!vs.follow && vs.focus_position >= 0) ? vs.focus_position : m.position;
    // Lay out a page around the centre only, so a 100K-token document stays cheap;
    // start at a line boundary so the page does not reflow as it moves.
    int64_t begin = std::max<int64_t>(0, center - 2500);
    const int64_t end = std::min<int64_t>(doc.token_count(), center + 1500);
    if (begin > 0) {
        const size_t off = doc.token_offsets[static_cast<size_t>(begin)];
        const size_t nl = doc.text.rfind('\n', off);
        if (nl != std::string::npos && off - nl < 2000) begin = doc.position_at_offset(nl + 1);
    }
    HeadLookup lookup;
    lookup.build(head, begin, end);
    const float scale = layer != nullptr ? layer_score_scale(*layer) : 1.0f;
    if (vs.mono_font != nullptr) ImGui::PushFont(vs.mono_font);
    const FlowResult r = draw_token_flow(
        doc, begin, end, [&](int64_t pos) { return document_style(m, vs, lookup, scale, pos); }, center, m.position);
    if (vs.mono_font != nullptr) ImGui::PopFont();
    if ((vs.follow || vs.document_scroll_request) && r.mark_y >= 0.0f) {
        ImGui::SetScrollY(std::max(0.0f, r.mark_y - ImGui::GetWindowHeight() * 0.45f));
        vs.document_scroll_request = false;
    }
    if (r.hovered >= 0) {
        held_tooltip(m, layer_index, vs.kv_head, r.hovered, head != nullptr ? find_held(head->tokens, r.hovered) : nullptr);
        if (ImGui::IsMouseClicked(ImGuiMouseButton_Left)) focus_on(vs, r.hovered, false, true);
    }
    ImGui::EndChild();
}

// ------------------------------------------------------------------ state usage over time

void draw_state_usage(const StudioModel& m, ViewState& vs) {
    (void)vs;
    uint64_t used = 0, reserved = 0;
    for (const LayerSnapshot& l : m.layers) {
        used += l.state_bytes_used;
        reserved += l.state_bytes_reserved;
    }
    ImGui::Text("state %s used of %s planned", format_bytes(used).c_str(), format_bytes(reserved).c_str());
    ImGui::TextDisabled("session total %s (scratch %s) · %s · budget %s · %s", format_bytes(m.plan.total_bytes).c_str(),
                        format_bytes(m.plan.scratch_bytes).c_str(), m.plan.bounded ? "bounded" : "grows with context",
                        m.plan.budget_bytes > 0 ? format_bytes(m.plan.budget_bytes).c_str() : "none",
                        m.plan.backend.empty() ? "-" : m.plan.backend.c_str());

    const std::vector<UsageSample>& samples = m.usage.samples();
    const float table_h = std::min(ImGui::GetTextLineHeightWithSpacing() * (static_cast<float>(m.layers.size()) + 1.6f),
                                   ImGui::GetContentRegionAvail().y * 0.45f);
    const ImVec2 p0 = ImGui::GetCursorScreenPos();
    const ImVec2 avail = ImGui::GetContentRegionAvail();
    const float chart_h = std::max(avail.y - table_h - 6.0f, 60.0f);
    const float axis_w = 72.0f, axis_h = ImGui::GetTextLineHeight() + 6.0f;
    const float x0 = p0.x + axis_w, x1 = p0.x + std::max(avail.x, axis_w + 40.0f) - 8.0f;
    const float y0 = p0.y + 4.0f, y1 = p0.y + chart_h - axis_h;
    ImGui::InvisibleButton("##usage_chart", ImVec2(std::max(avail.x, 1.0f), chart_h));
    const bool hovered = ImGui::IsItemHovered();
    ImDrawList* dl = ImGui::GetWindowDrawList();
    dl->AddRectFilled(ImVec2(x0, y0), ImVec2(x1, y1), kColorUnread);

    double x_max = std::max<double>(static_cast<double>(m.position), 1.0);
    if (!samples.empty()) x_max = std::max(x_max, static_cast<double>(samples.back().position));
    uint64_t y_top = std::max({reserved, m.plan.budget_bytes, m.plan.state_bytes, uint64_t{1}});
    for (const UsageSample& s : samples) y_top = std::max(y_top, s.total_used());
    const double y_max = static_cast<double>(y_top) * 1.12;
    auto X = [&](double v) { return x0 + static_cast<float>(v / x_max) * (x1 - x0); };
    auto Y = [&](double v) { return y1 - static_cast<float>(v / y_max) * (y1 - y0); };

    // Grid and y axis in bytes, on KiB / MiB / GiB multiples.
    double unit = 1.0;
    while (unit < 1024.0 * 1024.0 * 1024.0 && y_max / (unit * 1024.0) >= 2.0) unit *= 1024.0;
    const double ystep = unit * nice_step(y_max / unit, std::max(3, static_cast<int>((y1 - y0) / 28.0f)));
    for (double v = 0; v <= y_max; v += ystep) {
        dl->AddLine(ImVec2(x0, Y(v)), ImVec2(x1, Y(v)), IM_COL32(50, 52, 62, 255));
        const std::string label = format_bytes(static_cast<uint64_t>(v));
        dl->AddText(ImVec2(p0.x + 2, Y(v) - ImGui::GetTextLineHeight() * 0.5f), kColorDim, label.c_str());
    }
    const double xstep = nice_step(x_max, std::max(2, static_cast<int>((x1 - x0) / 90.0f)));
    for (double v = 0; v <= x_max; v += xstep) {
        dl->AddLine(ImVec2(X(v), y1), ImVec2(X(v), y1 + 4), kColorDim);
        const std::string label = format_count(v);
        const float lw = ImGui::CalcTextSize(label.c_str()).x;
        dl->AddText(ImVec2(std::clamp(X(v) - lw * 0.5f, x0, x1 - lw), y1 + 4), kColorDim, label.c_str());
    }
    // Stacked areas, one band per layer, in layer order; without anti-aliased edges,
    // which would show every sample boundary as a seam.
    const ImDrawListFlags saved_flags = dl->Flags;
    dl->Flags &= ~ImDrawListFlags_AntiAliasedFill;
    if (!samples.empty()) {
        const size_t n_layers = m.layers.size();
        std::vector<double> below_prev(samples.size(), 0.0), below(samples.size(), 0.0);
        for (size_t l = 0; l < n_layers; ++l) {
            const ImU32 c = mixer_color(m.layers[l].mixer, static_cast<int>(l));
            for (size_t i = 0; i < samples.size(); ++i)
                below[i] = below_prev[i] + static_cast<double>(l < samples[i].layer_bytes_used.size() ? samples[i].layer_bytes_used[l] : 0);
            for (size_t i = 0; i < samples.size(); ++i) {
                const double xa = static_cast<double>(samples[i].position);
                const double xb = i + 1 < samples.size() ? static_cast<double>(samples[i + 1].position) : xa;
                const double top_b = i + 1 < samples.size() ? below[i + 1] : below[i];
                const double bot_b = i + 1 < samples.size() ? below_prev[i + 1] : below_prev[i];
                if (below[i] == below_prev[i] && top_b == bot_b) continue;
                ImVec2 quad[4] = {ImVec2(X(xa), Y(below_prev[i])), ImVec2(X(xa), Y(below[i])), ImVec2(std::max(X(xb), X(xa) + 1.0f), Y(top_b)),
                                  ImVec2(std::max(X(xb), X(xa) + 1.0f), Y(bot_b))};
                dl->AddConvexPolyFilled(quad, 4, c);
            }
            below_prev.swap(below);
        }
    }
    dl->Flags = saved_flags;
    // Planned state and budget lines.
    const float yr = Y(static_cast<double>(reserved));
    for (float x = x0; x < x1; x += 10.0f) dl->AddLine(ImVec2(x, yr), ImVec2(std::min(x + 6.0f, x1), yr), IM_COL32(235, 235, 245, 220), 1.5f);
    dl->AddText(ImVec2(x0 + 6, yr - ImGui::GetTextLineHeight() - 1), IM_COL32(235, 235, 245, 220), "planned state");
    if (m.plan.budget_bytes > 0) {
        const float yb = Y(static_cast<double>(m.plan.budget_bytes));
        dl->AddLine(ImVec2(x0, yb), ImVec2(x1, yb), kColorBudget, 1.5f);
        dl->AddText(ImVec2(x1 - 60, yb - ImGui::GetTextLineHeight() - 1), kColorBudget, "budget");
    }
    dl->AddRect(ImVec2(x0, y0), ImVec2(x1, y1), IM_COL32(70, 72, 86, 255));
    if (hovered && !samples.empty()) {
        const double xv = static_cast<double>((ImGui::GetIO().MousePos.x - x0) / (x1 - x0)) * x_max;
        auto it = std::lower_bound(samples.begin(), samples.end(), xv, [](const UsageSample& s, double v) { return static_cast<double>(s.position) < v; });
        if (it == samples.end()) --it;
        dl->AddLine(ImVec2(X(static_cast<double>(it->position)), y0), ImVec2(X(static_cast<double>(it->position)), y1), IM_COL32(255, 255, 255, 120));
        ImGui::BeginTooltip();
        ImGui::Text("position %" PRId64 ": %s", it->position, format_bytes(it->total_used()).c_str());
        for (size_t l = 0; l < it->layer_bytes_used.size() && l < m.layers.size(); ++l)
            ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(mixer_color(m.layers[l].mixer, static_cast<int>(l))), "layer %zu %s: %s", l,
                               m.layers[l].mixer.c_str(), format_bytes(it->layer_bytes_used[l]).c_str());
        ImGui::EndTooltip();
    }

    // Per-layer table: used against planned.
    if (ImGui::BeginTable("##layers", 4, ImGuiTableFlags_RowBg | ImGuiTableFlags_ScrollY | ImGuiTableFlags_SizingFixedFit, ImVec2(0, 0))) {
        ImGui::TableSetupScrollFreeze(0, 1);
        ImGui::TableSetupColumn("layer");
        ImGui::TableSetupColumn("used");
        ImGui::TableSetupColumn("planned");
        ImGui::TableSetupColumn("fill", ImGuiTableColumnFlags_WidthStretch);
        ImGui::TableHeadersRow();
        for (size_t l = 0; l < m.layers.size(); ++l) {
            const LayerSnapshot& ls = m.layers[l];
            ImGui::TableNextRow();
            ImGui::TableNextColumn();
            const ImVec2 p = ImGui::GetCursorScreenPos();
            const float h = ImGui::GetTextLineHeight();
            ImGui::GetWindowDrawList()->AddRectFilled(ImVec2(p.x, p.y + 3), ImVec2(p.x + h - 6, p.y + h - 3), mixer_color(ls.mixer, static_cast<int>(l)));
            ImGui::Dummy(ImVec2(h - 4, h));
            ImGui::SameLine();
            ImGui::Text("%zu %s", l, ls.mixer.c_str());
            ImGui::TableNextColumn();
            ImGui::TextUnformatted(format_bytes(ls.state_bytes_used).c_str());
            ImGui::TableNextColumn();
            ImGui::TextUnformatted(format_bytes(ls.state_bytes_reserved).c_str());
            ImGui::TableNextColumn();
            const float frac = ls.state_bytes_reserved > 0
                                   ? static_cast<float>(static_cast<double>(ls.state_bytes_used) / static_cast<double>(ls.state_bytes_reserved))
                                   : 0.0f;
            ImGui::PushStyleColor(ImGuiCol_PlotHistogram, ImGui::ColorConvertU32ToFloat4(mixer_color(ls.mixer, static_cast<int>(l))));
            char overlay[32];
            std::snprintf(overlay, sizeof overlay, "%.0f%%", static_cast<double>(frac) * 100.0);
            ImGui::ProgressBar(std::clamp(frac, 0.0f, 1.0f), ImVec2(-1, h), overlay);
            ImGui::PopStyleColor();
        }
        ImGui::EndTable();
    }
}

// ------------------------------------------------------------------ eviction log

void draw_eviction_log(const StudioModel& m, ViewState& vs) {
    const EvictionLog& log = m.evictions;
    EvictionFilter& f = vs.evictions;
    ImGui::Text("%llu evictions", static_cast<unsigned long long>(log.total()));
    ImGui::SameLine();
    ImGui::TextDisabled("(last %zu kept)", log.size());
    for (int r = 0; r < kEvictionReasonCount; ++r) {
        const EvictionReason reason = static_cast<EvictionReason>(r);
        if (log.total_for(reason) == 0 && r >= static_cast<int>(EvictionReason::Window)) continue;
        ImGui::SameLine();
        char label[64];
        std::snprintf(label, sizeof label, "%s %llu##reason%d", eviction_reason_name(reason), static_cast<unsigned long long>(log.total_for(reason)), r);
        ImGui::PushStyleColor(ImGuiCol_CheckMark, ImGui::ColorConvertU32ToFloat4(reason_color(reason)));
        ImGui::PushStyleColor(ImGuiCol_Text, ImGui::ColorConvertU32ToFloat4(reason_color(reason)));
        ImGui::Checkbox(label, &f.reasons[r]);
        ImGui::PopStyleColor(2);
    }
    // Filters.
    char preview[32];
    std::snprintf(preview, sizeof preview, f.layer < 0 ? "all layers" : "layer %d", f.layer);
    ImGui::SetNextItemWidth(120);
    if (ImGui::BeginCombo("##ev_layer", preview)) {
        if (ImGui::Selectable("all layers", f.layer < 0)) f.layer = -1;
        for (size_t l = 0; l < m.layers.size(); ++l) {
            if (!m.layers[l].holds_tokens()) continue;
            char label[48];
            std::snprintf(label, sizeof label, "layer %zu (%s)", l, m.layers[l].mixer.c_str());
            if (ImGui::Selectable(label, f.layer == static_cast<int>(l))) f.layer = static_cast<int>(l);
        }
        ImGui::EndCombo();
    }
    ImGui::SameLine();
    int max_heads = 0;
    for (const LayerSnapshot& l : m.layers) max_heads = std::max(max_heads, l.n_kv_heads);
    std::snprintf(preview, sizeof preview, f.kv_head < 0 ? "all heads" : "KV head %d", f.kv_head);
    ImGui::SetNextItemWidth(110);
    if (ImGui::BeginCombo("##ev_head", preview)) {
        if (ImGui::Selectable("all heads", f.kv_head < 0)) f.kv_head = -1;
        for (int h = 0; h < max_heads; ++h) {
            char label[32];
            std::snprintf(label, sizeof label, "KV head %d", h);
            if (ImGui::Selectable(label, f.kv_head == h)) f.kv_head = h;
        }
        ImGui::EndCombo();
    }
    ImGui::SameLine();
    ImGui::SetNextItemWidth(130);
    ImGui::SliderFloat("|score| ≥", &f.min_abs_score, 0.0f, 0.5f, "%.3f");
    ImGui::SameLine();
    ImGui::SetNextItemWidth(std::max(80.0f, ImGui::GetContentRegionAvail().x));
    ImGui::InputTextWithHint("##ev_text", "token contains…", f.token_contains, sizeof f.token_contains);

    // Matching events, newest first.
    std::vector<size_t> rows;
    rows.reserve(log.size());
    const std::string_view needle(f.token_contains);
    for (size_t i = log.size(); i-- > 0;) {
        const EvictionRecord& e = log.at(i);
        if (!f.reasons[static_cast<int>(e.reason)]) continue;
        if (f.layer >= 0 && e.layer != f.layer) continue;
        if (f.kv_head >= 0 && e.kv_head != f.kv_head) continue;
        if (std::fabs(e.score) < f.min_abs_score) continue;
        if (!needle.empty() && m.document.token_text(e.position).find(needle) == std::string_view::npos) continue;
        rows.push_back(i);
    }
    const ImGuiTableFlags flags = ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerV | ImGuiTableFlags_ScrollY |
                                  ImGuiTableFlags_SizingFixedFit;
    if (ImGui::BeginTable("##evictions", 7, flags, ImVec2(0, 0))) {
        ImGui::TableSetupScrollFreeze(0, 1);
        ImGui::TableSetupColumn("#");
        ImGui::TableSetupColumn("position");
        ImGui::TableSetupColumn("layer");
        ImGui::TableSetupColumn("head");
        ImGui::TableSetupColumn("score");
        ImGui::TableSetupColumn("reason");
        ImGui::TableSetupColumn("token", ImGuiTableColumnFlags_WidthStretch);
        ImGui::TableHeadersRow();
        ImGuiListClipper clipper;
        clipper.Begin(static_cast<int>(rows.size()));
        while (clipper.Step()) {
            for (int i = clipper.DisplayStart; i < clipper.DisplayEnd; ++i) {
                const EvictionRecord& e = log.at(rows[static_cast<size_t>(i)]);
                ImGui::TableNextRow();
                ImGui::TableNextColumn();
                char label[48];
                std::snprintf(label, sizeof label, "%llu##ev%d", static_cast<unsigned long long>(e.sequence), i);
                if (ImGui::Selectable(label, e.position == vs.focus_position, ImGuiSelectableFlags_SpanAllColumns)) {
                    vs.layer = e.layer;
                    vs.kv_head = e.kv_head;
                    focus_on(vs, e.position, true, true);
                }
                ImGui::TableNextColumn();
                ImGui::Text("%" PRId64, e.position);
                ImGui::TableNextColumn();
                ImGui::Text("%d", e.layer);
                ImGui::TableNextColumn();
                ImGui::Text("%d", e.kv_head);
                ImGui::TableNextColumn();
                ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(score_color(e.score, 0.25f)), "%+.4f", static_cast<double>(e.score));
                ImGui::TableNextColumn();
                ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(reason_color(e.reason)), "%s", eviction_reason_name(e.reason));
                ImGui::TableNextColumn();
                if (vs.mono_font != nullptr) ImGui::PushFont(vs.mono_font);
                context_line(m.document, e.position, 14);
                if (vs.mono_font != nullptr) ImGui::PopFont();
            }
        }
        ImGui::EndTable();
    }
}

// ------------------------------------------------------------------ ask

bool draw_ask_box(AskState& ask) {
    bool submitted = false;
    ImGui::BeginDisabled(!ask.enabled || ask.busy);
    const float button_w = 70.0f;
    ImGui::SetNextItemWidth(std::max(ImGui::GetContentRegionAvail().x - button_w - 8.0f, 60.0f));
    if (ImGui::InputTextWithHint("##ask_prompt", "Ask a question about what has been read so far…", ask.prompt, sizeof ask.prompt,
                                 ImGuiInputTextFlags_EnterReturnsTrue))
        submitted = ask.prompt[0] != '\0';
    ImGui::SameLine();
    if (ImGui::Button("Ask", ImVec2(button_w, 0)) && ask.prompt[0] != '\0') submitted = true;
    ImGui::EndDisabled();
    if (!ask.question.empty()) {
        ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(kColorQuestion), "Q:");
        ImGui::SameLine();
        ImGui::TextWrapped("%s", ask.question.c_str());
        ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(kColorAnswer), "A:");
        ImGui::SameLine();
        const std::string answer = printable_run(ask.answer, 4000) + (ask.busy ? "\xE2\x96\x8C" : "");  // ▌ while streaming
        ImGui::TextWrapped("%s", answer.c_str());
    } else {
        ImGui::TextDisabled("The question and the answer join the stream at the current position (green and cyan in the document).");
    }
    return submitted;
}

// ------------------------------------------------------------------ layout

bool draw_views(const StudioModel& m, ViewState& vs, AskState* ask, ViewId which, ImVec2 origin, ImVec2 size) {
    const ImGuiWindowFlags flags = ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize | ImGuiWindowFlags_NoCollapse |
                                   ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoBringToFrontOnFocus;
    bool submitted = false;
    auto panel = [&](const char* title, ImVec2 pos, ImVec2 sz, const std::function<void()>& body) {
        ImGui::SetNextWindowPos(pos);
        ImGui::SetNextWindowSize(sz);
        if (ImGui::Begin(title, nullptr, flags)) body();
        ImGui::End();
    };
    const int layer = resolve_layer(m, vs);
    char retention_title[128], window_title[128];
    std::snprintf(retention_title, sizeof retention_title, "Retention map — layer %d (%s), %d KV heads × %" PRId64 " positions###retention", layer,
                  layer >= 0 ? m.layers[static_cast<size_t>(layer)].mixer.c_str() : "-",
                  layer >= 0 ? m.layers[static_cast<size_t>(layer)].n_kv_heads : 0, m.document.token_count());
    std::snprintf(window_title, sizeof window_title, "Window and retained buffer — layer %d, KV head %d###window", layer, vs.kv_head);
    const auto retention = [&] { draw_retention_map(m, vs); };
    const auto window = [&] { draw_window_contents(m, vs); };
    const auto document = [&] { draw_document(m, vs); };
    const auto state = [&] { draw_state_usage(m, vs); };
    const auto evictions = [&] { draw_eviction_log(m, vs); };
    const auto ask_body = [&] {
        if (ask != nullptr) submitted = draw_ask_box(*ask) || submitted;
    };
    switch (which) {
        case ViewId::Retention: panel(retention_title, origin, size, retention); break;
        case ViewId::Window: panel(window_title, origin, size, window); break;
        case ViewId::Document: panel("Document###document", origin, size, document); break;
        case ViewId::State: panel("State usage###state", origin, size, state); break;
        case ViewId::Evictions: panel("Eviction log###evictions", origin, size, evictions); break;
        case ViewId::Ask: panel("Ask###ask", origin, size, ask_body); break;
        case ViewId::All: {
            const float w = size.x, h = size.y;
            const float top_h = std::floor(h * 0.36f), mid_h = std::floor(h * 0.34f), bot_h = h - top_h - mid_h;
            const float left_w = std::floor(w * 0.44f);
            const float ask_h = ask != nullptr ? std::min(150.0f, mid_h * 0.45f) : 0.0f;
            panel(retention_title, origin, ImVec2(w, top_h), retention);
            panel(window_title, ImVec2(origin.x, origin.y + top_h), ImVec2(left_w, mid_h), window);
            panel("Document###document", ImVec2(origin.x + left_w, origin.y + top_h), ImVec2(w - left_w, mid_h - ask_h), document);
            if (ask != nullptr) panel("Ask###ask", ImVec2(origin.x + left_w, origin.y + top_h + mid_h - ask_h), ImVec2(w - left_w, ask_h), ask_body);
            panel("State usage###state", ImVec2(origin.x, origin.y + top_h + mid_h), ImVec2(left_w, bot_h), state);
            panel("Eviction log###evictions", ImVec2(origin.x + left_w, origin.y + top_h + mid_h), ImVec2(w - left_w, bot_h), evictions);
            break;
        }
    }
    return submitted;
}

}  // namespace mnemo::viz
