import ArgumentParser
import DatapinKit

extension LockListing.Format: ExpressibleByArgument {}

/// `datapin ls`: the locked selection, grouped by dataset, from datapin.lock alone.
struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls",
        abstract: "List the locked files, grouped by dataset."
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: "table, csv or json.")
    var format: LockListing.Format = .table

    @Argument(help: ArgumentHelp("Only these datasets.", valueName: "DATASET"))
    var datasets: [String] = []

    func run() throws {
        let console = global.console
        let paths = global.paths
        guard let lock = try global.readLock() else {
            throw console.fail([Diagnostic(.error, "no \(paths.lockDisplayName) here; run `datapin lock` first")], status: .badInput)
        }
        let known = Set(lock.files.flatMap { [$0.dataset] + $0.also })
        let unknown = datasets.filter { !known.contains($0) }
        if !unknown.isEmpty {
            let diagnostics = unknown.map { name in
                let hint = Suggestion.nearest(to: name, in: known.sorted()).map { "; did you mean '\($0)'?" } ?? ""
                return Diagnostic(.error, "\(paths.lockDisplayName) locks no dataset '\(name)'\(hint)")
            }
            throw console.fail(diagnostics, status: .badInput)
        }
        let selected = Set(datasets)
        if global.json || format == .json {
            var members: [(String, OrderedJSON)] = []
            if case .object(let own) = LockListing.jsonValue(lock, datasets: selected) { members = own }
            members.append(("associations", LockListing.associationsJSON(lock, datasets: selected)))
            console.data(console.document(.object(members)))
        } else {
            var text = LockListing.render(lock, datasets: selected, format: format)
            if format == .table { text += LockListing.renderAssociations(lock, datasets: selected) }
            console.data(text)
        }
    }
}
