import Foundation

/// Compiled program binaries on disk, so a second run does not recompile.
///
/// An entry is keyed by device name, driver version, source hash and build options. Each file holds
/// a magic tag, the binary's length and checksum, then the binary; anything that does not match is
/// treated as absent. Files are written to a temporary name and renamed, so a crash never leaves a
/// half-written entry under a real key. Every failure here is silent: the cache only saves time.
///
/// Location: the `kernels` folder of `CacheDirectory` (`$CLTRAIN_CACHE_DIR/kernels`, else
/// `$XDG_CACHE_HOME/cltrain/kernels`, else `~/.cache/cltrain/kernels`); `CLTRAIN_CACHE_DIR=off` disables it.
struct ProgramBinaryCache: Sendable {
    let directory: URL

    struct Key {
        let fileName: String
        init(device: OpenCLDeviceDescription, source: String, options: String) {
            var hash = FNV1a()
            for part in [device.platformName, device.name, device.driverVersion, source, options] {
                hash.combine(part)
            }
            fileName = "\(hash.value.hexString).clbin"
        }
    }

    static let `default`: ProgramBinaryCache? = CacheDirectory.folder("kernels").map(ProgramBinaryCache.init)

    private static let magic: [UInt8] = Array("CLTRAINBIN1\n".utf8)

    func load(_ key: Key) -> [UInt8]? {
        guard let data = try? Data(contentsOf: directory.appendingPathComponent(key.fileName)) else { return nil }
        let bytes = [UInt8](data)
        let header = Self.magic.count + 16
        guard bytes.count > header, Array(bytes[..<Self.magic.count]) == Self.magic else { return nil }
        let length = UInt64(littleEndianBytes: bytes[Self.magic.count..<Self.magic.count + 8])
        let checksum = UInt64(littleEndianBytes: bytes[Self.magic.count + 8..<header])
        let binary = Array(bytes[header...])
        guard UInt64(binary.count) == length else { return nil }
        var hash = FNV1a()
        hash.combine(binary)
        return hash.value == checksum ? binary : nil
    }

    func store(_ binary: [UInt8], for key: Key) {
        var hash = FNV1a()
        hash.combine(binary)
        var file = Self.magic
        file += UInt64(binary.count).littleEndianBytes
        file += hash.value.littleEndianBytes
        file += binary
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let final = directory.appendingPathComponent(key.fileName)
            let temporary = directory.appendingPathComponent(".\(key.fileName).\(UUID().uuidString).tmp")
            try Data(file).write(to: temporary)
            if rename(temporary.path, final.path) != 0 { try? FileManager.default.removeItem(at: temporary) }
        } catch {
            // An unwritable cache folder costs a recompile next time, nothing more.
        }
    }

    func remove(_ key: Key) {
        try? FileManager.default.removeItem(at: directory.appendingPathComponent(key.fileName))
    }
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
