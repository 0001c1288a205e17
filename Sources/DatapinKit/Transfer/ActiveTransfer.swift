import CCurl
import DatapinSupport
import Foundation

/// One request's state across its attempts. Owned by the engine's transfer thread: libcurl's
/// callbacks and the run loop touch it there; only value copies go to the hashing thread.
final class ActiveTransfer {
    let index: Int
    let request: TransferRequest
    let shownURL: String
    let isHTTP: Bool
    let isSFTP: Bool
    /// Resuming is done over HTTP(S) (a `Range` request) and SFTP (an offset); a `file://`
    /// source is re-read whole.
    let isResumable: Bool
    /// How an `sftp://` transfer logs in, or why it cannot; nil for other schemes.
    let sshLogin: Result<SSHLogin, TransferFailure>?
    /// `host:port` of an `sftp://` URL: the server whose host key is checked.
    let sshServer: String?
    /// Why the server's host key was refused, when it was (set by `hostKeyCheck`).
    var hostKeyRefusal: String?
    let checksumAlgorithm: DigestAlgorithm?
    /// The hashing thread this file's chunks go to.
    let pipeline: HashingPipeline
    private let events: @Sendable (TransferEvent) -> Void
    /// This attempt's headers: the request's, with credential headers (its own and its
    /// source's) only when the host may receive them.
    private(set) var headerList: UnsafeMutablePointer<curl_slist>?
    /// Where this attempt's credential headers come from; nil when the URL's host may not
    /// receive them or the request has none.
    let credentialSource: (any CredentialSource)?
    /// The generation of the token this attempt sent, nil when it sent none.
    private(set) var sentGeneration: Int?
    /// Whether the one retry with a fresh token after a 401 or 403 was used.
    var refusalRetryUsed = false

    var attempts = 0
    var bytesTransferred: Int64 = 0
    var resumedFrom: Int64?
    /// Whether the one fresh retry after a digest mismatch of a resumed download was used.
    var freshRetryUsed = false

    private(set) var fd: Int32 = -1
    private(set) var digests: DigestSet?
    /// Bytes written to the partial file and handed to the hashing thread.
    private(set) var bytesOnDisk: Int64 = 0
    private var chunk: Chunk?
    private var lastProgress: UInt64 = 0

    // State of the current attempt.
    /// The offset the attempt asked the server to start from (0: the whole file).
    private(set) var requestedOffset: Int64 = 0
    private(set) var responseChecked = false
    private var discardingBody = false
    /// A local failure (disk, permission) or a bad `Content-Range` that ended the attempt.
    var localFailure: TransferFailure?
    private(set) var retryAfter: String?
    private var contentRangeStart: Int64?
    /// The file's whole length from `Content-Range` (`bytes 0-9/10`, or `bytes */10` in a 416).
    private var completeLength: Int64?
    private var contentType: String?
    private var stallDetector: StallDetector
    /// Whether the attempt was ended because the server stalled.
    private(set) var stalled = false

    init(index: Int, request: TransferRequest, limits: TransferLimits, ssh: SSHEnvironment, pipeline: HashingPipeline, events: @escaping @Sendable (TransferEvent) -> Void) {
        self.index = index
        self.request = request
        self.stallDetector = StallDetector(limits)
        self.shownURL = HTTPClient.redactingUserInfo(request.url)
        let scheme = URLParts.scheme(of: request.url)
        self.isHTTP = scheme == "http" || scheme == "https"
        self.isSFTP = scheme == "sftp"
        self.isResumable = isHTTP || isSFTP
        self.sshLogin = isSFTP ? SSHLogin.resolve(request, environment: ssh) : nil
        let parts = isSFTP ? URLComponents(string: request.url) : nil
        self.sshServer = parts.map { "\($0.host?.lowercased() ?? ""):\($0.port ?? 22)" }
        self.checksumAlgorithm = request.checksum?.digestAlgorithm
        self.pipeline = pipeline
        self.events = events
        let mayCarryCredentials = URLParts.host(of: request.url).map { request.credentialHosts.contains($0) } ?? false
        self.credentialSource = mayCarryCredentials ? request.credentials?.source : nil
        headerList = Self.slist(Self.headerLines(request.headers.filter { mayCarryCredentials || !TransferRequest.credentialHeaderNames.contains($0.key.lowercased()) }))
    }

    /// Sends `headers` (`credentialSource`'s, for token `generation`) with the next attempts,
    /// replacing those of the request with the same names. Only for a transfer with a
    /// `credentialSource` (its host may receive them), between attempts: libcurl must not hold
    /// the list.
    func useCredentialHeaders(_ headers: [String: String], generation: Int) {
        let replaced = Set(headers.keys.map { $0.lowercased() })
        let own = request.headers.filter { !replaced.contains($0.key.lowercased()) }
        curl_slist_free_all(headerList)
        headerList = Self.slist(Self.headerLines(own) + Self.headerLines(headers))
        sentGeneration = generation
    }

