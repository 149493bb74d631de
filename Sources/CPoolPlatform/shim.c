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

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#if defined(__linux__)
#include <elf.h>
#include <link.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#endif

int poolsys_pipe_cloexec(int fds[2]) {
#if defined(__linux__)
    return pipe2(fds, O_CLOEXEC) == 0 ? 0 : errno;
#else
    if (pipe(fds) != 0) return errno;
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    return 0;
#endif
}

int poolsys_set_pipe_capacity(int fd, int bytes) {
#if defined(__linux__)
    return fcntl(fd, F_SETPIPE_SZ, bytes);
#else
    (void)fd; (void)bytes;
    return -1;
#endif
}

/// The part both spawns share: close every descriptor from `close_from` up, start the child
/// with an empty signal mask and every signal at its default disposition, then posix_spawn
/// (or posix_spawnp when `search_path`, which looks the program up in PATH).
static int spawn_with(posix_spawn_file_actions_t *actions, int close_from, int search_path, const char *path,
                      char *const argv[], char *const envp[], pid_t *pid) {
    int status = 0;
#if defined(__linux__) && defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 34)
    status = posix_spawn_file_actions_addclosefrom_np(actions, close_from);
#else
    (void)close_from;
#endif
    if (status != 0) return status;
    posix_spawnattr_t attributes;
    status = posix_spawnattr_init(&attributes);
    if (status != 0) return status;
    sigset_t empty, all;
    sigemptyset(&empty);
    sigfillset(&all);
    status = posix_spawnattr_setsigmask(&attributes, &empty);
    if (status == 0) status = posix_spawnattr_setsigdefault(&attributes, &all);
    if (status == 0) status = posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    if (status == 0) {
        status = search_path ? posix_spawnp(pid, path, actions, &attributes, argv, envp)
                             : posix_spawn(pid, path, actions, &attributes, argv, envp);
    }
    posix_spawnattr_destroy(&attributes);
    return status;
}

int poolsys_spawn(const char *path, char *const argv[], char *const envp[],
                  const int *child_fds, int count, pid_t *pid) {
    // Sources must not collide with the targets 3..3+count-1: move any low one out of the way.
    int sources[16];
    int moved[16];
    if (count < 0 || count > 16) return EINVAL;
    for (int i = 0; i < count; i++) {
        sources[i] = child_fds[i];
        moved[i] = -1;
        if (sources[i] < 3 + count) {
            moved[i] = fcntl(sources[i], F_DUPFD_CLOEXEC, 3 + count);
            if (moved[i] < 0) {
                int error = errno;
                for (int j = 0; j < i; j++) if (moved[j] >= 0) close(moved[j]);
                return error;
            }
            sources[i] = moved[i];
        }
    }
    posix_spawn_file_actions_t actions;
    int status = posix_spawn_file_actions_init(&actions);
    if (status == 0) {
        status = posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
        for (int i = 0; status == 0 && i < count; i++)
            status = posix_spawn_file_actions_adddup2(&actions, sources[i], 3 + i);
        if (status == 0) status = spawn_with(&actions, 3 + count, 0, path, argv, envp, pid);
        posix_spawn_file_actions_destroy(&actions);
    }
    for (int i = 0; i < count; i++) if (moved[i] >= 0) close(moved[i]);
    return status;
}

int poolsys_shared_memory(const char *name, size_t bytes) {
#if defined(__linux__)
    int fd = memfd_create(name, MFD_CLOEXEC);
    if (fd < 0) return -1;
    if (ftruncate(fd, (off_t)bytes) != 0) {
        close(fd);
        return -1;
    }
    return fd;
#else
    (void)name; (void)bytes;
    return -1;
#endif
}

int poolsys_sealed_shared_memory(const char *name, size_t bytes, int final) {
#if defined(__linux__)
    int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) return -1;
    // A fixed size, sealed: the other process cannot shrink the file under this one's mapping
    // (a read past the end would raise SIGBUS here).
    int seals = F_SEAL_SHRINK | F_SEAL_GROW | (final ? F_SEAL_SEAL : 0);
    if (ftruncate(fd, (off_t)bytes) != 0 || fcntl(fd, F_ADD_SEALS, seals) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
#else
    (void)name; (void)bytes; (void)final;
    errno = ENOSYS;
    return -1;
#endif
}

