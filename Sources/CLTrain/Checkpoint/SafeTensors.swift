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

    /// Parses a safetensors file; anything malformed is an error naming the file and the problem.
    public static func read(from url: URL) throws -> SafeTensors {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw CLTrainError.invalidArgument("cannot read checkpoint '\(url.path)': \(error.localizedDescription)")
        }
        do {
            return try decode(data)
        } catch let error as CLTrainError {
            throw CLTrainError.invalidArgument("checkpoint '\(url.path)' is corrupt or not a safetensors file: \(error)")
        }
    }

    public static func decode(_ data: Data) throws -> SafeTensors {
        let bytes = [UInt8](data)
        guard bytes.count >= 8 else { throw CLTrainError.invalidArgument("file too short (\(bytes.count) bytes)") }
        let headerLength = Int(clamping: UInt64(littleEndianBytes: bytes[0..<8]))
        guard headerLength > 0, headerLength <= bytes.count - 8 else {
            throw CLTrainError.invalidArgument("header length \(headerLength) exceeds the file (\(bytes.count) bytes)")
        }
        let dataStart = 8 + headerLength
        guard let header = try? JSONSerialization.jsonObject(with: Data(bytes[8..<dataStart])) as? [String: Any] else {
            throw CLTrainError.invalidArgument("header is not a JSON object")
        }
        var metadata: [String: String] = [:]
        var entries: [(start: Int, entry: Entry)] = []
        for (name, value) in header {
            if name == "__metadata__" {
                guard let m = value as? [String: String] else { throw CLTrainError.invalidArgument("__metadata__ must map strings to strings") }
                metadata = m
                continue
            }
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
                  let shape = info["shape"] as? [Int], let offsets = info["data_offsets"] as? [Int], offsets.count == 2 else {
                throw CLTrainError.invalidArgument("tensor '\(name)' has a malformed header entry")
            }
            guard dtype == "F32" else { throw CLTrainError.invalidArgument("tensor '\(name)' has dtype \(dtype); only F32 is supported") }
            let (start, end) = (offsets[0], offsets[1])
            // Checked arithmetic throughout: a corrupt header must not overflow (and trap) here.
            guard let byteCount = float32ByteCount(shape), start >= 0, end >= start, end - start == byteCount,
                  end <= bytes.count - dataStart else {
                throw CLTrainError.invalidArgument("tensor '\(name)' (shape \(shape.shapeString)) has byte range \(start)..<\(end) that does not fit its shape or the file")
            }
            let count = byteCount / 4
            let values = (0..<count).map { i -> Float in
                let p = dataStart + start + 4 * i
                return Float(bitPattern: UInt32(bytes[p]) | UInt32(bytes[p + 1]) << 8 | UInt32(bytes[p + 2]) << 16 | UInt32(bytes[p + 3]) << 24)
            }
            entries.append((start, Entry(name: name, shape: shape, values: values)))
        }
        return SafeTensors(entries: entries.sorted { $0.start < $1.start }.map(\.entry), metadata: metadata)
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
}
