/// How the OpenCL backend chooses between its gemm kernels.
public enum GemmDispatch: Sendable {
    /// The tiled kernel on its whole tiles and the direct kernel on the edges, except where the
    /// direct kernel alone fills an otherwise under-filled device better (its tiles are smaller)
    /// or K is under one slab. What training uses.
    case automatic
    /// The tiled kernel on every whole tile, however few: for tests and the tuner, which must
    /// exercise it on shapes small enough to check.
    case tiledWherePossible
    /// The direct kernel only.
    case directOnly
}

/// One kernel launch of a gemm: which kernel computes which rows and columns of C.
struct GemmLaunch: Equatable, Sendable {
    enum Kernel: Equatable, Sendable { case tiled, direct }
    var kernel: Kernel
    var rows: Range<Int>
    var columns: Range<Int>
}

enum GemmLaunchPlan {
    /// The launches that compute an M×N C with reduction length K: at most three, on disjoint
    /// parts of C that together cover it. The tiled kernel takes the largest block of whole
    /// `mwg`×`nwg` tiles at the top left; the direct kernel the right strip beside it and the
    /// bottom strip under both. A pure function of its arguments, so it is tested without a device.
    /// - Parameters:
    ///   - tiled: the tiled kernel's parameters, or nil when this backend has no tiled kernel.
    ///   - directTile: the direct kernel's tile of C per work-group (rows, columns).
    ///   - computeUnits: the device's compute units (`.automatic` wants one work-group for each).
    static func launches(m: Int, n: Int, k: Int, tiled: TiledGemmParameters?, directTile: (m: Int, n: Int),
                         computeUnits: Int, dispatch: GemmDispatch) -> [GemmLaunch] {
        guard m > 0, n > 0 else { return [] }
        let everything = [GemmLaunch(kernel: .direct, rows: 0..<m, columns: 0..<n)]
        guard let tiled, dispatch != .directOnly else { return everything }
        let tileRows = m / tiled.mwg, tileColumns = n / tiled.nwg
        guard tileRows > 0, tileColumns > 0 else { return everything }
        if dispatch == .automatic {
            // Too few tiles leave compute units idle; if the direct kernel's smaller tiles give
            // at least twice the work-groups, it wins there. (With tiles as large as the tiled
            // kernel's it would idle as many units, only slower.) A K under one slab would run
            // only the tiled kernel's guarded tail.
            let tiledGroups = tileRows * tileColumns
            let directGroups = ((m + directTile.m - 1) / directTile.m) * ((n + directTile.n - 1) / directTile.n)
            if (tiledGroups < computeUnits && directGroups >= 2 * tiledGroups) || k < tiled.kwg { return everything }
        }
        let mainRows = tileRows * tiled.mwg, mainColumns = tileColumns * tiled.nwg
        var launches = [GemmLaunch(kernel: .tiled, rows: 0..<mainRows, columns: 0..<mainColumns)]
        if mainColumns < n { launches.append(GemmLaunch(kernel: .direct, rows: 0..<mainRows, columns: mainColumns..<n)) }
        if mainRows < m { launches.append(GemmLaunch(kernel: .direct, rows: mainRows..<m, columns: 0..<n)) }
        return launches
    }
}
