#include "settings.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace mnemo::studio {
namespace {

void remember(std::vector<std::string>* list, const std::string& path) {
    if (path.empty()) return;
    list->erase(std::remove(list->begin(), list->end(), path), list->end());
    list->insert(list->begin(), path);
    if (list->size() > Settings::kMaxRecent) list->resize(Settings::kMaxRecent);
}

std::string trim(const std::string& s) {
    const size_t b = s.find_first_not_of(" \t\r");
    if (b == std::string::npos) return "";
    const size_t e = s.find_last_not_of(" \t\r");
    return s.substr(b, e - b + 1);
}

}  // namespace

void Settings::remember_model(const std::string& path) { remember(&recent_models, path); }
void Settings::remember_document(const std::string& path) { remember(&recent_documents, path); }

std::string settings_path() {
    const char* xdg = std::getenv("XDG_CONFIG_HOME");
    if (xdg != nullptr && xdg[0] == '/') return std::string(xdg) + "/mnemo/studio.conf";
    const char* home = std::getenv("HOME");
    if (home != nullptr && home[0] != '\0') return std::string(home) + "/.config/mnemo/studio.conf";
    return "";
}

Settings load_settings(const std::string& path) {
    Settings s;
    if (path.empty()) return s;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        line = trim(line);
        if (line.empty() || line[0] == '#') continue;
        const size_t eq = line.find('=');
        if (eq == std::string::npos) continue;
        const std::string key = trim(line.substr(0, eq)), value = trim(line.substr(eq + 1));
        if (key == "recent_model" && s.recent_models.size() < Settings::kMaxRecent) s.recent_models.push_back(value);
        else if (key == "recent_document" && s.recent_documents.size() < Settings::kMaxRecent) s.recent_documents.push_back(value);
        else if (key == "speed_tokens_per_s") s.speed_tokens_per_s = std::clamp(std::strtod(value.c_str(), nullptr), 0.0, 1e7);
        else if (key == "backend") s.backend = std::clamp(std::atoi(value.c_str()), 0, 2);
        else if (key == "n_threads") s.n_threads = std::clamp(std::atoi(value.c_str()), 0, 1024);
    }
    return s;
}

bool save_settings(const std::string& path, const Settings& s, std::string* error) {
    if (path.empty()) {
        *error = "no settings path (set HOME or XDG_CONFIG_HOME)";
        return false;
    }
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
    if (ec) {
        *error = "cannot create " + std::filesystem::path(path).parent_path().string() + ": " + ec.message();
        return false;
    }
    std::ostringstream out;
    out << "# Mnemo Studio settings (rewritten on exit)\n";
    for (const std::string& m : s.recent_models) out << "recent_model = " << m << "\n";
    for (const std::string& d : s.recent_documents) out << "recent_document = " << d << "\n";
    out << "speed_tokens_per_s = " << s.speed_tokens_per_s << "\n";
    out << "backend = " << s.backend << "\n";
    out << "n_threads = " << s.n_threads << "\n";
    // Write beside and rename, so a crash never leaves half a file.
    const std::string tmp = path + ".tmp";
    {
        std::ofstream f(tmp, std::ios::trunc);
        f << out.str();
        if (!f) {
            *error = "cannot write " + tmp;
            return false;
        }
    }
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
        *error = "cannot replace " + path + ": " + ec.message();
        return false;
    }
    return true;
}

}  // namespace mnemo::studio
