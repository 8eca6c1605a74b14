import Foundation

/// A roofline of `cltrain-bench --json` results: per device, FLOP/s against arithmetic intensity
/// (FLOPs per byte moved), both logarithmic, under the device's measured roofs — the bandwidth
/// slope (intensity × bytes/s) and the FP32 peak — meeting at the ridge point.
///
/// Each case is one mark: a point where both its FLOPs and bytes are counted (gemm); a dashed
/// line parallel to the bandwidth roof at the bandwidth it reached where only bytes are counted
/// (softmax, elementwise: memory-bound, FLOPs not counted); a dotted horizontal line at the FLOP/s
/// it reached where only FLOPs are (whole LSTM layers). Marks are numbered; the legend gives each
/// case's rate and its share of the roof it is measured against. Failed cases have no mark.
public struct RooflinePlot {
    public struct Device: Sendable {
        public let label: String
        public let name: String
        public let peakFlopsPerSecond: Double
        public let peakBytesPerSecond: Double
    }

    public struct Case: Sendable {
        public let device: String
        public let name: String
        public let flops: Double?
        public let bytes: Double?
        public let seconds: Double

        public var flopsPerSecond: Double? { flops.map { $0 / seconds } }
        public var bytesPerSecond: Double? { bytes.map { $0 / seconds } }
        /// FLOPs per byte, where both are counted.
        public var intensity: Double? {
            guard let flops, let bytes, bytes > 0 else { return nil }
            return flops / bytes
        }
    }

    public enum Mark: String { case point = "case-point", bandwidth = "case-bandwidth", compute = "case-compute" }

    public let devices: [Device]
    public let cases: [Case]
    /// Where the results came from, for the title.
    public let source: String

    public init(devices: [Device], cases: [Case], source: String) {
        self.devices = devices
        self.cases = cases
        self.source = source
    }

