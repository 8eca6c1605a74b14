import CLTrain
import Foundation

/// Appends one JSON object per line to a file (JSON Lines), for plotting and scripts.
///
/// JSON has no NaN or infinity, yet a diverging run is exactly when a plot needs every value: a
/// non-finite number is written as `null`, and the record gains `"nonFinite"`, an object naming
/// each such field with `"nan"`, `"inf"` or `"-inf"`, e.g.
/// `{"loss":1e3,"nonFinite":{"perplexity":"inf"},"perplexity":null,"type":"validation",…}`.
/// An append-only log is the one output not written through `AtomicFile`: each line is appended
/// as it comes, and nothing already in the file is replaced.
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
        guard !failed else { return }
        let data: Data
        do {
            data = try JSONSerialization.data(withJSONObject: Self.encodable(object), options: [.sortedKeys])
        } catch {
            failed = true
            try? FileHandle.standardError.write(contentsOf: Data("cltrain: --metrics: cannot encode a record (\(error.localizedDescription)); no more metrics are written\n".utf8))
            return
        }
        do {
            try handle.write(contentsOf: data + Data("\n".utf8))
        } catch {
            failed = true
            try? FileHandle.standardError.write(contentsOf: Data("cltrain: --metrics: writing failed (\(error.localizedDescription)); no more metrics are written\n".utf8))
        }
    }

    /// `object` with each non-finite number replaced by `null` and named in `"nonFinite"`.
    static func encodable(_ object: [String: Any]) -> [String: Any] {
        var result = object
        var nonFinite: [String: String] = [:]
        for (key, value) in object {
            let number: Double? = (value as? Double) ?? (value as? Float).map(Double.init)
            guard let number, !number.isFinite else { continue }
            result[key] = NSNull()
            nonFinite[key] = number.isNaN ? "nan" : number > 0 ? "inf" : "-inf"
        }
        if !nonFinite.isEmpty { result["nonFinite"] = nonFinite }
        return result
    }
}
