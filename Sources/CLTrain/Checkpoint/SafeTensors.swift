import Foundation

/// The safetensors format: an 8-byte little-endian header length, a JSON header naming each
/// tensor's dtype, shape and byte range, then the raw little-endian data. Only F32 is used here.
/// Files written by `SafeTensors.encode` load with Python's `safetensors` unchanged.
public struct SafeTensors: Sendable {
    public struct Entry: Sendable, Equatable {
        public let name: String
        public let shape: [Int]
        public let values: [Float]

        public init(name: String, shape: [Int], values: [Float]) {
            self.name = name
            self.shape = shape
            self.values = values
        }
    }

    public var entries: [Entry]
    public var metadata: [String: String]

    public init(entries: [Entry], metadata: [String: String]) {
        self.entries = entries
        self.metadata = metadata
    }

    public subscript(name: String) -> Entry? { entries.first { $0.name == name } }

    // MARK: Writing

    public func encode() throws -> Data {
        var header: [String: Any] = [:]
        var offset = 0
        for entry in entries {
            guard entry.shape.reduce(1, *) == entry.values.count else {
                throw CLTrainError.shapeMismatch(operation: "safetensors",
                    detail: "\(entry.name): \(entry.values.count) values for shape \(entry.shape.shapeString)")
            }
            let end = offset + entry.values.count * 4
            header[entry.name] = ["dtype": "F32", "shape": entry.shape, "data_offsets": [offset, end]] as [String: Any]
            offset = end
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
        json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))

