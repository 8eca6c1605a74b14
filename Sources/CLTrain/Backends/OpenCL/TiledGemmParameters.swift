/// The tunable sizes of the fast gemm (Kernels/matmul_tiled.cl), named as CLBlast's xgemm names
/// its own: each work-group computes an `mwg`×`nwg` tile of C with `mdimc`×`ndimc` work-items,
/// staging `kwg`-deep slabs of op(A) and op(B) through local memory.
public struct TiledGemmParameters: Hashable, Sendable, Codable, CustomStringConvertible {
    /// Tile of C per work-group (rows × columns) and depth of the staged K slab.
    public var mwg, nwg, kwg: Int
    /// Work-group shape: work-items along M and along N.
    public var mdimc, ndimc: Int
    /// Vector widths of local reads along M and N (each work-item's rows and columns come in
    /// groups of this many consecutive ones).
    public var vwm, vwn: Int
    /// Vector widths of global loads of A and B along their stored rows; need aligned operands.
    public var vwa, vwb: Int
    /// Unroll factor of the inner k loop.
    public var kwi: Int

    public init(mwg: Int, nwg: Int, kwg: Int, mdimc: Int, ndimc: Int, vwm: Int, vwn: Int,
                vwa: Int, vwb: Int, kwi: Int) {
        (self.mwg, self.nwg, self.kwg) = (mwg, nwg, kwg)
        (self.mdimc, self.ndimc) = (mdimc, ndimc)
        (self.vwm, self.vwn, self.vwa, self.vwb, self.kwi) = (vwm, vwn, vwa, vwb, kwi)
    }

    /// The kernel file's own `#ifndef` defaults: legal on any device with 256-item work-groups and
    /// 8 KiB of local memory, and a reasonable start on GPUs and CPUs alike.
    public static let generic = TiledGemmParameters(mwg: 64, nwg: 64, kwg: 16, mdimc: 16, ndimc: 16,
                                                    vwm: 2, vwn: 2, vwa: 4, vwb: 4, kwi: 2)

    public var workGroupSize: Int { mdimc * ndimc }
    public var localMemoryBytes: Int { 4 * kwg * (mwg + nwg) }

    /// Why these values cannot be compiled, or launched on a device with these limits: the same
    /// conditions as the kernel's `#error` lines, plus the device's. Empty when legal.
    public func problems(maxWorkGroupSize: Int, localMemoryBytes limit: Int) -> [String] {
        let all = [("MWG", mwg), ("NWG", nwg), ("KWG", kwg), ("MDIMC", mdimc), ("NDIMC", ndimc),
                   ("VWM", vwm), ("VWN", vwn), ("VWA", vwa), ("VWB", vwb), ("KWI", kwi)]
        let nonPositive = all.filter { $0.1 < 1 }
        if !nonPositive.isEmpty {
            return nonPositive.map { "\($0.0) = \($0.1) must be at least 1" }
        }
        var problems: [String] = []
        for (name, width) in [("VWM", vwm), ("VWN", vwn), ("VWA", vwa), ("VWB", vwb)] where ![1, 2, 4, 8, 16].contains(width) {
            problems.append("\(name) = \(width) is not an OpenCL vector width (1, 2, 4, 8, 16)")
        }
        if mwg % (mdimc * vwm) != 0 { problems.append("MWG = \(mwg) is not a multiple of MDIMC·VWM = \(mdimc * vwm)") }
        if nwg % (ndimc * vwn) != 0 { problems.append("NWG = \(nwg) is not a multiple of NDIMC·VWN = \(ndimc * vwn)") }
        if kwg % kwi != 0 { problems.append("KWG = \(kwg) is not a multiple of KWI = \(kwi)") }
        if kwg % vwa != 0 || mwg % vwa != 0 { problems.append("VWA = \(vwa) does not divide both KWG = \(kwg) and MWG = \(mwg)") }
        if kwg % vwb != 0 || nwg % vwb != 0 { problems.append("VWB = \(vwb) does not divide both KWG = \(kwg) and NWG = \(nwg)") }
        if problems.isEmpty {
            // Checked once the divisions above are exact.
            if (mwg * kwg / vwa) % workGroupSize != 0 || (nwg * kwg / vwb) % workGroupSize != 0 {
                problems.append("the \(workGroupSize) work-items cannot share the loads of a slab evenly "
                                + "(MWG·KWG/VWA = \(mwg * kwg / vwa), NWG·KWG/VWB = \(nwg * kwg / vwb))")
            }
        }
        if workGroupSize > maxWorkGroupSize {
            problems.append("work-groups of MDIMC·NDIMC = \(workGroupSize) exceed the device's \(maxWorkGroupSize)")
        }
        if localMemoryBytes > limit {
            problems.append("\(localMemoryBytes) bytes of local memory exceed the device's \(limit)")
        }
        return problems
    }

    /// The `-D` values, in the kernel file's order.
    var defines: [(String, Int)] {
        [("MWG", mwg), ("NWG", nwg), ("KWG", kwg), ("MDIMC", mdimc), ("NDIMC", ndimc),
         ("VWM", vwm), ("VWN", vwn), ("VWA", vwa), ("VWB", vwb), ("KWI", kwi)]
    }

    /// The same tiles with scalar global loads: what operands whose offset or row length is not a
    /// multiple of the load widths use (always legal when `self` is).
    public var scalarLoads: TiledGemmParameters {
        var scalar = self
        scalar.vwa = 1
        scalar.vwb = 1
        return scalar
    }

    /// Whether the vector loads of these parameters are aligned for operands at these element
    /// offsets with these row lengths (buffers themselves are aligned by OpenCL).
    func vectorLoadsAligned(offsetA: Int, lda: Int, offsetB: Int, ldb: Int) -> Bool {
        offsetA % vwa == 0 && lda % vwa == 0 && offsetB % vwb == 0 && ldb % vwb == 0
    }

    /// "MWG=64 NWG=64 KWG=16 MDIMC=16 NDIMC=16 VWM=2 VWN=2 VWA=4 VWB=4 KWI=2".
    public var description: String { defines.map { "\($0.0)=\($0.1)" }.joined(separator: " ") }

    /// The Swift expression for these values, as a row of `KernelParameters`' built-in table.
    public var swiftLiteral: String {
        "TiledGemmParameters(mwg: \(mwg), nwg: \(nwg), kwg: \(kwg), mdimc: \(mdimc), ndimc: \(ndimc), "
            + "vwm: \(vwm), vwn: \(vwn), vwa: \(vwa), vwb: \(vwb), kwi: \(kwi))"
    }
}
