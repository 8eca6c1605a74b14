import Foundation

/// `--data ptb`: the Penn Treebank language-modelling text of Mikolov et al. (10 000 words, rarer
/// ones already `<unk>`, numbers `N`), the data of Zaremba et al. (2014) and PyTorch's
/// word_language_model. `scripts/fetch-ptb.sh` installs its three files, checked against
/// torchtext's MD5s; they are the splits as published (no re-splitting), read at
/// `TokenLevel.whitespace`: the text is tokenized already, and each line ends in `<eos>`.
public enum PennTreebank {
    public static let name = "ptb"
    /// The published files, in split order: train, validation, test.
    public static let fileNames = ["ptb.train.txt", "ptb.valid.txt", "ptb.test.txt"]
    /// How its words are split: by white space, as PyTorch's `line.split() + ['<eos>']`.
    public static let level = TokenLevel.whitespace

    /// Where `--data ptb` looks: `$CLTRAIN_DATA_DIR/ptb`, else `$XDG_DATA_HOME/cltrain/ptb`, else
    /// `~/.local/share/cltrain/ptb` (scripts/fetch-ptb.sh installs it there).
    public static var directory: URL { directory(environment: ProcessInfo.processInfo.environment) }

    static func directory(environment: [String: String]) -> URL {
        Corpus.installedDirectory(name, environment: environment)
    }

    /// The three files as the corpus's splits; a missing one names the fetch script.
    static func load(environment: [String: String]) throws -> Corpus {
        let folder = directory(environment: environment)
        let documents = try fileNames.map { name in
            let url = folder.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw CLTrainError.invalidArgument(
                    "the Penn Treebank is not installed at \(folder.path) (no \(name)); run scripts/fetch-ptb.sh (or scripts/setup.sh)")
            }
            guard try Corpus.kind(of: url.path) == .file else {
                throw CLTrainError.invalidArgument("'\(url.path)' is a folder, not the Penn Treebank's \(name)")
            }
            return Corpus.Document(name: name, text: try Corpus.readText(url))
        }
        return Corpus(source: name, train: [documents[0]], validation: [documents[1]], test: [documents[2]])
    }
}