int poolsys_seal_writes(int fd) {
#if defined(__linux__)
    return fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SEAL) == 0 ? 0 : errno;
#else
    (void)fd;
    return ENOSYS;
#endif
}

int poolsys_shared_memory_seals(int fd, int *sealed_size, int *sealed_writes) {
#if defined(__linux__)
    int seals = fcntl(fd, F_GET_SEALS);
    if (seals < 0) return errno;
    *sealed_size = (seals & (F_SEAL_SHRINK | F_SEAL_GROW)) == (F_SEAL_SHRINK | F_SEAL_GROW);
    *sealed_writes = (seals & F_SEAL_WRITE) != 0;
    return 0;
#else
    (void)fd; *sealed_size = 0; *sealed_writes = 0;
    return ENOSYS;
#endif
}

#if defined(__linux__)
// fallocate(2) retried on EINTR: on shmem a pending signal interrupts a long call with EINTR,
// which is never restarted. Returns 0 or an errno value.
static int fallocate_retrying(int fd, int mode, size_t offset, size_t bytes) {
    int status;
    do status = fallocate(fd, mode, (off_t)offset, (off_t)bytes);
    while (status != 0 && errno == EINTR);
    return status == 0 ? 0 : errno;
}
#endif

int poolsys_reserve_shared_memory(int fd, size_t offset, size_t bytes) {
#if defined(__linux__)
    return fallocate_retrying(fd, 0, offset, bytes);
#else
    (void)fd; (void)offset; (void)bytes;
    return ENOSYS;
#endif
}

int poolsys_release_shared_memory(int fd, size_t offset, size_t bytes) {
#if defined(__linux__)
    return fallocate_retrying(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, bytes);
#else
    (void)fd; (void)offset; (void)bytes;
    return ENOSYS;
#endif
}

int poolsys_set_parent_death_signal(int signal_number) {
#if defined(__linux__)
    return prctl(PR_SET_PDEATHSIG, (unsigned long)signal_number, 0, 0, 0) == 0 ? 0 : errno;
#else
    (void)signal_number;
    return ENOSYS;
#endif
}

#if defined(__linux__)
struct build_id_search {
    unsigned char *out;
    size_t capacity;
    size_t length;
};

static int find_build_id(struct dl_phdr_info *info, size_t size, void *context) {
    (void)size;
    struct build_id_search *search = context;
    // The first object listed is the main executable.
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *header = &info->dlpi_phdr[i];
        if (header->p_type != PT_NOTE) continue;
        const unsigned char *note = (const unsigned char *)(info->dlpi_addr + header->p_vaddr);
        const unsigned char *end = note + header->p_memsz;
        while (note + sizeof(ElfW(Nhdr)) <= end) {
            const ElfW(Nhdr) *nhdr = (const ElfW(Nhdr) *)note;
            const unsigned char *name = note + sizeof(ElfW(Nhdr));
            const unsigned char *desc = name + ((nhdr->n_namesz + 3) & ~3u);
            if (nhdr->n_type == NT_GNU_BUILD_ID && nhdr->n_namesz == 4 && memcmp(name, "GNU", 4) == 0) {
                size_t length = nhdr->n_descsz < search->capacity ? nhdr->n_descsz : search->capacity;
                memcpy(search->out, desc, length);
                search->length = length;
                return 1;
            }
            note = desc + ((nhdr->n_descsz + 3) & ~3u);
        }
    }
    return 1;
}
#endif

size_t poolsys_executable_build_id(unsigned char *out, size_t capacity) {
#if defined(__linux__)
    struct build_id_search search = {out, capacity, 0};
    dl_iterate_phdr(find_build_id, &search);
    return search.length;
#else
    (void)out; (void)capacity;
    return 0;
#endif
}

#include <sys/resource.h>

static int64_t poolsys_usage_ns(const struct rusage *usage) {
    return ((int64_t)usage->ru_utime.tv_sec + usage->ru_stime.tv_sec) * 1000000000LL
        + ((int64_t)usage->ru_utime.tv_usec + usage->ru_stime.tv_usec) * 1000LL;
}

