/// The `13a` tokenizer of sacreBLEU 2.x (`tokenizers/tokenizer_13a.py` and `tokenizer_re.py`),
/// itself mteval-v13a.pl's, which WMT scores BLEU with: words with punctuation split off.
///
/// Applied to one line, in this order (each step a left-to-right pass over the code points, as
/// Python's `str.replace` and `re.sub` make them):
/// 1. `<skipped>` is removed, `-` + line break joins, a line break becomes a space; if the line
///    holds `&`, `&quot;` `&amp;` `&lt;` `&gt;` become `"` `&` `<` `>` (in that order).
/// 2. The line is padded with a space on each side.
/// 3. Every ASCII symbol except `'`, `-`, `.` and `,` (that is `{|}~ [\]^_` `` ` `` ` !"#$%& ()*+ :;<=>?@ /`)
///    is set off by spaces.
/// 4. `.` and `,` are set off unless preceded by a digit, then unless followed by a digit
///    (so `3.14` and `1,000` stay whole, and `end.` and `a,b` split).
/// 5. `-` after a digit is set off.
/// 6. The result is split at Python's white space (`PythonWhitespace`).
///
/// Digits are ASCII `0`–`9` only, and tokens compare by code point (as Python's strings do), so
/// a precomposed and a decomposed `é` are different tokens here as they are in sacreBLEU.
public enum Tokenizer13a {
    /// sacreBLEU's signature for it: `tok:13a`.
    public static let signature = "13a"

    /// The tokens of `line`.
    public static func tokenize(_ line: String) -> [String] {
        var text = Array(line.unicodeScalars)
        text = replacing(text, "<skipped>", with: "")
        text = replacing(text, "-\n", with: "")
        text = replacing(text, "\n", with: " ")
        if text.contains("&") {
            for (entity, character) in [("&quot;", "\""), ("&amp;", "&"), ("&lt;", "<"), ("&gt;", ">")] {
                text = replacing(text, entity, with: character)
            }
        }
        text = [" "] + text + [" "]
        text = separatingSymbols(text)
        text = separatingPeriodsAndCommas(text)
        text = separatingDashesAfterDigits(text)
        return PythonWhitespace.split(text)
    }

    /// The tokens joined by single spaces: sacreBLEU's tokenized line.
    public static func tokenizedLine(_ line: String) -> String { tokenize(line).joined(separator: " ") }

    private static func isDigit(_ scalar: Unicode.Scalar) -> Bool { ("0"..."9").contains(scalar) }

    private static func isPeriodOrComma(_ scalar: Unicode.Scalar) -> Bool { scalar == "." || scalar == "," }

    /// `re.compile(r'([\{-\~\[-\` -\&\(-\+\:-\@\/])')` → `r' \1 '`.
    private static func isSeparatedSymbol(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x7B...0x7E, 0x5B...0x60, 0x20...0x26, 0x28...0x2B, 0x3A...0x40, 0x2F: true
        default: false
        }
    }

    private static func separatingSymbols(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var result: [Unicode.Scalar] = []
        result.reserveCapacity(text.count * 2)
        for scalar in text {
            if isSeparatedSymbol(scalar) { result += [" ", scalar, " "] } else { result.append(scalar) }
        }
        return result
    }

    /// `([^0-9])([\.,])` → `\1 \2 `, then `([\.,])([^0-9])` → ` \1 \2`: each a pass of
    /// non-overlapping two-code-point matches, so in `a..b` only the first `.` is set off by the
    /// first pass (its match consumed the `a`), as in Python.
    private static func separatingPeriodsAndCommas(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        let first = substitutingPairs(text, where: { !isDigit($0) && isPeriodOrComma($1) }) { [$0, " ", $1, " "] }
        return substitutingPairs(first, where: { isPeriodOrComma($0) && !isDigit($1) }) { [" ", $0, " ", $1] }
    }

    /// `([0-9])(-)` → `\1 \2 `.
    private static func separatingDashesAfterDigits(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        substitutingPairs(text, where: { isDigit($0) && $1 == "-" }) { [$0, " ", $1, " "] }
    }

    /// `re.sub` of a two-code-point pattern: scanning left to right, each pair that matches is
    /// replaced and scanning resumes after it; an unmatched code point is kept as it is.
    private static func substitutingPairs(_ text: [Unicode.Scalar], where matches: (Unicode.Scalar, Unicode.Scalar) -> Bool,
                                          by replacement: (Unicode.Scalar, Unicode.Scalar) -> [Unicode.Scalar]) -> [Unicode.Scalar] {
        var result: [Unicode.Scalar] = []
        result.reserveCapacity(text.count + text.count / 2)
        var i = 0
        while i < text.count {
            if i + 1 < text.count, matches(text[i], text[i + 1]) {
                result += replacement(text[i], text[i + 1])
                i += 2
            } else {
                result.append(text[i])
                i += 1
            }
        }
        return result
    }

    /// Python's `str.replace(old, new)`: every non-overlapping occurrence, left to right.
    private static func replacing(_ text: [Unicode.Scalar], _ old: String, with new: String) -> [Unicode.Scalar] {
        let pattern = Array(old.unicodeScalars), replacement = Array(new.unicodeScalars)
        guard let head = pattern.first, text.count >= pattern.count, text.contains(head) else { return text }
        var result: [Unicode.Scalar] = []
        result.reserveCapacity(text.count)
        var i = 0
        while i < text.count {
            if text[i] == head, i + pattern.count <= text.count, text[i..<(i + pattern.count)].elementsEqual(pattern) {
                result += replacement
                i += pattern.count
            } else {
                result.append(text[i])
                i += 1
            }
        }
        return result
    }
}
