#define _GNU_SOURCE
#include "CPoolPlatform.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__linux__)
#include <sys/syscall.h>
#endif

int poolsys_set_current_thread_name(const char *name) {
#if defined(__linux__)
    char shortName[16];
    strncpy(shortName, name, sizeof(shortName) - 1);
    shortName[sizeof(shortName) - 1] = '\0';
    return pthread_setname_np(pthread_self(), shortName);
#elif defined(__APPLE__)
    return pthread_setname_np(name);
#else
    (void)name;
    return ENOSYS;
#endif
}

int poolsys_affinity_cpu_count(void) {
#if defined(__linux__)
    // Grow the mask until the kernel accepts it: hosts with more than 1024 CPUs exist.
    for (size_t cpus = 1024; cpus <= (1u << 16); cpus *= 2) {
        size_t size = CPU_ALLOC_SIZE(cpus);
        cpu_set_t *set = CPU_ALLOC(cpus);
        if (set == NULL) return -1;
        CPU_ZERO_S(size, set);
        if (sched_getaffinity(0, size, set) == 0) {
            int count = CPU_COUNT_S(size, set);
            CPU_FREE(set);
            return count;
        }
        int error = errno;
        CPU_FREE(set);
        if (error != EINVAL) return -1;
    }
    return -1;
#else
    return -1;
#endif
}

long poolsys_current_thread_id(void) {
#if defined(__linux__)
    return (long)syscall(SYS_gettid);
#else
    return -1;
#endif
}
