/// A plain-text table with aligned columns, as `cltrain` prints devices and verification results.
///
/// Columns whose cells are all numbers (or "-") are right-aligned, others left-aligned; a dashed
/// rule separates the headers from the rows.
public struct TextTable: Sendable {
    public let headers: [String]
    public private(set) var rows: [[String]] = []

    public init(headers: [String], rows: [[String]] = []) {
        self.headers = headers
        for row in rows { append(row) }
    }

    /// Adds a row; missing cells are blank and extra cells are dropped.
    public mutating func append(_ row: [String]) {
        rows.append((0..<headers.count).map { $0 < row.count ? row[$0] : "" })
    }

    /// The table as lines joined by newlines, without a trailing newline.
    public func rendered() -> String {
        let widths = headers.indices.map { column in
            ([headers[column]] + rows.map { $0[column] }).map(\.count).max() ?? 0
        }
        let rightAligned = headers.indices.map { column in
            !rows.isEmpty && rows.allSatisfy { Self.isNumeric($0[column]) }
        }
        func line(_ cells: [String]) -> String {
            let padded = cells.enumerated().map { column, cell in
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                return rightAligned[column] ? padding + cell : cell + padding
            }
            return String(padded.joined(separator: "  ").reversed().drop { $0 == " " }.reversed())
        }
        return ([line(headers), line(widths.map { String(repeating: "-", count: $0) })] + rows.map(line))
            .joined(separator: "\n")
    }

    private static func isNumeric(_ cell: String) -> Bool {
        cell.isEmpty || cell == "-" || Double(cell) != nil
    }
}
