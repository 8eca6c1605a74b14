import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An exclusive lock on a checkpoint folder for the lifetime of one training run, so that two
/// trainers never write the same checkpoint. `flock` on `<folder>/.cltrain.lock`, which holds the
/// holder's pid for the message a second trainer gets. The kernel drops the lock when its holder
/// exits however it exits, so a lock file left by a dead run never blocks: the pid written in it
/// is only read while the lock is held, and is replaced by the next holder.
public final class CheckpointLock {
    public static let fileName = ".cltrain.lock"
    public let directory: URL
    private var fd: Int32

    private init(directory: URL, fd: Int32) {
        self.directory = directory
        self.fd = fd
    }

    deinit { release() }

    /// Takes the lock on `directory` (which must exist), or throws naming the pid that holds it.
    public static func acquire(_ directory: URL) throws -> CheckpointLock {
        let path = directory.appendingPathComponent(fileName).path
        let fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw CLTrainError.invalidArgument("cannot create the lock file '\(path)' in the checkpoint folder: \(String(cString: strerror(errno)))")
        }
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            if errno == EINTR { continue }
            let reason = errno
            defer { close(fd) }
            guard reason == EWOULDBLOCK else {
                throw CLTrainError.invalidArgument("cannot lock '\(path)': \(String(cString: strerror(reason)))")
            }
            let holder = holderPID(fd).map { "process \($0)" } ?? "another process"
            throw CLTrainError.invalidArgument(
                "checkpoint folder '\(directory.path)' is in use by \(holder) (another cltrain train holds '\(path)'); wait for it to finish or choose another --checkpoint folder")
        }
        // Ours now: whatever pid text is there is stale.
        let text = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pwrite(fd, text, text.count, 0)
        return CheckpointLock(directory: directory, fd: fd)
    }

    /// Releases the lock now (also done when the lock is freed or the process ends).
    public func release() {
        guard fd >= 0 else { return }
        close(fd)   // drops the flock
        fd = -1
    }

    private static func holderPID(_ fd: Int32) -> pid_t? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = pread(fd, &buffer, buffer.count, 0)
        guard n > 0 else { return nil }
        let text = String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return pid_t(text).flatMap { $0 > 0 ? $0 : nil }
    }
}
