import FuzzSupport

/// libFuzzer target: `FuzzProperties.mastAnswer` on every input.
@main
enum FuzzMAST {
    static func main() {
        FuzzDriver.run(FuzzProperties.mastAnswer)
    }
}
