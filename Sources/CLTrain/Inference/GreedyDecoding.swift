extension StepwiseTranslator {
    /// Greedy decoding: from `<bos>`, each hypothesis takes its most probable next token other
    /// than `<pad>` and `<bos>` (the lowest id on a tie) until `<eos>` or `maxLength` tokens. Rows that finished leave the batch
    /// (`select`), so each step advances only the unfinished ones. Beam search with a beam of 1
    /// must give the same outputs.
    /// - Parameter sources: token ids in reading order, as `encode` takes them.
    /// - Returns: one output per source, without `<bos>` or `<eos>`.
    /// - Throws: `invalidArgument` for a negative `maxLength`; whatever `encode` or `step` throws.
    public func greedyTranslate(_ sources: [[Int32]], maxLength: Int) throws -> [[Int32]] {
        try InputNumber.check(maxLength, "--max-length", in: 0...Int(Int32.max), why: "output tokens per sentence")
        var outputs = [[Int32]](repeating: [], count: sources.count)
        guard !sources.isEmpty, maxLength > 0 else { return outputs }
        var state = try encode(sources)
        var active = Array(sources.indices)   // the source of each row of `state`
        var tokens = [Int32](repeating: TranslationVocabulary.beginningID, count: sources.count)
        let v = targetVocabularySize
        for _ in 0..<maxLength {
            let (logProbabilities, next) = try step(tokens, from: state)
            var keep: [Int] = []
            tokens = []
            for (row, source) in active.enumerated() {
                let scores = logProbabilities[row * v..<(row + 1) * v]
                var best: Int?
                for i in scores.indices where !TranslationVocabulary.neverGenerated.contains(Int32(i - scores.startIndex)) {
                    if best.map({ scores[i] > scores[$0] }) ?? true { best = i }
                }
                guard let best else { continue }   // a vocabulary of the specials alone ends at once
                let token = Int32(best - scores.startIndex)
                guard token != TranslationVocabulary.endID else { continue }
                outputs[source].append(token)
                keep.append(row)
                tokens.append(token)
            }
            guard !keep.isEmpty else { break }
            state = keep.count == active.count ? next : try select(keep, of: next)
            active = keep.map { active[$0] }
        }
        return outputs
    }
}
