// swift-tools-version:6.1
import PackageDescription

// Dependencies point one way: relctl → RelctlCLI → RelctlServer → RelctlRollout / RelctlRuntime →
// RelctlStorage (protocols) → RelctlCore. RelctlStore (SQLite through GRDB) implements RelctlStorage and
// only the server, the CLI, the benchmarks and the tests name it; Rollout and Runtime never do.
// RelctlSystem (stat, readdir and a CPU clock as Swift values) serves every module that looks at files.
// RelctlPackages (zips) serves RelctlStore and RelctlRuntime; RelctlProcess (child processes that die with
// relctl) serves RelctlRuntime, RelctlRollout and the tests; RelctlSigV4 serves RelctlServer and RelctlRuntime.
// RelctlSAM (SAM templates → a stack model → a change set, pure) serves RelctlStacks (the stack engine over the
// registry and the rollout engine), which serves RelctlCLI and RelctlServer (its CloudFormation API).
// RelctlNotify (the webhook dispatcher, over RelctlStorage's EventStore) serves RelctlServer and RelctlCLI.
// RelctlPostgres (PostgreSQL through postgres-nio: RolloutStore, RegistryRecords, leader election) implements
// RelctlStorage beside RelctlStore and never names it; RelctlS3 (the bucket code store) implements its
// CodeObjectStore. RelctlMigrate (migrate-store: SQLite → PostgreSQL + bucket) names both stores and serves
// RelctlCLI. The CLI picks the engines (`--database`, `--code-store`) and hands them to the server.

