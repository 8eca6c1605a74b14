import Foundation
import Logging
import Synchronization

/// swift-log for CLTrain's executables (`cltrain`, `cltrain-bench`): `bootstrap()` once at start,
/// then `level` set from `--log-level`, else `CLTRAIN_LOG_LEVEL`, else info.
///
/// Each handler reads the process's level when a message is logged, not when its logger is made,
/// so loggers created before the flags are parsed (the device registry's, a library's static
/// ones) obey the flag too. A logger whose level is set explicitly keeps its own.
public enum CommandLineLogging {
    public static let environmentVariable = "CLTRAIN_LOG_LEVEL"
    public static let defaultLevel: Logger.Level = .info
    /// The names `--log-level` and the variable take, most verbose first.
    public static let levelNames = Logger.Level.allCases.map(\.rawValue)

    private static let state = Mutex((bootstrapped: false, level: CommandLineLogging.defaultLevel))

    /// Routes every `Logger` to stderr through `CommandLineLogHandler`. Later calls do nothing
    /// (swift-log's own bootstrap may run only once per process).
    public static func bootstrap() {
        let first = state.withLock { state in
            defer { state.bootstrapped = true }
            return !state.bootstrapped
        }
        if first { LoggingSystem.bootstrap { CommandLineLogHandler(label: $0) } }
    }

    /// The level every logger without one of its own logs at.
    public static var level: Logger.Level {
        get { state.withLock { $0.level } }
        set { state.withLock { $0.level = newValue } }
    }

    /// The level named `text` (any case), or nil.
    public static func level(named text: String) -> Logger.Level? {
        Logger.Level(rawValue: text.trimmingCharacters(in: .whitespaces).lowercased())
    }

    /// Sets `level` from a `--log-level` flag, else `CLTRAIN_LOG_LEVEL`, else `defaultLevel`.
    /// - Throws: as `environmentLevel`, for a bad variable (only read without the flag).
    public static func configure(flag: Logger.Level?, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        level = try flag ?? environmentLevel(environment) ?? defaultLevel
    }

    /// `CLTRAIN_LOG_LEVEL`'s level; nil when unset or empty.
    /// - Throws: `CLTrainError.invalidArgument` naming the variable, the value and the levels.
    public static func environmentLevel(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Logger.Level? {
        guard let text = environment[environmentVariable], !text.isEmpty else { return nil }
        guard let level = level(named: text) else {
            throw CLTrainError.invalidArgument(
                "\(environmentVariable)='\(text)' is not a log level; expected one of \(levelNames.joined(separator: ", "))")
        }
        return level
    }
}

/// One line per message on stderr, as swift-log's `StreamLogHandler` writes it
/// ("2026-01-02T03:04:05+0000 info cltrain.train: [cltrain] message"), at the process's level
/// (`CommandLineLogging.level`) unless this handler's own is set.
struct CommandLineLogHandler: LogHandler {
    let label: String
    var metadata: Logger.Metadata = [:]
    private var ownLevel: Logger.Level?

    init(label: String) { self.label = label }

    var logLevel: Logger.Level {
        get { ownLevel ?? CommandLineLogging.level }
        set { ownLevel = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        let fields = merged.isEmpty ? "" : " " + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let text = "\(Self.timestamp()) \(event.level) \(label):\(fields) [\(event.source)] \(event.message)\n"
        // One write per line, so that lines of several threads do not interleave.
        try? FileHandle.standardError.write(contentsOf: Data(text.utf8))
    }

    /// Local time, to the second, with the UTC offset.
    private static func timestamp() -> String {
        var now = time(nil)
        var local = tm()
        guard localtime_r(&now, &local) != nil else { return "<unknown time>" }
        var buffer = [CChar](repeating: 0, count: 64)
        let length = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S%z", &local)
        return String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
