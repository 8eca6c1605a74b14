import CLTrain
import CLTrainKernels

/// What a device can reach at best, to express a measured rate as a share of it.
public struct DevicePeak: Codable, Sendable, Equatable {
    /// Floating-point operations per second (an FMA counts as 2).
    public var flopsPerSecond: Double
    /// Bytes per second moved to and from device memory (a copy counts its reads and its writes).
    public var bytesPerSecond: Double
    /// How the two were measured, in words, for the report.
    public var method: String

    public init(flopsPerSecond: Double, bytesPerSecond: Double, method: String) {
        self.flopsPerSecond = flopsPerSecond
        self.bytesPerSecond = bytesPerSecond
        self.method = method
    }
}

/// Measures an OpenCL device's peak FLOP/s and bytes/s with the roofline kernels of
/// Kernels/roofline.cl, the way clpeak does: many work-items running long FMA chains (float4,
/// float8 and float16; the best counts), and a large buffer-to-buffer copy, each timed by its kernel's own
/// profiling event after a warm-up, the median of several runs taken.
public enum OpenCLRoofline {
    /// - Parameters:
    ///   - backend: the device to measure; its queue runs the kernels.
    ///   - quick: small problems and one run each (a smoke test, not a measurement).
    /// - Throws: `OpenCLError` or `OpenCLBuildError` from the runtime.
    public static func measure(on backend: OpenCLBackend, quick: Bool = false) throws -> DevicePeak {
        let rounds = 64   // FMA_ROUNDS: 64 rounds of 64 mad()s per work-item
        let program = try backend.context.program(
            name: KernelFamily.roofline.fileName, source: KernelFamily.roofline.source,
            options: backend.parameters.buildOptions(for: .roofline) + " -D FMA_ROUNDS=\(rounds)",
            kernels: ["roofline_fma_float4", "roofline_fma_float8", "roofline_fma_float16", "roofline_copy"])
        let runs = quick ? 1 : 5
        // Launches long enough that launch overhead and clock resolution do not matter.
        let targetSeconds = quick ? 0.001 : 0.02

        var fma: [(width: Int, flopsPerSecond: Double)] = []
        let sink = try backend.makeTensor(shape: [1], elementType: .float32)
        for width in [4, 8, 16] {
            let kernel = try program.makeKernel("roofline_fma_float\(width)")
            try kernel.setArguments([.float(0.999), .float(0.001), .float(-1), .buffer(backend.buffer(sink, "roofline"))])
            let local = min(256, try kernel.maxWorkGroupSize())
            let flopsPerItem = Double(rounds * 64 * 2 * width)
            // Double the work until one launch takes the target time (the first launches warm up).
            var groups = 4 * max(backend.device.computeUnits, 1)
            var seconds = try timedLaunch(kernel, items: groups * local, local: local, on: backend.queue)
            while seconds < targetSeconds && groups < (1 << 22) {
                groups *= 2
                seconds = try timedLaunch(kernel, items: groups * local, local: local, on: backend.queue)
            }
            var samples: [Double] = []
            for _ in 0..<runs { samples.append(try timedLaunch(kernel, items: groups * local, local: local, on: backend.queue)) }
            let median = try TimingSummary(samples: samples).median
            fma.append((width, flopsPerItem * Double(groups * local) / median))
        }

        // The copy: large enough to leave every cache behind on a GPU; smaller on CPU devices,
        // whose memory is the host's and whose time is precious.
        let megabytes = quick ? 16 : backend.device.isGPU ? min(1024, Int(backend.device.globalMemoryBytes >> 24)) : 128
        let vectors = megabytes << 16   // float4s of 16 bytes
        let source = try backend.makeTensor(shape: [4 * vectors], elementType: .float32)
        let destination = try backend.makeTensor(shape: [4 * vectors], elementType: .float32)
        try backend.fill(source, with: 1)
        try backend.fill(destination, with: 0)
        let copy = try program.makeKernel("roofline_copy")
        try copy.setArguments([.int(Int32(vectors)), .buffer(backend.buffer(source, "roofline")),
                               .buffer(backend.buffer(destination, "roofline"))])
        let local = min(256, try copy.maxWorkGroupSize())
        _ = try timedLaunch(copy, items: vectors, local: local, on: backend.queue)   // warm-up
        var samples: [Double] = []
        for _ in 0..<runs { samples.append(try timedLaunch(copy, items: vectors, local: local, on: backend.queue)) }
        let bytesPerSecond = Double(2 * 16 * vectors) / (try TimingSummary(samples: samples).median)

        let best = fma.map(\.flopsPerSecond).reduce(0, max)
        let widths = fma.map { "float\($0.width) \(String(format: "%.0f", $0.flopsPerSecond / 1e9)) GFLOP/s" }
        return DevicePeak(flopsPerSecond: best, bytesPerSecond: bytesPerSecond,
                          method: "roofline.cl: FMA chains (\(widths.joined(separator: ", "))), "
                                  + "copy of \(megabytes) MiB; kernel events, median of \(runs)")
    }

    /// Launches `kernel` (arguments already set) over `items` work-items and returns its device
    /// time from its own profiling event.
    private static func timedLaunch(_ kernel: OpenCLKernel, items: Int, local: Int, on queue: OpenCLQueue) throws -> Double {
        guard let event = try queue.launch(kernel, global: [items], local: [local], wantEvent: true) else {
            throw CLTrainError.invalidArgument("\(kernel.name): nothing to launch")
        }
        return try event.elapsedSeconds()
    }
}
