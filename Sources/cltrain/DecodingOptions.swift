import ArgumentParser
import CLTrain

/// How `translate` and `eval` search for translations (`BeamSearchOptions`, whose doc comment
/// states the rules). Optional, so that `eval` can refuse them for a language model.
struct DecodingOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Hypotheses kept per sentence (1: greedy; default \(BeamSearchOptions.defaultBeam), the paper's).")
    var beam: Int?
    @Option(parsing: .unconditional, help: "GNMT length normalisation α ≥ 0: a translation of |Y| tokens (<eos> counted) scores log P / ((5 + |Y|)/6)^α (default 0: off).")
    var lengthPenalty: Double?
    @Option(parsing: .unconditional, help: "R > 0: a translation has at most ⌊R·(source tokens)⌋ + \(BeamSearchOptions.maxLengthSlack) tokens, its <eos> included, and is ended with <eos> there (default \(BeamSearchOptions.defaultMaxLengthRatio)).")
    var maxLengthRatio: Double?

    /// The flags given, for a command that must refuse them.
    var given: [String] {
        [("--beam", beam != nil), ("--length-penalty", lengthPenalty != nil), ("--max-length-ratio", maxLengthRatio != nil)]
            .filter(\.1).map(\.0)
    }

    func options(nBest: Int = 1) -> BeamSearchOptions {
        let defaults = BeamSearchOptions()
        return BeamSearchOptions(beam: beam ?? defaults.beam, nBest: nBest, lengthPenalty: lengthPenalty ?? defaults.lengthPenalty,
                                 maxLengthRatio: maxLengthRatio ?? defaults.maxLengthRatio)
    }

    func validate() throws {
        // --n-best is checked against --beam by the command that has it.
        try flagCheck { try options().validate() }
    }
}
