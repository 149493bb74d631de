// PoolSystem is the one place pool-advisor calls the operating system: every other module goes
// through the wrappers here (and CPoolPlatform's C shims for what `import Glibc` hides).
//
// Linux is what is built and tested: the pools read /proc, spawn with posix_spawn and Linux
// flags, map shared memory with memfd, set a parent-death signal and sample threads through
// /proc/<pid>/task. A port fills this module (and CPoolPlatform) for another system; until then
// the build stops here rather than compiling branches that could not work.
#if !os(Linux)
    #error(
        "pool-advisor supports Linux only: a port provides PoolSystem's wrappers (descriptors, clocks, environment) and CPoolPlatform's shims (spawn, thread ids, affinity, shared memory, parent death) for the new system"
    )
#endif
