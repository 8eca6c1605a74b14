import ArgumentParser
import CLTrain
import Logging

/// `--log-level LEVEL`, on every command of `cltrain` and `cltrain-bench` (each logs, at least
/// through the device registry): what `logger.debug` and the others print. Default:
/// CLTRAIN_LOG_LEVEL, else info.
public struct LoggingOptions: ParsableArguments {
    @Option(name: .customLong("log-level"), help: ArgumentHelp(
        "Log messages at this level and above: trace, debug, info, notice, warning, error or critical. Default: CLTRAIN_LOG_LEVEL, else info.",
        valueName: "LEVEL"))
    public var level: Logger.Level?

    public init() {}

    /// Sets the process's level while the flags are validated, before any command runs; a bad
    /// CLTRAIN_LOG_LEVEL is a usage error like a bad flag.
    public func validate() throws {
        do { try CommandLineLogging.configure(flag: level) } catch { throw ValidationError("\(error)") }
    }
}

/// A level by name, in any case; anything else fails while the flags are parsed, listing the levels.
extension Logger.Level: @retroactive ExpressibleByArgument {
    public init?(argument: String) {
        guard let level = CommandLineLogging.level(named: argument) else { return nil }
        self = level
    }
}
