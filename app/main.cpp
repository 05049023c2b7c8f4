// mnemo-studio: stream a long document through a Mnemo model and watch, live, what
// every attention head keeps and forgets. Interactive (GLFW + Vulkan) or script
// mode (--screenshot): load, stream N tokens, render, save a PNG, exit.
#include "headless.h"
#include "settings.h"
#include "studio_session.h"
#include "studio_ui.h"
#include "theme.h"
#include "views.h"
#include "vulkan_window.h"

#define GLFW_INCLUDE_NONE
#include <GLFW/glfw3.h>
#include <imgui.h>

#include <algorithm>
#include <cfloat>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

namespace {

using namespace mnemo;
using Clock = std::chrono::steady_clock;

struct Options {
    std::string model, document, screenshot, ask, renderer = "vulkan";
    int64_t tokens = -1;  // -1: the whole document (script mode)
    viz::ViewId view = viz::ViewId::All;
    int width = 1600, height = 1000;
    double speed = -1.0;  // tokens/s; 0 = max; -1 = settings
    mnemo_backend backend = MNEMO_BACKEND_AUTO;
    bool backend_given = false;
    int layer = -1, head = 0;
    double frame_budget_ms = 12.0;
    bool vsync = true;
};

void usage(FILE* f) {
    std::fprintf(f,
                 "Usage: mnemo-studio [--model M.gguf] [--doc D.txt] [options]\n"
                 "Streams a document through a Mnemo model and shows what every attention head keeps.\n\n"
                 "  --model PATH         GGUF model to open\n"
                 "  --doc PATH           document (.txt, .md) to stream\n"
                 "  --backend B          auto | cpu | cuda (default auto)\n"
                 "  --speed T            tokens per second (0: as fast as possible)\n"
                 "  --view V             retention | window | document | state | evictions | ask | all\n"
                 "  --layer L --head H   layer and KV head the views show first\n"
                 "  --size WxH           window (and screenshot) size, default 1600x1000\n"
                 "  --no-vsync           present without waiting for the display\n\n"
                 "Script mode (exits when done):\n"
                 "  --screenshot OUT.png load, stream --tokens N (default: all), render --view, save OUT.png\n"
                 "  --tokens N           tokens to stream before the screenshot\n"
                 "  --ask QUESTION       ask after streaming; the answer is in the screenshot\n"
                 "  --renderer R         vulkan (default: GLFW + Vulkan, e.g. lavapipe under xvfb-run)\n"
                 "                       | software (no display: the visualizer's rasteriser)\n"
                 "  --frame-budget MS    feeding time per frame (default 12)\n\n"
                 "Keys: Space run/pause · Right step · Shift+Right step 64 · Home/End · F1 help\n");
}

bool parse_args(int argc, char** argv, Options* o, int* exit_code) {
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&](const char* name) -> const char* {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "mnemo-studio: %s needs a value\n", name);
                return nullptr;
            }
            return argv[++i];
        };
        const char* v = nullptr;
        if (a == "--help" || a == "-h") {
            usage(stdout);
            *exit_code = 0;
            return false;
        } else if (a == "--version") {
            std::printf("mnemo-studio %s\n", mnemo_version_string());
            *exit_code = 0;
            return false;
        } else if (a == "--no-vsync") {
            o->vsync = false;
            continue;
        }
        const bool takes_value = a == "--model" || a == "--doc" || a == "--tokens" || a == "--screenshot" || a == "--view" ||
                                 a == "--size" || a == "--renderer" || a == "--speed" || a == "--backend" || a == "--ask" ||
                                 a == "--layer" || a == "--head" || a == "--frame-budget";
        if (!takes_value) {
            std::fprintf(stderr, "mnemo-studio: unknown option %s (see --help)\n", a.c_str());
            *exit_code = 2;
            return false;
        }
        if ((v = value(a.c_str())) == nullptr) {
            *exit_code = 2;
            return false;
        }
        char* end = nullptr;
        bool ok = true;
        if (a == "--model") o->model = v;
        else if (a == "--doc") o->document = v;
        else if (a == "--screenshot") o->screenshot = v;
        else if (a == "--ask") o->ask = v;
        else if (a == "--tokens") o->tokens = std::strtoll(v, &end, 10), ok = *end == '\0' && o->tokens >= 0;
        else if (a == "--speed") o->speed = std::strtod(v, &end), ok = *end == '\0' && o->speed >= 0;
        else if (a == "--layer") o->layer = static_cast<int>(std::strtol(v, &end, 10)), ok = *end == '\0';
        else if (a == "--head") o->head = static_cast<int>(std::strtol(v, &end, 10)), ok = *end == '\0' && o->head >= 0;
        else if (a == "--frame-budget") o->frame_budget_ms = std::strtod(v, &end), ok = *end == '\0' && o->frame_budget_ms > 0;
        else if (a == "--view") ok = viz::parse_view_id(v, &o->view);
        else if (a == "--renderer") o->renderer = v, ok = o->renderer == "vulkan" || o->renderer == "software";
        else if (a == "--size") ok = std::sscanf(v, "%dx%d", &o->width, &o->height) == 2 && o->width >= 320 && o->height >= 240 &&
                                     o->width <= 8192 && o->height <= 8192;
        else if (a == "--backend") {
            o->backend_given = true;
            const std::string b = v;
            if (b == "auto") o->backend = MNEMO_BACKEND_AUTO;
            else if (b == "cpu") o->backend = MNEMO_BACKEND_CPU;
            else if (b == "cuda") o->backend = MNEMO_BACKEND_CUDA;
            else ok = false;
        }
        if (!ok) {
            std::fprintf(stderr, "mnemo-studio: bad value for %s: %s (see --help)\n", a.c_str(), v);
            *exit_code = 2;
            return false;
        }
    }
    return true;
}

