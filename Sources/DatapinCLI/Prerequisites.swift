import DatapinKit
import Foundation

extension Datapin {
    /// Ends the process with exit 4 (integrity: nothing could be verified), saying why, when the
    /// OpenSSL library datapin runs with cannot compute SHA-256, before any command runs.
    static func requireSHA256() {
        do throws(DigestError) {
            try DigestAlgorithm.requireSHA256()
        } catch {
            let diagnostic = Diagnostic(.error, "\(error.message); datapin verifies every file and names its own by SHA-256, so it cannot run", notes: ["check OPENSSL_CONF and the OpenSSL providers it loads (the default provider computes SHA-256)"])
            FileHandle.standardError.write(Data((diagnostic.rendered() + "\n").utf8))
            Foundation.exit(ExitStatus.integrity.rawValue)
        }
    }
}
