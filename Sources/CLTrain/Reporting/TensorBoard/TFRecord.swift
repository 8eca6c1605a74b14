import Foundation

/// TFRecord framing, the container of TensorBoard's event files: each record is
/// `uint64 length` (little-endian), `uint32 masked CRC-32C of those 8 bytes`, the data,
/// `uint32 masked CRC-32C of the data`.
public enum TFRecord {
    /// The 16 + `data.count` bytes of one record.
    public static func frame(_ data: Data) -> Data {
        var record = Data(capacity: data.count + 16)
        let length = littleEndian(UInt64(data.count))
        record.append(length)
        record.append(littleEndian(CRC32C.masked(CRC32C.checksum(length))))
        record.append(data)
        record.append(littleEndian(CRC32C.masked(CRC32C.checksum(data))))
        return record
    }

    /// The records of `file`, in order, up to the first one that is incomplete or fails its
    /// checksums (a run killed mid-write leaves a torn last record; what precedes it is whole).
    /// - Returns: the records and whether all of `file` was read.
    public static func records(in file: Data) -> (records: [Data], complete: Bool) {
        let bytes = [UInt8](file)
        var records: [Data] = [], offset = 0
        while offset < bytes.count {
            guard bytes.count - offset >= 16 else { return (records, false) }
            let lengthBytes = bytes[offset..<offset + 8]
            guard readUInt32(bytes, at: offset + 8) == CRC32C.masked(CRC32C.checksum(lengthBytes)) else { return (records, false) }
            let length = lengthBytes.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            // Compared before any Int conversion: a corrupt length never traps.
            guard length <= UInt64(bytes.count - offset - 16) else { return (records, false) }
            let start = offset + 12, end = start + Int(length)
            guard readUInt32(bytes, at: end) == CRC32C.masked(CRC32C.checksum(bytes[start..<end])) else { return (records, false) }
            records.append(Data(bytes[start..<end]))
            offset = end + 4
        }
        return (records, true)
    }

    private static func littleEndian<T: FixedWidthInteger>(_ value: T) -> Data {
        withUnsafeBytes(of: value.littleEndian) { Data($0) }
    }

    private static func readUInt32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << (8 * UInt32($1)) }
    }
}
