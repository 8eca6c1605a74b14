import Foundation
import Testing
@testable import CLTrain

/// `cltrain train --task translate` and `cltrain eval` through the built executable, on parallel
/// files the test writes (a synthetic reversal task; de-en only in the one test that says so).
@Suite("cltrain train --task translate")
struct CLITranslationTests {
    /// Writes `src.txt` and `tgt.txt`: 200 pairs "a c b" → "B C A" (seeded).
    static func writePairs(in scratch: ScratchFolder, count: Int = 200) throws -> (source: String, target: String) {
        var state: UInt64 = 7
        func next() -> Int { state = state &* 6364136223846793005 &+ 1442695040888963407; return Int(state >> 33) }
        let words = ["a", "b", "c", "d", "e", "f", "g", "h"]
        var sources: [String] = [], targets: [String] = []
        for _ in 0..<count {
            let sentence = (0..<(2 + next() % 5)).map { _ in words[next() % words.count] }
            sources.append(sentence.joined(separator: " "))
            targets.append(sentence.reversed().map { $0.uppercased() }.joined(separator: " "))
        }
        try (sources.joined(separator: "\n") + "\n").write(toFile: scratch.path("src.txt"), atomically: true, encoding: .utf8)
        try (targets.joined(separator: "\n") + "\n").write(toFile: scratch.path("tgt.txt"), atomically: true, encoding: .utf8)
        return (scratch.path("src.txt"), scratch.path("tgt.txt"))
    }

    static let small = ["--layers", "1", "--hidden", "16", "--batch", "8", "--device", "cpu", "--optimizer", "adam", "--lr", "0.02",
                        "--dropout", "0.1", "--log-every", "1"]

    static func train(_ files: (source: String, target: String), _ flags: [String]) throws -> CLIResult {
        try CLI.run(["train", "--task", "translate", "--source", files.source, "--target", files.target] + small + flags)
    }

    struct Record: Decodable { let type: String; let step: Int; let loss: Double; let perplexity: Double? }

