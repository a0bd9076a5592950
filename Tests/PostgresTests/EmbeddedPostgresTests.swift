import Foundation
import Logging
import Postgres
import Testing
import TongbanTesting

extension PostgresTests {
    @Suite(.sharedMachine) struct EmbeddedServerAuthentication {
        /// Any local user can reach a loopback port: the embedded server must want its password from everyone, over
        /// TCP and its socket, and the password must not leak into a log line, a file left behind or the URL.
        @Test func connectionsNeedTheGeneratedPasswordWhichNoLogLineHolds() async throws {
            let lines = LogCapture()
            let logger = lines.logger
            let server = try await EmbeddedPostgres.start(logger: logger)
            let conninfo = server.conninfo()
            let password = conninfo.firstMatch(of: /password='([^']*)'/).map { String($0.output.1) } ?? ""
            do {
                #expect(password.count == 43, "32 random bytes in base64url")
                #expect(password.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
                #expect(!server.url().contains(password))

                // With the password: in.
                let good = try await PostgresConnection.connect(conninfo, logger: logger)
                #expect(try await good.query("SELECT current_user")[0].decode(String.self, at: 0) == "tongban")
                await good.close()
                let socket = try PostgresConnectionString.setting(["host": server.directory.path], in: conninfo)
                let overSocket = try await PostgresConnection.connect(socket, logger: logger)
                #expect(try await overSocket.query("SELECT 1")[0].decode(Int.self, at: 0) == 1)
                await overSocket.close()

                // Without it, or with a wrong one: refused, over TCP and over the socket.
                let noPassFile = ["passfile": "/nonexistent/tongban-no-passfile"]
                for attempt in [
                    try PostgresConnectionString.setting(noPassFile, in: server.url()),
                    try PostgresConnectionString.setting(
                        noPassFile.merging(["password": "wrong"]) { $1 }, in: conninfo),
                    try PostgresConnectionString.setting(
                        noPassFile.merging(["host": server.directory.path, "password": ""]) { $1 }, in: conninfo),
                ] {
                    let error = await expectPostgresError {
                        _ = try await PostgresConnection.connect(attempt, logger: logger)
                    }
                    #expect(error?.code == .authentication, "\(String(describing: error))")
                    #expect(error?.description.contains(password) == false)
                }

                // No trust anywhere, and the file that took the password to initdb is gone.
                let hba = try String(
                    contentsOf: server.directory.appendingPathComponent("data/pg_hba.conf"), encoding: .utf8)
                let rules = hba.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.allSatisfy(\.isWhitespace) }
                #expect(!rules.isEmpty)
                #expect(rules.allSatisfy { $0.hasSuffix("scram-sha-256") }, "\(rules)")
                #expect(!FileManager.default.fileExists(atPath: server.directory.appendingPathComponent("pwfile").path))
            } catch {
                try? await server.stop()
                throw error
            }
            try await server.stop()
            let logged = lines.lines
            #expect(logged.contains { $0.contains("embedded PostgreSQL started") })
            #expect(logged.contains { $0.contains("embedded PostgreSQL stopped") })
            #expect(!logged.contains { $0.contains(password) }, "a log line holds the password")
        }

        /// `tongban dev` prints `PGPASSFILE` and a `DATABASE_URL` without the password: with both exported,
        /// `psql "$DATABASE_URL"` connects exactly as printed, and the file is for this user alone.
        @Test func thePasswordFileLetsPsqlConnectWithThePrintedURL() async throws {
            let server = try await EmbeddedPostgres.start(logger: TestPostgres.logger)
            do {
                let file = try server.writePasswordFile()
                #expect(file == server.passwordFile)
                let attributes = try FileManager.default.attributesOfItem(atPath: file.path)
                #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
                // Written again (a restarted `tongban dev` step), it stays 0600 and valid.
                try server.writePasswordFile()
                let again = try FileManager.default.attributesOfItem(atPath: file.path)
                #expect((again[.posixPermissions] as? NSNumber)?.intValue == 0o600)

                let viaFile = try PostgresConnectionString.setting(["passfile": file.path], in: server.url())
                let connection = try await PostgresConnection.connect(viaFile, logger: TestPostgres.logger)
                #expect(try await connection.query("SELECT current_user")[0].decode(String.self, at: 0) == "tongban")
                await connection.close()

                let psql = try await runShell(
                    #"psql "$DATABASE_URL" -X -A -t -c "SELECT current_user""#,
                    environment: ["PGPASSFILE": file.path, "DATABASE_URL": server.url()])
                #expect(psql.status == 0, "\(psql.output)")
                #expect(psql.output.trimmingCharacters(in: .whitespacesAndNewlines) == "tongban")
                let refused = try await runShell(
                    #"psql "$DATABASE_URL" -X -A -t -w -c "SELECT current_user""#,
                    environment: ["PGPASSFILE": "/nonexistent/tongban-no-passfile", "DATABASE_URL": server.url()])
                #expect(refused.status != 0)
            } catch {
                try? await server.stop()
                throw error
            }
            try await server.stop()
            #expect(!FileManager.default.fileExists(atPath: server.passwordFile.path))
        }
    }
}

/// Runs `/bin/sh -c script` with `environment` added to this process's (less its `PG*` variables), and waits for it
/// without blocking a thread; standard output and error together.
private func runShell(_ script: String, environment: [String: String]) async throws -> (status: Int32, output: String) {
    let result = try await TestProcess.run(
        "/bin/sh", ["-c", script],
        environment: ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PG") }.merging(environment) { $1 })
    return (result.status, result.output + result.errors)
}
