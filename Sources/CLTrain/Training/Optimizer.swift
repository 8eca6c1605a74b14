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
    /// The state to checkpoint, as named tensors (read from the device).
    func stateEntries(_ parameters: [Parameter]) throws -> [SafeTensors.Entry]
    /// Restores what `stateEntries` saved; every entry must be present with the right shape.
    func restore(from file: SafeTensors, parameters: [Parameter], stepCount: Int) throws
}

public func makeOptimizer(_ kind: OptimizerKind, backend: Backend, parameters: [Parameter]) throws -> Optimizer {
    switch kind {
    case .sgd: SGD(backend: backend)
    case .adam: try Adam(backend: backend, parameters: parameters)
    }
}

/// θ ← θ − η·g.
final class SGD: Optimizer {
    let backend: Backend
    private(set) var stepCount = 0
    var kind: OptimizerKind { .sgd }

    init(backend: Backend) { self.backend = backend }

    func step(_ parameters: [Parameter], learningRate: Float) throws {
        for p in parameters { try backend.sgdUpdate(parameter: p.value, gradient: p.gradient, learningRate: learningRate) }
        stepCount += 1
    }

    func stateEntries(_ parameters: [Parameter]) throws -> [SafeTensors.Entry] { [] }

    func restore(from file: SafeTensors, parameters: [Parameter], stepCount: Int) throws {
        self.stepCount = stepCount
    }
}

/// m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  θ ← θ − η·m̂/(√v̂ + ε), with m̂, v̂ bias-corrected.
final class Adam: Optimizer {
    let backend: Backend
    let beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8
    private let moments: [(first: Tensor, second: Tensor)]
    private(set) var stepCount = 0
    var kind: OptimizerKind { .adam }

    init(backend: Backend, parameters: [Parameter]) throws {
        self.backend = backend
        moments = try parameters.map { p in
            let m = try backend.makeTensor(shape: p.shape, elementType: .float32)
            let v = try backend.makeTensor(shape: p.shape, elementType: .float32)
            try backend.fill(m, with: 0)
            try backend.fill(v, with: 0)
            return (m, v)
        }
    }

    func step(_ parameters: [Parameter], learningRate: Float) throws {
        stepCount += 1
        for (p, m) in zip(parameters, moments) {
            try backend.adamUpdate(parameter: p.value, gradient: p.gradient, firstMoment: m.first, secondMoment: m.second,
                                   learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon, step: stepCount)
        }
    }

    func stateEntries(_ parameters: [Parameter]) throws -> [SafeTensors.Entry] {
        try zip(parameters, moments).flatMap { p, m in
            [SafeTensors.Entry(name: "adam.m.\(p.name)", shape: p.shape, values: try backend.download(m.first)),
             SafeTensors.Entry(name: "adam.v.\(p.name)", shape: p.shape, values: try backend.download(m.second))]
        }
    }

    func restore(from file: SafeTensors, parameters: [Parameter], stepCount: Int) throws {
        for (p, m) in zip(parameters, moments) {
            for (name, tensor) in [("adam.m.\(p.name)", m.first), ("adam.v.\(p.name)", m.second)] {
                guard let entry = file[name], entry.shape == p.shape else {
                    throw CLTrainError.invalidArgument("training state lacks '\(name)' of shape \(p.shape.shapeString)")
                }
                try backend.upload(entry.values, to: tensor)
            }
        }
        self.stepCount = stepCount
    }
}
