// Thin C shim for the few Linux calls that Swift's `import Glibc` does not expose
// (they need _GNU_SOURCE or are variadic). Toolchain-only: this target is part of the package.
#ifndef CPOOLPLATFORM_H
#define CPOOLPLATFORM_H

#include <sys/types.h>
#include <stdint.h>
#include <stddef.h>

/// Names the calling thread (Linux truncates to 15 bytes). Returns 0 or an errno value.
int poolsys_set_current_thread_name(const char *name);

/// Number of CPUs in this thread's affinity mask (sched_getaffinity), or -1 if unknown.
int poolsys_affinity_cpu_count(void);

/// Kernel thread id of the calling thread (gettid), or -1 where there is none.
long poolsys_current_thread_id(void);

/// pipe2(O_CLOEXEC): both ends close-on-exec from birth, so a concurrent spawn elsewhere in
/// the process cannot inherit them. Returns 0 or an errno value.
int poolsys_pipe_cloexec(int fds[2]);

/// Asks for a pipe capacity of `bytes` (F_SETPIPE_SZ); a refusal is harmless. Returns the new
/// capacity or -1.
int poolsys_set_pipe_capacity(int fd, int bytes);

/// Starts `path` with posix_spawn: `child_fds[i]` becomes descriptor 3+i in the child, stdin is
/// /dev/null, stdout and stderr are inherited, every other descriptor is closed
/// (posix_spawn_file_actions_addclosefrom_np), the signal mask is emptied and every signal's
/// disposition reset. No code of ours runs in the child before exec. Returns 0 or an errno value.
int poolsys_spawn(const char *path, char *const argv[], char *const envp[],
                  const int *child_fds, int count, pid_t *pid);

/// Starts the command `argv` (argv[0] searched in PATH, as execvp would) with stdin on `stdin_fd`
/// (/dev/null when it is -1), stdout on `stdout_fd`, stderr on `stderr_fd`, every other descriptor closed, the signal mask
/// emptied and every signal's disposition reset, in a process group of its own. On Linux it
/// also gets PR_SET_PDEATHSIG(SIGKILL), and its group is listed with this process's command
/// guard (started on first use), which kills the group when this process ends however it ends.
/// `*slot` receives the guard slot to pass to poolsys_wait_command. Returns 0 or an errno value.
int poolsys_spawn_command(char *const argv[], char *const envp[], int stdin_fd, int stdout_fd, int stderr_fd,
                          pid_t *pid, int *slot);

/// Waits for a command from poolsys_spawn_command to end, kills what is left of its process
/// group (before reaping it, so the group id cannot have been reused), frees its guard slot and
/// reaps it. `*wait_status` receives the waitpid status. Returns 0 or an errno value.
int poolsys_wait_command(pid_t pid, int slot, int *wait_status);

/// Whether a command from poolsys_spawn_command has ended, without reaping it (waitid with
/// WNOWAIT): poolsys_wait_command must still reap it and free its slot.
int poolsys_command_has_ended(pid_t pid);

/// The pid of this process's command guard, or 0 when none runs (for tests and diagnostics).
int poolsys_command_guard_pid(void);

/// A close-on-exec anonymous shared-memory file of `bytes` (memfd_create + ftruncate), or -1.
int poolsys_shared_memory(const char *name, size_t bytes);

/// Like poolsys_shared_memory, but sealed at `bytes` (F_SEAL_SHRINK, F_SEAL_GROW, and F_SEAL_SEAL
/// when `final`), so no process that holds it can change its size. Returns the descriptor, or -1
/// with errno set.
int poolsys_sealed_shared_memory(const char *name, size_t bytes, int final);

/// Forbids every further write to a shared-memory file made with `final` 0 (F_SEAL_WRITE,
/// F_SEAL_SEAL; no writable mapping may remain). Returns 0 or an errno value.
int poolsys_seal_writes(int fd);

