/// A trainable tensor with its gradient, named as in a PyTorch state_dict
/// (`rnn.weight_ih_l0`, `decoder.bias`, …) so checkpoints load into torch unchanged.
///
/// A parameter may be one shard of a larger named tensor: the decoder split by vocabulary rows
/// over several devices holds `decoder.weight` rows `rows` on each. Checkpoints, initialisation and
/// optimizer state always see the whole tensor (see `LogicalTensor`), so a model's files do not
/// depend on its placement.
public final class Parameter {
    public let name: String
    /// The backend whose device holds `value` and `gradient`: every update of this parameter runs there.
    public let backend: Backend
    public let value: Tensor
    /// Same shape as `value`; layers accumulate into it (zero it before each backward pass).
    public let gradient: Tensor
    /// Which rows (first dimension) of the named tensor this parameter holds.
    public let rows: Range<Int>
    /// The first dimension of the whole named tensor.
    public let totalRows: Int

    init(name: String, shape: [Int], backend: Backend, rows: Range<Int>? = nil, totalRows: Int? = nil) throws {
        self.name = name
        self.backend = backend
        self.rows = rows ?? 0..<shape[0]
        self.totalRows = totalRows ?? shape[0]
        value = try backend.makeTensor(shape: shape, elementType: .float32)
        gradient = try backend.makeTensor(shape, filledWith: 0)
    }

    public var shape: [Int] { value.shape }
    public var count: Int { value.count }
}

/// One named tensor as a checkpoint sees it, whole, with the parameters that hold its row ranges.
struct LogicalTensor {
    let name: String
    let shape: [Int]
    let parts: [Parameter]   // ordered by rows, covering 0..<shape[0]
    var count: Int { shape.reduce(1, *) }
    private var rowSize: Int { shape.dropFirst().reduce(1, *) }

    /// The whole tensor, assembled from each part's `tensor` (the value, a gradient, an optimizer moment…).
    func gather(_ tensor: (Parameter) throws -> Tensor) throws -> [Float] {
        try parts.flatMap { try $0.backend.download(tensor($0)) }
    }

    /// Uploads the rows of `values` (the whole tensor) into each part's `tensor`.
    func scatter(_ values: [Float], _ tensor: (Parameter) throws -> Tensor) throws {
        for part in parts {
            try part.backend.upload(Array(values[part.rows.lowerBound * rowSize..<part.rows.upperBound * rowSize]), to: tensor(part))
        }
    }
}

extension [Parameter] {
    /// Every weight uniform in [−range, range], drawn on the host by whole named tensor in this
    /// order, so a model starts from the same weights whatever its placement.
    func initializeUniformly(seed: UInt64, range: Float) throws {
        var generator = SplitMix64(seed: seed)
        for tensor in logicalTensors {
            try tensor.scatter((0..<tensor.count).map { _ in generator.uniform() * range }, \.value)
        }
    }

    func zeroGradients() throws {
        for parameter in self { try parameter.backend.fill(parameter.gradient, with: 0) }
    }

    /// The named tensors, in order of first appearance, each with its shards in row order.
    var logicalTensors: [LogicalTensor] {
        var order: [String] = []
        var parts: [String: [Parameter]] = [:]
        for p in self {
            if parts[p.name] == nil { order.append(p.name) }
            parts[p.name, default: []].append(p)
        }
        return order.map { name in
            let shards = parts[name]!.sorted { $0.rows.lowerBound < $1.rows.lowerBound }
            return LogicalTensor(name: name, shape: [shards[0].totalRows] + shards[0].shape.dropFirst(), parts: shards)
        }
    }
}

/// Tensors that are reallocated only when the shape they must have changes (a new batch size or
/// BPTT length), so the training loop allocates nothing per step. Keyed by name and backend.
struct Workspace {
    private var tensors: [String: Tensor] = [:]
    private var indexTensors: [String: IndexTensor] = [:]

    /// Index tensor `name` on `backend` holding `values`: made once per count, then refilled in
    /// place (`Backend.uploadIndices`), so a step allocates no index buffers (nor the embedding's
    /// index groups derived from them).
    mutating func indices(_ name: String, _ values: [Int32], on backend: Backend) throws -> IndexTensor {
        let key = "\(ObjectIdentifier(backend).hashValue)/\(name)"
        if let existing = indexTensors[key], existing.count == values.count {
            try backend.uploadIndices(values, into: existing)
            return existing
        }
        let made = try backend.makeIndices(values)
        indexTensors[key] = made
        return made
    }

    mutating func tensor(_ name: String, _ shape: [Int], on backend: Backend) throws -> Tensor {
        let key = "\(ObjectIdentifier(backend).hashValue)/\(name)"
        if let existing = tensors[key], existing.shape == shape { return existing }
        let tensor = try backend.makeTensor(shape: shape, elementType: .float32)
        tensors[key] = tensor
        return tensor
    }
}