    /// The devices with a measured peak and their cases that ran, from `cltrain-bench --json`.
    /// - Throws: `CLTrainError.invalidArgument` naming `source` when it is not such a file or
    ///   holds no case to plot.
    public init(benchmarkJSON data: Data, source: String) throws {
        struct File: Decodable {
            struct Peak: Decodable { let flopsPerSecond: Double; let bytesPerSecond: Double }
            struct DeviceRecord: Decodable { let label: String; let name: String; let peak: Peak? }
            struct Time: Decodable { let median: Double }
            struct Result: Decodable {
                let device: String
                let `case`: String
                let flops: Double?
                let bytes: Double?
                let time: Time?
            }
            let devices: [DeviceRecord]
            let results: [Result]
        }
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: data)
        } catch {
            throw CLTrainError.invalidArgument("'\(source)' is not a cltrain-bench --json file: \(error)")
        }
        let devices = file.devices.compactMap { record -> Device? in
            guard let peak = record.peak, peak.flopsPerSecond > 0, peak.bytesPerSecond > 0,
                  peak.flopsPerSecond.isFinite, peak.bytesPerSecond.isFinite else { return nil }
            return Device(label: record.label, name: record.name, peakFlopsPerSecond: peak.flopsPerSecond,
                          peakBytesPerSecond: peak.bytesPerSecond)
        }
        let labels = Set(devices.map(\.label))
        let cases = file.results.compactMap { result -> Case? in
            guard labels.contains(result.device), let seconds = result.time?.median, seconds > 0, seconds.isFinite,
                  result.flops.map({ $0 > 0 && $0.isFinite }) ?? true, result.bytes.map({ $0 > 0 && $0.isFinite }) ?? true,
                  result.flops != nil || result.bytes != nil else { return nil }
            return Case(device: result.device, name: result.case, flops: result.flops, bytes: result.bytes, seconds: seconds)
        }
        guard !cases.isEmpty else {
            throw CLTrainError.invalidArgument("'\(source)' holds no timed case on a device with a measured peak: nothing to plot")
        }
        self.init(devices: devices.filter { device in cases.contains { $0.device == device.label } }, cases: cases, source: source)
    }

    /// The mark a case gets (see the type's description).
    public static func mark(of item: Case) -> Mark {
        item.intensity != nil ? .point : item.bytes != nil ? .bandwidth : .compute
    }

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"]

    /// The SVG document: one panel per device, its legend beside it.
    public func svg() -> String {
        let panelWidth = 560.0, legendWidth = 470.0, top = 56.0
        let heights = devices.map { device in max(400, 60 + 16 * Double(cases.filter { $0.device == device.label }.count)) }
        var canvas = SVGCanvas(width: panelWidth + legendWidth, height: top + heights.reduce(0, +) + 10)
        canvas.text("Roofline: \(source)", x: 16, y: 24, size: 16, bold: true)
        canvas.text("FP32 peak and bandwidth as cltrain-bench measured them; ● FLOPs and bytes counted (above the bandwidth roof: from cache), - - bytes only (memory-bound), ··· FLOPs only",
                    x: 16, y: 42, size: 11, fill: "#555")
        var y = top
        for (device, height) in zip(devices, heights) {
            panel(device, in: &canvas, top: y, width: panelWidth, height: 400, legendX: panelWidth)
            y += height
        }
        return canvas.rendered()
    }

    private func panel(_ device: Device, in canvas: inout SVGCanvas, top: Double, width: Double, height: Double, legendX: Double) {
        let items = cases.filter { $0.device == device.label }
        let left = 70.0, right = width - 20, plotTop = top + 28, bottom = top + height - 50
        let ridge = device.peakFlopsPerSecond / device.peakBytesPerSecond
        let intensities = items.compactMap(\.intensity) + [ridge / 30, ridge * 30]
        let x = PlotScale(covering: intensities, from: left, to: right, logarithmic: true)
        let rates = items.flatMap { item -> [Double] in
            [item.flopsPerSecond, item.bytesPerSecond.map { $0 * x.lower }].compactMap { $0 }
        } + [device.peakFlopsPerSecond * 2, device.peakBytesPerSecond * x.lower]
        let yScale = PlotScale(covering: rates.map { $0 / 1e9 }, from: bottom, to: plotTop, logarithmic: true)
        func py(_ flopsPerSecond: Double) -> Double? { yScale.position(flopsPerSecond / 1e9) }

        canvas.text("device \(device.label): \(device.name) — peak \(Self.rate(device.peakFlopsPerSecond, "FLOP/s")), "
                    + "\(Self.rate(device.peakBytesPerSecond, "B/s")), ridge at \(String(format: "%.3g", ridge)) FLOP/byte",
                    x: 16, y: top + 16, size: 13, bold: true)
        // Grid and axes.
        canvas.grid(x: x, y: yScale, left: left, right: right, top: plotTop, bottom: bottom)
        canvas.text("arithmetic intensity (FLOP per byte moved)", x: (left + right) / 2, y: bottom + 34, size: 11, anchor: .middle)
        canvas.text("GFLOP/s", x: 20, y: (plotTop + bottom) / 2, size: 11, anchor: .middle, rotated: true)

        // The roofs: bandwidth up to the ridge, then the peak.
        let roofStart = x.lower, roofEnd = x.upper
        if let x0 = x.position(roofStart), let y0 = py(roofStart * device.peakBytesPerSecond),
           let xr = x.position(ridge), let yr = py(device.peakFlopsPerSecond), let x1 = x.position(roofEnd) {
            canvas.line(x0, y0, xr, yr, stroke: "#000", width: 2.5)
            canvas.line(xr, yr, x1, yr, stroke: "#000", width: 2.5)
            canvas.text("peak \(Self.rate(device.peakFlopsPerSecond, "FLOP/s"))", x: x1 - 4, y: yr - 6, size: 10, anchor: .end)
        }

        // One mark per case, numbered; the legend beside.
        for (number, item) in items.enumerated() {
            let color = Self.palette[number % Self.palette.count]
            let label = "\(number + 1)"
            var legend = "\(label). \(item.name): "
            switch Self.mark(of: item) {
            case .point:
                guard let intensity = item.intensity, let rate = item.flopsPerSecond,
                      let px = x.position(intensity), let y = py(rate) else { continue }
                let roof = min(device.peakFlopsPerSecond, intensity * device.peakBytesPerSecond)
                legend += "\(Self.rate(rate, "FLOP/s")), \(String(format: "%.3g", intensity)) FLOP/B, \(Self.percent(rate / roof)) of its roof"
                canvas.marker(x: px, y: y, fill: color, kind: Mark.point.rawValue, title: legend)
                canvas.text(label, x: px + 5, y: y - 5, size: 9, fill: color)
            case .bandwidth:
                guard let bandwidth = item.bytesPerSecond, let x0 = x.position(x.lower), let y0 = py(x.lower * bandwidth),
                      let x1 = x.position(ridge), let y1 = py(ridge * bandwidth) else { continue }
                legend += "\(Self.rate(bandwidth, "B/s")), \(Self.percent(bandwidth / device.peakBytesPerSecond)) of the bandwidth"
                canvas.line(x0, y0, x1, y1, stroke: color, width: 1.2, dash: "5 3")
                canvas.marker(x: x0, y: y0, radius: 2.5, fill: color, kind: Mark.bandwidth.rawValue, square: true, title: legend)
                canvas.text(label, x: x1 + 3, y: y1 + 3, size: 9, fill: color)
            case .compute:
                guard let rate = item.flopsPerSecond, let y = py(rate), let x0 = x.position(ridge), let x1 = x.position(x.upper) else { continue }
                legend += "\(Self.rate(rate, "FLOP/s")), \(Self.percent(rate / device.peakFlopsPerSecond)) of the peak"
                canvas.line(x0, y, x1, y, stroke: color, width: 1.2, dash: "1 3")
                canvas.marker(x: x1, y: y, radius: 2.5, fill: color, kind: Mark.compute.rawValue, square: true, title: legend)
                canvas.text(label, x: x0 - 4, y: y + 3, size: 9, anchor: .end, fill: color)
            }
            canvas.text(legend, x: legendX, y: plotTop + 10 + 16 * Double(number), size: 10.5, fill: color)
        }
    }

    /// "12.3 GFLOP/s", "850 MB/s".
    static func rate(_ value: Double, _ unit: String) -> String {
        let (scale, prefix): (Double, String) = value >= 1e12 ? (1e12, "T") : value >= 1e9 ? (1e9, "G") : value >= 1e6 ? (1e6, "M") : (1e3, "k")
        return String(format: "%.3g", value / scale) + " \(prefix)\(unit)"
    }

    /// "36%", "2.5%", "0.31%": two figures below 10 %.
    static func percent(_ fraction: Double) -> String {
        String(format: 100 * fraction < 10 ? "%.2g%%" : "%.0f%%", 100 * fraction)
    }
}
