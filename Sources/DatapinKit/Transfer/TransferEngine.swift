import CCurl
import DatapinSupport
import Foundation

/// Downloads files in parallel through one libcurl multi handle driven by one dedicated thread
/// (never Swift concurrency's cooperative pool), streaming each body into a partial file while
/// hashing threads (one per core, each file on one of them) hash it, verifying size and digests, and renaming verified files into place.
/// Transient failures are retried with backoff, resuming from the bytes already on disk.
/// `sftp://` files log in with the SSH agent or a key file and are fetched only from hosts whose
/// key `~/.ssh/known_hosts` holds.
public final class TransferEngine: Sendable {
    /// Transfers running at once.
    public let maxConcurrent: Int
    /// Connections to one host at once.
    public let maxPerHost: Int
    public let retry: RetryPolicy
    /// A transfer that gets fewer than `limits.minimumBytesPerSecond` a second over
    /// `limits.stallSeconds` has stalled; it is retried, resuming where it stopped.
    public let limits: TransferLimits
    /// How verified files are flushed before they are renamed into place.
    public let durability: Durability
    /// `$NETRC` when set; otherwise libcurl reads `~/.netrc`.
    let netrcFile: String?
    /// Where `sftp://` transfers find their keys, agent, login name and known hosts.
    let ssh: SSHEnvironment
    private let cancellation = Cancellation()

    public convenience init(maxConcurrent: Int = 8, maxPerHost: Int = 6, retry: RetryPolicy = .default, limits: TransferLimits = .environmentOrDefault, durability: Durability = .batched) {
        self.init(maxConcurrent: maxConcurrent, maxPerHost: maxPerHost, retry: retry, limits: limits, netrcFile: ProcessInfo.processInfo.environment["NETRC"], ssh: SSHEnvironment(), durability: durability)
    }

    convenience init(maxConcurrent: Int, maxPerHost: Int, retry: RetryPolicy, stallSeconds: Int, netrcFile: String?) {
        var limits = TransferLimits.default
        limits.stallSeconds = max(1, stallSeconds)
        self.init(maxConcurrent: maxConcurrent, maxPerHost: maxPerHost, retry: retry, limits: limits, netrcFile: netrcFile)
    }

    init(maxConcurrent: Int, maxPerHost: Int, retry: RetryPolicy, limits: TransferLimits, netrcFile: String?, ssh: SSHEnvironment = SSHEnvironment(), durability: Durability = .batched) {
        self.durability = durability
        self.maxConcurrent = max(1, maxConcurrent)
        self.maxPerHost = max(1, maxPerHost)
        self.retry = retry
        self.limits = limits
        self.netrcFile = netrcFile.flatMap { $0.isEmpty ? nil : $0 }
        self.ssh = ssh
    }

    /// Runs every request and returns one result per request, in the order given. `events` is
    /// called on the engine's transfer thread: keep it short.
    public func run(_ requests: [TransferRequest], events: @escaping @Sendable (TransferEvent) -> Void) async -> [TransferResult] {
        await withCheckedContinuation { (continuation: CheckedContinuation<[TransferResult], Never>) in
            startThread(requests, events: events) { continuation.resume(returning: $0) }
        }
    }

    /// `run` for synchronous callers such as the command line's main thread: blocks the calling
    /// thread (never call it from a Swift concurrency task) until every request has finished.
    public func runBlocking(_ requests: [TransferRequest], events: @escaping @Sendable (TransferEvent) -> Void) -> [TransferResult] {
        let done = DispatchSemaphore(value: 0)
        let box = ResultsBox()
        startThread(requests, events: events) { results in
            box.results = results
            done.signal()
        }
        done.wait()
        return box.results
    }

    /// Stops every run in progress promptly: transfers not yet placed end as `.cancelled`,
    /// keeping their partial files for the next run to resume. Later runs are cancelled at once.
    public func cancel() {
        cancellation.cancel()
    }

