import Foundation
import Postgres
import Testing
import TongbanTesting

extension PostgresTests {
    @Suite(.sharedMachine) struct Migrations {
        static let migrations = [
            PostgresMigration(
                version: 1, name: "create_person", sql: "CREATE TABLE person (id int8 PRIMARY KEY, name text);"),
            PostgresMigration(
                version: 2, name: "add_born",
                sql: "SELECT pg_sleep(0.3); ALTER TABLE person ADD COLUMN born date; CREATE INDEX ON person (born);"
            ),
            PostgresMigration(version: 3, name: "seed", sql: "INSERT INTO person VALUES (1, 'first');"),
        ]

        @Test func appliedTwiceChangesNothing() async throws {
            try await withTestDatabase { db in
                let migrator = PostgresMigrator(migrations: Self.migrations.reversed(), logger: TestPostgres.logger)
                #expect(try await migrator.migrate(db.client) == [1, 2, 3])
                let before = try await snapshot(db.client)
                #expect(try await migrator.migrate(db.client) == [])
                #expect(try await snapshot(db.client) == before)
                #expect(try await db.client.query("SELECT count(*) FROM person")[0].decode(Int.self, at: 0) == 1)
            }
        }

        @Test func concurrentMigratorsDoNotCollide() async throws {
            try await withTestDatabase { db in
                let migrator = PostgresMigrator(migrations: Self.migrations, logger: TestPostgres.logger)
                async let a = migrator.migrate(db.client)
                async let b = migrator.migrate(db.client)
                let (first, second) = try await (a, b)
                #expect((first + second).sorted() == [1, 2, 3])
                let rows = try await db.client.query(
                    "SELECT version, count(*) FROM tongban.schema_migrations GROUP BY version ORDER BY 1")
                #expect(try rows.map { try $0.decode(Int.self, at: 0) } == [1, 2, 3])
                #expect(try rows.allSatisfy { try $0.decode(Int.self, at: 1) == 1 })
                #expect(try await db.client.query("SELECT count(*) FROM person")[0].decode(Int.self, at: 0) == 1)
            }
        }

        @Test func changedChecksumIsDetected() async throws {
            try await withTestDatabase { db in
                try await PostgresMigrator(migrations: Self.migrations, logger: TestPostgres.logger).migrate(db.client)
                var edited = Self.migrations
                edited[1] = PostgresMigration(
                    version: 2, name: "add_born", sql: "ALTER TABLE person ADD COLUMN born timestamptz;")
                let error = await expectPostgresError {
                    try await PostgresMigrator(migrations: edited, logger: TestPostgres.logger).migrate(db.client)
                }
                #expect(error?.code == .migration)
                #expect(error?.description.contains("0002_add_born.sql") == true)
            }
        }

        @Test func aFailingMigrationLeavesNoTrace() async throws {
            try await withTestDatabase { (db) async throws in
                let broken =
                    Self.migrations + [
                        PostgresMigration(
                            version: 4, name: "broken", sql: "CREATE TABLE x (id int); SELECT * FROM nope;")
                    ]
                let error = await expectPostgresError {
                    try await PostgresMigrator(migrations: broken, logger: TestPostgres.logger).migrate(db.client)
                }
                #expect(error?.code == .migration)
                #expect(error?.description.contains("0004_broken.sql") == true)
                #expect(error?.sqlState == "42P01")
                #expect(try await db.client.query("SELECT to_regclass('x') IS NULL")[0].decode(Bool.self, at: 0))
                #expect(
                    try await db.client.query("SELECT max(version) FROM tongban.schema_migrations")[0].decode(
                        Int.self, at: 0)
                        == 3)
            }
        }

        @Test func loadsAndOrdersADirectory() throws {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("migrations-\(UUID())")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            try "SELECT 2;".write(
                to: directory.appendingPathComponent("0010_second.sql"), atomically: true, encoding: .utf8)
            try "SELECT 1;".write(
                to: directory.appendingPathComponent("0002_first_one.sql"), atomically: true, encoding: .utf8)
            try "notes".write(to: directory.appendingPathComponent("README.md"), atomically: true, encoding: .utf8)
            let loaded = try PostgresMigration.load(from: directory)
            #expect(loaded.map(\.version) == [2, 10])
            #expect(loaded.map(\.name) == ["first_one", "second"])
            #expect(loaded[0].fileName == "0002_first_one.sql")
            #expect(loaded[0].checksum != loaded[1].checksum)
            try "SELECT 3;".write(to: directory.appendingPathComponent("third.sql"), atomically: true, encoding: .utf8)
            #expect(throws: PostgresError.self) { try PostgresMigration.load(from: directory) }
        }

        private func snapshot(_ client: PostgresClient) async throws -> [String] {
            let rows = try await client.query(
                """
                SELECT format('%s %s %s', c.relname, c.relkind, (SELECT count(*) FROM pg_attribute a WHERE a.attrelid = c.oid))
                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = 'public' ORDER BY 1
                """
            )
            let tables = try rows.map { try $0.decode(String.self, at: 0) }
            let applied = try await client.query(
                "SELECT version, checksum, applied_at FROM tongban.schema_migrations ORDER BY 1")
            return tables
                + (try applied.map {
                    "\(try $0.decode(Int.self, at: 0)) \(try $0.decode(String.self, at: 1)) \(try $0.decode(String.self, at: 2))"
                })
        }
    }
}
