import Foundation
import Testing

/// What one run of the built `cltrain` executable did.
struct CLIResult: CustomStringConvertible {
    let arguments: [String]
    /// The exit status, or the signal number when `signalled`.
    let status: Int32
    /// Killed by a signal (a Swift trap is SIGILL or SIGTRAP, an abort SIGABRT).
    let signalled: Bool
    let timedOut: Bool
    let standardOutput: String
    let standardError: String

    var output: String { standardOutput + standardError }

    /// A trap or abort, however it shows: a signal, a shell's 128 + signal, or Swift's own message.
    var crashed: Bool {
        signalled || [132, 133, 134, 136, 139].contains(status)
            || output.contains("Fatal error") || output.contains("Program crashed")
            || output.contains("Illegal instruction") || output.contains("Segmentation fault")
    }

    var description: String {
        let how = timedOut ? "timed out" : signalled ? "killed by signal \(status)" : "exit \(status)"
        return "cltrain \(arguments.joined(separator: " ")): \(how)\n--- stderr ---\n\(standardError.suffix(2000))\n--- stdout ---\n\(standardOutput.suffix(1000))"
    }
}

/// Runs the `cltrain` executable built beside the test bundle (SwiftPM builds it with the tests),
/// as a user would: a subprocess with its own environment, arguments and working folder.
enum CLI {
    /// `CLTRAIN_EXECUTABLE` if set, else `cltrain` in the folder of the running test bundle.
    static let executable: URL? = {
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["CLTRAIN_EXECUTABLE"] { return URL(fileURLWithPath: path) }
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var folder = bundle.deletingLastPathComponent()
        // XCTest on Linux runs `.../CLTrainPackageTests.xctest`; other runners may pass a path inside it.
        for _ in 0..<3 {
            let candidate = folder.appendingPathComponent("cltrain")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            folder = folder.deletingLastPathComponent()
        }
        return nil
    }()

    /// A release build of `cltrain`, for the tests that train to a goal (a debug build's CPU backend
    /// runs them two orders of magnitude slower): `CLTRAIN_RELEASE_EXECUTABLE`, which
    /// scripts/test.sh sets after building it (`swift build -c release --product cltrain`), so it is
    /// never older than the sources. Nil when unset: those tests skip and say so.
    static let releaseExecutable: URL? = ProcessInfo.processInfo.environment["CLTRAIN_RELEASE_EXECUTABLE"]
        .map { URL(fileURLWithPath: $0) }

    /// Runs `cltrain arguments…` with `environment` added to this process's, in `directory`
    /// (default: a fresh temporary folder), feeding `input` on standard input. Kills it after
    /// `timeout` seconds, which the result reports. `launcher` turns the executable's path into the
    /// start of the command line, for a job started by another program (`mpirun … cltrain`).
    /// `executable` runs another build of it (`releaseExecutable`) instead of the one beside the tests.
    static func run(_ arguments: [String], environment: [String: String] = [:], in directory: URL? = nil,
                    input: Data? = nil, timeout: TimeInterval = 180, executable chosen: URL? = nil,
                    launcher: (_ cltrain: String) -> [String] = { [$0] }) throws -> CLIResult {
        guard let executable = chosen ?? executable else {
            throw CLIRunnerError("the cltrain executable was not found beside the test bundle (\(CommandLine.arguments[0])); build it with `swift build` or set CLTRAIN_EXECUTABLE")
        }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("cltrain-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        // Files, not pipes: a chatty child can never block on a full pipe while we wait for it.
        let outURL = scratch.appendingPathComponent("stdout"), errURL = scratch.appendingPathComponent("stderr")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        defer { try? out.close(); try? err.close() }

        let process = Process()
        let command = launcher(executable.path) + arguments
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        // No backtracer: a crash is seen from the signal, and symbolicating one takes seconds.
        process.environment = ProcessInfo.processInfo.environment
            .merging(["SWIFT_BACKTRACE": "enable=no"]) { $1 }.merging(environment) { $1 }
        process.currentDirectoryURL = directory ?? scratch
        process.standardOutput = out
        process.standardError = err
        let stdin = Pipe()
        process.standardInput = stdin
        try process.run()
        if let input { try? stdin.fileHandleForWriting.write(contentsOf: input) }
        try? stdin.fileHandleForWriting.close()

        let deadline = Date().addingTimeInterval(timeout)
        var timedOut = false
        while process.isRunning {
            if Date() > deadline {
                timedOut = true
                process.terminate()
                usleep(200_000)
                if process.isRunning { kill(process.processIdentifier, SIGKILL) }
                break
            }
            usleep(10_000)
        }
        process.waitUntilExit()
        return CLIResult(arguments: arguments, status: process.terminationStatus,
                         signalled: process.terminationReason == .uncaughtSignal, timedOut: timedOut,
                         standardOutput: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
                         standardError: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
    }
}

struct CLIRunnerError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// One bad input and what its error must say: every string in `mentions` appears in the output
/// (case-insensitively), so the message names the problem.
struct BadInput: CustomTestStringConvertible, Sendable {
    let arguments: [String]
    var environment: [String: String] = [:]
    let mentions: [String]

    init(_ arguments: [String], environment: [String: String] = [:], mentions: [String]) {
        self.arguments = arguments
        self.environment = environment
        self.mentions = mentions
    }

    var testDescription: String {
        let env = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value) " }.joined()
        return env + arguments.joined(separator: " ")
    }
}

/// Expects `result` to be a clean refusal: a non-zero exit without a trap, abort or time-out, and
/// an error message that names each of `mentions`.
func expectCleanFailure(_ result: CLIResult, mentioning mentions: [String],
                        sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(!result.crashed, "crashed instead of refusing: \(result)", sourceLocation: sourceLocation)
    #expect(!result.timedOut, "hung instead of refusing: \(result)", sourceLocation: sourceLocation)
    #expect(!result.signalled && result.status != 0, "accepted a bad input: \(result)", sourceLocation: sourceLocation)
    let text = result.output.lowercased()
    for mention in mentions where !text.contains(mention.lowercased()) {
        Issue.record("the error does not mention '\(mention)': \(result)", sourceLocation: sourceLocation)
    }
}

/// Runs each bad input through `cltrain` and expects a clean refusal naming the problem.
func expectRefused(_ input: BadInput, in directory: URL? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let result = try CLI.run(input.arguments, environment: input.environment, in: directory)
    expectCleanFailure(result, mentioning: input.mentions, sourceLocation: sourceLocation)
}

/// A fresh temporary folder for one test, removed by `cleanup()`.
struct ScratchFolder {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("cltrain-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    func cleanup() { try? FileManager.default.removeItem(at: url) }
}
