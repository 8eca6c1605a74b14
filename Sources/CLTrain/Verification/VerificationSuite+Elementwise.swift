/// sgdUpdate, adamUpdate, sumOfSquares, fill, copy, scale, axpy, multiply and dropoutMask cases, on vectors.
extension VerificationSuite {
    static let elementwiseSizes = [1, 7, 1000, 4257]

    static let elementwiseCases: [VerificationCase] =
        [sgdUpdate, adamUpdate, sumOfSquares, fill, copy, scale, axpy, multiply, dropoutMask].flatMap { family in
            elementwiseSizes.map(family) + [family(1000).withViews()]
        }

    static func sgdUpdate(_ size: Int) -> VerificationCase {
        VerificationCase(operation: "sgdUpdate", shape: "\(size)") { context in
            let parameter = try context.random([size])
            let gradient = try context.random([size])
            try context.backend.sgdUpdate(parameter: parameter, gradient: gradient, learningRate: 0.37)
            try context.output("parameter", parameter, reductionLength: 1)
        }
    }

    /// One Adam step at t = 7 with the usual hyperparameters; the second moment starts as squares.
    static func adamUpdate(_ size: Int) -> VerificationCase {
        VerificationCase(operation: "adamUpdate", shape: "\(size)") { context in
            let parameter = try context.random([size])
            let gradient = try context.random([size])
            let firstMoment = try context.random([size])
            let secondMoment = try context.tensor([size], context.randomValues(count: size).map { $0 * $0 })
            try context.backend.adamUpdate(parameter: parameter, gradient: gradient, firstMoment: firstMoment,
                                           secondMoment: secondMoment, learningRate: 0.01, beta1: 0.9,
                                           beta2: 0.999, epsilon: 1e-8, step: 7)
            try context.output("parameter", parameter, reductionLength: 1)
            try context.output("firstMoment", firstMoment, reductionLength: 1)
            try context.output("secondMoment", secondMoment, reductionLength: 1)
        }
    }

    /// Three tensors of different sizes; the reduction runs over all their elements.
    static func sumOfSquares(_ size: Int) -> VerificationCase {
        let sizes = [size, size + 3, 2 * size + 1]
        return VerificationCase(operation: "sumOfSquares", shape: sizes.map(String.init).joined(separator: "+")) { context in
            let tensors = try sizes.map { try context.random([$0]) }
            let sum = try context.backend.sumOfSquares(tensors)
            context.output("sum", value: sum, reductionLength: sizes.reduce(0, +))
        }
    }

    static func fill(_ size: Int) -> VerificationCase {
        VerificationCase(operation: "fill", shape: "\(size)") { context in
            let tensor = try context.random([size])
            try context.backend.fill(tensor, with: 0.75)
            try context.output("tensor", tensor, reductionLength: 1)
        }
    }

    static func copy(_ size: Int) -> VerificationCase {
        VerificationCase(operation: "copy", shape: "\(size)") { context in
            let source = try context.random([size])
            let destination = try context.writeOnly([size])
            try context.backend.copy(source, to: destination)
            try context.output("destination", destination, reductionLength: 1)
        }
    }

    static func scale(_ size: Int) -> VerificationCase {
        VerificationCase(operation: "scale", shape: "\(size)") { context in
            let tensor = try context.random([size])
            try context.backend.scale(tensor, by: -1.25)
            try context.output("tensor", tensor, reductionLength: 1)
        }
    }

    static func axpy(_ size: Int) -> VerificationCase {
        VerificationCase(operation: "axpy", shape: "\(size)") { context in
            let x = try context.random([size])
            let y = try context.random([size])
            try context.backend.axpy(alpha: 0.6, x, y)
            try context.output("y", y, reductionLength: 1)
        }
    }

    static func multiply(_ size: Int) -> VerificationCase {
        VerificationCase(operation: "multiply", shape: "\(size)") { context in
            let x = try context.random([size])
            let y = try context.random([size])
            try context.backend.multiply(x, by: y)
            try context.output("x", x, reductionLength: 1)
        }
    }

    /// Keep 0.8, scale 1.25, from a generator state with every bit pattern likely: the mask must
    /// match the CPU's draw for draw (a single flipped element is an error of 1.25).
    static func dropoutMask(_ size: Int) -> VerificationCase {
        VerificationCase(operation: "dropoutMask", shape: "\(size)") { context in
            let mask = try context.writeOnly([size])
            try context.backend.dropoutMask(mask, keepProbability: 0.8, scale: 1.25,
                                            generatorState: SplitMix64(seed: "dropout \(size)").state)
            try context.output("mask", mask, reductionLength: 1)
        }
    }
}
