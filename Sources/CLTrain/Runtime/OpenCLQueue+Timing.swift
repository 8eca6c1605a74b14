import COpenCL

// Device time of a sequence of enqueued operations, for cltrain-bench.
//
// Backend operations do not hand out events (one call may enqueue several commands, or none), so
// a sequence is bracketed by two markers instead: on an in-order queue a marker with an empty wait
// list completes once everything enqueued before it has completed. The sequence's device time is
// the END of the marker before it to the END of the marker after it. END, not START, of the first:
// a marker may start (be submitted) before the work ahead of it is done, but it ends only after.
// The span covers every command between the markers and any idle time between them, such as the
// device waiting for the host to enqueue the next kernel; that is part of what a caller gets.

extension OpenCLQueue {
    /// Enqueues a marker (`clEnqueueMarkerWithWaitList` with an empty wait list, OpenCL 1.2): a
    /// command that does nothing and completes once everything enqueued before it on this queue
    /// has completed. Its profiling timestamps bracket the work around it.
    public func marker() throws(OpenCLError) -> OpenCLEvent {
        var event: cl_event? = nil
        try checkCL(clEnqueueMarkerWithWaitList(handle, 0, nil, &event),
                    "clEnqueueMarkerWithWaitList(\(context.device.name))")
        guard let event else {
            throw OpenCLError(call: "clEnqueueMarkerWithWaitList(\(context.device.name))", code: CL_INVALID_EVENT)
        }
        return OpenCLEvent(event)
    }

    /// The device time, in seconds, of the commands `body` enqueues on this queue: from the end of
    /// a marker enqueued before them to the end of one enqueued after them (see above). Waits for
    /// them to finish.
    ///
    /// - Parameter body: enqueues the work to time, on this queue only (work on other queues is
    ///   not covered).
    /// - Throws: what `body` throws; `OpenCLError` if a marker fails or the driver's marker
    ///   timestamps run backwards (`CL_PROFILING_INFO_NOT_AVAILABLE`), so a bad figure is never
    ///   reported.
    public func deviceSeconds(of body: () throws -> Void) throws -> Double {
        let before = try marker()
        try body()
        let after = try marker()
        let start = try before.profilingNanoseconds(.ended)
        let end = try after.profilingNanoseconds(.ended)
        guard end >= start else {
            throw OpenCLError(call: "marker timestamps on \(context.device.name) (end \(end) ns before start \(start) ns)",
                              code: CL_PROFILING_INFO_NOT_AVAILABLE)
        }
        return Double(end - start) * 1e-9
    }
}
