public import Logging
public import Postgres
public import ServiceLifecycle
import Synchronization

/// The hash-chained audit log of the certificate services' requests (`tongban.audit_log`, migration 0012).
///
/// Every request (answered, refused, rate-limited, failed) is appended, and ``append(_:)`` returns once its row is
/// committed. Appending does not serialize the server: entries that arrive while a write is in flight wait together
/// and go in the next transaction, one multi-row `INSERT`, and each caller is resumed when that transaction has
/// committed (group commit). Each transaction takes the advisory lock ``advisoryLockKey`` and reads the last row
/// before it writes, so several processes can append to the same table and the chain never forks.
///
/// It is a `Service`: `run()` is the writer, and returns on graceful shutdown (or ``shutdown()``) once every entry
/// taken has been written. Entries appended before `run()` starts wait for it.
/// ```swift
/// let auditLog = AuditLog(client: client, logger: logger)
/// let group = ServiceGroup(services: [client, auditLog, server], logger: logger)   // server calls append
/// let record = try await auditLog.append(entry)   // record.seq, record.hash
/// ```
public final class AuditLog: Service, Sendable {
    /// The advisory-lock key every writer takes (`pg_advisory_xact_lock`) before it reads the last row: ASCII
    /// "tongbanA".
    public static let advisoryLockKey: Int64 = 0x746F_6E67_6261_6E41

    private struct Pending {
        let entry: AuditEntry
        let continuation: CheckedContinuation<AuditRecord, any Error>
    }

    private struct State {
        var pending: [Pending] = []
        /// The writer, waiting for entries.
        var writer: CheckedContinuation<Void, Never>?
        var stopping = false
        var transactions = 0
        var written = 0
    }

    private let client: PostgresClient
    private let maxBatch: Int
    private let logger: Logger
    private let state = Mutex(State())

    /// Creates the log; nothing is written until `run()` runs.
    /// - Parameters:
    ///   - client: the pool on the migrated database (the writer holds one connection while it writes).
    ///   - maxBatch: the most entries written in one transaction (at least 1). Default 1,000.
    ///   - logger: for write failures.
    public init(client: PostgresClient, maxBatch: Int = 1000, logger: Logger) {
        self.client = client
        self.maxBatch = max(1, maxBatch)
        self.logger = logger
    }

    /// How many write transactions this instance has committed (each holds one or more entries).
    public var committedTransactions: Int { state.withLock { $0.transactions } }

    /// How many entries this instance has written.
    public var committedEntries: Int { state.withLock { $0.written } }

    /// How many entries wait for the next write (not those of the write in flight).
    public var pendingEntries: Int { state.withLock { $0.pending.count } }

    /// Appends an entry, and returns once it is committed.
    ///
    /// Cancelling the calling task does not withdraw the entry: a request is audited even when its caller went away.
    /// - Parameter entry: the request.
    /// - Returns: the row as written: its `seq`, time and hash.
    /// - Throws: ``AuditLogError`` (`.invalidEntry`: nothing written; `.shutDown`: the log takes no more entries),
    ///   or the `PostgresError` that failed its transaction (then none of that transaction's entries were written,
    ///   unless the connection broke during `COMMIT`, when the outcome is unknown).
    public func append(_ entry: AuditEntry) async throws -> AuditRecord {
        try entry.validate()
        return try await withCheckedThrowingContinuation { continuation in
            let (writer, refused) = state.withLock { state -> (CheckedContinuation<Void, Never>?, Bool) in
                if state.stopping { return (nil, true) }
                state.pending.append(Pending(entry: entry, continuation: continuation))
                defer { state.writer = nil }
                return (state.writer, false)
            }
            if refused { continuation.resume(throwing: AuditLogError.shutDown) }
            writer?.resume()
        }
    }

