import Foundation
import Testing

/// Bad numbers and files, through the built `cltrain` (issue 10, classes 1, 2, 10 and 12): every
/// row must be a clean refusal whose message names the flag (or the problem) and its range. Each
/// run is tiny (a 400-line text, --hidden 8, two steps) or is refused before training starts.
///
/// Rows write `$TEXT` (a small word-level text), `$FIFO` (a named pipe) and `$SHORT` (a 5-line
/// file); `NumbersFixture` makes them once per test process.
@Suite("cltrain refuses bad numbers")
struct CLIBadNumberTests {
    /// A small run on `$TEXT`, so that a row refused late (after reading the data) is still quick.
    static let run = ["--data", "$TEXT", "--hidden", "8", "--layers", "1", "--batch", "2", "--bptt", "5",
                      "--steps-per-epoch", "2", "--sample-length", "0"]
    static func train(_ extra: String...) -> [String] { ["train"] + run + extra }
    static func synthetic(_ extra: String...) -> [String] {
        ["train", "--data", "synthetic", "--hidden", "8", "--layers", "1", "--sample-length", "0"] + extra
    }
    /// Plans that need no calibration: the H100 preset on simulated devices.
    static func plan(_ extra: String...) -> [String] {
        ["plan", "--vocab", "100", "--hidden", "64", "--simulate-devices", "2", "--costs", "h100"] + extra
    }

