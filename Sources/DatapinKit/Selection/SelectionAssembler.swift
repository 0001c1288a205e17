import DatapinLock
import DatapinSpec
import DatapinSupport

/// Turns what the archives listed for each dataset entry into the lock's entries: filters each
/// entry's products, lays them out, de-duplicates files several datasets list, and checks that no
/// path escapes `destination` and no two different files share a path.
public enum SelectionAssembler {
    /// `groups`: every dataset entry of the spec in spec order, each with the products its archive
    /// listed (NOT yet filtered). Applies `spec.select.overridden(by: entry.select)` per entry,
    /// lays out paths, de-duplicates, and returns lock entries sorted by path.
    /// Throws every problem at once: layout collisions (two different files at one path — name both
    /// URIs, location = spec.layoutLocation or the second entry's location), paths that differ only
    /// in case (unless `spec.caseSensitive`), a file at the top named like a manifest the sync
    /// writes (with `manifest: true`), download URLs with credentials in them, paths that escape
    /// destination (location = the entry's location, message names the archive, dataset, and the bad name
    /// with control characters escaped), invalid regexes (should not happen after SpecLoader, but do not crash).
    ///
    /// A file's identity is `Product.identity`. One listing owns the file (its dataset and path):
    /// the first, in spec order, of the listings whose archive says the file is its dataset's own
    /// (`Product.ownedByDataset`), else the first listing in spec order. Other datasets listing
    /// it are named in `also`, and with `duplicates: link` or `copy` the paths it would have had
    /// there are in `alsoPaths`.
    public static func assemble(_ groups: [(entry: DatasetEntry, products: [Product])], spec: Spec, source: SourceText?) throws(DiagnosticList) -> [LockEntry] {
        var assembly = Assembly(spec: spec, source: source)
        for group in groups {
            assembly.add(group.products, of: group.entry)
        }
        assembly.placeListings()
        guard assembly.diagnostics.isEmpty else { throw DiagnosticList(assembly.diagnostics) }
        return assembly.lockEntries()
    }
}

/// The state of one assembly: files placed so far, which file holds each path, problems found.
private struct Assembly {
    /// A file with the listing that owns it and the other places it appears.
    struct PlacedFile {
        var product: Product
        var path: String
        var also: [String] = []
        var alsoPaths: [String] = []
    }

    /// The file that holds a path, and which entry put it there.
    struct Occupant {
        var identity: String
        var uri: String
        var dataset: String
        var filename: String
    }

    /// A product that passed its entry's filters, with its laid-out path, not placed yet.
    struct Listing {
        var product: Product
        var path: String
        var entry: DatasetEntry
    }

    let spec: Spec
    let source: SourceText?
    var diagnostics: [Diagnostic] = []
    private var listings: [Listing] = []
    private var files: [PlacedFile] = []
    private var fileIndexByIdentity: [String: Int] = [:]
    private var occupants: [String: Occupant] = [:]
    /// Every folder some placed file sits in, with one file inside it (a file may not take a folder's path).
    private var folders: [String: String] = [:]
    private var reportedPatterns: Set<FilePattern> = []
    private var reportedUnsafeListings: Set<[String]> = []
    private var reportedCollisions: Set<[String]> = []
    private var reportedCredentialURLs: Set<String> = []
    /// The placed paths, for the rule on paths laid out together (manifest names, case clashes).
    private var laidOut: LaidOutPaths

    init(spec: Spec, source: SourceText?) {
        self.spec = spec
        self.source = source
        laidOut = LaidOutPaths(manifest: spec.manifest, caseSensitive: spec.caseSensitive)
    }

    /// Filters `products`, lays them out and checks their paths and URLs; the listings that pass
    /// wait for `placeListings`.
    mutating func add(_ products: [Product], of entry: DatasetEntry) {
        guard let filter = filter(for: entry) else { return }
        for product in products where filter.accepts(product) {
            let path = LayoutEngine.path(for: product, layout: spec.layout)
            if let problem = PathSafety.problem(with: path) {
                reportUnsafe(product, path: path, problem: problem, entry: entry)
                continue
            }
            // Userinfo needs an `@`; most URLs have none, and the full check searches with Foundation.
            if product.url.utf8.contains(UInt8(ascii: "@")), URLUserinfo.hasUserinfo(product.url) {
                reportCredentialURL(product, entry: entry)
                continue
            }
            listings.append(Listing(product: product, path: path, entry: entry))
        }
    }

