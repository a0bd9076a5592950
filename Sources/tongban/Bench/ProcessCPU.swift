import Foundation

/// CPU time used by processes of this machine, read from `/proc` (Linux), to say where a benchmark's time went.
///
/// A snapshot holds the CPU time (user + system) of this process (the benchmark, which also hosts the mock Kafka
/// brokers), of one child process, and of every PostgreSQL process; the difference of two snapshots divided by the
/// events processed in between is the CPU each part spent per event.
struct ProcessCPU {
    /// CPU seconds of this process, the child, and all `postgres` processes.
    var benchmark: Double
    var child: Double
    var postgres: Double

    /// Clock ticks per second of `/proc/<pid>/stat`.
    private static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    /// Takes a snapshot.
    /// - Parameter child: the child process to account for, if any.
    static func snapshot(child: Int32? = nil) -> ProcessCPU {
        var postgres = 0.0
        if let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") {
            for entry in entries where entry.first?.isNumber == true {
                guard let stat = read(entry), stat.command == "postgres" else { continue }
                postgres += stat.seconds
            }
        }
        return ProcessCPU(
            benchmark: read("self")?.seconds ?? 0, child: child.flatMap { read(String($0))?.seconds } ?? 0,
            postgres: postgres)
    }

    /// The command name and CPU seconds of `/proc/<pid>/stat`.
    private static func read(_ pid: String) -> (command: String, seconds: Double)? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")")
        else { return nil }
        let command = String(text[text.index(after: open)..<close])
        // Fields after the command: state is field 3; utime and stime are fields 14 and 15.
        let fields = text[text.index(close, offsetBy: 2)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (command, (user + system) / ticksPerSecond)
    }

    /// Microseconds of CPU per event of each part between two snapshots, as a note.
    static func perEvent(from start: ProcessCPU, to end: ProcessCPU, events: Int, childName: String) -> String {
        let count = Double(max(events, 1))
        func micros(_ seconds: Double) -> String { String(format: "%.1f", seconds * 1e6 / count) }
        return "CPU per event: \(childName) \(micros(end.child - start.child)) µs, PostgreSQL "
            + "\(micros(end.postgres - start.postgres)) µs, Kafka brokers (this process) "
            + "\(micros(end.benchmark - start.benchmark)) µs"
    }
}
