// Starting external commands so that none outlives the process that started it, however that
// process ends (return from main, SIGTERM, SIGKILL, an OOM kill).
//
//   parent thread ──clone(CLONE_VM|CLONE_VFORK)──► command child: own process group,
//        │                                          PR_SET_PDEATHSIG(SIGKILL), pid into a slot
//        │                                          of the guard table, then execve
//        └─(once per process) clone ──► guard: own memory (everything else unmapped), all
//                                       descriptors closed, waits on a pidfd of the parent;
//                                       when the parent is gone, SIGKILLs every process group
//                                       still listed in the shared table
//
// PDEATHSIG kills the command itself when the thread that started it ends (that thread waits
// for the command, so it ends only with the process); the guard kills the command's own
// children, which PDEATHSIG does not reach. When a command finishes, its group is killed before
// it is reaped, so background leftovers die too and the group id cannot have been reused.
//
// Both children run raw system calls only (no libc, no errno, no thread-local storage): the
// command child shares the parent's memory until exec, and the guard has unmapped it.
#define _GNU_SOURCE
#include "CPoolPlatform.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__linux__) && (defined(__x86_64__) || defined(__aarch64__))
#define POOLSYS_COMMAND_CHILD 1
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#else
#define POOLSYS_COMMAND_CHILD 0
#endif

#if POOLSYS_COMMAND_CHILD

#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

#if defined(__has_attribute) && __has_attribute(no_stack_protector)
#define POOLSYS_NO_PROTECTOR __attribute__((no_stack_protector))
#else
#define POOLSYS_NO_PROTECTOR
#endif
#if defined(__has_attribute) && __has_attribute(disable_sanitizer_instrumentation)
#define POOLSYS_NO_SANITIZER __attribute__((disable_sanitizer_instrumentation))
#else
#define POOLSYS_NO_SANITIZER __attribute__((no_sanitize("address", "thread", "undefined")))
#endif
#if defined(__has_attribute) && __has_attribute(no_profile_instrument_function)
#define POOLSYS_NO_PROFILE __attribute__((no_profile_instrument_function))
#else
#define POOLSYS_NO_PROFILE
#endif
/// Code that runs in a child before exec or in the guard: no canary (thread-local), no
/// sanitizer hooks (thread-local, shared state), no coverage counters (the guard unmaps them).
#define POOLSYS_CHILD_CODE \
    __attribute__((noinline)) POOLSYS_NO_PROTECTOR POOLSYS_NO_SANITIZER POOLSYS_NO_PROFILE

/// A system call without libc: returns the result or -errno, touches no errno.
__attribute__((always_inline)) static inline long raw(long number, long a, long b, long c, long d, long e) {
#if defined(__x86_64__)
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    long result;
    __asm__ volatile("syscall"
                     : "=a"(result)
                     : "a"(number), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
                     : "rcx", "r11", "memory");
    return result;
#else
    register long x8 __asm__("x8") = number;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4) : "memory", "cc");
    return x0;
#endif
}

