#include "studio_ui.h"

#include "theme.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace mnemo::studio {
namespace {

namespace fs = std::filesystem;

void copy_path(char* dst, size_t cap, const std::string& src) {
    std::snprintf(dst, cap, "%s", src.c_str());
}

bool is_model_file(const fs::path& p) { return p.extension() == ".gguf"; }
bool is_document_file(const fs::path& p) {
    const std::string e = p.extension().string();
    return e == ".txt" || e == ".md" || e == ".markdown" || e == ".text" || e.empty();
}

void recent_menu(const char* id, const std::vector<std::string>* recent, StudioSession& session, StudioUi& ui, bool model) {
    if (ImGui::Button(id)) ImGui::OpenPopup(id);
    if (ImGui::BeginPopup(id)) {
        if (recent == nullptr || recent->empty()) ImGui::TextDisabled("(nothing recent)");
        else
            for (const std::string& path : *recent)
                if (ImGui::Selectable(path.c_str())) {
                    if (model) open_model(session, ui, path);
                    else open_document(session, ui, path);
                }
        ImGui::EndPopup();
    }
}

void file_browser(StudioSession& session, StudioUi& ui) {
    FileBrowser& b = ui.browser;
    if (b.open) {
        ImGui::OpenPopup("Open file");
        b.open = false;
    }
    ImGui::SetNextWindowSize(ImVec2(640, 460), ImGuiCond_Appearing);
    if (!ImGui::BeginPopupModal("Open file", nullptr)) return;
    std::error_code ec;
    if (b.directory.empty()) b.directory = fs::current_path(ec).string();
    ImGui::Text("%s %s", b.for_model ? "Model (.gguf) in" : "Document (.txt, .md) in", b.directory.c_str());
    ImGui::SetNextItemWidth(200);
    ImGui::InputTextWithHint("##filter", "filter…", b.filter, sizeof b.filter);
    ImGui::SameLine();
    if (ImGui::Button("Up")) b.directory = fs::path(b.directory).parent_path().string();
    ImGui::SameLine();
    if (ImGui::Button("Cancel")) ImGui::CloseCurrentPopup();
    ImGui::BeginChild("##entries", ImVec2(0, 0), true);
    std::vector<fs::directory_entry> entries;
    for (fs::directory_iterator it(b.directory, fs::directory_options::skip_permission_denied, ec), end; !ec && it != end; it.increment(ec))
        entries.push_back(*it);
    std::sort(entries.begin(), entries.end(), [](const fs::directory_entry& x, const fs::directory_entry& y) {
        std::error_code e1, e2;
        const bool dx = x.is_directory(e1), dy = y.is_directory(e2);
        return dx != dy ? dx : x.path().filename() < y.path().filename();
    });
    std::string chosen_dir, chosen_file;
    for (const fs::directory_entry& e : entries) {
        const std::string name = e.path().filename().string();
        if (!name.empty() && name[0] == '.') continue;
        if (b.filter[0] != '\0' && name.find(b.filter) == std::string::npos) continue;
        std::error_code e1;
        if (e.is_directory(e1)) {
            if (ImGui::Selectable((name + "/").c_str())) chosen_dir = e.path().string();
        } else if (b.for_model ? is_model_file(e.path()) : is_document_file(e.path())) {
            if (ImGui::Selectable(name.c_str())) chosen_file = e.path().string();
        }
    }
    ImGui::EndChild();
    if (!chosen_dir.empty()) b.directory = chosen_dir;
    if (!chosen_file.empty()) {
        if (b.for_model) open_model(session, ui, chosen_file);
        else open_document(session, ui, chosen_file);
        ImGui::CloseCurrentPopup();
    }
    ImGui::EndPopup();
}

const char* backend_label(mnemo_backend b) {
    switch (b) {
        case MNEMO_BACKEND_CPU: return "CPU";
        case MNEMO_BACKEND_CUDA: return "CUDA";
        case MNEMO_BACKEND_AUTO: break;
    }
    return "Auto";
}

void session_popup(StudioSession& session, StudioUi& ui) {
    if (!ImGui::BeginPopup("Session options")) return;
    SessionOptions& o = ui.pending;
    ImGui::TextDisabled("Applying recreates the session and reads from the start.");
    ImGui::SetNextItemWidth(120);
    ImGui::InputInt("threads (0: all cores)", &o.n_threads);
    o.n_threads = std::clamp(o.n_threads, 0, 1024);
    double budget_mib = static_cast<double>(o.budget_bytes) / (1024.0 * 1024.0);
    ImGui::SetNextItemWidth(120);
    if (ImGui::InputDouble("budget MiB (0: none)", &budget_mib, 0, 0, "%.2f"))
        o.budget_bytes = static_cast<uint64_t>(std::max(budget_mib, 0.0) * 1024.0 * 1024.0);
    int64_t max_context = o.max_context;
    ImGui::SetNextItemWidth(120);
    if (ImGui::InputScalar("max context (0: auto)", ImGuiDataType_S64, &max_context)) o.max_context = std::max<int64_t>(max_context, 0);
    const char* policies[] = {"none", "StreamingLLM", "H2O", "TOVA", "SnapKV"};
    int policy = static_cast<int>(o.policy);
    ImGui::SetNextItemWidth(160);
    if (ImGui::Combo("eviction policy (attn/swa/nsa)", &policy, policies, 5)) o.policy = static_cast<mnemo_policy>(policy);
    ImGui::BeginDisabled(o.policy == MNEMO_POLICY_NONE);
    ImGui::SetNextItemWidth(120);
    ImGui::InputInt("policy budget (tokens)", &o.policy_budget);
    ImGui::SetNextItemWidth(120);
    ImGui::InputInt("policy sink (tokens)", &o.policy_sink);
    ImGui::EndDisabled();
    o.policy_budget = std::max(o.policy_budget, 1);
    o.policy_sink = std::max(o.policy_sink, 0);
    if (ImGui::Button("Apply")) {
        SessionOptions next = o;
        next.backend = session.options().backend;
        session.apply_options(next);
        ImGui::CloseCurrentPopup();
    }
    ImGui::EndPopup();
}

void help_window(StudioUi& ui) {
    if (!ui.show_help) return;
    ImGui::SetNextWindowPos(ImVec2(ImGui::GetIO().DisplaySize.x * 0.5f, 140), ImGuiCond_Appearing, ImVec2(0.5f, 0));
    if (ImGui::Begin("Shortcuts", &ui.show_help, ImGuiWindowFlags_AlwaysAutoResize | ImGuiWindowFlags_NoSavedSettings)) {
        ImGui::TextUnformatted("Space        run / pause the stream");
        ImGui::TextUnformatted("Right        step one token");
        ImGui::TextUnformatted("Shift+Right  step 64 tokens");
        ImGui::TextUnformatted("Home / End   back to the start / read to the end");
        ImGui::TextUnformatted("F1           this help");
        ImGui::Separator();
        ImGui::TextUnformatted("Retention map: wheel zooms, drag pans, double-click fits, click jumps the document.");
        ImGui::TextUnformatted("Drop a .gguf on the window to open a model, any other file to open it as the document.");
    }
    ImGui::End();
}

}  // namespace

