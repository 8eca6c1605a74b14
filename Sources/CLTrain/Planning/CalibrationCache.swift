import Foundation

/// Who a device is, as far as its speed goes: the cache key of a calibration.
public struct DeviceIdentity: Codable, Hashable, Sendable, CustomStringConvertible {
    /// e.g. "Portable Computing Language: cpu-haswell-…" or "cpu: Intel(R) Xeon(R) … (2 threads)".
    public var name: String
    /// The OpenCL driver version, or OpenBLAS's build configuration for the CPU backend.
    public var driver: String

    public init(name: String, driver: String) {
        self.name = name
        self.driver = driver
    }

    /// The identity of `device` in `registry`.
    public static func of(_ device: DeviceSelection, registry: DeviceRegistry = .shared) throws -> DeviceIdentity {
        switch device {
        case .cpu:
            let host = HostDescription.current
            return DeviceIdentity(name: "cpu: \(host.name) (\(host.activeProcessors) threads)", driver: host.blasConfiguration)
        case .openCL(let index):
            let description = try registry.description(ofOpenCLDevice: index)
            return DeviceIdentity(name: "\(description.platformName): \(description.name)", driver: description.driverVersion)
        }
    }

    public var description: String { "\(name) [\(driver)]" }
}

/// Calibrations on disk, one JSON file per (device name, driver, workload shape).
///
/// A file that cannot be read, does not decode, has another format version, names another
/// device or shape (a hash collision), or holds implausible numbers is treated as absent; the
/// next calibration overwrites it. Files are written to a temporary name, synced and renamed,
/// so a reader never sees half a file.
///
/// Location: the `calibration` folder beside the kernel binary cache: `$CLTRAIN_CACHE_DIR/calibration`,
/// else `$XDG_CACHE_HOME/cltrain/calibration`, else `~/.cache/cltrain/calibration`.
/// `CLTRAIN_CACHE_DIR=off` disables it.
public struct CalibrationCache: Sendable {
    public let directory: URL

    /// Bumped whenever the measurement changes meaning, so older entries are re-measured.
    /// 2: the layer is timed through `LSTMLayer` itself (hoisted input product, both biases).
    static let formatVersion = 2

    public init(directory: URL) {
        self.directory = directory
    }

    /// The cache at the default location for `environment`, or nil if disabled.
    public static func standard(environment: [String: String] = ProcessInfo.processInfo.environment) -> CalibrationCache? {
        CacheDirectory.folder("calibration", environment: environment).map(CalibrationCache.init)
    }

    struct Record: Codable {
        var formatVersion: Int
        var identity: DeviceIdentity
        var shape: WorkloadShape
        var costs: DeviceCosts
        var measuredAt: Date
        var measuringSeconds: Double
    }

    /// The file of (identity, shape).
    public func fileURL(identity: DeviceIdentity, shape: WorkloadShape) -> URL {
        var hash = FNV1a()
        for part in [identity.name, identity.driver, "\(shape.batch)", "\(shape.hidden)", "\(shape.embedding)",
                     "\(shape.vocabulary)", "\(shape.steps)"] {
            hash.combine(part)
        }
        return directory.appendingPathComponent("\(hash.value.hexString).json")
    }

    /// The cached costs of (identity, shape), or nil if there are none that can be trusted.
    public func load(identity: DeviceIdentity, shape: WorkloadShape) -> DeviceCosts? {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        guard let data = try? Data(contentsOf: fileURL(identity: identity, shape: shape)),
              let record = try? decoder.decode(Record.self, from: data),
              record.formatVersion == Self.formatVersion, record.identity == identity, record.shape == shape,
              record.costs.isPlausible
        else { return nil }
        return record.costs
    }

    /// Writes (identity, shape) → costs atomically.
    public func store(_ costs: DeviceCosts, identity: DeviceIdentity, shape: WorkloadShape, measuringSeconds: Double = 0) throws {
        let record = Record(formatVersion: Self.formatVersion, identity: identity, shape: shape, costs: costs,
                            measuredAt: Date(), measuringSeconds: measuringSeconds)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        try AtomicFile.write(encoder.encode(record), to: fileURL(identity: identity, shape: shape))
    }
}