    /// Writes entries as they come, until graceful shutdown (or ``shutdown()``); then writes those taken and returns.
    ///
    /// Run it once. Cancelling it stops it too: entries still waiting then fail with the cancellation.
    /// - Throws: nothing in practice; write failures go to the callers of ``append(_:)``.
    public func run() async throws {
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                while let batch = await nextBatch() { await write(batch) }
            } onCancel: {
                self.shutdown()
            }
        } onGracefulShutdown: {
            self.shutdown()
        }
    }

    /// Stops taking entries: later calls to ``append(_:)`` fail with ``AuditLogError/shutDown``, and `run()` returns
    /// once those already taken are written. Calling it twice is harmless.
    public func shutdown() {
        let writer = state.withLock { state in
            state.stopping = true
            defer { state.writer = nil }
            return state.writer
        }
        writer?.resume()
    }

    /// The next entries to write, waiting for some; `nil` once stopping with none left.
    private func nextBatch() async -> [Pending]? {
        enum Step {
            case write([Pending])
            case done
            case wait
        }
        while true {
            let step = state.withLock { state -> Step in
                if !state.pending.isEmpty {
                    let count = min(maxBatch, state.pending.count)
                    defer { state.pending.removeFirst(count) }
                    return .write(Array(state.pending.prefix(count)))
                }
                return state.stopping ? .done : .wait
            }
            switch step {
            case .write(let batch): return batch
            case .done: return nil
            case .wait:
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let ready = state.withLock { state in
                        if !state.pending.isEmpty || state.stopping { return true }
                        state.writer = continuation
                        return false
                    }
                    if ready { continuation.resume() }
                }
            }
        }
    }

    private func write(_ batch: [Pending]) async {
        let entries = batch.map(\.entry)
        do {
            let records = try await client.withTransaction { connection in
                try await Self.insert(entries, on: connection)
            }
            state.withLock { state in
                state.transactions += 1
                state.written += records.count
            }
            for (pending, record) in zip(batch, records) { pending.continuation.resume(returning: record) }
        } catch {
            logger.error(
                "could not write audit entries", metadata: ["audit.entries": "\(batch.count)", "error": "\(error)"])
            for pending in batch { pending.continuation.resume(throwing: error) }
        }
    }

    /// Appends entries in the caller's transaction: takes the writers' lock, reads the last row, and inserts the
    /// entries after it in one statement.
    /// - Parameters:
    ///   - entries: the entries, in the order they get their `seq`.
    ///   - connection: a connection inside a transaction.
    /// - Returns: the rows as written.
    /// - Throws: `PostgresError`.
    static func insert(_ entries: [AuditEntry], on connection: PostgresConnection) async throws -> [AuditRecord] {
        guard !entries.isEmpty else { return [] }
        _ = try await connection.query("SELECT pg_advisory_xact_lock(\(advisoryLockKey))")
        // The server's clock, never earlier than the last row's time, in microseconds since the Unix epoch (exact:
        // extract returns numeric).
        let last = try await connection.query(
            """
            SELECT last.seq, last.hash, greatest((extract(epoch FROM clock_timestamp()) * 1000000)::int8,
                (extract(epoch FROM last.recorded_at) * 1000000)::int8)
            FROM (SELECT 1) AS one
            LEFT JOIN LATERAL (
                SELECT seq, hash, recorded_at FROM tongban.audit_log ORDER BY seq DESC LIMIT 1
            ) AS last ON true
            """)[0]
        let micros = try last.decode(Int64.self, at: 2)
        var seq = try last.decode(Int64?.self, at: 0) ?? 0
        var previous = try last.decode([UInt8]?.self, at: 1) ?? AuditChain.genesis
        var records: [AuditRecord] = []
        records.reserveCapacity(entries.count)
        for entry in entries {
            seq += 1
            let hash = AuditChain.hash(previous: previous, seq: seq, recordedAtMicroseconds: micros, entry: entry)
            records.append(
                AuditRecord(seq: seq, recordedAtMicroseconds: micros, entry: entry, previousHash: previous, hash: hash))
            previous = hash
        }
        // One statement for the whole group: parallel arrays, each row's subjects a slice of one flat array.
        var flat: [String] = []
        var firsts: [Int64] = []
        for entry in entries {
            firsts.append(Int64(flat.count))
            flat += entry.subjects
        }
        try await connection.execute(
            """
            INSERT INTO tongban.audit_log (seq, recorded_at, client_id, purpose, on_behalf_of, subjects, question,
                answer_summary, outcome, status, previous_hash, hash)
            SELECT u.seq, timestamptz 'epoch' + \(micros)::int8 * interval '1 microsecond', u.client_id, u.purpose,
                nullif(u.on_behalf_of, ''), coalesce((\(flat)::text[])[u.first + 1 : u.first + u.count], '{}'),
                u.question, u.answer_summary, u.outcome, u.status::int4, decode(u.previous_hash, 'hex'),
                decode(u.hash, 'hex')
            FROM unnest(\(records.map(\.seq))::int8[], \(entries.map(\.clientID))::text[], \
            \(entries.map(\.purpose))::text[], \(entries.map { $0.onBehalfOf ?? "" })::text[], \
            \(firsts)::int8[], \(entries.map { Int64($0.subjects.count) })::int8[], \(entries.map(\.question))::text[], \
            \(entries.map(\.answerSummary))::text[], \(entries.map(\.outcome.rawValue))::text[], \
            \(entries.map { Int64($0.status) })::int8[], \(records.map { AuditChain.hex($0.previousHash) })::text[], \
            \(records.map(\.hashHex))::text[])
                AS u (seq, client_id, purpose, on_behalf_of, first, count, question, answer_summary, outcome, status,
                    previous_hash, hash)
            """)
        return records
    }
}
