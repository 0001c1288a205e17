import Foundation

/// The commented starter `datapin.yaml` that `datapin init` writes, one per archive kind.
public enum StarterSpec {
    /// Where `init` puts the schema copy that the starter's first line points editors at.
    public static let schemaPath = ".datapin/\(SpecSchema.fileName)"

    /// The starter spec for `kind`.
    public static func text(for kind: ArchiveKind) -> String {
        header + body(for: kind) + footer
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

    private static func body(for kind: ArchiveKind) -> String {
        switch kind {
        case .index:
            return """
            archives:
              lab:
                type: index
                url: ./archive/catalog.json   # a path, file:// or http(s):// URL; JSON catalog, SHA256SUMS or pooch registry

            datasets:
              - archive: lab
                ids: [ds001]                  # omit ids to take every dataset of the index
                select: {levels: ["3"]}

            """
        case .mast:
            return """
            archives:
              mast:
                token_env: MAST_API_TOKEN      # only needed for exclusive-access files

            datasets:
              - archive: mast
                mission: jwst                  # MAST Mission Search: jwst hst roman
                ids: [jw02734001001_02101_00001, jw02734-o002_t002_niriss]
                select: {levels: [2b, 3], suffixes: [_cal, _x1dints]}

            """
        case .eso:
            return """
            archives:
              eso:
                username_env: ESO_USER         # only needed for proprietary data
                password_env: ESO_PASSWORD

            datasets:
              - archive: eso
                ids: [SPHER.2016-09-26T03:04:09.308]
                calibrations: raw2master       # none | raw2raw | raw2master (calSelector)

            """
        case .scicat:
            return """
            archives:
              facility:
                type: scicat
                url: https://scicat.example.org/api/v3
                token_env: SCICAT_TOKEN
                files: https://files.example.org/data   # or sftp://host, or file:///mount

            datasets:
              - archive: facility
                pids: ["20.500.12269/72fe3ff6-105b-4c7f-b9d0-073b67c90ec3"]

            """
        }
    }
}

/// The `.datapin/` working folder beside the spec: ignored by git, holds the schema copy.
public enum StateDirectory {
    /// Creates `.datapin/` with a `.gitignore` that ignores it and the spec schema for editors.
    public static func prepare(_ paths: ProjectPaths) throws {
        let directory = paths.stateDirectory
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let ignore = directory.appendingPathComponent(".gitignore")
        if !FileManager.default.fileExists(atPath: ignore.path) {
            try "# datapin's working state; never committed.\n*\n".write(to: ignore, atomically: true, encoding: .utf8)
        }
        let schema = directory.appendingPathComponent(SpecSchema.fileName)
        let text = SpecSchema.json + "\n"
        if (try? String(contentsOf: schema, encoding: .utf8)) != text {
            try text.write(to: schema, atomically: true, encoding: .utf8)
        }
    }
}
