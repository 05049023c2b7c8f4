// Dear ImGui comes from Debian (libimgui-dev); its headers are included as system
// headers (see visualizer/CMakeLists.txt) so -Wshadow/-Wpedantic -Werror stay on for
// Mnemo's own code only.
#pragma once

#include <imgui.h>