int poolsys_thread_usage(long *voluntary, long *involuntary, int64_t *cpu_ns) {
#if defined(__linux__)
    struct rusage usage;
    if (getrusage(RUSAGE_THREAD, &usage) != 0) return errno;
    *voluntary = usage.ru_nvcsw;
    *involuntary = usage.ru_nivcsw;
    *cpu_ns = poolsys_usage_ns(&usage);
    return 0;
#else
    *voluntary = 0;
    *involuntary = 0;
    *cpu_ns = 0;
    return ENOSYS;
#endif
}

int64_t poolsys_children_cpu_ns(void) {
    struct rusage usage;
    if (getrusage(RUSAGE_CHILDREN, &usage) != 0) return 0;
    return poolsys_usage_ns(&usage);
}

#define POOLSYS_KIND(call, kind) case SYS_##call: return kind;

poolsys_call_kind poolsys_classify_syscall(long number) {
#if defined(__linux__)
    switch (number) {
    POOLSYS_KIND(futex, POOLSYS_CALL_FUTEX)
#ifdef SYS_futex_waitv
    POOLSYS_KIND(futex_waitv, POOLSYS_CALL_FUTEX)
#endif
    POOLSYS_KIND(read, POOLSYS_CALL_READ)
    POOLSYS_KIND(readv, POOLSYS_CALL_READ)
    POOLSYS_KIND(pread64, POOLSYS_CALL_READ)
    POOLSYS_KIND(preadv, POOLSYS_CALL_READ)
#ifdef SYS_preadv2
    POOLSYS_KIND(preadv2, POOLSYS_CALL_READ)
#endif
#ifdef SYS_poll
    POOLSYS_KIND(poll, POOLSYS_CALL_POLL)
#endif
#ifdef SYS_select
    POOLSYS_KIND(select, POOLSYS_CALL_POLL)
#endif
#ifdef SYS_epoll_wait
    POOLSYS_KIND(epoll_wait, POOLSYS_CALL_POLL)
#endif
    POOLSYS_KIND(ppoll, POOLSYS_CALL_POLL)
    POOLSYS_KIND(pselect6, POOLSYS_CALL_POLL)
    POOLSYS_KIND(epoll_pwait, POOLSYS_CALL_POLL)
#ifdef SYS_epoll_pwait2
    POOLSYS_KIND(epoll_pwait2, POOLSYS_CALL_POLL)
#endif
    POOLSYS_KIND(accept, POOLSYS_CALL_NETWORK)
    POOLSYS_KIND(accept4, POOLSYS_CALL_NETWORK)
    POOLSYS_KIND(connect, POOLSYS_CALL_NETWORK)
    POOLSYS_KIND(recvfrom, POOLSYS_CALL_NETWORK)
    POOLSYS_KIND(recvmsg, POOLSYS_CALL_NETWORK)
    POOLSYS_KIND(recvmmsg, POOLSYS_CALL_NETWORK)
    POOLSYS_KIND(sendto, POOLSYS_CALL_NETWORK)
    POOLSYS_KIND(fsync, POOLSYS_CALL_SYNC)
    POOLSYS_KIND(fdatasync, POOLSYS_CALL_SYNC)
    POOLSYS_KIND(sync_file_range, POOLSYS_CALL_SYNC)
    POOLSYS_KIND(write, POOLSYS_CALL_WRITE)
    POOLSYS_KIND(writev, POOLSYS_CALL_WRITE)
    POOLSYS_KIND(pwrite64, POOLSYS_CALL_WRITE)
    POOLSYS_KIND(pwritev, POOLSYS_CALL_WRITE)
    POOLSYS_KIND(nanosleep, POOLSYS_CALL_SLEEP)
    POOLSYS_KIND(clock_nanosleep, POOLSYS_CALL_SLEEP)
    POOLSYS_KIND(wait4, POOLSYS_CALL_CHILD)
    POOLSYS_KIND(waitid, POOLSYS_CALL_CHILD)
    default: return POOLSYS_CALL_OTHER;
    }
#else
    (void)number;
    return POOLSYS_CALL_OTHER;
#endif
}
