/// datapin's version, shown by `--version` and sent in the User-Agent.
public enum DatapinVersion {
    public static let current = "0.1.0"
}
