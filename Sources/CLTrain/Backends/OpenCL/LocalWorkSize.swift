/// The work-group shape of the 2-D launches over a columns × rows grid (one work-item per element:
/// bias add, LSTM cell, embedding, softmax gradient), chosen from the kernel's limits instead of
/// left to the driver, so that every run on a device launches the same groups. The queue rounds
/// the global size up to a multiple of it (`OpenCLQueue.launch`); those kernels guard against
/// the extra work-items.
enum LocalWorkSize {
    /// No group larger than this, whatever the device allows: these kernels are memory-bound, and
    /// 256 items keep every device's warps or wavefronts full.
    static let maximumItems = 256

    /// The group (columns, rows) for a `columns` × `rows` grid. Dimension 0 runs along a row,
    /// contiguous in memory: a whole row when it is at most one `preferredMultiple` wide (and then
    /// several rows per group), else a multiple of `preferredMultiple`. At most
    /// min(`maximumItems`, `maxItems`) items, never larger than the grid needs.
    /// - Parameters:
    ///   - maxItems: the kernel's CL_KERNEL_WORK_GROUP_SIZE on the device (at least 1).
    ///   - preferredMultiple: its CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE (the warp width).
    static func twoDimensional(columns: Int, rows: Int, maxItems: Int, preferredMultiple: Int) -> [Int] {
        let limit = max(1, min(maximumItems, maxItems))
        let multiple = max(1, min(preferredMultiple, limit))
        let width = max(columns, 1), height = max(rows, 1)
        let across = width <= multiple ? width
            : min((width + multiple - 1) / multiple * multiple, limit / multiple * multiple)
        return [across, min(height, max(1, limit / across))]
    }
}
