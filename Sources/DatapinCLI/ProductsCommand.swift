import ArgumentParser
import DatapinKit

extension ProductCatalog.Format: ExpressibleByArgument {}

/// `datapin products`: what the archives list for the spec's datasets, and what `select` makes of it.
struct ProductsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "products",
        abstract: "List every product the spec's datasets have, and whether `select` takes it or which key leaves it out.",
        discussion: "Asks the archives as `datapin lock` does and writes nothing; use it to choose ids, levels and suffixes."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var listing: ListingOptions

    @Option(help: "table, csv or json.")
    var format: ProductCatalog.Format = .table

    @Argument(help: ArgumentHelp("Only these datasets.", valueName: "DATASET"))
    var datasets: [String] = []

    func run() throws {
        try global.checkNetworkLimits()
        let loaded = try global.loadSpec()
        let catalog = try global.listProducts(loaded, datasets: Set(datasets), listing: listing)
        if global.json || format == .json {
            global.console.data(global.console.document(catalog.jsonValue))
        } else {
            global.console.data(catalog.render(format))
        }
    }
}
