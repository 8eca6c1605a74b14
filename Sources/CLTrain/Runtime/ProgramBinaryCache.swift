import Foundation
import Synchronization

/// Compiled program binaries on disk, so a second run does not recompile.
///
/// An entry is keyed by everything its binary depends on: the program (kernel family) name, the
/// platform, the device's name, vendor and OpenCL versions, the driver version, the source (hash
/// and length) and the build options. The file name is a hash of that key, and the file repeats
/// the whole key in its header, so an entry of one program can never be read as another's, even
/// when two keys' hashes collide:
///
///     magic "CLTRBIN\n" | format version: u32 | key length: u32 | key (UTF-8)
///     | binary length: u64 | binary checksum: u64 (FNV-1a) | header checksum: u64 | binary
///
/// (integers little-endian). `load` checks all of it before a byte reaches the driver; a file that
/// fails any check is reported as `.invalid` with the reason, and `OpenCLProgram.build` evicts it
/// and rebuilds from source. Writes go through `AtomicFile`, so a reader sees a whole entry or
/// none. A write that fails costs a recompile next run, nothing more: it is reported, never thrown
/// into training.
///
/// Location: the `kernels` folder of `CacheDirectory` (`$CLTRAIN_CACHE_DIR/kernels`, else
/// `$XDG_CACHE_HOME/cltrain/kernels`, else `~/.cache/cltrain/kernels`); `CLTRAIN_CACHE_DIR=off` disables it.
struct ProgramBinaryCache: Sendable {
    let directory: URL

    /// Everything a program binary depends on.
    struct Key: Equatable, Sendable {
        /// The program's name, e.g. the kernel family's file name "matmul.cl".
        let program: String
        let fields: [(name: String, value: String)]

        init(program: String, device: OpenCLDeviceDescription, source: String, options: String) {
            self.init(program: program, source: source, options: options, device: [
                ("platform", "\(device.platformName) (\(device.platformVersion))"),
                ("device", device.name),
                ("vendor", device.vendor),
                ("driver", device.driverVersion),
                ("device version", device.deviceVersion),
                ("OpenCL C", device.openCLCVersion),
            ])
        }

        /// A key from the device's identifying fields as given (for tests without a device).
        init(program: String, source: String, options: String, device: [(name: String, value: String)]) {
            var sourceHash = FNV1a()
            sourceHash.combine(source.utf8)
            self.program = program
            fields = [("program", program)] + device + [
                ("source", "\(source.utf8.count) bytes, FNV-1a \(sourceHash.value.hexString)"),
                ("options", options),
            ]
        }

        static func == (a: Key, b: Key) -> Bool { a.text == b.text }

        /// The key as stored in the header: one `name: value` line per field. Values are
        /// written with their line breaks escaped, so the text parses back unambiguously.
        var text: String {
            fields.map { "\($0.name): \($0.value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n"))" }
                .joined(separator: "\n")
        }