    static let trainFlags: [BadInput] = [
        // Class 1: numbers that trapped.
        BadInput(train("--layers=-1"), mentions: ["--layers -1", "1..."]),
        BadInput(train("--layers", "-1"), mentions: ["--layers -1"]),
        BadInput(train("--layers", "0"), mentions: ["--layers 0"]),
        BadInput(train("--batch", "9223372036854775807"), mentions: ["--batch 9223372036854775807", "32-bit"]),
        BadInput(train("--batch", "-9223372036854775808"), mentions: ["--batch"]),
        BadInput(train("--bptt", "9223372036854775807"), mentions: ["--bptt"]),
        BadInput(train("--batch", "100000", "--bptt", "100000"), mentions: ["--batch × --bptt", "GEMM"]),
        BadInput(train("--hidden", "3000000000"), mentions: ["--hidden 3000000000"]),
        BadInput(train("--embedding", "0"), mentions: ["--embedding 0"]),
        BadInput(train("--epochs", "0"), mentions: ["--epochs 0"]),
        BadInput(train("--steps-per-epoch", "0"), mentions: ["--steps-per-epoch 0"]),
        BadInput(train("--checkpoint-every", "0"), mentions: ["--checkpoint-every 0"]),
        BadInput(train("--log-every", "0"), mentions: ["--log-every 0"]),
        BadInput(train("--validation-steps", "-1"), mentions: ["--validation-steps -1"]),
        BadInput(train("--steps-per-run", "0"), mentions: ["--steps-per-run 0"]),
        BadInput(train("--micro-batches", "0"), mentions: ["--micro-batches 0"]),
        BadInput(train("--sample-length", "-1"), mentions: ["--sample-length -1"]),
        BadInput(train("--sample-length", "100000000000"), mentions: ["--sample-length", "10000000"]),
        BadInput(train("--seed", "-1"), mentions: ["--seed"]),
        BadInput(train("--layers", "99999999999999999999"), mentions: ["--layers"]),
        // Class 2: sizes no device holds, refused with the estimate and the device's memory.
        BadInput(train("--hidden", "1000000000"), mentions: ["--hidden 1000000000", "needs", "has"]),
        BadInput(train("--layers", "1000000000"), mentions: ["--layers 1000000000", "needs", "parameters", "has"]),
        BadInput(train("--layers", "2", "--layer-devices", "cpu,cpu", "--hidden", "1000000000"),
                 mentions: ["--hidden 1000000000", "its part on one device", "needs", "has"]),
        BadInput(train("--embedding", "2000000000"), mentions: ["--embedding 2000000000", "needs", "has"]),
        BadInput(synthetic("--vocab", "2000000000", "--steps-per-epoch", "2"), mentions: ["vocabulary 2000000000", "needs", "has"]),
        BadInput(synthetic("--vocab", "4611686018427387904", "--steps-per-epoch", "2"), mentions: ["--vocab 4611686018427387904", "32-bit"]),
        BadInput(synthetic("--vocab", "10", "--steps-per-epoch", "9223372036854775807"), mentions: ["synthetic", "overflows"]),
        BadInput(synthetic("--vocab", "10", "--steps-per-epoch", "10000000000000"), mentions: ["synthetic", "tokens need", "has"]),
        BadInput(synthetic("--vocab", "10", "--batch", "2000000000", "--bptt", "1", "--steps-per-epoch", "2"),
                 mentions: ["--batch 2000000000", "needs", "has"]),
        // Class 10: values that were taken silently.
        BadInput(train("--vocab", "0"), mentions: ["--vocab 0", "2..."]),
        BadInput(train("--vocab", "1"), mentions: ["--vocab 1", "<unk>"]),
        BadInput(train("--level", "char", "--vocab", "1"), mentions: ["--vocab 1"]),
        BadInput(synthetic("--vocab", "1"), mentions: ["--vocab 1"]),
        BadInput(train("--lr-halve-every", "0"), mentions: ["--lr-halve-every 0", "(0, ∞)"]),
        BadInput(train("--lr-halve-every", "-1"), mentions: ["--lr-halve-every -1"]),
        BadInput(train("--lr-halve-every", "nan"), mentions: ["--lr-halve-every nan"]),
        BadInput(train("--lr-halve-every", "inf"), mentions: ["--lr-halve-every inf"]),
        BadInput(train("--lr-halve-after", "-1"), mentions: ["--lr-halve-after -1", "[0, ∞)"]),
        BadInput(train("--lr-halve-after", "nan"), mentions: ["--lr-halve-after nan"]),
        BadInput(train("--lr", "nan"), mentions: ["--lr nan", "(0, ∞)"]),
        BadInput(train("--lr", "inf"), mentions: ["--lr inf"]),
        BadInput(train("--lr", "1e39"), mentions: ["--lr inf"]),   // beyond Float: parses as inf
        BadInput(train("--lr", "0"), mentions: ["--lr 0"]),
        BadInput(train("--lr", "-0.5"), mentions: ["--lr -0.5"]),
        BadInput(train("--clip", "-1"), mentions: ["--clip -1", "[0, ∞)"]),
        BadInput(train("--clip", "nan"), mentions: ["--clip nan"]),
        BadInput(train("--init-scale", "1e30"), mentions: ["--init-scale", "(0, 1]"]),
        BadInput(train("--init-scale", "0"), mentions: ["--init-scale 0", "(0, 1]"]),
        BadInput(train("--lr-decay", "4611686018427387904"), mentions: ["--lr-decay", "[1, 1000]"]),
        BadInput(train("--lr-decay", "0.5"), mentions: ["--lr-decay 0.5", "[1, 1000]"]),
        BadInput(train("--dropout", "1"), mentions: ["--dropout 1", "[0, 1)"]),
        BadInput(train("--dropout", "-0.1"), mentions: ["--dropout -0.1"]),
        BadInput(train("--dropout", "nan"), mentions: ["--dropout nan"]),
        // Class 12: files that are not text files, and sizes named by the flag, not the split.
        BadInput(["train", "--data", "$FIFO", "--hidden", "8"], mentions: ["not a regular file or folder", "FIFO"]),
        BadInput(["train", "--data", "/dev/zero", "--hidden", "8"], mentions: ["not a regular file or folder", "character device"]),
        BadInput(["train", "--data", "/no/such/data.txt", "--hidden", "8"], mentions: ["/no/such/data.txt", "does not exist"]),
        BadInput(train("--batch", "0"), mentions: ["--batch 0", "1...2147483647"]),
        BadInput(train("--bptt", "-3"), mentions: ["--bptt -3"]),
        BadInput(train("--batch", "1000"), mentions: ["split", "too small", "--batch 1000"]),
    ]

