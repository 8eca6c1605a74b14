import Foundation

/// What one device can hold, for refusing a model before allocating it: the OpenCL device's
/// global memory and largest buffer (CL_DEVICE_GLOBAL_MEM_SIZE, CL_DEVICE_MAX_MEM_ALLOC_SIZE), or
/// the host's physical memory for the CPU backend.
public struct DeviceMemory: Equatable, Sendable {
    /// The device's name as messages give it, e.g. "opencl:0 (NVIDIA H100 80GB HBM3)".
    public var name: String
    public var totalBytes: Int
    /// The largest single buffer.
    public var maxAllocationBytes: Int
    /// The most elements one tensor may have: the OpenCL kernels index with 32-bit `int`.
    public var maxTensorElements: Int

    public init(name: String, totalBytes: Int, maxAllocationBytes: Int, maxTensorElements: Int) {
        self.name = name
        self.totalBytes = totalBytes
        self.maxAllocationBytes = maxAllocationBytes
        self.maxTensorElements = maxTensorElements
    }

    /// The host, where the CPU backend (and every token stream) lives.
    public static var host: DeviceMemory {
        let bytes = Int(clamping: ProcessInfo.processInfo.physicalMemory)
        return DeviceMemory(name: "this host", totalBytes: bytes, maxAllocationBytes: bytes, maxTensorElements: .max)
    }

    /// The memory of the device `backend` runs on.
    public static func of(_ backend: Backend) -> DeviceMemory {
        if let profiling = backend as? ProfilingBackend { return of(profiling.base) }
        guard let openCL = backend as? OpenCLBackend else {
            var host = DeviceMemory.host
            host.name = "\(backend.name) (this host's memory)"
            return host
        }
        var memory = of(openCL.device)
        memory.name = openCL.name
        return memory
    }

    /// The memory of an OpenCL device, from what it reports.
    public static func of(_ device: OpenCLDeviceDescription) -> DeviceMemory {
        DeviceMemory(name: "opencl:\(device.index) (\(device.name))", totalBytes: Int(clamping: device.globalMemoryBytes),
                     maxAllocationBytes: Int(clamping: device.maxAllocationBytes), maxTensorElements: Int(Int32.max))
    }

    /// The memory of `device` in `registry`, without making a backend for it.
    public static func of(_ device: DeviceSelection, registry: DeviceRegistry = .shared) throws -> DeviceMemory {
        switch device {
        case .cpu:
            var host = DeviceMemory.host
            host.name = "cpu (this host's memory)"
            return host
        case .openCL(let index):
            return of(try registry.description(ofOpenCLDevice: index))
        }
    }

    /// Refuses `estimate` (what `what` needs, e.g. "training --hidden 4096 …") unless it fits: the
    /// total in the device's memory, the largest tensor in one buffer and in the kernels' index range.
    public func require(_ estimate: MemoryEstimate, for what: String) throws {
        if estimate.saturated || estimate.totalBytes > totalBytes {
            throw InsufficientMemory("\(what) needs \(estimate); \(name) has \(formatBytes(totalBytes))")
        }
        let largest = estimate.largestTensor
        if largest.elements > maxTensorElements {
            throw InsufficientMemory("\(what): \(largest.name) has \(largest.elements) elements; \(name) indexes a tensor "
                                     + "with 32-bit int, at most \(maxTensorElements) elements")
        }
        let (largestBytes, overflow) = largest.elements.multipliedReportingOverflow(by: 4)
        if overflow || largestBytes > maxAllocationBytes {
            throw InsufficientMemory("\(what): \(largest.name) needs \(formatBytes(overflow ? .max : largestBytes)) in one buffer; "
                                     + "\(name) allocates at most \(formatBytes(maxAllocationBytes)) at once (CL_DEVICE_MAX_MEM_ALLOC_SIZE)")
        }
    }
}

/// A model, batch or data set that does not fit in a device's memory: the figure and the device's.
public struct InsufficientMemory: Error, CustomStringConvertible, Equatable, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
