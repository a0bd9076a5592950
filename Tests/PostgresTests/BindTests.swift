import Foundation
import Postgres
import Testing
import TongbanTesting

extension PostgresTests {
    @Suite(.sharedMachine) struct Binds {
        @Test func awkwardStringsRoundTrip() async throws {
            try await withTestDatabase { db in
                let strings = [
                    "it's", "back\\slash \\x00 \\\\", "\"double\" quotes", "中文字符 户籍", "emoji 👨‍👩‍👧 🇨🇳", "",
                    "line\nbreak\ttab\r", "$1 $2 ?", "'); DROP TABLE t; --", String(repeating: "长", count: 350_000),
                ]
                try await db.client.execute("CREATE TABLE t (i int PRIMARY KEY, s text)")
                for (i, s) in strings.enumerated() {
                    try await db.client.execute("INSERT INTO t VALUES (\(Int32(i)), \(s))")
                    let echoed = try await db.client.query("SELECT \(s)")
                    #expect(try echoed[0].decode(String.self, at: 0) == s)
                }
                let rows = try await db.client.query("SELECT i, s FROM t ORDER BY i")
                #expect(rows.count == strings.count)
                for row in rows {
                    #expect(try row.decode(String.self, column: "s") == strings[try row.decode(Int.self, at: 0)])
                }
                let big = try await db.client.query("SELECT octet_length(s) FROM t WHERE i = 9")
                #expect(try big[0].decode(Int.self, at: 0) == 1_050_000)  // 350k × 3-byte UTF-8
            }
        }

        @Test func nullsAndOptionals() async throws {
            try await withTestDatabase { db in
                let none: String? = nil
                let noInt: Int64? = nil
                let rows = try await db.client.query("SELECT \(none) AS a, \(noInt) AS b, \(Optional("x")) AS c")
                #expect(try rows[0].decode(String?.self, at: 0) == nil)
                #expect(try rows[0].decode(Int64?.self, column: "b") == nil)
                #expect(try rows[0].decode(String?.self, column: "c") == "x")
                let error = await expectPostgresError { _ = try rows[0].decode(String.self, at: 0) }
                #expect(error?.code == .decoding)
            }
        }

        @Test func integersAtTheirBoundaries() async throws {
            try await withTestDatabase { db in
                let rows = try await db.client.query(
                    """
                    SELECT \(Int64.min), \(Int64.max), \(Int32.min), \(Int32.max), \(Int16.min), \(Int16.max), \(Int.min),
                           pg_typeof(\(Int32(1)))::text, pg_typeof(\(Int16(1)))::text, pg_typeof(\(1))::text
                    """
                )
                let row = rows[0]
                #expect(try row.decode(Int64.self, at: 0) == .min)
                #expect(try row.decode(Int64.self, at: 1) == .max)
                #expect(try row.decode(Int32.self, at: 2) == .min)
                #expect(try row.decode(Int32.self, at: 3) == .max)
                #expect(try row.decode(Int16.self, at: 4) == .min)
                #expect(try row.decode(Int16.self, at: 5) == .max)
                #expect(try row.decode(Int.self, at: 6) == .min)
                #expect(try row.decode(String.self, at: 7) == "integer")
                #expect(try row.decode(String.self, at: 8) == "smallint")
                #expect(try row.decode(String.self, at: 9) == "bigint")
                let overflow = await expectPostgresError { _ = try row.decode(Int16.self, at: 3) }
                #expect(overflow?.code == .decoding)
            }
        }

        @Test func doublesBoolsUUIDsAndJSON() async throws {
            try await withTestDatabase { db in
                let doubles: [Double] = [0.1, -2.5e-300, 1.7976931348623157e308, .pi, .infinity, -.infinity, 0]
                for d in doubles {
                    #expect(try await db.client.query("SELECT \(d)")[0].decode(Double.self, at: 0) == d)
                }
                #expect(try await db.client.query("SELECT \(Double.nan)")[0].decode(Double.self, at: 0).isNaN)
                let uuid = UUID()
                let row = try await db.client.query(
                    "SELECT \(true), \(false), \(uuid), \(PostgresJSONB(#"{"名": "值", "n": [1, 2]}"#))->>'名'"
                )[0]
                #expect(try row.decode(Bool.self, at: 0) == true)
                #expect(try row.decode(Bool.self, at: 1) == false)
                #expect(try row.decode(UUID.self, at: 2) == uuid)
                #expect(try row.decode(String.self, at: 3) == "值")
            }
        }

