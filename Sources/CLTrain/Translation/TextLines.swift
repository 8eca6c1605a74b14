import Foundation

/// The lines of a UTF-8 text file as sacreBLEU and the parallel-text readers take them: split at
/// `\n` only (sacreBLEU opens files with `newline="\n"`), a last line without `\n` counted, a
/// `\n` at the end not starting another. Nothing is stripped here: a `\r` of a CRLF file stays
/// at its line's end, where `rstrip()` removes it.
public enum TextLines {
    /// The lines of the file at `path`; `role` names it in errors ("reference file").
    /// Refuses a missing or unreadable path, one that is not a regular file, an empty file, and
    /// bytes that are not UTF-8 (naming the line).
    public static func read(_ path: String, role: String) throws -> [String] {
        var info = stat()
        guard stat(path, &info) == 0 else {
            let reason = errno == ENOENT ? "does not exist" : "cannot be read (\(String(cString: strerror(errno))))"
            throw CLTrainError.invalidArgument("\(role) '\(path)' \(reason)")
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw CLTrainError.invalidArgument("\(role) '\(path)' is not a regular file")
        }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw CLTrainError.invalidArgument("cannot read \(role) '\(path)': \(error.localizedDescription)")
        }
        return try lines(of: data, name: "\(role) '\(path)'")
    }

    /// The lines of `data`; `name` says whose in errors.
    public static func lines(of data: Data, name: String) throws -> [String] {
        guard !data.isEmpty else { throw CLTrainError.invalidArgument("\(name) is empty") }
        var pieces = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if data.last == UInt8(ascii: "\n") { pieces.removeLast() }
        return try pieces.enumerated().map { number, bytes in
            guard let line = String(validating: bytes, as: UTF8.self) else {
                throw CLTrainError.invalidArgument("\(name), line \(number + 1): not UTF-8 text")
            }
            return line
        }
    }
}
