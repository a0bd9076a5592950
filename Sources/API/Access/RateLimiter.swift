import Synchronization

/// A token bucket per client: each client may ask `requestsPerSecond` questions a second on average, and up to `burst`
/// at once after a quiet while. Over the rate it answers how long to wait (for `Retry-After`).
///
/// Safe to share: one lock guards the buckets, held only for arithmetic. A bucket is kept per key that asked (a
/// client, or a citizen reading their access log) until it has refilled: a full bucket is the same as none, so
/// whenever the buckets have doubled in number since the last sweep, the full ones are dropped (amortized O(1) a
/// request, memory bounded by the keys active within about `burst / rate` seconds).
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
        var rate: Double
        var capacity: Double

        /// The tokens at `now`, refilled at `rate` up to `capacity`.
        func tokens(at now: ContinuousClock.Instant) -> Double {
            guard now > last else { return min(tokens, capacity) }
            let elapsed = last.duration(to: now)
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            return min(capacity, tokens + seconds * rate)
        }
    }

    private struct State {
        var buckets: [String: Bucket] = [:]
        /// Sweep the full buckets away once there are this many.
        var nextSweep = RateLimiter.smallestSweep
    }

    private static let smallestSweep = 1_024
    private let state = Mutex(State())

    /// How many keys hold a bucket now (full ones are dropped at the next sweep).
    public var trackedKeys: Int { state.withLock { $0.buckets.count } }

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
        return state.withLock { state in
            var bucket =
                state.buckets[clientID] ?? Bucket(tokens: capacity, last: now, rate: rate, capacity: capacity)
            bucket.rate = rate
            bucket.capacity = capacity
            bucket.tokens = bucket.tokens(at: now)
            if now > bucket.last { bucket.last = now }
            let decision: Decision
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                decision = .allowed
            } else {
                decision = .retryAfter(.seconds((1 - bucket.tokens) / rate))
            }
            state.buckets[clientID] = bucket
            if state.buckets.count >= state.nextSweep {
                state.buckets = state.buckets.filter { $0.value.tokens(at: now) < $0.value.capacity }
                state.nextSweep = max(Self.smallestSweep, 2 * state.buckets.count)
            }
            return decision
        }
    }

    /// Forgets a client's bucket (e.g. once it is disabled); it starts full if it asks again.
    /// - Parameter clientID: the client.
    public func forget(clientID: String) {
        _ = state.withLock { $0.buckets.removeValue(forKey: clientID) }
    }

    /// A wait in whole seconds, rounded up, at least 1.
    /// - Parameter wait: the wait.
    /// - Returns: the seconds.
    public static func seconds(_ wait: Duration) -> Int {
        let (seconds, attoseconds) = wait.components
        return max(1, Int(seconds) + (attoseconds > 0 ? 1 : 0))
    }
}
