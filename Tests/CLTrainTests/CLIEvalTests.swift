import Foundation
import Testing

/// `cltrain eval --split … --json FILE` on a tiny model trained in the test, and `sample`'s
/// streamed output (seconds: --hidden 8, two steps).
@Suite("cltrain eval and sample")
struct CLIEvalTests {
    /// A checkpoint of a one-layer, 8-unit word-level model trained two steps on the fixture's text.
    static func trainedCheckpoint(in scratch: ScratchFolder, text: String) throws -> String {
        let checkpoint = scratch.path("checkpoint")
        let result = try CLI.run(["train", "--data", text, "--level", "word", "--hidden", "8", "--layers", "1",
                                  "--batch", "2", "--bptt", "5", "--steps-per-epoch", "2", "--sample-length", "0",
                                  "--checkpoint", checkpoint])
        try #require(result.status == 0 && !result.crashed, "\(result)")
        return checkpoint
    }

    struct Scored: Decodable { let loss: Double; let perplexity: Double; let tokens: Int; let split: String; let data: String }

    @Test func evalScoresEachSplitAndWritesJSON() throws {
        let fixture = try NumbersFixture.shared()
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let checkpoint = try Self.trainedCheckpoint(in: scratch, text: fixture.text)
        var tokens: [String: Int] = [:]
        for split in ["test", "validation", "train", "all"] {
            let json = scratch.path("\(split).json")
            let result = try CLI.run(["eval", "--checkpoint", checkpoint, "--data", fixture.text, "--split", split, "--json", json])
            try #require(result.status == 0 && !result.crashed, "\(result)")
            let scored = try JSONDecoder().decode(Scored.self, from: Data(contentsOf: URL(fileURLWithPath: json)))
            #expect(scored.split == split && scored.data == fixture.text)
            #expect(scored.loss.isFinite && scored.loss > 0)
            #expect(scored.perplexity == exp(scored.loss), "perplexity is exp(loss) at full precision")
            // Windows of --batch 2 × --bptt 5 (the checkpoint's).
            #expect(scored.tokens > 0 && scored.tokens % 10 == 0)
            // The printed figures are the JSON's, at full precision (they parse back to the same Double).
            #expect(result.standardOutput.contains("loss \(scored.loss), perplexity \(scored.perplexity)"), "\(result)")
            tokens[split] = scored.tokens
        }
        // The splits partition the text (each loses at most its last partial window).
        let parts = (tokens["train"] ?? 0) + (tokens["validation"] ?? 0) + (tokens["test"] ?? 0)
        #expect((tokens["all"] ?? 0) >= parts && (tokens["all"] ?? 0) <= parts + 3 * 10 + 10, "\(tokens)")
        #expect((tokens["train"] ?? 0) > 10 * (tokens["test"] ?? 0), "\(tokens)")
    }

    @Test func evalNeedsOnlyTheSplitItScores() throws {
        let fixture = try NumbersFixture.shared()
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let checkpoint = try Self.trainedCheckpoint(in: scratch, text: fixture.text)
        // A five-line held-out file is too short to split, but is scored whole with --split all.
        let whole = try CLI.run(["eval", "--checkpoint", checkpoint, "--data", fixture.short, "--split", "all"])
        #expect(whole.status == 0 && !whole.crashed && whole.standardOutput.contains("whole data"), "\(whole)")
        let split = try CLI.run(["eval", "--checkpoint", checkpoint, "--data", fixture.short])
        expectCleanFailure(split, mentioning: ["too small to split"])
        // A batch the test split cannot fill names the test split, not the validation split.
        let large = try CLI.run(["eval", "--checkpoint", checkpoint, "--data", fixture.text, "--batch", "400"])
        expectCleanFailure(large, mentioning: ["test split", "--batch 400"])
        #expect(!large.output.contains("validation"), "\(large)")
        // The training split holds 400 sequences' worth where the test split does not.
        let train = try CLI.run(["eval", "--checkpoint", checkpoint, "--data", fixture.text, "--batch", "40", "--split", "train"])
        #expect(train.status == 0 && !train.crashed, "\(train)")
    }

    @Test func sampleWritesWhatItGeneratesAndRefusesNegativeTemperature() throws {
        let fixture = try NumbersFixture.shared()
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let checkpoint = try Self.trainedCheckpoint(in: scratch, text: fixture.text)
        let result = try CLI.run(["sample", "--checkpoint", checkpoint, "--prompt", "the cat", "--length", "20", "--temperature", "0"])
        #expect(result.status == 0 && !result.crashed, "\(result)")
        let words = result.standardOutput.split(whereSeparator: \.isWhitespace)
        #expect(result.standardOutput.hasPrefix("the cat "), "\(result)")
        #expect(words.count >= 2 + 1, "\(result)")
        let negative = try CLI.run(["sample", "--checkpoint", checkpoint, "--temperature", "-0.5"])
        expectCleanFailure(negative, mentioning: ["--temperature -0.5", "[0, ∞)"])
    }
}
