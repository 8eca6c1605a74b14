import Testing
@testable import CLTrain

/// The OpenCL gemm against the definition, independent of the CPU backend: small odd shapes,
/// every transpose case, views at non-zero offsets.
@Suite(.enabled(if: !DeviceRegistry.shared.openCLDevices.isEmpty,
                "no OpenCL platform: OpenCL gemm tests skipped, CPU tests still run"))
struct OpenCLGemmDefinitionTests {
    @Test(arguments: [(1, 1, 1), (3, 5, 7), (65, 17, 33), (2, 70, 19)], [false, true])
    func gemmMatchesTripleLoop(shape: (Int, Int, Int), transposeA: Bool) throws {
        let (m, n, k) = shape
        let backend = try OpenCLBackend(context: DeviceRegistry.shared.context(ofOpenCLDevice: 0))
        for transposeB in [false, true] {
            // Exact small integers, so every summation order gives the same float result.
            let aValues = (0..<m * k).map { Float(($0 * 7) % 11) - 5 }
            let bValues = (0..<k * n).map { Float(($0 * 5) % 13) - 6 }
            let cValues = (0..<m * n).map { Float($0 % 3) }
            let storageA = try backend.makeTensor(shape: [m * k + 3], elementType: .float32)
            let a = try storageA.rows(3..<(m * k + 3)).reshaped(transposeA ? [k, m] : [m, k])
            let b = try backend.makeTensor(shape: transposeB ? [n, k] : [k, n], elementType: .float32)
            let c = try backend.makeTensor(shape: [m, n], elementType: .float32)
            try backend.upload(aValues, to: a)
            try backend.upload(bValues, to: b)
            try backend.upload(cValues, to: c)
            try backend.gemm(transposeA: transposeA, transposeB: transposeB, alpha: 2, a, b, beta: -1, c)
            let result = try backend.download(c)
            for i in 0..<m {
                for j in 0..<n {
                    var sum: Float = 0
                    for p in 0..<k {
                        let x = transposeA ? aValues[p * m + i] : aValues[i * k + p]
                        let y = transposeB ? bValues[j * k + p] : bValues[p * n + j]
                        sum += x * y
                    }
                    #expect(result[i * n + j] == 2 * sum - cValues[i * n + j], "C[\(i),\(j)] for \(m)×\(n)×\(k) transposeB \(transposeB)")
                }
            }
        }
    }
}
