import DatapinKit
@testable import DatapinSupport
@testable import DatapinTransfer
import Foundation
import Testing
import TestSupport

/// Which archive checksums datapin can compute, what it says about the others, and the one loop
/// that hashes files.
@Suite struct DigestAvailabilityTests {
    @Test func everyAlgorithmDatapinNamesIsComputedByThisOpenSSL() throws {
        for algorithm in DigestAlgorithm.allCases {
            #expect(algorithm.isAvailable, "\(algorithm)")
            #expect(try DatapinKit.Hasher.hex(algorithm, of: "abc").count == algorithm.hexLength)
        }
        try DigestAlgorithm.requireSHA256()
        #expect(TestDigest.hex(.sha256, of: "abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func aChecksumInAnAlgorithmDatapinDoesNotKnowHasNoDigestAlgorithm() throws {
        #expect(try #require(Checksum("xxh64:ef46db3751d8e999")).digestAlgorithm == nil)
        #expect(try #require(Checksum("crc32c:e3069283")).digestAlgorithm == nil)
        #expect(try #require(Checksum("BLAKE2b-512:\(String(repeating: "0", count: 128))")).digestAlgorithm == .blake2b)
        #expect(try #require(Checksum("MD5:\(String(repeating: "0", count: 32))")).digestAlgorithm == .md5)
    }

    @Test func theDigestMessageNamesTheAlgorithm() {
        #expect(DigestError.unavailable(.md5).message == "the OpenSSL library datapin uses (libcrypto) cannot compute MD5")
        #expect(TransferFailure.cannotVerify(reason: DigestError.unavailable(.sha256).message).message == "the download cannot be verified: the OpenSSL library datapin uses (libcrypto) cannot compute SHA256")
        #expect(!TransferFailure.cannotVerify(reason: "x").isRetryable)
    }

    static func entry(_ path: String, checksum: String?) -> LockEntry {
        LockEntry(path: path, archive: "lab", dataset: "d", uri: "index:lab/\(path)", url: "http://127.0.0.1/\(path)", size: 1, checksum: checksum.flatMap(Checksum.init))
    }

    @Test func theLockWarnsOncePerAlgorithmItCannotComputeNamingIt() {
        let lock = Lockfile(specDigest: "sha256:0", files: [
            Self.entry("a.fits", checksum: "xxh64:ef46db3751d8e999"),
            Self.entry("b.fits", checksum: "xxh64:0123456789abcdef"),
            Self.entry("c.fits", checksum: "crc32c:e3069283"),
            Self.entry("d.fits", checksum: "md5:\(String(repeating: "0", count: 32))"),
            Self.entry("e.fits", checksum: nil),
        ])
        let warnings = lock.uncomputableChecksumWarnings
        #expect(warnings.map(\.severity) == [.warning, .warning])
        #expect(warnings.map(\.message) == [
            "1 file in the lock carries an archive checksum in crc32c, an algorithm datapin does not know, so datapin cannot check it; it is verified by size and SHA-256 instead (the archive's, or the one the first sync pins)",
            "2 files in the lock carry an archive checksum in xxh64, an algorithm datapin does not know, so datapin cannot check it; they are verified by size and SHA-256 instead (the archive's, or the one the first sync pins)",
        ])
        #expect(warnings.last?.notes == ["xxh64 not checked: a.fits", "xxh64 not checked: b.fits"])
        #expect(Lockfile(specDigest: "sha256:0", files: [Self.entry("d.fits", checksum: "md5:\(String(repeating: "0", count: 32))")]).uncomputableChecksumWarnings.isEmpty)
    }

    /// A file of `count` bytes, open for reading, its bytes, and a block of 4 KiB to read it into.
    static func file(_ count: Int) throws -> (descriptor: Int32, data: Data, buffer: UnsafeMutableRawBufferPointer, cleanUp: () -> Void) {
        let folder = try TestEnvironment.makeScratchDirectory("hashing")
        let data = Data((0..<count).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 7) })
        let url = folder.appendingPathComponent("f.bin")
        try data.write(to: url)
        let descriptor = open(url.path, O_RDONLY)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 16)
        return (descriptor, data, buffer, { buffer.deallocate(); close(descriptor); try? FileManager.default.removeItem(at: folder) })
    }

    @Test func feedingAFileHashesEveryBlockToItsEnd() throws {
        let file = try Self.file(10_000)
        defer { file.cleanUp() }
        let buffer = file.buffer
        let hashers = [try DatapinKit.Hasher(.sha256), try DatapinKit.Hasher(.md5)]
        #expect(try FileHashing.feed(file.descriptor, to: hashers, buffer: buffer) == 10_000)
        #expect(hashers.map { $0.finalize() } == [TestDigest.hex(.sha256, of: file.data), TestDigest.hex(.md5, of: file.data)])
    }

    @Test func feedingALengthHashesExactlyThatManyBytesOrSaysTheFileEndedEarly() throws {
        let file = try Self.file(10_000)
        defer { file.cleanUp() }
        let buffer = file.buffer
        let hasher = try DatapinKit.Hasher(.sha256)
        #expect(try FileHashing.feed(file.descriptor, to: [hasher], length: 5000, buffer: buffer) == 5000)
        #expect(hasher.finalize() == TestDigest.hex(.sha256, of: file.data.prefix(5000)))
        #expect(throws: FileHashing.ReadError.endedEarly) {
            try FileHashing.feed(file.descriptor, to: [], length: 6000, buffer: buffer)
        }
        #expect(throws: FileHashing.ReadError.system(EBADF)) {
            try FileHashing.feed(-1, to: [], buffer: buffer)
        }
    }
}
