import Foundation
import Testing
@testable import CLTrain

@Suite("Placement calibration")
struct PlacementCalibrationTests {
    let identity = DeviceIdentity(name: "Test Platform: test device", driver: "1.2.3")
    let shape = WorkloadShape(batch: 4, hidden: 8, embedding: 6, vocabulary: 20, steps: 5)
    let costs = DeviceCosts(layerForward: 1e-4, layerBackward: 2e-4, layerWeightGradient: 1.5e-4, firstLayerForward: 0.9e-4,
                            firstLayerBackward: 1.8e-4, firstLayerWeightGradient: 1.4e-4, decoderForwardPerRow: 3e-8,
                            decoderBackwardPerRow: 2e-8, decoderWeightGradientPerRow: 2e-8, hostBandwidth: 5e9)

    /// A fresh cache folder, removed after `body`.
    func withTemporaryCache(_ body: (CalibrationCache) throws -> Void) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cltrain-calibration-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try body(CalibrationCache(directory: directory))
    }

    @Test func storedCostsComeBackForTheSameDeviceAndShapeOnly() throws {
        try withTemporaryCache { cache in
            #expect(cache.load(identity: identity, shape: shape) == nil)
            try cache.store(costs, identity: identity, shape: shape)
            #expect(cache.load(identity: identity, shape: shape) == costs)
            var otherShape = shape
            otherShape.batch = 8
            #expect(cache.load(identity: identity, shape: otherShape) == nil)
            #expect(cache.load(identity: DeviceIdentity(name: identity.name, driver: "1.2.4"), shape: shape) == nil)
            #expect(cache.fileURL(identity: identity, shape: shape) != cache.fileURL(identity: identity, shape: otherShape))
            // No temporary file is left behind.
            let files = try FileManager.default.contentsOfDirectory(atPath: cache.directory.path)
            #expect(files == [cache.fileURL(identity: identity, shape: shape).lastPathComponent])
        }
    }

    @Test func aCorruptEntryIsIgnoredAndRewritten() throws {
        try withTemporaryCache { cache in
            let url = cache.fileURL(identity: identity, shape: shape)
            try FileManager.default.createDirectory(at: cache.directory, withIntermediateDirectories: true)
            try Data("{\"formatVersion\": 1, \"costs\": ".utf8).write(to: url)
            #expect(cache.load(identity: identity, shape: shape) == nil)

            var measured = 0
            let first = try DeviceCalibration.calibrate(identity: identity, shape: shape, cache: cache, recalibrate: false) {
                measured += 1
                return costs
            }
            #expect(measured == 1)
            #expect(!first.fromCache)
            #expect(cache.load(identity: identity, shape: shape) == costs)

            let second = try DeviceCalibration.calibrate(identity: identity, shape: shape, cache: cache, recalibrate: false) {
                measured += 1
                return costs
            }
            #expect(measured == 1)
            #expect(second.fromCache)
            #expect(second.costs == costs)

            // --recalibrate measures even so, and stores the new figures.
            let faster = costs.scaled(by: 0.5)
            let third = try DeviceCalibration.calibrate(identity: identity, shape: shape, cache: cache, recalibrate: true) {
                measured += 1
                return faster
            }
            #expect(measured == 2)
            #expect(!third.fromCache)
            #expect(cache.load(identity: identity, shape: shape) == faster)
        }
    }

    @Test func staleOrImplausibleEntriesAreIgnored() throws {
        try withTemporaryCache { cache in
            let url = cache.fileURL(identity: identity, shape: shape)
            try cache.store(costs, identity: identity, shape: shape)
            let valid = try Data(contentsOf: url)
            let text = String(decoding: valid, as: UTF8.self)

            // Another format version.
            let older = text.replacingOccurrences(of: "\"formatVersion\" : \(CalibrationCache.formatVersion)",
                                                 with: "\"formatVersion\" : \(CalibrationCache.formatVersion - 1)")
            #expect(older != text)
            try Data(older.utf8).write(to: url)
            #expect(cache.load(identity: identity, shape: shape) == nil)
            // Another device under this key (a hash collision).
            try Data(text.replacingOccurrences(of: "test device", with: "other device").utf8).write(to: url)
            #expect(cache.load(identity: identity, shape: shape) == nil)
            // A negative time.
            var negative = costs
            negative.layerBackward = -1
            try cache.store(negative, identity: identity, shape: shape)
            #expect(cache.load(identity: identity, shape: shape) == nil)
            // And the valid file still loads.
            try valid.write(to: url)
            #expect(cache.load(identity: identity, shape: shape) == costs)
        }
    }

    @Test func implausibleMeasurementsAreAnErrorAndNotCached() throws {
        try withTemporaryCache { cache in
            var broken = costs
            broken.decoderForwardPerRow = .nan
            #expect(throws: CLTrainError.self) {
                try DeviceCalibration.calibrate(identity: identity, shape: shape, cache: cache, recalibrate: false) { broken }
            }
            #expect(cache.load(identity: identity, shape: shape) == nil)
        }
    }

    @Test func theCacheLivesBesideTheKernelCache() {
        #expect(CalibrationCache.standard(environment: ["CLTRAIN_CACHE_DIR": "/tmp/x"])?.directory.path == "/tmp/x/calibration")
        #expect(CalibrationCache.standard(environment: ["CLTRAIN_CACHE_DIR": "off"]) == nil)
        #expect(CalibrationCache.standard(environment: ["XDG_CACHE_HOME": "/tmp/y"])?.directory.path == "/tmp/y/cltrain/calibration")
    }

    @Test func measuringTheCPUBackendGivesPlausibleCostsWithinItsBudget() throws {
        // No wall-clock bound (it would flake on a loaded machine): the budget's contract is counted
        // instead. Spent at once, every section runs its warm-up and one timed run, no more: for
        // each of the two layers timed (H wide, and layer 0 at E ≠ H), 2 passes of 2 steps.
        let profiled = ProfilingBackend(CPUBackend())
        let measured = try DeviceCalibration.measure(on: profiled, shape: shape, budgetSeconds: 0)
        #expect(profiled.profile.calls["lstmCellForward"] == 2 * 2 * 2)
        #expect(profiled.profile.calls["lstmCellBackward"] == 2 * 2 * 2)
        #expect(measured.isPlausible)
        for value in [measured.layerForward, measured.layerBackward, measured.layerWeightGradient, measured.firstLayerForward,
                      measured.decoderForwardPerRow, measured.decoderBackwardPerRow, measured.decoderWeightGradientPerRow] {
            #expect(value > 0)
        }
    }

    @Test func calibratingADeviceUsesTheCacheTheSecondTime() throws {
        try withTemporaryCache { cache in
            let first = try DeviceCalibration.calibrate(.cpu, shape: shape, cache: cache, budgetSeconds: 0.1)
            #expect(!first.fromCache)
            let second = try DeviceCalibration.calibrate(.cpu, shape: shape, cache: cache, budgetSeconds: 0.1)
            #expect(second.fromCache)
            #expect(second.costs == first.costs)
        }
    }
}
