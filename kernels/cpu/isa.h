// Instruction-set selection for the CPU kernels.
//
// Every vectorised kernel has a portable scalar form and an AVX2+FMA+F16C form; which one
// runs is decided at run time, not at compile time, so one binary serves every x86-64
// machine. The environment variable MNEMO_CPU_ISA ("scalar", "avx2" or "auto") is read on
// first use; set_isa() overrides it (tests use it to run both paths in one process).
#pragma once

namespace mnemo::cpu {

enum class Isa : int {
    scalar = 0,  // portable C++, any CPU
    avx2 = 1,    // AVX2 + FMA + F16C (x86-64-v3)
};

const char* isa_name(Isa isa);

// The best ISA this CPU supports (cpuid), ignoring the environment variable.
Isa best_supported_isa();

// The ISA kernels use now. First call applies MNEMO_CPU_ISA.
Isa active_isa();

// Requests an ISA; an unsupported request is clamped down to the best supported one.
// Returns the ISA now active. Not meant to be flipped while kernels run on other threads.
Isa set_isa(Isa requested);

// Sets an ISA for a scope and restores the previous one (tests).
class ScopedIsa {
public:
    explicit ScopedIsa(Isa requested) : previous_(active_isa()) { active_ = set_isa(requested); }
    ~ScopedIsa() { set_isa(previous_); }
    ScopedIsa(const ScopedIsa&) = delete;
    ScopedIsa& operator=(const ScopedIsa&) = delete;
    Isa active() const { return active_; }

private:
    Isa previous_;
    Isa active_;
};

}  // namespace mnemo::cpu
