import Testing
@testable import CLTrain

/// The work-groups of the 2-D element-wise launches, without a device.
@Suite("Local work sizes of 2-D launches")
struct LocalWorkSizeTests {
    /// (columns, rows, CL_KERNEL_WORK_GROUP_SIZE, preferred multiple): the LSTM's H 1000 × B 128,
    /// the decoder's 80 000 columns, narrow embeddings, odd sizes, and devices with small limits.
    static let grids: [(Int, Int, Int, Int)] = [
        (1000, 128, 1024, 32), (80_000, 64, 256, 64), (16, 70, 1024, 32), (3, 5, 4096, 8), (1, 1, 1024, 32),
        (257, 3, 1024, 32), (33, 1000, 128, 32), (100, 7, 64, 64), (5, 9, 16, 1), (7, 7, 1, 1), (0, 4, 256, 32),
    ]

    @Test(arguments: grids)
    func groupsFitTheKernelAndTheGrid(_ grid: (Int, Int, Int, Int)) {
        let (columns, rows, maxItems, multiple) = grid
        let local = LocalWorkSize.twoDimensional(columns: columns, rows: rows, maxItems: maxItems, preferredMultiple: multiple)
        #expect(local.count == 2 && local.allSatisfy { $0 >= 1 }, "\(grid): \(local)")
        #expect(local[0] * local[1] <= min(maxItems, LocalWorkSize.maximumItems), "\(grid): \(local) exceeds the limit")
        // Never more than one partial group of padding along a dimension.
        #expect(local[0] <= max(columns, 1) || local[0] % min(multiple, maxItems) == 0, "\(grid): \(local)")
        #expect(local[1] <= max(rows, 1), "\(grid): \(local) has more rows than the grid")
    }

    @Test func rowsAreSpreadAlongTheWarpAndNarrowRowsShareAGroup() {
        // A long row: one row per group, 256 columns.
        #expect(LocalWorkSize.twoDimensional(columns: 1000, rows: 128, maxItems: 1024, preferredMultiple: 32) == [256, 1])
        // A row narrower than the warp: whole rows, several per group.
        #expect(LocalWorkSize.twoDimensional(columns: 16, rows: 70, maxItems: 1024, preferredMultiple: 32) == [16, 16])
        // 33 columns round up to two warps; the rest of the group takes rows.
        #expect(LocalWorkSize.twoDimensional(columns: 33, rows: 1000, maxItems: 256, preferredMultiple: 32) == [64, 4])
        // A kernel that allows only 64 items.
        #expect(LocalWorkSize.twoDimensional(columns: 100, rows: 7, maxItems: 64, preferredMultiple: 64) == [64, 1])
    }
}
