import ArgumentParser
import CLTrain
import CLTrainCommandLine
import Foundation

struct TranslateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "translate",
        abstract: "Translate sentences, one per line, with a checkpoint of `train --task translate` (or an ensemble).",
        discussion: """
            Reads INPUT (default: standard input) and writes one translation per input line, in order, as it goes: a batch is \
            translated once it holds --batch lines or no more input is waiting, so a pipe gets answers before its input ends. \
            Lines are tokenized as training tokenized them (13a: words with punctuation split off), and words the source \
            vocabulary lacks read as <unk>; a translation is its target tokens joined by spaces. An empty line (or one of white \
            space only) gives an empty line. With --n-best N > 1, each sentence gives up to N lines LINE<TAB>SCORE<TAB>TRANSLATION, \
            best first: LINE its input line number from 1, SCORE the search's score (log P, length-normalised when \
            --length-penalty > 0), printed to 6 decimals; an empty line gives one line LINE<TAB>0<TAB>. The beam search's rules \
            are in the README (`cltrain translate`).
            """)

    @OptionGroup var logging: LoggingOptions

    @Option(help: "A translation checkpoint folder (from `train --task translate`) or its model.safetensors.") var checkpoint: String
    @Option(help: ArgumentHelp("More checkpoints to decode with, as an ensemble with --checkpoint (the mean of their log-probabilities at every step); all with the same vocabularies.", valueName: "DIR,DIR,…"),
            transform: { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) })
    var ensemble: [String] = []
    @OptionGroup var decoding: DecodingOptions
    @Option(parsing: .unconditional, help: "Translations written per sentence, best first, with their scores when more than 1 (at most --beam).")
    var nBest: Int = 1
    @Option(parsing: .unconditional, help: "Sentences searched together (each step of the search advances all their hypotheses at once).")
    var batch: Int = 32
    @Option(help: "Device: auto (as for train), cpu, or an index from `cltrain devices`.", transform: DeviceRequest.parse)
    var device: DeviceRequest = .auto
    @Argument(help: "A file of source sentences, one per line (default: standard input).") var input: String?

    func validate() throws {
        try flagCheck {
            try decoding.options(nBest: nBest).validate()
            try InputNumber.check(batch, "--batch", in: 1...Int(Int32.max), why: "sentences searched together")
            let beam = decoding.options().beam
            // Every hypothesis of the batch is a row of one step: a 32-bit dimension of the kernels.
            try InputNumber.check(batch, "--batch", in: 1...max(1, Int(Int32.max) / beam),
                                  why: "--batch × --beam (\(beam)) rows advance in one step; the kernels take 32-bit dimensions")
        }
        if let empty = ensemble.firstIndex(where: \.isEmpty) {
            throw ValidationError("--ensemble: entry \(empty + 1) is empty; give checkpoint folders separated by commas")
        }
    }

    func run() throws {
        let lines = try input.map(InputLines.init(path:)) ?? InputLines()   // a missing file is refused before any model is read
        let backend = try DeviceChoice.backend(for: device)
        let (model, source, target) = try TranslationDecoding.load([checkpoint] + ensemble, backend: backend)
        let search = try BeamSearch(model: model, options: decoding.options(nBest: nBest))
        let translator = try SentenceTranslator(search: search, sourceVocabulary: source, targetVocabulary: target)
        var lineNumber = 0
        while case let sentences = try lines.next(upTo: batch), !sentences.isEmpty {
            var text = ""
            for translations in try translator.translate(sentences) {
                lineNumber += 1
                text += Self.format(translations, line: lineNumber, nBest: nBest)
            }
            writeStandardOutput(text)
        }
    }

    /// The output lines of one input line (each ending in a line break).
    static func format(_ translations: [SentenceTranslator<AnyStepwiseTranslator>.Line], line: Int, nBest: Int) -> String {
        guard nBest > 1 else { return (translations.first?.text ?? "") + "\n" }
        guard !translations.isEmpty else { return "\(line)\t0\t\n" }
        return translations.map { "\(line)\t\(String(format: "%.6f", $0.hypothesis.score))\t\($0.text)\n" }.joined()
    }
}
