// swift-tools-version:6.1
import PackageDescription

/// One set of Swift settings for every target (STYLE.md rule 1).
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

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
    ],
    targets: [
        // C: only what runs between clone and execve (async-signal-safe).
        .target(
            name: "CCorralJail",
            cSettings: [.define("_GNU_SOURCE")]
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
        .executableTarget(
            name: "corral",
            dependencies: [
                "CorralSandbox", "CorralRuntimes", "CorralPolicy",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "corral-bench",
            dependencies: ["CorralSandbox", "CorralRuntimes", "CorralPolicy"],
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
            name: "CorralCLITests",
            dependencies: ["CorralTestSupport"],
            swiftSettings: swiftSettings
        ),
    ]
)
