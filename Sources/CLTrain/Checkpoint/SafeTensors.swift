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

    /// The `__metadata__` of a safetensors file, reading only its header (a few kilobytes, where
    /// the whole file can be gigabytes): enough to describe a checkpoint before loading it.
    public static func readMetadata(from url: URL) throws -> [String: String] {
        do {
            let handle = try FileHandle(forReadingFrom: url)
            defer { try? handle.close() }
            let fileSize = try handle.seekToEnd()
            try handle.seek(toOffset: 0)
            let prefix = try handle.read(upToCount: 8) ?? Data()
            guard prefix.count == 8 else { throw CLTrainError.invalidArgument("file too short (\(prefix.count) bytes)") }
            let headerLength = UInt64(littleEndianBytes: [UInt8](prefix)[0..<8])
            guard headerLength > 0, headerLength <= fileSize - 8 else {
                throw CLTrainError.invalidArgument("header length \(headerLength) exceeds the file (\(fileSize) bytes)")
            }
            let header = try handle.read(upToCount: Int(headerLength)) ?? Data()
            return try parseHeader(header, dataBytes: Int(fileSize - 8 - headerLength)).metadata
        } catch let error as CLTrainError {
            throw CLTrainError.invalidArgument("checkpoint '\(url.path)' is corrupt or not a safetensors file: \(error)")
        } catch {
            throw CLTrainError.invalidArgument("cannot read checkpoint '\(url.path)': \(error.localizedDescription)")
        }
    }

    public static func decode(_ data: Data) throws -> SafeTensors {
        try data.withUnsafeBytes { raw in   // raw offsets: `data` may be a slice
            guard raw.count >= 8 else { throw CLTrainError.invalidArgument("file too short (\(raw.count) bytes)") }
            let headerLength = Int(clamping: UInt64(littleEndianBytes: raw[0..<8]))
            guard headerLength > 0, headerLength <= raw.count - 8 else {
                throw CLTrainError.invalidArgument("header length \(headerLength) exceeds the file (\(raw.count) bytes)")
            }
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

    /// The JSON header: the metadata, and each tensor's name, shape and byte range within the
    /// `dataBytes` that follow the header, in file order. Every range is checked against its shape
    /// and the data, so that reading the values cannot go out of bounds.
    private static func parseHeader(_ json: Data, dataBytes: Int) throws
        -> (metadata: [String: String], tensors: [(name: String, shape: [Int], start: Int, end: Int)]) {
        guard let header = try? JSONSerialization.jsonObject(with: json) as? [String: Any] else {
            throw CLTrainError.invalidArgument("header is not a JSON object")
        }
        var metadata: [String: String] = [:]
        var tensors: [(name: String, shape: [Int], start: Int, end: Int)] = []
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
                  end <= dataBytes else {
                throw CLTrainError.invalidArgument("tensor '\(name)' (shape \(shape.shapeString)) has byte range \(start)..<\(end) that does not fit its shape or the file")
            }
            tensors.append((name, shape, start, end))
        }
        return (metadata, tensors.sorted { $0.start < $1.start })
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
