internal import HeapModule

/// The event loop behind `PipelineSimulator`: host threads that each run a fixed list of tasks in
/// order, as the runtime's calling thread and workers do, on devices that run one task at a time.
///
/// A task is issued once its thread's previous task has been (a blocking one: has ended), every
/// task it depends on has ended (a host wait: for a staged read's event, for a blocking producer)
/// and every task its device waits for (`deviceAfter`: a marker in another queue of the same
/// context) has been issued (the producer signalled after enqueuing it); it starts once its device
/// is free and those have ended, as an in-order queue serves its work first come, first served,
/// behind a barrier. A blocking task (a blocking transfer, or `synchronize`) holds its thread
/// until it ends; an enqueued one (a kernel, a device copy, a non-blocking read or write) lets the
/// thread go on at once, as OpenCL's asynchronous queues do.
/// Tasks are taken in the order of the time they become ready (swift-collections' `Heap`), so a
/// device shared by several threads goes to the one that asked first.
struct ThreadedTasks {
    struct Task {
        let device: Int
        let duration: Double
        let dependencies: [Int]
        /// Tasks whose end the device waits for before it starts this one; the thread does not wait.
        let deviceDependencies: [Int]
        /// Bytes this task downloads to the host (sent by its device).
        let bytesSent: Double
        /// Whether its thread waits for its end (else only for its issue).
        let blocking: Bool
        /// What it is, as the runtime names its task ("layer 1 forward, steps 0..<5"), for a trace.
        let name: String
    }

    private(set) var tasks: [Task] = []
    private(set) var threads: [[Int]] = []
    /// Each thread's name in a trace ("main", "worker 1: layer 1").
    private(set) var threadNames: [String] = []
    let deviceCount: Int

    init(deviceCount: Int) { self.deviceCount = deviceCount }

    /// A new, empty thread; returns its number.
    mutating func addThread(_ name: String) -> Int {
        threads.append([])
        threadNames.append(name)
        return threads.count - 1
    }

    /// Appends a task to `thread`'s list; returns its id.
    @discardableResult
    mutating func add(on thread: Int, device: Int, duration: Double, after dependencies: [Int] = [],
                      deviceAfter deviceDependencies: [Int] = [], bytesSent: Double = 0, blocking: Bool = true,
                      name: String = "") -> Int {
        tasks.append(Task(device: device, duration: duration, dependencies: dependencies,
                          deviceDependencies: deviceDependencies, bytesSent: bytesSent, blocking: blocking, name: name))
        threads[thread].append(tasks.count - 1)
        return tasks.count - 1
    }

    /// The last task on `thread`, if any.
    func last(on thread: Int) -> Int? { threads[thread].last }

    struct Outcome {
        var end: Double
        /// Per task: when it started and ended.
        var start: [Double]
        var finish: [Double]
        var busy: [Double]
        var bytesSent: [Double]
    }

    private struct Ready: Comparable {
        let time: Double
        let thread: Int
        static func < (a: Ready, b: Ready) -> Bool { (a.time, a.thread) < (b.time, b.thread) }
    }

    /// Each task's thread, by task id.
    var threadOfTask: [Int] {
        var result = [Int](repeating: 0, count: tasks.count)
        for (thread, ids) in threads.enumerated() { for id in ids { result[id] = thread } }
        return result
    }

    /// Runs every thread to its end.
    /// - Throws: `invalidArgument` if the threads wait for each other in a circle.
    func run() throws -> Outcome {
        var finish = [Double?](repeating: nil, count: tasks.count)
        var issued = [Double?](repeating: nil, count: tasks.count)
        var started = [Double](repeating: 0, count: tasks.count)
        var next = [Int](repeating: 0, count: threads.count)
        var threadFree = [Double](repeating: 0, count: threads.count)
        var queued = [Bool](repeating: false, count: threads.count)
        var deviceFree = [Double](repeating: 0, count: deviceCount)
        var busy = [Double](repeating: 0, count: deviceCount)
        var sent = [Double](repeating: 0, count: deviceCount)
        var ready = Heap<Ready>()

        func offer(_ thread: Int) {
            guard !queued[thread], next[thread] < threads[thread].count else { return }
            let task = tasks[threads[thread][next[thread]]]
            var time = threadFree[thread]
            for dependency in task.dependencies {
                guard let end = finish[dependency] else { return }
                time = max(time, end)
            }
            for dependency in task.deviceDependencies {
                guard let issue = issued[dependency] else { return }
                time = max(time, issue)
            }
            queued[thread] = true
            ready.insert(Ready(time: time, thread: thread))
        }

        for thread in threads.indices { offer(thread) }
        var end = 0.0
        while let entry = ready.popMin() {
            let thread = entry.thread
            let id = threads[thread][next[thread]]
            let task = tasks[id]
            let start = task.deviceDependencies.reduce(max(entry.time, deviceFree[task.device])) { max($0, finish[$1] ?? 0) }
            let done = start + task.duration
            deviceFree[task.device] = done
            busy[task.device] += task.duration
            sent[task.device] += task.bytesSent
            finish[id] = done
            issued[id] = entry.time
            started[id] = start
            threadFree[thread] = task.blocking ? done : entry.time
            end = max(end, done)
            next[thread] += 1
            queued[thread] = false
            for other in threads.indices { offer(other) }
        }
        guard next.indices.allSatisfy({ next[$0] == threads[$0].count }) else {
            throw CLTrainError.invalidArgument("the simulated threads wait for each other in a circle")
        }
        return Outcome(end: end, start: started, finish: finish.map { $0 ?? 0 }, busy: busy, bytesSent: sent)
    }
}
