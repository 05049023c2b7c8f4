// The studio's settings file: recent models and documents and a few preferences,
// as `key = value` lines in $XDG_CONFIG_HOME/mnemo/studio.conf (or
// ~/.config/mnemo/studio.conf).
#pragma once

#include <string>
#include <vector>

namespace mnemo::studio {

struct Settings {
    std::vector<std::string> recent_models;     // most recent first
    std::vector<std::string> recent_documents;  // most recent first
    double speed_tokens_per_s = 200.0;           // 0: as fast as the CPU goes
    int backend = 0;                            // mnemo_backend
    int n_threads = 0;

    static constexpr size_t kMaxRecent = 10;
    void remember_model(const std::string& path);
    void remember_document(const std::string& path);
};

// The settings file's path ("" when neither XDG_CONFIG_HOME nor HOME is set).
std::string settings_path();
// Missing or unreadable files give defaults; unknown keys are ignored.
Settings load_settings(const std::string& path);
// Creates the directory if needed. Returns false (and says why) on failure.
bool save_settings(const std::string& path, const Settings& settings, std::string* error);

}  // namespace mnemo::studio
