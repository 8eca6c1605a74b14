import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One run's TensorBoard event file: `events.out.tfevents.<unix seconds>.<host>.<pid>.<counter>`
/// in a folder, as TensorFlow names them, holding TFRecord-framed `Event` protobufs — first
/// `file_version` "brain.Event:2", then one event per `write(scalars:step:)` whose summary holds
/// a `simple_value` per tag.
///
/// The file is created exclusively (`O_EXCL`), with the next counter where the name is taken, so
/// a run never appends to another run's file. Each `write` hands its record to the kernel at once,
/// so a run killed at any moment leaves every earlier record readable; at most the last one is
/// torn, and readers (TensorBoard's, `TFRecord.records(in:)`) stop before it. Not an
/// `AtomicFile`: like `--metrics`, it grows as the run goes.
public final class TensorBoardEventFile {
    public let url: URL
    private let fd: Int32

    /// Creates a new event file in `directory` (made if missing).
    /// - Throws: `CLTrainError` naming the folder or file and the system's reason.
    public init(directory: URL, wallTime: Double = Date().timeIntervalSince1970) throws {
        try AtomicFile.createDirectory(directory, what: "TensorBoard folder")
        let seconds = wallTime.isFinite && wallTime >= 0 && wallTime < 1e15 ? Int64(wallTime) : 0
        let prefix = "events.out.tfevents.\(seconds).\(Self.hostName()).\(getpid())."
        var counter = 0
        while true {
            let candidate = directory.appendingPathComponent(prefix + "\(counter)")
            let opened = open(candidate.path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
            if opened >= 0 {
                url = candidate
                fd = opened
                break
            }
            guard errno == EEXIST, counter < 1000 else {
                throw CLTrainError.invalidArgument("cannot create the TensorBoard event file '\(candidate.path)': \(String(cString: strerror(errno)))")
            }
            counter += 1
        }
        var version = ProtobufWriter()
        version.double(1, wallTime)
        version.string(3, "brain.Event:2")
        try append(version.data)
    }

    deinit { close(fd) }

    /// One event at `step`: each `(tag, value)` a scalar (`Summary.Value.simple_value`, float).
    public func write(scalars: [(tag: String, value: Double)], step: Int, wallTime: Double = Date().timeIntervalSince1970) throws {
        try append(Self.event(scalars: scalars, step: step, wallTime: wallTime))
    }

    /// The `Event` protobuf: wall_time (1, double), step (2, int64), summary (5) → Summary
    /// { repeated Value value = 1 } → Value { tag = 1, simple_value = 2 }.
    static func event(scalars: [(tag: String, value: Double)], step: Int, wallTime: Double) -> Data {
        var event = ProtobufWriter()
        event.double(1, wallTime)
        event.int64(2, Int64(step))
        event.message(5) { summary in
            for scalar in scalars {
                summary.message(1) { value in
                    value.string(1, scalar.tag)
                    value.float(2, Float(scalar.value))
                }
            }
        }
        return event.data
    }

    /// One record, written whole by write(2) calls before this returns.
    private func append(_ event: Data) throws {
        let record = TFRecord.frame(event)
        try record.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
            guard let base = bytes.baseAddress else { return }
            var written = 0
            while written < bytes.count {
                let n = Glibc.write(fd, base + written, bytes.count - written)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else {
                    if n == 0 { errno = ENOSPC }
                    throw CLTrainError.invalidArgument("cannot write the TensorBoard event file '\(url.path)': \(String(cString: strerror(errno)))")
                }
                written += n
            }
        }
    }

    /// The host name as a file name part (TensorFlow puts it there); "localhost" if unknown.
    private static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            .filter { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." || $0 == "_" }
        return name.isEmpty ? "localhost" : name
    }
}