    /// Places every listing in spec order, except that a file's owning listing (the first that
    /// says the file is its dataset's own, else the first) is placed before the others of the
    /// same file. When the owning listing cannot take its path, the next listing of the file
    /// tries its own, as the first listing would.
    mutating func placeListings() {
        // Listings are read in place by index: a copy of a listing is a copy of its product.
        var owners: [String: Int] = [:]
        owners.reserveCapacity(listings.count)
        for index in listings.indices {
            let identity = listings[index].product.identity
            if let current = owners[identity], listings[current].product.ownedByDataset || !listings[index].product.ownedByDataset { continue }
            owners[identity] = index
        }
        fileIndexByIdentity.reserveCapacity(owners.count)
        files.reserveCapacity(owners.count)
        var triedOwners: Set<String> = []
        triedOwners.reserveCapacity(owners.count)
        for index in listings.indices {
            let identity = listings[index].product.identity
            let owner = owners[identity]
            if owner == index, triedOwners.contains(identity) { continue }
            if fileIndexByIdentity[identity] == nil, let owner, triedOwners.insert(identity).inserted {
                place(at: owner)
                if owner == index { continue }
            }
            if let file = fileIndexByIdentity[identity] {
                addListing(at: index, toFileAt: file)
            } else {
                place(at: index)
            }
        }
        listings = []
    }

    /// Makes the listing at `index` the file's placed listing when its path is free.
    private mutating func place(at index: Int) {
        let listing = listings[index]
        guard claim(listing.path, for: listing.product, entry: listing.entry) else { return }
        fileIndexByIdentity[listing.product.identity] = files.count
        files.append(PlacedFile(product: listing.product, path: listing.path))
    }

    /// `addListing` of the listing at `index`.
    private mutating func addListing(at index: Int, toFileAt file: Int) {
        let listing = listings[index]
        addListing(listing.product, path: listing.path, toFileAt: file, entry: listing.entry)
    }

    func lockEntries() -> [LockEntry] {
        let entries = files.map { file in
            let product = file.product
            return LockEntry(
                path: file.path, archive: product.archive, dataset: product.dataset,
                uri: product.uri, url: product.url, size: product.size, sha256: product.sha256,
                checksum: product.checksum, modified: product.modified, level: product.level,
                suffix: product.suffix ?? ProductFilter.suffix(ofFilename: product.filename),
                type: product.type, access: product.access, instrument: product.instrument,
                filters: product.filters, also: file.also, alsoPaths: file.alsoPaths.sorted(), association: product.association)
        }
        return entries.indices.dropFirst().allSatisfy({ !(entries[$0].path < entries[$0 - 1].path) }) ? entries : entries.sorted { $0.path < $1.path }
    }

    /// Another listing of a file already placed: its dataset joins `also`, and with link or copy
    /// its path joins `alsoPaths`.
    private mutating func addListing(_ product: Product, path: String, toFileAt index: Int, entry: DatasetEntry) {
        let file = files[index]
        if product.dataset != file.product.dataset, !file.also.contains(product.dataset) {
            files[index].also.append(product.dataset)
        }
        guard spec.duplicates != .once, path != file.path, !file.alsoPaths.contains(path) else { return }
        if claim(path, for: product, entry: entry) {
            files[index].alsoPaths.append(path)
        }
    }

    /// Records that `product` is placed at `path`; false, with a diagnostic, when a different
    /// file already holds it.
    private mutating func claim(_ path: String, for product: Product, entry: DatasetEntry) -> Bool {
        guard let occupant = occupants[path] else {
            if let conflict = folderConflict(path) {
                let message = "'\(PathSafety.escaped(product.uri))' (dataset '\(PathSafety.escaped(product.dataset))') would be placed at '\(PathSafety.escaped(path))', but '\(PathSafety.escaped(conflict))' needs that path or one of its folders to be a folder"
                diagnostics.append(diagnostic(message, at: spec.layoutLocation ?? entry.location, notes: ["a path cannot be both a file and a folder; change the layout so that the two files do not nest"]))
                return false
            }
            switch laidOut.clash(with: path) {
            case .manifest(_, let manifest):
                let message = "'\(PathSafety.escaped(product.uri))' (dataset '\(PathSafety.escaped(product.dataset))') would be placed at '\(PathSafety.escaped(path))', where `manifest: true` writes the download manifest \(manifest) after every sync"
                diagnostics.append(diagnostic(message, at: spec.layoutLocation ?? entry.location, notes: ["set `manifest: false`, or use `layout: nested` (or a layout template with a folder such as {dataset}/{filename}) so that no file sits at the top beside the manifest"]))
                return false
            case .caseOnly(_, let earlier, let spelling, let earlierSpelling):
                let earlierDataset = occupants[earlier]?.dataset ?? ""
                let message = "'\(PathSafety.escaped(earlier))' (dataset '\(PathSafety.escaped(earlierDataset))') and '\(PathSafety.escaped(path))' (dataset '\(PathSafety.escaped(product.dataset))') differ only in case\(spelling == path ? "" : " ('\(PathSafety.escaped(earlierSpelling))' and '\(PathSafety.escaped(spelling))')"), so they would be one file on a case-insensitive file system (macOS, Windows)"
                diagnostics.append(diagnostic(message, at: spec.layoutLocation ?? entry.location, notes: ["choose a layout that tells them apart, or set `case_sensitive: true` at the top of the spec if the destination's file system always tells names that differ in case apart"]))
                return false
            case nil:
                break
            }
            laidOut.insert(path)
            occupants[path] = Occupant(identity: product.identity, uri: product.uri, dataset: product.dataset, filename: product.filename)
            var folder = LaidOutPaths.folder(of: path)
            while !folder.isEmpty, folders[folder] == nil {
                folders[folder] = path
                folder = LaidOutPaths.folder(of: folder)
            }
            return true
        }
        if occupant.identity == product.identity { return true }
        if reportedCollisions.insert([path, occupant.identity, product.identity]).inserted {
            let message = "two different files would be placed at '\(PathSafety.escaped(path))': '\(PathSafety.escaped(occupant.uri))' (dataset '\(PathSafety.escaped(occupant.dataset))') and '\(PathSafety.escaped(product.uri))' (dataset '\(PathSafety.escaped(product.dataset))')"
            diagnostics.append(diagnostic(message, at: spec.layoutLocation ?? entry.location, notes: [collisionHint(occupant, product)]))
        }
        return false
    }

