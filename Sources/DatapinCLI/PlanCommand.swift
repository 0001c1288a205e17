import ArgumentParser
import DatapinKit

extension PlanReport.Format: ExpressibleByArgument {}

/// `datapin plan`: what `datapin lock` would change, without writing anything.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show what `datapin lock` would change: files added, removed and changed, per dataset."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var listing: ListingOptions

    @Option(help: "text, markdown (for a pull-request comment) or json.")
    var format: PlanReport.Format = .text

    @Flag(name: .customLong("exit-code"), help: "Exit 1 when the lock would change.")
    var exitCode = false

    func run() throws {
        try global.checkNetworkLimits()
        let loaded = try global.loadSpec()
        let previous = try global.readLock()
        let resolution = try global.resolve(loaded, previous: previous, update: .none, listing: listing)
        let specChanged = previous?.specDigest != resolution.lock.specDigest
        global.console.data(PlanReport.render(resolution.diff, format: global.json ? .json : format, specChanged: specChanged))
        if exitCode && (!resolution.diff.isEmpty || specChanged) {
            throw ExitCode(ExitStatus.different.rawValue)
        }
    }
}