/// clone(2) without libc: `fn(arg)` runs in the child on `stack_top` and the child exits with
/// its result. libc's clone is avoided because sanitizers intercept it and run their own fork
/// bookkeeping in the child, which corrupts their state (ThreadSanitizer checks fail).
POOLSYS_CHILD_CODE static long raw_clone(unsigned long flags, char *stack_top, int (*fn)(void *), void *arg) {
    void **top = (void **)(stack_top - 16);  // 16-byte aligned: the child pops fn and arg
    top[0] = (void *)fn;
    top[1] = arg;
#if defined(__x86_64__)
    register long r10 __asm__("r10") = 0;
    register long r8 __asm__("r8") = 0;
    long result;
    __asm__ volatile("syscall\n\t"
                     "test %%rax, %%rax\n\t"
                     "jnz 1f\n\t"
                     "xor %%ebp, %%ebp\n\t"
                     "pop %%rax\n\t"
                     "pop %%rdi\n\t"
                     "call *%%rax\n\t"
                     "mov %%eax, %%edi\n\t"
                     "mov %[exit], %%eax\n\t"
                     "syscall\n\t"
                     "hlt\n"
                     "1:"
                     : "=a"(result)
                     : "a"(SYS_clone), "D"(flags), "S"(top), "d"(0L), "r"(r10), "r"(r8), [exit] "i"(SYS_exit)
                     : "rcx", "r11", "memory", "cc");
    return result;
#else
    register long x8 __asm__("x8") = SYS_clone;
    register long x0 __asm__("x0") = (long)flags;
    register long x1 __asm__("x1") = (long)top;
    register long x2 __asm__("x2") = 0;
    register long x3 __asm__("x3") = 0;
    register long x4 __asm__("x4") = 0;
    __asm__ volatile("svc 0\n\t"
                     "cbnz x0, 1f\n\t"
                     "ldp x10, x0, [sp]\n\t"
                     "blr x10\n\t"
                     "mov x8, %[exit]\n\t"
                     "svc 0\n"
                     "1:"
                     : "+r"(x0)
                     : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), [exit] "i"(SYS_exit)
                     : "x10", "memory", "cc");
    return x0;
#endif
}

#define POOLSYS_GUARD_SLOTS 4096
#define POOLSYS_CHILD_STACK (64 * 1024)

/// The guard of this process: the table lives in a shared mapping, so the guard (a separate
/// address space) sees every slot the parent or a command child writes.
static struct {
    pthread_mutex_t lock;
    pid_t owner;          // the process these fields belong to (a fork() child starts afresh)
    pid_t pid;            // the guard process, 0 when none runs
    pid_t *slots;         // 0 free, -1 reserved, > 0 a command's process group
    unsigned next;        // where the next slot search starts
} guard = {PTHREAD_MUTEX_INITIALIZER, 0, 0, NULL, 0};

struct guard_start {
    pid_t parent;
    pid_t *slots;
    char *stack;
    char *code;
    char *rseq;  // the forking thread's restartable-sequences area, which the guard inherits
};

// glibc (2.35 and later) registers an rseq area for every thread; weak, so older ones link.
extern const ptrdiff_t __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));

/// The calling thread's rseq area, or NULL when libc registered none.
static char *current_rseq_area(void) {
    if (&__rseq_size == NULL || &__rseq_offset == NULL || __rseq_size == 0) return NULL;
    char *thread_pointer;
#if defined(__x86_64__)
    __asm__("mov %%fs:0, %0" : "=r"(thread_pointer));
#else
    __asm__("mrs %0, tpidr_el0" : "=r"(thread_pointer));
#endif
    return thread_pointer + __rseq_offset;
}

