import DatapinSelection
import DatapinSupport
import Foundation

/// Turns a SciCat dataset and its origdatablocks into products: one per `dataFileList` entry,
/// its path relative to `sourceFolder` kept with its subfolders, its URL on the facility's file
/// server (`files:`), its size, time and checksum.
enum SciCatProducts {
    /// Why a dataset cannot be locked as SciCat lists it.
    enum Problem: Error, Sendable, Hashable {
        /// The blocks' files add up to other totals than the dataset's `size`/`numberOfFiles`.
        case inconsistentTotals(pid: String, files: Int64, bytes: Int64, numberOfFiles: Int64?, size: Int64?)
        /// A `chk` that is not hexadecimal of its algorithm's length.
        case malformedChecksum(pid: String, path: String, algorithm: String)
        /// A file listed twice in the dataset with different sizes or checksums.
        case conflictingListings(pid: String, path: String)

        /// One plain sentence for the user.
        var message: String {
            switch self {
            case .inconsistentTotals(let pid, let files, let bytes, let numberOfFiles, let size):
                let claimed = [numberOfFiles.map { "numberOfFiles \($0)" }, size.map { "size \($0)" }].compactMap { $0 }.joined(separator: " and ")
                return "dataset '\(pid)' says \(claimed) but its origdatablocks list \(files) file\(files == 1 ? "" : "s") of \(bytes) bytes; some blocks are missing or the dataset is being changed, so it is not locked"
            case .malformedChecksum(let pid, let path, let algorithm):
                return "dataset '\(pid)' gives '\(PathSafety.escaped(path))' a \(algorithm) chk that is not \(algorithm) hexadecimal"
            case .conflictingListings(let pid, let path):
                return "dataset '\(pid)' lists '\(PathSafety.escaped(path))' twice with different sizes or checksums"
            }
        }
    }

    /// The products of `dataset` whose files `blocks` list, downloaded from `filesBase`
    /// (`https://host/prefix`, `sftp://host`, `file:///mount`, no trailing slash).
    static func products(of dataset: SciCatDataset, blocks: [SciCatBlock], archive: String, filesBase: String) throws(Problem) -> [Product] {
        try checkTotals(of: dataset, blocks: blocks)
        let folder = trimmedFolder(dataset.sourceFolder)
        var products: [Product] = []
        var seen: [String: Int] = [:]
        for block in blocks {
            for file in block.files {
                let sourcePath = file.path.hasPrefix("/") ? file.path : folder + "/" + file.path
                let filename = relativePath(of: file.path, in: folder)
                var product = Product(archive: archive, dataset: dataset.pid, filename: filename, uri: "scicat:\(dataset.pid)/\(filename)",
                                      url: filesBase + encodedPath(sourcePath), size: file.size, modified: file.time, ownedByDataset: true)
                product.datasetName = dataset.datasetName
                try setChecksum(of: &product, chk: file.chk, algorithm: block.chkAlg, pid: dataset.pid)
                if let earlier = seen[product.uri] {
                    guard products[earlier].size == product.size, products[earlier].sha256 == product.sha256, products[earlier].checksum == product.checksum else {
                        throw .conflictingListings(pid: dataset.pid, path: filename)
                    }
                    continue
                }
                seen[product.uri] = products.count
                products.append(product)
            }
        }
        return products
    }

    /// Refuses a dataset whose blocks' file count or total size disagree with what the dataset
    /// says; a total the dataset leaves out is not compared.
    static func checkTotals(of dataset: SciCatDataset, blocks: [SciCatBlock]) throws(Problem) {
        let files = Int64(blocks.reduce(0) { $0 + $1.files.count })
        let bytes = blocks.reduce(Int64(0)) { total, block in total + (block.size ?? block.files.reduce(0) { $0 + ($1.size ?? 0) }) }
        let countDiffers = dataset.numberOfFiles.map { $0 != files } ?? false
        let sizeDiffers = dataset.size.map { $0 != bytes } ?? false
        if countDiffers || sizeDiffers {
            throw .inconsistentTotals(pid: dataset.pid, files: files, bytes: bytes, numberOfFiles: dataset.numberOfFiles, size: dataset.size)
        }
    }

    /// The file's path under the dataset: relative as SciCat gives it, or an absolute path made
    /// relative to `folder` when it lies inside it. An absolute path outside the folder stays
    /// absolute, so that the lock refuses it (a file must land inside the dataset's folder).
    static func relativePath(of path: String, in folder: String) -> String {
        guard path.hasPrefix("/") else { return path }
        let prefix = folder + "/"
        if folder != "", path.hasPrefix(prefix), path.count > prefix.count { return String(path.dropFirst(prefix.count)) }
        return path
    }

    /// `sourceFolder` without trailing `/`; empty for none or the root.
    static func trimmedFolder(_ folder: String) -> String {
        var folder = folder
        while folder.hasSuffix("/") { folder.removeLast() }
        if !folder.isEmpty, !folder.hasPrefix("/") { folder = "/" + folder }
        return folder
    }

    /// An absolute path with every segment percent-encoded strictly (RFC 3986 unreserved kept).
    static func encodedPath(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false).map { segment(String($0)) }.joined(separator: "/")
    }

    /// One path segment, percent-encoded strictly: `/` as `%2F`, a space as `%20`.
    static func segment(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }

    /// RFC 3986's unreserved characters: `A-Z a-z 0-9 - . _ ~`.
    static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    /// Sets the product's checksum from the file's `chk` and its block's `chkAlg`: SHA-256
    /// (`sha256`, and `sha2` when it has SHA-256's length) as the product's SHA-256; other
    /// algorithms datapin knows (`blake2b` is BLAKE2b-512, `md5`, `sha1`) as its checksum; an
    /// algorithm it does not know as a checksum too, which the lock warns about once per
    /// algorithm (the file is then verified by size and the SHA-256 pinned at its first
    /// download). `sha2` is kept as the checksum beside the SHA-256 for that warning: it is not a
    /// real algorithm name. No `chk` or no `chkAlg`: size only.
    static func setChecksum(of product: inout Product, chk: String?, algorithm: String?, pid: String) throws(Problem) {
        guard let chk = chk?.trimmingCharacters(in: .whitespacesAndNewlines).lowercased(), !chk.isEmpty, let algorithm = algorithm?.lowercased() else { return }
        if algorithm == "sha2" {
            if Hex.isHex(chk, length: DigestAlgorithm.sha256.hexLength) { product.sha256 = chk }
            product.checksum = Checksum(algorithm: algorithm, hex: chk)
            return
        }
        guard let known = DigestAlgorithm(archiveName: algorithm) else {
            product.checksum = Checksum(algorithm: algorithm, hex: chk)
            return
        }
        guard Hex.isHex(chk, length: known.hexLength) else { throw .malformedChecksum(pid: pid, path: product.filename, algorithm: algorithm) }
        if known == .sha256 {
            product.sha256 = chk
        } else {
            product.checksum = Checksum(algorithm: algorithm, hex: chk)
        }
    }
}
