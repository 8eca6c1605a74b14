/// A model whose parameters live on a placement (`ModelDevices`): the language model and the
/// encoder–decoder. What does not depend on the architecture is written once here.
public protocol PlacedModel: AnyObject {
    var devices: ModelDevices { get }
    /// Every weight, in state_dict order (the order weights are drawn and checkpoints list them).
    var parameters: [Parameter] { get }
}

extension PlacedModel {
    /// The backend of the first layer (and the embedding, or both stacks' embeddings).
    /// Parameters name their own backends.
    public var backend: Backend { devices.layers[0] }

    /// Every weight uniform in [−range, range], as Sutskever et al. (2014) initialise (range 0.08).
    /// Drawn on the host by whole tensor in state_dict order, so every placement on every backend
    /// starts from identical weights.
    public func initializeWeights(seed: UInt64, range: Float = 0.08) throws {
        try parameters.initializeUniformly(seed: seed, range: range)
    }

    public func zeroGradients() throws { try parameters.zeroGradients() }

    /// Waits for the work enqueued on every backend of the model.
    public func synchronize() throws {
        for backend in devices.backends { try backend.synchronize() }
    }
}
