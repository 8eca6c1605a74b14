import CLTrainKernels
import Logging

extension OpenCLBackend {
    /// The tiled gemm kernels of one parameter set: built with its vector loads, and, on first
    /// need, with scalar loads for operands whose offset or row length breaks their alignment.
    struct TiledGemmKernels {
        let parameters: TiledGemmParameters
        let vector: [OpenCLKernel]   // indexed by transposeA * 2 + transposeB: nn, nt, tn, tt
        var scalar: [OpenCLKernel]?

        /// The four entry points of matmul_tiled.cl built with `parameters`, checked against the
        /// device's limits for these kernels.
        static func build(_ parameters: TiledGemmParameters, context: OpenCLContext) throws -> [OpenCLKernel] {
            let device = context.device
            let problems = parameters.problems(maxWorkGroupSize: device.maxWorkGroupSize,
                                               localMemoryBytes: Int(device.localMemoryBytes))
            guard problems.isEmpty else {
                throw CLTrainError.invalidArgument("tiled gemm parameters \(parameters) cannot run on \(device.name): "
                                                   + problems.joined(separator: "; "))
            }
            let names = ["nn", "nt", "tn", "tt"].map { "gemm_tiled_\($0)" }
            let program = try context.program(name: KernelFamily.matmulTiled.fileName, source: KernelFamily.matmulTiled.source,
                                              options: KernelParameters.buildOptions(parameters.defines), kernels: names)
            let kernels = try names.map { try program.makeKernel($0) }
            for kernel in kernels {
                // The compiled kernel may allow less than the device (registers per work-item).
                let limit = try kernel.maxWorkGroupSize()
                guard parameters.workGroupSize <= limit else {
                    throw CLTrainError.invalidArgument("\(kernel.name) with \(parameters) needs work-groups of "
                                                       + "\(parameters.workGroupSize) on \(device.name), which allows \(limit)")
                }
            }
            return kernels
        }

        /// The kernels for `requested`. With `strict`, any problem throws. Without, illegal values
        /// or a failed build fall back to the generic parameters, then to none (the direct
        /// kernel), logging each step: a bad table row or tuning file must not stop training.
        static func make(context: OpenCLContext, requested: TiledGemmParameters?, source: String,
                         strict: Bool) throws -> TiledGemmKernels? {
            guard let requested else { return nil }
            let logger = Logger(label: "cltrain.opencl")
            let candidates = strict || requested == .generic ? [requested] : [requested, .generic]
            for (number, parameters) in candidates.enumerated() {
                do {
                    return TiledGemmKernels(parameters: parameters, vector: try build(parameters, context: context))
                } catch where !strict {
                    let next = number + 1 < candidates.count ? "the generic parameters" : "the direct kernel for every gemm"
                    let from = number == 0 ? source : "the generic default"
                    logger.warning("""
                        OpenCL device \(context.device.index) (\(context.device.name)): tiled gemm parameters from \
                        \(from) unusable, using \(next): \(error)
                        """)
                }
            }
            return nil
        }
    }

    /// The tiled kernel for one transpose case, with vector loads when the operands allow them.
    func tiledGemmKernel(index: Int, vectorLoads: Bool) throws -> OpenCLKernel {
        guard let tiled = tiledGemm else {
            throw CLTrainError.invalidArgument("gemm on \(name): no tiled kernel (the direct kernel computes every gemm)")
        }
        if vectorLoads { return tiled.vector[index] }
        if let scalar = tiled.scalar { return scalar[index] }
        let scalar = try TiledGemmKernels.build(tiled.parameters.scalarLoads, context: context)
        tiledGemm?.scalar = scalar
        return scalar[index]
    }
}
