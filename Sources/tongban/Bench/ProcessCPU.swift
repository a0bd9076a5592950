import Foundation
import Postgres

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
        let postgres = processes().filter { $0.stat.command == "postgres" }.reduce(0) { $0 + $1.stat.seconds }
        return ProcessCPU(
            benchmark: ownSeconds(), child: child.flatMap { read(String($0))?.seconds } ?? 0, postgres: postgres)
    }

    /// CPU seconds this process has used so far (its threads, and the threads it has started).
    static func ownSeconds() -> Double { read("self")?.seconds ?? 0 }

    /// Every process of the machine with its `/proc/<pid>/stat`.
    fileprivate static func processes() -> [(pid: Int32, stat: Stat)] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry in
            guard let pid = Int32(entry), let stat = read(entry) else { return nil }
            return (pid, stat)
        }
    }

    /// What the benchmarks read of `/proc/<pid>/stat`.
    fileprivate struct Stat {
        var command: String
        var parent: Int32
        /// User + system CPU seconds.
        var seconds: Double
    }

    /// The command name, parent and CPU seconds of `/proc/<pid>/stat`.
    private static func read(_ pid: String) -> Stat? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")")
        else { return nil }
        let command = String(text[text.index(after: open)..<close])
        // Fields after the command: state is field 3, the parent 4; utime and stime are fields 14 and 15.
        let fields = text[text.index(close, offsetBy: 2)...].split(separator: " ")
        guard fields.count > 12, let parent = Int32(fields[1]), let user = Double(fields[11]),
            let system = Double(fields[12])
        else { return nil }
        return Stat(command: command, parent: parent, seconds: (user + system) / ticksPerSecond)
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

/// The CPU time of one PostgreSQL cluster: its postmaster and the processes it started (the backends of the
/// benchmark's connections, the writers), read from `/proc` (Linux). Other clusters on the machine are left out.
struct ClusterCPU: Sendable {
    /// The postmaster's process id, from `postmaster.pid` in the data directory.
    let postmaster: Int32

    /// Finds the cluster's postmaster.
    /// - Parameter server: the embedded cluster.
    /// - Throws: ``CommandFailure`` when `postmaster.pid` cannot be read.
    init(_ server: EmbeddedPostgres) throws {
        let file = server.directory.appendingPathComponent("data/postmaster.pid")
        guard let text = try? String(contentsOf: file, encoding: .utf8),
            let pid = text.split(separator: "\n").first.flatMap({ Int32($0) })
        else { throw CommandFailure("cannot read the postmaster's pid from \(file.path)") }
        postmaster = pid
    }

    /// CPU seconds (user + system) used so far by the postmaster and its children that still run: a connection
    /// closed between two readings takes its backend's time with it.
    func seconds() -> Double {
        ProcessCPU.processes().filter { $0.pid == postmaster || $0.stat.parent == postmaster }
            .reduce(0) { $0 + $1.stat.seconds }
    }
}

/// CPU seconds per answer of a closed-loop phase of HTTP load, on each side: this process without the load
/// generator's threads (the server), PostgreSQL, and the load generator.
struct CPUShare {
    var process = 0.0
    var postgres = 0.0
    var generator = 0.0
    /// All three.
    var total: Double { process + postgres + generator }

    /// Runs a phase and divides the CPU this process and the cluster used during it by the answers it got.
    /// - Parameters:
    ///   - cluster: the PostgreSQL cluster the server asks.
    ///   - phase: the phase, on the load generator's threads.
    /// - Returns: what the phase measured, and the CPU per answer.
    /// - Throws: what the phase throws.
    static func measuring(
        _ cluster: ClusterCPU, _ phase: () async throws -> HTTPLoad.Result
    ) async throws -> (HTTPLoad.Result, CPUShare) {
        let before = (process: ProcessCPU.ownSeconds(), postgres: cluster.seconds())
        let result = try await phase()
        let answers = Double(max(result.answered, 1))
        let generator = result.generatorCPU / answers
        let share = CPUShare(
            process: (ProcessCPU.ownSeconds() - before.process) / answers - generator,
            postgres: (cluster.seconds() - before.postgres) / answers, generator: generator)
        return (result, share)
    }
}
