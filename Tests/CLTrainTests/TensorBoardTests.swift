import Foundation
import Testing
@testable import CLTrain

/// TensorBoard event files: CRC-32C, TFRecord framing and the `Event` protobuf, byte for byte
/// against known vectors and the bytes TensorBoard's own protobuf classes give; and a `train
/// --tensorboard` run read back by TensorBoard's reader (`scripts/tensorboard-check.sh`).
@Suite("TensorBoard event files")
struct TensorBoardTests {
    static func hex(_ data: Data) -> String { data.map { String(format: "%02x", $0) }.joined() }

    @Test func crc32cMatchesKnownVectors() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8]()) == 0)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)   // RFC 3720 B.4
        #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
        #expect(CRC32C.masked(0xE306_9283) == 0xC78A_B0E5)
    }

    @Test func recordsAreFramedAsTFRecordFramesThem() {
        // uint64 length, masked CRC of it, data, masked CRC of the data (Python's struct + the same CRC).
        #expect(Self.hex(TFRecord.frame(Data("abc".utf8))) == "0300000000000000b099490e6162636e57f121")
        #expect(TFRecord.frame(Data()).count == 16)
    }

    @Test func aTornOrCorruptRecordEndsTheFileForTheReader() {
        let records = [Data("first".utf8), Data(), Data(repeating: 7, count: 300)]
        let file = records.reduce(Data()) { $0 + TFRecord.frame($1) }
        #expect(TFRecord.records(in: file).records == records && TFRecord.records(in: file).complete)
        for cut in 1..<(16 + 300) {
            let torn = TFRecord.records(in: file.dropLast(cut))
            #expect(torn.records == Array(records.prefix(2)) && !torn.complete, "cut \(cut)")
        }
        var corrupt = file
        corrupt[corrupt.startIndex + 14] ^= 1   // inside the first record's data
        #expect(TFRecord.records(in: corrupt).records.isEmpty)
        // A length field claiming more than the file holds is refused, not trusted.
        var huge = TFRecord.frame(Data("x".utf8))
        huge.replaceSubrange(0..<8, with: Data(repeating: 0xFF, count: 8))
        #expect(TFRecord.records(in: huge).records.isEmpty)
    }

    @Test func protobufFieldsAreEncodedByTheWireFormat() {
        var varint = ProtobufWriter()
        varint.varint(300)
        #expect(Self.hex(varint.data) == "ac02")
        var negative = ProtobufWriter()
        negative.int64(2, -1)   // Event(step=-1) as protobuf's Python classes serialize it
        #expect(Self.hex(negative.data) == "10ffffffffffffffffff01")
    }

    /// The bytes of `event_pb2.Event(wall_time=…, step=42)` with two summary values, and of the
    /// file_version event, as TensorBoard's own protobuf classes serialize them.
    @Test func eventsMatchTensorBoardsProtobufClasses() {
        let event = TensorBoardEventFile.event(scalars: [("train/loss", 2.5), ("valid/perplexity", .infinity)],
                                               step: 42, wallTime: 1_700_000_000.5)
        #expect(Self.hex(event) == "0900002040fc54d941102a2a2c0a110a0a747261696e2f6c6f737315000020400a170a1076616c69642f706572706c6578697479150000807f")
    }

    @Test func eachRunGetsAFileOfItsOwnThatStartsWithTheFileVersion() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let folder = scratch.url.appendingPathComponent("runs")
        let first = try TensorBoardEventFile(directory: folder, wallTime: 1_700_000_000.25)
        let second = try TensorBoardEventFile(directory: folder, wallTime: 1_700_000_000.25)
        #expect(first.url != second.url)
        #expect(first.url.lastPathComponent.hasPrefix("events.out.tfevents.1700000000.") && first.url.lastPathComponent.hasSuffix(".\(getpid()).0"))
        #expect(second.url.lastPathComponent.hasSuffix(".\(getpid()).1"))
        try first.write(scalars: [("train/loss", 1)], step: 1, wallTime: 1_700_000_001)
        let records = TFRecord.records(in: try Data(contentsOf: first.url))
        #expect(records.complete && records.records.count == 2)
        #expect(records.records.first.map(Self.hex) == "0900001040fc54d9411a0d627261696e2e4576656e743a32")
        // The second file holds only its own version record: nothing of the first run's.
        #expect(TFRecord.records(in: try Data(contentsOf: second.url)).records.count == 1)
    }

    @Test func aFolderThatCannotBeMadeIsAnErrorNamingIt() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let file = scratch.url.appendingPathComponent("a-file")
        try Data("x".utf8).write(to: file)
        let error = #expect(throws: CLTrainError.self) { _ = try TensorBoardEventFile(directory: file.appendingPathComponent("runs")) }
        #expect(error.map { "\($0)".contains("TensorBoard folder") && "\($0)".contains(file.path) } == true, "\(String(describing: error))")
    }

    // MARK: TensorBoard's own reader

    /// `scripts/tensorboard-check.sh`, from this file's checkout.
    static let checkScript = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/tensorboard-check.sh")

    /// Runs the check; nil (with a message) where TensorBoard cannot be installed here.
    func tensorBoardCheck(_ directory: URL, _ metrics: URL) throws -> (status: Int32, output: String)? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [Self.checkScript.path, directory.path, metrics.path]
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("tensorboard-check-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: output) }
        let handle = try FileHandle(forWritingTo: output)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        process.waitUntilExit()
        try handle.close()
        let text = String(decoding: try Data(contentsOf: output), as: UTF8.self)
        if process.terminationStatus == 77 {
            print("TensorBoard's reader is not available here, its check skipped: \(text)")
            return nil
        }
        return (process.terminationStatus, text)
    }

    @Test func tensorBoardReadsATrainingRunAsItsMetricsSayAndSkipsATornLastRecord() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let runs = scratch.url.appendingPathComponent("runs"), metrics = scratch.url.appendingPathComponent("metrics.jsonl")
        let result = try CLI.run(CLIBadInputDevicesTests.tinyTrain + ["--epochs", "2", "--steps-per-epoch", "6", "--log-every", "2",
                                                                      "--tensorboard", runs.path, "--metrics", metrics.path])
        #expect(result.status == 0 && !result.crashed, "\(result)")
        let files = try FileManager.default.contentsOfDirectory(atPath: runs.path)
        #expect(files.count == 1 && files.allSatisfy { $0.hasPrefix("events.out.tfevents.") }, "\(files)")
        guard let name = files.first else { return }
        // Our reader first: the version record, 6 logged steps, 2 validations.
        let events = TFRecord.records(in: try Data(contentsOf: runs.appendingPathComponent(name)))
        #expect(events.complete && events.records.count == 9)

        guard let check = try tensorBoardCheck(runs, metrics) else { return }
        #expect(check.status == 0 && check.output.contains("7 tags, 34 scalars match"), "\(check.output)")

        // A run killed mid-write: the last record (the second validation) torn. TensorBoard reads
        // everything before it, which is the metrics without their last line.
        let torn = scratch.url.appendingPathComponent("torn")
        try FileManager.default.createDirectory(at: torn, withIntermediateDirectories: true)
        let whole = try Data(contentsOf: runs.appendingPathComponent(name))
        try whole.dropLast(5).write(to: torn.appendingPathComponent(name))
        let lines = String(decoding: try Data(contentsOf: metrics), as: UTF8.self).split(separator: "\n")
        let shorter = scratch.url.appendingPathComponent("metrics-but-the-last.jsonl")
        try Data((lines.dropLast().joined(separator: "\n") + "\n").utf8).write(to: shorter)
        guard let tornCheck = try tensorBoardCheck(torn, shorter) else { return }
        #expect(tornCheck.status == 0 && tornCheck.output.contains("7 tags, 32 scalars match"), "\(tornCheck.output)")
        // And the check can fail: the torn file is not the whole run.
        guard let mismatch = try tensorBoardCheck(torn, metrics) else { return }
        #expect(mismatch.status == 1 && mismatch.output.contains("valid/perplexity"), "\(mismatch.output)")
    }
}
