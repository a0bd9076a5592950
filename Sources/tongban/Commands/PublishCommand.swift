import ArgumentParser
import Events
import Foundation
import Kafka
import Publishing

/// `tongban publish`: validate, sign and produce a department's events.
struct PublishCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract:
            "Validate, sign and produce NDJSON events of one department to its topic, and wait for acknowledgements.",
        discussion: """
            Each line is an envelope without tbsig/tbkid (any present are replaced). By default one invalid line
            refuses the whole batch and nothing is sent; --on-invalid skip sends the valid lines and reports the
            others. Needs Kafka: --kafka-bootstrap-servers or KAFKA_BOOTSTRAP_SERVERS (`tongban dev` prints it).
            Exit status: 0 all published; 1 refused, nothing sent; 2 published, invalid lines skipped; 3 some
            events not acknowledged by Kafka (re-running re-sends the same ids, which the hub ignores).
            The last line of standard output is `position: TOKEN`, the position token of what was published: a
            question or certificate issuance that passes it as the Tongban-Min-Position header is answered only once
            the hub's views include these events (read-your-writes). With --position-only standard output is the
            token alone (the summary goes to standard error): TOKEN=$(tongban publish ... --position-only).
            """
    )

    enum OnInvalid: String, ExpressibleByArgument, CaseIterable { case refuse, skip }

    /// Invalid lines refused the batch: nothing was sent; safe to fix and run again.
    static let refusedExitCode: Int32 = 1
    /// Every valid line was delivered; invalid lines were skipped (listed on standard error).
    static let skippedExitCode: Int32 = 2
    /// Some events were not acknowledged by Kafka; re-running re-sends the same ids (the hub ignores repeats).
    static let partiallyDeliveredExitCode: Int32 = 3

    @OptionGroup var global: GlobalOptions

    @Option(help: "The department whose events these are; the key must be this department's.")
    var department: String

    @Option(help: "The department's private key file (a JWK, see `tongban keys generate`).")
    var key: String

    @Option(help: "What an invalid line does: refuse (nothing is sent) or skip (the rest is sent).")
    var onInvalid: OnInvalid = .refuse

    @Flag(help: "Print only the position token on standard output; the summary goes to standard error.")
    var positionOnly = false

    @Argument(help: "An NDJSON file, or - for standard input.")
    var file: String

    func run() async throws {
        let logger = global.bootstrapLogging(label: "tongban.publish")
        let kafka = try global.requiredKafka()
        guard let keyBytes = await FileInput.contents(of: key) else {
            throw CommandFailure("cannot read the key file \(key)")
        }
        let signingKey = try DepartmentSigningKey.load(jwk: keyBytes)
        guard signingKey.department == department else {
            throw ValidationError("the key \(signingKey.keyID) belongs to \(signingKey.department), not \(department)")
        }
        let signer = EventSigner(validator: try EventValidator(), key: signingKey)
        let lines = try await NDJSONInput.read(file)
        let now = Date()
        let (ready, rejected) = await Self.prepare(lines, signer: signer, now: now)
        for (number, reason) in rejected { printError("\(file):\(number): \(reason)") }
        if !rejected.isEmpty && onInvalid == .refuse {
            printError(
                "refused: \(rejected.count) of \(lines.count) lines are invalid, so nothing was published "
                    + "(fix them, or use --on-invalid skip to publish the \(ready.count) valid lines)")
            throw ExitCode(Self.refusedExitCode)
        }

        let publisher = try DepartmentPublisher(
            configuration: .init(producer: KafkaProducerConfiguration(kafka: kafka), key: signingKey),
            validator: signer.validator,
            logger: logger)
        var progress = ProgressBar(label: "publishing", total: ready.count)
        var failed: [(String, String)] = []
        var perTopic: [String: Int] = [:]
        var lastOffsets: [KafkaTopicPartition: Int64] = [:]
        var offsetsUnknown = false
        var done = 0
        var stoppedEarly = 0
        for start in stride(from: 0, to: ready.count, by: 10_000) {
            let chunk = Array(ready[start..<min(start + 10_000, ready.count)])
            // After a chunk that failed entirely (Kafka unreachable), stop instead of waiting out every chunk.
            if done > 0 && failed.count == done {
                stoppedEarly = ready.count - done
                break
            }
            for (event, result) in zip(chunk, await publisher.send(chunk)) {
                switch result {
                case .success(let receipt):
                    perTopic[receipt.topic, default: 0] += 1
                    let tp = KafkaTopicPartition(receipt.topic, receipt.partition)
                    lastOffsets[tp] = max(lastOffsets[tp] ?? -1, receipt.offset)
                    if receipt.partition < 0 || receipt.offset < 0 { offsetsUnknown = true }
                case .failure(let error):
                    failed.append((event.id, error.reason))
                }
            }
            done += chunk.count
            progress.update(done)
        }
        progress.finish(done)
        await publisher.shutdown()

        for (id, reason) in failed { printError("not delivered: \(id): \(reason)") }
        // With --position-only, standard output is the token alone: the summary goes to standard error.
        let say: (String) -> Void = positionOnly ? { printError($0) } : { print($0) }
        say("published \(ready.count - failed.count) of \(lines.count) events")
        for (topic, count) in perTopic.sorted(by: { $0.key < $1.key }) { say("  \(topic): \(count)") }
        if !rejected.isEmpty { say("skipped \(rejected.count) invalid lines (listed above)") }
        if !failed.isEmpty { say("\(failed.count) events were not acknowledged by Kafka (listed above by id)") }
        if stoppedEarly > 0 { say("stopped after a batch failed entirely: \(stoppedEarly) events were not sent") }
        say(
            "last offsets: "
                + lastOffsets.sorted { $0.key < $1.key }.map { "\($0.key)@\($0.value)" }.joined(separator: " "))
        if let line = Self.positionLine(lastOffsets, offsetsUnknown: offsetsUnknown, positionOnly: positionOnly) {
            print(line)
        } else {
            printError(
                offsetsUnknown
                    ? "no position token: Kafka did not say where it stored the events (a producer with acks=0)"
                    : "no position token: nothing was published")
        }
        if !failed.isEmpty || stoppedEarly > 0 { throw ExitCode(Self.partiallyDeliveredExitCode) }
        if !rejected.isEmpty { throw ExitCode(Self.skippedExitCode) }
    }

    /// The last line of standard output: `position: TOKEN` (the token alone with `--position-only`), covering every
    /// event Kafka stored; `nil` when there is no token (nothing stored, or an offset Kafka did not report).
    /// - Parameters:
    ///   - lastOffsets: the offset of the last event stored in each partition.
    ///   - offsetsUnknown: whether Kafka stored an event without saying where.
    ///   - positionOnly: whether only the token is printed.
    /// - Returns: the line, or `nil`.
    static func positionLine(
        _ lastOffsets: [KafkaTopicPartition: Int64], offsetsUnknown: Bool, positionOnly: Bool
    ) -> String? {
        let offsets = Dictionary(
            lastOffsets.map { (PositionToken.Partition($0.key.topic, $0.key.partition), $0.value) },
            uniquingKeysWith: max)
        guard !offsetsUnknown, let token = try? PositionToken(offsets: offsets) else { return nil }
        return positionOnly ? token.description : "position: \(token)"
    }

    /// Validates and signs every line on all cores: the events ready to send, and the rejected
    /// lines with their line numbers and reasons.
    static func prepare(_ lines: [NDJSONInput.Line], signer: EventSigner, now: Date) async
        -> (ready: [PreparedEvent], rejected: [(line: Int, reason: String)])
    {
        let prepared = await NDJSONInput.parallelMap(lines) { line -> Result<PreparedEvent, DepartmentPublishError> in
            do throws(DepartmentPublishError) {
                return .success(try signer.prepare(line: line.bytes, now: now))
            } catch {
                return .failure(error)
            }
        }
        var ready: [PreparedEvent] = []
        var rejected: [(line: Int, reason: String)] = []
        for (line, result) in zip(lines, prepared) {
            switch result {
            case .success(let event): ready.append(event)
            case .failure(let error): rejected.append((line.number, error.reason))
            }
        }
        return (ready, rejected)
    }
}
