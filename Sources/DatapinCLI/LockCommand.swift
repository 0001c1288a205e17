import ArgumentParser
import DatapinKit
import Foundation

/// `datapin lock`: resolve the spec into datapin.lock.
struct LockCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lock",
        abstract: "Resolve datapin.yaml into datapin.lock.",
        discussion: """
        Files that are still selected keep their locked URL, size and checksums. --update asks the \
        archives again and takes their current answers (for the named datasets, or all), dropping \
        pinned checksums whose upstream size or checksum changed. --check only compares the lock \
        with the spec, offline, and exits 1 when the lock is stale.
        """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var listing: ListingOptions

    @Flag(help: "Take the archives' current answers for the named datasets (all when none are named).")
    var update = false

    @Flag(help: "Exit 1 when datapin.lock is stale against datapin.yaml; change nothing, ask no archive.")
    var check = false

    @Argument(help: ArgumentHelp("Datasets to update (with --update).", valueName: "DATASET"))
    var datasets: [String] = []

    func validate() throws {
        if !datasets.isEmpty && !update { throw ValidationError("dataset names go with --update: datapin lock --update \(datasets.joined(separator: " "))") }
        if check && update { throw ValidationError("--check and --update cannot be combined: --check never changes the lock") }
    }

    func run() throws {
        let console = global.console
        let paths = global.paths
        let loaded = try global.loadSpec()
        if check {
            try runCheck(loaded, console: console, paths: paths)
            return
        }
        let previous = try global.readLockKeepingPins()
        try global.checkNetworkLimits()
        let scope = UpdateScope(update: update, datasets: datasets)
        let resolution = try global.resolve(loaded, previous: previous, update: scope, listing: listing)
        let text = LockWriter.render(resolution.lock)
        let unchanged = (try? String(contentsOf: paths.lock, encoding: .utf8)) == text
        if !unchanged {
            do {
                try AtomicFile.write(text, to: paths.lock)
            } catch {
                throw console.fail([Diagnostic(.error, error.message)], status: .badInput)
            }
        }
        let lock = resolution.lock
        let bytes = lock.files.reduce(Int64(0)) { $0 + ($1.size ?? 0) }
        let datasetCount = Set(lock.files.map(\.dataset)).count
        if global.json {
            console.data(console.document(LockSummary(lockfile: paths.lockDisplayName, written: !unchanged, files: lock.files.count, bytes: bytes, datasets: datasetCount, added: resolution.diff.added.count, removed: resolution.diff.removed.count, changed: resolution.diff.changed.count, upstreamChanged: resolution.upstreamChanges)))
        } else if unchanged {
            console.info("\(paths.lockDisplayName) is up to date: \(Self.counted(lock.files.count, "file")) (\(ByteSize.format(bytes))) in \(Self.counted(datasetCount, "dataset"))")
        } else {
            let diff = resolution.diff
            console.info("Locked \(Self.counted(lock.files.count, "file")) (\(ByteSize.format(bytes))) in \(Self.counted(datasetCount, "dataset")): \(diff.added.count) added, \(diff.removed.count) removed, \(diff.changed.count) changed → \(paths.lockDisplayName)")
            if global.verbose { PlanReport.fileLines(diff, detailed: true).forEach(console.info) }
        }
    }

    /// "1 file", "4 files".
    static func counted(_ count: Int, _ noun: String) -> String {
        "\(count) \(noun)\(count == 1 ? "" : "s")"
    }

    /// Compares the spec's digest with the lock's `spec:` line, read from the lock's first and
    /// last lines when it is as the writer wrote it, else by reading the whole lock (which
    /// reports what is wrong with it).
    private func runCheck(_ loaded: LoadedSpec, console: Console, paths: ProjectPaths) throws {
        let lockedDigest: String?
        if let digest = LockHeader.specDigest(contentsOf: paths.lock.path) {
            lockedDigest = digest
        } else {
            lockedDigest = try global.readLock()?.specDigest
        }
        let exists = lockedDigest != nil
        let fresh = lockedDigest == loaded.spec.meaningDigest
        if global.json {
            console.data(console.document(CheckSummary(lockfile: paths.lockDisplayName, exists: exists, upToDate: fresh), status: fresh ? .ok : .different))
        } else if !exists {
            console.info("\(paths.lockDisplayName) does not exist; run `datapin lock`")
        } else if fresh {
            console.info("\(paths.lockDisplayName) is up to date with \(paths.specDisplayName)")
        } else {
            console.info("\(paths.lockDisplayName) is stale: \(paths.specDisplayName) changed since it was locked; run `datapin plan` to see what would change, `datapin lock` to update it")
        }
        if !fresh { throw ExitCode(ExitStatus.different.rawValue) }
    }
}

/// `lock --json` output.
struct LockSummary: Encodable {
    var lockfile: String
    var written: Bool
    var files: Int
    var bytes: Int64
    var datasets: Int
    var added: Int
    var removed: Int
    var changed: Int
    var upstreamChanged: [String]

    enum CodingKeys: String, CodingKey {
        case lockfile, written, files, bytes, datasets, added, removed, changed
        case upstreamChanged = "upstream_changed"
    }
}

/// `lock --check --json` output.
struct CheckSummary: Encodable {
    var lockfile: String
    var exists: Bool
    var upToDate: Bool

    enum CodingKeys: String, CodingKey {
        case lockfile, exists
        case upToDate = "up_to_date"
    }
}
