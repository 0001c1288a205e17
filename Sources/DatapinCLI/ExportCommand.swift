import ArgumentParser
import DatapinKit
import Foundation

/// `datapin export csv|script|manifest`: the lock rendered for people and tools outside
/// datapin — MAST's CSV, a bash + curl download script, MANIFEST.html — with no network access.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the locked selection as MAST-style CSV, a bash + curl download script, or MANIFEST.html.",
        discussion: """
        csv: Dataset, Filename, Product Level, Suffix, Instrument, Filter / Grating, Size, URI, SHA256; \
        one row per dataset that lists a file. script: a bash script that downloads every locked file \
        with curl into the same layout (`bash download.sh [TARGET_DIR]`), resumes, verifies, and asks \
        for a token only when exclusive-access files are locked; it contains no credential. \
        manifest: MANIFEST.html for the tree as it is now (with --json, manifest.json). \
        Nothing is downloaded. Without -o the result goes to standard output.
        """
    )

    /// What `export` can write.
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case csv, script, manifest
    }

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("csv, script or manifest.", valueName: "FORMAT"))
    var format: Format

    @Option(name: .shortAndLong, help: ArgumentHelp("Write to FILE (atomically) instead of standard output.", valueName: "FILE"))
    var output: String?

    func validate() throws {
        if global.json && format != .manifest {
            throw ValidationError("--json applies to `export manifest` only; `datapin ls --json` lists the locked files as JSON")
        }
    }

    func run() throws {
        let console = global.console
        let text: String
        let lockIsStale: Bool
        switch format {
        case .csv, .script:
            let loaded = try global.loadSpec()
            guard let lock = try global.readLock() else {
                throw console.fail([Diagnostic(.error, "no \(global.paths.lockDisplayName) here; run `datapin lock` first")], status: .badInput)
            }
            lockIsStale = lock.specDigest != loaded.spec.meaningDigest
            text = format == .csv ? CSVExport.render(lock) : try script(lock: lock, spec: loaded.spec, console: console)
        case .manifest:
            let context = try global.syncContext()
            lockIsStale = context.lockIsStale
            let cache = StateCache.load(from: context.tree)
            let status = TreeStatusScanner.scan(lock: context.lock, tree: context.tree, cache: cache, duplicates: context.loaded.spec.duplicates)
            try? cache.save()
            let manifest = ManifestBuilder.fromTree(lock: context.lock, duplicates: context.loaded.spec.duplicates, status: status,
                                                    recorded: DownloadManifest.recordedRows(in: context.tree.destination))
            text = global.json ? manifest.json() : manifest.html()
        }
        if lockIsStale {
            console.report([Diagnostic(.warning, "\(global.paths.lockDisplayName) is stale against \(global.paths.specDisplayName); exporting the lock as it is. Run `datapin lock` to update it")])
        }
        guard let output else {
            FileHandle.standardOutput.write(Data(text.utf8))
            return
        }
        let base = URL(fileURLWithPath: global.directory ?? ".", relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true))
        let url = URL(fileURLWithPath: output, relativeTo: base).standardizedFileURL
        do {
            try AtomicFile.write(text, to: url)
        } catch {
            throw console.fail([Diagnostic(.error, error.message)], status: .badInput)
        }
        if format == .script && chmod(url.path, 0o755) != 0 {
            throw console.fail([Diagnostic(.error, "could not make \(output) executable: \(String(cString: strerror(errno)))")], status: .badInput)
        }
        console.info("Wrote \(output)")
    }

    private func script(lock: Lockfile, spec: Spec, console: Console) throws -> String {
        do {
            return try DownloadScript.render(lock: lock, lockName: ProjectPaths.lockFileName, lockDirectory: global.paths.directory,
                                             destination: spec.destination, duplicates: spec.duplicates, archives: Self.scriptAccess(spec.archivesByName))
        } catch {
            throw console.fail([Diagnostic(.error, error.message)], status: .badInput)
        }
    }

    /// What the script needs of each archive's credentials: the `token_env` name, the scheme and
    /// the hosts, never a value. A password grant is not done by the script: without a
    /// `token_env`, its exclusive-access files are left to `datapin sync`.
    static func scriptAccess(_ archives: [String: ArchiveConfig]) -> [String: DownloadScript.ArchiveAccess] {
        archives.mapValues { DownloadScript.ArchiveAccess(tokenVariable: $0.tokenEnv, scheme: ArchiveCredentials.scheme(for: $0.kind), hosts: ArchiveCredentials.hosts(of: $0)) }
    }
}