/// The guard process. It keeps only its stack, the slot table, the pages of its own code and the
/// page of the rseq area the kernel still writes to (the kernel kills a process whose
/// registered area is gone), and unmaps the rest of its copy of the parent.
POOLSYS_CHILD_CODE static int guard_main(void *context) {
    struct guard_start *start = context;
    const pid_t parent = start->parent;
    pid_t *const slots = start->slots;
    const unsigned long page = 4096;
    const unsigned long code = (unsigned long)start->code & ~(page - 1);
    const unsigned long rseq = (unsigned long)start->rseq;
    unsigned long keep[4][2] = {
        {(unsigned long)start->stack, (unsigned long)start->stack + POOLSYS_CHILD_STACK},
        {(unsigned long)slots, ((unsigned long)slots + POOLSYS_GUARD_SLOTS * sizeof(pid_t) + page - 1) & ~(page - 1)},
        {code, code + 2 * page},
        {rseq & ~(page - 1), rseq == 0 ? 0 : (rseq + 32 + page - 1) & ~(page - 1)},
    };
    // Signals stay blocked (the parent blocked them all around clone): the guard's life is bounded
    // by its parent's, and a SIGINT or SIGTERM meant for the job must not end it first.
    raw(SYS_setpgid, 0, 0, 0, 0, 0);
    raw(SYS_prctl, PR_SET_NAME, (long)"pool-cmd-guard", 0, 0, 0);
    if (raw(SYS_close_range, 0, 0xFFFFFFFFL, 0, 0, 0) != 0) {
        for (long fd = 0; fd < 65536; fd++) raw(SYS_close, fd, 0, 0, 0, 0);
    }
    // Give back the copy of the parent's memory (so none of it is copied on write later).
    for (int i = 0; i < 4; i++) {
        for (int j = i + 1; j < 4; j++) {
            if (keep[j][0] < keep[i][0]) {
                unsigned long s = keep[i][0], e = keep[i][1];
                keep[i][0] = keep[j][0];
                keep[i][1] = keep[j][1];
                keep[j][0] = s;
                keep[j][1] = e;
            }
        }
    }
    unsigned long cursor = 0;
    for (int i = 0; i < 4; i++) {
        if (keep[i][1] <= keep[i][0]) continue;
        if (keep[i][0] > cursor) raw(SYS_munmap, (long)cursor, (long)(keep[i][0] - cursor), 0, 0, 0);
        if (keep[i][1] > cursor) cursor = keep[i][1];
    }
    // The top of the address space depends on the kernel (aarch64 has 39 to 52 bits): try downwards.
    for (int bits = 48; bits >= 39; bits--) {
        unsigned long top = (1UL << bits) - page;
        if (cursor >= top) continue;
        if (raw(SYS_munmap, (long)cursor, (long)(top - cursor), 0, 0, 0) == 0) break;
    }
    // Wait for the parent to end: its pidfd becomes readable; without pidfds, poll getppid.
    long pidfd = raw(SYS_pidfd_open, parent, 0, 0, 0, 0);
    // Structures are filled by volatile stores: an initializer could be read from .rodata,
    // which is gone now.
    volatile struct {
        int fd;
        short events;
        short revents;
    } watch;
    volatile long pause[2];
    while (raw(SYS_getppid, 0, 0, 0, 0, 0) == parent) {
        if (pidfd >= 0) {
            watch.fd = (int)pidfd;
            watch.events = 1;  // POLLIN: the process has ended
            watch.revents = 0;
            if (raw(SYS_ppoll, (long)&watch, 1, 0, 0, 8) > 0) break;
        } else {
            pause[0] = 0;
            pause[1] = 100000000;
            raw(SYS_nanosleep, (long)pause, 0, 0, 0, 0);
        }
    }
    // Twice: a process forking at the moment of the first pass is caught by the second.
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < POOLSYS_GUARD_SLOTS; i++) {
            pid_t group = __atomic_load_n(&slots[i], __ATOMIC_ACQUIRE);
            if (group > 0) raw(SYS_kill, -group, SIGKILL, 0, 0, 0);
        }
        pause[0] = 0;
        pause[1] = 10000000;
        raw(SYS_nanosleep, (long)pause, 0, 0, 0, 0);
    }
    raw(SYS_exit_group, 0, 0, 0, 0, 0);
    return 0;
}

/// Blocks every signal of the calling thread (libc's wrappers keep two for themselves).
static void block_all_signals(unsigned long *old) {
    unsigned long all = ~0UL;
    raw(SYS_rt_sigprocmask, SIG_SETMASK, (long)&all, (long)old, 8, 0);
}

static void restore_signals(const unsigned long *old) {
    raw(SYS_rt_sigprocmask, SIG_SETMASK, (long)old, 0, 8, 0);
}

