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

    /// This libcurl's version, such as `7.88.1`. (`curl_version_info` is asked for its first
    /// layout, which every libcurl fills and which holds both fields read here.)
    public static let version: String = {
        guard let info = curl_version_info(CURLVERSION_FIRST), let version = info.pointee.version else { return "unknown" }
        return String(cString: version)
    }()

    /// The URL schemes this build of libcurl speaks (lowercase: `http`, `https`, `file`, `sftp`, …),
    /// from `curl_version_info`.
    public static let protocols: Set<String> = {
        guard let info = curl_version_info(CURLVERSION_FIRST), var entry = info.pointee.protocols else { return [] }
        var names: Set<String> = []
        while let name = entry.pointee {
            names.insert(String(cString: name).lowercased())
            entry += 1
        }
        return names
    }()

    /// Why `url` cannot be fetched by a libcurl that speaks `protocols`: a sentence naming its
    /// scheme and what to do, or nil when libcurl speaks it (or the URL has no scheme).
    public static func missingProtocol(for url: String, protocols: Set<String> = Curl.protocols, version: String = Curl.version) -> String? {
        guard let scheme = URLParts.scheme(of: url), !scheme.isEmpty, !protocols.contains(scheme) else { return nil }
        let advice = scheme == "sftp" ? "install a libcurl built with SFTP support (libssh2), such as Debian's libcurl4-openssl-dev, or have the files served over https://" : "use an https:// URL"
        return "this build of libcurl (\(version)) cannot fetch \(scheme):// URLs (it speaks \(protocols.sorted().joined(separator: ", "))); \(advice)"
    }
}
