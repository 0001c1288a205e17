import CCurl
import DatapinSupport
import Foundation

/// Process-wide libcurl set-up, done once before the first handle is made.
public enum Curl {
    private static let initialised: Bool = {
        curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK
    }()

    /// Initialises libcurl if it is not yet; safe to call from any thread.
    public static func ensureInitialised() {
        precondition(initialised, "libcurl could not be initialised")
    }

    /// libcurl's sentence for an easy-handle result code.
    public static func describe(_ code: CURLcode) -> String {
        String(cString: curl_easy_strerror(code))
    }

    /// The User-Agent datapin sends on every request.
    public static let userAgent = "datapin/\(DatapinVersion.current)"
}
