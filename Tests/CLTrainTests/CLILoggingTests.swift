import Foundation
import Testing
@testable import CLTrain

/// `--log-level` and CLTRAIN_LOG_LEVEL: swift-log is bootstrapped by the executables, so a
/// `logger.debug` line (train's "checkpoint written") shows exactly when the level asks for it.
@Suite("cltrain --log-level")
struct CLILoggingTests {
    static let tinyTrain = CLIBadInputDevicesTests.tinyTrain

    func train(_ extra: [String], environment: [String: String] = [:]) throws -> CLIResult {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let result = try CLI.run(Self.tinyTrain + ["--checkpoint", scratch.path("run")] + extra, environment: environment)
        #expect(result.status == 0 && !result.crashed, "\(result)")
        return result
    }

    @Test func debugLinesShowOnlyAtDebugLevel() throws {
        #expect(try train(["--log-level", "debug"]).standardError.contains("debug cltrain.train: [cltrain] checkpoint written"))
        #expect(try train(["--log-level", "DEBUG"]).standardError.contains("checkpoint written"))
        #expect(try train([], environment: ["CLTRAIN_LOG_LEVEL": "debug"]).standardError.contains("checkpoint written"))
        let quiet = try train([])
        #expect(!quiet.standardError.contains("checkpoint written") && quiet.standardError.contains("info cltrain.train"), "\(quiet)")
        // The flag wins over the variable.
        #expect(!(try train(["--log-level", "info"], environment: ["CLTRAIN_LOG_LEVEL": "debug"])).standardError.contains("checkpoint written"))
        // Above info, train's info lines go too (the sample and tables are standard output).
        #expect(!(try train(["--log-level", "error"])).standardError.contains("info cltrain"))
    }

    static let badLevels: [BadInput] = [
        BadInput(tinyTrain + ["--log-level", "loud"], mentions: ["--log-level", "'loud'", "debug", "critical"]),
        BadInput(tinyTrain + ["--log-level="], mentions: ["--log-level"]),
        BadInput(["devices", "--log-level", "verbose"], mentions: ["--log-level", "'verbose'"]),
        BadInput(["plan", "--vocab", "16", "--log-level", "2"], mentions: ["--log-level", "'2'"]),
        BadInput(["devices"], environment: ["CLTRAIN_LOG_LEVEL": "loud"], mentions: ["CLTRAIN_LOG_LEVEL='loud'", "trace"]),
        BadInput(tinyTrain, environment: ["CLTRAIN_LOG_LEVEL": "warn"], mentions: ["CLTRAIN_LOG_LEVEL='warn'"]),
    ]

    /// Refused while the flags are parsed: a usage error (64), before the command does anything.
    @Test("a bad level is refused at parse time", arguments: badLevels)
    func badLevel(_ input: BadInput) throws {
        let result = try CLI.run(input.arguments, environment: input.environment)
        expectCleanFailure(result, mentioning: input.mentions)
        #expect(result.status == 64, "\(result)")
        #expect(!result.output.contains("device: "), "the command ran: \(result)")
    }

    /// `cltrain-bench` and its `tune` take the same option.
    @Test func theBenchmarksTakeTheLevelToo() throws {
        guard let bench = CLI.executable?.deletingLastPathComponent().appendingPathComponent("cltrain-bench"),
              FileManager.default.isExecutableFile(atPath: bench.path) else {
            print("cltrain-bench was not built beside cltrain: its --log-level rows skipped")
            return
        }
        let run = { (arguments: [String], environment: [String: String]) in
            try CLIBadInputDevicesTests().run(bench, arguments, environment: environment)
        }
        for arguments in [["--list", "--log-level", "loud"], ["tune", "--quick", "--log-level", "loud"]] {
            let result = try run(arguments, [:])
            expectCleanFailure(result, mentioning: ["--log-level", "'loud'"])
            #expect(result.status == 64, "\(result)")
        }
        let refusedVariable = try run(["--list"], ["CLTRAIN_LOG_LEVEL": "loud"])
        expectCleanFailure(refusedVariable, mentioning: ["CLTRAIN_LOG_LEVEL='loud'"])
        let listed = try run(["--list", "--quick", "--log-level", "trace"], [:])
        #expect(listed.status == 0 && listed.standardOutput.contains("gemm"), "\(listed)")
    }

    @Test func levelNamesAndTheVariable() throws {
        #expect(CommandLineLogging.level(named: " Warning ") == .warning)
        #expect(CommandLineLogging.level(named: "warn") == nil)
        #expect(try CommandLineLogging.environmentLevel([:]) == nil)
        #expect(try CommandLineLogging.environmentLevel(["CLTRAIN_LOG_LEVEL": ""]) == nil)
        #expect(try CommandLineLogging.environmentLevel(["CLTRAIN_LOG_LEVEL": "trace"]) == .trace)
        #expect(throws: CLTrainError.self) { try CommandLineLogging.environmentLevel(["CLTRAIN_LOG_LEVEL": "7"]) }
    }
}
