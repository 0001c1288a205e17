import ArgumentParser
import DatapinKit
import Foundation

extension ArchiveKind: ExpressibleByArgument {
    /// A registered kind's name, in any case.
    public init?(argument: String) {
        let kind = ArchiveKind(argument.lowercased())
        guard ArchiveRegistry.definition(of: kind) != nil else { return nil }
        self = kind
    }

    public static var allValueStrings: [String] { ArchiveRegistry.definitions.map(\.kind.rawValue) }
}

/// `datapin init`: write a commented starter datapin.yaml.
struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Write a commented starter datapin.yaml."
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("The archive the starter spec uses: \(ArchiveKind.allValueStrings.joined(separator: ", ")).", valueName: "KIND"))
    var archive: ArchiveKind = ArchiveRegistry.definitions[0].kind

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
            guard let grammar = ArchiveRegistry.grammar.grammar(of: archive) else { preconditionFailure("--archive admits registered kinds only") }
            try AtomicFile.write(StarterSpec.text(for: grammar), to: paths.spec)
            try StateDirectory.prepare(paths, grammar: ArchiveRegistry.grammar)
        } catch let error as AtomicFile.WriteError {
            throw console.fail([Diagnostic(.error, error.message)], status: .badInput)
        } catch {
            throw console.fail([Diagnostic(.error, "could not prepare \(paths.stateDirectory.path): \(error.localizedDescription)")], status: .badInput)
        }
        if global.json {
            console.data(console.document(OrderedJSON.object([("spec", .string(paths.specDisplayName)), ("archive", .string(archive.rawValue))])))
        } else {
            console.info("Wrote \(paths.specDisplayName) for \("aeiou".contains(archive.rawValue.prefix(1)) ? "an" : "a") \(archive.rawValue) archive. Edit it, then run `datapin lock`.")
        }
    }
}
