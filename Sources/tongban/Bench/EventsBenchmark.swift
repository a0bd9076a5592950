import Crypto
import Events
import Foundation
import SyntheticPopulation

/// Throughput of the event contract: generation, validation, signing and verification.
enum EventsBenchmark {
    static func run(people: Int, sample: Int) async throws -> [BenchmarkFigure] {
        var figures: [BenchmarkFigure] = []

        // Generation to a file, no signing (as `tongban generate` writes it).
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tongban-bench-\(UUID()).ndjson").path
        guard FileManager.default.createFile(atPath: path, contents: nil),
            let handle = FileHandle(forWritingAtPath: path)
        else { throw BenchmarkError("cannot write \(path)") }
        var writer = BufferedWriter(handle: handle)
        var lines: [[UInt8]] = []
        var departments: [GeneratedEvent.Department] = []
        let generated = try PopulationBenchmark.run(people: people, seed: 1) { event in
            try writer.write(event.line)
            try writer.write([UInt8(ascii: "\n")])
            if lines.count < sample {
                lines.append(event.line)
                departments.append(event.department)
            }
        }
        try writer.close()
        try? FileManager.default.removeItem(atPath: path)
        figures.append(
            BenchmarkFigure(
                name: "generate (to a file)", value: Double(generated.events) / generated.seconds, unit: "events/s",
                note: "\(generated.events) events, \(generated.bytes >> 20) MiB, --people \(people); goal ≥ 200,000"))

        let validator = try EventValidator()
        let now = Date()
        let options = EventValidator.Options(requireSignature: false)
        let lineBatch = lines
        let validateOne = measure(lines.count) {
            for line in lineBatch { _ = try? validator.validate(line, options: options, now: now) }
        }
        figures.append(
            BenchmarkFigure(
                name: "validate (1 core)", value: validateOne, unit: "events/s",
                note: "parse + envelope and data schemas + every rule + typed decode, \(lines.count) events"))
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let validateAll = await measureParallel(lines, cores: cores) { line in
            _ = try? validator.validate(line, options: options, now: now)
        }
        figures.append(
            BenchmarkFigure(
                name: "validate (\(cores) cores)", value: validateAll, unit: "events/s",
                note: "same work, one task per core"))

        // Signing and verification with the department keys.
        let envelopes = lines.compactMap { try? JSONParser.parse($0) }
        let keys = departments.map { DevKeys.key(for: $0) }
        let signRate = measure(envelopes.count) {
            for (envelope, key) in zip(envelopes, keys) { _ = try? key.sign(envelope).serialized }
        }
        figures.append(
            BenchmarkFigure(
                name: "sign (1 core)", value: signRate, unit: "events/s",
                note: "RFC 8785 canonical bytes + Ed25519 + serialization"))
        let signed = zip(envelopes, keys).compactMap { try? $0.1.sign($0.0).objectValue }
        let registry = DevKeys.registry
        let verifyRate = measure(signed.count) {
            for envelope in signed { try? registry.verify(envelope) }
        }
        figures.append(
            BenchmarkFigure(
                name: "verify (1 core)", value: verifyRate, unit: "events/s", note: "canonical bytes + Ed25519 verify"))

        // The raw bound: Ed25519 verification alone of messages of the same size, on one core.
        let key = Curve25519.Signing.PrivateKey()
        let messages = signed.prefix(2_000).compactMap { try? EventSignatures.signingBytes(of: $0) }
        let signatures = try messages.map { try key.signature(for: $0) }
        let publicKey = key.publicKey
        let rounds = max(1, 20_000 / max(messages.count, 1))
        let rawVerify = measure(messages.count * rounds) {
            for _ in 0..<rounds {
                for (message, signature) in zip(messages, signatures) {
                    _ = publicKey.isValidSignature(signature, for: message)
                }
            }
        }
        figures.append(
            BenchmarkFigure(
                name: "Ed25519 verify, raw (1 core)", value: rawVerify, unit: "sigs/s",
                note:
                    "swift-crypto over the same canonical bytes; verify above is \(String(format: "%.2f", verifyRate / rawVerify)) of this"
            ))
        return figures
    }

    /// Items per second of `body`, which processes `count` items.
    static func measure(_ count: Int, _ body: () -> Void) -> Double {
        let start = ContinuousClock.now
        body()
        return Double(count) / (ContinuousClock.now - start).seconds
    }

    static func measureParallel(
        _ items: [[UInt8]], cores: Int, _ body: @escaping @Sendable ([UInt8]) -> Void
    ) async -> Double {
        let start = ContinuousClock.now
        await withTaskGroup(of: Void.self) { group in
            let chunk = (items.count + cores - 1) / max(cores, 1)
            for begin in stride(from: 0, to: items.count, by: max(chunk, 1)) {
                let slice = Array(items[begin..<min(begin + chunk, items.count)])
                group.addTask { for item in slice { body(item) } }
            }
        }
        return Double(items.count) / (ContinuousClock.now - start).seconds
    }
}

struct BenchmarkError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
