import ArgumentParser
import CLTrain
import CLTrainCommandLine
import Foundation

struct BLEUCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bleu",
        abstract: "Score translations with corpus BLEU, exactly as sacreBLEU computes it by default.",
        discussion: """
            sacreBLEU \(CorpusBLEU.sacreBLEUVersion)'s default BLEU: 13a tokenization, mixed case, exponential smoothing,
            brevity penalty against the closest reference length. One hypothesis per line, from HYPOTHESES or standard
            input; each --references file holds one reference per line for the same lines. Lines split at \\n only and
            lose trailing white space, as sacreBLEU reads files. Prints the score line and the signature as sacreBLEU
            does, or with --json sacreBLEU's JSON with every figure at full precision under "exact".
            """)

    @OptionGroup var logging: LoggingOptions

    @Option(name: .customLong("references"), help: "A reference file (repeat for several references per line).")
    var references: [String] = []
    @Flag(help: "Print sacreBLEU's JSON object instead, with full-precision figures under \"exact\".") var json = false
    @Argument(help: "The hypotheses file (default: standard input).") var hypotheses: String?

    func validate() throws {
        guard !references.isEmpty else { throw ValidationError("give at least one --references FILE") }
    }

    func run() throws {
        let referenceStreams = try references.map { try TextLines.read($0, role: "reference file") }
        let hypothesisLines: [String]
        let hypothesisName: String
        if let hypotheses {
            hypothesisLines = try TextLines.read(hypotheses, role: "hypotheses file")
            hypothesisName = "hypotheses file '\(hypotheses)'"
        } else {
            hypothesisName = "standard input"
            hypothesisLines = try TextLines.lines(of: FileHandle.standardInput.readDataToEndOfFile(), name: hypothesisName)
        }
        for (path, stream) in zip(references, referenceStreams) where stream.count != hypothesisLines.count {
            throw CLTrainError.invalidArgument(
                "\(hypothesisName) has \(hypothesisLines.count) lines but reference file '\(path)' has \(stream.count); "
                    + "BLEU needs one hypothesis per reference line")
        }
        let score = try CorpusBLEU.score(hypotheses: hypothesisLines, references: referenceStreams)
        if json {
            FileHandle.standardOutput.write(try score.json() + Data("\n".utf8))
        } else {
            print(score.line)
            print(score.signature)
        }
    }
}
