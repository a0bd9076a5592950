import Foundation

/// A one-line progress bar on standard error: done/total, rate and ETA, redrawn at most 10 times a
/// second. On a terminal it redraws in place; otherwise it prints a line every few seconds, so logs
/// and CI output stay readable.
struct ProgressBar {
    var label: String
    var total: Int?
    private let start = ContinuousClock.now
    private var lastDraw = ContinuousClock.now - .seconds(10)
    private var lastDrawn = -1
    private let interactive = isatty(STDERR_FILENO) != 0

    init(label: String, total: Int?) {
        self.label = label
        self.total = total
    }

    mutating func update(_ done: Int, force: Bool = false) {
        let now = ContinuousClock.now
        guard done != lastDrawn, force || now - lastDraw >= (interactive ? .milliseconds(100) : .seconds(5)) else {
            return
        }
        lastDraw = now
        lastDrawn = done
        let line = Self.render(label: label, done: done, total: total, elapsed: now - start)
        FileHandle.standardError.write(
            Data(((interactive ? "\r\u{1B}[2K" : "") + line + (interactive ? "" : "\n")).utf8))
    }

    mutating func finish(_ done: Int) {
        update(done, force: true)
        if interactive { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    static func render(label: String, done: Int, total: Int?, elapsed: Duration) -> String {
        let seconds = max(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18, 1e-6)
        let rate = Double(done) / seconds
        guard let total, total > 0 else {
            return "\(label) \(done) events  \(Int(rate)) events/s"
        }
        let fraction = min(Double(done) / Double(total), 1)
        let width = 30
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        let remaining = rate > 0 ? Double(total - done) / rate : 0
        let eta = done >= total ? "done" : "ETA \(Int(remaining / 60))m\(String(format: "%02d", Int(remaining) % 60))s"
        return "\(label) \(bar) \(Int(fraction * 100))% \(done)/\(total)  \(Int(rate)) events/s  \(eta)"
    }
}
