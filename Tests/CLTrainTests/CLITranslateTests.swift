import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `cltrain translate` and BLEU in `eval` through the built executable, on checkpoints of a tiny
/// `train --task translate` run on the synthetic reversal pairs of `CLITranslationTests`.
@Suite("cltrain translate")
struct CLITranslateTests {
    /// A checkpoint of two epochs on 200 "a c b" → "B C A" pairs (src.txt, tgt.txt in `scratch`).
    static func trainedCheckpoint(in scratch: ScratchFolder) throws -> String {
        let files = try CLITranslationTests.writePairs(in: scratch)
        let result = try CLITranslationTests.train(files, ["--epochs", "2", "--checkpoint", scratch.path("ck")])
        try #require(result.status == 0 && !result.crashed, "\(result)")
        return scratch.path("ck")
    }

    /// Sentences of the training words, an empty and a blank line, and a word no vocabulary has.
    static let input = ["a b c", "", "d e f g h", "   ", "b zzz a", "h"]

    static func writeInput(in scratch: ScratchFolder, _ lines: [String] = input) throws -> String {
        let path = scratch.path("input.txt")
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func translate(_ arguments: [String], input: Data? = nil) throws -> CLIResult {
        try CLI.run(["translate", "--device", "cpu"] + arguments, input: input)
    }

    static func expectSuccess(_ result: CLIResult, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status == 0 && !result.crashed && !result.signalled, "\(result)", sourceLocation: sourceLocation)
    }