        var data = Data(capacity: 8 + json.count + offset)
        data.append(contentsOf: UInt64(json.count).littleEndianBytes)
        data.append(json)
        for entry in entries {
            entry.values.map { $0.bitPattern.littleEndian }.withUnsafeBytes { data.append(contentsOf: $0) }
        }
        return data
    }

    public func write(to url: URL) throws {
        try AtomicFile.write(encode(), to: url)
    }

    // MARK: Reading

    /// The most header bytes accepted, as in the reference implementation (100 MB): a corrupt
    /// length never makes the reader allocate more than this for the JSON.
    public static let maximumHeaderBytes = 100_000_000

    /// Parses a safetensors file; anything malformed is an error naming the file and the problem.
    /// The file's size bounds every allocation: the header is checked against it before any
    /// tensor's values are copied.
    public static func read(from url: URL) throws -> SafeTensors {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw CLTrainError.invalidArgument("cannot read checkpoint '\(url.path)': \(readFailure(error))")
        }
        do {
            return try decode(data)
        } catch let error as CLTrainError {
            throw CLTrainError.invalidArgument("checkpoint '\(url.path)' is corrupt or not a safetensors file: \(error)")
        }
    }

    /// The `__metadata__` of a safetensors file, reading only its header (a few kilobytes, where
    /// the whole file can be gigabytes): enough to describe a checkpoint before loading it. The
    /// header is checked as strictly as `read` checks it, against the file's size.
    public static func readMetadata(from url: URL) throws -> [String: String] {
        do {
            let handle = try FileHandle(forReadingFrom: url)
            defer { try? handle.close() }
            let fileSize = try handle.seekToEnd()
            try handle.seek(toOffset: 0)
            let prefix = try handle.read(upToCount: 8) ?? Data()
            guard prefix.count == 8, fileSize >= 8 else { throw CLTrainError.invalidArgument("file too short (\(prefix.count) bytes)") }
            let headerLength = try checkedHeaderLength(UInt64(littleEndianBytes: [UInt8](prefix)), fileSize: fileSize)
            let header = try handle.read(upToCount: headerLength) ?? Data()
            guard header.count == headerLength else {
                throw CLTrainError.invalidArgument("header length \(headerLength) exceeds the file (\(fileSize) bytes)")
            }
            return try parseHeader(header, dataBytes: Int(clamping: fileSize) - 8 - headerLength).metadata
        } catch let error as CLTrainError {
            throw CLTrainError.invalidArgument("checkpoint '\(url.path)' is corrupt or not a safetensors file: \(error)")
        } catch {
            throw CLTrainError.invalidArgument("cannot read checkpoint '\(url.path)': \(readFailure(error))")
        }
    }

    /// Decodes a whole safetensors file held in memory (`data` may be a slice of a larger buffer).
    /// Either every tensor is returned exactly as stored, in file order, or a `CLTrainError`
    /// names the first problem; no input traps or allocates beyond `data`'s own size.
    public static func decode(_ data: Data) throws -> SafeTensors {
        try data.withUnsafeBytes { raw in   // raw offsets: `data` may be a slice
            guard raw.count >= 8 else { throw CLTrainError.invalidArgument("file too short (\(raw.count) bytes)") }
            let headerLength = try checkedHeaderLength(UInt64(littleEndianBytes: raw[0..<8]), fileSize: UInt64(raw.count))
            let dataStart = 8 + headerLength
            let (metadata, tensors) = try parseHeader(Data(raw[8..<dataStart]), dataBytes: raw.count - dataStart)
            let entries = tensors.map { tensor in
                let count = (tensor.end - tensor.start) / 4
                let values = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                    // The data need not be 4-byte aligned in memory, so copy bytes, then fix the order.
                    UnsafeMutableRawBufferPointer(buffer).copyMemory(
                        from: UnsafeRawBufferPointer(rebasing: raw[(dataStart + tensor.start)..<(dataStart + tensor.end)]))
                    #if _endian(big)
                    for i in 0..<count { buffer[i] = Float(bitPattern: UInt32(littleEndian: buffer[i].bitPattern)) }
                    #endif
                    initialized = count
                }
                return Entry(name: tensor.name, shape: tensor.shape, values: values)
            }
            return SafeTensors(entries: entries, metadata: metadata)
        }
    }

    /// The header length from the first 8 bytes, if it leaves room for itself in a file of
    /// `fileSize` bytes. The smallest header is `{}`.
    private static func checkedHeaderLength(_ length: UInt64, fileSize: UInt64) throws -> Int {
        guard length >= 2, length <= fileSize - 8 else {
            throw CLTrainError.invalidArgument("header length \(length) exceeds the file (\(fileSize) bytes)")
        }
        guard length <= UInt64(maximumHeaderBytes) else {
            throw CLTrainError.invalidArgument("header length \(length) is over the format's limit of \(maximumHeaderBytes) bytes")
        }
        return Int(length)
    }

    /// One tensor's header entry. Unknown keys are ignored, as the reference reader does.
    private struct HeaderEntry: Decodable {
        let dtype: String
        let shape: [Int]
        let data_offsets: [Int]
    }

    private struct Key: CodingKey {
        let stringValue: String
        init(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    /// The header as JSON: `__metadata__` and the entries, undecoded, so that a bad entry can be
    /// named rather than reported as a decoding path.
    private struct Header: Decodable {
        var metadata: [String: String] = [:]
        var metadataIsMalformed = false
        var entries: [String: HeaderEntry?] = [:]

        init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: Key.self)
            for key in container.allKeys {
                if key.stringValue == "__metadata__" {
                    if let metadata = try? container.decode([String: String].self, forKey: key) {
                        self.metadata = metadata
                    } else {
                        metadataIsMalformed = true
                    }
                } else {
                    entries[key.stringValue] = .some(try? container.decode(HeaderEntry.self, forKey: key))   // nil: malformed
                }
            }
        }
    }

    /// The JSON header: the metadata, and each tensor's name, shape and byte range within the
    /// `dataBytes` that follow the header, in file order. Strict, as the format is: UTF-8 JSON
    /// that is an object starting at the first byte (space padding after it is allowed); dtype
    /// F32; shapes of non-negative dimensions whose size fits; byte ranges that match their shapes
    /// and tile the data section exactly — from its first byte to its last, in order, without gaps
    /// or overlaps. Problems are found in a fixed order (entries by name, then by offset), so the
    /// same file always names the same tensor.
    static func parseHeader(_ json: Data, dataBytes: Int) throws
        -> (metadata: [String: String], tensors: [(name: String, shape: [Int], start: Int, end: Int)]) {
        guard json.first == UInt8(ascii: "{") else {
            throw CLTrainError.invalidArgument("header is not a JSON object (it must start with '{')")
        }
        guard String(validating: json, as: UTF8.self) != nil else {
            throw CLTrainError.invalidArgument("header is not UTF-8")
        }
        let header: Header
        do { header = try JSONDecoder().decode(Header.self, from: json) } catch {
            throw CLTrainError.invalidArgument("header is not a JSON object")
        }
        if header.metadataIsMalformed { throw CLTrainError.invalidArgument("__metadata__ must map strings to strings") }

        var tensors: [(name: String, shape: [Int], start: Int, end: Int)] = []
        for (name, entry) in header.entries.sorted(by: { $0.key < $1.key }) {
            guard let entry, entry.data_offsets.count == 2 else {
                throw CLTrainError.invalidArgument("tensor '\(name)' has a malformed header entry (it needs dtype, shape and two data_offsets)")
            }
            guard entry.dtype == "F32" else {
                throw CLTrainError.invalidArgument("tensor '\(name)' has dtype \(entry.dtype); only F32 is supported")
            }
            let (start, end) = (entry.data_offsets[0], entry.data_offsets[1])
            // Checked arithmetic throughout: a corrupt header must not overflow (and trap) here.
            guard let byteCount = float32ByteCount(entry.shape), start >= 0, end >= start, end - start == byteCount,
                  end <= dataBytes else {
                let size = float32ByteCount(entry.shape).map { "\($0) bytes" } ?? "a size that does not fit in memory"
                throw CLTrainError.invalidArgument(
                    "tensor '\(name)' (shape \(entry.shape.shapeString), \(size)) has byte range \(start)..<\(end) that does not fit its shape or the file's \(dataBytes) data bytes")
            }
            tensors.append((name, entry.shape, start, end))
        }

        // The ranges must tile the data section: each starts where the one before it ends.
        tensors.sort { ($0.start, $0.end, $0.name) < ($1.start, $1.end, $1.name) }
        var covered = 0
        var previous: String?
        for tensor in tensors {
            if tensor.start < covered, let previous {
                throw CLTrainError.invalidArgument(
                    "tensor '\(tensor.name)' (bytes \(tensor.start)..<\(tensor.end)) overlaps tensor '\(previous)' (which ends at \(covered))")
            }
            if tensor.start > covered {
                throw CLTrainError.invalidArgument(
                    "bytes \(covered)..<\(tensor.start) of the data, before tensor '\(tensor.name)', belong to no tensor")
            }
            covered = tensor.end
            previous = tensor.name
        }
        guard covered == dataBytes else {
            throw CLTrainError.invalidArgument(
                "the last \(dataBytes - covered) of the file's \(dataBytes) data bytes belong to no tensor (the header length or the offsets are wrong)")
        }
        return (header.metadata, tensors)
    }

    /// Bytes of an F32 tensor of `shape`; nil if a dimension is negative or the size overflows Int.
    private static func float32ByteCount(_ shape: [Int]) -> Int? {
        var bytes = 4
        for dimension in shape {
            guard dimension >= 0 else { return nil }
            let (product, overflow) = bytes.multipliedReportingOverflow(by: dimension)
            guard !overflow else { return nil }
            bytes = product
        }
        return bytes
    }

    /// Foundation's reading errors name neither the reason nor the file ("error 256"); the POSIX
    /// reason underneath does.
    private static func readFailure(_ error: Error) -> String {
        let ns = error as NSError
        if let posix = ns.userInfo[NSUnderlyingErrorKey] as? NSError, posix.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(posix.code)))
        }
        return error.localizedDescription
    }
}
