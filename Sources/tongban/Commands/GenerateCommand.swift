import ArgumentParser
import Events
import Foundation
import SyntheticPopulation

/// `tongban generate`: a deterministic synthetic population as NDJSON event streams.
///
/// A synchronous command: it writes its files from start to end on the main thread, never on a thread of Swift's
/// cooperative pool (README, "Concurrency").
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write a deterministic synthetic population: NDJSON events for all five departments.",
        discussion: """
            With --out DIR: DIR/<department>.ndjson (one envelope per line, in publication order), DIR/expected.json
            (ground-truth answers for a sample of questions), DIR/anomalies.ndjson (every anomaly with its file and
            line), and DIR/keys/ (DEVELOPMENT keys made for this run: <department>.private.jwk and public.jwks). With
            --out -, every event goes to standard output. Events are unsigned unless --signed (signing is much
            slower); `tongban publish --key` signs unsigned ones. Signature anomalies need --signed.
            """
    )

    @Option(help: "About how many people (whole families are completed).")
    var people = 1_000

    @Option(help: "The seed: the same people, seed and options give byte-identical output.")
    var seed: UInt64 = 1

    @Option(
        help: "The share of messages that are anomalies (duplicates, late arrivals, name conflicts, invalid ones), 0…1."
    )
    var anomalies = 0.0

    @Option(help: "Nothing is dated after this day (YYYY-MM-DD).")
    var asOf = "2026-11-01"

    @Flag(
        help: """
            Sign every event with a development key made for this run (written to DIR/keys; `tongban project` \
            accepts them only with --allow-development-keys).
            """)
    var signed = false

    @Option(help: "A directory to write the files to, or - for standard output.")
    var out: String

    func run() throws {
        var configuration = PopulationConfiguration(people: people, seed: seed)
        configuration.anomalyRate = anomalies
        configuration.asOf = asOf
        if signed { configuration.signingKeys = DevKeys.all }
        let generator = try PopulationGenerator(configuration)
        let start = ContinuousClock.now
        let total: Int
        var counts: [String: Int] = [:]
        if out == "-" {
            var sink = BufferedWriter(handle: .standardOutput)
            var count = 0
            _ = try generator.generate { event in
                try sink.write(event.line)
                try sink.write([UInt8(ascii: "\n")])
                count += 1
            }
            try sink.flush()
            total = count
        } else {
            total = try writeDirectory(generator, counts: &counts)
        }
        let seconds = (ContinuousClock.now - start).seconds
        printError(
            "generated \(total) events in \(String(format: "%.2f", seconds)) s (\(Int(Double(total) / seconds)) events/s)"
                + (counts.isEmpty
                    ? ""
                    : ": " + counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")))
    }

    private func writeDirectory(_ generator: PopulationGenerator, counts: inout [String: Int]) throws -> Int {
        let directory = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(
            at: directory.appendingPathComponent("keys"), withIntermediateDirectories: true)
        var writers: [GeneratedEvent.Department: BufferedWriter] = [:]
        for department in GeneratedEvent.Department.all {
            let path = directory.appendingPathComponent("\(department.name).ndjson").path
            guard FileManager.default.createFile(atPath: path, contents: nil),
                let handle = FileHandle(forWritingAtPath: path)
            else { throw ValidationError("cannot write \(path)") }
            writers[department] = BufferedWriter(handle: handle)
        }
        var anomalyLines: [UInt8] = []
        var lineNumbers: [GeneratedEvent.Department: Int] = [:]
        var progress = ProgressBar(label: "generating", total: nil)
        var total = 0
        let expected = try generator.generate { event in
            try writers[event.department]?.write(event.line)
            try writers[event.department]?.write([UInt8(ascii: "\n")])
            lineNumbers[event.department, default: 0] += 1
            counts[event.department.name, default: 0] += 1
            if let anomaly = event.anomaly {
                let record: JSONValue = [
                    "kind": .string(anomaly.name), "rejected": .bool(anomaly.isRejected),
                    "file": .string("\(event.department.name).ndjson"),
                    "line": .number(String(lineNumbers[event.department, default: 0])),
                    "id": event.id.map(JSONValue.string) ?? .null, "kafkaKey": .string(event.key),
                ]
                anomalyLines += record.serialized + [UInt8(ascii: "\n")]
            }
            total += 1
            if total % 50_000 == 0 { progress.update(total) }
        }
        progress.finish(total)
        for department in GeneratedEvent.Department.all { try writers[department]?.close() }
        try Data(anomalyLines).write(to: directory.appendingPathComponent("anomalies.ndjson"))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(expected).write(to: directory.appendingPathComponent("expected.json"))
        try DevelopmentKeyFiles.save(DevKeys.all, to: directory.appendingPathComponent("keys"))
        return total
    }
}

/// Collects bytes and writes them to a file handle in large chunks.
struct BufferedWriter {
    let handle: FileHandle
    private var buffer: [UInt8] = []

    init(handle: FileHandle) {
        self.handle = handle
        buffer.reserveCapacity(1 << 20)
    }

    mutating func write(_ bytes: [UInt8]) throws {
        buffer += bytes
        if buffer.count >= 1 << 20 { try flush() }
    }

    mutating func flush() throws {
        guard !buffer.isEmpty else { return }
        try handle.write(contentsOf: buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    mutating func close() throws {
        try flush()
        try handle.close()
    }
}
