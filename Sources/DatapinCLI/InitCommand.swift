import ArgumentParser
import DatapinKit
import Foundation

extension ArchiveKind: ExpressibleByArgument {}

/// `datapin init`: write a commented starter datapin.yaml.
struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Write a commented starter datapin.yaml."
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: "The archive the starter spec uses: mast, eso, scicat or index.")
    var archive: ArchiveKind = .index

    @Flag(help: "Overwrite an existing spec.")
    var force = false

    func run() throws {
        let console = global.console
        let paths = global.paths
        if FileManager.default.fileExists(atPath: paths.spec.path) && !force {
            throw console.fail([Diagnostic(.error, "\(paths.specDisplayName) already exists; edit it, or pass --force to replace it with a starter spec")], status: .badInput)
        }
        do {
            try FileManager.default.createDirectory(at: paths.directory, withIntermediateDirectories: true)
            try AtomicFile.write(StarterSpec.text(for: archive), to: paths.spec)
            try StateDirectory.prepare(paths)
        } catch let error as AtomicFile.WriteError {
            throw console.fail([Diagnostic(.error, error.message)], status: .badInput)
        } catch {
            throw console.fail([Diagnostic(.error, "could not prepare \(paths.stateDirectory.path): \(error.localizedDescription)")], status: .badInput)
        }
        if global.json {
            console.data(JSONOutput.render(["spec": paths.specDisplayName, "archive": archive.rawValue]))
        } else {
            console.info("Wrote \(paths.specDisplayName) for a \(archive.rawValue) archive. Edit it, then run `datapin lock`.")
        }
    }
}
