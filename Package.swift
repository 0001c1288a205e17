// swift-tools-version: 6.0
import PackageDescription

// One library target per layer of DESIGN.md's flow, so an import that runs backwards does not
// compile: Support ← Spec ← Lock ← Selection ← Archives ← Resolution, Transfer ← Sync ← Export,
// and the CLI over all of them. DatapinKit re-exports every layer for code that uses datapin
// as a library.
let layers: [(name: String, folder: String, dependencies: [Target.Dependency])] = [
    ("DatapinSupport", "Support", ["CLibYAML", "CCrypto"]),
    ("DatapinSpec", "Spec", ["DatapinSupport"]),
    ("DatapinLock", "Lock", ["DatapinSpec", "DatapinSupport"]),
    ("DatapinSelection", "Selection", ["DatapinLock", "DatapinSpec", "DatapinSupport"]),
    ("DatapinTransfer", "Transfer", ["DatapinSupport", "CCurl"]),
    ("DatapinArchives", "Archives", ["DatapinSelection", "DatapinLock", "DatapinSpec", "DatapinTransfer", "DatapinSupport"]),
    ("DatapinResolution", "Resolution", ["DatapinArchives", "DatapinSelection", "DatapinLock", "DatapinSpec", "DatapinSupport"]),
    ("DatapinSync", "Sync", ["DatapinSelection", "DatapinLock", "DatapinTransfer", "DatapinSpec", "DatapinSupport"]),
    ("DatapinExport", "Export", ["DatapinSync", "DatapinSelection", "DatapinLock", "DatapinSpec", "DatapinSupport"]),
]

let package = Package(
    name: "datapin",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "datapin", targets: ["datapin"]),
        .library(name: "DatapinKit", targets: ["DatapinKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.70.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CLibYAML",
            pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"])]
        ),
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .systemLibrary(
            name: "CCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
    ] + layers.map { layer in
        .target(name: layer.name, dependencies: layer.dependencies, path: "Sources/DatapinKit/\(layer.folder)")
    } + [
        .target(
            name: "DatapinKit",
            dependencies: layers.map { .target(name: $0.name) },
            path: "Sources/DatapinKit/Exports"
        ),
        .target(
            name: "DatapinCLI",
            dependencies: [
                "DatapinKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "datapin",
            dependencies: ["DatapinCLI"]
        ),
        .target(
            name: "TestSupport",
            dependencies: [
                "DatapinKit",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Tests/TestSupport",
            resources: [.copy("Fixtures")]
        ),
        .executableTarget(
            name: "loopback-mast",
            dependencies: ["TestSupport"],
            path: "Tests/LoopbackMAST"
        ),
        .executableTarget(
            name: "loopback-eso",
            dependencies: ["TestSupport"],
            path: "Tests/LoopbackESO"
        ),
        .testTarget(
            name: "DatapinKitTests",
            dependencies: ["DatapinKit", "TestSupport"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["DatapinKit", "DatapinCLI", "TestSupport", "datapin"]
        ),
    ]
)
