#include "vulkan_window.h"

#include "theme.h"

#define GLFW_INCLUDE_NONE
#define GLFW_INCLUDE_VULKAN
#include <GLFW/glfw3.h>
#include <imgui.h>
#include <imgui_impl_glfw.h>
#include <imgui_impl_vulkan.h>

#include <cstring>
#include <vector>

namespace mnemo::studio {
namespace {

std::string g_glfw_error;
VkResult g_imgui_vk_error = VK_SUCCESS;

void on_glfw_error(int code, const char* message) { g_glfw_error = "GLFW error " + std::to_string(code) + ": " + message; }

// ImGui's backend reports through this; remember the first failure instead of aborting.
void on_imgui_vk_result(VkResult r) {
    if (r < 0 && g_imgui_vk_error == VK_SUCCESS) g_imgui_vk_error = r;
}

std::string vk_error(const char* what, VkResult r) { return std::string(what) + " failed (VkResult " + std::to_string(static_cast<int>(r)) + ")"; }

bool find_memory_type(VkPhysicalDevice pd, uint32_t type_bits, VkMemoryPropertyFlags wanted, uint32_t* out) {
    VkPhysicalDeviceMemoryProperties props;
    vkGetPhysicalDeviceMemoryProperties(pd, &props);
    for (uint32_t i = 0; i < props.memoryTypeCount; ++i)
        if ((type_bits & (1u << i)) != 0 && (props.memoryTypes[i].propertyFlags & wanted) == wanted) {
            *out = i;
            return true;
        }
    return false;
}

}  // namespace

struct VulkanWindow::Impl {
    GLFWwindow* window = nullptr;
    VkInstance instance = VK_NULL_HANDLE;
    VkPhysicalDevice physical_device = VK_NULL_HANDLE;
    VkDevice device = VK_NULL_HANDLE;
    uint32_t queue_family = 0;
    VkQueue queue = VK_NULL_HANDLE;
    VkDescriptorPool descriptor_pool = VK_NULL_HANDLE;
    VkSurfaceKHR surface = VK_NULL_HANDLE;
    ImGui_ImplVulkanH_Window wd;
    bool swapchain_rebuild = false;
    bool glfw_backend = false;
    bool vulkan_backend = false;
    std::string device_name;
    static constexpr uint32_t kMinImageCount = 2;

