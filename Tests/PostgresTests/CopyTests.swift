import Foundation
import Postgres
import Testing
import TongbanTesting

extension PostgresTests {
    @Suite(.sharedMachine) struct Copy {
        struct Person: Equatable {
            var id: Int64, small: Int16, mid: Int32, name: String, score: Double, flag: Bool
            var created: Date, data: [UInt8], uuid: UUID, doc: String?

            static func make(_ i: Int) -> Person {
                Person(
                    id: Int64(i) * 7 - 350_000, small: Int16(truncatingIfNeeded: i), mid: Int32(i) * -3,
                    name: i % 10 == 0 ? "名字 \(i) 'q' \"d\" \\ \t" : "name-\(i)", score: Double(i) / 3,
                    flag: i % 3 == 0, created: Date(timeIntervalSince1970: 1_600_000_000 + Double(i) * 0.001_001),
                    data: i % 5 == 0 ? [0, UInt8(i % 256), 0] : [], uuid: UUID(),
                    doc: i % 4 == 0 ? nil : #"{"i": \#(i)}"#
                )
            }
        }

        @Test func binaryCopyOf100kRowsRoundTripsExactly() async throws {
            try await withTestDatabase { db in
                try await db.client.execute(
                    """
                    CREATE TABLE person (id int8, small int2, mid int4, name text, score float8, flag bool,
                                         created timestamptz, data bytea, uuid uuid, doc jsonb)
                    """
                )
                let people = (0..<100_000).map(Person.make)
                let copied = try await db.client.withConnection { connection in
                    try await connection.copyInBinary(
                        table: "person",
                        columns: ["id", "small", "mid", "name", "score", "flag", "created", "data", "uuid", "doc"]
                    ) { writer in
                        for p in people {
                            writer.appendRow(
                                p.id, p.small, p.mid, p.name, p.score, p.flag, p.created, p.data, p.uuid,
                                p.doc.map(PostgresJSONB.init)
                            )
                        }
                    }
                }
                #expect(copied == 100_000)
                let rows = try await db.client.query(
                    "SELECT id, small, mid, name, score, flag, created, data, uuid, doc::text FROM person ORDER BY id"
                )
                #expect(rows.count == people.count)
                var mismatches = 0
                for (row, p) in zip(rows, people) {
                    let back = Person(
                        id: try row.decode(Int64.self, at: 0), small: try row.decode(Int16.self, at: 1),
                        mid: try row.decode(Int32.self, at: 2), name: try row.decode(String.self, at: 3),
                        score: try row.decode(Double.self, at: 4), flag: try row.decode(Bool.self, at: 5),
                        created: try row.decode(Date.self, at: 6), data: try row.decode([UInt8].self, at: 7),
                        uuid: try row.decode(UUID.self, at: 8), doc: try row.decode(String?.self, at: 9)
                    )
                    var expected = p
                    expected.doc = p.doc.map { _ in #"{"i": \#(p.id / 7 + 50_000)}"# }
                    expected.created = back.created  // compared below, to the microsecond
                    if back != expected
                        || abs(back.created.timeIntervalSince1970 - p.created.timeIntervalSince1970) > 0.000_001
                    {
                        mismatches += 1
                    }
                }
                #expect(mismatches == 0)
            }
        }

        @Test func aFailingRowCopiesNothing() async throws {
            try await withTestDatabase { db in
                try await db.client.execute("CREATE TABLE t (id int8 PRIMARY KEY)")
                let error = await expectPostgresError {
                    _ = try await db.client.withConnection { connection in
                        try await connection.copyInBinary(table: "t", columns: ["id"]) { writer in
                            for i in 0..<1000 { writer.appendRow(Int64(i % 999)) }  // one duplicate key
                        }
                    }
                }
                #expect(error?.sqlState == "23505")
                #expect(try await db.client.query("SELECT count(*) FROM t")[0].decode(Int.self, at: 0) == 0)
                // A body that throws aborts the COPY.
                struct Stop: Error {}
                let aborted = await expectPostgresError {
                    _ = try await db.client.withConnection { connection in
                        try await connection.copyInBinary(table: "t", columns: ["id"]) { writer in
                            writer.appendRow(Int64(1))
                            throw Stop()
                        }
                    }
                }
                #expect(aborted?.code == .query)
                #expect(try await db.client.query("SELECT count(*) FROM t")[0].decode(Int.self, at: 0) == 0)
                #expect(try await db.client.query("SELECT 1").count == 1)  // the connection is fine afterwards
            }
        }

        @Test func rawTextCopyFromChunksAndFile() async throws {
            try await withTestDatabase { db in
                try await db.client.execute("CREATE TABLE t (id int8, name text, note text)")
                var text = ""
                for i in 0..<20_000 { text += "\(i)\tname \(i) 中\t\(i % 7 == 0 ? "\\N" : "tab\\there \\\\ back")\n" }
                let bytes = Array(text.utf8)
                let chunks = stride(from: 0, to: bytes.count, by: 4099).map {
                    Array(bytes[$0..<min($0 + 4099, bytes.count)])
                }
                let copied = try await db.client.withConnection {
                    try await $0.copyIn("COPY t FROM STDIN", chunks: chunks)
                }
                #expect(copied == 20_000)
                let file = FileManager.default.temporaryDirectory.appendingPathComponent("copy-\(UUID()).tsv")
                try Data(bytes).write(to: file)
                defer { try? FileManager.default.removeItem(at: file) }
                let fromFile = try await db.client.withConnection {
                    try await $0.copyIn("COPY t FROM STDIN", file: file, chunkSize: 10_000)
                }
                #expect(fromFile == 20_000)
                let row = try await db.client.query(
                    "SELECT count(*), count(note), count(DISTINCT id), min(note) FROM t"
                )[0]
                #expect(try row.decode(Int.self, at: 0) == 40_000)
                #expect(try row.decode(Int.self, at: 1) == 40_000 - 2 * 2858)
                #expect(try row.decode(Int.self, at: 2) == 20_000)
                #expect(try row.decode(String.self, at: 3) == "tab\there \\ back")
                let missing = await expectPostgresError {
                    _ = try await db.client.withConnection {
                        try await $0.copyIn("COPY t FROM STDIN", file: URL(fileURLWithPath: "/nonexistent/x.tsv"))
                    }
                }
                #expect(missing?.message.contains("/nonexistent/x.tsv") == true)
            }
        }

        @Test("dates, numerics and text arrays in binary COPY read back as PostgreSQL prints them")
        func datesNumericsAndArrays() async throws {
            try await withTestDatabase { db in
                try await db.client.execute("CREATE TABLE v (n int, d date, x numeric(16, 2), y numeric, a text[])")
                let values: [(PostgresDate, PostgresNumeric, PostgresNumeric, PostgresTextArray)] = [
                    (PostgresDate(daysSince1970: 0), .init(0, scale: 2), .init(0, scale: 0), .init([])),
                    (PostgresDate(daysSince1970: 10_957), .init(5, scale: 2), .init(-7, scale: 0), .init(["a"])),
                    (
                        PostgresDate(daysSince1970: 20_000), .init(123_450, scale: 2), .init(10_000, scale: 4),
                        .init(["x", "", "引号 \"q\" \\ {,}"])
                    ),
                    (
                        PostgresDate(daysSince1970: -1), .init(12_345_678_901_299, scale: 2),
                        .init(-1_000_000_000_000_001, scale: 9), .init(["NULL"])
                    ),
                    (
                        PostgresDate(daysSince1970: -25_567), .init(-100, scale: 2), .init(1, scale: 16),
                        .init(["1", "2"])
                    ),
                ]
                _ = try await db.client.withConnection { connection in
                    try await connection.copyInBinary(table: "v", columns: ["n", "d", "x", "y", "a"]) { writer in
                        for (n, value) in values.enumerated() {
                            writer.appendRow(Int32(n), value.0, value.1, value.2, value.3)
                        }
                    }
                }
                let rows = try await db.client.query(
                    "SELECT d::text, x::text, y::text, a::text, array_length(a, 1) FROM v ORDER BY n")
                let printed = try rows.map {
                    [
                        try $0.decode(String.self, at: 0), try $0.decode(String.self, at: 1),
                        try $0.decode(String.self, at: 2), try $0.decode(String.self, at: 3),
                        String(describing: try $0.decode(Int?.self, at: 4)),
                    ]
                }
                #expect(
                    printed == [
                        ["1970-01-01", "0.00", "0", "{}", "nil"],
                        ["2000-01-01", "0.05", "-7", "{a}", "Optional(1)"],
                        ["2024-10-04", "1234.50", "1.0000", #"{x,"","引号 \"q\" \\ {,}"}"#, "Optional(3)"],
                        ["1969-12-31", "123456789012.99", "-1000000.000000001", #"{"NULL"}"#, "Optional(1)"],
                        ["1900-01-01", "-1.00", "0.0000000000000001", "{1,2}", "Optional(2)"],
                    ])
                // The column's precision is checked as for text input.
                let overflow = await expectPostgresError {
                    _ = try await db.client.withConnection { connection in
                        try await connection.copyInBinary(table: "v", columns: ["x"]) { writer in
                            writer.appendRow(PostgresNumeric(100_000_000_000_000_000, scale: 2))
                        }
                    }
                }
                #expect(overflow?.sqlState == "22003")
            }
        }

        @Test func writerBuildsTheBinaryFormatInMemory() {
            var writer = PostgresCopyWriter()
            writer.appendRow(Int32(1), Optional<String>.none)
            let bytes = writer.finish()
            #expect(Array(bytes.prefix(11)) == Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00])
            // header 19 bytes, field count 2, int4 (4+4), NULL (4), trailer 2
            #expect(bytes.count == 19 + 2 + 8 + 4 + 2)
            #expect(Array(bytes.suffix(2)) == [0xFF, 0xFF])
        }

        @Test("a field is found again in encoded fields, after NULLs and values of any length")
        func fieldsAreFoundAgain() {
            let uuid = UUID()
            var fields: [UInt8] = [9, 9]  // not part of the fields
            let start = fields.count
            PostgresCopyWriter.encodeFields(Int32(7), String?.none, "名字", uuid, into: &fields)
            let slice = fields[start...]
            #expect(PostgresCopyWriter.field(0, in: slice) == (start + 4, 4))
            #expect(PostgresCopyWriter.field(1, in: slice).length == -1)
            let text = PostgresCopyWriter.field(2, in: slice)
            #expect(text.length == 6)
            #expect(Array(fields[text.start..<text.start + 6]) == Array("名字".utf8))
            let id = PostgresCopyWriter.field(3, in: slice)
            #expect(id.length == 16)
            #expect(Array(fields[id.start..<id.start + 16]) == withUnsafeBytes(of: uuid.uuid) { Array($0) })
        }
    }
}
