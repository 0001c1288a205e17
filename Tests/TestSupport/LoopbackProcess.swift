import Dispatch
import Foundation

/// What the tests' loopback archives need to run as processes of their own (Tests/LoopbackMAST,
/// Tests/LoopbackESO, for benchmarks/run): their options, their lines on stdout, and their end.
public enum LoopbackProcess {
    /// The non-negative integer after `name` on the command line, else `fallback`.
    public static func integer(_ name: String, default fallback: Int) -> Int {
        guard let text = text(name), let number = Int(text), number >= 0 else { return fallback }
        return number
    }

    /// The word after `name` on the command line, when there is one.
    public static func text(_ name: String) -> String? {
        let arguments = CommandLine.arguments
        guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
        return arguments[index + 1]
    }

    /// A line on stdout, written at once (stdout is a pipe to the benchmark).
    public static func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    /// Serves until a signal ends the process: on SIGUSR1 it says `report()`, on SIGTERM or
    /// SIGINT it says `report()`, calls `shutdown` and exits 0.
    public static func serve(report: @escaping () -> String, shutdown: @escaping () -> Void) -> Never {
        var sources: [DispatchSourceSignal] = []
        for signalNumber in [SIGTERM, SIGINT, SIGUSR1] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .main)
            source.setEventHandler {
                say(report())
                guard signalNumber != SIGUSR1 else { return }
                shutdown()
                exit(0)
            }
            source.resume()
            sources.append(source)
        }
        withExtendedLifetime(sources) { dispatchMain() }
    }

    /// Says on stderr that the process named `name` could not start, and why; exits 1.
    public static func fail(_ name: String, _ error: any Error) -> Never {
        FileHandle.standardError.write(Data("\(name): could not start: \(error)\n".utf8))
        exit(1)
    }
}
