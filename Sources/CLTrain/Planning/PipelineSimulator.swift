/// What one simulated training step takes.
public struct PipelinePrediction: Sendable {
    /// M: micro-batches the batch was split into (1: the plain wavefront).
    public var microBatches: Int
    /// Seconds from the first task's start to the last task's end.
    public var stepTime: Double
    /// Σ of every compute task: the step time on one device of the same speeds, without transfers.
    public var totalWork: Double
    /// Per device number: seconds of compute.
    public var busy: [Double]
    /// Per device number: bytes it sends to other devices per step.
    public var bytesSent: [Double]

    /// Per device: busy / step time.
    public var busyFraction: [Double] { busy.map { stepTime > 0 ? $0 / stepTime : 0 } }
    /// The mean idle share of the devices that have work: 1 − Σ busy / (devices · step time).
    /// For K equal stages without transfers this is the pipeline bubble.
    public var bubbleFraction: Double {
        let working = busy.filter { $0 > 0 }
        guard stepTime > 0, !working.isEmpty else { return 0 }
        return max(0, 1 - working.reduce(0, +) / (Double(working.count) * stepTime))
    }
    /// Bytes that cross between devices per step.
    public var transferBytes: Double { bytesSent.reduce(0, +) }
}

/// A discrete-event simulation of one training step of a placed LSTM language model, in the
/// schedule `LanguageModel` runs as `.wavefront(stepsPerRun: 1)` (see LanguageModel+Wavefront.swift).
///
/// **Tasks.** For micro-batch m, layer l and time step t: the forward F(m,l,t) and the backward
/// B(m,l,t) (cell backward and the ∂h, ∂x products), and the weight gradient W(m,l,t); for each
/// softmax shard s: its forward A(m,s,t) (logits, partial row max and sum of exponentials), its
/// backward S(m,s,t) (the gradient of its logits and its part of ∂h) and its weight gradient
/// G(m,s,t). Each costs its stage's per-step time divided by M (cost linear in the batch:
/// optimistic for small micro-batches, whose gemms run less efficiently on a real device).
///
/// **Dependencies.** F(m,l,t) ← F(m,l,t−1), F(m,l−1,t). A(m,s,t) ← F(m,L−1,t).
/// S(m,s,t) ← A(m,s,t) and the row statistics of every other shard; G(m,s,t) ← S(m,s,t).
/// B(m,L−1,t) ← B(m,L−1,t+1) and S(m,s,t) of every shard; B(m,l,t) ← B(m,l+1,t), B(m,l,t+1);
/// B(m,l,T−1) also ← F(m,l,T−1), and B(m,L−1,T−1) ← G(m,s,T−1) of every shard: the runtime's
/// backward phase starts once its forward phase, the decoder's last step included, has ended.
/// W ← the matching B. Micro-batches are independent sequences and do not depend on each other.
///
/// **Transfers.** A dependency between different devices is a transfer task: B×H floats (÷ M) for
/// activations and their gradients (to every shard and back from every shard), 2·B floats for the
/// shards' row statistics. It occupies the sending device's outgoing link for bytes / bandwidth and
/// arrives `latency` later. Links run concurrently with compute (copy engines) and with each
/// other; each device has one outgoing link of the full bandwidth (a shared PCIe ×16 slot, or one
/// NVLink port group); incoming contention is not modelled. Transfers within a device are free.
///
/// **Devices.** A device runs one task at a time: layers or shards that share a device (their own
/// command queues) share its time; concurrent kernels on one GPU are not modelled, which is
/// pessimistic there. A free device starts the ready task that comes first in priority order:
/// every forward (micro-batch, then step; a shard's A, S and G of a step in that order, as the
/// runtime keeps logits for one step at a time and so finishes a step's softmax before the
/// next) before any LSTM backward (first micro-batch first, as the runtime takes them, and its
/// last step first), the layers' weight gradients last, so they fill the idle gaps of the
/// backward. This is GPipe's schedule (all forwards, then all backwards, a micro-batch's backward
/// starting once its own softmax is done: the runtime has no barrier between the phases) and,
/// with M = 1, the 2014 wavefront. The runtime's runs of
/// K > 1 steps (`--steps-per-run`) are not modelled: the simulation is K = 1.
///
/// **Not modelled.** The optimizer update and gradient clipping (global norm: one small
/// all-reduce), the embedding's transfer (it sits with layer 0), host launch overheads beyond the
/// measured costs, and summing the shards' ∂h on the top layer's device.
public enum PipelineSimulator {
    /// Simulates one training step of `model` with the batch split into `microBatches`.
    public static func simulate(_ model: PipelineModel, microBatches: Int = 1) throws -> PipelinePrediction {
        guard model.steps > 0 else { throw CLTrainError.invalidArgument("the simulated window needs at least one time step") }
        guard microBatches > 0 else { throw CLTrainError.invalidArgument("micro-batches must be positive, got \(microBatches)") }
        guard !model.layers.isEmpty else { throw CLTrainError.invalidArgument("the simulated model needs at least one layer") }
        let stages = model.layers + model.shards
        guard stages.allSatisfy({ $0.device >= 0 && [$0.forward, $0.backward, $0.weightGradient].allSatisfy { $0.isFinite && $0 >= 0 } }) else {
            throw CLTrainError.invalidArgument("stage costs must be finite and non-negative, devices numbered from 0")
        }
        guard model.link.bandwidth > 0, model.link.latency >= 0, model.link.latency.isFinite else {
            throw CLTrainError.invalidArgument("the link needs a positive bandwidth and a finite, non-negative latency")
        }
        var graph = TaskGraph(deviceCount: model.deviceCount, link: model.link)
        buildTasks(model, microBatches: microBatches, into: &graph)
        let finish = graph.run()
        return PipelinePrediction(microBatches: microBatches, stepTime: finish, totalWork: graph.busy.reduce(0, +),
                                  busy: graph.busy, bytesSent: graph.bytesSent)
    }

