/// Which update rule training uses.
public enum OptimizerKind: String, Codable, Sendable, CaseIterable {
    /// Plain SGD, as Sutskever et al. (2014): no momentum; learning rate 0.7 by default.
    case sgd
    /// Adam (Kingma & Ba 2015) with bias correction; learning rate 0.001 by default.
    case adam

    public var defaultLearningRate: Float {
        switch self {
        case .sgd: 0.7
        case .adam: 0.001
        }
    }
}

/// Applies one update to every parameter from its gradient, keeping whatever state the rule needs
/// on the parameters' device.
public protocol Optimizer: AnyObject {
    var kind: OptimizerKind { get }
    /// Updates taken so far.
    var stepCount: Int { get }
    func step(_ parameters: [Parameter], learningRate: Float) throws
    /// The names of the state tensors kept per parameter (e.g. "adam.m"), each of its shape.
    var stateNames: [String] { get }
    /// State tensor `name` of `parameter` (the parameter as passed to `step`).
    func state(_ name: String, of parameter: Parameter) -> Tensor?
    /// After the state tensors have been restored from a checkpoint.
    func restoreStepCount(_ stepCount: Int)
}

/// An optimizer for `parameters`; its state lives beside each parameter, on the parameter's device.
extension Optimizer {
    func requireState(_ name: String, of parameter: Parameter) throws -> Tensor {
        guard let tensor = state(name, of: parameter) else {
            throw CLTrainError.invalidArgument("the optimizer keeps no '\(name)' for parameter '\(parameter.name)'")
        }
        return tensor
    }
}

public func makeOptimizer(_ kind: OptimizerKind, parameters: [Parameter]) throws -> Optimizer {
    switch kind {
    case .sgd: SGD()
    case .adam: try Adam(parameters: parameters)
    }
}

/// θ ← θ − η·g.
final class SGD: Optimizer {
    private(set) var stepCount = 0
    var kind: OptimizerKind { .sgd }

    func step(_ parameters: [Parameter], learningRate: Float) throws {
        let next = try Checked.increment(stepCount, what: "the optimizer's step count")
        for p in parameters { try p.backend.sgdUpdate(parameter: p.value, gradient: p.gradient, learningRate: learningRate) }
        stepCount = next
    }

    var stateNames: [String] { [] }
    func state(_ name: String, of parameter: Parameter) -> Tensor? { nil }
    func restoreStepCount(_ stepCount: Int) { self.stepCount = stepCount }
}

/// m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  θ ← θ − η·m̂/(√v̂ + ε), with m̂, v̂ bias-corrected.
final class Adam: Optimizer {
    let beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8
    private let moments: [ObjectIdentifier: (first: Tensor, second: Tensor)]
    private(set) var stepCount = 0
    var kind: OptimizerKind { .adam }

    init(parameters: [Parameter]) throws {
        var moments: [ObjectIdentifier: (first: Tensor, second: Tensor)] = [:]
        for p in parameters {
            moments[ObjectIdentifier(p)] = (try p.backend.makeTensor(p.shape, filledWith: 0),
                                            try p.backend.makeTensor(p.shape, filledWith: 0))
        }
        self.moments = moments
    }

    func step(_ parameters: [Parameter], learningRate: Float) throws {
        // Checked before any update: a restored count at Int.max must not trap (or update half the parameters).
        stepCount = try Checked.increment(stepCount, what: "the optimizer's step count")
        for p in parameters {
            guard let m = moments[ObjectIdentifier(p)] else {
                throw CLTrainError.invalidArgument("Adam.step: parameter '\(p.name)' was not given when the optimizer was made")
            }
            try p.backend.adamUpdate(parameter: p.value, gradient: p.gradient, firstMoment: m.first, secondMoment: m.second,
                                     learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon, step: stepCount)
        }
    }

    var stateNames: [String] { ["adam.m", "adam.v"] }

    func state(_ name: String, of parameter: Parameter) -> Tensor? {
        guard let m = moments[ObjectIdentifier(parameter)] else { return nil }
        switch name {
        case "adam.m": return m.first
        case "adam.v": return m.second
        default: return nil
        }
    }

    func restoreStepCount(_ stepCount: Int) { self.stepCount = stepCount }
}
