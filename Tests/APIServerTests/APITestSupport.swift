import API
import Foundation
import HTTPTypes
import Logging
import NIOCore
import Postgres
import Testing

@testable import APIServer

extension APITestHarness.Connection {
    /// Registers another client with only `scopes`, fetches its token through `POST /oauth/token`, and returns the
    /// headers it asks with (for out-of-scope refusals).
    /// - Parameters:
    ///   - scopes: the scopes the client is granted.
    ///   - purpose: its one registered purpose, sent as `Tongban-Purpose`.
    /// - Returns: `Authorization` and `Tongban-Purpose`.
    /// - Throws: what registering or the token request throws.
    func headers(forClientWith scopes: [APIScope], purpose: String = "certificate") async throws -> HTTPFields {
        let registration = try await ClientRegistry(database: database, logger: Logger(label: "api-test")).register(
            name: "another service", scopes: scopes, purposes: [purpose], requestsPerSecond: 100_000)
        let reply = try await send(
            .post, "/oauth/token", headers: [.contentType: "application/x-www-form-urlencoded"],
            body: ByteBuffer(
                string: "grant_type=client_credentials&client_id=\(registration.client.id)"
                    + "&client_secret=\(registration.secret)"))
        let token = try #require(reply.json["access_token"] as? String, "\(reply.json)")
        return [.authorization: "Bearer \(token)", HTTPField.Name("Tongban-Purpose")!: purpose]
    }

    /// Sends `GET uri` and checks that it is refused with `status` and the problem `code`, as
    /// `application/problem+json`.
    /// - Parameters:
    ///   - uri: the request.
    ///   - status: the status expected.
    ///   - code: the problem's `code` expected.
    ///   - headers: the headers (default: the harness client's).
    /// - Throws: what sending throws.
    func expectRefusal(
        _ uri: String, _ status: HTTPResponse.Status, _ code: String, headers: HTTPFields? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let reply = try await send(.get, uri, headers: headers)
        #expect(reply.status == status, "\(uri): \(reply.json)", sourceLocation: sourceLocation)
        #expect(reply.json["code"] as? String == code, "\(uri): \(reply.json)", sourceLocation: sourceLocation)
        #expect(
            reply.headers[.contentType]?.hasPrefix("application/problem+json") == true, "\(uri)",
            sourceLocation: sourceLocation)
    }

    /// The `subjects` of the newest audit row of `question`.
    /// - Parameter question: the audited question's name.
    /// - Returns: the citizen IDs the row names.
    /// - Throws: `PostgresError`.
    func lastAuditedSubjects(of question: String) async throws -> [String] {
        let rows = try await database.query(
            """
            SELECT array_to_string(subjects, ',') FROM tongban.audit_log
            WHERE question = \(question) ORDER BY seq DESC LIMIT 1
            """)
        let text = try #require(rows.first).decode(String.self, at: 0)
        return text.isEmpty ? [] : text.split(separator: ",").map(String.init)
    }
}

/// Day arithmetic the ground-truth checks need, on `YYYY-MM-DD` text.
enum CheckDay {
    /// The day `years` after `day` with the same month and day, as text (text order is date order for
    /// `YYYY-MM-DD`). A 29 February gives `YYYY-02-29` in a common year, a day after PostgreSQL's `date + interval`
    /// (28 February): the populations' check dates are 1 November, so the difference never shows.
    static func adding(years: Int, to day: String) -> String {
        let year = Int(day.prefix(4))! + years
        return String(format: "%04d", year) + day.dropFirst(4)
    }
}
