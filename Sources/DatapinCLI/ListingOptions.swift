import ArgumentParser
import DatapinKit
import Foundation

/// Options of the commands that ask the archives for their listings (`lock`, `plan`).
struct ListingOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Listing requests open at once to one archive host.", valueName: "N"))
    var jobs: Int = HostLimiter.defaultLimit

    func validate() throws {
        if jobs < 1 { throw ValidationError("--jobs must be at least 1, not \(jobs)") }
    }
}

/// "[====>     ]  30%  listed 120 of 400 dataset entries", redrawn in place on stderr while
/// `lock`, `plan` or `outdated` lists (`ProgressRenderer.listingLines`, never wider than the
/// terminal); drawn only on a terminal, never with --quiet, --json or --no-progress, or TERM=dumb.
final class ListingProgressLine: @unchecked Sendable {
    private let lock = NSLock()
    private let block: TerminalBlock

    init(block: TerminalBlock = TerminalBlock()) {
        self.block = block
    }

    /// Whether these options draw the line.
    static func enabled(for global: GlobalOptions) -> Bool {
        !global.quiet && !global.json && !global.noProgress && ProcessInfo.processInfo.environment["TERM"] != "dumb" && isatty(STDERR_FILENO) == 1
    }

    func show(_ progress: ListingProgress) {
        lock.withLock {
            block.draw { ProgressRenderer.listingLines(listed: progress.listed, total: progress.total, width: $0) }
        }
    }

    /// Erases the line so that what follows starts where it began.
    func finish() {
        lock.withLock { block.clear() }
    }
}

/// Runs async work to its end from synchronous command code on the main thread, which is not
/// one of the cooperative pool's threads, so waiting here starves nothing.
enum MainThreadWait {
    static func result<T: Sendable, E: Error>(_ work: @escaping @Sendable () async throws(E) -> T) throws(E) -> T {
        let box = ResultBox<T, E>()
        let done = DispatchSemaphore(value: 0)
        Task {
            do throws(E) {
                box.result = .success(try await work())
            } catch {
                box.result = .failure(error)
            }
            done.signal()
        }
        done.wait()
        return try box.result!.get()
    }

    private final class ResultBox<T, E: Error>: @unchecked Sendable {
        var result: Result<T, E>?
    }
}
