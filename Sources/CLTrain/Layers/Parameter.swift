/// A trainable tensor with its gradient, named as in a PyTorch state_dict
/// (`rnn.weight_ih_l0`, `decoder.bias`, …) so checkpoints load into torch unchanged.
public final class Parameter {
    public let name: String
    public let value: Tensor
    /// Same shape as `value`; layers accumulate into it (zero it before each backward pass).
    public let gradient: Tensor

    init(name: String, shape: [Int], backend: Backend) throws {
        self.name = name
        value = try backend.makeTensor(shape: shape, elementType: .float32)
        gradient = try backend.makeTensor(shape: shape, elementType: .float32)
        try backend.fill(gradient, with: 0)
    }

    public var shape: [Int] { value.shape }
    public var count: Int { value.count }
}

/// A tensor that is reallocated only when the shape it must have changes (a new batch size or
/// BPTT length), so the training loop allocates nothing per step.
struct Workspace {
    private var tensors: [String: Tensor] = [:]

    mutating func tensor(_ name: String, _ shape: [Int], on backend: Backend) throws -> Tensor {
        if let existing = tensors[name], existing.shape == shape { return existing }
        let tensor = try backend.makeTensor(shape: shape, elementType: .float32)
        tensors[name] = tensor
        return tensor
    }
}
