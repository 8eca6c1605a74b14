import Foundation

/// A self-contained SVG image built element by element: no scripts, no external fonts or
/// styles, every text escaped, so that any browser or `rsvg-convert` shows it and an XML parser
/// reads it. Coordinates are user units, (0, 0) at the top left; a non-finite coordinate drops
/// its element rather than write "nan" into the file.
public struct SVGCanvas {
    public let width: Double
    public let height: Double
    private var elements: [String] = []

    public init(width: Double, height: Double) {
        self.width = width
        self.height = height
    }

    public mutating func rect(x: Double, y: Double, width: Double, height: Double, fill: String, stroke: String? = nil) {
        guard [x, y, width, height].allSatisfy(\.isFinite) else { return }
        elements.append("<rect x=\"\(n(x))\" y=\"\(n(y))\" width=\"\(n(width))\" height=\"\(n(height))\" fill=\"\(fill)\""
                        + (stroke.map { " stroke=\"\($0)\"" } ?? "") + "/>")
    }

    public mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String,
                              width: Double = 1, dash: String? = nil) {
        guard [x1, y1, x2, y2].allSatisfy(\.isFinite) else { return }
        elements.append("<line x1=\"\(n(x1))\" y1=\"\(n(y1))\" x2=\"\(n(x2))\" y2=\"\(n(y2))\" stroke=\"\(stroke)\" stroke-width=\"\(n(width))\""
                        + (dash.map { " stroke-dasharray=\"\($0)\"" } ?? "") + "/>")
    }

    public mutating func polyline(_ points: [(x: Double, y: Double)], stroke: String, width: Double = 1.5) {
        let finite = points.filter { $0.x.isFinite && $0.y.isFinite }
        guard finite.count >= 2 else { return }
        let list = finite.map { "\(n($0.x)),\(n($0.y))" }.joined(separator: " ")
        elements.append("<polyline points=\"\(list)\" fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"\(n(width))\"/>")
    }

    /// A data point: `kind` is its class (tests and stylesheets find the points by it), `title`
    /// the tooltip a browser shows on hover.
    public mutating func marker(x: Double, y: Double, radius: Double = 3.5, fill: String, kind: String, square: Bool = false,
                                title: String? = nil) {
        guard x.isFinite, y.isFinite else { return }
        let tooltip = title.map { "<title>\(Self.escaped($0))</title>" } ?? ""
        if square {
            elements.append("<rect class=\"\(kind)\" x=\"\(n(x - radius))\" y=\"\(n(y - radius))\" width=\"\(n(2 * radius))\" height=\"\(n(2 * radius))\" fill=\"\(fill)\" stroke=\"#222\" stroke-width=\"0.5\">\(tooltip)</rect>")
        } else {
            elements.append("<circle class=\"\(kind)\" cx=\"\(n(x))\" cy=\"\(n(y))\" r=\"\(n(radius))\" fill=\"\(fill)\" stroke=\"#222\" stroke-width=\"0.5\">\(tooltip)</circle>")
        }
    }

    public enum Anchor: String { case start, middle, end }

    public mutating func text(_ string: String, x: Double, y: Double, size: Double = 12, anchor: Anchor = .start,
                              bold: Bool = false, fill: String = "#222", rotated: Bool = false) {
        guard x.isFinite, y.isFinite else { return }
        let rotation = rotated ? " transform=\"rotate(-90 \(n(x)) \(n(y)))\"" : ""
        elements.append("<text x=\"\(n(x))\" y=\"\(n(y))\" font-size=\"\(n(size))\" text-anchor=\"\(anchor.rawValue)\" fill=\"\(fill)\""
                        + (bold ? " font-weight=\"bold\"" : "") + rotation + ">\(Self.escaped(string))</text>")
    }

    /// The whole document.
    public func rendered() -> String {
        """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" width="\(n(width))" height="\(n(height))" viewBox="0 0 \(n(width)) \(n(height))" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">
        <rect x="0" y="0" width="\(n(width))" height="\(n(height))" fill="#fff"/>
        \(elements.joined(separator: "\n"))
        </svg>

        """
    }

    /// `text` safe inside an element or an attribute.
    public static func escaped(_ text: String) -> String {
        var result = ""
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&apos;"
            default:
                // XML 1.0 allows no control characters but tab and line breaks.
                if let scalar = character.unicodeScalars.first, scalar.value < 0x20, !"\t\n\r".contains(character) {
                    result += " "
                } else {
                    result.append(character)
                }
            }
        }
        return result
    }

    private func n(_ value: Double) -> String { String(format: "%.2f", value) }
}