    private static func buildTasks(_ model: PipelineModel, microBatches: Int, into graph: inout TaskGraph) {
        let (steps, layerCount, shardCount) = (model.steps, model.layers.count, model.shards.count)
        let share = 1 / Double(microBatches)
        let activation = model.activationBytes * share
        let exchange = model.exchangeBytes * share
        let top = model.layers[layerCount - 1].device

        for m in 0..<microBatches {
            // Forward, step by step; each layer's output moves on as soon as it exists.
            var forward = Array(repeating: Array(repeating: 0, count: steps), count: layerCount)
            var shardForward = Array(repeating: Array(repeating: 0, count: steps), count: shardCount)
            for t in 0..<steps {
                for (l, stage) in model.layers.enumerated() {
                    let priority = TaskPriority(0, m, t, l)
                    var dependencies: [Int] = t > 0 ? [forward[l][t - 1]] : []
                    if l > 0 {
                        dependencies.append(graph.send(from: forward[l - 1][t], model.layers[l - 1].device, to: stage.device,
                                                       bytes: activation, priority: priority))
                    }
                    forward[l][t] = graph.add(device: stage.device, duration: stage.forward * share,
                                              priority: priority, dependencies: dependencies)
                }
                for (s, stage) in model.shards.enumerated() {
                    let priority = TaskPriority(0, m, t, layerCount + s)
                    let hidden = graph.send(from: forward[layerCount - 1][t], top, to: stage.device, bytes: activation, priority: priority)
                    shardForward[s][t] = graph.add(device: stage.device, duration: stage.forward * share,
                                                   priority: priority, dependencies: [hidden])
                }
            }
            // Softmax backward, step by step as each step's statistics are in: each shard needs
            // every other shard's row statistics first.
            var gradientsToTop = Array(repeating: [Int](), count: steps)
            var lastShardTasks: [Int] = []   // G(m, s, T−1): the end of the forward phase
            for t in 0..<steps {
                for (s, stage) in model.shards.enumerated() {
                    let priority = TaskPriority(0, m, t, layerCount + shardCount + s)
                    var dependencies = [shardForward[s][t]]
                    for (other, otherStage) in model.shards.enumerated() where other != s {
                        dependencies.append(graph.send(from: shardForward[other][t], otherStage.device, to: stage.device,
                                                       bytes: exchange, priority: priority))
                    }
                    let backward = graph.add(device: stage.device, duration: stage.backward * share,
                                             priority: priority, dependencies: dependencies)
                    let weights = graph.add(device: stage.device, duration: stage.weightGradient * share,
                                            priority: TaskPriority(0, m, t, layerCount + 2 * shardCount + s),
                                            dependencies: [backward])
                    if t == steps - 1 { lastShardTasks.append(weights) }
                    gradientsToTop[t].append(graph.send(from: backward, stage.device, to: top, bytes: activation, priority: priority))
                }
            }
            // LSTM backward, from the last step down, the top layer first.
            var above = Array(repeating: 0, count: steps)   // B(m, l+1, t) of the layer above
            for l in stride(from: layerCount - 1, through: 0, by: -1) {
                let stage = model.layers[l]
                var next = -1
                var current = Array(repeating: 0, count: steps)
                for t in stride(from: steps - 1, through: 0, by: -1) {
                    let priority = TaskPriority(1, m, steps - 1 - t, shardCount + layerCount - 1 - l)
                    var dependencies = [t == steps - 1 ? forward[l][t] : next]
                    if l == layerCount - 1 {
                        dependencies += gradientsToTop[t]
                        if t == steps - 1 { dependencies += lastShardTasks }
                    } else {
                        dependencies.append(graph.send(from: above[t], model.layers[l + 1].device, to: stage.device,
                                                       bytes: activation, priority: priority))
                    }
                    next = graph.add(device: stage.device, duration: stage.backward * share, priority: priority,
                                     dependencies: dependencies)
                    current[t] = next
                    _ = graph.add(device: stage.device, duration: stage.weightGradient * share,
                                  priority: TaskPriority(2, m, steps - 1 - t, shardCount + layerCount - 1 - l),
                                  dependencies: [next])
                }
                above = current
            }
        }
    }
}

