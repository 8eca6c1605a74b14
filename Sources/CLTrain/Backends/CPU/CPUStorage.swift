/// Host memory for CPU tensors: one 64-byte-aligned allocation of `elementCapacity` 4-byte
/// elements, bound to the element type of the tensor it was made for, freed in `deinit` when the
/// last tensor viewing it goes away.
final class CPUStorage: TensorStorage {
    let elementCapacity: Int
    let elementType: ElementType
    private let base: UnsafeMutableRawPointer

    /// A new allocation of `elementCount` elements, zero-filled so that the reference backend is
    /// deterministic even where the contract leaves contents unspecified.
    init(elementCount: Int, elementType: ElementType) {
        precondition(elementCount >= 0, "CPUStorage: negative element count \(elementCount)")
        self.elementCapacity = elementCount
        self.elementType = elementType
        // At least one element, so that an empty tensor still has a valid, distinct pointer.
        let allocated = max(elementCount, 1)
        base = UnsafeMutableRawPointer.allocate(byteCount: allocated * 4, alignment: 64)
        switch elementType {
        case .float32: base.initializeMemory(as: Float.self, repeating: 0, count: allocated)
        case .int32: base.initializeMemory(as: Int32.self, repeating: 0, count: allocated)
        }
    }

    deinit { base.deallocate() }

    var location: String { "CPU" }

    /// The float32 elements from element `offset` on.
    func floats(at offset: Int) -> UnsafeMutablePointer<Float> {
        precondition(elementType == .float32 && offset >= 0 && offset <= elementCapacity)
        return base.assumingMemoryBound(to: Float.self) + offset
    }

    /// The int32 elements from element `offset` on.
    func int32s(at offset: Int) -> UnsafeMutablePointer<Int32> {
        precondition(elementType == .int32 && offset >= 0 && offset <= elementCapacity)
        return base.assumingMemoryBound(to: Int32.self) + offset
    }
}
