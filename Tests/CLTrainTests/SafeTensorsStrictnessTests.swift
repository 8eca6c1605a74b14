import Foundation
import PropertyBased
import Testing
@testable import CLTrain

/// A small valid file: three tensors of different sizes (one empty) and metadata.
private let original = SafeTensors(entries: [
    .init(name: "a", shape: [2, 3], values: [1, -2, 0.5, 3, -0, 7]),
    .init(name: "b", shape: [4], values: [9, 8, 7, 6]),
    .init(name: "empty", shape: [0, 5], values: []),
    .init(name: "s", shape: [], values: [42]),
], metadata: ["format": "test", "note": "ſ é"])

private let originalBytes: [UInt8] = [UInt8]((try? original.encode()) ?? Data())

private func headerLength(_ bytes: [UInt8]) -> Int {
    (0..<8).reduce(0) { $0 | Int(bytes[$1]) << (8 * $1) }
}

/// `header` as JSON (padded with spaces to 8 bytes) after its length, then `payload` bytes 0, 1, 2, ….
private func file(header: [String: Any], payload: Int, lengthDelta: Int = 0) throws -> Data {
    var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
    json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))
    let length = UInt64(json.count + lengthDelta)
    var data = Data((0..<8).map { UInt8(truncatingIfNeeded: length >> (8 * UInt64($0))) })
    data.append(json)
    data.append(contentsOf: (0..<payload).map { UInt8(truncatingIfNeeded: $0) })
    return data
}

private func tensor(_ shape: [Int], _ start: Int, _ end: Int, dtype: String = "F32") -> [String: Any] {
    ["dtype": dtype, "shape": shape, "data_offsets": [start, end]]
}

/// What decoding `bytes` did: loaded, refused with a CLTrainError, or failed some other way
/// (which is a bug: every refusal must be a CLTrainError).
private enum Outcome {
    case loaded(SafeTensors)
    case refused(String)
    case otherError(Error)

    init(_ bytes: [UInt8]) {
        do { self = .loaded(try SafeTensors.decode(Data(bytes))) } catch let error as CLTrainError {
            self = .refused("\(error)")
        } catch {
            self = .otherError(error)
        }
    }
}

private func bitsEqual(_ a: SafeTensors, _ b: SafeTensors) -> Bool {
    a.metadata == b.metadata && a.entries.map(\.name) == b.entries.map(\.name)
        && a.entries.map(\.shape) == b.entries.map(\.shape)
        && a.entries.map { $0.values.map(\.bitPattern) } == b.entries.map { $0.values.map(\.bitPattern) }
}

/// The reader, fuzzed: whatever the bytes, it never traps, and it either loads the file exactly as
/// its header says or refuses it with a `CLTrainError`.
@Suite("SafeTensors reader under fuzzing")
struct SafeTensorsFuzzTests {
    @Test func everyTruncationIsRefused() async {
        await propertyCheck(count: 300, input: Gen.int(in: 0...(originalBytes.count - 1))) { length in
            switch Outcome(Array(originalBytes.prefix(length))) {
            case .loaded: Issue.record("a file cut to \(length) of \(originalBytes.count) bytes loaded")
            case .refused: break
            case .otherError(let error): Issue.record("cut to \(length): not a CLTrainError: \(error)")
            }
        }
        if case .loaded(let whole) = Outcome(originalBytes) {
            #expect(bitsEqual(whole, original))
        } else {
            Issue.record("the whole file did not load")
        }
    }

