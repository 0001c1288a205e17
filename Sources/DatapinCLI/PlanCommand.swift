import ArgumentParser
import DatapinKit

extension PlanReport.Format: ExpressibleByArgument {}

/// `datapin plan`: what `datapin lock` would change, without writing anything.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show what `datapin lock` would change: files added, removed and changed, per dataset.",
        discussion: "With --update, what `datapin lock --update` would change: the archives' current answers for the named datasets (all when none are named)."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var listing: ListingOptions

    @Option(help: "text, markdown (for a pull-request comment) or json.")
    var format: PlanReport.Format = .text

    @Flag(name: .customLong("exit-code"), help: "Exit 1 when the lock would change.")
    var exitCode = false

    @Flag(help: "Preview `datapin lock --update`: take the archives' current answers for the named datasets (all when none are named).")
    var update = false

    @Argument(help: ArgumentHelp("Datasets to update (with --update).", valueName: "DATASET"))
    var datasets: [String] = []

    func validate() throws {
        if !datasets.isEmpty && !update { throw ValidationError("dataset names go with --update: datapin plan --update \(datasets.joined(separator: " "))") }
    }

    func run() throws {
        try global.checkNetworkLimits()
        let loaded = try global.loadSpec()
        let previous = try global.readLock()
        let scope = UpdateScope(update: update, datasets: datasets)
        let resolution = try global.resolve(loaded, previous: previous, update: scope, listing: listing)
        let specChanged = previous?.specDigest != resolution.lock.specDigest
        let different = exitCode && (!resolution.diff.isEmpty || specChanged)
        if global.json || format == .json {
            global.console.data(global.console.document(PlanReport.jsonValue(resolution.diff, specChanged: specChanged), status: different ? .different : .ok))
        } else {
            global.console.data(PlanReport.render(resolution.diff, format: format, specChanged: specChanged, detailed: global.verbose))
        }
        if different { throw ExitCode(ExitStatus.different.rawValue) }
    }
}
