// swift-tools-version:6.1
import PackageDescription

// Dependencies point one way: relctl → RelctlCLI → RelctlServer → RelctlRollout / RelctlRuntime →
// RelctlStorage (protocols) → RelctlCore. RelctlStore (SQLite through GRDB) implements RelctlStorage and
// only the server, the CLI, the benchmarks and the tests name it; Rollout and Runtime never do.
// RelctlPackages (zips) serves RelctlStore and RelctlRuntime; RelctlProcess (child processes that die with
// relctl) serves RelctlRuntime, RelctlRollout and the tests; RelctlSigV4 serves RelctlServer and RelctlRuntime.
let package = Package(
    name: "relctl",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "relctl", targets: ["relctl"]),
        .library(name: "RelctlStore", targets: ["RelctlStore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // Pure values and rules: names, ARNs, limits, routing, errors, the cleanup planner. No I/O.
        .target(name: "RelctlCore"),
        // Zip packages: validation (zip-slip, bombs, CRC), hashing, deterministic zipping of a folder.
        .target(
            name: "RelctlPackages",
            dependencies: [
                "RelctlCore",
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // AWS Signature Version 4: verifying signed requests (the server, the function-facing endpoint)
        // and signing outgoing ones (S3 reads).
        .target(
            name: "RelctlSigV4",
            dependencies: [
                "RelctlCore",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // Child processes: spawned with a clean descriptor table in their own process group, reaped,
        // and made to die with relctl (bubblewrap's PID namespace, or a parent-death signal).
        .target(name: "RelctlProcess"),
        // What relctl needs from storage, as protocols: the rollout engine's transaction, the runtime's
        // lookups, the code store. RelctlRollout and RelctlRuntime depend on these, not on an engine.
        .target(name: "RelctlStorage", dependencies: ["RelctlCore"]),
        // The SQL schema: `migrations/*.sql`, embedded in the binary and applied in order.
        .target(
            name: "RelctlMigrations",
            path: "migrations",
            sources: ["Migrations.swift"],
            resources: [.embedInCode("0001_registry.sql"), .embedInCode("0002_rollouts.sql"), .embedInCode("0003_concurrency.sql"), .embedInCode("0004_codedeploy.sql")]
        ),
        // The SQLite registry (GRDB, WAL), the migrator, the content-addressed blob store, quota, cleanup.
        .target(
            name: "RelctlStore",
            dependencies: [
                "RelctlCore",
                "RelctlPackages",
                "RelctlStorage",
                "RelctlMigrations",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        // The shipped deployment preferences: `policies/*.yaml`, embedded in the binary.
        .target(
            name: "RelctlPolicies",
            path: "policies",
            sources: ["Policies.swift"],
            resources: [
                .embedInCode("AllAtOnce.yaml"),
                .embedInCode("Canary10Percent5Minutes.yaml"), .embedInCode("Canary10Percent10Minutes.yaml"),
                .embedInCode("Canary10Percent15Minutes.yaml"), .embedInCode("Canary10Percent30Minutes.yaml"),
                .embedInCode("Linear10PercentEvery1Minute.yaml"), .embedInCode("Linear10PercentEvery2Minutes.yaml"),
                .embedInCode("Linear10PercentEvery3Minutes.yaml"), .embedInCode("Linear10PercentEvery10Minutes.yaml"),
            ]
        ),
        // The rollout controller: policy catalogue (YAML), the controller loop, the `exec:` hook runner.
        .target(
            name: "RelctlRollout",
            dependencies: [
                "RelctlCore",
                "RelctlStorage",
                "RelctlPolicies",
                "RelctlProcess",
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // The local runtime: package cache, instances speaking the Lambda Runtime API (Hummingbird),
        // weighted routing, warm pool, per-version metrics.
        .target(
            name: "RelctlRuntime",
            dependencies: [
                "RelctlCore",
                "RelctlStorage",
                "RelctlPackages",
                "RelctlProcess",
                "RelctlSigV4",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            ]
        ),
        // `relctl serve`: the AWS-compatible HTTP API (Lambda rest-json, CodeDeploy JSON 1.1), SigV4,
        // /metrics, with the controller and the warm runtime pool as services.
        .target(
            name: "RelctlServer",
            dependencies: [
                "RelctlCore",
                "RelctlStore",
                "RelctlRuntime",
                "RelctlRollout",
                "RelctlSigV4",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // Subcommands and rendering (tables and AWS-shaped JSON).
        .target(
            name: "RelctlCLI",
            dependencies: [
                "RelctlCore",
                "RelctlPackages",
                "RelctlStorage",
                "RelctlStore",
                "RelctlRollout",
                "RelctlRuntime",
                "RelctlServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(name: "relctl", dependencies: ["RelctlCLI"]),
        .executableTarget(
            name: "relctl-bench",
            dependencies: [
                "RelctlCore", "RelctlStorage", "RelctlStore", "RelctlPackages", "RelctlRollout", "RelctlRuntime", "RelctlProcess",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Benchmarks/RelctlBenchmarks"
        ),
        // The canary judge's seeded figures (pure: RelctlCore only, so its release build is quick).
        .executableTarget(name: "relctl-judge-bench", dependencies: ["RelctlCore"], path: "Benchmarks/JudgeBenchmarks"),
        .testTarget(
            name: "RelctlTests",
            dependencies: [
                "RelctlCore", "RelctlPackages", "RelctlStorage", "RelctlStore", "RelctlMigrations", "RelctlRollout", "RelctlPolicies", "RelctlRuntime",
                "RelctlProcess", "RelctlSigV4",
                // To write zips no builder would (links in any order, entries under a link).
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            ]
        ),
        // End-to-end: runs the built `relctl` binary as a child process (and SIGKILLs it).
        .testTarget(
            name: "RelctlCLITests",
            dependencies: ["RelctlCore", "RelctlStore", "RelctlProcess", "relctl"]
        ),
    ]
)
