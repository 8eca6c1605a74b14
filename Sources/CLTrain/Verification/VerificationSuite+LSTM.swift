/// lstmCellForward and lstmCellBackward cases.
extension VerificationSuite {
    /// (B, H): up to batch 128 with 1000 hidden units.
    static let lstmShapes = [(1, 1), (7, 33), (33, 129), (128, 1000)]

    static let lstmCases: [VerificationCase] =
        lstmShapes.map { lstmForward($0, $1) }
        + [lstmForward(7, 33).withViews()]
        + lstmShapes.flatMap { b, h in [lstmBackward(b, h, cellGradient: true), lstmBackward(b, h, cellGradient: false)] }
        + [lstmBackward(7, 33, cellGradient: true, inPlace: true), lstmBackward(7, 33, cellGradient: true).withViews()]

    static func lstmForward(_ b: Int, _ h: Int) -> VerificationCase {
        VerificationCase(operation: "lstmCellForward", shape: "\(b)×\(h)") { context in
            // Pre-activations in [−3, 3) reach into the saturating parts of σ and tanh.
            let gates = try context.random([b, 4 * h], scale: 3)
            let cellPrevious = try context.random([b, h], scale: 2)
            let cell = try context.writeOnly([b, h])
            let hidden = try context.writeOnly([b, h])
            try context.backend.lstmCellForward(gates: gates, cellPrevious: cellPrevious, cell: cell, hidden: hidden)
            try context.output("gates", gates, reductionLength: 1)
            try context.output("cell", cell, reductionLength: 1)
            try context.output("hidden", hidden, reductionLength: 1)
        }
    }

    /// The gates hold activations as the forward pass leaves them: σ(i), σ(f), σ(o) in [0, 1),
    /// tanh(g) in [−1, 1).
    static func lstmBackward(_ b: Int, _ h: Int, cellGradient: Bool, inPlace: Bool = false) -> VerificationCase {
        let shape = "\(b)×\(h)" + (cellGradient ? "" : " no cellGradient") + (inPlace ? " in place" : "")
        return VerificationCase(operation: "lstmCellBackward", shape: shape) { context in
            var activations = context.randomValues(count: b * 4 * h)
            for index in activations.indices where index % (4 * h) / h != 2 {   // all blocks but g
                activations[index] = (activations[index] + 1) / 2
            }
            let gates = try context.tensor([b, 4 * h], activations)
            let cellPrevious = try context.random([b, h], scale: 2)
            let cell = try context.random([b, h], scale: 2)
            let hiddenGradient = try context.random([b, h])
            let cellGradientTensor = cellGradient ? try context.random([b, h]) : nil
            let gatesGradient = inPlace ? gates : try context.writeOnly([b, 4 * h])
            let cellPreviousGradient = try context.writeOnly([b, h])
            try context.backend.lstmCellBackward(
                gates: gates, cellPrevious: cellPrevious, cell: cell, hiddenGradient: hiddenGradient,
                cellGradient: cellGradientTensor, gatesGradient: gatesGradient,
                cellPreviousGradient: cellPreviousGradient)
            try context.output("gatesGradient", gatesGradient, reductionLength: 1)
            try context.output("cellPreviousGradient", cellPreviousGradient, reductionLength: 1)
        }
    }
}
