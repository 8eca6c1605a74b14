import CLTrain

/// One selected device: its backend, how its work is timed, its peak and its gemm reference.
///
/// OpenCL devices are timed on the device clock, by profiling markers around each run
/// (`OpenCLQueue.deviceSeconds(of:)`); the CPU backend, which works synchronously on the calling
/// thread, by the wall clock around each run.
final class BenchDevice {
    let backend: Backend
    private(set) var record: DeviceRecord
    /// Devices that are not GPUs (the CPU backend, PoCL): `--max-gflop` defaults to a limit there.
    let isCPUType: Bool
    let peak: DevicePeak
    private let reference: GemmReference?

    init(_ selection: DeviceSelection, registry: DeviceRegistry, quick: Bool) throws {
        backend = try registry.makeBackend(selection)
        switch selection {
        case .cpu:
            let host = HostDescription.current
            record = DeviceRecord(label: "cpu", kind: "cpu", name: host.name, platform: "CPU backend, \(host.blasConfiguration)",
                                  driverVersion: host.blasVersion, computeUnits: host.activeProcessors)
            isCPUType = true
            peak = try HostPeak.measure(quick: quick)
            reference = (backend as? CPUBackend).map { OpenBLASReference(backend: $0) }
            record.note = HostPeak.coreTypeAdvice(blasConfiguration: host.blasConfiguration)
            record.timing = "wall clock around each synchronous run"
        case .openCL(let index):
            guard let openCL = backend as? OpenCLBackend else {
                throw CLTrainError.invalidArgument("OpenCL device \(index) did not give an OpenCL backend")
            }
            let device = openCL.device
            record = DeviceRecord(label: "\(index)", kind: device.isGPU ? "opencl gpu" : "opencl",
                                  name: device.name, platform: "\(device.platformName) (\(device.platformVersion))",
                                  driverVersion: device.driverVersion, computeUnits: device.computeUnits)
            isCPUType = !device.isGPU
            peak = try OpenCLRoofline.measure(on: openCL, quick: quick)
            let loaded = CLBlastReference.load(for: openCL)
            reference = loaded.reference
            record.referenceNote = loaded.note
            // The span of two markers with nothing between them: the timer's floor on this device.
            var floors: [Double] = []
            for _ in 0..<5 { floors.append(try openCL.queue.deviceSeconds {}) }
            record.timerFloorSeconds = try TimingSummary(samples: floors).median
            record.timing = "device clock, profiling markers before and after each run"
        }
        record.peak = peak
        record.reference = reference?.name
    }

    /// The time of one run of `body`, in seconds.
    func seconds(of body: () throws -> Void) throws -> Double {
        if let openCL = backend as? OpenCLBackend {
            return try openCL.queue.deviceSeconds(of: body)
        }
        return try WallClock.seconds {
            try body()
            try backend.synchronize()
        }
    }

    /// Prepares `benchmark` on this device, runs it `warmup` times untimed and `repeats` times
    /// timed, and the same for the reference library where the case is a gemm and `withReference`.
    func run(_ benchmark: BenchmarkCase, warmup: Int, repeats: Int, withReference: Bool = true) throws -> CaseResult {
        let workload = try benchmark.prepare(backend)
        try backend.synchronize()
        for _ in 0..<warmup {
            try workload.reset?()
            try workload.run()
        }
        var samples: [Double] = []
        for _ in 0..<repeats {
            try workload.reset?()
            samples.append(try seconds(of: workload.run))
        }
        var result = CaseResult(device: record.label, case: benchmark.name, summary: benchmark.summary,
                                cost: benchmark.cost, time: try TimingSummary(samples: samples), peak: peak)

        if withReference, let shape = benchmark.gemm, let operands = workload.gemmOperands, let reference {
            do {
                let ours = try backend.download(operands.c)
                let prepared = try reference.prepareGemm(shape, operands)
                for _ in 0..<warmup { _ = try prepared.run() }
                var referenceSamples: [Double] = []
                for _ in 0..<repeats { referenceSamples.append(try prepared.run()) }
                // Both must compute the same C, under the tolerance rule `cltrain verify` uses.
                let agreement = compare(try prepared.result(), to: ours, reductionLength: shape.k)
                if agreement.passed {
                    result.setReference(reference.name, time: try TimingSummary(samples: referenceSamples))
                } else {
                    result.referenceError = "\(reference.name)'s C differs from CLTrain's: \(agreement.failure ?? "")"
                }
            } catch {
                result.referenceError = "\(reference.name): \(error)"
            }
        }
        return result
    }
}
