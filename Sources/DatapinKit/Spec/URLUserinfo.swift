/// Credentials written into a URL (`https://user:secret@host/…`). datapin never takes them: a
/// URL is copied into the lock, `ls`, exported scripts and messages, so a password in it would
/// leak everywhere. Credentials belong in `~/.netrc` or an environment variable (`token_env`).
/// The one exception is an SFTP login name without a password (`sftp://user@host`, as `ssh`
/// and `sftp` write it): SSH authenticates with keys, and the name is no secret.
public enum URLUserinfo {
    /// True when `url` has a `scheme://user[:password]@host` part that datapin refuses: any
    /// userinfo except a plain user name in an `sftp://` URL.
    public static func hasUserinfo(_ url: String) -> Bool {
        guard let range = userinfoRange(in: url) else { return false }
        return !isSFTPLoginName(url[range], in: url)
    }

    /// `url` with refused userinfo replaced by `***` (`https://***@host/c.json`), for messages;
    /// an `sftp://user@host` login name stays.
    public static func redacted(_ url: String) -> String {
        guard let range = userinfoRange(in: url), !isSFTPLoginName(url[range], in: url) else { return url }
        return url.replacingCharacters(in: range, with: "***")
    }

    /// Whether `userinfo` (of `url`) is a user name alone in an `sftp://` URL: no `:` (so no
    /// password, not even an empty one) and no second `@`.
    private static func isSFTPLoginName(_ userinfo: Substring, in url: String) -> Bool {
        guard url.prefix(7).lowercased() == "sftp://" else { return false }
        return !userinfo.isEmpty && !userinfo.contains(":") && !userinfo.contains("@")
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
