/// Sentence pairs from the Ding German–English dictionary (Frank Richter, TU Chemnitz; GPL-2+),
/// as Debian's `trans-de-en` installs it: lines `German :: English`, each side sub-entries
/// separated by ` | ` that align one to one, each sub-entry synonyms separated by `; `, with
/// annotations in brackets: `{f}` `{adj}` (grammar), `[ugs.]` `[Br.]` (usage), `<gehören>` (search
/// words), `(Sicherheitshinweis)` (glosses and optional words).
///
/// The extraction rule, applied to each line:
/// 1. Skip `#` comment lines and lines without ` :: `; split at the first ` :: `.
/// 2. Split each side at ` | `; keep the line only if both sides have as many sub-entries, and
///    pair sub-entry i with sub-entry i.
/// 3. Clean each sub-entry: remove every bracketed span, `{…}` `[…]` `<…>` `(…)`, innermost first
///    (so `{overrode; overridden}` goes before the `;` split); keep what precedes the first `;`
///    (the first synonym; all synonyms translate each other, so first pairs with first); collapse
///    white space; remove a space left before `. , ! ? ; :`.
/// 4. Keep the pair if both sides are sentences: at least 3 words; ending in `.`, `!` or `?`;
///    starting with an upper-case letter, a digit or an opening quote or mark (`"` `„` `‚` `'` `“`
///    `‘` `«` `»` `¿` `¡`); and holding no `…` or `...` (templates), no `/` (unresolved
///    alternatives such as `sheer/pure`), no bracket left unmatched, and no placeholder word
///    (`sth.` `sb.` `etw.` `jd.` `jdm.` `jdn.` `jds.`, with any ending such as `sb.'s`).
/// 5. Drop a pair identical to one already kept (the first is kept, in file order).
///
/// On trans-de-en 1.9-6 (dictionary version "devel 2023-01-30") this keeps 17 232 pairs; see the
/// README for the counts and lengths.
public enum DingDictionary {
    /// What the extraction saw and kept.
    public struct Extraction: Sendable {
        /// (German, English), in file order.
        public var pairs: [SentencePair] = []
        /// Lines with ` :: `.
        public var entryLines = 0
        /// Entry lines whose sides have different numbers of sub-entries (left out).
        public var misalignedLines = 0
        /// Aligned sub-entry pairs looked at.
        public var subEntryPairs = 0
        /// Sentence pairs left out as copies of one already kept.
        public var duplicates = 0
    }

    /// The sentence pairs of the dictionary's `lines` (see the type's rule).
    public static func extract(lines: [String]) -> Extraction {
        var extraction = Extraction()
        var seen = Set<SentencePair>()
        for var line in lines {
            line.makeContiguousUTF8()
            line.utf8.withContiguousStorageIfAvailable { bytes in
                guard let (german, english) = subEntries(bytes) else { return }
                extraction.entryLines += 1
                guard german.count == english.count else {
                    extraction.misalignedLines += 1
                    return
                }
                for (g, e) in zip(german, english) {
                    extraction.subEntryPairs += 1
                    // Most sub-entries are words, not sentences: without a final mark anywhere, cleaning cannot make one.
                    guard mayEndASentence(bytes, g), mayEndASentence(bytes, e) else { continue }
                    let pair = SentencePair(source: clean(text(bytes, g)), target: clean(text(bytes, e)))
                    guard isSentence(pair.source), isSentence(pair.target) else { continue }
                    if seen.insert(pair).inserted { extraction.pairs.append(pair) } else { extraction.duplicates += 1 }
                }
            }
        }
        return extraction
    }

