import Foundation

/// The table of a benchmark's report, as `bench serve` and `bench certificates` print it: one row per figure with
/// its value, its goal, the ratio value ÷ goal and whether the goal was met, and the units the values are written in.
struct BenchReport {
    /// Characters of the figure's name column.
    var nameWidth: Int
    /// Characters of the goal column.
    var goalWidth: Int

    /// The row naming the columns.
    var header: String { row("figure", "value", goal: "goal") + "ratio = value ÷ goal" }

    /// One row of the table.
    /// - Parameters:
    ///   - name: the figure.
    ///   - value: its value, with its unit.
    ///   - goal: the goal, `—` when there is none.
    ///   - ratio: value ÷ goal, when there is a goal.
    ///   - met: whether the goal was met (`met` or `MISSED`), when the figure is judged.
    /// - Returns: the row, its columns padded.
    func row(_ name: String, _ value: String, goal: String = "—", ratio: Double? = nil, met: Bool? = nil) -> String {
        let verdict = met.map { $0 ? "met" : "MISSED" } ?? ""
        let ratioText = ratio.map { String(format: "%.2f", $0) } ?? ""
        return name.padding(toLength: nameWidth, withPad: " ", startingAt: 0) + value.leftPadded(to: 18) + "  "
            + goal.padding(toLength: goalWidth, withPad: " ", startingAt: 0) + ratioText.leftPadded(to: 6) + "  "
            + verdict
    }

    /// Seconds written as milliseconds, e.g. `1.25 ms`.
    func ms(_ seconds: Double) -> String { String(format: "%.2f ms", seconds * 1e3) }

    /// Seconds written as whole microseconds, e.g. `412 µs`.
    func micros(_ seconds: Double) -> String { String(format: "%.0f µs", seconds * 1e6) }

    /// A rate written whole with its unit, e.g. `5012 q/s`.
    func perSecond(_ value: Double, _ unit: String) -> String { String(format: "%.0f \(unit)", value) }
}

extension [Double] {
    /// The value below which `fraction` of these values lie (nearest rank), for values sorted in increasing order;
    /// NaN when there are none.
    /// - Parameter fraction: e.g. 0.99 for the 99th percentile.
    /// - Returns: the percentile.
    func percentile(_ fraction: Double) -> Double {
        guard !isEmpty else { return .nan }
        let rank = Int((fraction * Double(count)).rounded(.up)) - 1
        return self[Swift.min(Swift.max(rank, 0), count - 1)]
    }
}

/// Writes a line of a benchmark's progress at once (`print` is buffered when standard output is not a terminal).
/// - Parameter line: the line, without its newline.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
