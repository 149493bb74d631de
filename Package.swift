// swift-tools-version: 6.0
// pool-advisor: measure a task, decide threads or processes by explicit rules, then run it.
// The package depends on the Swift toolchain alone (stdlib, Foundation, Dispatch, Glibc,
// Synchronization, XCTest, Swift Testing): no `.package` dependencies, by the user's choice.

import PackageDescription

let strictSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "pool-advisor",
    products: [
        .library(name: "PoolAdvisor", targets: ["PoolAdvisor"]),
        .library(name: "PoolAdvisorCLI", targets: ["PoolAdvisorCLI"]),
        .executable(name: "pool-advisor", targets: ["pool-advisor"]),
        .executable(name: "pool-bench", targets: ["pool-bench"]),
    ],
    targets: [
        // The Linux calls that `import Glibc` hides (gettid, sched_getaffinity, pthread_setname_np).
        .target(name: "CPoolPlatform"),
        // The one platform layer: system calls retried on EINTR with typed errors, descriptors
        // (an owning one that closes once), files, pipes, locks, threads, signals, processes,
        // shared memory, clocks, the environment. Every other module calls the system through
        // it (and CPoolPlatform's atomics). Linux only, stopped with an #error elsewhere.
        .target(
            name: "PoolSystem",
            dependencies: ["CPoolPlatform"],
            swiftSettings: strictSettings
        ),
        // The binary Codable coder and the frame reader/writer (stdlib and PoolSystem only).
        .target(
            name: "PoolWire",
            dependencies: ["PoolSystem"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "PoolExecutors",
            dependencies: ["CPoolPlatform", "PoolSystem", "PoolWire"],
            swiftSettings: strictSettings
        ),
        // Clocks, the thread-state sampler, per-call accounting, the scaling probe, calibration.
        .target(
            name: "PoolProfiler",
            dependencies: ["CPoolPlatform", "PoolExecutors", "PoolSystem", "PoolWire"],
            // Embedded by .ci/embed-python as PythonWorkerSource.swift.
            exclude: ["Python/pool_advisor_worker.py", "Python/pool_advisor_workloads.py"],
            swiftSettings: strictSettings
        ),
        // The rule language: parse with file:line:col errors, check, evaluate, explain. Pure Swift.
        .target(
            name: "PoolRules",
            swiftSettings: strictSettings
        ),
        // The reference workloads: tasks with known behaviour (compute, sleep, locks, I/O).
        .target(
            name: "PoolWorkloads",
            dependencies: ["PoolExecutors", "PoolSystem"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "PoolAdvisor",
            dependencies: ["PoolExecutors", "PoolWire", "PoolProfiler", "PoolRules", "PoolWorkloads"],
            swiftSettings: strictSettings
        ),
        // The command line as a library, so a program with its own tasks gets the same CLI.
        .target(
            name: "PoolAdvisorCLI",
            dependencies: ["PoolAdvisor", "PoolSystem"],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "pool-advisor",
            dependencies: ["PoolAdvisorCLI"],
            swiftSettings: strictSettings
        ),
        // The tasks pool-bench runs in workers, shared with the lean worker executables.
        .target(
            name: "PoolBenchTasks",
            dependencies: ["PoolExecutors", "PoolWire"],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "pool-bench-worker",
            dependencies: ["PoolBenchTasks", "PoolExecutors"],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "pool-bench-worker-essentials",
            dependencies: ["PoolBenchTasks", "PoolExecutors"],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "pool-bench",
            dependencies: ["PoolAdvisor", "PoolBenchTasks", "pool-bench-worker", "pool-bench-worker-essentials"],
            exclude: ["Peers"],
            swiftSettings: strictSettings
        ),
        // Fault-injection tasks shared by the fixture worker and the tests (same names and signatures).
        .target(
            name: "PoolTestFixtures",
            dependencies: ["PoolExecutors", "PoolWire"],
            path: "Tests/Fixtures/PoolTestFixtures",
            swiftSettings: strictSettings
        ),
        // A worker executable the process-pool tests start (tasks that crash, hang, throw).
        .executableTarget(
            name: "pool-test-worker",
            dependencies: ["PoolExecutors", "PoolTestFixtures", "PoolAdvisorCLI"],
            path: "Tests/Fixtures/pool-test-worker",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "PoolExecutorsTests",
            dependencies: ["PoolExecutors", "PoolSystem", "PoolTestFixtures", "pool-test-worker"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "PoolWireTests",
            dependencies: ["CPoolPlatform", "PoolSystem", "PoolWire"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "PoolProfilerTests",
            dependencies: ["PoolProfiler", "PoolWorkloads", "PoolTestFixtures", "pool-test-worker"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "PoolRulesTests",
            dependencies: ["PoolRules"],
            swiftSettings: strictSettings
        ),
        // Tasks the PoolAdvisor tests count, fail and crash, and the CLI that serves them as workers.
        .target(
            name: "PoolAdvisorTestTasks",
            dependencies: ["PoolExecutors", "PoolSystem", "PoolWorkloads"],
            path: "Tests/Fixtures/PoolAdvisorTestTasks",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "pool-advisor-test-tool",
            dependencies: ["PoolAdvisor", "PoolAdvisorCLI", "PoolAdvisorTestTasks"],
            path: "Tests/Fixtures/pool-advisor-test-tool",
            swiftSettings: strictSettings
        ),
        // The README's and docs' Swift snippets as written (generated and checked by
        // DocSnippetTests), with the names they take as given: building the tests compiles them.
        .target(
            name: "DocSnippets",
            dependencies: ["PoolAdvisor", "PoolAdvisorCLI"],
            path: "Tests/Fixtures/DocSnippets",
            swiftSettings: strictSettings
        ),
        // docs/process-pool.md's whole program (an `@main` type), as written.
        .executableTarget(
            name: "doc-snippet-app",
            dependencies: ["PoolAdvisor"],
            path: "Tests/Fixtures/doc-snippet-app",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "PoolAdvisorTests",
            dependencies: [
                "PoolAdvisor", "PoolAdvisorCLI", "pool-advisor", "PoolAdvisorTestTasks", "pool-advisor-test-tool",
                "PoolTestFixtures", "pool-test-worker", "DocSnippets", "doc-snippet-app",
            ],
            swiftSettings: strictSettings
        ),
    ]
)
