// The studio's own controls (model and document pickers, stream controls, session
// options, status line) around the visualizer's views, and its keyboard shortcuts.
#pragma once

#include "settings.h"
#include "studio_session.h"
#include "views.h"

#include <string>
#include <vector>

namespace mnemo::studio {

struct FileBrowser {
    bool open = false;
    bool for_model = false;  // picking a model (.gguf) or a document
    std::string directory;
    char filter[64] = "";
};

struct StudioUi {
    char model_path[1024] = "";
    char document_path[1024] = "";
    viz::ViewState views;
    viz::ViewId layout = viz::ViewId::All;
    FileBrowser browser;
    Settings* settings = nullptr;  // recent files; may be null (script mode)
    SessionOptions pending;        // edited in the Session popup, applied on demand
    int64_t scrub_position = 0;
    bool scrubbing = false;
    int step_tokens = 1;
    bool show_help = false;
    int help_key = -1;             // the platform's key index for F1 (ImGui 1.86 names no function keys)
    std::string device_name;       // the Vulkan device (or "software")
    double frame_ms = 0.0;
};

// Draws the whole studio for one frame filling `display_size`.
void draw_studio(StudioSession& session, StudioUi& ui, ImVec2 display_size);
// Space: run/pause · →: step · Shift+→: step 64 · Home: back to the start · F1: help.
void handle_shortcuts(StudioSession& session, StudioUi& ui);
// Opens a file dropped on the window: .gguf as the model, anything else as the document.
void open_dropped_file(StudioSession& session, StudioUi& ui, const std::string& path);

bool open_model(StudioSession& session, StudioUi& ui, const std::string& path);
bool open_document(StudioSession& session, StudioUi& ui, const std::string& path);

}  // namespace mnemo::studio
