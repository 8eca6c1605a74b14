import CLTrain
import Foundation

/// Lines read from a file or standard input as they arrive, split at `\n` as `TextLines` splits
/// files (nothing stripped; a last line without `\n` counted). `next(upTo:)` hands back what has
/// arrived once it holds `count` lines, or sooner when no more input is waiting: so a file is
/// read in full batches, and a person typing into a pipe gets each answer without ending the input.
final class InputLines {
    private let descriptor: Int32
    private let name: String
    private let ownsDescriptor: Bool
    private var pending = Data()
    private var lines: [String] = []
    private var ended = false
    /// A line that is not UTF-8: thrown once the lines before it are handed out.
    private var badLine: CLTrainError?
    /// Lines handed out so far: the number of the next one minus 1, for errors.
    private var lineNumber = 0

    /// Standard input.
    init() {
        descriptor = STDIN_FILENO
        name = "standard input"
        ownsDescriptor = false
    }

    /// The file at `path`; refuses a missing path or a folder, naming it.
    init(path: String) throws {
        var info = stat()
        guard stat(path, &info) == 0 else {
            let reason = errno == ENOENT ? "does not exist" : "cannot be read (\(String(cString: strerror(errno))))"
            throw CLTrainError.invalidArgument("input file '\(path)' \(reason)")
        }
        guard info.st_mode & S_IFMT != S_IFDIR else { throw CLTrainError.invalidArgument("input file '\(path)' is a folder") }
        let opened = open(path, O_RDONLY)
        guard opened >= 0 else {
            throw CLTrainError.invalidArgument("input file '\(path)' cannot be opened (\(String(cString: strerror(errno))))")
        }
        descriptor = opened
        name = "input file '\(path)'"
        ownsDescriptor = true
    }

    deinit { if ownsDescriptor { close(descriptor) } }

    /// Up to `count` lines, at least one unless the input has ended (then none); waits for input
    /// only while it holds no complete line. Refuses a line that is not UTF-8, naming it, once the
    /// lines before it have been handed out.
    func next(upTo count: Int) throws -> [String] {
        while lines.count < count && !ended && (lines.isEmpty || inputIsWaiting()) { try readChunk() }
        if lines.isEmpty, let badLine { throw badLine }
        let batch = Array(lines.prefix(count))
        lines.removeFirst(batch.count)
        lineNumber += batch.count
        return batch
    }

    /// Whether a read would return at once (data or the end), so reading on cannot stall a batch.
    private func inputIsWaiting() -> Bool {
        var request = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        return poll(&request, 1, 0) > 0
    }

    private func readChunk() throws {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        let got = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        if got < 0 {
            if errno == EINTR { return }
            throw CLTrainError.invalidArgument("cannot read \(name): \(String(cString: strerror(errno)))")
        }
        if got == 0 {
            ended = true
            if !pending.isEmpty { appendLine(pending); pending = Data() }
            return
        }
        pending.append(contentsOf: buffer[..<got])
        var start = pending.startIndex
        while let newline = pending[start...].firstIndex(of: UInt8(ascii: "\n")) {
            appendLine(pending[start..<newline])
            start = newline + 1
        }
        pending = Data(pending[start...])
    }

    /// Reading ends at a line that is not UTF-8; the lines before it are still translated.
    private func appendLine(_ bytes: Data) {
        guard badLine == nil else { return }
        guard let line = String(validating: bytes, as: UTF8.self) else {
            badLine = CLTrainError.invalidArgument("\(name), line \(lineNumber + lines.count + 1): not UTF-8 text")
            ended = true
            return
        }
        lines.append(line)
    }
}