    @Test func byteFlipsLoadExactlyWhatTheFileSaysOrAreRefused() async {
        let dataStart = 8 + headerLength(originalBytes)
        await propertyCheck(count: 400, input: Gen.int(in: 0...(originalBytes.count - 1)).array(of: 1...6),
                            Gen.uint8(in: 1...255)) { positions, mask in
            var bytes = originalBytes
            for p in positions { bytes[p] ^= mask }
            switch Outcome(bytes) {
            case .loaded(let loaded):
                // Every value is the file's own bytes at the tensor's place, and the tensors tile the data.
                let values = loaded.entries.flatMap { $0.values.map(\.bitPattern) }
                let start = 8 + headerLength(bytes)
                let raw = stride(from: start, to: bytes.count, by: 4).map { i in
                    (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[i + $1]) << (8 * UInt32($1)) }
                }
                #expect(values == raw, "flips at \(positions) ^ \(mask): the values are not the file's bytes")
                if positions.allSatisfy({ $0 >= dataStart }) {
                    #expect(loaded.entries.map(\.name) == original.entries.map(\.name))
                    #expect(loaded.metadata == original.metadata)
                }
            case .refused:
                #expect(!positions.allSatisfy { $0 >= dataStart }, "flips only in the data at \(positions) were refused")
            case .otherError(let error):
                Issue.record("flips at \(positions): not a CLTrainError: \(error)")
            }
        }
    }

    @Test func anyOtherHeaderLengthIsRefused() async {
        let right = UInt64(headerLength(originalBytes))
        let near = Gen.int(in: -24...24).map { UInt64(bitPattern: Int64(right) + Int64($0)) }
        await propertyCheck(count: 300, input: near, Gen.uint64()) { close, anywhere in
            for length in [close, anywhere] where length != right {
                var bytes = originalBytes
                for i in 0..<8 { bytes[i] = UInt8(truncatingIfNeeded: length >> (8 * UInt64(i))) }
                switch Outcome(bytes) {
                case .loaded: Issue.record("header length \(length) (the right one is \(right)) loaded")
                case .refused: break
                case .otherError(let error): Issue.record("header length \(length): not a CLTrainError: \(error)")
                }
            }
        }
    }

    /// Random offset tables over a random payload: loaded exactly when the ranges match their
    /// shapes and tile the payload (an oracle written here, not the reader's own code), else refused.
    @Test func offsetTablesLoadOnlyWhenTheyTileTheData() async {
        let table = Gen.int(in: 0...3).array(of: 2)          // a tensor's shape
        let jitter = Gen.int(in: -6...6).array(of: 2)         // how far its offsets stray from the tiling
        let perturbed = Gen.bool(0.4)
        await propertyCheck(count: 400, input: table.array(of: 1...4), jitter.array(of: 4), perturbed.array(of: 4),
                            Gen.int(in: -4...4)) { shapes, jitters, perturb, payloadDelta in
            var header: [String: Any] = [:]
            var ranges: [(start: Int, end: Int, bytes: Int)] = []
            var offset = 0
            for (i, shape) in shapes.enumerated() {
                let bytes = 4 * shape.reduce(1, *)
                var (start, end) = (offset, offset + bytes)
                if perturb[i] { start += jitters[i][0]; end += jitters[i][1] }
                header["t\(i)"] = tensor(shape, start, end)
                ranges.append((start, end, bytes))
                offset += bytes
            }
            let payload = max(0, offset + payloadDelta)
            let sorted = ranges.sorted { ($0.start, $0.end) < ($1.start, $1.end) }
            var cursor = 0, tiles = true
            for r in sorted {
                guard r.start >= 0, r.end - r.start == r.bytes, r.start == cursor else { tiles = false; break }
                cursor = r.end
            }
            tiles = tiles && cursor == payload
            guard let data = try? file(header: header, payload: payload) else { Issue.record("could not build the file"); return }
            switch Outcome([UInt8](data)) {
            case .loaded(let loaded):
                #expect(tiles, "ranges \(ranges) over \(payload) bytes loaded")
                #expect(loaded.entries.count == shapes.count)
            case .refused:
                #expect(!tiles, "ranges \(ranges) over \(payload) bytes tile the data but were refused")
            case .otherError(let error):
                Issue.record("ranges \(ranges): not a CLTrainError: \(error)")
            }
        }
    }
}

/// Each rule of the format, one file breaking it.
@Suite("SafeTensors reader strictness")
struct SafeTensorsStrictnessTests {
    private func expectRefused(_ data: Data, mentioning parts: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        let error = #expect(throws: CLTrainError.self, sourceLocation: sourceLocation) { try SafeTensors.decode(data) }
        for part in parts where !"\(error.map { "\($0)" } ?? "")".contains(part) {
            Issue.record("'\(error.map { "\($0)" } ?? "")' does not mention '\(part)'", sourceLocation: sourceLocation)
        }
    }

    @Test func aHeaderLengthOffByOneIsRefused() throws {
        let header: [String: Any] = ["w": tensor([2], 0, 8)]
        #expect(try SafeTensors.decode(file(header: header, payload: 8)).entries.count == 1)
        // One byte shorter: the header loses a padding space, which joins the data as a stray byte.
        expectRefused(try file(header: header, payload: 8, lengthDelta: -1), mentioning: ["belong to no tensor"])
        expectRefused(try file(header: header, payload: 8, lengthDelta: 1), mentioning: [])
        // The same on a file written by the library.
        for delta in [-1, 1] {
            var bytes = originalBytes
            let length = UInt64(headerLength(bytes) + delta)
            for i in 0..<8 { bytes[i] = UInt8(truncatingIfNeeded: length >> (8 * UInt64(i))) }
            expectRefused(Data(bytes), mentioning: [])
        }
    }

