import Foundation
import Testing
@testable import CLTrain

/// Bad device choices, as a hostile user types them: a malformed, unknown or repeated
/// `CLTRAIN_DEVICES` fails every command before it does anything, and a bad `--device` fails with
/// the flag and the entry; a device hidden by `CLTRAIN_DEVICES` cannot be used by any flag.
@Suite("cltrain refuses bad devices")
struct CLIBadInputDevicesTests {
    /// The tiny run every train row uses (it never gets far).
    static let tinyTrain = ["train", "--data", "synthetic", "--vocab", "16", "--hidden", "8", "--layers", "1", "--batch", "4",
                            "--bptt", "5", "--steps-per-epoch", "2", "--sample-length", "0"]
    /// One command line per command; each must refuse a bad CLTRAIN_DEVICES before reading its files.
    static let commands: [[String]] = [
        tinyTrain,
        ["sample", "--checkpoint", "no-such-checkpoint", "--length", "5"],
        ["eval", "--checkpoint", "no-such-checkpoint", "--data", "synthetic"],
        ["plan", "--vocab", "16", "--layers", "1", "--hidden", "8"],
        ["plan", "--vocab", "16", "--simulate-devices", "2", "--costs", "h100"],   // touches no device
        ["verify", "--filter", "no-such-case"],
        ["devices"],
    ]
    /// Malformed, unknown (99) and repeated values, with the entry the message must name.
    static let badValues: [(value: String, entry: String)] = [
        ("abc", "abc"), ("1,,2", "entry 2"), ("-1", "-1"), ("99999999999999999999", "99999999999999999999"),
        ("0,0", "'0' is listed twice"), ("cpu,cpu", "'cpu' is listed twice"), ("99", "99"), ("0,", "entry 2"),
    ]

    static let badEnvironment: [BadInput] = commands.flatMap { command in
        badValues.map { BadInput(command, environment: ["CLTRAIN_DEVICES": $0.value], mentions: ["CLTRAIN_DEVICES", $0.entry]) }
    }

    @Test("a bad CLTRAIN_DEVICES fails every command", arguments: badEnvironment)
    func badEnvironmentValue(_ input: BadInput) throws { try expectRefused(input) }

    /// Bad `--device` values that fail while the flags are parsed, for every command that takes one.
    static let unparsableDevices: [(flag: [String], entry: String)] = [
        (["--device", "abc"], "abc"), (["--device", "1,,2"], "entry 2"), (["--device=-1"], "-1"), (["--device", ""], "empty"),
        (["--device="], "missing value"), (["--device", "99999999999999999999"], "99999999999999999999"),
        (["--device", "0,0"], "'0' is listed twice"), (["--device", "cpu,CPU"], "'cpu' is listed twice"), (["--device", "gpu"], "gpu"),
    ]

    static let deviceCommands: [[String]] = [
        tinyTrain,
        ["sample", "--checkpoint", "no-such-checkpoint"],
        ["eval", "--checkpoint", "no-such-checkpoint", "--data", "synthetic"],
        ["plan", "--vocab", "16"],
        ["verify"],
    ]

    static let badDeviceFlags: [BadInput] = deviceCommands.flatMap { command in
        unparsableDevices.map { BadInput(command + $0.flag, mentions: ["--device", $0.entry]) }
    } + [
        BadInput(tinyTrain + ["--layer-devices", "0,x"], mentions: ["--layer-devices", "'x'"]),
        BadInput(tinyTrain + ["--layer-devices", "cpu", "--softmax-devices", "cpu,,cpu"], mentions: ["--softmax-devices", "entry 2"]),
        BadInput(["plan", "--vocab", "16", "--layers", "1", "--layer-devices", "0,,1"], mentions: ["--layer-devices", "entry 2"]),
        // Several devices where one runs the model.
        BadInput(tinyTrain + ["--device", "cpu,0"], mentions: ["--device", "one device runs the whole model"]),
    ]

    @Test("a --device that cannot be parsed", arguments: badDeviceFlags)
    func badDeviceFlag(_ input: BadInput) throws { try expectRefused(input) }

