import Foundation

/// Which way a parallel corpus translates.
public enum TranslationDirection: String, CaseIterable, Sendable {
    case deEn = "de-en", enDe = "en-de"
}

/// `--data de-en`: the sentence pairs of the Ding dictionary (`DingDictionary`) from Debian's
/// `trans-de-en` package (`scripts/install-deps.sh` installs it), split by `ParallelCorpus`'s
/// fixed rule on the German side, so both directions have the same splits.
public enum GermanEnglishData {
    public static let name = "de-en"
    /// Where the package puts the dictionary.
    public static let defaultPath = "/usr/share/trans/de-en"

    /// The corpus for `direction`, from the dictionary at `path`, and the extraction's counts.
    public static func load(direction: TranslationDirection, path: String = defaultPath) throws
        -> (corpus: ParallelCorpus, extraction: DingDictionary.Extraction) {
        guard FileManager.default.fileExists(atPath: path) else {
            throw CLTrainError.invalidArgument(
                "the German–English dictionary is not installed at \(path); install Debian's trans-de-en "
                    + "(apt-get install trans-de-en, or scripts/install-deps.sh)")
        }
        let extraction = DingDictionary.extract(lines: try TextLines.read(path, role: "de-en dictionary"))
        let germanFirst = try ParallelCorpus.split(extraction.pairs, name: name)
        let corpus = direction == .deEn ? germanFirst : germanFirst.swapped
        return (ParallelCorpus(name: direction.rawValue, train: corpus.train, validation: corpus.validation, test: corpus.test),
                extraction)
    }
}
