// A GLFW window presenting Dear ImGui through Vulkan (ImGui's GLFW and Vulkan
// backends, compiled from Debian's libimgui-dev), plus an offscreen render of a
// frame read back to memory for screenshots. Works on Mesa's lavapipe under Xvfb.
#pragma once

#include "image.h"

#include <memory>
#include <string>

struct GLFWwindow;
struct ImDrawData;

namespace mnemo::studio {

class VulkanWindow {
public:
    VulkanWindow();
    VulkanWindow(const VulkanWindow&) = delete;
    VulkanWindow& operator=(const VulkanWindow&) = delete;
    ~VulkanWindow();

    // Creates the window, the Vulkan device and swapchain, and initialises ImGui's
    // GLFW and Vulkan backends on the current ImGui context (fonts must be added
    // before). vsync=false prefers a non-blocking present mode.
    bool init(const char* title, int width, int height, bool vsync, std::string* error);
    void shutdown();

    GLFWwindow* window() const;
    const std::string& device_name() const;
    // Starts an ImGui frame (recreating the swapchain after a resize).
    void new_frame();
    // Renders the frame's draw data to the swapchain and presents it.
    bool render_and_present(ImDrawData* draw_data, std::string* error);
    // Renders the draw data into an offscreen image and reads it back as RGBA8.
    bool capture(ImDrawData* draw_data, viz::Image* out, std::string* error);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace mnemo::studio
