/// Ranks started with different options would train different things and then hang or corrupt one
/// another in the collectives: before any of those, each rank hashes what must agree, group by
/// group, and the groups' hashes are compared by the range of each over the ranks.
extension Collective {
    /// Throws `RanksDisagree` naming every group whose text differs between ranks (on every rank
    /// alike, so all of them stop together, and none is left waiting in a collective).
    /// - Parameter groups: (what, its canonical text), in the same order on every rank.
    public func requireAgreement(on groups: [(what: String, text: String)]) throws {
        var differing: [String] = []
        for group in groups {
            var hash = FNV1a()
            hash.combine(group.text)
            let (minimum, maximum) = try range(of: hash.value)
            if minimum != maximum { differing.append(group.what) }
        }
        if !differing.isEmpty { throw RanksDisagree(groups: differing, ranks: size) }
    }
}

/// The ranks of a data-parallel job were started with different options.
public struct RanksDisagree: Error, CustomStringConvertible, Equatable {
    public let groups: [String]
    public let ranks: Int

    public var description: String {
        "the \(ranks) data-parallel ranks disagree on \(groups.joined(separator: ", ")): every rank must run the same command on the same data (each rank's own devices may differ); refused before training"
    }
}