        /// `<program>-<hash of the key>.clbin`, the program's name kept readable for whoever
        /// looks into the folder.
        var fileName: String {
            var hash = FNV1a()
            hash.combine(text)
            let readable = String(program.unicodeScalars.map { scalar -> Character in
                scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || "._-".unicodeScalars.contains(scalar))
                    ? Character(scalar) : "_"
            }.prefix(64))
            return "\(readable)-\(hash.value.hexString).clbin"
        }
    }

    /// What `load` found under a key.
    enum Lookup: Equatable {
        /// No entry: nothing to say.
        case miss
        /// A whole entry written for exactly this key.
        case hit([UInt8])
        /// An entry that must not be used, and why (for the log line).
        case invalid(reason: String)
    }

    static let `default`: ProgramBinaryCache? = CacheDirectory.folder("kernels").map(ProgramBinaryCache.init)

    static let magic: [UInt8] = Array("CLTRBIN\n".utf8)
    /// Bumped whenever the layout changes; other versions are invalid entries (rebuilt and replaced).
    static let formatVersion: UInt32 = 2
    /// A key is a few hundred bytes; a header claiming more is not one of ours.
    private static let maxKeyLength = 1 << 16

    /// Stores of one process run one at a time: `AtomicFile` names its temporary file by process,
    /// and two threads compiling the same program may both store it.
    private static let writeLock = Mutex(())

    func fileURL(_ key: Key) -> URL { directory.appendingPathComponent(key.fileName) }

    /// No program binary comes near this; a larger file is not read into memory at all.
    static let maxEntryBytes = 1 << 30

    func load(_ key: Key) -> Lookup {
        let url = fileURL(key)
        // Looked at before it is opened: a FIFO would block the read, a device or a huge file
        // would be read without end or allocated whole.
        var info = stat()
        guard lstat(url.path, &info) == 0 else {
            // No entry, also where the cache folder itself is missing or is a file.
            return errno == ENOENT || errno == ENOTDIR ? .miss : .invalid(reason: "cannot be examined (\(String(cString: strerror(errno))))")
        }
        guard info.st_mode & S_IFMT == S_IFREG else { return .invalid(reason: "not a regular file") }
        guard info.st_size <= Self.maxEntryBytes else {
            return .invalid(reason: "\(info.st_size) bytes, more than any program binary (\(Self.maxEntryBytes))")
        }
        do {
            return Self.decode([UInt8](try Data(contentsOf: url)), expecting: key)
        } catch {
            return .invalid(reason: "cannot be read (\(Self.reason(of: error)))")
        }
    }

    /// The binary in `file` if it is a whole entry written for `key`, else why not.
    static func decode(_ file: [UInt8], expecting key: Key) -> Lookup {
        var reader = ByteReader(file)
        guard let tag = reader.take(magic.count), tag.elementsEqual(magic) else {
            return .invalid(reason: "not a CLTrain kernel cache entry (no 'CLTRBIN' tag)")
        }
        guard let version = reader.uint32() else { return .invalid(reason: "truncated inside its header") }
        guard version == formatVersion else {
            return .invalid(reason: "format version \(version), this build reads \(formatVersion)")
        }
        guard let keyLength = reader.uint32(), Int(keyLength) <= maxKeyLength else {
            return .invalid(reason: "truncated inside its header, or its key length is implausible")
        }
        guard let keyBytes = reader.take(Int(keyLength)), let binaryLength = reader.uint64(),
              let binaryChecksum = reader.uint64() else {
            return .invalid(reason: "truncated inside its header")
        }
        let headerEnd = reader.offset
        guard let headerChecksum = reader.uint64() else { return .invalid(reason: "truncated inside its header") }
        var hash = FNV1a()
        hash.combine(file[..<headerEnd])
        guard hash.value == headerChecksum else { return .invalid(reason: "its header fails its checksum") }
        let storedKey = String(decoding: keyBytes, as: UTF8.self)
        guard storedKey == key.text else {
            return .invalid(reason: "written for another program or device (its key differs: \(firstDifference(storedKey, key.text)))")
        }
        let remaining = UInt64(file.count - reader.offset)
        guard binaryLength == remaining, binaryLength > 0 else {
            return .invalid(reason: binaryLength > remaining
                            ? "truncated: its header records \(binaryLength) bytes of binary, the file holds \(remaining)"
                            : "\(remaining) bytes of binary where its header records \(binaryLength)")
        }
        let binary = Array(file[reader.offset...])
        var binaryHash = FNV1a()
        binaryHash.combine(binary)
        guard binaryHash.value == binaryChecksum else { return .invalid(reason: "its binary fails its checksum") }
        return .hit(binary)
    }

    /// The file `store` writes for `binary` under `key`.
    static func encode(_ binary: [UInt8], for key: Key) -> [UInt8] {
        let keyBytes = Array(key.text.utf8)
        var binaryHash = FNV1a()
        binaryHash.combine(binary)
        var file = magic
        file += formatVersion.littleEndianBytes
        file += UInt32(keyBytes.count).littleEndianBytes
        file += keyBytes
        file += UInt64(binary.count).littleEndianBytes
        file += binaryHash.value.littleEndianBytes
        var headerHash = FNV1a()
        headerHash.combine(file)
        file += headerHash.value.littleEndianBytes
        file += binary
        return file
    }

    /// Writes the entry for `key`, replacing whatever was there.
    /// - Throws: why the entry could not be written (a full disk, a read-only folder); the caller
    ///   logs it and carries on.
    func store(_ binary: [UInt8], for key: Key) throws {
        let file = Data(Self.encode(binary, for: key))
        try Self.writeLock.withLock { _ in try AtomicFile.write(file, to: fileURL(key)) }
    }

    /// Removes the entry for `key`; false if a file is still there afterwards.
    @discardableResult
    func evict(_ key: Key) -> Bool {
        // unlink, not removeItem: a folder someone put under an entry's name is not ours to delete.
        let path = fileURL(key).path
        return unlink(path) == 0 || errno == ENOENT
    }

    static func reason(of error: Error) -> String {
        if let posix = (error as NSError).userInfo[NSUnderlyingErrorKey] as? POSIXError {
            return String(cString: strerror(posix.code.rawValue))
        }
        return "\(error)"
    }

    /// The first line where two keys differ, for the log: e.g. "program: softmax.cl, expected matmul.cl".
    private static func firstDifference(_ stored: String, _ expected: String) -> String {
        let a = stored.split(separator: "\n", omittingEmptySubsequences: false)
        let b = expected.split(separator: "\n", omittingEmptySubsequences: false)
        for (x, y) in zip(a, b) where x != y { return "'\(x.prefix(200))', expected '\(y.prefix(200))'" }
        return a.count < b.count ? "it lacks '\(b[a.count].prefix(200))'" : "it has more fields"
    }
}

/// Reads little-endian fields from a byte array, returning nil past its end (never trapping).
private struct ByteReader {
    let bytes: [UInt8]
    private(set) var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func take(_ count: Int) -> ArraySlice<UInt8>? {
        guard count >= 0, count <= bytes.count - offset else { return nil }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    mutating func uint32() -> UInt32? { take(4).map { UInt32(truncatingIfNeeded: UInt64(littleEndianBytes: $0)) } }
    mutating func uint64() -> UInt64? { take(8).map { UInt64(littleEndianBytes: $0) } }
}

/// 64-bit FNV-1a: a small, stable hash for cache keys and checksums (not for security).
struct FNV1a {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func combine<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
        for byte in bytes {
            value ^= UInt64(byte)
            value = value &* 0x0000_0100_0000_01b3
        }
    }

    mutating func combine(_ text: String) {
        combine(text.utf8)
        combine([0xff])   // separator, so ("ab","c") and ("a","bc") differ
    }
}

extension UInt64 {
    var hexString: String {
        let digits = String(self, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    var littleEndianBytes: [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: self >> (8 * $0)) } }

    init<C: Collection>(littleEndianBytes bytes: C) where C.Element == UInt8 {
        self = bytes.enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
    }
}

extension UInt32 {
    var littleEndianBytes: [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: self >> (8 * $0)) } }
}