bool open_model(StudioSession& session, StudioUi& ui, const std::string& path) {
    copy_path(ui.model_path, sizeof ui.model_path, path);
    if (!session.open_model(path)) return false;
    if (ui.settings != nullptr) ui.settings->remember_model(path);
    ui.views.map_range = viz::ViewState::MapRange::ReadSoFar;
    ui.views.follow = true;
    ui.views.focus_position = -1;
    return true;
}

bool open_document(StudioSession& session, StudioUi& ui, const std::string& path) {
    copy_path(ui.document_path, sizeof ui.document_path, path);
    if (!session.open_document(path)) return false;
    if (ui.settings != nullptr) ui.settings->remember_document(path);
    ui.views.map_range = viz::ViewState::MapRange::ReadSoFar;
    ui.views.follow = true;
    ui.views.focus_position = -1;
    return true;
}

void open_dropped_file(StudioSession& session, StudioUi& ui, const std::string& path) {
    if (is_model_file(path)) open_model(session, ui, path);
    else open_document(session, ui, path);
}

void handle_shortcuts(StudioSession& session, StudioUi& ui) {
    const ImGuiIO& io = ImGui::GetIO();
    if (io.WantTextInput) return;
    if (ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Space), false)) session.toggle_running();
    if (ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_RightArrow), true)) session.step(io.KeyShift ? 64 : ui.step_tokens);
    if (ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Home), false)) session.seek(0);
    if (ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_End), false)) session.seek(session.stream_length());
    if (ui.help_key >= 0 && ImGui::IsKeyPressed(ui.help_key, false)) ui.show_help = !ui.show_help;
}

