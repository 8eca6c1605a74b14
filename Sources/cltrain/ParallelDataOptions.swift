import ArgumentParser
import CLTrain

extension TranslationDirection: ExpressibleByArgument {}

/// Where a translation command's sentence pairs come from (with `--data de-en`, which the command's
/// own `--data` names): one pair of files split by the fixed rule, or three pairs as the splits.
struct ParallelDataOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Translation: source sentences, one per line (line i translates to line i of --target). Alone, the pairs are split 90/5/5 by a fixed hash of the source; with --validation-* and --test-* this is the training split.", valueName: "FILE"))
    var source: String?
    @Option(help: ArgumentHelp("Translation: target sentences, one per line.", valueName: "FILE")) var target: String?
    @Option(help: ArgumentHelp("Translation: validation source sentences (with --validation-target, --test-source, --test-target).", valueName: "FILE"))
    var validationSource: String?
    @Option(help: ArgumentHelp("Translation: validation target sentences.", valueName: "FILE")) var validationTarget: String?
    @Option(help: ArgumentHelp("Translation: test source sentences.", valueName: "FILE")) var testSource: String?
    @Option(help: ArgumentHelp("Translation: test target sentences.", valueName: "FILE")) var testTarget: String?
    @Option(help: "Translation with --data de-en: de-en (German → English, the default) or en-de.") var direction: TranslationDirection?

    /// The flags given, for a command that must refuse them (a language model's).
    var given: [String] {
        [("--source", source), ("--target", target), ("--validation-source", validationSource), ("--validation-target", validationTarget),
         ("--test-source", testSource), ("--test-target", testTarget), ("--direction", direction?.rawValue)]
            .filter { $0.1 != nil }.map(\.0)
    }

    /// The corpus these flags and `data` (`--data`: nil or `de-en`) name; `role` says who asks.
    /// `defaultDirection`: the direction when --direction is not given (a checkpoint's).
    func corpus(data: String?, defaultDirection: TranslationDirection = .deEn) throws -> ParallelCorpus {
        let splits = [validationSource, validationTarget, testSource, testTarget]
        switch (data, source, target) {
        case (GermanEnglishData.name?, nil, nil):
            guard splits.allSatisfy({ $0 == nil }) else {
                throw ValidationError("--data de-en has its own splits: leave out --validation-source/--validation-target/--test-source/--test-target")
            }
            return try GermanEnglishData.load(direction: direction ?? defaultDirection).corpus
        case (let data?, _, _) where data != GermanEnglishData.name:
            throw ValidationError("--data \(data) is language-model data; translation takes --data de-en, or --source FILE --target FILE")
        case (_?, _, _):
            throw ValidationError("--data de-en and --source/--target exclude each other")
        case (nil, let source?, let target?):
            if direction != nil { throw ValidationError("--direction is for --data de-en; with your own files, swap --source and --target") }
            if splits.allSatisfy({ $0 == nil }) { return try ParallelCorpus.load(source: source, target: target) }
            guard let vs = validationSource, let vt = validationTarget, let ts = testSource, let tt = testTarget else {
                throw ValidationError("three pairs of files need all of --validation-source, --validation-target, --test-source and --test-target")
            }
            return try ParallelCorpus.load(train: (source, target), validation: (vs, vt), test: (ts, tt))
        case (nil, nil, nil):
            throw ValidationError("translation needs data: --data de-en, or --source FILE --target FILE")
        default:
            throw ValidationError("--source and --target go together: give both")
        }
    }
}
