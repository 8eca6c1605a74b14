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

    func write(_ object: [String: Any]) {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
        handle.write(data + Data("\n".utf8))
    }
}
