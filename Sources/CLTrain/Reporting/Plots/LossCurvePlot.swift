import Foundation

/// A training run's loss curves from its `cltrain train --metrics` JSON Lines: the training loss
/// at each logged step and the validation loss after each epoch, in nats per token, against the
/// update step; one point per record. A record whose loss is not finite (null, named under
/// "nonFinite") has no point, and the plot says how many there were. Where a file holds several
/// runs (a later run appended, its steps starting again), each run's line starts afresh.
public struct LossCurvePlot {
    public struct Point: Equatable, Sendable {
        public let step: Int
        public let loss: Double
    }

    public let training: [Point]
    public let validation: [Point]
    /// Records with a non-finite loss, left out.
    public let nonFinite: Int
    public let source: String

    public init(training: [Point], validation: [Point], nonFinite: Int = 0, source: String) {
        self.training = training
        self.validation = validation
        self.nonFinite = nonFinite
        self.source = source
    }

    /// - Throws: `CLTrainError.invalidArgument` naming `source` and the line of a record that is
    ///   not a JSON object with a `type`, `step` and `loss`, or when no record has a loss.
    public init(metricsJSONLines data: Data, source: String) throws {
        var training: [Point] = [], validation: [Point] = [], nonFinite = 0
        var lastStep = 0
        for (index, line) in data.split(separator: UInt8(ascii: "\n")).enumerated() {
            guard !line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }) else { continue }
            let place = "'\(source)' line \(index + 1)"
            guard let object = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any],
                  let type = object["type"] as? String else {
                throw CLTrainError.invalidArgument("\(place) is not a cltrain --metrics record (a JSON object with a \"type\")")
            }
            guard type == "step" || type == "validation" else { continue }
            // Validation records before steps carried one: the step they follow.
            let step: Int
            if let number = object["step"] as? NSNumber, number.doubleValue.rounded() == number.doubleValue,
               abs(number.doubleValue) < 9e15 {
                step = number.intValue
            } else if type == "validation" && object["step"] == nil {
                step = lastStep
            } else {
                throw CLTrainError.invalidArgument("\(place): \"step\" is not a whole number")
            }
            guard let loss = (object["loss"] as? NSNumber)?.doubleValue, loss.isFinite else {
                guard object["loss"] is NSNull else { throw CLTrainError.invalidArgument("\(place) has no \"loss\"") }
                nonFinite += 1
                continue
            }
            if type == "step" {
                training.append(Point(step: step, loss: loss))
                lastStep = step
            } else {
                validation.append(Point(step: step, loss: loss))
            }
        }
        guard !training.isEmpty || !validation.isEmpty else {
            throw CLTrainError.invalidArgument("'\(source)' has no step or validation record with a finite loss: nothing to plot")
        }
        self.init(training: training, validation: validation, nonFinite: nonFinite, source: source)
    }

    public static let trainingKind = "training-point", validationKind = "validation-point"

    public func svg() -> String {
        let width = 820.0, height = 480.0, left = 70.0, right = width - 24, top = 64.0, bottom = height - 56
        var canvas = SVGCanvas(width: width, height: height)
        canvas.text("Loss: \(source)", x: 16, y: 24, size: 16, bold: true)
        var subtitle = "\(training.count) logged training steps, \(validation.count) validations (cross-entropy, nats per token)"
        if nonFinite > 0 { subtitle += "; \(nonFinite) non-finite left out" }
        canvas.text(subtitle, x: 16, y: 42, size: 11, fill: "#555")
        let all = training + validation
        let x = PlotScale(covering: all.map { Double($0.step) }, from: left, to: right, logarithmic: false)
        let y = PlotScale(covering: all.map(\.loss), from: bottom, to: top, logarithmic: false)
        canvas.grid(x: x, y: y, left: left, right: right, top: top, bottom: bottom)
        canvas.text("step", x: (left + right) / 2, y: bottom + 36, size: 11, anchor: .middle)
        canvas.text("loss (nats/token)", x: 22, y: (top + bottom) / 2, size: 11, anchor: .middle, rotated: true)

        let series: [(points: [Point], color: String, kind: String, square: Bool, name: String)] = [
            (training, "#1f77b4", Self.trainingKind, false, "training"),
            (validation, "#d62728", Self.validationKind, true, "validation"),
        ]
        for (index, line) in series.enumerated() {
            for run in Self.runs(line.points) {
                canvas.polyline(run.compactMap { point in
                    guard let px = x.position(Double(point.step)), let py = y.position(point.loss) else { return nil }
                    return (px, py)
                }, stroke: line.color, width: line.square ? 1.2 : 1.5)
            }
            for point in line.points {
                guard let px = x.position(Double(point.step)), let py = y.position(point.loss) else { continue }
                canvas.marker(x: px, y: py, radius: line.square ? 3.5 : 2.5, fill: line.color, kind: line.kind, square: line.square,
                              title: "\(line.name) step \(point.step): loss \(String(format: "%.4f", point.loss)), perplexity \(String(format: "%.4g", exp(point.loss)))")
            }
            // The legend, above the plot's top right corner.
            let lx = right - 190 + 100 * Double(index)
            canvas.marker(x: lx, y: 38, fill: line.color, kind: "legend", square: line.square)
            canvas.text(line.name, x: lx + 10, y: 42, size: 11)
        }
        return canvas.rendered()
    }

    /// `points` split where the step goes back (a later run appended to the same file).
    static func runs(_ points: [Point]) -> [[Point]] {
        var result: [[Point]] = []
        for point in points {
            if let last = result.last?.last, point.step > last.step { result[result.count - 1].append(point) } else { result.append([point]) }
        }
        return result
    }
}