    static let otherCommands: [BadInput] = [
        BadInput(plan("--link", "1e300"), mentions: ["--link 1e+300", "GB/s"]),
        BadInput(plan("--link", "0"), mentions: ["--link 0"]),
        BadInput(plan("--link", "-5"), mentions: ["--link -5"]),
        BadInput(plan("--link", "nan"), mentions: ["--link nan"]),
        BadInput(plan("--link", "inf"), mentions: ["--link inf"]),
        BadInput(plan("--link-latency", "-1"), mentions: ["--link-latency -1"]),
        BadInput(plan("--link-latency", "nan"), mentions: ["--link-latency nan"]),
        BadInput(plan("--hidden", "1099511627776"), mentions: ["--hidden 1099511627776"]),
        BadInput(plan("--vocab", "0"), mentions: ["--vocab 0"]),
        BadInput(plan("--batch", "0"), mentions: ["--batch 0"]),
        BadInput(plan("--bptt", "9223372036854775807"), mentions: ["--bptt 9223372036854775807"]),
        BadInput(plan("--layers", "1000000000"), mentions: ["--layers 1000000000"]),
        BadInput(plan("--calibration-budget", "-1"), mentions: ["--calibration-budget -1", "(0, 3600]"]),
        BadInput(plan("--calibration-budget", "nan"), mentions: ["--calibration-budget nan"]),
        BadInput(plan("--calibration-budget", "0"), mentions: ["--calibration-budget 0"]),
        BadInput(plan("--simulate-devices", "0"), mentions: ["--simulate-devices 0"]),
        BadInput(plan("--simulate-devices", "1000000000"), mentions: ["--simulate-devices 1000000000"]),
        BadInput(plan("--micro-batches", "0"), mentions: ["--micro-batches 0"]),
        BadInput(plan("--micro-batches", "3"), mentions: ["--micro-batches", "divisor"]),
        BadInput(["sample", "--checkpoint", "x", "--temperature", "-1"], mentions: ["--temperature -1", "[0, ∞)"]),
        BadInput(["sample", "--checkpoint", "x", "--temperature=-1"], mentions: ["--temperature -1"]),
        BadInput(["sample", "--checkpoint", "x", "--temperature", "nan"], mentions: ["--temperature nan"]),
        BadInput(["sample", "--checkpoint", "x", "--temperature", "inf"], mentions: ["--temperature inf"]),
        BadInput(["sample", "--checkpoint", "x", "--length", "-1"], mentions: ["--length -1"]),
        BadInput(["sample", "--checkpoint", "x", "--length", "100000000000"], mentions: ["--length 100000000000", "10000000"]),
        BadInput(["eval", "--checkpoint", "x", "--batch", "0"], mentions: ["--batch 0"]),
        BadInput(["eval", "--checkpoint", "x", "--bptt", "-1"], mentions: ["--bptt -1"]),
        BadInput(["eval", "--checkpoint", "x", "--split", "everything"], mentions: ["--split", "everything"]),
    ]

    @Test("train: numbers out of range, sizes no device holds, files that are not text", arguments: trainFlags)
    func trainRefuses(_ input: BadInput) throws {
        try expectRefused(NumbersFixture.shared().substitute(input))
    }

    @Test("plan, sample, eval: numbers out of range", arguments: otherCommands)
    func otherCommandsRefuse(_ input: BadInput) throws { try expectRefused(input) }

    /// These trapped (Int of 10²⁰ halvings); the rate now halves to 0 and the run completes.
    @Test("--lr-halve-after 0 --lr-halve-every 1e-20 runs without trapping")
    func tinyHalvingInterval() throws {
        let fixture = try NumbersFixture.shared()
        let result = try CLI.run(fixture.substitute(Self.train("--lr-halve-after", "0", "--lr-halve-every", "1e-20")))
        #expect(result.status == 0 && !result.crashed, "\(result)")
    }

    @Test("synthetic data is logged as word-level tokens")
    func syntheticIsWordLevel() throws {
        let result = try CLI.run(Self.synthetic("--vocab", "12", "--batch", "2", "--bptt", "3", "--steps-per-epoch", "2"))
        #expect(result.status == 0 && !result.crashed, "\(result)")
        #expect(result.standardError.contains("vocabulary 12 (word-level)"), "\(result)")
    }
}

/// The files the rows name: one folder per test process, made on first use.
final class NumbersFixture: @unchecked Sendable {
    let folder: ScratchFolder
    private static let lock = NSLock()
    nonisolated(unsafe) private static var made: NumbersFixture?

    static func shared() throws -> NumbersFixture {
        lock.lock()
        defer { lock.unlock() }
        if let made { return made }
        let fixture = try NumbersFixture()
        made = fixture
        return fixture
    }

    private init() throws {
        folder = try ScratchFolder()
        let words = ["the", "cat", "sat", "on", "a", "mat", "dog", "ran"]
        let lines = (0..<400).map { i in (0..<8).map { j in words[(i * 7 + j * j * 3 + i / 5) % words.count] }.joined(separator: " ") }
        try (lines.joined(separator: "\n") + "\n").write(toFile: folder.path("text.txt"), atomically: true, encoding: .utf8)
        try (lines.prefix(5).joined(separator: "\n") + "\n").write(toFile: folder.path("short.txt"), atomically: true, encoding: .utf8)
        guard mkfifo(folder.path("fifo"), 0o600) == 0 else { throw CLIRunnerError("mkfifo failed: errno \(errno)") }
    }

    var text: String { folder.path("text.txt") }
    var short: String { folder.path("short.txt") }
    var fifo: String { folder.path("fifo") }

    func substitute(_ arguments: [String]) -> [String] {
        arguments.map { ["$TEXT": text, "$FIFO": fifo, "$SHORT": short][$0] ?? $0 }
    }

    func substitute(_ input: BadInput) -> BadInput {
        BadInput(substitute(input.arguments), environment: input.environment, mentions: input.mentions)
    }
}
