import Foundation

/// Where dropout applies, all on non-recurrent connections (the recurrent h → h path never drops,
/// as Zaremba et al. 2014 prescribe).
public enum DropoutSite: String, Codable, Sendable, CaseIterable {
    /// The embedding's output, the first layer's input.
    case embedding
    /// Each layer's output on its way to the next (PyTorch nn.LSTM's `dropout`; the default).
    case between
    /// The top layer's output on its way to the decoder.
    case output

    /// Zaremba et al.'s placement: every non-recurrent connection (their TensorFlow code drops
    /// the embedded inputs and wraps every cell in an output DropoutWrapper).
    public static let zaremba: [DropoutSite] = [.embedding, .between, .output]

    /// "embedding,between,output" → the sites, in that canonical order; unknown names are refused.
    public static func parseList(_ text: String) throws -> [DropoutSite] {
        let names = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        var sites: Set<DropoutSite> = []
        for name in names {
            guard let site = DropoutSite(rawValue: name) else {
                throw CLTrainError.invalidArgument("--dropout-at '\(text)': '\(name)' is not a dropout site "
                                                   + "(\(allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            sites.insert(site)
        }
        return allCases.filter(sites.contains)
    }
}
