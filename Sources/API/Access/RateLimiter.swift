import Synchronization

/// A token bucket per client: each client may ask `requestsPerSecond` questions a second on average, and up to `burst`
/// at once after a quiet while. Over the rate it answers how long to wait (for `Retry-After`).
///
/// Safe to share: one lock guards the buckets, held only for arithmetic. A bucket is kept per client that asked
/// (clients are few: those an operator registered).
///
/// ```swift
/// switch limiter.check(clientID: access.client.id, requestsPerSecond: access.client.requestsPerSecond) {
/// case .allowed: answer()
/// case .retryAfter(let wait): refuse(retryAfterSeconds: RateLimiter.seconds(wait))
/// }
/// ```
public final class RateLimiter: Sendable {
    /// What the limiter answers.
    public enum Decision: Sendable, Hashable {
        /// The request may go on.
        case allowed
        /// Over the rate: the next request would be allowed after this long.
        case retryAfter(Duration)

        /// Whether the request may go on.
        public var isAllowed: Bool { self == .allowed }

        /// For the `Retry-After` header: the wait in whole seconds, rounded up (at least 1), or `nil` when allowed.
        public var retryAfterSeconds: Int? {
            guard case .retryAfter(let wait) = self else { return nil }
            return RateLimiter.seconds(wait)
        }
    }

    private struct Bucket {
        var tokens: Double
        var last: ContinuousClock.Instant
    }

    private let buckets = Mutex<[String: Bucket]>([:])

    /// Creates a limiter with no client seen yet (each starts with a full bucket).
    public init() {}

    /// Takes one request from a client's bucket, if it holds one.
    /// - Parameters:
    ///   - clientID: the client.
    ///   - requestsPerSecond: its rate (at least 1).
    ///   - burst: how many it may ask at once, or `nil` for `requestsPerSecond` (at least 1).
    ///   - now: the time of the request (tests give it).
    /// - Returns: allowed, or how long to wait.
    public func check(
        clientID: String, requestsPerSecond: Int, burst: Int? = nil, now: ContinuousClock.Instant = .now
    ) -> Decision {
        let rate = Double(max(1, requestsPerSecond))
        let capacity = Double(max(1, burst ?? requestsPerSecond))
        return buckets.withLock { buckets in
            var bucket = buckets[clientID] ?? Bucket(tokens: capacity, last: now)
            if now > bucket.last {
                let elapsed = bucket.last.duration(to: now)
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                bucket.tokens = min(capacity, bucket.tokens + seconds * rate)
                bucket.last = now
            }
            bucket.tokens = min(bucket.tokens, capacity)
            defer { buckets[clientID] = bucket }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return .allowed
            }
            return .retryAfter(.seconds((1 - bucket.tokens) / rate))
        }
    }

    /// Forgets a client's bucket (e.g. once it is disabled); it starts full if it asks again.
    /// - Parameter clientID: the client.
    public func forget(clientID: String) {
        _ = buckets.withLock { $0.removeValue(forKey: clientID) }
    }

    /// A wait in whole seconds, rounded up, at least 1.
    /// - Parameter wait: the wait.
    /// - Returns: the seconds.
    public static func seconds(_ wait: Duration) -> Int {
        let (seconds, attoseconds) = wait.components
        return max(1, Int(seconds) + (attoseconds > 0 ? 1 : 0))
    }
}