    static func records(_ path: String) throws -> [Record] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map { try JSONDecoder().decode(Record.self, from: Data($0.utf8)) }
    }

    /// The tensors' bytes of a model file (the header holds the run's identity, which differs).
    static func tensorBytes(_ path: String) throws -> Data {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let header = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        return data.dropFirst(8 + header)
    }

    @Test func lossFallsAndEvalScoresTheCheckpoint() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let files = try Self.writePairs(in: scratch)
        let result = try Self.train(files, ["--epochs", "3", "--checkpoint", scratch.path("ck"), "--metrics", scratch.path("m.jsonl")])
        try #require(result.status == 0 && !result.crashed, "\(result)")
        #expect(result.standardError.contains("words/s"), "\(result)")
        let records = try Self.records(scratch.path("m.jsonl"))
        let steps = records.filter { $0.type == "step" }.map(\.loss), validations = records.filter { $0.type == "validation" }
        try #require(steps.count >= 10 && validations.count == 3, "\(records.count) records")
        #expect(steps.suffix(5).reduce(0, +) < steps.prefix(5).reduce(0, +), "training loss falls: \(steps)")
        #expect(validations[2].loss < validations[0].loss, "validation loss falls")

        let json = scratch.path("eval.json")
        let eval = try CLI.run(["eval", "--checkpoint", scratch.path("ck"), "--source", files.source, "--target", files.target,
                                "--device", "cpu", "--json", json])
        try #require(eval.status == 0 && !eval.crashed, "\(eval)")
        let scored = try JSONDecoder().decode(CLIEvalTests.Scored.self, from: Data(contentsOf: URL(fileURLWithPath: json)))
        #expect(scored.split == "test" && scored.tokens > 0 && scored.loss.isFinite && scored.perplexity == exp(scored.loss))
        #expect(eval.standardOutput.contains("perplexity \(scored.perplexity)"), "\(eval)")
    }

    /// 1.5 epochs, then --resume to 2 (from the middle of the second epoch's batch order), equals
    /// 2 epochs at once: every step's loss, and the weights.
    @Test func resumeEqualsAnUninterruptedRun() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let files = try Self.writePairs(in: scratch, count: 100)
        let whole = try Self.train(files, ["--epochs", "2", "--checkpoint", scratch.path("a"), "--metrics", scratch.path("a.jsonl")])
        try #require(whole.status == 0, "\(whole)")
        let part = try Self.train(files, ["--epochs", "1.5", "--checkpoint", scratch.path("b"), "--metrics", scratch.path("b.jsonl")])
        try #require(part.status == 0, "\(part)")
        let rest = try Self.train(files, ["--epochs", "2", "--checkpoint", scratch.path("b"), "--metrics", scratch.path("b.jsonl"), "--resume"])
        try #require(rest.status == 0, "\(rest)")
        let a = try Self.records(scratch.path("a.jsonl")).filter { $0.type == "step" }
        let b = try Self.records(scratch.path("b.jsonl")).filter { $0.type == "step" }
        #expect(a.map(\.step) == b.map(\.step))
        #expect(a.map(\.loss) == b.map(\.loss))
        #expect(try Self.tensorBytes(scratch.path("a/model.safetensors")) == Self.tensorBytes(scratch.path("b/model.safetensors")))
    }

    /// Two devices (OpenCL ones when there are two, else two CPU backends), the layers and the
    /// softmax split over both, pipelined in runs of 2 steps and 2 micro-batches: every step's loss
    /// is one device's, the utilization names the workers, and the checkpoint scores on one device.
    @Test func aPipelinedRunOverTwoDevicesTrainsAsOneDeviceAndItsCheckpointLoads() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let files = try Self.writePairs(in: scratch, count: 80)
        let devices = DeviceRegistry.shared.openCLDevices.count >= 2 ? "0,1" : "cpu,cpu"
        let common = ["train", "--task", "translate", "--source", files.source, "--target", files.target, "--layers", "2", "--hidden", "8",
                      "--batch", "8", "--optimizer", "adam", "--lr", "0.02", "--dropout", "0.1", "--log-every", "1", "--epochs", "1"]
        let one = try CLI.run(common + ["--device", "cpu", "--metrics", scratch.path("one.jsonl")])
        try #require(one.status == 0 && !one.crashed, "\(one)")
        let piped = try CLI.run(common + ["--layer-devices", devices, "--softmax-devices", devices, "--pipeline", "--steps-per-run", "2",
                                          "--micro-batches", "2", "--checkpoint", scratch.path("ck"), "--metrics", scratch.path("piped.jsonl")])
        try #require(piped.status == 0 && !piped.crashed, "\(piped)")
        #expect(piped.standardOutput.contains("--- pipeline:") && piped.standardOutput.contains("encoder and decoder layer 1"), "\(piped)")
        let a = try Self.records(scratch.path("piped.jsonl")).filter { $0.type == "step" }
        let b = try Self.records(scratch.path("one.jsonl")).filter { $0.type == "step" }
        #expect(a.count >= 5 && a.map(\.step) == b.map(\.step), "\(a.count) and \(b.count) steps")
        // The longest sum behind a weight gradient: T·B rows × 4H (T ≤ 7 with <eos>).
        #expect(compare(a.map { Float($0.loss) }, to: b.map { Float($0.loss) }, reductionLength: 7 * 8 * 4 * 8).passed,
                "\(a.map(\.loss)) vs \(b.map(\.loss))")

        let eval = try CLI.run(["eval", "--checkpoint", scratch.path("ck"), "--source", files.source, "--target", files.target,
                                "--device", "cpu"])
        try #require(eval.status == 0 && !eval.crashed, "\(eval)")
        #expect(eval.standardOutput.contains("perplexity"), "\(eval)")
    }

    @Test func presetFillsThePapersValuesAndFlagsOverrideThem() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let files = try Self.writePairs(in: scratch, count: 60)
        let result = try CLI.run(["train", "--preset", "sutskever-2014-translate", "--source", files.source, "--target", files.target,
                                  "--layers", "1", "--hidden", "8", "--embedding", "6", "--batch", "4", "--epochs", "0.5",
                                  "--source-vocab", "9", "--device", "cpu"])
        try #require(result.status == 0, "\(result)")
        // Overridden: L, H, E, batch, epochs, source V; the preset's: lr and its halving, clip, ±0.08, target V (a cap above the data's 12).
        #expect(result.standardError.contains("source V 9, target V 12, E 6, H 8, L 1 + 1"), "\(result)")
        #expect(result.standardError.contains("training: batch 4, sgd lr 0.7 ÷2.0 every 0.5 epochs after 5.0, clip 5.0, init ±0.08, epochs 0.5 (preset sutskever-2014-translate"), "\(result)")
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/usr/share/trans/de-en"), "trans-de-en is not installed (/usr/share/trans/de-en)"))
    func germanEnglishLoads() throws {
        let result = try CLI.run(["train", "--task", "translate", "--data", "de-en", "--direction", "en-de", "--layers", "1", "--hidden", "8",
                                  "--source-vocab", "200", "--target-vocab", "200", "--batch", "32", "--steps-per-epoch", "2",
                                  "--validation-steps", "1", "--device", "cpu"])
        try #require(result.status == 0, "\(result)")
        #expect(result.standardError.contains("data en-de:") && result.standardError.contains("vocabularies 200 → 200"), "\(result)")
    }
}

