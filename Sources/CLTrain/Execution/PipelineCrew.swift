import Foundation

/// What every pipelined executor (`WavefrontExecutor`, `TranslationWavefrontExecutor`) is made
/// of besides its model: the workers (one host thread per layer index and per further backend
/// among the softmax shards), the one global task order that keeps them from waiting on each
/// other in a circle, each worker's bounded queue, and errors that name the device and the task.

/// One host thread of the pipelined phases and the parts whose backend it drives.
struct PipelineWorker {
    let backend: Backend
    var layer: Int?
    var shards: [Int] = []
    /// Every backend object this worker drives (its own, then its shards'), for the trace.
    var drives: [Backend] = []

    /// "layer 2 on …", "softmax shards 0, 1 on …", "layer 2 + softmax shard 0 on …"; `layerName`
    /// names a layer worker's part ("encoder and decoder layer 2" for a translation model).
    func name(layerName: (Int) -> String = { "layer \($0)" }) -> String {
        var parts = layer.map { [layerName($0)] } ?? []
        if !shards.isEmpty {
            parts.append((shards.count == 1 ? "softmax shard " : "softmax shards ") + shards.map(String.init).joined(separator: ", "))
        }
        return parts.joined(separator: " + ") + " on \(backend.name)"
    }

    var name: String { name() }

    /// Worker l drives layer index l (each needs a backend object of its own); a softmax shard joins
    /// the worker that already drives its backend object, else gets a worker of its own. A backend
    /// object is driven by one thread at a time (its queue and kernels are not shared safely, see
    /// `Backend`), so shards on one backend object take turns, while shards on different backends —
    /// other devices, or other queues of one device — work concurrently.
    /// - Throws: `PipelineError.unsupported` when two layers share one backend object.
    static func assemble(layers: [Backend], shards: [Backend]) throws -> [PipelineWorker] {
        for l in layers.indices {
            if let other = layers.indices.first(where: { $0 < l && layers[$0] === layers[l] }) {
                throw PipelineError.unsupported(
                    "layers \(other) and \(l) share one backend object; give each layer a backend of its own (a queue each on one device)")
            }
        }
        var workers = layers.enumerated().map { PipelineWorker(backend: $1, layer: $0, drives: [$1]) }
        for (s, shard) in shards.enumerated() {
            if let w = workers.firstIndex(where: { $0.backend === shard }) {
                workers[w].shards.append(s)
                workers[w].drives.append(shard)
            } else {
                workers.append(PipelineWorker(backend: shard, shards: [s], drives: [shard]))
            }
        }
        return workers
    }
}

/// One task of a wavefront's forward phase at chain position `position` (a unit of work in the
/// order one micro-batch's data flows: its runs, and for a translation model its encoder's runs
/// before its decoder's): layer `index`'s forward, or shard `index`'s statistics or gradient half.
struct WavefrontTask: Equatable {
    enum Kind: Int { case layer, statistics, gradient }
    let kind: Kind
    let index: Int
    let position: Int
}

/// `worker`'s forward tasks in wavefront order: by the slot at which each could start in a
/// pipeline of equal stages (layer l takes position p at slot p + l; the shards take a position
/// that reaches them at p + L), then layers before statistics before gradients, then by index.
/// Every task's dependencies (the same position from the layer below or the top layer, and for a
/// layer its earlier positions) come earlier in this one order, so workers that each keep to it
/// cannot wait for each other in a circle; a worker driving a layer and a shard interleaves them
/// as the wavefront reaches them.
/// - Parameter reachesShards: whether position p feeds the softmax (a translation model's encoder runs do not).
func wavefrontOrder(for worker: PipelineWorker, positions: Int, layers: Int, training: Bool,
                    reachesShards: (Int) -> Bool = { _ in true }) -> [WavefrontTask] {
    var tasks: [(slot: Int, task: WavefrontTask)] = []
    for p in 0..<positions {
        if let l = worker.layer { tasks.append((p + l, WavefrontTask(kind: .layer, index: l, position: p))) }
        guard reachesShards(p) else { continue }
        for s in worker.shards {
            tasks.append((p + layers, WavefrontTask(kind: .statistics, index: s, position: p)))
            if training { tasks.append((p + layers, WavefrontTask(kind: .gradient, index: s, position: p))) }
        }
    }
    return tasks.sorted { a, b in
        (a.slot, a.task.kind.rawValue, a.task.index) < (b.slot, b.task.kind.rawValue, b.task.index)
    }.map(\.task)
}