/// Starts (or restarts) this process's guard; called with the lock held. Without a guard,
/// commands still die with the thread that waits for them (PDEATHSIG).
static void guard_ensure_started(void) {
    pid_t self = getpid();
    if (guard.owner != self) {
        // First use, or a fork() child whose table is still shared with its parent.
        void *table = mmap(NULL, POOLSYS_GUARD_SLOTS * sizeof(pid_t), PROT_READ | PROT_WRITE,
                           MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        guard.slots = table == MAP_FAILED ? NULL : table;
        guard.pid = 0;
        guard.owner = self;
    }
    if (guard.slots == NULL) return;
    if (guard.pid > 0) {
        int status;
        if (waitpid(guard.pid, &status, WNOHANG | __WALL) == 0) return;
        guard.pid = 0;  // killed by someone: start another, which sees the same table
    }
    char *stack = mmap(NULL, POOLSYS_CHILD_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
                       -1, 0);
    if (stack == MAP_FAILED) return;
    struct guard_start start = {self, guard.slots, stack, (char *)&guard_main, current_rseq_area()};
    unsigned long old;
    block_all_signals(&old);
    // No CLONE_VM: the guard must survive an OOM kill of the parent, which takes every process
    // sharing its memory. Exit signal 0: nobody's wait(-1) reaps it by mistake.
    long pid = raw_clone(0, stack + POOLSYS_CHILD_STACK, guard_main, &start);
    restore_signals(&old);
    munmap(stack, POOLSYS_CHILD_STACK);
    guard.pid = pid > 0 ? (pid_t)pid : 0;
}

/// A free slot of the table, reserved (-1), or -1 when there is no guard or no free slot.
static int guard_claim_slot(void) {
    if (guard.slots == NULL || guard.pid == 0) return -1;
    for (unsigned n = 0; n < POOLSYS_GUARD_SLOTS; n++) {
        unsigned i = (guard.next + n) % POOLSYS_GUARD_SLOTS;
        pid_t expected = 0;
        if (__atomic_compare_exchange_n(&guard.slots[i], &expected, -1, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
            guard.next = i + 1;
            return (int)i;
        }
    }
    return -1;
}

static void guard_release(int slot) {
    if (slot >= 0 && guard.slots != NULL) __atomic_store_n(&guard.slots[slot], 0, __ATOMIC_RELEASE);
}

struct command_spawn {
    char *const *argv;
    char *const *envp;
    const char *search_path;  // PATH to search, or NULL when argv[0] names a file
    int stdin_fd;             // -1: /dev/null
    int stdout_fd;
    int stderr_fd;
    pid_t parent;
    pid_t *slot;              // where to write our process group, or NULL
    volatile int error;       // why exec failed (read by the parent after the child exits)
};

__attribute__((always_inline, noreturn)) static inline void child_fail(struct command_spawn *spawn, long error) {
    spawn->error = (int)error;
    raw(SYS_exit_group, 127, 0, 0, 0, 0);
    __builtin_unreachable();
}

/// Moves `fd` above 2 so that dup3 onto 0, 1 and 2 never has source and target equal.
__attribute__((always_inline)) static inline long above_stdio(long fd) {
    return fd > 2 ? fd : raw(SYS_fcntl, fd, F_DUPFD, 3, 0, 0);
}

/// The command child, between clone and exec, in the parent's memory (the parent is suspended).
POOLSYS_CHILD_CODE static int command_child(void *context) {
    struct command_spawn *spawn = context;
    // Every handler back to the default while signals are still blocked: none of the parent's
    // handlers may run in this shared memory, and the command starts with clean dispositions.
    unsigned long action[4] = {0, 0, 0, 0};
    for (long number = 1; number <= 64; number++) raw(SYS_rt_sigaction, number, (long)action, 0, 8, 0);
    // Its own process group, so it and everything it starts can be killed together.
    raw(SYS_setpgid, 0, 0, 0, 0, 0);
    raw(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (spawn->slot != NULL) __atomic_store_n(spawn->slot, (pid_t)raw(SYS_getpid, 0, 0, 0, 0, 0), __ATOMIC_RELEASE);
    // The parent may have died before PDEATHSIG was armed: then nobody would ever kill us.
    if (raw(SYS_getppid, 0, 0, 0, 0, 0) != spawn->parent) child_fail(spawn, ESRCH);
    long in = spawn->stdin_fd >= 0 ? above_stdio(spawn->stdin_fd) : -1;
    long out = above_stdio(spawn->stdout_fd);
    long err = above_stdio(spawn->stderr_fd);
    if (spawn->stdin_fd >= 0 && in < 0) child_fail(spawn, -in);
    if (out < 0) child_fail(spawn, -out);
    if (err < 0) child_fail(spawn, -err);
    if (in < 0) {
        in = raw(SYS_openat, AT_FDCWD, (long)"/dev/null", O_RDONLY, 0, 0);
        if (in < 0) child_fail(spawn, -in);
    }
    if (in != 0) {
        long moved = raw(SYS_dup3, in, 0, 0, 0, 0);
        if (moved < 0) child_fail(spawn, -moved);
    }
    long status = raw(SYS_dup3, out, 1, 0, 0, 0);
    if (status >= 0) status = raw(SYS_dup3, err, 2, 0, 0, 0);
    if (status < 0) child_fail(spawn, -status);
    if (raw(SYS_close_range, 3, 0xFFFFFFFFL, 0, 0, 0) != 0) {
        struct {
            unsigned long soft, hard;
        } limit = {65536, 65536};
        raw(SYS_prlimit64, 0, RLIMIT_NOFILE, 0, (long)&limit, 0);
        unsigned long top = limit.soft < (1UL << 20) ? limit.soft : (1UL << 20);
        for (unsigned long fd = 3; fd < top; fd++) raw(SYS_close, (long)fd, 0, 0, 0, 0);
    }
    unsigned long none = 0;
    raw(SYS_rt_sigprocmask, SIG_SETMASK, (long)&none, 0, 8, 0);

    char *const *argv = spawn->argv;
    if (spawn->search_path == NULL) child_fail(spawn, -raw(SYS_execve, (long)argv[0], (long)argv, (long)spawn->envp, 0, 0));
    // The PATH search of execvp, without its allocations. Volatile stores keep the compiler
    // from turning these loops into calls of memcpy or strlen.
    volatile char buffer[4096];
    const char *file = argv[0];
    unsigned long file_length = 0;
    while (file[file_length] != '\0') file_length++;
    long last = ENOENT;
    int denied = 0;
    const char *entry = spawn->search_path;
    for (;;) {
        const char *end = entry;
        while (*end != '\0' && *end != ':') end++;
        unsigned long length = (unsigned long)(end - entry);
        if (length + 1 + file_length + 1 <= sizeof(buffer)) {
            unsigned long n = 0;
            for (unsigned long i = 0; i < length; i++) buffer[n++] = entry[i];
            if (length > 0) buffer[n++] = '/';  // an empty entry is the current directory
            for (unsigned long i = 0; i < file_length; i++) buffer[n++] = file[i];
            buffer[n] = '\0';
            long error = -raw(SYS_execve, (long)buffer, (long)argv, (long)spawn->envp, 0, 0);
            switch (error) {
            case EACCES: denied = 1; break;
            case ENOENT: case ENOTDIR: case ESTALE: case ENODEV: case ETIMEDOUT: case ELOOP: case ENAMETOOLONG: break;
            default: child_fail(spawn, error);
            }
            last = error;
        }
        if (*end == '\0') break;
        entry = end + 1;
    }
    child_fail(spawn, denied ? EACCES : last == ENOTDIR || last == ELOOP ? ENOENT : last);
}

#endif  // POOLSYS_COMMAND_CHILD

int poolsys_spawn_command(char *const argv[], char *const envp[], int stdin_fd, int stdout_fd, int stderr_fd,
                          pid_t *pid, int *slot) {
    *slot = -1;
#if POOLSYS_COMMAND_CHILD
    struct command_spawn spawn = {argv, envp, NULL, stdin_fd, stdout_fd, stderr_fd, getpid(), NULL, 0};
    if (strchr(argv[0], '/') == NULL) {
        const char *path = getenv("PATH");
        spawn.search_path = path != NULL ? path : "/bin:/usr/bin";
    }
    pthread_mutex_lock(&guard.lock);
    guard_ensure_started();
    int claimed = guard_claim_slot();
    pthread_mutex_unlock(&guard.lock);
    if (claimed >= 0) spawn.slot = &guard.slots[claimed];
    char *stack = mmap(NULL, POOLSYS_CHILD_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
                       -1, 0);
    if (stack == MAP_FAILED) {
        int error = errno;
        guard_release(claimed);
        return error;
    }
    unsigned long old;
    block_all_signals(&old);
    long cloned = raw_clone(CLONE_VM | CLONE_VFORK | SIGCHLD, stack + POOLSYS_CHILD_STACK, command_child, &spawn);
    pid_t child = cloned < 0 ? -1 : (pid_t)cloned;
    int error = cloned < 0 ? (int)-cloned : 0;
    restore_signals(&old);
    munmap(stack, POOLSYS_CHILD_STACK);
    if (child < 0) {
        guard_release(claimed);
        return error;
    }
    if (spawn.error != 0) {
        // It has exited (CLONE_VFORK returns after exec or exit): free the slot before the pid
        // can be reused.
        guard_release(claimed);
        int status;
        while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
        return spawn.error;
    }
    *pid = child;
    *slot = claimed;
    return 0;
#else
    // Elsewhere: posix_spawnp into a process group of its own (no parent-death signal, no guard).
    posix_spawn_file_actions_t actions;
    int status = posix_spawn_file_actions_init(&actions);
    if (status != 0) return status;
    status = stdin_fd >= 0 ? posix_spawn_file_actions_adddup2(&actions, stdin_fd, 0)
                           : posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    if (status == 0) status = posix_spawn_file_actions_adddup2(&actions, stdout_fd, 1);
    if (status == 0) status = posix_spawn_file_actions_adddup2(&actions, stderr_fd, 2);
    posix_spawnattr_t attributes;
    if (status == 0) status = posix_spawnattr_init(&attributes);
    if (status == 0) {
        sigset_t empty, all;
        sigemptyset(&empty);
        sigfillset(&all);
        status = posix_spawnattr_setsigmask(&attributes, &empty);
        if (status == 0) status = posix_spawnattr_setsigdefault(&attributes, &all);
        if (status == 0) status = posix_spawnattr_setpgroup(&attributes, 0);
        if (status == 0) {
            status = posix_spawnattr_setflags(&attributes,
                                              POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
        }
        if (status == 0) status = posix_spawnp(pid, argv[0], &actions, &attributes, argv, envp);
        posix_spawnattr_destroy(&attributes);
    }
    posix_spawn_file_actions_destroy(&actions);
    return status;
#endif
}

int poolsys_wait_command(pid_t pid, int slot, int *wait_status) {
    // Wait for the end without reaping: while the command is a zombie its pid, which is also its
    // process group's id, cannot be reused, so killing the group hits only what it left behind.
    siginfo_t info;
    int waited;
    do {
        memset(&info, 0, sizeof(info));
        waited = waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT);
    } while (waited != 0 && errno == EINTR);
    if (waited == 0) kill(-pid, SIGKILL);
#if POOLSYS_COMMAND_CHILD
    guard_release(slot);
#else
    (void)slot;
#endif
    int status = 0;
    pid_t reaped;
    do {
        reaped = waitpid(pid, &status, 0);
    } while (reaped < 0 && errno == EINTR);
    if (reaped != pid) return errno;
    *wait_status = status;
    return 0;
}

int poolsys_command_has_ended(pid_t pid) {
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    int waited;
    do {
        waited = waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT);
    } while (waited != 0 && errno == EINTR);
    return waited == 0 && info.si_pid == pid;
}

int poolsys_command_guard_pid(void) {
#if POOLSYS_COMMAND_CHILD
    pthread_mutex_lock(&guard.lock);
    pid_t pid = guard.owner == getpid() ? guard.pid : 0;
    pthread_mutex_unlock(&guard.lock);
    return pid;
#else
    return 0;
#endif
}
