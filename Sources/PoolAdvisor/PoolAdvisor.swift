// `import PoolAdvisor` gives the whole public API: this module re-exports the others as they
// land (executors now; the wire codec, profiler, rules and advisor in later issues).
@_exported public import PoolExecutors
@_exported public import PoolWire
