import Foundation
import Testing
@testable import CLTrain

/// The OpenCL runtime layer: errors name the failing call, tensors stay on their device. (Build
/// failures and the binary cache: ProgramBinaryCacheTests.)
@Suite(.enabled(if: !DeviceRegistry.shared.openCLDevices.isEmpty,
                "no OpenCL platform: OpenCL runtime tests skipped, CPU tests still run"))
struct OpenCLRuntimeTests {
    let context: OpenCLContext

    init() throws {
        context = try DeviceRegistry.shared.context(ofOpenCLDevice: 0)
    }

    @Test func failedCallIsNamedWithItsKernelAndCode() throws {
        let backend = try OpenCLBackend(context: context)
        let kernel = backend.kernels.gemmDirect[0]
        let a = try backend.makeTensor(shape: [4, 4], elementType: .float32)
        try kernel.setArguments([.int(4), .int(4), .int(4), .float(1), .buffer(try backend.buffer(a, "t")), .int(0), .int(4),
                                 .buffer(try backend.buffer(a, "t")), .int(0), .int(4), .float(0),
                                 .buffer(try backend.buffer(a, "t")), .int(0), .int(4)])
        // gemm is compiled for one work-group shape; any other is refused by the driver.
        #expect {
            try backend.queue.launch(kernel, global: [3, 3], local: [3, 3])
        } throws: { error in
            "\(error)" == "clEnqueueNDRangeKernel(gemm_direct_nn): CL_INVALID_WORK_GROUP_SIZE"
        }
    }

    // A tensor of another device needs a second device: POCL_DEVICES="pthread pthread" gives two.
    @Test(.enabled(if: DeviceRegistry.shared.openCLDevices.count >= 2,
                   "one OpenCL device: a tensor of another device cannot be made (POCL_DEVICES=\"pthread pthread\" gives two)"))
    func tensorOfAnotherDeviceIsRefused() throws {
        let first = try OpenCLBackend(context: context)
        let second = try OpenCLBackend(context: DeviceRegistry.shared.context(ofOpenCLDevice: 1))
        let foreign = try second.makeTensor(shape: [2, 2], elementType: .float32)
        let local = try first.makeTensor(shape: [2, 2], elementType: .float32)
        #expect(throws: CLTrainError.wrongDevice(operation: "gemm", tensorLocation: foreign.location, backend: first.name)) {
            try first.gemm(transposeA: false, transposeB: false, alpha: 1, local, foreign, beta: 0, local)
        }
    }

    /// A gemm part given to the tiled kernel on a backend without one is an error, never skipped
    /// (which would leave that block of C unwritten). The launch plan cannot produce it from
    /// input, so the pieces are called directly.
    @Test func aTiledPartWithoutATiledKernelThrows() throws {
        let backend = try OpenCLBackend(context: context, tiledGemm: nil, dispatch: .directOnly)
        let error = #expect(throws: CLTrainError.self) { _ = try backend.tiledGemmKernel(index: 0, vectorLoads: true) }
        #expect(error.map { "\($0)" }?.contains("gemm on \(backend.name): no tiled kernel") == true)
        let part = GemmLaunch(kernel: .tiled, rows: 0..<64, columns: 0..<32)
        #expect("\(backend.tiledPartWithoutTiledKernel(part))".contains("rows 0..<64 and columns 0..<32"))
    }

    @Test func twoQueuesOnOneDeviceShareTensors() throws {
        let producer = try OpenCLBackend(context: context)
        let consumer = try OpenCLBackend(context: context)
        let x = try producer.makeTensor(shape: [5], elementType: .float32)
        try producer.fill(x, with: 3)
        try producer.synchronize()
        try consumer.scale(x, by: 2)
        #expect(try consumer.download(x) == [Float](repeating: 6, count: 5))
    }
}