        @Test func byteaWithZeroBytes() async throws {
            try await withTestDatabase { db in
                let all = (0...255).map { UInt8($0) }
                let values: [[UInt8]] = [[], [0], [0, 0, 1, 0, 255, 0], all, all.reversed() + all]
                try await db.client.execute("CREATE TABLE b (i int, data bytea)")
                for (i, value) in values.enumerated() {
                    try await db.client.execute("INSERT INTO b VALUES (\(Int32(i)), \(value))")
                }
                let rows = try await db.client.query("SELECT data, octet_length(data) FROM b ORDER BY i")
                for (row, value) in zip(rows, values) {
                    #expect(try row.decode([UInt8].self, at: 0) == value)
                    #expect(try row.decode(Int.self, at: 1) == value.count)
                }
            }
        }

        @Test func datesRoundTrip() async throws {
            try await withTestDatabase { db in
                let dates = [
                    Date(timeIntervalSince1970: 1_700_000_000.123456), Date(timeIntervalSince1970: 0),
                    Date(timeIntervalSince1970: -2_208_943_543.5),  // 1900-01-01 12:34:17.5 UTC
                    Date(timeIntervalSince1970: 253_402_300_799.999999),  // 9999-12-31 23:59:59.999999
                ]
                try await db.client.execute("SET TIME ZONE 'Asia/Shanghai'")  // a pooled session; decode must not care
                for date in dates {
                    let row = try await db.client.query(
                        "SELECT \(date), \(date)::text, extract(epoch FROM \(date))::float8")[0]
                    let back = try row.decode(Date.self, at: 0)
                    #expect(abs(back.timeIntervalSince1970 - date.timeIntervalSince1970) < 0.000_001_5)
                    #expect(abs(try row.decode(Double.self, at: 2) - date.timeIntervalSince1970) < 0.000_001_5)
                }
                let shanghai = try await db.client.withConnection { connection in
                    try await connection.execute("SET TIME ZONE 'Asia/Shanghai'")
                    return try await connection.query("SELECT '2024-05-01 08:00:00+08'::timestamptz")[0].decode(
                        Date.self, at: 0)
                }
                #expect(shanghai == Date(timeIntervalSince1970: 1_714_521_600))
            }
        }

        @Test func arrays() async throws {
            try await withTestDatabase { db in
                let strings = ["a", "b,c", "d\"e", "f\\g", "NULL", "", "中 文", "{x}"]
                let ids: [Int64] = [1, -2, .max]
                let row = try await db.client.query(
                    "SELECT \(strings), cardinality(\(strings)), \(ids), 'b,c' = ANY(\(strings))"
                )[0]
                #expect(try row.decode([String].self, at: 0) == strings)
                #expect(try row.decode(Int.self, at: 1) == strings.count)
                #expect(try row.decode([Int64].self, at: 2) == ids)
                #expect(try row.decode(Bool.self, at: 3))
            }
        }

        @Test func unescapedAndIdentifierInterpolation() async throws {
            try await withTestDatabase { db in
                let table = "weird \"name\""
                try await db.client.execute("CREATE TABLE \(identifier: table) (v text)")
                try await db.client.execute("INSERT INTO \(identifier: table) VALUES (\("x"))")
                let query: PostgresQuery =
                    "SELECT v FROM \(identifier: table) WHERE v = \("x") \(unescaped: "ORDER BY 1")"
                #expect(query.binds.count == 1)
                #expect(try await db.client.query(query).count == 1)
            }
        }

        @Test func errorsAreRedacted() async throws {
            try await withTestDatabase { db in
                try await db.client.execute("CREATE TABLE u (secret text PRIMARY KEY)")
                try await db.client.execute("INSERT INTO u VALUES (\("secret-value-42"))")
                let error = await expectPostgresError {
                    try await db.client.execute("INSERT INTO u VALUES (\("secret-value-42"))")
                }
                #expect(error?.sqlState == "23505")
                #expect(error?.code == .query)
                #expect(error?.isRetriable == false)
                #expect(!(error?.description.contains("secret-value-42") ?? true))
                #expect(error?.debugDescription.contains("duplicate key") == true)
                let nul = await expectPostgresError { try await db.client.execute("SELECT \("a\u{0}b")") }
                #expect(nul?.message.contains("NUL") == true)
            }
        }
    }
}