    bool init(const char* title, int width, int height, bool vsync, std::string* error);
    void destroy();
    bool rebuild_swapchain_if_needed();
};

bool VulkanWindow::Impl::init(const char* title, int width, int height, bool vsync, std::string* error) {
    glfwSetErrorCallback(on_glfw_error);
    if (glfwInit() == GLFW_FALSE) {
        *error = "cannot initialise GLFW (is there a display? try xvfb-run): " + g_glfw_error;
        return false;
    }
    if (glfwVulkanSupported() == GLFW_FALSE) {
        *error = "GLFW finds no Vulkan loader or driver (install mesa-vulkan-drivers for lavapipe)";
        return false;
    }
    glfwWindowHint(GLFW_CLIENT_API, GLFW_NO_API);
    window = glfwCreateWindow(width, height, title, nullptr, nullptr);
    if (window == nullptr) {
        *error = "cannot create the window: " + g_glfw_error;
        return false;
    }

    uint32_t n_ext = 0;
    const char** ext = glfwGetRequiredInstanceExtensions(&n_ext);
    VkApplicationInfo app{};
    app.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO;
    app.pApplicationName = "mnemo-studio";
    app.apiVersion = VK_API_VERSION_1_0;
    VkInstanceCreateInfo ici{};
    ici.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO;
    ici.pApplicationInfo = &app;
    ici.enabledExtensionCount = n_ext;
    ici.ppEnabledExtensionNames = ext;
    VkResult r = vkCreateInstance(&ici, nullptr, &instance);
    if (r != VK_SUCCESS) {
        *error = vk_error("vkCreateInstance", r);
        return false;
    }

    // A real GPU when there is one, else whatever presents (lavapipe is a CPU device).
    uint32_t n_pd = 0;
    vkEnumeratePhysicalDevices(instance, &n_pd, nullptr);
    std::vector<VkPhysicalDevice> devices(n_pd);
    vkEnumeratePhysicalDevices(instance, &n_pd, devices.data());
    int best_rank = -1;
    for (VkPhysicalDevice pd : devices) {
        uint32_t n_q = 0;
        vkGetPhysicalDeviceQueueFamilyProperties(pd, &n_q, nullptr);
        std::vector<VkQueueFamilyProperties> qs(n_q);
        vkGetPhysicalDeviceQueueFamilyProperties(pd, &n_q, qs.data());
        for (uint32_t q = 0; q < n_q; ++q) {
            if ((qs[q].queueFlags & VK_QUEUE_GRAPHICS_BIT) == 0 || glfwGetPhysicalDevicePresentationSupport(instance, pd, q) == GLFW_FALSE)
                continue;
            VkPhysicalDeviceProperties props;
            vkGetPhysicalDeviceProperties(pd, &props);
            const int rank = props.deviceType == VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU     ? 3
                             : props.deviceType == VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU ? 2
                                                                                          : 1;
            if (rank > best_rank) {
                best_rank = rank;
                physical_device = pd;
                queue_family = q;
                device_name = props.deviceName;
            }
            break;
        }
    }
    if (physical_device == VK_NULL_HANDLE) {
        *error = "no Vulkan device can present to this display (" + std::to_string(n_pd) + " devices found)";
        return false;
    }

    const float priority = 1.0f;
    VkDeviceQueueCreateInfo qci{};
    qci.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO;
    qci.queueFamilyIndex = queue_family;
    qci.queueCount = 1;
    qci.pQueuePriorities = &priority;
    const char* device_ext[] = {VK_KHR_SWAPCHAIN_EXTENSION_NAME};
    VkDeviceCreateInfo dci{};
    dci.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO;
    dci.queueCreateInfoCount = 1;
    dci.pQueueCreateInfos = &qci;
    dci.enabledExtensionCount = 1;
    dci.ppEnabledExtensionNames = device_ext;
    if ((r = vkCreateDevice(physical_device, &dci, nullptr, &device)) != VK_SUCCESS) {
        *error = vk_error("vkCreateDevice", r);
        return false;
    }
    vkGetDeviceQueue(device, queue_family, 0, &queue);

    // The backend needs one combined image sampler (the font); a little headroom.
    VkDescriptorPoolSize pool_size{VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, 16};
    VkDescriptorPoolCreateInfo dpci{};
    dpci.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO;
    dpci.flags = VK_DESCRIPTOR_POOL_CREATE_FREE_DESCRIPTOR_SET_BIT;
    dpci.maxSets = 16;
    dpci.poolSizeCount = 1;
    dpci.pPoolSizes = &pool_size;
    if ((r = vkCreateDescriptorPool(device, &dpci, nullptr, &descriptor_pool)) != VK_SUCCESS) {
        *error = vk_error("vkCreateDescriptorPool", r);
        return false;
    }

    if ((r = glfwCreateWindowSurface(instance, window, nullptr, &surface)) != VK_SUCCESS) {
        *error = vk_error("glfwCreateWindowSurface", r);
        return false;
    }
    VkBool32 supported = VK_FALSE;
    vkGetPhysicalDeviceSurfaceSupportKHR(physical_device, queue_family, surface, &supported);
    if (supported != VK_TRUE) {
        *error = "the Vulkan device cannot present to the window surface";
        return false;
    }
    // UNORM formats: ImGui's colours are meant unconverted, as the software rasteriser draws them.
    const VkFormat formats[] = {VK_FORMAT_B8G8R8A8_UNORM, VK_FORMAT_R8G8B8A8_UNORM, VK_FORMAT_B8G8R8_UNORM, VK_FORMAT_R8G8B8_UNORM};
    wd.Surface = surface;
    wd.SurfaceFormat = ImGui_ImplVulkanH_SelectSurfaceFormat(physical_device, surface, formats, 4, VK_COLORSPACE_SRGB_NONLINEAR_KHR);
    const VkPresentModeKHR fast[] = {VK_PRESENT_MODE_MAILBOX_KHR, VK_PRESENT_MODE_IMMEDIATE_KHR, VK_PRESENT_MODE_FIFO_KHR};
    const VkPresentModeKHR synced[] = {VK_PRESENT_MODE_FIFO_KHR};
    wd.PresentMode = vsync ? ImGui_ImplVulkanH_SelectPresentMode(physical_device, surface, synced, 1)
                           : ImGui_ImplVulkanH_SelectPresentMode(physical_device, surface, fast, 3);
    const ImU32 bg = viz::kColorBackground;
    wd.ClearValue.color.float32[0] = static_cast<float>(bg & 0xFF) / 255.0f;
    wd.ClearValue.color.float32[1] = static_cast<float>((bg >> 8) & 0xFF) / 255.0f;
    wd.ClearValue.color.float32[2] = static_cast<float>((bg >> 16) & 0xFF) / 255.0f;
    wd.ClearValue.color.float32[3] = 1.0f;
    int fb_w = 0, fb_h = 0;
    glfwGetFramebufferSize(window, &fb_w, &fb_h);
    ImGui_ImplVulkanH_CreateOrResizeWindow(instance, physical_device, device, &wd, queue_family, nullptr, fb_w, fb_h, kMinImageCount);

    ImGui_ImplGlfw_InitForVulkan(window, true);
    glfw_backend = true;
    ImGui_ImplVulkan_InitInfo info{};
    info.Instance = instance;
    info.PhysicalDevice = physical_device;
    info.Device = device;
    info.QueueFamily = queue_family;
    info.Queue = queue;
    info.PipelineCache = VK_NULL_HANDLE;
    info.DescriptorPool = descriptor_pool;
    info.Subpass = 0;
    info.MinImageCount = kMinImageCount;
    info.ImageCount = wd.ImageCount;
    info.MSAASamples = VK_SAMPLE_COUNT_1_BIT;
    info.Allocator = nullptr;
    info.CheckVkResultFn = on_imgui_vk_result;
    if (!ImGui_ImplVulkan_Init(&info, wd.RenderPass)) {
        *error = "ImGui's Vulkan backend failed to initialise";
        return false;
    }
    vulkan_backend = true;

    // Upload the font atlas.
    ImGui_ImplVulkanH_Frame* fd = &wd.Frames[wd.FrameIndex];
    vkResetCommandPool(device, fd->CommandPool, 0);
    VkCommandBufferBeginInfo begin{};
    begin.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
    begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
    vkBeginCommandBuffer(fd->CommandBuffer, &begin);
    ImGui_ImplVulkan_CreateFontsTexture(fd->CommandBuffer);
    vkEndCommandBuffer(fd->CommandBuffer);
    VkSubmitInfo submit{};
    submit.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
    submit.commandBufferCount = 1;
    submit.pCommandBuffers = &fd->CommandBuffer;
    if ((r = vkQueueSubmit(queue, 1, &submit, VK_NULL_HANDLE)) != VK_SUCCESS) {
        *error = vk_error("uploading the font atlas", r);
        return false;
    }
    vkDeviceWaitIdle(device);
    ImGui_ImplVulkan_DestroyFontUploadObjects();
    if (g_imgui_vk_error != VK_SUCCESS) {
        *error = vk_error("ImGui's Vulkan backend", g_imgui_vk_error);
        return false;
    }
    return true;
}

void VulkanWindow::Impl::destroy() {
    if (device != VK_NULL_HANDLE) vkDeviceWaitIdle(device);
    if (vulkan_backend) ImGui_ImplVulkan_Shutdown();
    if (glfw_backend) ImGui_ImplGlfw_Shutdown();
    vulkan_backend = glfw_backend = false;
    if (device != VK_NULL_HANDLE && wd.Swapchain != VK_NULL_HANDLE) ImGui_ImplVulkanH_DestroyWindow(instance, device, &wd, nullptr);
    else if (surface != VK_NULL_HANDLE) vkDestroySurfaceKHR(instance, surface, nullptr);
    surface = VK_NULL_HANDLE;
    wd = ImGui_ImplVulkanH_Window();
    if (descriptor_pool != VK_NULL_HANDLE) vkDestroyDescriptorPool(device, descriptor_pool, nullptr);
    descriptor_pool = VK_NULL_HANDLE;
    if (device != VK_NULL_HANDLE) vkDestroyDevice(device, nullptr);
    device = VK_NULL_HANDLE;
    if (instance != VK_NULL_HANDLE) vkDestroyInstance(instance, nullptr);
    instance = VK_NULL_HANDLE;
    if (window != nullptr) glfwDestroyWindow(window);
    window = nullptr;
    glfwTerminate();
}

bool VulkanWindow::Impl::rebuild_swapchain_if_needed() {
    int w = 0, h = 0;
    glfwGetFramebufferSize(window, &w, &h);
    if (w <= 0 || h <= 0) return false;  // minimised
    if (swapchain_rebuild || w != wd.Width || h != wd.Height) {
        ImGui_ImplVulkan_SetMinImageCount(kMinImageCount);
        ImGui_ImplVulkanH_CreateOrResizeWindow(instance, physical_device, device, &wd, queue_family, nullptr, w, h, kMinImageCount);
        wd.FrameIndex = 0;
        swapchain_rebuild = false;
    }
    return true;
}

VulkanWindow::VulkanWindow() : impl_(std::make_unique<Impl>()) {}
VulkanWindow::~VulkanWindow() { shutdown(); }

bool VulkanWindow::init(const char* title, int width, int height, bool vsync, std::string* error) {
    if (!impl_->init(title, width, height, vsync, error)) {
        impl_->destroy();
        return false;
    }
    return true;
}

void VulkanWindow::shutdown() {
    if (impl_) impl_->destroy();
}

GLFWwindow* VulkanWindow::window() const { return impl_->window; }
const std::string& VulkanWindow::device_name() const { return impl_->device_name; }

void VulkanWindow::new_frame() {
    impl_->rebuild_swapchain_if_needed();
    ImGui_ImplVulkan_NewFrame();
    ImGui_ImplGlfw_NewFrame();
}

bool VulkanWindow::render_and_present(ImDrawData* draw_data, std::string* error) {
    Impl& s = *impl_;
    if (draw_data->DisplaySize.x <= 0.0f || draw_data->DisplaySize.y <= 0.0f || s.swapchain_rebuild) return true;
    ImGui_ImplVulkanH_Window& wd = s.wd;
    VkSemaphore acquired = wd.FrameSemaphores[wd.SemaphoreIndex].ImageAcquiredSemaphore;
    VkSemaphore complete = wd.FrameSemaphores[wd.SemaphoreIndex].RenderCompleteSemaphore;
    VkResult r = vkAcquireNextImageKHR(s.device, wd.Swapchain, UINT64_MAX, acquired, VK_NULL_HANDLE, &wd.FrameIndex);
    if (r == VK_ERROR_OUT_OF_DATE_KHR || r == VK_SUBOPTIMAL_KHR) {
        s.swapchain_rebuild = true;
        return true;
    }
    if (r != VK_SUCCESS) {
        *error = vk_error("vkAcquireNextImageKHR", r);
        return false;
    }
    ImGui_ImplVulkanH_Frame* fd = &wd.Frames[wd.FrameIndex];
    vkWaitForFences(s.device, 1, &fd->Fence, VK_TRUE, UINT64_MAX);
    vkResetFences(s.device, 1, &fd->Fence);
    vkResetCommandPool(s.device, fd->CommandPool, 0);
    VkCommandBufferBeginInfo begin{};
    begin.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
    begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
    vkBeginCommandBuffer(fd->CommandBuffer, &begin);
    VkRenderPassBeginInfo rp{};
    rp.sType = VK_STRUCTURE_TYPE_RENDER_PASS_BEGIN_INFO;
    rp.renderPass = wd.RenderPass;
    rp.framebuffer = fd->Framebuffer;
    rp.renderArea.extent.width = static_cast<uint32_t>(wd.Width);
    rp.renderArea.extent.height = static_cast<uint32_t>(wd.Height);
    rp.clearValueCount = 1;
    rp.pClearValues = &wd.ClearValue;
    vkCmdBeginRenderPass(fd->CommandBuffer, &rp, VK_SUBPASS_CONTENTS_INLINE);
    ImGui_ImplVulkan_RenderDrawData(draw_data, fd->CommandBuffer);
    vkCmdEndRenderPass(fd->CommandBuffer);
    vkEndCommandBuffer(fd->CommandBuffer);
    const VkPipelineStageFlags wait_stage = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT;
    VkSubmitInfo submit{};
    submit.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
    submit.waitSemaphoreCount = 1;
    submit.pWaitSemaphores = &acquired;
    submit.pWaitDstStageMask = &wait_stage;
    submit.commandBufferCount = 1;
    submit.pCommandBuffers = &fd->CommandBuffer;
    submit.signalSemaphoreCount = 1;
    submit.pSignalSemaphores = &complete;
    if ((r = vkQueueSubmit(s.queue, 1, &submit, fd->Fence)) != VK_SUCCESS) {
        *error = vk_error("vkQueueSubmit", r);
        return false;
    }
    VkPresentInfoKHR present{};
    present.sType = VK_STRUCTURE_TYPE_PRESENT_INFO_KHR;
    present.waitSemaphoreCount = 1;
    present.pWaitSemaphores = &complete;
    present.swapchainCount = 1;
    present.pSwapchains = &wd.Swapchain;
    present.pImageIndices = &wd.FrameIndex;
    r = vkQueuePresentKHR(s.queue, &present);
    if (r == VK_ERROR_OUT_OF_DATE_KHR || r == VK_SUBOPTIMAL_KHR) s.swapchain_rebuild = true;
    else if (r != VK_SUCCESS) {
        *error = vk_error("vkQueuePresentKHR", r);
        return false;
    }
    wd.SemaphoreIndex = (wd.SemaphoreIndex + 1) % wd.ImageCount;
    if (g_imgui_vk_error != VK_SUCCESS) {
        *error = vk_error("ImGui's Vulkan backend", g_imgui_vk_error);
        return false;
    }
    return true;
}

bool VulkanWindow::capture(ImDrawData* draw_data, viz::Image* out, std::string* error) {
    Impl& s = *impl_;
    const uint32_t w = static_cast<uint32_t>(draw_data->DisplaySize.x * draw_data->FramebufferScale.x);
    const uint32_t h = static_cast<uint32_t>(draw_data->DisplaySize.y * draw_data->FramebufferScale.y);
    if (w == 0 || h == 0) {
        *error = "nothing to capture: the frame is empty";
        return false;
    }
    const VkFormat format = s.wd.SurfaceFormat.format;
    vkDeviceWaitIdle(s.device);

    VkImage image = VK_NULL_HANDLE;
    VkDeviceMemory image_mem = VK_NULL_HANDLE, buffer_mem = VK_NULL_HANDLE;
    VkImageView view = VK_NULL_HANDLE;
    VkRenderPass pass = VK_NULL_HANDLE;
    VkFramebuffer fb = VK_NULL_HANDLE;
    VkBuffer buffer = VK_NULL_HANDLE;
    VkCommandPool pool = VK_NULL_HANDLE;
    VkCommandBuffer cmd = VK_NULL_HANDLE;
    bool ok = false;
    VkResult r = VK_SUCCESS;
    const VkDeviceSize bytes = static_cast<VkDeviceSize>(w) * h * 4;
    do {
        VkImageCreateInfo ici{};
        ici.sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO;
        ici.imageType = VK_IMAGE_TYPE_2D;
        ici.format = format;
        ici.extent = {w, h, 1};
        ici.mipLevels = 1;
        ici.arrayLayers = 1;
        ici.samples = VK_SAMPLE_COUNT_1_BIT;
        ici.tiling = VK_IMAGE_TILING_OPTIMAL;
        ici.usage = VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | VK_IMAGE_USAGE_TRANSFER_SRC_BIT;
        ici.initialLayout = VK_IMAGE_LAYOUT_UNDEFINED;
        if ((r = vkCreateImage(s.device, &ici, nullptr, &image)) != VK_SUCCESS) break;
        VkMemoryRequirements req;
        vkGetImageMemoryRequirements(s.device, image, &req);
        VkMemoryAllocateInfo mai{};
        mai.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
        mai.allocationSize = req.size;
        if (!find_memory_type(s.physical_device, req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, &mai.memoryTypeIndex) &&
            !find_memory_type(s.physical_device, req.memoryTypeBits, 0, &mai.memoryTypeIndex))
            break;
        if ((r = vkAllocateMemory(s.device, &mai, nullptr, &image_mem)) != VK_SUCCESS) break;
        vkBindImageMemory(s.device, image, image_mem, 0);

        VkImageViewCreateInfo vci{};
        vci.sType = VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO;
        vci.image = image;
        vci.viewType = VK_IMAGE_VIEW_TYPE_2D;
        vci.format = format;
        vci.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
        if ((r = vkCreateImageView(s.device, &vci, nullptr, &view)) != VK_SUCCESS) break;

        // Compatible with the swapchain's render pass (same format, one subpass), so
        // ImGui's pipeline draws into it; it ends ready to be copied.
        VkAttachmentDescription att{};
        att.format = format;
        att.samples = VK_SAMPLE_COUNT_1_BIT;
        att.loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR;
        att.storeOp = VK_ATTACHMENT_STORE_OP_STORE;
        att.stencilLoadOp = VK_ATTACHMENT_LOAD_OP_DONT_CARE;
        att.stencilStoreOp = VK_ATTACHMENT_STORE_OP_DONT_CARE;
        att.initialLayout = VK_IMAGE_LAYOUT_UNDEFINED;
        att.finalLayout = VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL;
        VkAttachmentReference ref{0, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL};
        VkSubpassDescription sub{};
        sub.pipelineBindPoint = VK_PIPELINE_BIND_POINT_GRAPHICS;
        sub.colorAttachmentCount = 1;
        sub.pColorAttachments = &ref;
        VkSubpassDependency dep{};
        dep.srcSubpass = 0;
        dep.dstSubpass = VK_SUBPASS_EXTERNAL;
        dep.srcStageMask = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT;
        dep.dstStageMask = VK_PIPELINE_STAGE_TRANSFER_BIT;
        dep.srcAccessMask = VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT;
        dep.dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT;
        VkRenderPassCreateInfo rpci{};
        rpci.sType = VK_STRUCTURE_TYPE_RENDER_PASS_CREATE_INFO;
        rpci.attachmentCount = 1;
        rpci.pAttachments = &att;
        rpci.subpassCount = 1;
        rpci.pSubpasses = &sub;
        rpci.dependencyCount = 1;
        rpci.pDependencies = &dep;
        if ((r = vkCreateRenderPass(s.device, &rpci, nullptr, &pass)) != VK_SUCCESS) break;
        VkFramebufferCreateInfo fci{};
        fci.sType = VK_STRUCTURE_TYPE_FRAMEBUFFER_CREATE_INFO;
        fci.renderPass = pass;
        fci.attachmentCount = 1;
        fci.pAttachments = &view;
        fci.width = w;
        fci.height = h;
        fci.layers = 1;
        if ((r = vkCreateFramebuffer(s.device, &fci, nullptr, &fb)) != VK_SUCCESS) break;

        VkBufferCreateInfo bci{};
        bci.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
        bci.size = bytes;
        bci.usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT;
        if ((r = vkCreateBuffer(s.device, &bci, nullptr, &buffer)) != VK_SUCCESS) break;
        vkGetBufferMemoryRequirements(s.device, buffer, &req);
        mai.allocationSize = req.size;
        if (!find_memory_type(s.physical_device, req.memoryTypeBits,
                              VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT, &mai.memoryTypeIndex))
            break;
        if ((r = vkAllocateMemory(s.device, &mai, nullptr, &buffer_mem)) != VK_SUCCESS) break;
        vkBindBufferMemory(s.device, buffer, buffer_mem, 0);

        VkCommandPoolCreateInfo pci{};
        pci.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO;
        pci.queueFamilyIndex = s.queue_family;
        if ((r = vkCreateCommandPool(s.device, &pci, nullptr, &pool)) != VK_SUCCESS) break;
        VkCommandBufferAllocateInfo cai{};
        cai.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO;
        cai.commandPool = pool;
        cai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
        cai.commandBufferCount = 1;
        if ((r = vkAllocateCommandBuffers(s.device, &cai, &cmd)) != VK_SUCCESS) break;

        VkCommandBufferBeginInfo begin{};
        begin.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
        begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
        vkBeginCommandBuffer(cmd, &begin);
        VkRenderPassBeginInfo rp{};
        rp.sType = VK_STRUCTURE_TYPE_RENDER_PASS_BEGIN_INFO;
        rp.renderPass = pass;
        rp.framebuffer = fb;
        rp.renderArea.extent = {w, h};
        rp.clearValueCount = 1;
        rp.pClearValues = &s.wd.ClearValue;
        vkCmdBeginRenderPass(cmd, &rp, VK_SUBPASS_CONTENTS_INLINE);
        ImGui_ImplVulkan_RenderDrawData(draw_data, cmd);
        vkCmdEndRenderPass(cmd);
        VkBufferImageCopy region{};
        region.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1};
        region.imageExtent = {w, h, 1};
        vkCmdCopyImageToBuffer(cmd, image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, buffer, 1, &region);
        VkBufferMemoryBarrier barrier{};
        barrier.sType = VK_STRUCTURE_TYPE_BUFFER_MEMORY_BARRIER;
        barrier.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
        barrier.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
        barrier.srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
        barrier.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
        barrier.buffer = buffer;
        barrier.size = VK_WHOLE_SIZE;
        vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 0, nullptr, 1, &barrier, 0, nullptr);
        vkEndCommandBuffer(cmd);
        VkSubmitInfo submit{};
        submit.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
        submit.commandBufferCount = 1;
        submit.pCommandBuffers = &cmd;
        if ((r = vkQueueSubmit(s.queue, 1, &submit, VK_NULL_HANDLE)) != VK_SUCCESS) break;
        if ((r = vkQueueWaitIdle(s.queue)) != VK_SUCCESS) break;

