import CLTrain
import Foundation

/// Appends one JSON object per line to a file (JSON Lines), for plotting and scripts.
final class MetricsLog {
    private let handle: FileHandle

    init(path: String) throws {
        let url = URL(fileURLWithPath: path)
        if !FileManager.default.fileExists(atPath: url.path) {
            guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
                throw CLTrainError.invalidArgument("--metrics: cannot create '\(path)'")
            }
        }
        do {
            handle = try FileHandle(forWritingTo: url)
            try handle.seekToEnd()
        } catch {
            throw CLTrainError.invalidArgument("--metrics: cannot append to '\(path)': \(error.localizedDescription)")
        }
    }

    deinit { try? handle.close() }

    private var failed = false

    /// Appends one line; after a failed write (a full disk, a closed pipe) it says so once and stops.
    func write(_ object: [String: Any]) {
        guard !failed, let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
        do {
            try handle.write(contentsOf: data + Data("\n".utf8))
        } catch {
            failed = true
            try? FileHandle.standardError.write(contentsOf: Data("cltrain: --metrics: writing failed (\(error.localizedDescription)); no more metrics are written\n".utf8))
        }
    }
}
