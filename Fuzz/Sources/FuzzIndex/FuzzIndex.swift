import FuzzSupport

/// libFuzzer target: `FuzzProperties.indexCatalog` on every input.
@main
enum FuzzIndex {
    static func main() {
        FuzzDriver.run(FuzzProperties.indexCatalog)
    }
}
