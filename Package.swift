// swift-tools-version:6.1
import PackageDescription

/// One set of Swift settings for every target (STYLE.md rule 1).
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

/// The Swift runtime and Foundation linked into the binary (see the `corral` target).
let staticStdlibInRelease = SwiftSetting.unsafeFlags(["-static-stdlib"], .when(platforms: [.linux], configuration: .release))

let package = Package(
    name: "corral",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "corral", targets: ["corral"]),
        .library(name: "CorralSandbox", targets: ["CorralSandbox"]),
        .library(name: "CorralRuntimes", targets: ["CorralRuntimes"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // Traits named explicitly: SwiftPM 6.3.1 passes default trait flags in random order and rebuilds otherwise.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: ["FullFoundation"]),
        // WebSocket upgrades (a session process's interactive stdin/stdout): HummingbirdWebSocket only.
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // Already built for Hummingbird: named here for the NATS and Redis clients' sockets.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        // HMAC of the desktop viewer's signed links (CorralHTTP); already resolved for PostgresNIO.
        .package(url: "https://github.com/apple/swift-crypto.git", "3.0.0"..<"5.0.0"),
        // Fleet history in PostgreSQL (its TLS and crypto are built for Hummingbird's packages already).
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // C: only what runs between clone and execve (async-signal-safe).
        .target(
            name: "CCorralJail",
            cSettings: [.define("_GNU_SOURCE")],
            // Every binary with a jail init binds its symbols at load: the init unmaps the heap it
            // inherits (corral_jail.c, shed_inherited_memory), so it must never need the dynamic
            // linker's lazy resolution, whose tables may live there. Full RELRO comes with it.
            linkerSettings: [.unsafeFlags(["-Xlinker", "-z", "-Xlinker", "now"])]
        ),
        // Host-side syscalls Swift's Glibc does not export.
        .target(name: "CCorralSyscalls", cSettings: [.define("_GNU_SOURCE")]),
        // libseccomp from Debian (libseccomp-dev), used to compile the filter once per process.
        .systemLibrary(
            name: "CSeccomp",
            pkgConfig: "libseccomp",
            providers: [.apt(["libseccomp-dev"])]
        ),
        .target(
            name: "CorralSandbox",
            dependencies: ["CCorralJail", "CCorralSyscalls", "CSeccomp"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CorralRuntimes",
            dependencies: ["CorralSandbox"],
            resources: [.copy("Catalog/languages.json")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CorralPolicy",
            dependencies: ["CorralSandbox", "CorralRuntimes"],
            resources: [.copy("Resources")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CorralStore",
            dependencies: ["CorralSandbox", .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        // A blocking HTTP/1.1 client: the CLI's to a running server, the benchmarks', task callbacks'.
        .target(name: "CorralClient", swiftSettings: swiftSettings),
        .target(
            name: "CorralEngine",
            dependencies: [
                "CorralSandbox", "CorralRuntimes", "CorralPolicy", "CorralStore", "CorralClient",
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("Sessions/Resources")],
            swiftSettings: swiftSettings
        ),
        // A NATS client of our own (no NATS package builds on Linux here): core protocol on SwiftNIO.
        .target(
            name: "CorralNATSClient",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // A small Redis (RESP2) client on SwiftNIO and the fleet's shared result cache over it.
        .target(
            name: "CorralRedis",
            dependencies: ["CorralStore", "CorralSandbox", .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOPosix", package: "swift-nio"), .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        // Execution history of a fleet in PostgreSQL, behind the same HistoryStore protocol as SQLite.
        .target(
            name: "CorralPostgres",
            dependencies: ["CorralStore", .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        // Seed 000's NATS service (agent.<name>.*) and the NATS service API ($SRV.*) over the engine.
        .target(
            name: "CorralNATS",
            dependencies: ["CorralEngine", "CorralStore", "CorralNATSClient", .product(name: "Logging", package: "swift-log"),
                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")],
            swiftSettings: swiftSettings
        ),
        // The code agent (seed 004): an OpenAI-compatible model client and the loop that runs its
        // Python actions in a session; presets and templates as data.
        .target(
            name: "CorralAgent",
            dependencies: ["CorralEngine", "CorralPolicy", "CorralClient"],
            resources: [.copy("Resources/presets.json")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CorralHTTP",
            dependencies: [
                "CorralEngine", "CorralPolicy",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "corral",
            dependencies: [
                "CorralSandbox", "CorralRuntimes", "CorralPolicy", "CorralStore", "CorralEngine", "CorralHTTP", "CorralClient", "CorralNATS", "CorralRedis", "CorralPostgres",
                "CorralAgent",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // `corral run` is a new process each time: with the Swift runtime and Foundation as 20
            // shared libraries, loading and relocating them cost more than the jail. Linked
            // statically (release only, where one-shot latency is measured), a start maps one
            // file. Compiling this target with the flag too makes its object files name the
            // static Foundation's own dependencies (CoreFoundation, ICU) for the linker. Debug
            // builds and the test targets keep the shared libraries (faster links).
            swiftSettings: swiftSettings + [staticStdlibInRelease],
            linkerSettings: [.unsafeFlags(["-static-stdlib"], .when(platforms: [.linux], configuration: .release))]
        ),
        .executableTarget(
            name: "corral-bench",
            dependencies: ["CorralSandbox", "CorralRuntimes", "CorralPolicy", "CorralStore", "CorralEngine", "CorralClient", "CorralNATSClient"],
            path: "Sources/corral-bench",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CorralTestSupport",
            dependencies: ["CorralSandbox", "CorralRuntimes"],
            path: "Tests/CorralTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CorralSandboxTests",
            dependencies: ["CorralSandbox", "CorralRuntimes", "CorralTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CorralRuntimesTests",
            dependencies: ["CorralRuntimes", "CorralSandbox", "CorralTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CorralPolicyTests",
            dependencies: ["CorralPolicy", "CorralTestSupport"],
            resources: [.copy("Corpus")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CorralStoreTests",
            dependencies: ["CorralStore", "CorralPostgres", "CorralTestSupport", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CorralEngineTests",
            dependencies: ["CorralEngine", "CorralPolicy", "CorralRuntimes", "CorralSandbox", "CorralStore", "CorralTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CorralHTTPTests",
            dependencies: [
                "CorralHTTP", "CorralEngine", "CorralStore", "CorralTestSupport", "CorralAgent",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CorralNATSTests",
            dependencies: ["CorralNATSClient", "CorralNATS", "CorralRedis", "CorralPostgres", "CorralEngine", "CorralStore", "CorralSandbox", "CorralTestSupport",
                           .product(name: "Logging", package: "swift-log"), .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CorralAgentTests",
            dependencies: ["CorralAgent", "CorralHTTP", "CorralEngine", "CorralPolicy", "CorralStore", "CorralTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CorralCLITests",
            // The engine too: a test compares the CLI's figures with the library's.
            dependencies: ["CorralTestSupport", "CorralEngine", "CorralSandbox", "CorralStore"],
            swiftSettings: swiftSettings
        ),
    ]
)
