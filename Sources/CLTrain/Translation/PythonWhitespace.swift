/// White space as Python's `str.isspace`, `str.split()` and `str.rstrip()` see it, so that text
/// splits exactly as sacreBLEU splits it (Swift's `isWhitespace` differs: it leaves out
/// U+001C–U+001F, which Python counts).
enum PythonWhitespace {
    /// U+0009–U+000D, U+001C–U+0020, U+0085, U+00A0, U+1680, U+2000–U+200A, U+2028, U+2029, U+202F,
    /// U+205F, U+3000: every code point whose `chr(c).isspace()` is true in Python 3.
    static func contains(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: true
        default: false
        }
    }

    /// `text.rstrip()`: the text without its trailing white space.
    static func trimmingTrailing(_ text: String) -> String {
        var scalars = Array(text.unicodeScalars)
        while let last = scalars.last, contains(last) { scalars.removeLast() }
        return String(String.UnicodeScalarView(scalars))
    }

    /// `text.split()`: the runs of non-white-space code points.
    static func split(_ scalars: [Unicode.Scalar]) -> [String] {
        var words: [String] = []
        var word = String.UnicodeScalarView()
        for scalar in scalars {
            if contains(scalar) {
                if !word.isEmpty { words.append(String(word)); word = String.UnicodeScalarView() }
            } else {
                word.append(scalar)
            }
        }
        if !word.isEmpty { words.append(String(word)) }
        return words
    }
}
