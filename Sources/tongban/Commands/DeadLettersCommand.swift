import ArgumentParser
import Events
import Foundation
import Kafka
import Logging
import Postgres
import Projections

/// `tongban dead-letters`: the messages the projectors rejected, as `tongban.dead_letter` records them.
struct DeadLettersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead-letters",
        abstract: "List, read and redrive the messages the projectors rejected.",
        discussion: """
            Reads tongban.dead_letter (needs PostgreSQL: DATABASE_URL or PG*). `list` and `show` change nothing and \
            refuse when migrations are pending; `redrive` applies them first. \
            A dead letter is named by its position TOPIC:PARTITION:OFFSET, as `list` prints it. After fixing a cause \
            on the hub's side (a department key registered late, a view that refused a valid fact), `redrive` sends \
            the original messages again, unchanged, to the partitions they were read from; the projectors verify and \
            apply them like any message. A fault on the department's side is fixed by the department publishing a \
            corrected event with a new id, not by a redrive.
            """,
        subcommands: [List.self, Show.self, Redrive.self]
    )

    /// The criteria `list` and `redrive` share.
    struct SelectionOptions: ParsableArguments {
        @Option(name: .customLong("topic"), help: "Only dead letters read from this topic; repeatable.")
        var topics: [String] = []

        @Option(help: "Only those whose reason contains this text, ignoring case (e.g. \"unknown key id\").")
        var reason: String?

        @Option(help: "Only those recorded at or after this time (ISO 8601: 2026-12-03 or 2026-12-03T18:00:00Z).")
        var since: String?

        /// The selection, with the positions given as arguments.
        /// - Parameters:
        ///   - positions: `TOPIC:PARTITION:OFFSET` texts.
        ///   - includingRedriven: whether dead letters already redriven are included.
        /// - Returns: the selection.
        /// - Throws: `ValidationError` naming a malformed position or time.
        func selection(positions: [String], includingRedriven: Bool) throws -> DeadLetterStore.Selection {
            DeadLetterStore.Selection(
                positions: try positions.map(DeadLettersCommand.position), topics: topics,
                reasonContaining: reason.flatMap { $0.isEmpty ? nil : $0 }, since: try since.map(Self.parseTime),
                includingRedriven: includingRedriven)
        }

        /// Parses a day (midnight UTC) or an ISO 8601 time with its offset, fractional seconds allowed.
        static func parseTime(_ text: String) throws -> Date {
            let formats: [ISO8601DateFormatter.Options] = [
                [.withInternetDateTime], [.withInternetDateTime, .withFractionalSeconds], [.withFullDate],
            ]
            for options in formats {
                let formatter = ISO8601DateFormatter()
                formatter.formatOptions = options
                if let date = formatter.date(from: text) { return date }
            }
            throw ValidationError(
                "--since \(text) is not an ISO 8601 day or time (e.g. 2026-12-03 or 2026-12-03T18:00:00Z)")
        }
    }

    /// Parses a position argument.
    /// - Throws: `ValidationError` saying what a position looks like.
    static func position(_ text: String) throws -> DeadLetterStore.Position {
        guard let position = DeadLetterStore.Position(text) else {
            throw ValidationError(
                "\(EventViolation.printable(text)) is not a dead letter's position: expected TOPIC:PARTITION:OFFSET, "
                    + "as `tongban dead-letters list` prints it")
        }
        return position
    }

    /// Refuses when the database lacks migrations (`list` and `show` only read: they change no schema).
    static func requireMigrated(_ database: PostgresClient) async throws {
        let pending = try await TongbanMigrations.pending(database)
        guard pending.isEmpty else {
            throw CommandFailure(
                "the database lacks migrations \(pending) of this build; `list` and `show` change nothing, so apply "
                    + "them first (`tongban project` does at start)")
        }
    }

    /// The lines of a list, in columns: position, when, type, reason (cut), and how it relates to a redrive.
    static func lines(_ entries: [DeadLetterStore.Entry]) -> [String] {
        // Recorded text is escaped already; rows from before that escape are escaped here, for the terminal.
        let types = entries.map { EventViolation.printable($0.eventType ?? "-") }
        let positionWidth = entries.map(\.position.description.count).max() ?? 0
        let typeWidth = types.map(\.count).max() ?? 0
        func padded(_ text: String, _ width: Int) -> String {
            text + String(repeating: " ", count: max(0, width - text.count))
        }
        return zip(entries, types).map { entry, type in
            var reason = EventViolation.printable(entry.reason)
            if reason.count > 160 { reason = String(reason.prefix(159)) + "…" }
            var text =
                "\(padded(entry.position.description, positionWidth))  \(timestamp(entry.recordedAt))  "
                + "\(padded(type, typeWidth))  \(reason)"
            if let original = entry.copyOf { text += "  [a redriven copy of offset \(original)]" }
            if let at = entry.redrivenAt {
                let copy = entry.redrivenOffset.map { " as offset \($0)" } ?? ""
                text += "  [redriven \(timestamp(at))\(copy)]"
            }
            return text
        }
    }

    /// A time as ISO 8601 in UTC, to the second.
    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }

    /// `tongban dead-letters list`.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List dead letters in position order: position, when recorded, type, reason.",
            discussion: "Dead letters already redriven are left out unless --redriven is given.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var selection: SelectionOptions

        @Flag(help: "Include dead letters already redriven (they stay as history).")
        var redriven = false

        @Option(help: "The most to print.")
        var limit = 100

        func validate() throws {
            guard limit > 0 else { throw ValidationError("--limit must be positive") }
        }

        func run() async throws {
            try await global.withDatabase(label: "tongban.dead-letters") { database, _ in
                try await perform(database: database) { print($0) }
            }
        }

        /// Prints the matching dead letters.
        func perform(database: PostgresClient, say: (String) -> Void) async throws {
            try await DeadLettersCommand.requireMigrated(database)
            let chosen = try selection.selection(positions: [], includingRedriven: redriven)
            let (entries, matching) = try await database.withConnection {
                try await DeadLetterStore().list(chosen, limit: limit, on: $0)
            }
            for line in DeadLettersCommand.lines(entries) { say(line) }
            let what = redriven ? "dead letters" : "dead letters not yet redriven"
            if matching > entries.count {
                say("\(matching) \(what) match; the first \(entries.count) are listed (--limit)")
            } else {
                say("\(matching) \(what) match")
            }
        }
    }

    /// `tongban dead-letters show`.
    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print one dead letter whole: position, times, id, type, reason, key and value.",
            discussion: """
                The value is printed as text with control characters escaped when it is UTF-8, as hex otherwise; \
                --raw writes only the value's bytes, unchanged, to standard output.
                """)

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The dead letter's position, TOPIC:PARTITION:OFFSET.")
        var position: String

        @Flag(help: "Write only the value's bytes, as received, to standard output.")
        var raw = false

        func run() async throws {
            try await global.withDatabase(label: "tongban.dead-letters") { database, _ in
                try await perform(database: database, say: { print($0) }) { bytes in
                    FileHandle.standardOutput.write(Data(bytes))
                }
            }
        }

        /// Prints the dead letter.
        /// - Throws: ``CommandFailure`` when none is recorded at the position.
        func perform(database: PostgresClient, say: (String) -> Void, write: ([UInt8]) -> Void) async throws {
            let at = try DeadLettersCommand.position(position)
            try await DeadLettersCommand.requireMigrated(database)
            guard let letter = try await database.withConnection({ try await DeadLetterStore().letter(at: at, on: $0) })
            else {
                throw CommandFailure("no dead letter is recorded at \(at) (`tongban dead-letters list` lists them)")
            }
            if raw {
                write(letter.value)
                return
            }
            let entry = letter.entry
            say("position  \(entry.position)")
            say("recorded  \(DeadLettersCommand.timestamp(entry.recordedAt))")
            let partition = entry.position.topicPartition
            if let at = entry.redrivenAt {
                let copy = entry.redrivenOffset.map { ", the copy at \(partition.topic):\(partition.partition):\($0)" }
                say("redriven  \(DeadLettersCommand.timestamp(at))\(copy ?? "")")
            } else {
                say("redriven  no")
            }
            if let original = entry.copyOf {
                say("copy of   \(partition.topic):\(partition.partition):\(original) (a redrive; rejected again)")
            }
            say("event id  \(entry.eventID?.uuidString.lowercased() ?? "-")")
            say("type      \(EventViolation.printable(entry.eventType ?? "-"))")
            say("reason    \(EventViolation.printable(entry.reason))")
            say("key       \(letter.key.map { Self.text($0) } ?? "(none)")")
            say("value     \(letter.value.count) bytes")
            say(Self.text(letter.value))
            if letter.value.count > Self.shownBytes {
                say("(the first \(Self.shownBytes) bytes; --raw writes them all)")
            }
        }

        /// The most bytes of a key or value printed.
        static let shownBytes = 4096

        /// Bytes for a terminal (at most ``shownBytes`` of them): UTF-8 with control characters escaped, else hex.
        static func text(_ bytes: [UInt8]) -> String {
            let shown = bytes.prefix(shownBytes)
            // Valid as a whole; a character the cut splits shows as U+FFFD.
            guard String(validating: bytes, as: UTF8.self) != nil else {
                return "(not UTF-8) " + shown.map { String(format: "%02x", $0) }.joined()
            }
            return EventViolation.printable(String(decoding: shown, as: UTF8.self))
        }
    }

    /// `tongban dead-letters redrive`.
    struct Redrive: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send dead letters again, unchanged, to the partitions they were read from.",
            discussion: """
                Do this once the cause on the hub's side is fixed, e.g. after adding a department's key to the \
                projectors' --keys file and restarting them (they read it at start): `tongban dead-letters redrive \
                --topic tongban.civil-affairs --reason "unknown key id" --yes`. Only dead letters recorded before it \
                starts are sent. Each copy keeps the original key and \
                value and carries the header tongban-redriven-from; the projectors verify and apply it like any \
                message, and ignore it if its id was applied already. A copy rejected again is a new dead letter at \
                its new offset. The row of each dead letter sent records when and at which offset (the list shows \
                it), and later redrives leave it out unless --again is given. Needs Kafka and PostgreSQL. Without \
                --yes it only says what it would send. Exit status: 0 all sent (or none matched); 1 nothing sent \
                without --yes, or stopped by an error (what was sent is said); 3 some were not sent (listed).
                """)

        /// Some dead letters were not sent; their rows are unchanged.
        static let partiallySentExitCode: Int32 = 3

        @OptionGroup var global: GlobalOptions
        @OptionGroup var selection: SelectionOptions

        @Argument(help: "Positions TOPIC:PARTITION:OFFSET of the dead letters to send (or select with the options).")
        var positions: [String] = []

        @Flag(help: "Select every dead letter not yet redriven (needed when no position or option narrows it).")
        var all = false

        @Flag(help: "Include dead letters already redriven.")
        var again = false

        @Flag(help: "Do it (without, only say what it would send).")
        var yes = false

        func validate() throws {
            if try selection.selection(positions: positions, includingRedriven: again).isEverything && !all {
                throw ValidationError(
                    "say which dead letters to send: positions, --topic, --reason or --since (--all for every one "
                        + "not yet redriven)")
            }
        }

        func run() async throws {
            try await global.withDatabase(label: "tongban.dead-letters") { database, logger in
                try await perform(database: database, logger: logger) { print($0) }
            }
        }

        /// Says what it would send, and sends it with `--yes`.
        /// - Throws: ``CommandFailure`` without `--yes` (nothing sent) or when stopped by an error (saying what was
        ///   sent); `ExitCode` ``partiallySentExitCode`` when Kafka refused some.
        func perform(database: PostgresClient, logger: Logger, say: (String) -> Void) async throws {
            let chosen = try selection.selection(positions: positions, includingRedriven: again)
            try await applyMigrations(database, logger: logger, say: say)
            let shown = 20
            let (entries, matching) = try await database.withConnection {
                try await DeadLetterStore().list(chosen, limit: shown, on: $0)
            }
            guard matching > 0 else {
                say("no dead letters match" + (again ? "" : " (those already redriven are left out without --again)"))
                return
            }
            say(
                "\(matching) dead letters \(yes ? "to send" : "would be sent") again, each to the partition it was "
                    + "read from:")
            for line in DeadLettersCommand.lines(entries) { say("  " + line) }
            if matching > entries.count { say("  … and \(matching - entries.count) more") }
            guard yes else { throw CommandFailure("nothing sent: pass --yes to redrive") }

            let producer = try KafkaProducer(
                configuration: KafkaProducerConfiguration(kafka: try global.requiredKafka()), logger: logger)
            var bar = ProgressBar(label: "redriving", total: matching)
            let outcome: DeadLetterStore.Redriven
            do {
                outcome = try await database.withConnection { connection in
                    try await DeadLetterStore().redrive(chosen, producer: producer, on: connection) { done in
                        bar.update(done.sentCount + done.failedCount)
                    }
                }
            } catch let error as DeadLetterStore.RedriveInterrupted {
                bar.finish(error.done.sentCount + error.done.failedCount)
                await producer.shutdown()
                Self.report(error.done, say: say)
                throw CommandFailure(
                    "stopped by an error after sending \(error.done.sentCount) (their rows are marked; the chunk in "
                        + "hand may have been sent unmarked, and a later redrive sends it again, which the projectors "
                        + "ignore as duplicates): \(error.error)")
            } catch {
                await producer.shutdown()
                throw error
            }
            bar.finish(outcome.sentCount + outcome.failedCount)
            await producer.shutdown()
            Self.report(outcome, say: say)
            if outcome.failedCount > 0 || outcome.stoppedEarly || outcome.cancelled {
                throw ExitCode(Self.partiallySentExitCode)
            }
        }

        /// Says what a redrive sent and what Kafka refused: the counts, and the first refused (the result keeps at
        /// most ``DeadLetterStore/Redriven/sampleLimit`` of them; the rest are only counted, and said to be left out).
        /// - Parameters:
        ///   - outcome: what the redrive did.
        ///   - say: where the lines for the operator go.
        ///   - warn: where each refused position goes (standard error).
        static func report(
            _ outcome: DeadLetterStore.Redriven, say: (String) -> Void, warn: (String) -> Void = printError
        ) {
            let listed = min(20, outcome.failedSample.count)
            for (position, error) in outcome.failedSample.prefix(listed) {
                warn("not sent: \(position): \(error.detail)")
            }
            if outcome.failedCount > listed { warn("not sent: \(outcome.failedCount - listed) more, not listed") }
            say(
                "sent \(outcome.sentCount) dead letters again; running projectors read them like any message "
                    + "(`tongban dead-letters list` shows any rejected again, at their new offsets)")
            if outcome.stoppedEarly {
                say(
                    "stopped early: Kafka took none of the last chunk, for reasons that pass (unreachable? timed out?); "
                        + "the rest were not tried: run it again")
            }
            if outcome.cancelled { say("cancelled after the chunk in hand; the rest were not tried: run it again") }
            guard outcome.failedCount > 0 else { return }
            let passing = outcome.failuresAreRetriable
            let listing =
                outcome.failedCount > listed
                ? "the first \(listed) listed above, \(outcome.failedCount - listed) left out"
                : "listed above"
            say(
                "\(outcome.failedCount) were not sent (\(listing)); their rows are unchanged: "
                    + (passing
                        ? "run it again"
                        : "some will not go through as they are (e.g. too large for message.max.bytes: pass "
                            + "--kafka-property message.max.bytes=N)"))
        }
    }
}
