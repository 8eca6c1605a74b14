/// A tensor's values on their way through host memory, from one memory domain to another
/// (`Transport`): the producer starts a read (`Backend.stage`) that may still be running when it
/// returns; each consumer then writes the values into a tensor of its own (`Backend.uploadStaged`),
/// which waits on the host for the read first. Staged values stay valid as long as this object lives.
public protocol HostStagedTensor: AnyObject, Sendable {
    /// Elements staged, row-major.
    var count: Int { get }
    /// Waits for the read to end and returns a copy of the values.
    func values() throws -> [Float]
}

/// Values already read into an array: the staging of a backend without asynchronous reads (the
/// CPU backend, wrappers), and of the defaults below.
public final class HostValues: HostStagedTensor {
    public let stored: [Float]
    public init(_ values: [Float]) { stored = values }
    public var count: Int { stored.count }
    public func values() throws -> [Float] { stored }
}

extension Backend {
    /// A blocking download (the protocol's default for backends that cannot do better).
    public func stage(_ tensor: Tensor) throws -> HostStagedTensor { HostValues(try download(tensor)) }

    /// An upload of the staged values (the protocol's default).
    public func uploadStaged(_ staged: HostStagedTensor, to tensor: Tensor) throws {
        try upload(staged.values(), to: tensor)
    }
}