/// Every module declares what it imports (`MemberImportVisibility`). `stat`/`dirent`/`timespec` fields are read
/// only in RelctlSystem (it imports just the C library): on Linux the compiler attributes glibc's structs to whichever
/// module a compile loaded first (CoreFoundation, CDispatch…), so a module importing Foundation that read them
/// had no import list that stayed right across clean and incremental builds.
let strictImports: [SwiftSetting] = [.enableUpcomingFeature("MemberImportVisibility")]

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
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/CoreOffice/XMLCoder", from: "0.18.2"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // Pure values and rules: names, ARNs, limits, routing, errors, the cleanup planner. No I/O.
        .target(name: "RelctlCore", swiftSettings: strictImports),
        // Zip packages: validation (zip-slip, bombs, CRC), hashing, deterministic zipping of a folder.
        .target(
            name: "RelctlPackages",
            dependencies: [
                "RelctlCore",
                "RelctlSystem",
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictImports
        ),
        // AWS Signature Version 4: verifying signed requests (the server, the function-facing endpoint)
        // and signing outgoing ones (S3 reads).
        .target(
            name: "RelctlSigV4",
            dependencies: [
                "RelctlCore",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictImports
        ),
        // What the C library reports (stat, readdir, a thread's CPU clock) as Swift values; it imports nothing else.
        .target(name: "RelctlSystem", swiftSettings: strictImports),
        // Child processes: spawned with a clean descriptor table in their own process group, reaped,
        // and made to die with relctl (bubblewrap's PID namespace, or a parent-death signal).
        .target(name: "RelctlProcess", swiftSettings: strictImports),
        // What relctl needs from storage, as protocols: the rollout engine's transaction, the runtime's
        // lookups, the code store. RelctlRollout and RelctlRuntime depend on these, not on an engine.
        .target(name: "RelctlStorage", dependencies: ["RelctlCore"], swiftSettings: strictImports),
        // The SQL schema: `migrations/*.sql` (SQLite) and `migrations/postgres/*.sql` (PostgreSQL), embedded in
        // the binary and applied in order.
        .target(
            name: "RelctlMigrations",
            path: "migrations",
            sources: ["Migrations.swift"],
            resources: [
                .embedInCode("0001_registry.sql"), .embedInCode("0002_rollouts.sql"),
                .embedInCode("0003_concurrency.sql"), .embedInCode("0004_codedeploy.sql"),
                .embedInCode("0005_stacks.sql"), .embedInCode("0006_events.sql"), .embedInCode("0007_judge.sql"),
                .embedInCode("0008_releases.sql"), .embedInCode("0009_lambda_fidelity.sql"),
                .embedInCode("0010_cloudformation.sql"),
                .embedInCode("postgres/0001_pg_rollout.sql"), .embedInCode("postgres/0002_pg_releases.sql"),
                .embedInCode("postgres/0005_pg_registry_rest.sql"),
                .embedInCode("postgres/0007_pg_concurrency_leases.sql"),
            ],
            swiftSettings: strictImports
        ),
        // The SQLite registry (GRDB, WAL), the migrator, the content-addressed blob store, quota, cleanup.
        .target(
            name: "RelctlStore",
            dependencies: [
                "RelctlCore",
                "RelctlSystem",
                "RelctlPackages",
                "RelctlStorage",
                "RelctlMigrations",
                .product(name: "GRDB", package: "GRDB.swift"),
                // The WAL hook that hands checkpoints to a background connection (`WALCheckpointer`).
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            swiftSettings: strictImports
        ),
        // The PostgreSQL store (postgres-nio): its own migrations (`migrations/postgres/*.sql`, embedded), the
        // rollout transaction, registry records, leader election with fencing, LISTEN/NOTIFY wake-ups (issue 10).
        .target(
            name: "RelctlPostgres",
            dependencies: [
                "RelctlCore",
                "RelctlStorage",
                "RelctlMigrations",
                "RelctlPackages",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictImports
        ),
        // `relctl migrate-store`: the SQLite registry of a data directory (read-only, one snapshot) copied into an
        // empty PostgreSQL database in one transaction, its code into a code store, then both verified (issue 10 §4).
        .target(
            name: "RelctlMigrate",
            dependencies: [
                "RelctlCore", "RelctlStorage", "RelctlStore", "RelctlMigrations", "RelctlPostgres",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strictImports
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
            ],
            swiftSettings: strictImports
        ),
        // The rollout controller: policy catalogue (YAML), the controller loop, the `exec:` hook runner.
        .target(
            name: "RelctlRollout",
            dependencies: [
                "RelctlCore",
                "RelctlSystem",
                "RelctlStorage",
                "RelctlPolicies",
                "RelctlProcess",
                .product(name: "Yams", package: "Yams"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strictImports
        ),
        // The local runtime: package cache, instances speaking the Lambda Runtime API (Hummingbird),
        // weighted routing, warm pool, per-version metrics.
        .target(
            name: "RelctlRuntime",
            dependencies: [
                "RelctlCore",
                "RelctlSystem",
                "RelctlStorage",
                "RelctlPackages",
                "RelctlProcess",
                "RelctlSigV4",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            ],
            swiftSettings: strictImports
        ),
        // An S3-compatible content-addressed code store (`--code-store s3://bucket/prefix`): RelctlStorage's
        // CodeObjectStore over AsyncHTTPClient, signed with RelctlSigV4. RelctlStore does not depend on it.
        .target(
            name: "RelctlS3",
            dependencies: [
                "RelctlCore",
                "RelctlSystem",
                "RelctlStorage",
                "RelctlSigV4",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "XMLCoder", package: "XMLCoder"),
            ],
            swiftSettings: strictImports
        ),
        // Webhooks: delivers the event log to subscribers (signed, retried, in order) from a cursor per webhook.
        .target(
            name: "RelctlNotify",
            dependencies: [
                "RelctlCore",
                "RelctlStorage",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictImports
        ),
        // `relctl serve`: the AWS-compatible HTTP API (Lambda rest-json, CodeDeploy JSON 1.1), SigV4,
        // /metrics, with the controller and the warm runtime pool as services.
        .target(
            name: "RelctlServer",
            dependencies: [
                "RelctlCore",
                "RelctlPackages",
                "RelctlStorage",
                "RelctlStore",
                "RelctlRuntime",
                "RelctlRollout",
                "RelctlNotify",
                "RelctlSigV4",
                "RelctlSAM",
                "RelctlStacks",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "XMLCoder", package: "XMLCoder"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            // The dashboard's page, served at `/` from the binary (no CDN, works offline).
            resources: [
                .embedInCode("Dashboard/dashboard.html"), .embedInCode("Dashboard/dashboard.css"),
                .embedInCode("Dashboard/dashboard.js"),
            ],
            swiftSettings: strictImports
        ),
        // The stack engine `relctl sam deploy` and the server's CloudFormation API share: a SAM template's
        // plan checked against the registry, applied, its deployments followed, a stack deleted.
        .target(
            name: "RelctlStacks",
            dependencies: [
                "RelctlCore", "RelctlPackages", "RelctlSAM", "RelctlStorage", "RelctlStore", "RelctlRollout",
                "RelctlRuntime",
            ],
            swiftSettings: strictImports
        ),
        // SAM templates, pure: YAML/JSON with intrinsics → a typed stack model → a change set (no I/O).
        .target(
            name: "RelctlSAM", dependencies: ["RelctlCore", .product(name: "Yams", package: "Yams")],
            swiftSettings: strictImports),
        // Subcommands and rendering (tables and AWS-shaped JSON).
        .target(
            name: "RelctlCLI",
            dependencies: [
                "RelctlCore",
                "RelctlSystem",
                "RelctlPackages",
                "RelctlSAM",
                "RelctlStacks",
                "RelctlStorage",
                "RelctlStore",
                "RelctlRollout",
                "RelctlRuntime",
                "RelctlServer",
                "RelctlNotify",
                "RelctlS3",
                "RelctlPostgres",
                "RelctlMigrate",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictImports
        ),
        .executableTarget(name: "relctl", dependencies: ["RelctlCLI"], swiftSettings: strictImports),
        .executableTarget(
            name: "relctl-bench",
            dependencies: [
                "RelctlCore", "RelctlStorage", "RelctlStore", "RelctlPackages", "RelctlRollout", "RelctlRuntime",
                "RelctlProcess",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Benchmarks/RelctlBenchmarks",
            swiftSettings: strictImports
        ),
        // The PostgreSQL store beside SQLite (needs a running PostgreSQL; see its main.swift).
        .executableTarget(
            name: "relctl-pg-bench",
            dependencies: [
                "RelctlCore", "RelctlPackages", "RelctlPostgres", "RelctlStorage", "RelctlStore", "RelctlMigrate",
                // The raw-scan baselines: rows read straight through each engine's driver.
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/PostgresBenchmarks",
            swiftSettings: strictImports
        ),
        // The canary judge's seeded figures (RelctlCore and RelctlSystem only, so its release build is quick).
        .executableTarget(
            name: "relctl-judge-bench", dependencies: ["RelctlCore", "RelctlSystem"],
            path: "Benchmarks/JudgeBenchmarks",
            swiftSettings: strictImports),
        .testTarget(
            name: "RelctlTests",
            dependencies: [
                "RelctlCore", "RelctlPackages", "RelctlStorage", "RelctlStore", "RelctlMigrations", "RelctlRollout",
                "RelctlPolicies", "RelctlRuntime",
                "RelctlProcess", "RelctlSigV4", "RelctlNotify", "RelctlS3", "RelctlPostgres", "RelctlMigrate",
                // The stack engine over either engine's stores (S3 subset and CloudFormation on PostgreSQL).
                "RelctlStacks", "RelctlSAM",
                // The failover test runs `relctl controller run` processes.
                "relctl",
                // To write zips no builder would (links in any order, entries under a link).
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            ],
            swiftSettings: strictImports
        ),
        .testTarget(name: "RelctlSAMTests", dependencies: ["RelctlSAM", "RelctlCore"], swiftSettings: strictImports),
        // End-to-end: runs the built `relctl` binary as a child process (and SIGKILLs it).
        .testTarget(
            name: "RelctlCLITests",
            // RelctlPostgres: the shared PostgresCluster support (Tests/RelctlTests/Support) starts the servers' database.
            dependencies: ["RelctlCore", "RelctlStore", "RelctlProcess", "RelctlPostgres", "relctl"],
            exclude: [
                "Support/two_servers.py", "Support/shared_functions.py", "Support/lambda_clients.py",
                "Support/invoke_two_servers.py", "Support/shared_layers.py",
                // MARK: S3 subset and CloudFormation (S)
                "Support/shared_artifacts.py",
            ],
            swiftSettings: strictImports
        ),
    ]
)
