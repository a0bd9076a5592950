import Foundation
import Logging
import Postgres
import Synchronization
import Testing
import TongbanTesting

/// All PostgreSQL suites run one at a time: some measure timing (cancellation, the cooperative pool), which
/// other suites' CPU work on a 2-core machine would disturb.
@Suite(.serialized) struct PostgresTests {}

/// Fails the test unless `body` throws a `PostgresError`; returns it.
func expectPostgresError(
    _ body: () async throws -> Void,
    sourceLocation: SourceLocation = #_sourceLocation
) async -> PostgresError? {
    do {
        try await body()
        Issue.record("expected a PostgresError, but nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as PostgresError {
        return error
    } catch {
        Issue.record("expected a PostgresError, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

/// A value behind a lock, shareable between tasks.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<R>(_ body: (inout Value) -> R) -> R { mutex.withLock { body(&$0) } }
}
