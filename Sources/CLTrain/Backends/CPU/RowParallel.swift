import Dispatch
import Foundation

/// Rows of an elementwise loop split over the host's cores, for the loops whose rows are
/// independent (the LSTM cell): every element is computed by the same code whichever thread
/// runs it, so results are bit-for-bit those of one thread. Small loops stay on the calling
/// thread, where waking other threads would cost more than it saves.
enum RowParallel {
    /// Below this many elements in all, one thread (a dispatch costs a few microseconds).
    static let minimumElements = 32_768

    static let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Calls `body(rows)` on disjoint ranges of 0..<rows that cover it, concurrently when the
    /// work (`rows · elementsPerRow`) is large enough; returns when all are done.
    static func forEachRowRange(_ rows: Int, elementsPerRow: Int, _ body: (Range<Int>) -> Void) {
        let chunks = rows * elementsPerRow < minimumElements ? 1 : min(cores, rows)
        guard chunks > 1 else { return body(0..<rows) }
        // The ranges are disjoint, so the threads never touch the same element.
        withoutActuallyEscaping(body) { body in
            let shared = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                shared.value(rows * chunk / chunks..<rows * (chunk + 1) / chunks)
            }
        }
    }
}
