// Thin C shim for the few Linux calls that Swift's `import Glibc` does not expose
// (they need _GNU_SOURCE or are variadic). Toolchain-only: this target is part of the package.
#ifndef CPOOLPLATFORM_H
#define CPOOLPLATFORM_H

#include <sys/types.h>

/// Names the calling thread (Linux truncates to 15 bytes). Returns 0 or an errno value.
int poolsys_set_current_thread_name(const char *name);

/// Number of CPUs in this thread's affinity mask (sched_getaffinity), or -1 if unknown.
int poolsys_affinity_cpu_count(void);

/// Kernel thread id of the calling thread (gettid), or -1 where there is none.
long poolsys_current_thread_id(void);


/// A spin-wait hint for the CPU (`pause` on x86, `yield` on ARM): lets the sibling
/// hyper-thread run and saves power while a thread polls a flag for a few microseconds.
static inline void poolsys_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

#endif