/// Lexicographic priority: smaller runs first.
struct TaskPriority: Comparable {
    let phase: Int, major: Int, minor: Int, slot: Int

    init(_ phase: Int, _ major: Int, _ minor: Int, _ slot: Int) {
        self.phase = phase
        self.major = major
        self.minor = minor
        self.slot = slot
    }

    static func < (a: TaskPriority, b: TaskPriority) -> Bool {
        (a.phase, a.major, a.minor, a.slot) < (b.phase, b.major, b.minor, b.slot)
    }
}

/// Tasks on resources (devices 0..<D, then each device's outgoing link) and the event loop that
/// runs them: a free resource starts its best ready task; a finished task releases its dependents,
/// after the link latency if it was a transfer.
struct TaskGraph {
    private struct Task {
        let resource: Int
        let duration: Double
        let delay: Double      // extra time before dependents may use the result (link latency)
        let priority: TaskPriority
        var waitingFor: Int
        var readyAt = 0.0
    }

    private enum Event { case finished(Int), arrived(Int) }

    let deviceCount: Int
    let link: PipelineLink
    private var tasks: [Task] = []
    private var dependents: [[Int]] = []
    private(set) var busy: [Double]
    private(set) var bytesSent: [Double]

    init(deviceCount: Int, link: PipelineLink) {
        self.deviceCount = deviceCount
        self.link = link
        busy = Array(repeating: 0, count: deviceCount)
        bytesSent = Array(repeating: 0, count: deviceCount)
    }

    /// A compute task on `device`.
    mutating func add(device: Int, duration: Double, priority: TaskPriority, dependencies: [Int]) -> Int {
        busy[device] += duration
        return add(resource: device, duration: duration, delay: 0, priority: priority, dependencies: dependencies)
    }

