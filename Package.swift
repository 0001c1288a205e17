// swift-tools-version: 6.0
import PackageDescription

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
        .target(
            name: "DatapinKit",
            dependencies: ["CLibYAML", "CCurl", "CCrypto"]
        ),
        .executableTarget(
            name: "datapin",
            dependencies: [
                "DatapinKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(
            name: "TestSupport",
            dependencies: [
                "DatapinKit",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Tests/TestSupport"
        ),
        .testTarget(
            name: "DatapinKitTests",
            dependencies: ["DatapinKit", "TestSupport"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["DatapinKit", "TestSupport", "datapin"]
        ),
    ]
)
