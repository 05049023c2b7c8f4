// The studio's views, as Dear ImGui code over the plain data model. A view reads a
// StudioModel, keeps its own UI state in ViewState, and never calls the runtime;
// the app, the headless PNG renderer and the tests all draw through these.
#pragma once

#include "imgui_includes.h"
#include "studio_model.h"

#include <string>
#include <string_view>

namespace mnemo::viz {

enum class ViewId { Retention, Window, State, Evictions, Document, Ask, All };
bool parse_view_id(std::string_view name, ViewId* out);
const char* view_id_name(ViewId view);

struct EvictionFilter {
    int layer = -1;    // -1: every layer
    int kv_head = -1;  // -1: every head
    bool reasons[kEvictionReasonCount] = {true, true, true, true, true};
    float min_abs_score = 0.0f;
    char token_contains[64] = "";
};

// UI state of the views (selection, zoom, filters). Owned by the caller.
struct ViewState {
    int layer = -1;  // layer shown in the retention map and window view; -1: first token layer
    int kv_head = 0;
    // Retention-map range: what has been read so far (growing), the whole stream, or
    // the positions [map_begin, map_end) the user zoomed to.
    enum class MapRange { ReadSoFar, Whole, Manual };
    MapRange map_range = MapRange::ReadSoFar;
    double map_begin = 0.0;
    double map_end = 0.0;
    bool follow = true;  // keep the current position in view while streaming
    // Jumps requested by a click in one view for the others.
    int64_t focus_position = -1;
    bool document_scroll_request = false;
    bool map_center_request = false;
    EvictionFilter evictions;
    bool retained_by_score = false;  // window view: sort the retained buffer by score
    ImFont* mono_font = nullptr;     // for token text; the current font when null
};

// The Ask box's state: the app fills `answer` as tokens stream in.
struct AskState {
    char prompt[1024] = "";
    std::string question;  // the last question asked
    std::string answer;
    bool busy = false;     // an answer is streaming
    bool enabled = true;   // a session is ready
};

// Each draws into the current window, filling the space left in it.
void draw_retention_map(const StudioModel& model, ViewState& state);
void draw_window_contents(const StudioModel& model, ViewState& state);
void draw_document(const StudioModel& model, ViewState& state);
void draw_state_usage(const StudioModel& model, ViewState& state);
void draw_eviction_log(const StudioModel& model, ViewState& state);
// Returns true on the frame the user submits a question (Enter or the button).
bool draw_ask_box(AskState& ask);

// Places one view (or all of them, `ask` optional) as fixed windows filling the
// rectangle [origin, origin + size). Returns true when a question was submitted.
bool draw_views(const StudioModel& model, ViewState& state, AskState* ask, ViewId which, ImVec2 origin, ImVec2 size);

// The layer the views show: state.layer when it holds tokens, else the first that does (-1: none).
int resolve_layer(const StudioModel& model, const ViewState& state);

// A token's text made printable on one line: newline → ¶, tab → →, space → ␣ when alone.
std::string printable_token(std::string_view text);

}  // namespace mnemo::viz
