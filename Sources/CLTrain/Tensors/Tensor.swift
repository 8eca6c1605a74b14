/// Where a tensor's elements live: host memory for the CPU backend, a device buffer for OpenCL.
protocol TensorStorage: AnyObject {
    /// How many 4-byte elements the allocation holds.
    var elementCapacity: Int { get }
    /// Where this storage lives, for error messages ("OpenCL device 1 (…)", "CPU").
    var location: String { get }
}

/// The element type of a tensor. Both are 4 bytes wide.
public enum ElementType: String, Sendable {
    case float32
    case int32
}

/// A dense, row-major tensor on one backend's device.
///
/// A tensor may be a view: several tensors can share one allocation at different element offsets
/// (see `rows(_:)`), which is how per-time-step slices of a sequence are addressed without copies.
/// Data moves only through explicit backend operations (`upload`, `download`, `copy`).
public final class Tensor: CustomStringConvertible {
    public let shape: [Int]
    public let elementType: ElementType
    /// Offset of the first element in `storage`, in elements.
    let offset: Int
    let storage: TensorStorage

    init(shape: [Int], elementType: ElementType, storage: TensorStorage, offset: Int = 0) {
        self.shape = shape
        self.elementType = elementType
        self.storage = storage
        self.offset = offset
    }

    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }
    public var rank: Int { shape.count }
    /// Where the data lives, e.g. "CPU" or "OpenCL device 0 (NVIDIA H100 80GB HBM3)".
    public var location: String { storage.location }

    public var description: String {
        "Tensor(\(shape.map(String.init).joined(separator: "×")), \(elementType.rawValue), \(location))"
    }

    /// Rows `range` of the first dimension, as a view sharing this tensor's storage.
    public func rows(_ range: Range<Int>) throws -> Tensor {
        guard rank >= 1, range.lowerBound >= 0, range.upperBound <= shape[0] else {
            throw CLTrainError.invalidArgument("rows(\(range)) of a tensor of shape \(shape.shapeString)")
        }
        let rowSize = shape.dropFirst().reduce(1, *)
        return Tensor(shape: [range.count] + shape.dropFirst(), elementType: elementType, storage: storage,
                      offset: offset + range.lowerBound * rowSize)
    }

    /// The same elements seen with another shape of equal element count.
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        guard try OperationChecks.elementCount(newShape, "reshape") == count else {
            throw CLTrainError.shapeMismatch(operation: "reshape",
                                             detail: "cannot view \(shape.shapeString) as \(newShape.shapeString)")
        }
        return Tensor(shape: newShape, elementType: elementType, storage: storage, offset: offset)
    }
}

/// Integer indices (token ids, class targets) on a device, with the host copy they were uploaded
/// from. Indices always originate on the host; keeping that copy lets every operation validate
/// them (an out-of-range id is a thrown error, not a wild memory access) without a device round trip.
public final class IndexTensor {
    public private(set) var values: [Int32]
    public let tensor: Tensor
    /// Device-side helpers derived from `values` by the backend that owns `tensor` (for example
    /// the grouping that makes the embedding gradient deterministic), computed once per `version`.
    var derived: [String: AnyObject] = [:]
    /// Counts the times `values` were replaced (`Backend.uploadIndices`): a derived helper made
    /// for an earlier version is stale.
    private(set) var version = 0

    init(values: [Int32], tensor: Tensor) {
        self.values = values
        self.tensor = tensor
    }

    /// Records that `tensor` now holds `newValues` (the same count), for the backends' uploads.
    func replaceValues(_ newValues: [Int32]) {
        values = newValues
        version += 1
    }

    public var count: Int { values.count }
}

extension [Int] {
    /// "128×4000", as shapes are written in messages.
    var shapeString: String { isEmpty ? "scalar" : map(String.init).joined(separator: "×") }
}