/// Bad input to `train --task translate` and a translation `eval`: a clean refusal naming the
/// problem, and no checkpoint folder made.
@Suite("cltrain train --task translate refuses bad input")
struct CLIBadInputTranslationTests {
    static let rows: [(flags: [String], mentions: [String])] = [
        (["--source", "nope.txt", "--target", "tgt.txt"], ["nope.txt"]),
        (["--source", "short.txt", "--target", "tgt.txt"], ["short.txt", "lines"]),
        (["--source", "empty.txt", "--target", "empty.txt"], ["empty.txt", "empty"]),
        (["--source", "src.txt"], ["--target"]),
        (["--source-vocab", "4"], ["--source-vocab 4", "special"]),
        (["--target-vocab", "99999999999999"], ["--target-vocab"]),
        (["--epochs", "0"], ["--epochs 0"]),
        (["--epochs", "nan"], ["--epochs"]),
        (["--batch", "0"], ["--batch 0"]),
        (["--lr", "-1"], ["--lr -1"]),
        (["--clip", "-1"], ["--clip"]),
        (["--init-scale", "2"], ["--init-scale 2"]),
        (["--dropout", "1"], ["--dropout"]),
        (["--layers", "0"], ["--layers 0"]),
        (["--bptt", "5"], ["--bptt", "translate"]),
        (["--vocab", "10"], ["--vocab", "--source-vocab"]),
        (["--pipeline"], ["--pipeline", "--layer-devices"]),
        (["--micro-batches", "2"], ["--micro-batches", "--pipeline"]),
        (["--layer-devices", "cpu,cpu", "--pipeline", "--micro-batches", "3", "--batch", "8"], ["batch of 8 sequences cannot be split into 3"]),
        (["--softmax-devices", "cpu"], ["--softmax-devices needs --layer-devices"]),
        (["--layer-devices", "cpu"], ["2 layers but 1 layer device", "--layer-devices"]),
        (["--placement", "auto"], ["--placement", "--layer-devices"]),
        (["--data", "ptb"], ["--data ptb"]),
        (["--direction", "en-de"], ["--direction"]),
        (["--preset", "zaremba-small"], ["zaremba-small", "sutskever-2014-translate"]),
        (["--validation-source", "src.txt"], ["--validation-target"]),
    ]

