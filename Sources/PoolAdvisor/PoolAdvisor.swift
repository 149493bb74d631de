// `import PoolAdvisor` gives the whole public API: the advisor and its cost model here, and the
// executors, the wire codec, the profiler, the rule language and the reference workloads re-exported.
@_exported public import PoolExecutors
@_exported public import PoolProfiler
@_exported public import PoolRules
@_exported public import PoolWire
@_exported public import PoolWorkloads

/// The library's version, printed by `pool-advisor --version`.
public enum PoolAdvisorVersion {
    /// Semantic version of the library and the CLI.
    public static let current = "0.5.0"
}