    /// The placed file that `path` would clash with: one inside a folder named `path`, or one
    /// placed at a folder on `path`'s way.
    private func folderConflict(_ path: String) -> String? {
        if let inside = folders[path] { return inside }
        var folder = LaidOutPaths.folder(of: path)
        while !folder.isEmpty {
            if occupants[folder] != nil { return folder }
            folder = LaidOutPaths.folder(of: folder)
        }
        return nil
    }

    private func collisionHint(_ occupant: Occupant, _ product: Product) -> String {
        switch spec.layout {
        case .template(let template) where template.contains("{dataset}"):
            return "the layout template gives both files the same path; add placeholders that tell them apart, such as {filename}"
        case .nested:
            return occupant.dataset == product.dataset && occupant.filename == product.filename
                ? "the archive lists both under the same dataset and file name"
                : "their dataset names become the same folder once '/' is replaced by '_'"
        case .flat, .template:
            return "use `layout: nested`, or a layout template with {dataset}, to give each dataset its own folder"
        }
    }

    private mutating func reportCredentialURL(_ product: Product, entry: DatasetEntry) {
        guard reportedCredentialURLs.insert(product.identity).inserted else { return }
        let message = "archive '\(PathSafety.escaped(product.archive))', dataset '\(PathSafety.escaped(product.dataset))': file '\(PathSafety.escaped(product.filename))' has credentials in its download URL (\(PathSafety.escaped(URLUserinfo.redacted(product.url)))); datapin never writes them into the lock"
        diagnostics.append(diagnostic(message, at: entry.location, notes: ["have the archive list the URL without a user name or password, and \(URLUserinfo.advice)"]))
    }

    private mutating func reportUnsafe(_ product: Product, path: String, problem: String, entry: DatasetEntry) {
        guard reportedUnsafeListings.insert([product.archive, product.dataset, product.filename, path]).inserted else { return }
        let message = "archive '\(PathSafety.escaped(product.archive))', dataset '\(PathSafety.escaped(product.dataset))': file '\(PathSafety.escaped(product.filename))' cannot be placed under the destination: \(problem)"
        let notes = path == product.filename ? [] : ["its local path would be '\(PathSafety.escaped(path))'"]
        diagnostics.append(diagnostic(message, at: entry.location, notes: notes))
    }

    /// The entry's compiled filters, or nil (with a diagnostic per invalid regex) when one does
    /// not compile.
    private mutating func filter(for entry: DatasetEntry) -> ProductFilter? {
        let filters = spec.select.overridden(by: entry.select)
        do {
            return try ProductFilter(filters)
        } catch {
            for pattern in (filters.include ?? []) + (filters.exclude ?? []) {
                do {
                    _ = try CompiledPattern(pattern)
                } catch {
                    if reportedPatterns.insert(pattern).inserted {
                        diagnostics.append(diagnostic(error.message, at: pattern.location ?? entry.location))
                    }
                }
            }
            return nil
        }
    }

    private func diagnostic(_ message: String, at location: SourceLocation?, notes: [String] = []) -> Diagnostic {
        if let source, let location {
            return source.diagnostic(.error, message, at: location, notes: notes)
        }
        return Diagnostic(.error, message, at: location, notes: notes)
    }
}
