/// How text becomes tokens: one per Unicode scalar, one per word, or one per white-space-separated
/// word of text that is tokenized already.
public enum TokenLevel: String, Codable, Sendable, CaseIterable {
    case char
    case word
    /// The Penn Treebank's: PyTorch word_language_model's `line.split() + ['<eos>']`.
    case whitespace

    /// Splits text into token strings.
    ///
    /// char: every Unicode scalar is a token (newlines included).
    /// word: runs of letters, digits and apostrophes are words; every other non-space character
    /// is a token of its own; a line break is the token `<eos>`, as in the Penn Treebank LM data.
    /// whitespace: every run of non-space characters is a token as it stands (`<unk>` included);
    /// a line break is `<eos>`.
    public func tokenize(_ text: String) -> [String] {
        switch self {
        case .char:
            return text.unicodeScalars.map { String($0) }
        case .word:
            var tokens: [String] = []
            var word = String.UnicodeScalarView()
            func flush() {
                if !word.isEmpty { tokens.append(String(word)); word.removeAll() }
            }
            for scalar in text.unicodeScalars {
                if scalar.properties.isAlphabetic || scalar.properties.numericType != nil || scalar == "'" {
                    word.append(scalar)
                } else {
                    flush()
                    if scalar == "\n" {
                        tokens.append(Vocabulary.endOfLine)
                    } else if !scalar.properties.isWhitespace {
                        tokens.append(String(scalar))
                    }
                }
            }
            flush()
            return tokens
        case .whitespace:
            var tokens: [String] = []
            var word = String.UnicodeScalarView()
            for scalar in text.unicodeScalars {
                if scalar.properties.isWhitespace {
                    if !word.isEmpty { tokens.append(String(word)); word.removeAll() }
                    if scalar == "\n" { tokens.append(Vocabulary.endOfLine) }
                } else {
                    word.append(scalar)
                }
            }
            if !word.isEmpty { tokens.append(String(word)) }
            return tokens
        }
    }

    /// Joins tokens back into text (for generated samples).
    public func detokenize(_ tokens: [String]) -> String {
        switch self {
        case .char:
            return tokens.joined()
        case .word, .whitespace:
            var text = ""
            for token in tokens {
                if token == Vocabulary.endOfLine {
                    text += "\n"
                } else {
                    if !text.isEmpty, !text.hasSuffix("\n") { text += " " }
                    text += token
                }
            }
            return text
        }
    }
}
