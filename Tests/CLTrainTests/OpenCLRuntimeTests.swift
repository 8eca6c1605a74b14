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

    @Test func tensorOfAnotherDeviceIsRefused() throws {
        let devices = DeviceRegistry.shared.openCLDevices
        guard devices.count >= 2 else { return }   // needs two devices (POCL_DEVICES="pthread pthread")
        let first = try OpenCLBackend(context: context)
        let second = try OpenCLBackend(context: DeviceRegistry.shared.context(ofOpenCLDevice: 1))
        let foreign = try second.makeTensor(shape: [2, 2], elementType: .float32)
        let local = try first.makeTensor(shape: [2, 2], elementType: .float32)
        #expect(throws: CLTrainError.wrongDevice(operation: "gemm", tensorLocation: foreign.location, backend: first.name)) {
            try first.gemm(transposeA: false, transposeB: false, alpha: 1, local, foreign, beta: 0, local)
        }
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