    static func folder() throws -> ScratchFolder {
        let scratch = try ScratchFolder()
        _ = try CLITranslationTests.writePairs(in: scratch, count: 40)
        try "a b\nc d\n".write(toFile: scratch.path("short.txt"), atomically: true, encoding: .utf8)
        FileManager.default.createFile(atPath: scratch.path("empty.txt"), contents: Data())
        return scratch
    }

    @Test(arguments: rows.indices)
    func refused(_ row: Int) throws {
        let scratch = try Self.folder()
        defer { scratch.cleanup() }
        let (flags, mentions) = Self.rows[row]
        let files = flags.contains("--source") ? [] : ["--source", "src.txt", "--target", "tgt.txt"]
        let result = try CLI.run(["train", "--task", "translate"] + files + flags + ["--hidden", "8", "--checkpoint", "ck", "--device", "cpu"],
                                 in: scratch.url)
        expectCleanFailure(result, mentioning: mentions)
        #expect(!FileManager.default.fileExists(atPath: scratch.path("ck")), "a refused run made its checkpoint folder: \(result)")
    }

    @Test func translationFlagsAreRefusedForALanguageModel() throws {
        let scratch = try Self.folder()
        defer { scratch.cleanup() }
        for flags in [["--source", "src.txt", "--target", "tgt.txt"], ["--no-reverse-source"], ["--epochs", "1.5"],
                      ["--task", "language-model", "--preset", "sutskever-2014-translate"]] {
            let result = try CLI.run(["train", "--data", "synthetic", "--vocab", "5"] + flags, in: scratch.url)
            expectCleanFailure(result, mentioning: [flags.contains("--preset") ? "--task translate" : flags[0]])
        }
    }

    /// A language model's checkpoint is refused by a translation run and the other way round,
    /// each naming which it holds; a corrupt translation checkpoint is refused by eval.
    @Test func otherKindsOfCheckpointAndCorruptOnesAreRefused() throws {
        let scratch = try Self.folder()
        defer { scratch.cleanup() }
        let lm = try CLI.run(["train", "--data", "synthetic", "--vocab", "6", "--hidden", "8", "--layers", "1", "--batch", "2", "--bptt", "4",
                              "--steps-per-epoch", "2", "--sample-length", "0", "--checkpoint", "lm", "--device", "cpu"], in: scratch.url)
        try #require(lm.status == 0, "\(lm)")
        let translate = ["train", "--task", "translate", "--source", "src.txt", "--target", "tgt.txt", "--hidden", "8", "--layers", "1",
                         "--steps-per-epoch", "2", "--device", "cpu"]
        expectCleanFailure(try CLI.run(translate + ["--checkpoint", "lm", "--resume"], in: scratch.url), mentioning: ["language model"])
        let made = try CLI.run(translate + ["--checkpoint", "tr"], in: scratch.url)
        try #require(made.status == 0, "\(made)")
        expectCleanFailure(try CLI.run(["train", "--data", "synthetic", "--vocab", "6", "--hidden", "8", "--layers", "1", "--batch", "2",
                                        "--bptt", "4", "--steps-per-epoch", "2", "--checkpoint", "tr", "--resume", "--device", "cpu"], in: scratch.url),
                           mentioning: ["translation"])
        expectCleanFailure(try CLI.run(translate + ["--checkpoint", "tr", "--resume", "--batch", "4"], in: scratch.url), mentioning: ["--batch 64, not 4"])
        // Cut off: eval refuses it, naming the file.
        let model = scratch.path("tr/model.safetensors")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: model))
        try bytes.prefix(bytes.count - 100).write(to: URL(fileURLWithPath: model))
        expectCleanFailure(try CLI.run(["eval", "--checkpoint", "tr", "--source", "src.txt", "--target", "tgt.txt", "--device", "cpu"], in: scratch.url),
                           mentioning: ["model.safetensors"])
    }
}
