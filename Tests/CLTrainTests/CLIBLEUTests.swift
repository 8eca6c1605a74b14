import CLTrain
import Foundation
import Testing

/// `cltrain bleu` end to end on the sacreBLEU fixtures, and its refusals.
@Suite("cltrain bleu")
struct CLIBLEUTests {
    /// The case's files written into `scratch`: (hypotheses path, reference paths).
    static func write(_ fixture: BLEUFixtures.Case, into scratch: ScratchFolder) throws -> (String, [String]) {
        let hypotheses = scratch.path("hyp.txt")
        try Data(fixture.hypotheses.utf8).write(to: URL(fileURLWithPath: hypotheses))
        let references = try fixture.references.enumerated().map { i, text in
            let path = scratch.path("ref\(i + 1).txt")
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            return path
        }
        return (hypotheses, references)
    }

    @Test(arguments: BLEUFixtures.shared.cases)
    func printsWhatSacreBLEUPrints(_ fixture: BLEUFixtures.Case) throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let (hypotheses, references) = try Self.write(fixture, into: scratch)
        let referenceFlags = references.flatMap { ["--references", $0] }
        let result = try CLI.run(["bleu"] + referenceFlags + [hypotheses])
        try #require(result.status == 0 && !result.crashed, "\(result)")
        let lines = result.standardOutput.split(separator: "\n").map(String.init)
        try #require(lines.count == 2, "\(result)")
        let verbose = fixture.cli_output.split(separator: " = ", maxSplits: 1).last.map { $0.drop { $0 != " " } } ?? ""
        #expect(lines[0] == "BLEU = \(String(format: "%.2f", fixture.score))\(verbose)", "\(result)")
        #expect(lines[1] == fixture.signature)

        // The same hypotheses on standard input, and --json.
        let piped = try CLI.run(["bleu", "--json"] + referenceFlags, input: Data(fixture.hypotheses.utf8))
        try #require(piped.status == 0 && !piped.crashed, "\(piped)")
        struct Printed: Decodable {
            struct Exact: Decodable { let score: Double; let precisions: [Double]; let bp: Double; let hyp_len: Int; let ref_len: Int }
            let name: String; let score: Double; let signature: String; let verbose_score: String; let nrefs: String; let exact: Exact
        }
        let printed = try JSONDecoder().decode(Printed.self, from: Data(piped.standardOutput.utf8))
        #expect(printed.name == "BLEU" && printed.signature == fixture.signature && printed.nrefs == "\(references.count)")
        #expect(abs(printed.exact.score - fixture.score) <= 0.01 && abs(printed.score - fixture.score) <= 0.005 + 1e-9)
        #expect(printed.verbose_score == String(verbose.dropFirst()))
        #expect(printed.exact.hyp_len == fixture.hyp_len && printed.exact.ref_len == fixture.ref_len)
    }

    @Test func refusesBadInputNamingTheProblem() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        func file(_ name: String, _ bytes: [UInt8]) throws -> String {
            let path = scratch.path(name)
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            return path
        }
        let two = try file("two.txt", Array("a b c\nd e f\n".utf8))
        let three = try file("three.txt", Array("a b c\nd e f\ng h i\n".utf8))
        let empty = try file("empty.txt", [])
        let latin1 = try file("latin1.txt", Array("ok\n".utf8) + [0x53, 0x74, 0x72, 0x61, 0xDF, 0x65, 0x0A])
        for bad in [
            BadInput(["bleu", "--references", three, two], mentions: ["has 2 lines", "has 3", two, three]),
            BadInput(["bleu", "--references", two, "--references", three, two], mentions: ["has 2 lines", "has 3", three]),
            BadInput(["bleu", "--references", scratch.path("missing.txt"), two], mentions: ["missing.txt", "does not exist"]),
            BadInput(["bleu", "--references", two, scratch.path("missing.txt")], mentions: ["hypotheses file", "does not exist"]),
            BadInput(["bleu", "--references", empty, two], mentions: [empty, "is empty"]),
            BadInput(["bleu", "--references", two, latin1], mentions: [latin1, "line 2", "not UTF-8"]),
            BadInput(["bleu", "--references", scratch.url.path, two], mentions: ["not a regular file"]),
            BadInput(["bleu", two], mentions: ["--references"]),
        ] {
            try expectRefused(bad)
        }
        // Empty standard input is refused too, by name.
        let result = try CLI.run(["bleu", "--references", two], input: Data())
        expectCleanFailure(result, mentioning: ["standard input", "empty"])
    }
}
