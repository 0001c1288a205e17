import FuzzSupport

/// libFuzzer target: `FuzzProperties.lock` on every input.
@main
enum FuzzLock {
    static func main() {
        FuzzDriver.run(FuzzProperties.lock)
    }
}
