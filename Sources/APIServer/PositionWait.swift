import API
public import Events
public import Postgres

/// Read-your-writes: waits, without holding a thread or a connection, until the views include every message of a
/// ``PositionToken`` (what a department published, from `tongban publish` or `DepartmentPublisher`).
///
/// The views include a message once their view group's checkpoint of its partition (`tongban.checkpoint.next_offset`,
/// the last applied offset + 1) is above its offset; a message that went to the dead letters moves the checkpoint
/// too, so the views then include everything up to it. The checkpoints are read by their primary key, every
/// ``pollInterval`` until ``timeout``.
///
/// ```swift
/// let wait = PositionWait()
/// guard try await wait.waitUntilIncluded(token, on: database) else { /* 503 position-not-reached */ }
/// ```
public struct PositionWait: Sendable {
    /// How long a request waits by default (the 2 s `schemas/openapi.yaml` promises).
    public static let defaultTimeout: Duration = .seconds(2)

    /// How long ``waitUntilIncluded(_:on:)`` waits before it gives up.
    public var timeout: Duration
    /// The view group whose checkpoints say what the views include (the questions read `tongban.views`).
    public var viewGroup: String
    /// How long to sleep between two looks at the checkpoints.
    public var pollInterval: Duration

    /// Creates a wait.
    /// - Parameters:
    ///   - timeout: how long to wait before giving up (default 2 s).
    ///   - viewGroup: the view group whose checkpoints count.
    ///   - pollInterval: the time between two looks at the checkpoints.
    public init(
        timeout: Duration = PositionWait.defaultTimeout, viewGroup: String = "tongban.views",
        pollInterval: Duration = .milliseconds(10)
    ) {
        self.timeout = timeout
        self.viewGroup = viewGroup
        self.pollInterval = pollInterval
    }

    /// Waits until the views include `token`, for at most ``timeout``.
    /// - Parameters:
    ///   - token: the position to wait for.
    ///   - database: the pool holding the views.
    /// - Returns: `true` once they include it, `false` when ``timeout`` passed first.
    /// - Throws: `PostgresError`, or `CancellationError` when the task is cancelled.
    public func waitUntilIncluded(_ token: PositionToken, on database: PostgresClient) async throws -> Bool {
        try await waitUntilIncluded(token, on: database, timeout: timeout)
    }

    /// Waits until the views include `token`, for at most `timeout` (the last look is at the deadline).
    /// - Parameters:
    ///   - token: the position to wait for.
    ///   - database: the pool holding the views.
    ///   - timeout: how long to wait; zero looks once.
    /// - Returns: `true` once they include it, `false` when `timeout` passed first.
    /// - Throws: `PostgresError`, or `CancellationError` when the task is cancelled.
    public func waitUntilIncluded(
        _ token: PositionToken, on database: PostgresClient, timeout: Duration
    ) async throws -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while true {
            if try await isIncluded(token, on: database) { return true }
            let now = clock.now
            guard now < deadline else { return false }
            try await Task.sleep(until: min(now + pollInterval, deadline), clock: clock)
        }
    }

    /// Whether the views include `token` now: one look at the checkpoints of its topics.
    /// - Parameters:
    ///   - token: the position.
    ///   - database: the pool holding the views.
    /// - Returns: whether each partition's checkpoint is above the token's offset there.
    /// - Throws: `PostgresError`, or a `DecodingError` if the table holds something unexpected.
    public func isIncluded(_ token: PositionToken, on database: PostgresClient) async throws -> Bool {
        let rows = try await database.query(
            """
            SELECT topic, partition, next_offset FROM tongban.checkpoint
            WHERE view_group = \(viewGroup) AND topic = ANY (\(token.topics)::text[])
            """)
        var nextOffsets: [PositionToken.Partition: Int64] = [:]
        for row in rows {
            let partition = PositionToken.Partition(
                try row.decode(String.self, at: 0), try row.decode(Int32.self, at: 1))
            nextOffsets[partition] = try row.decode(Int64.self, at: 2)
        }
        return token.isIncluded(in: nextOffsets)
    }
}

extension CertificateServicesAPI {
    /// The `Tongban-Min-Position` check of a request, once its caller and parameters passed: nothing without the
    /// header; otherwise waits (up to ``positionWait``'s timeout) until the views include the token. A malformed token
    /// is refused with 400 `invalid-position-token`, a position the views did not reach in time with 503
    /// `position-not-reached` and `Retry-After: 1`; both are audited.
    /// - Parameters:
    ///   - header: the `Tongban-Min-Position` header, if any.
    ///   - access: the admitted caller.
    ///   - question: the question's name in the audit log.
    ///   - subjects: the citizens the request names.
    /// - Returns: the refusal, or `nil` to go on.
    /// - Throws: what the database or the audit log throws.
    func reachPosition(
        _ header: String?, access: Authorizer.Access, question: String, subjects: [String]
    ) async throws -> Refusal? {
        guard let header else { return nil }
        let token: PositionToken
        do {
            token = try PositionToken(parsing: header)
        } catch {
            return try await refuse(
                access, question, subjects, "invalid-position-token", "Invalid position token",
                "Tongban-Min-Position: \(Problems.plain(error.reason))")
        }
        if try await positionWait.waitUntilIncluded(token, on: database) { return nil }
        try await record(
            client: access.client.id, purpose: access.purpose, subjects: subjects, question: question, status: 503,
            outcome: .refused, summary: "position-not-reached")
        return Refusal(
            status: 503,
            problem: Problems.problem(
                status: 503, code: "position-not-reached", title: "Position not reached",
                detail: "the views have not applied every event of Tongban-Min-Position yet (waited "
                    + "\(positionWait.timeout)); try again shortly"),
            retryAfter: 1)
    }
}
