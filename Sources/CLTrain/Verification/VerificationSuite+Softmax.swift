import Foundation

/// softmax, softmaxCrossEntropy and the split-softmax pieces (softmaxStatistics,
/// softmaxCrossEntropyGradient) cases.
extension VerificationSuite {
    /// (R, C): up to the 80,000-word output layer of the LSTM language model.
    static let softmaxShapes = [(1, 1), (7, 33), (33, 1000), (128, 80000)]
    // 3×9000 rows span several chunks of the OpenCL kernels (4096 by default) and end in a partial
    // one; in place, the gradient overwrites logits that other work-groups are reading.
    static let ignoreIndex: Int32 = -100

    static let softmaxCases: [VerificationCase] =
        softmaxShapes.map { softmax($0, $1) }
        + [softmax(33, 1000, logitScale: 1000), softmax(7, 33, inPlace: true), softmax(7, 33).withViews(),
           softmax(3, 9000, inPlace: true)]
        + softmaxShapes.map { crossEntropy($0, $1) }
        + [crossEntropy(33, 1000, logitScale: 1000), crossEntropy(7, 33, gradient: .inPlace),
           crossEntropy(7, 33, gradient: .none), crossEntropy(7, 33).withViews(),
           crossEntropy(3, 9000, gradient: .inPlace)]
        + softmaxShapes.flatMap { [statistics($0, $1), shardGradient($0, $1)] }
        + [statistics(33, 1000, logitScale: 1000), shardGradient(7, 33, inPlace: true),
           statistics(7, 33).withViews(), shardGradient(7, 33).withViews(), statistics(3, 9000).withViews()]

    /// - Parameter logitScale: logits are uniform in [−logitScale, logitScale); at 1000, exp overflows
    ///   unless the row maximum is subtracted first.
    static func softmax(_ r: Int, _ c: Int, logitScale: Float = 1, inPlace: Bool = false) -> VerificationCase {
        VerificationCase(operation: "softmax", shape: "\(r)×\(c)" + variant(logitScale: logitScale, inPlace: inPlace)) { context in
            let x = try context.random([r, c], scale: logitScale)
            let y = inPlace ? x : try context.writeOnly([r, c])
            try context.backend.softmax(x, into: y)
            try context.output("y", y, reductionLength: c)
        }
    }

    enum GradientOutput { case separate, inPlace, none }

    /// Every fourth target (from the fourth row on) is the ignore index; the gradient is scaled by
    /// 1 / (number of valid targets), as for the mean loss.
    static func crossEntropy(_ r: Int, _ c: Int, logitScale: Float = 1,
                             gradient gradientOutput: GradientOutput = .separate) -> VerificationCase {
        let shape = "\(r)×\(c)" + variant(logitScale: logitScale, inPlace: gradientOutput == .inPlace)
            + (gradientOutput == .none ? " no gradient" : "")
        return VerificationCase(operation: "softmaxCrossEntropy", shape: shape) { context in
            let logits = try context.random([r, c], scale: logitScale)
            var targets = context.randomIndices(count: r, below: c)
            for row in stride(from: 3, to: r, by: 4) { targets[row] = ignoreIndex }
            let validCount = targets.count { $0 != ignoreIndex }
            let losses = try context.writeOnly([r])
            let gradient: Tensor? = switch gradientOutput {
            case .separate: try context.writeOnly([r, c])
            case .inPlace: logits
            case .none: nil
            }
            try context.backend.softmaxCrossEntropy(
                logits: logits, targets: try context.indices(targets), ignoreIndex: ignoreIndex,
                losses: losses, gradient: gradient, gradientScale: 1 / Float(validCount))
            try context.output("losses", losses, reductionLength: c)
            if let gradient { try context.output("gradient", gradient, reductionLength: c) }
        }
    }

    /// Targets: about half in this shard (0..<C), the rest outside it (another shard's, or −1).
    static func shardTargets(_ context: VerificationContext, _ r: Int, _ c: Int) -> [Int32] {
        context.randomIndices(count: r, below: 2 * c).map { $0 < Int32(c) ? $0 : ($0 % 2 == 0 ? -1 : $0) }
    }

    static func statistics(_ r: Int, _ c: Int, logitScale: Float = 1) -> VerificationCase {
        VerificationCase(operation: "softmaxStatistics", shape: "\(r)×\(c)" + variant(logitScale: logitScale, inPlace: false)) { context in
            let logits = try context.random([r, c], scale: logitScale)
            let targets = try context.indices(shardTargets(context, r, c))
            let maxima = try context.writeOnly([r]), sumExp = try context.writeOnly([r]), targetLogits = try context.writeOnly([r])
            try context.backend.softmaxStatistics(logits: logits, targets: targets, maxima: maxima, sumExp: sumExp,
                                                  targetLogits: targetLogits)
            try context.output("maxima", maxima, reductionLength: c)
            try context.output("sumExp", sumExp, reductionLength: c)
            try context.output("targetLogits", targetLogits, reductionLength: 1)
        }
    }

    /// The log normalizers are those of a wider softmax (this shard's plus a random rest), and
    /// every fourth row is ignored (+∞).
    static func shardGradient(_ r: Int, _ c: Int, inPlace: Bool = false) -> VerificationCase {
        VerificationCase(operation: "softmaxCrossEntropyGradient", shape: "\(r)×\(c)" + variant(logitScale: 1, inPlace: inPlace)) { context in
            let logits = try context.random([r, c])
            let targets = try context.indices(shardTargets(context, r, c))
            var z = context.randomValues(count: r).map { Float(log(Double(c))) + 1 + $0 }
            for row in stride(from: 3, to: r, by: 4) { z[row] = .infinity }
            let logNormalizers = try context.tensor([r], z)
            let gradient = inPlace ? logits : try context.writeOnly([r, c])
            try context.backend.softmaxCrossEntropyGradient(logits: logits, targets: targets, logNormalizers: logNormalizers,
                                                            gradientScale: 1 / Float(r), gradient: gradient)
            try context.output("gradient", gradient, reductionLength: 1)
        }
    }

    private static func variant(logitScale: Float, inPlace: Bool) -> String {
        (logitScale == 1 ? "" : " logits ±\(Int(logitScale))") + (inPlace ? " in place" : "")
    }
}
