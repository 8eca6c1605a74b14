/// Which tensors a backend can read and write in its own queue: backends of one domain copy each
/// other's tensors on the device; between domains a tensor goes through host memory. Asked by
/// `Transport`, so nothing above the backends needs to know what a backend is made of.
public struct MemoryDomain: Hashable, @unchecked Sendable {
    private let identity: ObjectIdentifier

    /// The domain of everything allocated through `owner`'s memory (an OpenCL context).
    public init(_ owner: AnyObject) { identity = ObjectIdentifier(owner) }
}

extension Backend {
    /// A backend of its own: only its own tensors (the CPU backend and test wrappers).
    public var memoryDomain: MemoryDomain { MemoryDomain(self) }

    /// Whether `other` can copy from this backend's tensors in its own queue.
    public func canCopyDirectly(to other: Backend) -> Bool { other === self || other.memoryDomain == memoryDomain }
}

extension OpenCLBackend {
    /// Every backend of one OpenCL context: its buffers are usable from each of their queues.
    public var memoryDomain: MemoryDomain { MemoryDomain(context) }
}
