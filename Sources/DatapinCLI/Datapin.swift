import ArgumentParser
import DatapinKit
import Foundation

/// The `datapin` command: parses arguments, runs one subcommand, exits with DESIGN.md's codes.
public struct Datapin: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "datapin",
        abstract: "Reproducible pulls of science-archive data: datapin.yaml → datapin.lock → files.",
        discussion: """
        Global options, before or after the command: -C DIR (run as if started in DIR), --spec FILE \
        (default datapin.yaml), -q/--quiet, -v/--verbose, --json (one JSON document), \
        --color auto|always|never, --no-progress.

        Exit codes: 0 done; 1 a --check or --exit-code found a difference, or `outdated` found \
        upstream changes; 2 bad usage or input; 3 transfers failed; 4 integrity; 5 credentials; \
        6 an archive could not be queried; 130 interrupted.

        Shell completion: datapin --generate-completion-script bash (or zsh, fish), e.g. \
        datapin --generate-completion-script bash > ~/.local/share/bash-completion/completions/datapin
        """,
        version: DatapinVersion.current,
        subcommands: [InitCommand.self, LockCommand.self, PlanCommand.self, OutdatedCommand.self, ProductsCommand.self, ListCommand.self, SyncCommand.self, StatusCommand.self, VerifyCommand.self, ExportCommand.self, SchemaCommand.self]
    )

    public init() {}

    /// Runs the command line of this process and exits with its status.
    public static func main() {
        requireSHA256()
        let arguments = GlobalOptions.movedAfterSubcommand(Array(CommandLine.arguments.dropFirst()), subcommands: configuration.subcommands.map { $0._commandName })
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                let subcommands = configuration.subcommands
                let message = UsageSuggestion.improved(fullMessage(for: error), commands: subcommands.map { $0._commandName }, globalOptions: GlobalOptions.longNames,
                                                       help: { name in subcommands.first { $0._commandName == name }.map { helpMessage(for: $0) } ?? "" })
                FileHandle.standardError.write(Data((message + "\n").utf8))
                Foundation.exit(ExitStatus.badInput.rawValue)
            }
            exit(withError: error)
        }
    }
}