    /// What a consumer on `destination` waits for to have `producer`'s output: the producer itself
    /// on the same device, else a new transfer on the sender's outgoing link.
    mutating func send(from producer: Int, _ source: Int, to destination: Int, bytes: Double, priority: TaskPriority) -> Int {
        guard source != destination else { return producer }
        bytesSent[source] += bytes
        return add(resource: deviceCount + source, duration: bytes / link.bandwidth, delay: link.latency,
                   priority: priority, dependencies: [producer])
    }

    private mutating func add(resource: Int, duration: Double, delay: Double, priority: TaskPriority,
                              dependencies: [Int]) -> Int {
        let id = tasks.count
        tasks.append(Task(resource: resource, duration: duration, delay: delay, priority: priority,
                          waitingFor: dependencies.count))
        dependents.append([])
        for dependency in dependencies { dependents[dependency].append(id) }
        return id
    }

    /// Runs every task; returns the time the last one ends.
    mutating func run() -> Double {
        let resourceCount = 2 * deviceCount
        let snapshot = tasks
        let comesFirst = { (a: Int, b: Int) -> Bool in
            let (pa, pb) = (snapshot[a].priority, snapshot[b].priority)
            return pa < pb || (pa == pb && a < b)
        }
        var ready = (0..<resourceCount).map { _ in Heap<Int>(by: comesFirst) }
        var free = Array(repeating: true, count: resourceCount)
        var events = Heap<(time: Double, order: Int, event: Event)> { a, b in
            a.time < b.time || (a.time == b.time && a.order < b.order)
        }
        var order = 0
        func schedule(_ event: Event, at time: Double) {
            events.push((time, order, event))
            order += 1
        }
        for id in tasks.indices where tasks[id].waitingFor == 0 { ready[tasks[id].resource].push(id) }

        var now = 0.0, end = 0.0
        while true {
            // Every event due now, then the links, then the devices; an instantaneous task started
            // now may release more work due now, so repeat until nothing starts.
            var started = true
            while started {
                while let next = events.peek, next.time <= now {
                    _ = events.pop()
                    switch next.event {
                    case .finished(let id):
                        let task = tasks[id]
                        free[task.resource] = true
                        end = max(end, now)
                        for dependent in dependents[id] {
                            tasks[dependent].waitingFor -= 1
                            tasks[dependent].readyAt = max(tasks[dependent].readyAt, now + task.delay)
                            if tasks[dependent].waitingFor == 0 {
                                let readyAt = tasks[dependent].readyAt
                                if readyAt <= now { ready[tasks[dependent].resource].push(dependent) }
                                else { schedule(.arrived(dependent), at: readyAt) }
                            }
                        }
                    case .arrived(let id):
                        ready[tasks[id].resource].push(id)
                    }
                }
                started = false
                for resource in Array(deviceCount..<resourceCount) + Array(0..<deviceCount) where free[resource] {
                    guard let id = ready[resource].pop() else { continue }
                    free[resource] = false
                    schedule(.finished(id), at: now + tasks[id].duration)
                    if tasks[id].duration == 0 {
                        started = true
                        // A transfer that ends now may make a device's better task ready now.
                        if resource >= deviceCount { break }
                    }
                }
            }
            guard let next = events.peek else { break }
            now = next.time
        }
        return end
    }
}

/// A binary min-heap under `areInIncreasingOrder`.
struct Heap<Element> {
    private var items: [Element] = []
    private let areInIncreasingOrder: (Element, Element) -> Bool

    init(by areInIncreasingOrder: @escaping (Element, Element) -> Bool) {
        self.areInIncreasingOrder = areInIncreasingOrder
    }

    var isEmpty: Bool { items.isEmpty }
    var peek: Element? { items.first }

    mutating func push(_ element: Element) {
        items.append(element)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard areInIncreasingOrder(items[child], items[parent]) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Element? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var parent = 0
        while true {
            let (left, right) = (2 * parent + 1, 2 * parent + 2)
            var smallest = parent
            if left < items.count, areInIncreasingOrder(items[left], items[smallest]) { smallest = left }
            if right < items.count, areInIncreasingOrder(items[right], items[smallest]) { smallest = right }
            if smallest == parent { break }
            items.swapAt(parent, smallest)
            parent = smallest
        }
        return top
    }
}
