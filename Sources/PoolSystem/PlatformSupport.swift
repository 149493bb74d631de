// PoolSystem is the one place pool-advisor calls the operating system: every other module goes
// through the wrappers here, grouped by topic (files, pipes and descriptors, locks, threads,
// signals, processes, memory, clocks, system facts, the environment). The wrappers
// reach CPoolPlatform's C shims for what `import Glibc` hides; other modules use CPoolPlatform
// directly only for its inline atomics, fences and CPU-relax hint (the progress page's seqlock,
// the spin lock), which are instructions rather than calls, and its system-call classifier.
//
// Linux is what is built and tested: the pools read /proc, spawn with posix_spawn and Linux
// flags, map shared memory with memfd, set a parent-death signal and sample threads through
// /proc/<pid>/task. A port fills this module (and CPoolPlatform) for another system; until then
// the build stops here rather than compiling branches that could not work.
#if !os(Linux)
    #error(
        "pool-advisor supports Linux only: a port provides PoolSystem's wrappers (descriptors, files, locks, threads, signals, processes, memory, clocks, environment) and CPoolPlatform's shims (spawn, thread ids, affinity, shared memory, parent death) for the new system"
    )
#endif
