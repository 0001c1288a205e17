import Testing
import TestSupport

@Suite struct VersionTests {
    @Test func binaryPrintsItsVersion() throws {
        let scratch = try TestEnvironment.makeScratchDirectory()
        let result = try Datapin.run(["--version"], in: scratch)
        #expect(result.status == 0)
        #expect(result.stdout.hasPrefix("0."))
    }
}
