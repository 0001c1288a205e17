import CLibFuzzer
import Foundation

/// Runs a fuzz target under libFuzzer.
///
/// SwiftPM links an executable on Linux with `--defsym main=<Module>_main`, so a target that
/// only defines `LLVMFuzzerTestOneInput` (and leaves `main` to libFuzzer) does not link. Each
/// target therefore has an ordinary `@main` that hands its input function to libFuzzer's own
/// driver, which then behaves exactly as libFuzzer's `main` would (corpus folders, `-runs`,
/// `-max_total_time`, replaying crash files given as arguments, …).
public enum FuzzDriver {
    nonisolated(unsafe) private static var properties: (Data) -> [String] = { _ in [] }

    /// Feeds every input to `properties` (one of `FuzzProperties`); a property that fails
    /// aborts, so libFuzzer stores the input as a crash. `warmUp` inputs go through first,
    /// before libFuzzer watches for leaks, so that globals built lazily on first use (the spec
    /// grammar, the schema) are not reported as memory one input leaked.
    public static func run(_ properties: @escaping (Data) -> [String], warmUp: () -> [Data] = { [] }) -> Never {
        Self.properties = properties
        warm(properties, with: warmUp)
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        let status = LLVMFuzzerRunDriver(&argc, &argv) { bytes, count in
            let input = count == 0 ? Data() : Data(bytes: bytes!, count: count)
            let failed = FuzzDriver.properties(input)
            if !failed.isEmpty {
                FileHandle.standardError.write(Data(failed.map { "fuzz property failed: \($0)\n" }.joined().utf8))
                abort()
            }
            return 0
        }
        exit(status)
    }

    /// Runs the warm-up inputs in a frame of their own, so they are freed before fuzzing starts.
    @inline(never)
    private static func warm(_ properties: (Data) -> [String], with inputs: () -> [Data]) {
        for input in inputs() { _ = properties(input) }
    }
}