std::vector<std::string> g_dropped;
void on_drop(GLFWwindow*, int count, const char** paths) {
    for (int i = 0; i < count; ++i) g_dropped.emplace_back(paths[i]);
}

struct FrameStats {
    std::vector<double> ms;
    void print(const char* label, int64_t tokens, double seconds) const {
        if (ms.empty()) return;
        std::vector<double> s = ms;
        std::sort(s.begin(), s.end());
        const double mean = std::accumulate(s.begin(), s.end(), 0.0) / static_cast<double>(s.size());
        const double p50 = s[s.size() / 2], p95 = s[std::min(s.size() - 1, s.size() * 95 / 100)], mx = s.back();
        std::printf("%s: %zu frames, mean %.2f ms (%.0f fps), p50 %.2f ms, p95 %.2f ms, max %.2f ms; %lld tokens in %.2f s (%.0f tokens/s)\n",
                    label, s.size(), mean, mean > 0 ? 1000.0 / mean : 0.0, p50, p95, mx, static_cast<long long>(tokens), seconds,
                    seconds > 0 ? static_cast<double>(tokens) / seconds : 0.0);
    }
};

// One frame of the studio's UI: the whole studio for --view all, else that view alone.
void draw_frame(studio::StudioSession& session, studio::StudioUi& ui, bool script, viz::ViewId view) {
    const ImVec2 size = ImGui::GetIO().DisplaySize;
    if (!script || view == viz::ViewId::All) {
        studio::draw_studio(session, ui, size);
    } else if (viz::draw_views(session.data(), ui.views, &session.ask_state(), view, ImVec2(0, 0), size)) {
        session.ask(session.ask_state().prompt);
    }
}

int run_script(const Options& o, studio::StudioSession& session, studio::StudioUi& ui) {
    const bool software = o.renderer == "software";
    studio::VulkanWindow window;
    ImGuiIO& io = ImGui::GetIO();
    std::string error;
    if (software) {
        io.DisplaySize = ImVec2(static_cast<float>(o.width), static_cast<float>(o.height));
        unsigned char* pixels = nullptr;
        int tw = 0, th = 0;
        io.Fonts->GetTexDataAsRGBA32(&pixels, &tw, &th);
        io.Fonts->SetTexID(reinterpret_cast<ImTextureID>(static_cast<intptr_t>(1)));
        ui.device_name = "software rasteriser";
    } else {
        if (!window.init("Mnemo Studio", o.width, o.height, false, &error)) {
            std::fprintf(stderr, "mnemo-studio: %s\n", error.c_str());
            return 1;
        }
        ui.device_name = window.device_name();
    }
    if (o.model.empty() || o.document.empty()) {
        std::fprintf(stderr, "mnemo-studio: script mode needs --model and --doc\n");
        return 2;
    }
    if (!studio::open_model(session, ui, o.model) || !studio::open_document(session, ui, o.document)) {
        std::fprintf(stderr, "mnemo-studio: %s\n", session.error().c_str());
        return 1;
    }
    ui.views.layer = o.layer;
    ui.views.kv_head = o.head;
    const int64_t target = o.tokens < 0 ? session.stream_length() : std::min(o.tokens, session.stream_length());
    if (o.speed > 0) {
        session.set_speed(o.speed);
        session.set_running(true);
    } else {
        session.seek(target);
    }

    FrameStats stats;
    auto last = Clock::now();
    const auto start = last;
    auto frame = [&](bool feed) -> bool {
        const auto t0 = Clock::now();
        const double dt = std::chrono::duration<double>(t0 - last).count();
        last = t0;
        io.DeltaTime = static_cast<float>(std::max(dt, 1e-4));
        if (feed) session.update(dt, o.frame_budget_ms);
        if (o.speed > 0 && session.data().position >= target) session.set_running(false);
        if (software) {
            ImGui::NewFrame();
        } else {
            glfwPollEvents();
            window.new_frame();
            // No hover in screenshots: Xvfb's pointer sits in the middle of the window.
            io.MousePos = ImVec2(-FLT_MAX, -FLT_MAX);
            ImGui::NewFrame();
        }
        draw_frame(session, ui, true, o.view);
        ImGui::Render();
        if (!software && !window.render_and_present(ImGui::GetDrawData(), &error)) {
            std::fprintf(stderr, "mnemo-studio: %s\n", error.c_str());
            return false;
        }
        ui.frame_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        if (feed) stats.ms.push_back(ui.frame_ms);
        return true;
    };
    while (session.seeking() || (session.running() && session.data().position < target)) {
        if (!frame(true)) return 1;
        if (!session.error().empty()) {
            std::fprintf(stderr, "mnemo-studio: %s\n", session.error().c_str());
            return 1;
        }
    }
    const double ingest_s = std::chrono::duration<double>(Clock::now() - start).count();
    stats.print("stream", session.data().position, ingest_s);
    if (!o.ask.empty()) {
        if (!session.ask(o.ask)) {
            std::fprintf(stderr, "mnemo-studio: %s\n", session.error().c_str());
            return 1;
        }
        while (session.answering())
            if (!frame(true)) return 1;
    }
    for (int i = 0; i < 3; ++i)
        if (!frame(false)) return 1;

    viz::Image image;
    const bool captured = software ? viz::rasterize_current_frame(&image, &error) : window.capture(ImGui::GetDrawData(), &image, &error);
    if (!captured || !viz::write_png(o.screenshot, image, &error)) {
        std::fprintf(stderr, "mnemo-studio: %s\n", error.c_str());
        return 1;
    }
    std::printf("mnemo-studio: wrote %s (%dx%d, view %s, %s) at position %lld of %lld\n", o.screenshot.c_str(), image.width, image.height,
                viz::view_id_name(o.view), ui.device_name.c_str(), static_cast<long long>(session.data().position),
                static_cast<long long>(session.stream_length()));
    window.shutdown();
    return 0;
}

