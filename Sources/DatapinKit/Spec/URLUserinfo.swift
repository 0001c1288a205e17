/// Credentials written into a URL (`https://user:secret@host/…`). datapin never takes them: a
/// URL is copied into the lock, `ls`, exported scripts and messages, so a password in it would
/// leak everywhere. Credentials belong in `~/.netrc` or an environment variable (`token_env`).
public enum URLUserinfo {
    /// True when `url` has a `scheme://user[:password]@host` part.
    public static func hasUserinfo(_ url: String) -> Bool {
        userinfoRange(in: url) != nil
    }

    /// `url` with its userinfo replaced by `***` (`https://***@host/c.json`), for messages.
    public static func redacted(_ url: String) -> String {
        guard let range = userinfoRange(in: url) else { return url }
        return url.replacingCharacters(in: range, with: "***")
    }

    /// The characters between `://` and the last `@` of the authority (before the first `/`,
    /// `?` or `#`).
    static func userinfoRange(in url: String) -> Range<String.Index>? {
        guard let separator = url.range(of: "://") else { return nil }
        let scheme = url[..<separator.lowerBound]
        guard !scheme.isEmpty, scheme.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0)) }) else { return nil }
        let rest = url[separator.upperBound...]
        let authorityEnd = rest.firstIndex(where: { "/?#".contains($0) }) ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return nil }
        return separator.upperBound..<at
    }

    /// The sentence that says where credentials go instead.
    public static let advice = "put credentials in ~/.netrc (machine HOST login USER password SECRET) or in an environment variable named by token_env, never in the URL"
}