    /// An index past the devices there are: the error lists the devices (with two PoCL devices,
    /// or none at all).
    @Test func aDeviceThatDoesNotExistListsTheDevicesThereAre() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let checkpoint = try trainTinyCheckpoint(in: scratch)
        let missing = "\(DeviceRegistry.shared.openCLDevices.count + 5)"
        let rows: [[String]] = [
            Self.tinyTrain + ["--device", missing],
            Self.tinyTrain + ["--placement", "auto", "--device", "cpu,\(missing)"],
            Self.tinyTrain + ["--layer-devices", missing],
            ["sample", "--checkpoint", checkpoint, "--length", "5", "--device", missing],
            ["eval", "--checkpoint", checkpoint, "--data", "synthetic", "--device", missing],
            ["plan", "--vocab", "16", "--device", missing],
            ["plan", "--vocab", "16", "--layers", "1", "--layer-devices", missing],
            ["verify", "--device", missing],
        ]
        for arguments in rows {
            let result = try CLI.run(arguments)
            expectCleanFailure(result, mentioning: ["OpenCL device \(missing) does not exist", "cpu"]
                               + DeviceRegistry.shared.openCLDevices.map { "\($0.index) (\($0.name))" })
        }
    }

    @Test(.enabled(if: !DeviceRegistry.shared.openCLDevices.isEmpty, "needs an OpenCL device to hide"))
    func aHiddenDeviceCannotBeUsedByAnyFlag() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let checkpoint = try trainTinyCheckpoint(in: scratch)
        let rows: [[String]] = [
            Self.tinyTrain + ["--device", "0"],
            Self.tinyTrain + ["--layer-devices", "0"],
            Self.tinyTrain + ["--placement", "auto", "--device", "0"],
            ["sample", "--checkpoint", checkpoint, "--length", "5", "--device", "0"],
            ["eval", "--checkpoint", checkpoint, "--data", "synthetic", "--device", "0"],
            ["plan", "--vocab", "16", "--device", "0,cpu"],
            ["verify", "--device", "0"],
        ]
        for hiding in ["cpu", ""] {
            for arguments in rows {
                let result = try CLI.run(arguments, environment: ["CLTRAIN_DEVICES": hiding])
                expectCleanFailure(result, mentioning: ["OpenCL device 0", "hidden by CLTRAIN_DEVICES='\(hiding)'"])
            }
        }
    }

    @Test func CLTRAIN_DEVICESKeepsEveryCommandOffTheDevicesItHides() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        for hiding in ["cpu", ""] {
            // train --device auto (the default) runs on the CPU backend.
            let train = try CLI.run(Self.tinyTrain + ["--checkpoint", scratch.path("run-\(hiding)")],
                                    environment: ["CLTRAIN_DEVICES": hiding])
            #expect(train.status == 0 && !train.crashed, "\(train)")
            #expect(train.output.contains("device: cpu"), "\(train)")
            let devices = try CLI.run(["devices"], environment: ["CLTRAIN_DEVICES": hiding])
            #expect(devices.status == 0, "\(devices)")
            let rows = devices.standardOutput.split(separator: "\n").filter { $0.contains("opencl") }
            #expect(rows.count == DeviceRegistry.shared.openCLDevices.count && rows.allSatisfy { $0.trimmingCharacters(in: .whitespaces).hasSuffix("hidden") }, "\(devices)")
            #expect(devices.standardOutput.contains("CLTRAIN_DEVICES='\(hiding)'"), "\(devices)")
            let verify = try CLI.run(["verify"], environment: ["CLTRAIN_DEVICES": hiding])
            #expect(verify.status == 0 && verify.standardOutput.contains("No OpenCL device to verify"), "\(verify)")
        }
    }

    /// `cltrain-bench` and `cltrain-bench tune` read CLTRAIN_DEVICES the same way.
    @Test func theBenchmarksRefuseABadCLTRAIN_DEVICESToo() throws {
        guard let bench = CLI.executable?.deletingLastPathComponent().appendingPathComponent("cltrain-bench"),
              FileManager.default.isExecutableFile(atPath: bench.path) else {
            print("cltrain-bench was not built beside cltrain: its CLTRAIN_DEVICES rows skipped")
            return
        }
        for arguments in [["--list"], ["tune", "--quick"], ["--device", "cpu", "--list"]] {
            for (value, entry) in [("abc", "abc"), ("0,0", "'0' is listed twice"), ("99", "99")] {
                let result = try run(bench, arguments, environment: ["CLTRAIN_DEVICES": value])
                expectCleanFailure(result, mentioning: ["CLTRAIN_DEVICES", entry])
            }
        }
        let tune = try run(bench, ["tune", "--quick"], environment: ["CLTRAIN_DEVICES": "cpu"])
        expectCleanFailure(tune, mentioning: ["no OpenCL device selected"])
    }

    /// `cltrain-bench --device` and `tune --device` are the typed list `cltrain` parses
    /// (`DeviceList`, CLTrainCommandLine): a bad one is a usage error (64) while the flags are
    /// parsed, naming the flag and the entry, before any device is looked at.
    @Test func theBenchmarksRefuseABadDeviceListAtParseTime() throws {
        guard let bench = CLI.executable?.deletingLastPathComponent().appendingPathComponent("cltrain-bench"),
              FileManager.default.isExecutableFile(atPath: bench.path) else {
            print("cltrain-bench was not built beside cltrain: its --device rows skipped")
            return
        }
        for command in [["--list"], ["tune", "--quick"]] {
            for (value, entry) in [("1,,2", "entry 2"), ("x", "'x'"), ("0,0", "'0' is listed twice")] {
                let result = try run(bench, command + ["--device", value], environment: [:])
                expectCleanFailure(result, mentioning: ["--device", entry])
                #expect(result.status == 64, "\(result)")
            }
        }
        let listed = try run(bench, ["--list", "--quick", "--device", "cpu"], environment: [:])
        #expect(listed.status == 0, "\(listed)")
    }

    /// Every device list flag fails while the flags are parsed (a usage error, exit 64, before any
    /// device is touched), naming the flag and the entry; `plan`'s layer and shard lists too.
    static let listsFailingAtParseTime: [BadInput] = [
        BadInput(tinyTrain + ["--layer-devices", "0,x"], mentions: ["--layer-devices", "'x'"]),
        BadInput(tinyTrain + ["--layer-devices", "cpu", "--softmax-devices", "1,-2"], mentions: ["--softmax-devices", "'-2'"]),
        BadInput(["plan", "--vocab", "16", "--layers", "1", "--layer-devices", "0,,1"], mentions: ["--layer-devices", "entry 2"]),
        BadInput(["plan", "--vocab", "16", "--layers", "1", "--layer-devices", "cpu", "--softmax-devices", "gpu"],
                 mentions: ["--softmax-devices", "'gpu'"]),
        BadInput(["plan", "--vocab", "16", "--device", "cpu,cpu"], mentions: ["--device", "'cpu' is listed twice"]),
        BadInput(["verify", "--device", "1,,2"], mentions: ["--device", "entry 2"]),
        BadInput(["sample", "--checkpoint", "no-such-checkpoint", "--device", "x"], mentions: ["--device", "'x'"]),
    ]

    @Test("a device list fails at parse time", arguments: listsFailingAtParseTime)
    func deviceListFailsAtParseTime(_ input: BadInput) throws {
        let result = try CLI.run(input.arguments, environment: input.environment)
        expectCleanFailure(result, mentioning: input.mentions)
        #expect(result.status == 64 && result.standardError.contains("Usage:"), "not refused as a usage error: \(result)")
    }

    // MARK: Helpers

    /// A checkpoint of the tiny model, trained on the CPU backend.
    func trainTinyCheckpoint(in scratch: ScratchFolder) throws -> String {
        let folder = scratch.path("checkpoint")
        let result = try CLI.run(Self.tinyTrain + ["--device", "cpu", "--checkpoint", folder])
        try #require(result.status == 0, "the tiny checkpoint could not be trained: \(result)")
        return folder
    }

    /// Runs another executable of the package as `CLI.run` runs `cltrain` (short runs only).
    func run(_ executable: URL, _ arguments: [String], environment: [String: String]) throws -> CLIResult {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let outURL = scratch.url.appendingPathComponent("stdout"), errURL = scratch.url.appendingPathComponent("stderr")
        try Data().write(to: outURL)
        try Data().write(to: errURL)
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        defer { try? out.close(); try? err.close() }
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(["SWIFT_BACKTRACE": "enable=no"]) { $1 }
            .merging(environment) { $1 }
        process.currentDirectoryURL = scratch.url
        process.standardOutput = out
        process.standardError = err
        try process.run()
        process.waitUntilExit()
        return CLIResult(arguments: arguments, status: process.terminationStatus,
                         signalled: process.terminationReason == .uncaughtSignal, timedOut: false,
                         standardOutput: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
                         standardError: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
    }
}
