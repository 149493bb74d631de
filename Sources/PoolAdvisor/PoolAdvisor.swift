// `import PoolAdvisor` gives the whole public API: this module re-exports the others as they
// land (executors, the wire codec, the profiler and the reference workloads; rules and the
// advisor in later issues).
@_exported public import PoolExecutors
@_exported public import PoolProfiler
@_exported public import PoolWire
@_exported public import PoolWorkloads
