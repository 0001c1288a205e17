import FuzzSupport

/// libFuzzer target: `FuzzProperties.spec` on every input.
@main
enum FuzzSpec {
    static func main() {
        FuzzDriver.run(FuzzProperties.spec, warmUp: { FuzzProperties.specWarmUp })
    }
}