        void* mapped = nullptr;
        if ((r = vkMapMemory(s.device, buffer_mem, 0, bytes, 0, &mapped)) != VK_SUCCESS) break;
        out->resize(static_cast<int>(w), static_cast<int>(h));
        std::memcpy(out->rgba.data(), mapped, static_cast<size_t>(bytes));
        vkUnmapMemory(s.device, buffer_mem);
        const bool bgra = format == VK_FORMAT_B8G8R8A8_UNORM || format == VK_FORMAT_B8G8R8A8_SRGB;
        for (size_t i = 0; i < out->rgba.size(); i += 4) {
            if (bgra) std::swap(out->rgba[i], out->rgba[i + 2]);
            out->rgba[i + 3] = 255;
        }
        ok = g_imgui_vk_error == VK_SUCCESS;
    } while (false);
    if (!ok) *error = r != VK_SUCCESS ? vk_error("capturing the frame", r) : "capturing the frame failed (no suitable memory type?)";
    if (pool != VK_NULL_HANDLE) vkDestroyCommandPool(s.device, pool, nullptr);
    if (buffer != VK_NULL_HANDLE) vkDestroyBuffer(s.device, buffer, nullptr);
    if (buffer_mem != VK_NULL_HANDLE) vkFreeMemory(s.device, buffer_mem, nullptr);
    if (fb != VK_NULL_HANDLE) vkDestroyFramebuffer(s.device, fb, nullptr);
    if (pass != VK_NULL_HANDLE) vkDestroyRenderPass(s.device, pass, nullptr);
    if (view != VK_NULL_HANDLE) vkDestroyImageView(s.device, view, nullptr);
    if (image != VK_NULL_HANDLE) vkDestroyImage(s.device, image, nullptr);
    if (image_mem != VK_NULL_HANDLE) vkFreeMemory(s.device, image_mem, nullptr);
    return ok;
}

}  // namespace mnemo::studio
