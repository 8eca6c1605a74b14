import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes a file so that readers only ever see the old contents or the complete new ones:
/// temporary file in the same folder, fsync, rename over the target, fsync the folder.
/// A process killed at any moment leaves the previous file whole.
enum AtomicFile {
    static func write(_ data: Data, to url: URL) throws {
        let directory = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            // Foundation's own message names neither the folder nor the reason ("error 512").
            let reason = ((error as NSError).userInfo[NSUnderlyingErrorKey] as? POSIXError)
                .map { String(cString: strerror($0.code.rawValue)) } ?? "\(error)"
            throw CLTrainError.invalidArgument("cannot create folder '\(directory.path)': \(reason)")
        }
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw fileError("create", temporary) }
        var closed = false
        defer {
            if !closed { close(fd) }
            unlink(temporary.path)   // a no-op after a successful rename
        }
        try data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
            var written = 0
            while written < bytes.count {
                let n = Glibc.write(fd, bytes.baseAddress! + written, bytes.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw fileError("write", temporary)
                }
                written += n
            }
        }
        guard fsync(fd) == 0 else { throw fileError("fsync", temporary) }
        closed = true
        guard close(fd) == 0 else { throw fileError("close", temporary) }
        guard rename(temporary.path, url.path) == 0 else { throw fileError("rename into place", url) }
        // Make the rename itself durable.
        let directoryFD = open(directory.path, O_RDONLY)
        if directoryFD >= 0 {
            _ = fsync(directoryFD)
            close(directoryFD)
        }
    }

    private static func fileError(_ action: String, _ url: URL) -> CLTrainError {
        CLTrainError.invalidArgument("cannot \(action) '\(url.path)': \(String(cString: strerror(errno)))")
    }
}
