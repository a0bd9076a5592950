import Postgres
import Testing
import TongbanTesting

/// `PostgresConnectionString.withServerSettings`: sessions start with the settings asked for, after the options the
/// connection already had, and a setting that is not a plain word is refused rather than spliced into `options`.
@Suite("Server settings in the connection string", .sharedMachine)
struct ServerSettingsTests {
    @Test("a session opened with withServerSettings has them, and keeps the options it already had")
    func settingsReachTheSession() async throws {
        try await withTestDatabase { db in
            let base = try PostgresConnectionString.setting(["options": "-c statement_timeout=7000"], in: db.conninfo)
            let conninfo = try PostgresConnectionString.withServerSettings(
                ["jit": "off", "work_mem": "8MB"], in: base, environment: [:])
            let connection = try await PostgresConnection.connect(conninfo, logger: TestPostgres.logger)
            let rows = try await connection.query(
                "SELECT current_setting('jit'), current_setting('work_mem'), current_setting('statement_timeout')")
            #expect(try rows[0].decode(String.self, at: 0) == "off")
            #expect(try rows[0].decode(String.self, at: 1) == "8MB")
            #expect(try rows[0].decode(String.self, at: 2) == "7s")
            await connection.close()
        }
    }

    @Test("PGOPTIONS is kept when the string has no options; a setting that is not a plain word is refused")
    func environmentAndRefusal() throws {
        let merged = try PostgresConnectionString.withServerSettings(
            ["jit": "off"], in: "host=localhost", environment: ["PGOPTIONS": "-c search_path=x"])
        #expect(merged.contains("options='-c search_path=x -c jit=off'"), "\(merged)")
        #expect(throws: PostgresError.self) {
            try PostgresConnectionString.withServerSettings(
                ["jit": "off -c log_statement=all"], in: "", environment: [:])
        }
    }
}
