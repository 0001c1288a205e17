// swift-tools-version: 6.0
// The libFuzzer targets of datapin, a package of their own so that the normal `swift build` and
// `swift test` never see them. Built and run by `scripts/fuzz` (see its --help):
//   swift build --package-path Fuzz --scratch-path .build-fuzz -c release --toolset Fuzz/toolset.json \
//       -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing
import Foundation
import PackageDescription

// A path dependency is known by its folder's name (`main`, a worktree's name, …), not by the
// name in its manifest.
let datapin = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()

func fuzzTarget(_ name: String) -> Target {
    .executableTarget(name: name, dependencies: ["FuzzSupport"])
}

let package = Package(
    name: "DatapinFuzz",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(path: datapin.path),
    ],
    targets: [
        .target(name: "CLibFuzzer"),
        .target(
            name: "FuzzSupport",
            dependencies: ["CLibFuzzer", .product(name: "DatapinKit", package: datapin.lastPathComponent)]
        ),
        fuzzTarget("FuzzSpec"),
        fuzzTarget("FuzzLock"),
        fuzzTarget("FuzzIndex"),
        fuzzTarget("FuzzMAST"),
    ]
)