/// Whether a shared-memory file's size is sealed and whether its writes are. 0 or an errno value.
int poolsys_shared_memory_seals(int fd, int *sealed_size, int *sealed_writes);

/// Allocates the pages of bytes [offset, offset + bytes) of a shared-memory file (fallocate), so
/// that storing there cannot fault for lack of memory. Returns 0 or an errno value.
int poolsys_reserve_shared_memory(int fd, size_t offset, size_t bytes);

/// Gives the pages of bytes [offset, offset + bytes) back to the system (a hole punched with
/// fallocate; they read as zeros after). Returns 0 or an errno value.
int poolsys_release_shared_memory(int fd, size_t offset, size_t bytes);

/// Asks the kernel to send `signal_number` to this process when its parent thread exits
/// (PR_SET_PDEATHSIG). Returns 0 or an errno value (ENOSYS off Linux).
int poolsys_set_parent_death_signal(int signal_number);

/// Copies the main executable's GNU build-id note into `out` (at most `capacity` bytes);
/// returns its length, or 0 when the binary has none.
size_t poolsys_executable_build_id(unsigned char *out, size_t capacity);

/// Atomic 64-bit load (acquire) and store (release) on memory shared between processes.
static inline uint64_t poolsys_load_acquire(const uint64_t *address) {
    return __atomic_load_n(address, __ATOMIC_ACQUIRE);
}
static inline void poolsys_store_release(uint64_t *address, uint64_t value) {
    __atomic_store_n(address, value, __ATOMIC_RELEASE);
}

/// Thread fences for a sequence lock on shared memory (the progress page). Release: no store
/// after the fence becomes visible before the stores ahead of it (a writer's data stores cannot
/// overtake the store that made its sequence odd). Acquire: no load after the fence is served
/// before the loads ahead of it (a reader's data loads cannot drift past its final sequence
/// load). On x86 both only stop the compiler from reordering; on ARM they are barriers.
static inline void poolsys_fence_release(void) {
    __atomic_thread_fence(__ATOMIC_RELEASE);
}
static inline void poolsys_fence_acquire(void) {
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
}

/// A spin-wait hint for the CPU (`pause` on x86, `yield` on ARM): lets the sibling
/// hyper-thread run and saves power while a thread polls a flag for a few microseconds.
static inline void poolsys_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/// Voluntary and involuntary context switches and CPU time (ns) of the calling thread
/// (getrusage RUSAGE_THREAD, Linux only). Returns 0 or an errno value.
int poolsys_thread_usage(long *voluntary, long *involuntary, int64_t *cpu_ns);
/// CPU time (user + system, ns) of this process's reaped children (getrusage RUSAGE_CHILDREN).
int64_t poolsys_children_cpu_ns(void);

/// What a blocked thread's current system call says it waits for, judged by this platform's own
/// syscall numbers (so no table of numbers lives in Swift).
typedef enum {
    POOLSYS_CALL_OTHER = 0,
    POOLSYS_CALL_FUTEX = 1,     ///< futex: the operation (argument 2) tells a lock from a condition
    POOLSYS_CALL_READ = 2,      ///< read-like call on a descriptor (argument 1): pipe, socket or file
    POOLSYS_CALL_POLL = 3,      ///< poll/select/epoll: waiting on descriptors
    POOLSYS_CALL_NETWORK = 4,   ///< accept/connect/recv/send: sockets
    POOLSYS_CALL_SYNC = 5,      ///< fsync/fdatasync/sync_file_range: disk
    POOLSYS_CALL_WRITE = 6,     ///< write-like call on a descriptor (argument 1)
    POOLSYS_CALL_SLEEP = 7,     ///< nanosleep/clock_nanosleep
    POOLSYS_CALL_CHILD = 8,     ///< wait4/waitid: waiting for a child process
} poolsys_call_kind;

/// Classifies system call `number` (as printed in /proc/.../syscall).
poolsys_call_kind poolsys_classify_syscall(long number);

#endif