    private func startThread(_ requests: [TransferRequest], events: @escaping @Sendable (TransferEvent) -> Void, completion: @escaping @Sendable ([TransferResult]) -> Void) {
        let loop = TransferLoop(engine: self, requests: requests, events: events, cancellation: cancellation)
        let thread = Thread { completion(loop.execute()) }
        thread.name = "datapin-transfer"
        thread.stackSize = 4 << 20
        thread.start()
    }
}

/// Carries results from the transfer thread to a blocked caller; written before the semaphore
/// is signalled and read after it is waited on.
private final class ResultsBox: @unchecked Sendable {
    var results: [TransferResult] = []
}

/// The cancelled flag and the multi handles of running loops, so `cancel()` can wake them.
private final class Cancellation: @unchecked Sendable {
    private let lock = NSLock()
    private var cancelled = false
    private var multis: [UnsafeMutableRawPointer] = []

    var isCancelled: Bool { lock.withLock { cancelled } }

    func cancel() {
        lock.withLock {
            cancelled = true
            for multi in multis { curl_multi_wakeup(multi) }
        }
    }

    /// Registers a running loop's multi handle so `cancel()` can wake it.
    func register(_ multi: UnsafeMutableRawPointer) {
        lock.withLock { multis.append(multi) }
    }

    /// Must be called before the multi handle is cleaned up.
    func unregister(_ multi: UnsafeMutableRawPointer) {
        lock.withLock { multis.removeAll { $0 == multi } }
    }
}

/// Verification and placement outcomes posted by the hashing and placement threads to the
/// transfer thread, and word from credential sources that a token is ready.
private final class Mailbox: @unchecked Sendable {
    private let lock = NSLock()
    private var outcomes: [(index: Int, outcome: TransferOutcome)] = []
    private var credentialsReady = false
    /// Set before the multi handle is cleaned up: a late word wakes nothing.
    private var closed = false
    private let multi: UnsafeMutableRawPointer

    init(multi: UnsafeMutableRawPointer) { self.multi = multi }

    func post(index: Int, outcome: TransferOutcome) {
        lock.withLock {
            outcomes.append((index, outcome))
            if !closed { curl_multi_wakeup(multi) }
        }
    }

    /// Called by a credential source, from its own thread, when asking again will answer.
    func credentialsAnswered() {
        lock.withLock {
            credentialsReady = true
            if !closed { curl_multi_wakeup(multi) }
        }
    }

    /// Whether a credential source answered since the last call.
    func takeCredentialsAnswered() -> Bool {
        lock.withLock {
            defer { credentialsReady = false }
            return credentialsReady
        }
    }

    func close() {
        lock.withLock { closed = true }
    }

    func take() -> [(index: Int, outcome: TransferOutcome)] {
        lock.withLock {
            defer { outcomes.removeAll(keepingCapacity: true) }
            return outcomes
        }
    }
}

/// A libcurl easy handle kept for reuse across transfers, with its error buffer.
private final class EasyHandle {
    let handle: UnsafeMutableRawPointer
    let errorBuffer: UnsafeMutablePointer<CChar>

    init?() {
        guard let handle = curl_easy_init() else { return nil }
        self.handle = handle
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    }

    deinit {
        curl_easy_cleanup(handle)
        errorBuffer.deallocate()
    }

    var errorDetail: String { String(cString: errorBuffer) }
}

/// One run of the engine: the multi handle, the queues and the results. Lives on its transfer
/// thread; only the mailbox is shared with the hashing and placement threads.
private final class TransferLoop: @unchecked Sendable {
    private let engine: TransferEngine
    private let requests: [TransferRequest]
    private let events: @Sendable (TransferEvent) -> Void
    private let cancellation: Cancellation
    /// One hashing thread per core (at most one per transfer slot); a file is hashed on one of
    /// them throughout, so its chunks stay in order, and concurrent files on different cores.
    private let pipelines: [HashingPipeline]