    /// Rules 1 and 2's splitting, on the line's bytes: the byte ranges of the German and the
    /// English sub-entries, or nil for a comment or a line without ` :: `. The separators are
    /// ASCII, so a match is never inside a multi-byte character; one pass over raw bytes, as
    /// Foundation's string searches are many times slower over the dictionary's 200 000 lines.
    private static func subEntries(_ bytes: UnsafeBufferPointer<UInt8>) -> (german: [Range<Int>], english: [Range<Int>])? {
        let space = UInt8(ascii: " "), colon = UInt8(ascii: ":"), bar = UInt8(ascii: "|")
        guard bytes.first != UInt8(ascii: "#") else { return nil }
        var german: [Range<Int>] = [], english: [Range<Int>] = []
        var start = 0, i = 0, inEnglish = false
        while i + 2 < bytes.count {
            if bytes[i] == space, bytes[i + 1] == bar, bytes[i + 2] == space {   // " | "
                if inEnglish { english.append(start..<i) } else { german.append(start..<i) }
                i += 3
                start = i
                continue
            }
            if !inEnglish, bytes[i] == space, bytes[i + 1] == colon, bytes[i + 2] == colon, i + 3 < bytes.count,
               bytes[i + 3] == space {   // the first " :: "
                german.append(start..<i)
                inEnglish = true
                i += 4
                start = i
                continue
            }
            i += 1
        }
        guard inEnglish else { return nil }
        english.append(start..<bytes.count)
        return (german, english)
    }

    private static func mayEndASentence(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Bool {
        for i in range where bytes[i] == UInt8(ascii: ".") || bytes[i] == UInt8(ascii: "!") || bytes[i] == UInt8(ascii: "?") {
            return true
        }
        return false
    }

    private static func text(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    /// Rule 3: a sub-entry without its annotations, its first synonym, white space collapsed.
    static func clean(_ subEntry: String) -> String {
        let unbracketed = removingBracketedSpans(Array(subEntry.unicodeScalars))
        let firstSynonym = unbracketed.prefix { $0 != ";" }
        var text = String.UnicodeScalarView()
        var word = String.UnicodeScalarView()
        func flush() {
            guard let head = word.first else { return }
            if !text.isEmpty, !closingMarks.contains(head) { text.append(" ") }   // no space before . , ! ? ; :
            text.append(contentsOf: word)
            word = String.UnicodeScalarView()
        }
        for scalar in firstSynonym {
            if scalar.properties.isWhitespace { flush() } else { word.append(scalar) }
        }
        flush()
        return String(text)
    }

    private static let closingMarks: Set<Unicode.Scalar> = [".", ",", "!", "?", ";", ":"]
    private static let closers: [Unicode.Scalar: Unicode.Scalar] = ["}": "{", "]": "[", ">": "<", ")": "("]
    private static let brackets: Set<Unicode.Scalar> = ["{", "}", "[", "]", "<", ">", "(", ")"]

    /// Every `{…}` `[…]` `<…>` `(…)` replaced by a space, innermost first: a closer that matches
    /// the innermost open bracket removes the span back to it; an unmatched bracket stays (and
    /// rule 4 then refuses the sentence).
    static func removingBracketedSpans(_ text: String) -> String {
        String(String.UnicodeScalarView(removingBracketedSpans(Array(text.unicodeScalars))))
    }

    private static func removingBracketedSpans(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard text.contains(where: brackets.contains) else { return text }
        var result: [Unicode.Scalar] = []
        var open: [(bracket: Unicode.Scalar, position: Int)] = []
        for scalar in text {
            if let opener = closers[scalar] {
                if let innermost = open.last, innermost.bracket == opener {
                    result.removeSubrange(innermost.position...)
                    result.append(" ")
                    open.removeLast()
                } else {
                    result.append(scalar)
                }
            } else {
                if brackets.contains(scalar) { open.append((scalar, result.count)) }
                result.append(scalar)
            }
        }
        return result
    }

    private static let openingMarks: Set<Character> = ["\"", "„", "‚", "'", "“", "‘", "«", "»", "¿", "¡"]
    private static let placeholders = ["sth.", "sb.", "etw.", "jd.", "jdm.", "jdn.", "jds."]

    /// Rule 4.
    static func isSentence(_ text: String) -> Bool {
        guard let first = text.first, let last = text.last, [".", "!", "?"].contains(last),
              first.isUppercase || first.isNumber || openingMarks.contains(first) else { return false }
        let words = text.split(separator: " ")
        guard words.count >= 3, !text.contains("…"), !text.contains("..."), !text.contains("/"),
              !text.unicodeScalars.contains(where: brackets.contains) else { return false }
        return !words.contains { word in
            let lowered = word.lowercased()
            return placeholders.contains { lowered.hasPrefix($0) }
        }
    }
}