    @Test func aFileAndStandardInputGiveOneLinePerSentenceInOrder() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let checkpoint = try Self.trainedCheckpoint(in: scratch)
        let file = try Self.writeInput(in: scratch)
        let fromFile = try Self.translate(["--checkpoint", checkpoint, "--beam", "3", file])
        Self.expectSuccess(fromFile)
        let lines = fromFile.standardOutput.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        try #require(lines.count == Self.input.count, "\(fromFile)")
        #expect(lines[1] == "" && lines[3] == "", "empty and blank lines give empty lines")
        #expect(lines.enumerated().allSatisfy { $0.offset == 1 || $0.offset == 3 || !$0.element.isEmpty })
        let fromStandardInput = try Self.translate(["--checkpoint", checkpoint, "--beam", "3"],
                                                   input: try Data(contentsOf: URL(fileURLWithPath: file)))
        Self.expectSuccess(fromStandardInput)
        #expect(fromStandardInput.standardOutput == fromFile.standardOutput)
        // One sentence at a time gives what a batch of all gives.
        let oneByOne = try Self.translate(["--checkpoint", checkpoint, "--beam", "3", "--batch", "1", file])
        #expect(oneByOne.standardOutput == fromFile.standardOutput)
        // An ensemble of the model with itself is the model (the mean of equal log-probabilities).
        let ensemble = try Self.translate(["--checkpoint", checkpoint, "--ensemble", checkpoint, "--beam", "3", file])
        Self.expectSuccess(ensemble)
        #expect(ensemble.standardOutput == fromFile.standardOutput)
    }

    @Test func nBestWritesScoredLinesBestFirst() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let checkpoint = try Self.trainedCheckpoint(in: scratch)
        let file = try Self.writeInput(in: scratch)
        let best = try Self.translate(["--checkpoint", checkpoint, "--beam", "4", "--length-penalty", "0.6", file])
        let nBest = try Self.translate(["--checkpoint", checkpoint, "--beam", "4", "--n-best", "3", "--length-penalty", "0.6", file])
        Self.expectSuccess(nBest)
        let firsts = best.standardOutput.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        var byLine: [Int: [(score: Double, text: String)]] = [:]
        for row in nBest.standardOutput.split(separator: "\n") {
            let fields = row.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            try #require(fields.count == 3, "LINE<TAB>SCORE<TAB>TEXT: '\(row)'")
            let line = try #require(Int(fields[0])), score = try #require(Double(fields[1]))
            byLine[line, default: []].append((score, fields[2]))
        }
        #expect(byLine.keys.sorted() == Array(1...Self.input.count))
        for (line, rows) in byLine {
            if Self.input[line - 1].allSatisfy(\.isWhitespace) {
                #expect(rows.count == 1 && rows[0].score == 0 && rows[0].text == "", "line \(line): \(rows)")
                continue
            }
            #expect(rows.count == 3, "line \(line): \(rows)")
            #expect(zip(rows, rows.dropFirst()).allSatisfy { $0.score >= $1.score }, "line \(line): \(rows)")
            #expect(Set(rows.map(\.text)).count == rows.count, "line \(line): distinct translations")
            #expect(rows[0].text == firsts[line - 1], "line \(line): the 1-best is the plain output")
        }
    }

    /// A pipe gets each translation before its input ends: one line in, one line out, then the next.
    @Test func answersEachLineBeforeTheInputEnds() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let checkpoint = try Self.trainedCheckpoint(in: scratch)
        let file = try Self.writeInput(in: scratch, ["a b c", "d e"])
        let expected = try Self.translate(["--checkpoint", checkpoint, "--beam", "2", file]).standardOutput.split(separator: "\n")
        let executable = try #require(CLI.executable)
        let process = Process()
        process.executableURL = executable
        process.arguments = ["translate", "--device", "cpu", "--checkpoint", checkpoint, "--beam", "2", "--batch", "32"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        var received = Data()
        input.fileHandleForWriting.write(Data("a b c\n".utf8))
        let first = Self.line(from: output.fileHandleForReading, buffer: &received)
        #expect(first.map { Substring($0) } == expected.first, "the first answer came before the input ended")
        input.fileHandleForWriting.write(Data("d e\n".utf8))
        let second = Self.line(from: output.fileHandleForReading, buffer: &received)
        #expect(second.map { Substring($0) } == expected.last)
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }

    /// The next line of `handle`, waiting at most two minutes for it (nil if none came).
    static func line(from handle: FileHandle, buffer: inout Data) -> String? {
        let deadline = Date().addingTimeInterval(120)
        while !buffer.contains(UInt8(ascii: "\n")) {
            let left = Int32(max(0, deadline.timeIntervalSinceNow) * 1000)
            var request = pollfd(fd: handle.fileDescriptor, events: Int16(POLLIN), revents: 0)
            guard left > 0, poll(&request, 1, left) > 0 else { return nil }
            let chunk = handle.availableData
            if chunk.isEmpty { return nil }
            buffer.append(chunk)
        }
        guard let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
        let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
        buffer = Data(buffer[(newline + 1)...])
        return line
    }

    @Test func evalReportsBLEUWithTheBeam() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let checkpoint = try Self.trainedCheckpoint(in: scratch)
        let json = scratch.path("eval.json")
        let eval = try CLI.run(["eval", "--checkpoint", checkpoint, "--source", scratch.path("src.txt"), "--target", scratch.path("tgt.txt"),
                                "--device", "cpu", "--beam", "2", "--json", json])
        Self.expectSuccess(eval)
        #expect(eval.standardOutput.contains("test BLEU = ") && eval.standardOutput.contains("(beam 2)"), "\(eval)")
        #expect(eval.standardOutput.contains("tok:13a|smooth:exp"), "\(eval)")
        struct Scored: Decodable { let bleu: Double; let beam: Int; let perplexity: Double }
        let scored = try JSONDecoder().decode(Scored.self, from: Data(contentsOf: URL(fileURLWithPath: json)))
        #expect(scored.beam == 2 && (0...100).contains(scored.bleu))
        #expect(eval.standardOutput.contains(String(format: "BLEU = %.2f", scored.bleu)))
    }

    static let badFlags: [BadInput] = [
        BadInput(["translate", "--checkpoint", "nowhere"], mentions: ["nowhere"]),
        BadInput(["translate", "--checkpoint", "x", "--beam", "0"], mentions: ["--beam 0"]),
        BadInput(["translate", "--checkpoint", "x", "--beam", "2", "--n-best", "3"], mentions: ["--n-best 3", "beam of 2"]),
        BadInput(["translate", "--checkpoint", "x", "--length-penalty", "-1"], mentions: ["--length-penalty"]),
        BadInput(["translate", "--checkpoint", "x", "--length-penalty", "nan"], mentions: ["--length-penalty"]),
        BadInput(["translate", "--checkpoint", "x", "--max-length-ratio", "0"], mentions: ["--max-length-ratio"]),
        BadInput(["translate", "--checkpoint", "x", "--batch", "0"], mentions: ["--batch"]),
        BadInput(["translate", "--checkpoint", "x", "--ensemble", "a,,b"], mentions: ["--ensemble", "empty"]),
    ]

    @Test(arguments: badFlags)
    func badFlagsAreRefused(_ bad: BadInput) throws {
        expectCleanFailure(try CLI.run(bad.arguments + ["--device", "cpu"], input: Data("a b\n".utf8)), mentioning: bad.mentions)
    }

    @Test func badCheckpointsAndInputsAreRefused() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let checkpoint = try Self.trainedCheckpoint(in: scratch)
        let language = try CLI.run(["train"] + CLICheckpointTests.tiny + ["--checkpoint", scratch.path("lm")])
        try #require(language.status == 0, "\(language)")
        expectCleanFailure(try Self.translate(["--checkpoint", scratch.path("lm")], input: Data("a\n".utf8)),
                           mentioning: ["language model"])
        expectCleanFailure(try Self.translate(["--checkpoint", checkpoint, "--ensemble", scratch.path("lm")], input: Data("a\n".utf8)),
                           mentioning: ["language model"])
        // Other vocabularies: a model trained on other words.
        let other = try ScratchFolder()
        defer { other.cleanup() }
        let otherFiles = (other.path("s.txt"), other.path("t.txt"))
        try (0..<200).map { "w\($0) x\($0 % 3)" }.joined(separator: "\n").write(toFile: otherFiles.0, atomically: true, encoding: .utf8)
        try (0..<200).map { "y\($0 % 3) z\($0)" }.joined(separator: "\n").write(toFile: otherFiles.1, atomically: true, encoding: .utf8)
        let trained = try CLITranslationTests.train(otherFiles, ["--epochs", "1", "--checkpoint", other.path("ck")])
        try #require(trained.status == 0, "\(trained)")
        expectCleanFailure(try Self.translate(["--checkpoint", checkpoint, "--ensemble", other.path("ck")], input: Data("a\n".utf8)),
                           mentioning: ["--ensemble", "vocabulary"])
        expectCleanFailure(try Self.translate(["--checkpoint", checkpoint, scratch.path("missing.txt")]), mentioning: ["missing.txt", "does not exist"])
        expectCleanFailure(try Self.translate(["--checkpoint", checkpoint, scratch.path("")]), mentioning: ["folder"])
        let binary = scratch.path("binary.txt")
        try Data([0x61, 0x0a, 0xff, 0xfe, 0x0a]).write(to: URL(fileURLWithPath: binary))
        let notText = try Self.translate(["--checkpoint", checkpoint, binary])
        expectCleanFailure(notText, mentioning: ["line 2", "UTF-8"])
        #expect(notText.standardOutput.filter { $0 == "\n" }.count == 1, "the line before the bad one was translated: \(notText)")
        // eval's decoding flags are for translation checkpoints.
        expectCleanFailure(try CLI.run(["eval", "--checkpoint", scratch.path("lm"), "--data", "synthetic", "--beam", "2", "--device", "cpu"]),
                           mentioning: ["--beam", "not a translation checkpoint"])
    }
}