    private static func headerLines(_ headers: [String: String]) -> [String] {
        // "Name;" is libcurl's spelling of a header with an empty value.
        headers.sorted { $0.key < $1.key }.map { $0.value.isEmpty ? "\($0.key);" : "\($0.key): \($0.value)" }
    }

    private static func slist(_ lines: [String]) -> UnsafeMutablePointer<curl_slist>? {
        var list: UnsafeMutablePointer<curl_slist>?
        for line in lines { list = curl_slist_append(list, line) }
        return list
    }

    deinit {
        curl_slist_free_all(headerList)
        if fd >= 0 { close(fd) }
    }

    /// Opens the partial file and decides where this attempt starts: where the previous attempt
    /// stopped, after bytes left by an earlier run (hashed first), or at zero.
    func prepareAttempt() throws(TransferFailure) {
        attempts += 1
        responseChecked = false
        discardingBody = false
        localFailure = nil
        retryAfter = nil
        contentRangeStart = nil
        completeLength = nil
        contentType = nil
        stalled = false
        stallDetector.reset()
        if fd < 0 {
            let opened = try LocalFiles.openPartial(request.partialPath, root: request.rootPath)
            fd = opened.fd
            let continuesPreviousAttempt = digests != nil && opened.size == bytesOnDisk && request.allowResume && isResumable
            if !continuesPreviousAttempt {
                let fresh = try DigestSet(extra: checksumAlgorithm.map { [$0] } ?? [])
                digests = fresh
                bytesOnDisk = 0
                if opened.size > 0 {
                    // Bytes beyond the locked size cannot be this file's: fetch it again.
                    let longerThanLocked = request.expectedSize.map { opened.size > $0 } ?? false
                    if request.allowResume && isResumable && !longerThanLocked {
                        pipeline.prime(fresh, fromFileAt: request.partialPath, length: opened.size)
                        bytesOnDisk = opened.size
                    } else {
                        try LocalFiles.truncate(fd, path: request.partialPath)
                    }
                }
            }
        }
        requestedOffset = bytesOnDisk
    }

    /// Whether the partial file already holds every locked byte (a run ended after writing the
    /// last one but before placing the file): it needs verifying, not a request.
    var holdsWholeLockedFile: Bool {
        guard let expected = request.expectedSize, expected > 0 else { return false }
        return bytesOnDisk == expected
    }

    /// Whether a 416 answer to this attempt's range request says the file ends exactly where the
    /// partial file does (`Content-Range: bytes */<length>`): the partial is the whole file.
    var rangeRefusedAtEndOfFile: Bool {
        requestedOffset > 0 && bytesOnDisk == requestedOffset && completeLength == requestedOffset
    }

    /// Empties the partial file and starts the digests over.
    func restartFromZero() throws(TransferFailure) {
        chunk = nil
        if fd >= 0 { try LocalFiles.truncate(fd, path: request.partialPath) } else { LocalFiles.remove(request.partialPath) }
        digests = try DigestSet(extra: checksumAlgorithm.map { [$0] } ?? [])
        bytesOnDisk = 0
        resumedFrom = nil
    }

    /// Forgets the partial file, which the verification job closed and placed or removed.
    func forgetPartial() {
        chunk = nil
        digests = nil
        bytesOnDisk = 0
        fd = -1
    }

    /// Hands the open descriptor to the caller (the verification job), which will close it.
    func takeDescriptor() -> Int32 {
        defer { fd = -1 }
        return fd
    }

    func closeFile() {
        if fd >= 0 { close(fd) }
        fd = -1
    }

    /// Writes and queues for hashing what is buffered; records a disk failure.
    @discardableResult
    func flush() -> Bool {
        guard let pending = chunk else { return true }
        chunk = nil
        guard pending.count > 0 else { return true }
        if let code = WritingAll.write(fd, pending.bytes) {
            localFailure = TransferFailure.fromErrno(code, path: request.partialPath)
            return false
        }
        bytesOnDisk += Int64(pending.count)
        if let digests { pipeline.hash(pending, into: digests) }
        return true
    }

    // MARK: libcurl callbacks

