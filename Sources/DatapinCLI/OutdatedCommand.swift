import ArgumentParser
import DatapinKit

/// `datapin outdated`: which locked files changed upstream, asked of the archives, nothing downloaded.
struct OutdatedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outdated",
        abstract: "Show which locked files changed upstream (size, checksum, modification date, access, URL).",
        discussion: """
        Asks every archive the spec uses for its current listings, as `datapin lock` does, and \
        lists per dataset the locked files each archive now describes differently, or no longer \
        lists. Nothing is downloaded and nothing is written; exit 1 when any file changed. \
        `datapin plan --update` previews what `datapin lock --update` would take.
        """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var listing: ListingOptions

    func run() throws {
        try global.checkNetworkLimits()
        let loaded = try global.loadSpec()
        guard let lock = try global.readLock() else {
            throw global.console.fail([Diagnostic(.error, "no \(global.paths.lockDisplayName) here; run `datapin lock` first: `outdated` compares locked files with their archives")], status: .badInput)
        }
        if lock.specDigest != loaded.spec.meaningDigest {
            global.console.report([Diagnostic(.warning, "\(global.paths.lockDisplayName) is stale against \(global.paths.specDisplayName): files of datasets the spec no longer selects show as no longer listed; `datapin plan` shows the change of selection")])
        }
        let report = try global.checkUpstream(loaded, lock: lock, listing: listing)
        if global.json {
            global.console.data(global.console.document(report.jsonValue, status: report.isEmpty ? .ok : .different))
        } else {
            global.console.data(report.render(json: false))
        }
        if !report.isEmpty { throw ExitCode(ExitStatus.different.rawValue) }
    }
}
