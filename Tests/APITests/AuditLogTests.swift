import API
import Foundation
import Logging
import Postgres
import Projections
import Testing
import TongbanTesting

@Suite("Audit log", .sharedMachine)
struct AuditLogTests {
    /// An entry whose fields say which one it is.
    static func entry(_ index: Int, subjects: [String]? = nil, onBehalfOf: String? = nil) -> AuditEntry {
        AuditEntry(
            clientID: "client-\(index % 3)", purpose: "purpose \(index)", onBehalfOf: onBehalfOf,
            subjects: subjects ?? ["11010119900307\(String(format: "%04d", index % 10_000))"], question: "kinship",
            answerSummary: "answer \(index)", outcome: index % 5 == 0 ? .refused : .answered,
            status: index % 5 == 0 ? 403 : 200)
    }

    /// Runs `body` with an audit log whose writer runs beside it, and shuts the writer down afterwards.
    static func withAuditLog<T: Sendable>(
        _ client: PostgresClient, maxBatch: Int = 1000, _ body: (AuditLog) async throws -> T
    ) async throws -> T {
        let log = AuditLog(client: client, maxBatch: maxBatch, logger: TestPostgres.logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await log.run() }
            do {
                let value = try await body(log)
                log.shutdown()
                try await group.waitForAll()
                return value
            } catch {
                log.shutdown()
                try? await group.waitForAll()
                throw error
            }
        }
    }

    /// Appends `count` entries, each from its own task, and returns the records.
    static func appendConcurrently(_ log: AuditLog, _ indexes: Range<Int>) async throws -> [AuditRecord] {
        try await withThrowingTaskGroup(of: AuditRecord.self) { group in
            for index in indexes { group.addTask { try await log.append(entry(index)) } }
            var records: [AuditRecord] = []
            for try await record in group { records.append(record) }
            return records
        }
    }

    static func migrated<T: Sendable>(maxConnections: Int = 4, _ body: (TestDatabase) async throws -> T)
        async throws -> T
    {
        try await withTestDatabase(maxConnections: maxConnections) { db in
            try await TongbanMigrations.migrate(db.client, logger: TestPostgres.logger)
            return try await body(db)
        }
    }

    @Test("2,000 entries appended at once get seq 1…2000 in far fewer transactions, and the chain verifies")
    func groupCommit() async throws {
        try await Self.migrated { db in
            let (records, transactions) = try await Self.withAuditLog(db.client) { log in
                (try await Self.appendConcurrently(log, 0..<2000), log.committedTransactions)
            }
            #expect(records.map(\.seq).sorted() == Array(1...2000))
            #expect(transactions < 100, "\(transactions) transactions for 2,000 entries")
            let stored = try await db.client.query("SELECT count(*), max(seq) FROM tongban.audit_log")[0]
            #expect(try stored.decode(Int.self, at: 0) == 2000 && stored.decode(Int.self, at: 1) == 2000)
            // What each caller got is what was committed.
            let last = try #require(records.first { $0.seq == 2000 })
            let verification = try await AuditLog.verify(on: db.client, pageSize: 128)
            #expect(verification.isIntact && verification.intactRows == 2000)
            #expect(verification.lastSeq == 2000 && verification.lastHash == last.hash)
        }
    }

    @Test("two writers on two pools (two processes) append concurrently to one valid chain")
    func twoProcesses() async throws {
        try await Self.migrated { db in
            let other = PostgresClient(
                configuration: .init(conninfo: db.conninfo, maxConnections: 2), logger: TestPostgres.logger)
            let (first, second) = try await Self.withAuditLog(db.client, maxBatch: 50) { one in
                try await Self.withAuditLog(other, maxBatch: 50) { two in
                    async let a = Self.appendConcurrently(one, 0..<400)
                    async let b = Self.appendConcurrently(two, 400..<800)
                    let records = try await (a, b)
                    #expect(one.committedTransactions > 1 && two.committedTransactions > 1)
                    return records
                }
            }
            await other.shutdown()
            #expect((first + second).map(\.seq).sorted() == Array(1...800))
            // The two interleaved: neither wrote all its rows before the other started.
            #expect(first.map(\.seq).max()! > second.map(\.seq).min()!)
            #expect(second.map(\.seq).max()! > first.map(\.seq).min()!)
            let verification = try await AuditLog.verify(on: db.client)
            #expect(verification.isIntact && verification.intactRows == 800, "\(verification)")
        }
    }

    enum Tampering: String, CaseIterable, Sendable {
        case altered, deleted, reordered, contentsSwapped, deletedFirst
    }

    @Test("tampering is found at the right row", arguments: Tampering.allCases)
    func tampering(_ tampering: Tampering) async throws {
        try await Self.migrated { db in
            _ = try await Self.withAuditLog(db.client) { log in
                for index in 1...12 { _ = try await log.append(Self.entry(index)) }
            }
            #expect(try await AuditLog.verify(on: db.client).intactRows == 12)
            // The table refuses changes; a tamperer with the owner's rights turns the trigger off first.
            await #expect(throws: PostgresError.self) {
                try await db.client.execute("UPDATE tongban.audit_log SET answer_summary = 'x' WHERE seq = 7")
            }
            try await db.client.execute("ALTER TABLE tongban.audit_log DISABLE TRIGGER audit_log_append_only")
            let expected: AuditBreak
            switch tampering {
            case .altered:
                try await db.client.execute("UPDATE tongban.audit_log SET answer_summary = 'nothing' WHERE seq = 7")
                expected = AuditBreak(seq: 7, reason: .hashMismatch)
            case .deleted:
                try await db.client.execute("DELETE FROM tongban.audit_log WHERE seq = 7")
                expected = AuditBreak(seq: 7, reason: .missing(previous: 6, found: 8))
            case .deletedFirst:
                try await db.client.execute("DELETE FROM tongban.audit_log WHERE seq <= 2")
                expected = AuditBreak(seq: 1, reason: .missing(previous: 0, found: 3))
            case .reordered:
                // Rows 5 and 9 trade places, hashes and all.
                try await db.client.execute(
                    """
                    UPDATE tongban.audit_log a SET recorded_at = b.recorded_at, client_id = b.client_id,
                        purpose = b.purpose, on_behalf_of = b.on_behalf_of, subjects = b.subjects, question = b.question,
                        answer_summary = b.answer_summary, outcome = b.outcome, status = b.status,
                        previous_hash = b.previous_hash, hash = b.hash
                    FROM tongban.audit_log b WHERE (a.seq, b.seq) IN ((5, 9), (9, 5))
                    """)
                expected = AuditBreak(seq: 5, reason: .previousHashMismatch)
            case .contentsSwapped:
                // Rows 5 and 9 trade their contents, keeping their hashes.
                try await db.client.execute(
                    """
                    UPDATE tongban.audit_log a SET client_id = b.client_id, purpose = b.purpose,
                        subjects = b.subjects, answer_summary = b.answer_summary
                    FROM tongban.audit_log b WHERE (a.seq, b.seq) IN ((5, 9), (9, 5))
                    """)
                expected = AuditBreak(seq: 5, reason: .hashMismatch)
            }
            let verification = try await AuditLog.verify(on: db.client, pageSize: 4)
            #expect(verification.firstBreak == expected, "\(verification)")
            #expect(verification.intactRows == Int(expected.seq) - 1)
            let said = verification.firstBreak?.description ?? ""
            #expect(said.contains("row \(expected.seq)") || said.contains("rows \(expected.seq)…"), "\(said)")
            // The documented SQL check names the same row (for missing rows, the one after the gap).
            let broken = try await Self.documentedSQLCheck(db.client)
            if case .missing(_, let found) = expected.reason {
                #expect(broken.first == found, "\(broken)")
            } else {
                #expect(broken.first == expected.seq, "\(broken)")
            }
        }
    }

    @Test("who asked about a person: newest first, with client, purpose, question, outcome and on whose behalf")
    func entriesAboutACitizen() async throws {
        let person = "110101199003071234"
        let relative = "110101196501011235"
        try await Self.migrated { db in
            let written = try await Self.withAuditLog(db.client) { log in
                var written: [AuditRecord] = []
                written.append(try await log.append(Self.entry(1, subjects: [person])))
                written.append(try await log.append(Self.entry(2, subjects: ["110101200001010000"])))
                written.append(try await log.append(Self.entry(3, subjects: [relative, person], onBehalfOf: relative)))
                written.append(try await log.append(Self.entry(4, subjects: [])))
                written.append(try await log.append(Self.entry(5, subjects: [person])))
                return written
            }
            let about = try await AuditLog.entries(about: person, limit: 10, on: db.client)
            #expect(about.map(\.seq) == [5, 3, 1])
            #expect(about == [written[4], written[2], written[0]])
            #expect(about[1].entry.onBehalfOf == relative && about[1].entry.subjects == [relative, person])
            #expect(about[0].entry.outcome == .refused && about[0].entry.status == 403)
            #expect(try await AuditLog.entries(about: person, limit: 2, on: db.client).map(\.seq) == [5, 3])
            #expect(try await AuditLog.entries(about: "nobody", limit: 10, on: db.client).isEmpty)
            #expect(abs(about[0].recordedAt.timeIntervalSinceNow) < 60)
        }
    }

    @Test("an entry the table would refuse is refused alone; after shutdown nothing is taken")
    func refusals() async throws {
        try await Self.migrated { db in
            let log = AuditLog(client: db.client, logger: TestPostgres.logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await log.run() }
                var bad = Self.entry(1)
                bad.status = 42
                await #expect(throws: AuditLogError.self) { try await log.append(bad) }
                bad = Self.entry(1, subjects: ["1101\u{0}"])
                await #expect(throws: AuditLogError.self) { try await log.append(bad) }
                #expect(try await log.append(Self.entry(2)).seq == 1)
                log.shutdown()
                try await group.waitForAll()
            }
            await #expect(throws: AuditLogError.shutDown) { try await log.append(Self.entry(3)) }
            #expect(log.committedEntries == 1)
        }
    }

    @Test("shutting down writes the entries already taken before run() returns")
    func shutdownDrains() async throws {
        try await Self.migrated { db in
            let log = AuditLog(client: db.client, maxBatch: 64, logger: TestPostgres.logger)
            let written = try await withThrowingTaskGroup(of: AuditRecord?.self) { group in
                for index in 0..<300 { group.addTask { try await log.append(Self.entry(index)) } }
                let deadline = ContinuousClock.now + .seconds(10)
                while log.pendingEntries < 300 && ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(1))
                }
                #expect(log.pendingEntries == 300)
                // Asked to stop before the writer even started: it still writes all 300, then returns.
                log.shutdown()
                group.addTask {
                    try await log.run()
                    return nil
                }
                var written = 0
                for try await record in group where record != nil { written += 1 }
                return written
            }
            #expect(written == 300 && log.committedEntries == 300 && log.committedTransactions >= 5)
            #expect(try await AuditLog.verify(on: db.client).intactRows == 300)
        }
    }

    /// The hash rule as schemas/migrations/README.md states it, in Python (hashlib), on rows as PostgreSQL prints
    /// them: it must give the stored hashes.
    static let pythonVerifier = #"""
        import datetime, hashlib, json, sys

        def text(value):
            if value is None:
                return b"\x00"
            raw = value.encode("utf-8")
            return b"\x01" + len(raw).to_bytes(4, "big") + raw

        epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
        hashes = []
        for row in json.load(sys.stdin):
            at = datetime.datetime.strptime(row["recorded_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
            micros = (at.replace(tzinfo=datetime.timezone.utc) - epoch) // datetime.timedelta(microseconds=1)
            data = bytes.fromhex(row["previous_hash"])
            data += row["seq"].to_bytes(8, "big", signed=True) + micros.to_bytes(8, "big", signed=True)
            data += text(row["client_id"]) + text(row["purpose"]) + text(row["on_behalf_of"])
            data += len(row["subjects"]).to_bytes(4, "big") + b"".join(text(s) for s in row["subjects"])
            data += text(row["question"]) + text(row["answer_summary"]) + text(row["outcome"])
            data += row["status"].to_bytes(4, "big", signed=True)
            hashes.append(hashlib.sha256(data).hexdigest())
        print(json.dumps(hashes))
        """#

    @Test("Python's hashlib and the README's SQL, following the documented rule, give the stored hashes")
    func documentedRule() async throws {
        try await Self.migrated { db in
            _ = try await Self.withAuditLog(db.client) { log in
                _ = try await log.append(Self.entry(1))
                _ = try await log.append(
                    AuditEntry(
                        clientID: "公证处-北京", purpose: "继承公证 \"quoted\" \\ back", onBehalfOf: "110101196501011235",
                        subjects: ["110101199003071234", "11010119900307123X", "NULL", "{a,b}"], question: "kinship",
                        answerSummary: "3 位亲属 😀", outcome: .answered, status: 200))
                _ = try await log.append(Self.entry(3, subjects: []))
                _ = try await Self.appendConcurrently(log, 4..<40)
            }
            let json = try await db.client.query(
                """
                SELECT json_agg(json_build_object(
                    'seq', seq,
                    'recorded_at', to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                    'client_id', client_id, 'purpose', purpose, 'on_behalf_of', on_behalf_of, 'subjects', subjects,
                    'question', question, 'answer_summary', answer_summary, 'outcome', outcome, 'status', status,
                    'previous_hash', encode(previous_hash, 'hex')) ORDER BY seq)::text,
                    json_agg(encode(hash, 'hex') ORDER BY seq)::text
                FROM tongban.audit_log
                """)[0]
            let python = try await Self.runPython(Self.pythonVerifier, input: try json.decode(String.self, at: 0))
            let stored = try JSONDecoder().decode([String].self, from: Data(try json.decode(String.self, at: 1).utf8))
            #expect(stored.count == 39)
            #expect(python == stored)
            #expect(try await Self.documentedSQLCheck(db.client).isEmpty)
        }
    }

    /// Runs the SQL block of the README's "Checking the chain in SQL": the broken rows' seq.
    static func documentedSQLCheck(_ client: PostgresClient) async throws -> [Int64] {
        let readme = try String(
            contentsOf: repositoryRoot.appendingPathComponent("schemas/migrations/README.md"), encoding: .utf8)
        let section = try #require(readme.range(of: "**Checking the chain in SQL**"))
        let start = try #require(readme.range(of: "```sql\n", range: section.upperBound..<readme.endIndex))
        let end = try #require(readme.range(of: "```", range: start.upperBound..<readme.endIndex))
        let sql = String(readme[start.upperBound..<end.lowerBound])
        return try await client.withConnection { connection in
            try await connection.executeScript(sql).map { try $0.decode(Int64.self, at: 0) }
        }
    }

    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    /// Runs a Python script with `input` on its standard input; its standard output as JSON strings.
    static func runPython(_ script: String, input: String) async throws -> [String] {
        let result = try await TestProcess.run("/usr/bin/env", ["python3", "-c", script], input: input)
        try #require(result.status == 0, "python3 failed: \(result.errors)")
        return try JSONDecoder().decode([String].self, from: Data(result.output.utf8))
    }
}