int run_interactive(const Options& o, studio::StudioSession& session, studio::StudioUi& ui, studio::Settings& settings) {
    studio::VulkanWindow window;
    std::string error;
    if (!window.init("Mnemo Studio", o.width, o.height, o.vsync, &error)) {
        std::fprintf(stderr, "mnemo-studio: %s\n", error.c_str());
        return 1;
    }
    ui.device_name = window.device_name();
    ui.help_key = GLFW_KEY_F1;
    glfwSetDropCallback(window.window(), on_drop);
    if (!o.model.empty()) studio::open_model(session, ui, o.model);
    if (!o.document.empty()) studio::open_document(session, ui, o.document);
    ui.views.layer = o.layer;
    ui.views.kv_head = o.head;
    ui.layout = o.view;
    auto last = Clock::now();
    while (glfwWindowShouldClose(window.window()) == GLFW_FALSE) {
        const bool busy = session.running() || session.seeking() || session.answering();
        if (busy) glfwPollEvents();
        else glfwWaitEventsTimeout(0.1);
        for (const std::string& path : g_dropped) studio::open_dropped_file(session, ui, path);
        g_dropped.clear();
        const auto t0 = Clock::now();
        const double dt = std::chrono::duration<double>(t0 - last).count();
        last = t0;
        session.update(dt, o.frame_budget_ms);
        window.new_frame();
        ImGui::NewFrame();
        studio::handle_shortcuts(session, ui);
        draw_frame(session, ui, false, ui.layout);
        ImGui::Render();
        if (!window.render_and_present(ImGui::GetDrawData(), &error)) {
            std::fprintf(stderr, "mnemo-studio: %s\n", error.c_str());
            return 1;
        }
        ui.frame_ms = ui.frame_ms * 0.9 + 0.1 * std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    }
    settings.speed_tokens_per_s = session.speed();
    if (!studio::save_settings(studio::settings_path(), settings, &error)) std::fprintf(stderr, "mnemo-studio: %s\n", error.c_str());
    window.shutdown();
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    int exit_code = 0;
    if (!parse_args(argc, argv, &o, &exit_code)) return exit_code;
    if (mnemo_version() != MNEMO_VERSION) std::fprintf(stderr, "mnemo-studio: warning: libmnemo %s differs from the header\n", mnemo_version_string());

    const bool script = !o.screenshot.empty();
    studio::Settings settings = script ? studio::Settings{} : studio::load_settings(studio::settings_path());
    studio::StudioSession session;
    studio::StudioUi ui;
    ui.settings = script ? nullptr : &settings;
    studio::SessionOptions options;
    options.backend = o.backend_given ? o.backend : static_cast<mnemo_backend>(settings.backend);
    options.n_threads = settings.n_threads;
    session.apply_options(options);
    session.set_speed(o.speed >= 0 ? o.speed : settings.speed_tokens_per_s);

    IMGUI_CHECKVERSION();
    ImGui::CreateContext();
    ImGuiIO& io = ImGui::GetIO();
    io.IniFilename = nullptr;  // the layout is computed, nothing to remember
    const viz::StudioFonts fonts = viz::load_studio_fonts(15.0f);
    ui.views.mono_font = fonts.mono;
    viz::apply_studio_style();

    const int rc = script ? run_script(o, session, ui) : run_interactive(o, session, ui, settings);
    ImGui::DestroyContext();
    return rc;
}