void draw_studio(StudioSession& session, StudioUi& ui, ImVec2 display_size) {
    const viz::StudioModel& data = session.data();
    const float line = ImGui::GetFrameHeightWithSpacing();
    const float toolbar_h = std::floor(line * 3.0f + ImGui::GetStyle().WindowPadding.y * 2.0f + 4.0f);
    ImGui::SetNextWindowPos(ImVec2(0, 0));
    ImGui::SetNextWindowSize(ImVec2(display_size.x, toolbar_h));
    const ImGuiWindowFlags flags = ImGuiWindowFlags_NoTitleBar | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize |
                                   ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoScrollbar | ImGuiWindowFlags_NoBringToFrontOnFocus;
    ImGui::Begin("Mnemo Studio", nullptr, flags);

    // Row 1: model and document.
    const float field_w = std::max(160.0f, display_size.x * 0.22f);
    ImGui::TextUnformatted("Model");
    ImGui::SameLine();
    ImGui::SetNextItemWidth(field_w);
    if (ImGui::InputTextWithHint("##model", "path/to/model.gguf", ui.model_path, sizeof ui.model_path, ImGuiInputTextFlags_EnterReturnsTrue))
        open_model(session, ui, ui.model_path);
    ImGui::SameLine();
    if (ImGui::Button("Open##model")) open_model(session, ui, ui.model_path);
    ImGui::SameLine();
    if (ImGui::Button("Browse…##model")) {
        ui.browser.open = true;
        ui.browser.for_model = true;
    }
    ImGui::SameLine();
    recent_menu("Recent##models", ui.settings != nullptr ? &ui.settings->recent_models : nullptr, session, ui, true);
    ImGui::SameLine(0, 24);
    ImGui::TextUnformatted("Document");
    ImGui::SameLine();
    ImGui::SetNextItemWidth(field_w);
    if (ImGui::InputTextWithHint("##doc", "path/to/document.txt (or drop a file)", ui.document_path, sizeof ui.document_path,
                                 ImGuiInputTextFlags_EnterReturnsTrue))
        open_document(session, ui, ui.document_path);
    ImGui::SameLine();
    if (ImGui::Button("Open##doc")) open_document(session, ui, ui.document_path);
    ImGui::SameLine();
    if (ImGui::Button("Browse…##doc")) {
        ui.browser.open = true;
        ui.browser.for_model = false;
    }
    ImGui::SameLine();
    recent_menu("Recent##docs", ui.settings != nullptr ? &ui.settings->recent_documents : nullptr, session, ui, false);
    ImGui::SameLine(0, 24);
    if (ImGui::Button("?")) ui.show_help = !ui.show_help;

    // Row 2: stream controls, scrubber, backend, view.
    ImGui::BeginDisabled(!session.ready() || session.answering());
    if (ImGui::Button(session.running() ? "Pause" : "\xE2\x96\xB6 Run", ImVec2(70, 0))) session.toggle_running();
    ImGui::SameLine();
    if (ImGui::Button("Step")) session.step(ui.step_tokens);
    ImGui::SameLine();
    ImGui::SetNextItemWidth(60);
    ImGui::InputInt("##step", &ui.step_tokens, 0, 0);
    ui.step_tokens = std::clamp(ui.step_tokens, 1, 1 << 20);
    ImGui::SameLine();
    float speed = static_cast<float>(session.speed());
    bool max_speed = speed <= 0.0f;
    ImGui::SetNextItemWidth(150);
    ImGui::BeginDisabled(max_speed);
    if (ImGui::SliderFloat("##speed", &speed, 1.0f, 20000.0f, max_speed ? "max tokens/s" : "%.0f tokens/s", ImGuiSliderFlags_Logarithmic))
        session.set_speed(speed);
    ImGui::EndDisabled();
    ImGui::SameLine();
    if (ImGui::Checkbox("max", &max_speed)) session.set_speed(max_speed ? 0.0 : 200.0);
    ImGui::SameLine();
    const int64_t total = std::max<int64_t>(session.stream_length(), 1);
    if (!ui.scrubbing) ui.scrub_position = session.seeking() ? session.seek_target() : data.position;
    const int64_t zero = 0;
    ImGui::SetNextItemWidth(std::max(120.0f, ImGui::GetContentRegionAvail().x - 420.0f));
    char scrub_fmt[64];
    std::snprintf(scrub_fmt, sizeof scrub_fmt, "position %%lld / %lld", static_cast<long long>(session.stream_length()));
    ImGui::SliderScalar("##scrub", ImGuiDataType_S64, &ui.scrub_position, &zero, &total, scrub_fmt);
    ui.scrubbing = ImGui::IsItemActive();
    if (ImGui::IsItemDeactivatedAfterEdit()) session.seek(ui.scrub_position);
    ImGui::EndDisabled();
    ImGui::SameLine();
    ImGui::TextUnformatted("Backend");
    ImGui::SameLine();
    ImGui::SetNextItemWidth(80);
    const mnemo_backend current = session.options().backend;
    if (ImGui::BeginCombo("##backend", backend_label(current))) {
        for (mnemo_backend b : {MNEMO_BACKEND_AUTO, MNEMO_BACKEND_CPU, MNEMO_BACKEND_CUDA})
            if (ImGui::Selectable(backend_label(b), b == current) && b != current) {
                SessionOptions next = session.options();
                next.backend = b;
                session.apply_options(next);
                if (ui.settings != nullptr && session.options().backend == b) ui.settings->backend = static_cast<int>(b);
            }
        ImGui::EndCombo();
    }
    ImGui::SameLine();
    if (ImGui::Button("Session…")) {
        ui.pending = session.options();
        ImGui::OpenPopup("Session options");
    }
    session_popup(session, ui);
    ImGui::SameLine();
    ImGui::TextUnformatted("View");
    ImGui::SameLine();
    ImGui::SetNextItemWidth(110);
    if (ImGui::BeginCombo("##layout", viz::view_id_name(ui.layout))) {
        for (viz::ViewId v : {viz::ViewId::All, viz::ViewId::Retention, viz::ViewId::Window, viz::ViewId::Document, viz::ViewId::State,
                              viz::ViewId::Evictions, viz::ViewId::Ask})
            if (ImGui::Selectable(viz::view_id_name(v), v == ui.layout)) ui.layout = v;
        ImGui::EndCombo();
    }

    // Row 3: status.
    if (session.has_model()) {
        ImGui::Text("%s", data.model.name.empty() ? "model" : data.model.name.c_str());
        ImGui::SameLine();
        ImGui::TextDisabled("%d layers · %.2fM params · state %s (%s) · session %s · %.0f tok/s · %.1f ms/frame · %s",
                            data.model.n_layers, static_cast<double>(data.model.n_params) / 1e6,
                            viz::format_bytes(data.plan.state_bytes).c_str(), data.plan.bounded ? "bounded" : "grows",
                            viz::format_bytes(data.plan.total_bytes).c_str(), session.tokens_per_second(), ui.frame_ms,
                            ui.device_name.c_str());
    } else {
        ImGui::TextDisabled("Open a GGUF model and a document (path fields, Browse…, or drop files on the window). F1: shortcuts.");
    }
    if (!session.session_note().empty()) {
        ImGui::SameLine();
        ImGui::TextColored(ImVec4(0.9f, 0.8f, 0.4f, 1.0f), "%s", session.session_note().c_str());
    }
    if (!session.error().empty()) {
        ImGui::SameLine();
        ImGui::TextColored(ImVec4(1.0f, 0.45f, 0.4f, 1.0f), "%s", session.error().c_str());
        ImGui::SameLine();
        if (ImGui::SmallButton("dismiss")) session.clear_error();
    }
    file_browser(session, ui);
    ImGui::End();

    const bool asked = viz::draw_views(data, ui.views, &session.ask_state(), ui.layout, ImVec2(0, toolbar_h),
                                       ImVec2(display_size.x, display_size.y - toolbar_h));
    if (asked) session.ask(session.ask_state().prompt);
    help_window(ui);
}

}  // namespace mnemo::studio
