import Foundation

/// The commented starter `datapin.yaml` that `datapin init` writes, one per archive kind.
public enum StarterSpec {
    /// Where `init` puts the schema copy that the starter's first line points editors at.
    public static let schemaPath = ".datapin/\(SpecSchema.fileName)"

    /// The starter spec for an archive kind: the common header and footer around the
    /// kind's own `archives:` and `datasets:` part.
    public static func text(for kind: ArchiveGrammar) -> String {
        header + kind.starter + footer
    }

    private static let header = """
    # yaml-language-server: $schema=\(schemaPath)
    # datapin selection spec. `datapin lock` resolves it into datapin.lock; commit both files.
    # Reference: the README's "The spec" section.
    version: 1
    destination: data          # root of the synced tree, relative to this file
    layout: nested             # nested: <dataset>/<file> | flat: <file> | a template with {dataset} {filename} …

    """

    private static let footer = """

    # Filters for every entry above (an entry's own `select:` overrides them key by key).
    # Values inside one key are OR-ed, keys are AND-ed; an absent key filters nothing.
    # select:
    #   levels: [2b, 3]              # product levels or categories
    #   suffixes: [_cal, _x1dints]   # "cal", "_cal" and "CAL" are the same
    #   extensions: [.fits]
    #   types: [science]             # science exposure auxiliary preview info reference association
    #   match: [nis]                 # substring of file name, instrument or filters
    #   include: ['seg00[1-3]']      # regular expressions: a file must match one
    #   exclude: ['_rateints']       # ... and none of these
    #   recommended: false           # true: minimum recommended products only
    #   guidestar: false             # guide-star files are out unless true
    #   calibration_references: false
    #   access: [public, exclusive]
    #   max_size: 2 GB

    """
}

/// The `.datapin/` working folder beside the spec: ignored by git, holds the schema copy.
public enum StateDirectory {
    /// Creates `.datapin/` with a `.gitignore` that ignores it and the spec schema of `grammar`
    /// for editors.
    public static func prepare(_ paths: ProjectPaths, grammar: SpecGrammar) throws {
        let directory = paths.stateDirectory
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let ignore = directory.appendingPathComponent(".gitignore")
        if !FileManager.default.fileExists(atPath: ignore.path) {
            try "# datapin's working state; never committed.\n*\n".write(to: ignore, atomically: true, encoding: .utf8)
        }
        let schema = directory.appendingPathComponent(SpecSchema.fileName)
        let text = SpecSchema.json(for: grammar) + "\n"
        if (try? String(contentsOf: schema, encoding: .utf8)) != text {
            try text.write(to: schema, atomically: true, encoding: .utf8)
        }
    }
}