    /// Takes body bytes from libcurl; returns how many were consumed (fewer aborts the attempt).
    func receive(_ bytes: UnsafeRawBufferPointer, handle: UnsafeMutableRawPointer) -> Int {
        if !responseChecked {
            responseChecked = true
            checkResponseStart(handle: handle)
            if !discardingBody, localFailure == nil, isHTTP, isUnexpectedHTMLPage(startingWith: bytes) {
                localFailure = .sourceError(url: shownURL, reason: "the server sent an HTML page (a login or error page?) instead of \((request.finalPath as NSString).lastPathComponent)")
            }
        }
        if localFailure != nil { return 0 }
        if discardingBody { return bytes.count }
        let received = bytesOnDisk + Int64(chunk?.count ?? 0) + Int64(bytes.count)
        if let expected = request.expectedSize, received > expected {
            // Stop as soon as the body is longer than the lock says, before writing past that
            // size, rather than fetch it all.
            localFailure = .sizeMismatch(expected: expected, actual: received)
            return 0
        }
        var rest = bytes
        while !rest.isEmpty {
            let current: Chunk
            if let chunk { current = chunk } else {
                current = pipeline.makeChunk()
                chunk = current
            }
            let taken = current.append(rest)
            rest = UnsafeRawBufferPointer(rebasing: rest[taken...])
            if current.isFull, !flush() { return 0 }
        }
        bytesTransferred += Int64(bytes.count)
        let now = DispatchTime.now().uptimeNanoseconds
        if now &- lastProgress >= 100_000_000 {
            lastProgress = now
            events(.progress(id: request.id, bytes: received, total: request.expectedSize))
        }
        return bytes.count
    }

    /// Remembers the header fields the engine needs; a status line starts a new response.
    func receiveHeader(_ line: UnsafeRawBufferPointer) {
        guard let first = line.first else { return }
        switch first {
        case UInt8(ascii: "H"):
            if line.starts(with: "HTTP/".utf8) {
                retryAfter = nil
                contentRangeStart = nil
                completeLength = nil
                contentType = nil
            }
        case UInt8(ascii: "R"), UInt8(ascii: "r"), UInt8(ascii: "C"), UInt8(ascii: "c"):
            let text = String(decoding: line, as: UTF8.self)
            guard let colon = text.firstIndex(of: ":") else { return }
            let name = text[..<colon].lowercased()
            let value = text[text.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
            if name == "retry-after" {
                retryAfter = value
            } else if name == "content-range", value.lowercased().hasPrefix("bytes ") {
                let range = value.dropFirst(6)
                contentRangeStart = Int64(range.prefix(while: { $0.isNumber }))
                completeLength = range.firstIndex(of: "/").flatMap { Int64(range[range.index(after: $0)...]) }
            } else if name == "content-type" {
                contentType = value.lowercased()
            }
        default:
            return
        }
    }

    /// Whether the attempt has stalled, `received` being its body bytes so far (libcurl's count,
    /// from zero at each attempt); checked about once a second, even while nothing arrives.
    func hasStalled(received: Int64) -> Bool {
        if !stalled, stallDetector.hasStalled(bytes: received) { stalled = true }
        return stalled
    }

    /// Whether a successful answer is an HTML page where the lock names another kind of file:
    /// the body starts like an HTML document, or is markup sent as `text/html`. A server sends
    /// such a page for a login or an error; fetching it again would not change it.
    private func isUnexpectedHTMLPage(startingWith bytes: UnsafeRawBufferPointer) -> Bool {
        let name = request.finalPath.lowercased()
        if [".html", ".htm", ".xhtml"].contains(where: { name.hasSuffix($0) }) { return false }
        guard let start = bytes.firstIndex(where: { !(Self.blankOrByteOrderMark.contains($0)) }), bytes[start] == UInt8(ascii: "<") else { return false }
        if let contentType, contentType.hasPrefix("text/html") || contentType.hasPrefix("application/xhtml+xml") { return true }
        let head = String(decoding: bytes[start..<min(bytes.endIndex, start + 64)], as: UTF8.self).lowercased()
        return head.hasPrefix("<!doctype html") || head.hasPrefix("<html")
    }

    /// Bytes that may come before an HTML page's first `<`: blanks, line breaks, UTF-8's byte-order mark.
    private static let blankOrByteOrderMark: Set<UInt8> = [0x20, 0x09, 0x0A, 0x0D, 0xEF, 0xBB, 0xBF]

    /// At the first body byte: an error answer's body is dropped; a 200 to a range request
    /// means the server sent the whole file, so the partial starts over; a 206 must start
    /// exactly where the partial ends.
    private func checkResponseStart(handle: UnsafeMutableRawPointer) {
        var status = 0
        datapin_easy_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        let success = isHTTP ? (200..<300).contains(status) : true
        guard success else {
            discardingBody = true
            return
        }
        guard requestedOffset > 0 else { return }
        if isSFTP {
            // libcurl seeked to the offset asked for, or failed the transfer.
            resumedFrom = requestedOffset
            return
        }
        if status == 206 {
            if contentRangeStart == requestedOffset {
                resumedFrom = requestedOffset
            } else {
                localFailure = .transport(url: shownURL, reason: "the server resumed at another offset than the one asked for")
            }
            return
        }
        do {
            try restartFromZero()
        } catch {
            localFailure = error
        }
    }
}