    private var multi: UnsafeMutableRawPointer!
    private var mailbox: Mailbox!
    private var placer: Placer!
    private var transfers: [ActiveTransfer] = []
    private var ready: [Int] = []
    private var readyHead = 0
    private var delayed: [(due: UInt64, index: Int)] = []
    private var running: [Int: EasyHandle] = [:]
    private var verifying: Set<Int> = []
    /// Transfers whose credential source is fetching a token: they start when it answers.
    private var awaitingCredentials: [Int] = []
    private var spareHandles: [EasyHandle] = []
    /// SSH servers (`host:port`) whose host key was refused this run, with why: the other files
    /// from them fail at once instead of each connecting to be refused again.
    private var refusedSSHServers: [String: String] = [:]
    private var results: [TransferResult?]
    private var unfinished: Int

    init(engine: TransferEngine, requests: [TransferRequest], events: @escaping @Sendable (TransferEvent) -> Void, cancellation: Cancellation) {
        self.engine = engine
        self.requests = requests
        self.events = events
        self.cancellation = cancellation
        self.results = Array(repeating: nil, count: requests.count)
        self.unfinished = requests.count
        let lanes = max(1, min(ProcessInfo.processInfo.activeProcessorCount, engine.maxConcurrent, max(1, requests.count)))
        self.pipelines = (0..<lanes).map { _ in HashingPipeline() }
    }

