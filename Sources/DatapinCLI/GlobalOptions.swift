import ArgumentParser
import DatapinKit
import Foundation

/// When to colour diagnostics.
enum ColorChoice: String, ExpressibleByArgument, CaseIterable {
    case auto, always, never
}

/// Options every command accepts, before or after the command's name.
struct GlobalOptions: ParsableArguments {
    @Option(name: .customShort("C"), help: ArgumentHelp("Run as if started in DIR.", valueName: "DIR"))
    var directory: String?

    @Option(help: ArgumentHelp("The spec file (default: datapin.yaml).", valueName: "FILE"))
    var spec: String?

    @Flag(name: .shortAndLong, help: "Print only errors.")
    var quiet = false

    @Flag(name: .shortAndLong, help: "Print more detail: changed values (plan), changed files (lock), every fetched file (sync).")
    var verbose = false

    @Flag(help: "Print one JSON document instead of text.")
    var json = false

    @Option(help: "Colour diagnostics: auto, always or never.")
    var color: ColorChoice = .auto

    @Flag(name: .customLong("no-progress"), help: "Never draw progress bars.")
    var noProgress = false

    var paths: ProjectPaths { ProjectPaths(directory: directory, specFile: spec) }

    var console: Console { Console(options: self) }

    /// Options with a value, as they are spelt on the command line.
    private static let valued: Set<String> = ["-C", "--spec", "--color"]
    private static let flags: Set<String> = ["-q", "--quiet", "-v", "--verbose", "--json", "--no-progress"]

    /// The global options' long names, for a suggestion when one is mistyped.
    static var longNames: [String] { (valued.union(flags)).filter { $0.hasPrefix("--") }.sorted() }

    /// Moves global options written before the subcommand's name to just after it, so that
    /// `datapin --json ls` and `datapin ls --json` mean the same.
    static func movedAfterSubcommand(_ arguments: [String], subcommands: [String]) -> [String] {
        var leading: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if subcommands.contains(argument) {
                return [argument] + leading + arguments[(index + 1)...]
            }
            if valued.contains(argument), index + 1 < arguments.count {
                leading += [argument, arguments[index + 1]]
                index += 2
            } else if flags.contains(argument) || valued.contains(where: { argument.hasPrefix($0 + "=") }) {
                leading.append(argument)
                index += 1
            } else {
                return arguments
            }
        }
        return arguments
    }
}
