extension Backend {
    /// A new float32 tensor of `shape` with every element `value`.
    public func makeTensor(_ shape: [Int], filledWith value: Float) throws -> Tensor {
        let tensor = try makeTensor(shape: shape, elementType: .float32)
        try fill(tensor, with: value)
        return tensor
    }
}