    func execute() -> [TransferResult] {
        Curl.ensureInitialised()
        guard let multi = curl_multi_init() else {
            return requests.map { TransferResult(id: $0.id, outcome: .failed(.transport(url: HTTPClient.redactingUserInfo($0.url), reason: "libcurl could not create a multi handle")), bytesTransferred: 0, resumedFrom: nil, attempts: 0) }
        }
        self.multi = multi
        let mailbox = Mailbox(multi: multi)
        self.mailbox = mailbox
        placer = Placer(durability: engine.durability) { index, outcome in mailbox.post(index: index, outcome: outcome) }
        datapin_multi_setopt_long(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, engine.maxConcurrent)
        datapin_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, engine.maxPerHost)
        datapin_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, engine.maxConcurrent * 2)
        datapin_multi_setopt_long(multi, CURLMOPT_PIPELINING, Int(CURLPIPE_MULTIPLEX))
        cancellation.register(multi)
        for pipeline in pipelines { pipeline.start() }
        placer.start()

        transfers = requests.enumerated().map {
            ActiveTransfer(index: $0.offset, request: $0.element, limits: engine.limits, ssh: engine.ssh, pipeline: pipelines[$0.offset % pipelines.count], events: events)
        }
        ready = Array(transfers.indices)

        while unfinished > 0 {
            if cancellation.isCancelled { break }
            startDueTransfers()
            var stillRunning: Int32 = 0
            curl_multi_perform(multi, &stillRunning)
            collectCompletedAttempts()
            for (index, outcome) in mailbox.take() { verified(index, outcome) }
            if mailbox.takeCredentialsAnswered() {
                ready.append(contentsOf: awaitingCredentials)
                awaitingCredentials.removeAll()
            }
            if unfinished == 0 || cancellation.isCancelled { continue }
            // A freed slot is refilled at once rather than after the next socket event.
            if running.count < engine.maxConcurrent, readyHead < ready.count { continue }
            curl_multi_poll(multi, nil, 0, pollTimeoutMilliseconds(), nil)
        }

        if unfinished > 0 { cancelEverything() }
        for pipeline in pipelines { pipeline.shutdown() }
        placer.shutdown()
        for (index, outcome) in mailbox.take() { verified(index, outcome) }
        mailbox.close()
        cancellation.unregister(multi)
        curl_multi_cleanup(multi)
        spareHandles.removeAll()
        return results.enumerated().map { index, result in
            result ?? TransferResult(id: requests[index].id, outcome: .failed(.cancelled), bytesTransferred: 0, resumedFrom: nil, attempts: 0)
        }
    }

    // MARK: Scheduling

    private func startDueTransfers() {
        if !delayed.isEmpty {
            let now = DispatchTime.now().uptimeNanoseconds
            delayed.removeAll { entry in
                guard entry.due <= now else { return false }
                ready.append(entry.index)
                return true
            }
        }
        while running.count < engine.maxConcurrent, readyHead < ready.count {
            let index = ready[readyHead]
            readyHead += 1
            if readyHead == ready.count {
                ready.removeAll(keepingCapacity: true)
                readyHead = 0
            }
            start(transfers[index])
        }
    }

    private func pollTimeoutMilliseconds() -> Int32 {
        guard let due = delayed.map(\.due).min() else { return 1000 }
        let now = DispatchTime.now().uptimeNanoseconds
        guard due > now else { return 0 }
        return Int32(min(1000, (due - now + 999_999) / 1_000_000))
    }

    private func start(_ transfer: ActiveTransfer) {
        if case .failure(let failure) = transfer.sshLogin { return finish(transfer, .failed(failure)) }
        if let server = transfer.sshServer, let reason = refusedSSHServers[server] {
            return finish(transfer, .failed(.sourceError(url: transfer.shownURL, reason: reason)))
        }
        if let source = transfer.credentialSource {
            // Asked at every attempt; a source fetching a token answers at once and calls back.
            let mailbox = self.mailbox!
            switch source.headers(whenReady: { mailbox.credentialsAnswered() }) {
            case .pending:
                awaitingCredentials.append(transfer.index)
                return
            case .failed(let failure):
                return finish(transfer, .failed(.credentials(reason: failure.message)))
            case .ready(let headers, let generation):
                transfer.useCredentialHeaders(headers, generation: generation)
            }
        }
        do {
            try transfer.prepareAttempt()
        } catch {
            finish(transfer, .failed(error))
            return
        }
        if transfer.attempts == 1 { events(.started(id: transfer.request.id)) }
        if transfer.holdsWholeLockedFile {
            // A range request for nothing would be answered 416: verify what is there instead.
            return verifyPartialAsWholeFile(transfer)
        }
        guard let easy = spareHandles.popLast() ?? EasyHandle() else {
            finish(transfer, .failed(.transport(url: transfer.shownURL, reason: "libcurl could not create a handle")))
            return
        }
        configure(easy, for: transfer)
        running[transfer.index] = easy
        curl_multi_add_handle(multi, easy.handle)
    }

    private func configure(_ easy: EasyHandle, for transfer: ActiveTransfer) {
        let handle = easy.handle
        curl_easy_reset(handle)
        easy.errorBuffer[0] = 0
        let request = transfer.request
        datapin_easy_setopt_string(handle, CURLOPT_URL, request.url)
        datapin_easy_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "http,https,file,sftp")
        datapin_easy_setopt_string(handle, CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
        datapin_easy_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 1)
        datapin_easy_setopt_long(handle, CURLOPT_MAXREDIRS, 10)
        // libcurl drops Authorization and Cookie headers when a redirect changes host, port or scheme.
        datapin_easy_setopt_long(handle, CURLOPT_UNRESTRICTED_AUTH, 0)
        datapin_easy_setopt_string(handle, CURLOPT_USERAGENT, Curl.userAgent)
        datapin_easy_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
        datapin_easy_setopt_long(handle, CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_2TLS))
        // Waiting for a connection that might multiplex pays only where HTTP/2 can be negotiated
        // (TLS with ALPN); over plain http:// it holds every other transfer to one host back
        // until the first one's connection is free, serialising the downloads.
        datapin_easy_setopt_long(handle, CURLOPT_PIPEWAIT, request.url.lowercased().hasPrefix("https:") ? 1 : 0)
        datapin_easy_setopt_long(handle, CURLOPT_BUFFERSIZE, 256 << 10)
        datapin_easy_setopt_long(handle, CURLOPT_CONNECTTIMEOUT, 30)
        let context = Unmanaged.passUnretained(transfer).toOpaque()
        if case .success(let login) = transfer.sshLogin {
            configureSSH(handle, login: login, context: context)
        } else {
            datapin_easy_setopt_long(handle, CURLOPT_NETRC, Int(CURL_NETRC_OPTIONAL.rawValue))
            if let netrc = engine.netrcFile { datapin_easy_setopt_string(handle, CURLOPT_NETRC_FILE, netrc) }
        }
        datapin_easy_setopt_pointer(handle, CURLOPT_ERRORBUFFER, easy.errorBuffer)
        datapin_easy_setopt_slist(handle, CURLOPT_HTTPHEADER, transfer.headerList)
        if transfer.requestedOffset > 0 {
            if transfer.isSFTP {
                datapin_easy_setopt_offset(handle, CURLOPT_RESUME_FROM_LARGE, curl_off_t(transfer.requestedOffset))
            } else {
                datapin_easy_setopt_string(handle, CURLOPT_RANGE, "\(transfer.requestedOffset)-")
            }
        }
        datapin_easy_setopt_pointer(handle, CURLOPT_PRIVATE, context)
        datapin_easy_setopt_pointer(handle, CURLOPT_WRITEDATA, handle)
        datapin_easy_setopt_data_callback(handle, CURLOPT_WRITEFUNCTION, { data, size, count, handle in
            guard let data, let handle else { return 0 }
            var context: UnsafeMutableRawPointer?
            datapin_easy_getinfo_pointer(handle, CURLINFO_PRIVATE, &context)
            guard let context else { return 0 }
            let transfer = Unmanaged<ActiveTransfer>.fromOpaque(context).takeUnretainedValue()
            return transfer.receive(UnsafeRawBufferPointer(start: data, count: size * count), handle: handle)
        })
        datapin_easy_setopt_pointer(handle, CURLOPT_HEADERDATA, context)
        datapin_easy_setopt_data_callback(handle, CURLOPT_HEADERFUNCTION, { data, size, count, context in
            guard let data, let context else { return 0 }
            Unmanaged<ActiveTransfer>.fromOpaque(context).takeUnretainedValue().receiveHeader(UnsafeRawBufferPointer(start: data, count: size * count))
            return size * count
        })
        datapin_easy_setopt_long(handle, CURLOPT_NOPROGRESS, 0)
        datapin_easy_setopt_pointer(handle, CURLOPT_XFERINFODATA, context)
        datapin_easy_setopt_xferinfo_callback(handle, { context, _, downloaded, _, _ in
            guard let context else { return 0 }
            return Unmanaged<ActiveTransfer>.fromOpaque(context).takeUnretainedValue().hasStalled(received: Int64(downloaded)) ? 1 : 0
        })
    }

    /// An `sftp://` transfer's login and host check: public-key authentication with the
    /// login's key file and the agent's keys (never a password, nor `.netrc`), and the host's
    /// key checked against `~/.ssh/known_hosts` by `ActiveTransfer.hostKeyCheck`, which refuses
    /// an unknown or changed one.
    private func configureSSH(_ handle: UnsafeMutableRawPointer, login: SSHLogin, context: UnsafeMutableRawPointer) {
        datapin_easy_setopt_long(handle, CURLOPT_NETRC, Int(CURL_NETRC_IGNORED.rawValue))
        var methods = 0
        if let keyFile = login.keyFile {
            methods |= Int(CURLSSH_AUTH_PUBLICKEY)
            datapin_easy_setopt_string(handle, CURLOPT_SSH_PRIVATE_KEYFILE, keyFile)
        }
        if login.useAgent { methods |= Int(CURLSSH_AUTH_AGENT) }
        datapin_easy_setopt_long(handle, CURLOPT_SSH_AUTH_TYPES, methods)
        if let user = login.user { datapin_easy_setopt_string(handle, CURLOPT_USERNAME, user) }
        datapin_easy_setopt_string(handle, CURLOPT_SSH_KNOWNHOSTS, login.knownHostsFile)
        // The shim has no setter for this callback's type; a C function pointer is passed as
        // libcurl's variadic argument exactly like a data pointer on the platforms Swift runs on.
        datapin_easy_setopt_pointer(handle, CURLOPT_SSH_KEYFUNCTION, unsafeBitCast(ActiveTransfer.hostKeyCheck, to: UnsafeMutableRawPointer.self))
        datapin_easy_setopt_pointer(handle, CURLOPT_SSH_KEYDATA, context)
    }

    // MARK: Completion

    private func collectCompletedAttempts() {
        var queued: Int32 = 0
        while let message = curl_multi_info_read(multi, &queued) {
            guard message.pointee.msg == CURLMSG_DONE, let handle = message.pointee.easy_handle else { continue }
            let code = message.pointee.data.result
            var context: UnsafeMutableRawPointer?
            datapin_easy_getinfo_pointer(handle, CURLINFO_PRIVATE, &context)
            guard let context else { continue }
            let transfer = Unmanaged<ActiveTransfer>.fromOpaque(context).takeUnretainedValue()
            var status = 0
            datapin_easy_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
            let detail = running[transfer.index]?.errorDetail ?? ""
            release(transfer)
            attemptEnded(transfer, code: code, status: status, detail: detail)
        }
    }

    /// Takes the transfer's easy handle out of the multi handle and keeps it for reuse.
    private func release(_ transfer: ActiveTransfer) {
        guard let easy = running.removeValue(forKey: transfer.index) else { return }
        curl_multi_remove_handle(multi, easy.handle)
        spareHandles.append(easy)
    }

    private func attemptEnded(_ transfer: ActiveTransfer, code: CURLcode, status: Int, detail: String) {
        transfer.flush()
        if let server = transfer.sshServer, let reason = transfer.hostKeyRefusal { refusedSSHServers[server] = reason }
        if let failure = transfer.localFailure {
            if failure.isRetryable {
                do { try transfer.restartFromZero() } catch { return finish(transfer, .failed(error)) }
                return retryOrFail(transfer, failure)
            }
            return finish(transfer, .failed(failure))
        }
        if transfer.stalled {
            // What arrived before the stall stays: the next try resumes after it.
            return retryOrFail(transfer, .transport(url: transfer.shownURL, reason: engine.limits.stallReason))
        }
        if code == CURLE_BAD_DOWNLOAD_RESUME, transfer.requestedOffset > 0 {
            // The SFTP file is now shorter than the partial: fetch it again from its first byte.
            do { try transfer.restartFromZero() } catch { return finish(transfer, .failed(error)) }
            return retryOrFail(transfer, .transport(url: transfer.shownURL, reason: Self.failure(for: code, detail: detail, url: transfer.shownURL).message), immediately: true)
        }
        if code == CURLE_LOGIN_DENIED, case .success(let login) = transfer.sshLogin {
            return finish(transfer, .failed(.sourceError(url: transfer.shownURL, reason: login.refusalReason)))
        }
        guard code == CURLE_OK else {
            return retryOrFail(transfer, Self.failure(for: code, detail: detail, url: transfer.shownURL))
        }
        let url = transfer.shownURL
        if transfer.isHTTP, !(200..<300).contains(status) {
            switch status {
            case 416 where transfer.rangeRefusedAtEndOfFile:
                return verifyPartialAsWholeFile(transfer)
            case 416 where transfer.requestedOffset > 0:
                do { try transfer.restartFromZero() } catch { return finish(transfer, .failed(error)) }
                return retryOrFail(transfer, .httpStatus(url: url, status: status), immediately: true)
            case 401, 403:
                // One fresh token and one more try, when the source can renew the one refused.
                if let source = transfer.credentialSource, let generation = transfer.sentGeneration, !transfer.refusalRetryUsed,
                   !cancellation.isCancelled, source.refused(generation: generation) {
                    transfer.refusalRetryUsed = true
                    return schedule(transfer, after: 0, reason: .unauthorized(url: url, status: status))
                }
                return finish(transfer, .failed(.unauthorized(url: url, status: status)))
            case 300..<400:
                return finish(transfer, .failed(.sourceError(url: url, reason: "the server answered HTTP \(status) without a redirect that could be followed")))
            default:
                return retryOrFail(transfer, .httpStatus(url: url, status: status))
            }
        }
        if transfer.isHTTP, status == 200, transfer.requestedOffset > 0, !transfer.responseChecked {
            // An empty 200 answer to a range request: the file is empty now.
            do { try transfer.restartFromZero() } catch { return finish(transfer, .failed(error)) }
        }
        if let expected = transfer.request.expectedSize, transfer.bytesOnDisk != expected {
            if transfer.bytesOnDisk < expected {
                let failure = TransferFailure.transport(url: url, reason: "the body ended after \(transfer.bytesOnDisk) of \(expected) bytes")
                if engine.retry.allowsRetry(afterFailures: transfer.attempts) { return retryOrFail(transfer, failure) }
            }
            return finish(transfer, .failed(.sizeMismatch(expected: expected, actual: transfer.bytesOnDisk)))
        }
        verifyAndPlace(transfer)
    }

    /// Verifies a partial file that already holds the whole file, left by an earlier run, as a
    /// resumed download: a mismatch gets the one fresh retry from byte zero.
    private func verifyPartialAsWholeFile(_ transfer: ActiveTransfer) {
        transfer.resumedFrom = transfer.bytesOnDisk
        verifyAndPlace(transfer)
    }

    /// Hands the finished partial file to the hashing thread, which verifies it and queues it
    /// for placement or removes it.
    private func verifyAndPlace(_ transfer: ActiveTransfer) {
        guard let digests = transfer.digests else {
            return finish(transfer, .failed(.fileSystem(path: transfer.request.partialPath, reason: "the partial file was not tracked")))
        }
        let request = transfer.request
        let fd = transfer.takeDescriptor()
        let index = transfer.index
        let algorithm = transfer.checksumAlgorithm
        let mailbox = self.mailbox!
        let placer = self.placer!
        verifying.insert(index)
        transfer.pipeline.finish(digests) { final in
            Self.verify(final, index: index, request: request, fd: fd, checksumAlgorithm: algorithm, placer: placer, mailbox: mailbox)
        }
    }

    /// On the hashing thread: checks size and digests, then queues the file for placement or
    /// removes it.
    private static func verify(_ final: FinalDigests, index: Int, request: TransferRequest, fd: Int32, checksumAlgorithm: DigestAlgorithm?, placer: Placer, mailbox: Mailbox) {
        func reject(_ failure: TransferFailure) {
            close(fd)
            LocalFiles.remove(request.partialPath)
            mailbox.post(index: index, outcome: .failed(failure))
        }
        if let problem = final.problem { return reject(.fileSystem(path: request.partialPath, reason: problem)) }
        if let expected = request.expectedSize, final.hashedBytes != expected {
            return reject(.sizeMismatch(expected: expected, actual: final.hashedBytes))
        }
        if let expected = request.expectedSHA256, expected != final.sha256 {
            return reject(.digestMismatch(algorithm: "sha256", expected: expected, actual: final.sha256))
        }
        if let checksum = request.checksum, let algorithm = checksumAlgorithm, let actual = final.digests[algorithm], actual != checksum.hex {
            return reject(.digestMismatch(algorithm: checksum.algorithm, expected: checksum.hex, actual: actual))
        }
        placer.place(Placement(index: index, fd: fd, request: request, digests: final))
    }

    /// A verification result. A digest mismatch of a resumed download gets one fresh retry
    /// from byte zero (the kept bytes may be what was wrong); a download that started from
    /// zero and mismatches fails at once, since fetching the same bytes again cannot help.
    private func verified(_ index: Int, _ outcome: TransferOutcome) {
        verifying.remove(index)
        let transfer = transfers[index]
        transfer.forgetPartial()
        if case .failed(let failure) = outcome, case .digestMismatch = failure, transfer.resumedFrom != nil, !transfer.freshRetryUsed, !cancellation.isCancelled {
            transfer.freshRetryUsed = true
            transfer.resumedFrom = nil
            return schedule(transfer, after: 0, reason: failure)
        }
        finish(transfer, outcome)
    }

    /// Schedules another try after a backoff (or at once, for a failure the engine already
    /// repaired, such as a 416 whose partial it discarded) while tries remain.
    private func retryOrFail(_ transfer: ActiveTransfer, _ failure: TransferFailure, immediately: Bool = false) {
        guard failure.isRetryable || immediately, engine.retry.allowsRetry(afterFailures: transfer.attempts) else {
            return finish(transfer, .failed(failure))
        }
        let delay = immediately ? 0 : engine.retry.delay(afterFailure: transfer.attempts, retryAfter: transfer.retryAfter)
        schedule(transfer, after: delay, reason: failure)
    }

    private func schedule(_ transfer: ActiveTransfer, after delay: TimeInterval, reason: TransferFailure) {
        transfer.closeFile()
        events(.retrying(id: transfer.request.id, attempt: transfer.attempts, reason: reason, delay: delay))
        let due = DispatchTime.now().uptimeNanoseconds + UInt64(max(0, delay) * 1_000_000_000)
        delayed.append((due, transfer.index))
    }

    private func finish(_ transfer: ActiveTransfer, _ outcome: TransferOutcome) {
        guard results[transfer.index] == nil else { return }
        transfer.closeFile()
        if case .failed(let failure) = outcome {
            switch failure {
            case .sizeMismatch, .digestMismatch: LocalFiles.remove(transfer.request.partialPath)
            // A transfer that never started (no token, cancelled first) leaves an earlier run's partial alone.
            default: if transfer.attempts > 0 && transfer.bytesOnDisk == 0 { LocalFiles.remove(transfer.request.partialPath) }
            }
        }
        let result = TransferResult(id: transfer.request.id, outcome: outcome, bytesTransferred: transfer.bytesTransferred, resumedFrom: transfer.resumedFrom, attempts: transfer.attempts)
        results[transfer.index] = result
        unfinished -= 1
        events(.finished(result))
    }

    /// Ends every transfer that is not being verified: running ones keep what they wrote.
    private func cancelEverything() {
        for index in Array(running.keys) {
            let transfer = transfers[index]
            release(transfer)
            transfer.flush()
            finish(transfer, .failed(.cancelled))
        }
        for transfer in transfers where results[transfer.index] == nil && !verifying.contains(transfer.index) {
            finish(transfer, .failed(.cancelled))
        }
        delayed.removeAll()
        ready.removeAll()
        awaitingCredentials.removeAll()
    }

    /// What a libcurl error means: a request that cannot work as written, or network trouble
    /// worth retrying.
    private static func failure(for code: CURLcode, detail: String, url: String) -> TransferFailure {
        var reason = Curl.describe(code)
        let detail = HTTPClient.redactingUserInfo(detail).trimmingCharacters(in: .whitespacesAndNewlines)
        if !detail.isEmpty, detail != reason { reason += " (\(detail))" }
        if code == CURLE_UNSUPPORTED_PROTOCOL, let missing = Curl.missingProtocol(for: url) { reason += ": " + missing }
        switch code {
        case CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT, CURLE_FILE_COULDNT_READ_FILE, CURLE_TOO_MANY_REDIRECTS,
             CURLE_REMOTE_FILE_NOT_FOUND, CURLE_REMOTE_ACCESS_DENIED, CURLE_LOGIN_DENIED, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE,
             CURLE_SSL_CERTPROBLEM, CURLE_BAD_CONTENT_ENCODING, CURLE_RANGE_ERROR:
            return .sourceError(url: url, reason: reason)
        default:
            return .transport(url: url, reason: reason)
        }
    }
}
