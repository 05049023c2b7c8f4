#include "cpu/isa.h"

#include <atomic>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#include <cstdlib>
#include <cstring>

namespace mnemo::cpu {
namespace {

constexpr int kUnset = -1;
std::atomic<int> g_active_isa{kUnset};

Isa isa_from_env() {
    const Isa best = best_supported_isa();
    const char* value = std::getenv("MNEMO_CPU_ISA");
    if (value == nullptr || value[0] == '\0' || std::strcmp(value, "auto") == 0) return best;
    if (std::strcmp(value, "scalar") == 0) return Isa::scalar;
    if (std::strcmp(value, "avx2") == 0) return best;  // clamped if unsupported
    return best;  // unknown value: ignore rather than fail inside a kernel
}

}  // namespace

const char* isa_name(Isa isa) {
    switch (isa) {
        case Isa::scalar: return "scalar";
        case Isa::avx2: return "avx2";
    }
    return "unknown";
}

Isa best_supported_isa() {
#if defined(__x86_64__) || defined(__i386__)
    static const Isa best = [] {
        __builtin_cpu_init();
        const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        // F16C is checked through cpuid leaf 1 (ECX bit 29): not every compiler knows a
        // __builtin_cpu_supports name for it.
        unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
        const bool f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) != 0 && (ecx & (1u << 29)) != 0;
        return avx2 && f16c ? Isa::avx2 : Isa::scalar;
    }();
    return best;
#else
    return Isa::scalar;
#endif
}

Isa active_isa() {
    int value = g_active_isa.load(std::memory_order_relaxed);
    if (value == kUnset) {
        value = static_cast<int>(isa_from_env());
        int expected = kUnset;
        if (!g_active_isa.compare_exchange_strong(expected, value, std::memory_order_relaxed)) {
            value = expected;
        }
    }
    return static_cast<Isa>(value);
}

Isa set_isa(Isa requested) {
    Isa chosen = requested;
    if (static_cast<int>(chosen) > static_cast<int>(best_supported_isa())) chosen = best_supported_isa();
    g_active_isa.store(static_cast<int>(chosen), std::memory_order_relaxed);
    return chosen;
}

}  // namespace mnemo::cpu
