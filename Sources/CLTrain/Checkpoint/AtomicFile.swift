import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The one way CLTrain writes a file the user asked for (checkpoints, reports, caches), so that
/// nothing the user had is lost:
///
/// - A regular file, or a path where nothing is yet, is replaced atomically: a temporary file
///   `.<name>.<pid>.tmp` in the same folder, fsync, rename over the target, fsync the folder.
///   Readers only ever see the old contents or the complete new ones, and a process killed at any
///   moment leaves the previous file whole. The new file keeps the old one's permissions.
/// - A symbolic link is followed: the file it points to is replaced atomically as above and the
///   link stays a link.
/// - Anything else that can be opened for writing — a device such as `/dev/null` or `/dev/full`,
///   a FIFO, a socket — is written through, as a shell's `>` would: it stays what it was, and a
///   write error (e.g. ENOSPC from `/dev/full`) is an error naming the path. A folder is refused.
///
/// A failed write removes its temporary file; temporaries left by writers that died (their pid
/// is no longer alive) are removed before the next write of the same name.
public enum AtomicFile {
    /// Writes `data` to `url` as described above. Throws a `CLTrainError` naming the path and
    /// the system's reason.
    public static func write(_ data: Data, to url: URL) throws {
        let target = try resolvingSymbolicLinks(url)
        var info = stat()
        if lstat(target.path, &info) == 0 {
            switch info.st_mode & S_IFMT {
            case S_IFREG:
                try replace(target, with: data, keeping: info.st_mode & 0o7777)
            case S_IFDIR:
                throw CLTrainError.invalidArgument("cannot write '\(url.path)': it is a directory")
            default:
                try writeThrough(target, data)
            }
        } else if errno == ENOENT || errno == ENOTDIR {
            try replace(target, with: data, keeping: nil)   // names a folder that cannot be made
        } else {
            throw fileError("inspect", target)
        }
    }

    /// Removes the temporary files `.<name>.<pid>.tmp` in `directory` whose writer is no longer
    /// alive (every name, or only `name`'s). A temporary of a live process, or of this one, stays.
    public static func removeStaleTemporaries(in directory: URL, of name: String? = nil) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return }
        for candidate in names {
            guard let (base, pid) = temporaryName(candidate), name == nil || base == name,
                  pid != getpid(), !isAlive(pid) else { continue }
            unlink(directory.appendingPathComponent(candidate).path)
        }
    }

    /// The target name and writer pid of a temporary file name `.<name>.<pid>.tmp`, if it is one.
    static func temporaryName(_ file: String) -> (name: String, pid: pid_t)? {
        guard file.hasPrefix("."), file.hasSuffix(".tmp") else { return nil }
        let inner = file.dropFirst().dropLast(4)
        guard let dot = inner.lastIndex(of: "."), dot > inner.startIndex else { return nil }
        let digits = inner[inner.index(after: dot)...]
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let pid = pid_t(digits), pid > 0 else { return nil }
        return (String(inner[..<dot]), pid)
    }

    private static func isAlive(_ pid: pid_t) -> Bool {
        kill(pid, 0) == 0 || errno == EPERM   // EPERM: alive, owned by someone else
    }

    /// `url` with every symbolic link followed, also a dangling one (its target may not exist yet).
    private static func resolvingSymbolicLinks(_ url: URL) throws -> URL {
        var current = url
        for _ in 0..<40 {   // the kernel's own limit on links in a path is about this
            var info = stat()
            guard lstat(current.path, &info) == 0, info.st_mode & S_IFMT == S_IFLNK else { return current }
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let length = readlink(current.path, &buffer, buffer.count - 1)
            guard length >= 0 else { throw fileError("follow the link", current) }
            let destination = String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            current = destination.hasPrefix("/")
                ? URL(fileURLWithPath: destination)
                : current.deletingLastPathComponent().appendingPathComponent(destination)
        }
        throw CLTrainError.invalidArgument("cannot write '\(url.path)': too many levels of symbolic links")
    }

    /// Creates `directory` and its parents, with an error that names the folder and the reason
    /// (Foundation's own message names neither: "error 512").
    /// - Parameter what: how the error calls the folder, e.g. "checkpoint folder".
    static func createDirectory(_ directory: URL, what: String = "folder") throws {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            let reason = ((error as NSError).userInfo[NSUnderlyingErrorKey] as? POSIXError)
                .map { String(cString: strerror($0.code.rawValue)) } ?? "\(error)"
            throw CLTrainError.invalidArgument("cannot create \(what) '\(directory.path)': \(reason)")
        }
    }

    /// Temporary file, fsync, rename over `url`, fsync the folder. `mode`: the permissions of the
    /// file being replaced (nil: a new file, 0644 less the umask).
    private static func replace(_ url: URL, with data: Data, keeping mode: mode_t?) throws {
        let directory = url.deletingLastPathComponent()
        try createDirectory(directory)
        removeStaleTemporaries(in: directory, of: url.lastPathComponent)
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
        // O_EXCL | O_NOFOLLOW: never write through something planted where the temporary goes.
        unlink(temporary.path)
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw fileError("create", temporary) }
        var closed = false
        var renamed = false
        defer {
            if !closed { close(fd) }
            if !renamed { unlink(temporary.path) }   // a failed write (a full disk) leaves nothing behind
        }
        if let mode, fchmod(fd, mode) != 0 { throw fileError("set the permissions of", temporary) }
        try writeAll(data, to: fd, path: temporary)
        guard fsync(fd) == 0 else { throw fileError("fsync", temporary) }
        closed = true
        guard close(fd) == 0 else { throw fileError("close", temporary) }
        guard rename(temporary.path, url.path) == 0 else { throw fileError("rename into place", url) }
        renamed = true
        // Make the rename itself durable.
        let directoryFD = open(directory.path, O_RDONLY | O_CLOEXEC)
        if directoryFD >= 0 {
            _ = fsync(directoryFD)
            close(directoryFD)
        }
    }

    /// A device, FIFO or socket: written in place, never replaced.
    private static func writeThrough(_ url: URL, _ data: Data) throws {
        let fd = open(url.path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw fileError("open", url) }
        defer { close(fd) }
        try writeAll(data, to: fd, path: url)
    }

    private static func writeAll(_ data: Data, to fd: Int32, path: URL) throws {
        try data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
            guard let base = bytes.baseAddress else { return }
            var written = 0
            while written < bytes.count {
                let n = Glibc.write(fd, base + written, bytes.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw fileError("write", path)
                }
                if n == 0 {
                    errno = ENOSPC
                    throw fileError("write", path)
                }
                written += n
            }
        }
    }

    private static func fileError(_ action: String, _ url: URL) -> CLTrainError {
        CLTrainError.invalidArgument("cannot \(action) '\(url.path)': \(String(cString: strerror(errno)))")
    }
}
