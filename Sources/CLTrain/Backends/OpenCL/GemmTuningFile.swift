import Foundation
import Logging

/// The tiled gemm parameters `cltrain-bench tune` measured, one entry per device name + driver
/// version, in `gemm-tuning.json` of the `tuning` cache folder (`$CLTRAIN_CACHE_DIR/tuning`, else
/// `$XDG_CACHE_HOME/cltrain/tuning`, else `~/.cache/cltrain/tuning`). A missing file is an empty
/// one; an unreadable or corrupt one is ignored with a warning: tuning only ever saves time.
public struct GemmTuningFile: Codable, Sendable, Equatable {
    public struct Entry: Codable, Sendable, Equatable {
        /// The key: CL_DEVICE_NAME and CL_DRIVER_VERSION, exactly as the driver reports them.
        public var deviceName: String
        public var driverVersion: String
        public var platformName: String
        public var parameters: TiledGemmParameters
        /// What `score` measures, in words (e.g. "geometric mean of median GFLOP/s over 3 shapes").
        public var objective: String
        public var score: Double
        /// The shapes timed, as "MxNxK".
        public var shapes: [String]
        /// ISO 8601 time of the tuning run.
        public var date: String

        public init(deviceName: String, driverVersion: String, platformName: String, parameters: TiledGemmParameters,
                    objective: String, score: Double, shapes: [String], date: String) {
            self.deviceName = deviceName
            self.driverVersion = driverVersion
            self.platformName = platformName
            self.parameters = parameters
            self.objective = objective
            self.score = score
            self.shapes = shapes
            self.date = date
        }
    }

    /// The format's version; a file with another version is ignored with a warning.
    public var version = 1
    public var entries: [Entry] = []

    public init(entries: [Entry] = []) {
        self.entries = entries
    }

    /// The file's place, or nil when caches are off (`CLTRAIN_CACHE_DIR=off`).
    public static func defaultLocation(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL? {
        CacheDirectory.folder("tuning", environment: environment)?.appendingPathComponent("gemm-tuning.json")
    }

    /// The default file, read once per process.
    static let loadedDefault: GemmTuningFile = {
        guard let url = defaultLocation() else { return GemmTuningFile() }
        return load(from: url) { Logger(label: "cltrain.tuning").warning("\($0)") }
    }()

    /// Reads `url`. Missing: an empty file, silently. Unreadable, corrupt or of another version:
    /// an empty file, and `warn` says which file and why.
    public static func load(from url: URL, warn: (String) -> Void) -> GemmTuningFile {
        guard FileManager.default.fileExists(atPath: url.path) else { return GemmTuningFile() }
        do {
            let file = try JSONDecoder().decode(GemmTuningFile.self, from: Data(contentsOf: url))
            guard file.version == 1 else {
                warn("ignoring gemm tuning file '\(url.path)': format version \(file.version), this build reads 1")
                return GemmTuningFile()
            }
            return file
        } catch {
            warn("ignoring gemm tuning file '\(url.path)', which cannot be read: \(error); "
                 + "delete it or run `cltrain-bench tune` again")
            return GemmTuningFile()
        }
    }

    /// The entry for this device name and driver version, if any.
    public func entry(deviceName: String, driverVersion: String) -> Entry? {
        entries.last { $0.deviceName == deviceName && $0.driverVersion == driverVersion }
    }

    /// Adds `entry`, replacing any entry with its key.
    public mutating func record(_ entry: Entry) {
        entries.removeAll { $0.deviceName == entry.deviceName && $0.driverVersion == entry.driverVersion }
        entries.append(entry)
    }

    /// Writes the file atomically: readers see the old file or the whole new one.
    public func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(self), to: url)
    }
}