    @Test func overlappingOffsetsAreRefused() throws {
        expectRefused(try file(header: ["a": tensor([2], 0, 8), "b": tensor([2], 4, 12)], payload: 12),
                      mentioning: ["tensor 'b'", "overlaps tensor 'a'"])
        // Two tensors on the same bytes, the data otherwise covered.
        expectRefused(try file(header: ["a": tensor([2], 0, 8), "b": tensor([2], 0, 8)], payload: 8),
                      mentioning: ["overlaps"])
    }

    @Test func aGapLeadingOrTrailingBytesAreRefused() throws {
        expectRefused(try file(header: ["a": tensor([1], 0, 4), "b": tensor([1], 8, 12)], payload: 12),
                      mentioning: ["bytes 4..<8", "before tensor 'b'", "belong to no tensor"])
        expectRefused(try file(header: ["a": tensor([1], 4, 8)], payload: 8), mentioning: ["bytes 0..<4", "belong to no tensor"])
        expectRefused(try file(header: ["a": tensor([1], 0, 4)], payload: 5), mentioning: ["the last 1 of the file's 5 data bytes"])
        var withTrailing = originalBytes
        withTrailing.append(0)
        expectRefused(Data(withTrailing), mentioning: ["belong to no tensor"])
    }

    @Test func otherDtypesAreRefusedByName() throws {
        for dtype in ["F16", "BF16", "F64", "I32", "U8", "BOOL", "f32"] {
            expectRefused(try file(header: ["w": tensor([2], 0, 8, dtype: dtype)], payload: 8),
                          mentioning: ["tensor 'w' has dtype \(dtype); only F32"])
        }
    }

    @Test func hugeClaimedShapesAreRefusedWithoutAllocating() throws {
        // 2^62 elements, and products that overflow Int: refused from the header alone.
        for shape in [[1 << 62], [1 << 40, 1 << 22], [Int.max, 2], [3, -1], [1 << 31, 1 << 31, 1 << 31]] {
            expectRefused(try file(header: ["w": tensor(shape, 0, 16)], payload: 16), mentioning: ["tensor 'w'"])
        }
    }

    @Test func theHeaderMustBeAUTF8JSONObject() throws {
        var notUTF8 = [UInt8](try file(header: ["w": tensor([1], 0, 4)], payload: 4))
        notUTF8[10] = 0xff   // inside the key
        expectRefused(Data(notUTF8), mentioning: ["not UTF-8"])
        // JSON, but not starting at the header's first byte.
        var json = Data(" {}     ".utf8)
        expectRefused(Data([8, 0, 0, 0, 0, 0, 0, 0]) + json, mentioning: ["not a JSON object"])
        json = Data("{}      ".utf8)
        #expect(try SafeTensors.decode(Data([8, 0, 0, 0, 0, 0, 0, 0]) + json).entries.isEmpty)
        expectRefused(Data([8, 0, 0, 0, 0, 0, 0, 0]) + Data("{} x    ".utf8), mentioning: ["not a JSON object"])
        expectRefused(try file(header: ["w": ["dtype": "F32", "shape": [1], "data_offsets": [0, 4, 8]]], payload: 4),
                      mentioning: ["tensor 'w' has a malformed header entry"])
        expectRefused(try file(header: ["w": ["dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]]], payload: 4),
                      mentioning: ["tensor 'w' has a malformed header entry"])
        expectRefused(try file(header: ["__metadata__": ["n": ["nested"]]], payload: 0), mentioning: ["__metadata__"])
    }

    @Test func theSameFileAlwaysNamesTheSameTensor() throws {
        // Several bad entries: the first by name is named, whatever the dictionary order.
        var header: [String: Any] = [:]
        for name in ["zeta", "mu", "alpha", "kappa", "beta"] { header[name] = tensor([2], 0, 4) }
        let data = try file(header: header, payload: 8)
        let messages = (0..<20).map { _ -> String in
            do { _ = try SafeTensors.decode(data); return "loaded" } catch { return "\(error)" }
        }
        #expect(messages.allSatisfy { $0 == messages[0] })
        expectRefused(data, mentioning: ["tensor 'alpha'"])
    }
}
