import Testing
@testable import CLTrain
@testable import cltrain_bench

/// What cltrain-bench relies on, on every OpenCL device: marker spans that cover the work between
/// them, the roofline kernels, and the raw handles handed to CLBlast.
@Suite(.enabled(if: !DeviceRegistry.shared.openCLDevices.isEmpty,
                "no OpenCL platform: OpenCL timing tests skipped, CPU tests still run"))
struct OpenCLTimingTests {
    static var devices: [Int] { DeviceRegistry.shared.openCLDevices.map(\.index) }

    private func backend(_ index: Int) throws -> OpenCLBackend {
        try OpenCLBackend(context: DeviceRegistry.shared.context(ofOpenCLDevice: index))
    }

    @Test(arguments: devices)
    func markerSpanCoversTheKernelsBetweenTheMarkers(device: Int) throws {
        let backend = try backend(device)
        let tensor = try backend.makeTensor(shape: [1 << 22], elementType: .float32)
        try backend.fill(tensor, with: 0)
        try backend.synchronize()
        #expect(try backend.queue.deviceSeconds {} >= 0)

        var kernelSeconds = 0.0
        let span = try backend.queue.deviceSeconds {
            for value in 1...3 {
                try backend.kernels.fill.setArguments([.int(Int32(tensor.count))] + backend.operand(tensor, "fill")
                                                      + [.float(Float(value))])
                let event = try #require(try backend.queue.launch(backend.kernels.fill, global: [tensor.count],
                                                                  local: [256], wantEvent: true))
                kernelSeconds += try event.elapsedSeconds()
            }
        }
        #expect(kernelSeconds > 0)
        #expect(span >= kernelSeconds * 0.99, "marker span \(span) s < the kernels' own \(kernelSeconds) s")
        #expect(try backend.download(tensor.rows(0..<4)) == [3, 3, 3, 3])
    }

    @Test(arguments: devices)
    func rooflinePeaksArePositiveAndFinite(device: Int) throws {
        let peak = try OpenCLRoofline.measure(on: backend(device), quick: true)
        #expect(peak.flopsPerSecond > 0 && peak.flopsPerSecond.isFinite)
        #expect(peak.bytesPerSecond > 0 && peak.bytesPerSecond.isFinite)
        #expect(peak.method.contains("roofline.cl"))
    }

    @Test func rawBufferOfATensorElsewhereIsRefused() throws {
        let backend = try backend(0)
        let onCPU = try CPUBackend().makeTensor(shape: [4], elementType: .float32)
        #expect(throws: CLTrainError.self) { try backend.unsafeMemoryObject(of: onCPU) }
        let view = try backend.makeTensor(shape: [4, 3], elementType: .float32).rows(2..<4)
        #expect(try backend.unsafeMemoryObject(of: view).elementOffset == 6)
    }
}