/// A worker's own queue, at most `depth` tasks deep: before it enqueues a task it waits on the
/// host for the marker that ended the task `depth` back (`WavefrontExecutor.queueDepth`).
struct BoundedQueue {
    let backend: Backend
    let depth: Int
    private var inFlight: [QueueMarker] = []

    init(_ backend: Backend, depth: Int) {
        self.backend = backend
        self.depth = depth
    }

    /// Runs `body` (one task's enqueuing) once the queue has room, then marks its end.
    mutating func enqueue(_ body: () throws -> Void) throws {
        if inFlight.count >= depth { try inFlight.removeFirst().waitOnHost() }
        try body()
        if let marker = try backend.enqueueMarker() { inFlight.append(marker) }
    }
}

/// Runs `body`, naming the device and the task in any error it throws.
func onDevice(_ backend: Backend, _ task: String, _ body: () throws -> Void) throws {
    do { try body() } catch let error as PipelineError { throw error } catch {
        throw PipelineError.deviceFailed(device: backend.name, task: task, underlying: error)
    }
}

/// A task's trace arguments: its device and the rows (time steps × sequences) it works on, of `width`.
func taskArguments(_ backend: Backend, rows: Range<Int>, width: Int) -> [String: TraceArgument] {
    ["device": .string(backend.name), "rows": .integer(rows.count), "shape": .shape([rows.count, width])]
}

/// The worker threads of a pipelined executor, for the executor's life (started at its first step),
/// and the busy and wall time of its training steps.
final class PipelineCrew {
    private var pool: WorkerPool?
    private var closed = false
    /// Busy and wall time of the pipelined training steps so far.
    private(set) var utilization = PipelineUtilization()

    /// The worker threads, once started (for tests).
    var workerPool: WorkerPool? { pool }

    /// - Throws: `PipelineError.unsupported` once `close()` was called.
    func requireOpen() throws {
        guard !closed else { throw PipelineError.unsupported("the executor was closed") }
    }

    /// Runs `body(w, pool, busy)` for every worker w on its thread of the pool (remade when the
    /// workers change) and, when `record` is set, adds the phase to the utilization (training steps
    /// only: validation would blur it). With a trace, each worker gets its track.
    func run(_ workers: [PipelineWorker], names: [String], trace: ExecutionTrace?, record: Bool,
             onFinished: ((Int) throws -> Void)? = nil, _ body: @escaping (Int, WorkerPool, BusyTime) throws -> Void) throws {
        if pool?.count != names.count {
            pool?.stop()
            pool = WorkerPool(names: names)
        }
        guard let pool else { return }
        let tracks = trace.map { trace in workers.indices.map { w in trace.worker(w, name: names[w], drives: workers[w].drives) } }
        let busy = BusyTime(workers: names.count, trace: trace.map { ($0.recorder, tracks ?? []) })
        let start = WallClock.now
        try pool.run(names.indices.map { w in { try body(w, pool, busy) } }, onFinished: onFinished)
        let end = WallClock.now
        // The utilization's wall time, the same readings: a worker's busy share is its tasks over this span.
        trace?.recorder.record("pipelined phases", category: TraceCategory.step, on: ExecutionTrace.main, from: start, to: end)
        guard record else { return }
        utilization.record(workers: names, busy: busy.seconds, wall: Double(end - start) * 1e-9)
    }

    /// Stops the worker threads now (else at deinit); the executor runs no further step.
    func close() {
        pool?.stop()
        closed = true
    }

    deinit { pool?.stop() }
}

extension BusyTime {
    /// One task of worker w on `backend`: timed (and traced) as `name`, its error naming the
    /// device and the task, enqueued through the worker's `queue`.
    func task(_ w: Int, _ name: String, on backend: Backend, arguments: @autoclosure () -> [String: TraceArgument],
              queue: inout BoundedQueue, _ body: () throws -> Void) throws {
        try time(w, name, arguments: arguments()) {
            try onDevice(backend, name) { try queue.enqueue(body) }
        }
    }
}
