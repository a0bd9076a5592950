/// What `/health/ready` (and `/health`) answers: an overall status and named checks, each in plain words.
///
/// The projector builds one on every request from what it already knows, for example:
/// ```swift
/// HealthReport(checks: [
///     "kafka": .ok("assigned 12 partitions"),
///     "postgres": .ok("last batch committed 0.4 s ago"),
/// ])
/// ```
/// The JSON is `{"checks":{"kafka":{"detail":"assigned 12 partitions","status":"ok"},…},"status":"ok"}`, with
/// keys sorted so that the body is stable.
///
/// - Important: a detail is shown to anyone who can reach the operations port. Never put secrets, connection
///   strings or certificate data in it. As a safety net the server masks passwords in URLs
///   (`postgres://u:***@h`) and `password=…`-style pairs, but that is no licence to pass them.
public struct HealthReport: Sendable, Hashable, Codable {
    /// How well a check, or the whole process, is doing.
    ///
    /// Ordered by severity: `ok` < `degraded` < `failing`. `/health/ready` answers 200 for `ok` and `degraded` and
    /// 503 for `failing`, so that a degraded process (say, behind on lag) keeps serving.
    public struct Status: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
        private enum Base: Int, Sendable {
            case ok, degraded, failing
        }

        private let base: Base

        /// Working as intended.
        public static let ok = Status(base: .ok)
        /// Working, but something needs an operator's attention (lag growing, retries, a slow dependency).
        public static let degraded = Status(base: .degraded)
        /// Not doing its job; `/health/ready` answers 503.
        public static let failing = Status(base: .failing)

        /// Whether `/health/ready` answers 200 (`ok`, `degraded`) rather than 503 (`failing`).
        public var isServing: Bool { base != .failing }

        /// The word used in JSON: `ok`, `degraded` or `failing`.
        public var description: String {
            switch base {
            case .ok: "ok"
            case .degraded: "degraded"
            case .failing: "failing"
            }
        }

        /// Compares by severity.
        public static func < (lhs: Status, rhs: Status) -> Bool { lhs.base.rawValue < rhs.base.rawValue }

        /// Decodes `ok`, `degraded` or `failing`.
        /// - Parameter decoder: the decoder.
        /// - Throws: `DecodingError.dataCorrupted` for any other word.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            let word = try container.decode(String.self)
            guard let status = [Status.ok, .degraded, .failing].first(where: { $0.description == word }) else {
                throw DecodingError.dataCorruptedError(
                    in: container, debugDescription: "unknown health status \"\(word)\"")
            }
            self = status
        }

        /// Encodes the word (`ok`, `degraded`, `failing`).
        /// - Parameter encoder: the encoder.
        /// - Throws: what the encoder throws.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(description)
        }

        private init(base: Base) { self.base = base }
    }

    /// One named check: its status and a plain-words detail.
    public struct Check: Sendable, Hashable, Codable {
        /// How this part is doing.
        public var status: Status
        /// What an operator should read, e.g. "assigned 12 partitions". No secrets.
        public var detail: String

        /// Creates a check.
        /// - Parameters:
        ///   - status: how this part is doing.
        ///   - detail: plain words for an operator; no secrets.
        public init(status: Status, detail: String) {
            self.status = status
            self.detail = detail
        }

        /// A check that is `ok`.
        /// - Parameter detail: plain words for an operator; no secrets.
        /// - Returns: the check.
        public static func ok(_ detail: String) -> Check { Check(status: .ok, detail: detail) }

        /// A check that is `degraded`.
        /// - Parameter detail: plain words for an operator; no secrets.
        /// - Returns: the check.
        public static func degraded(_ detail: String) -> Check { Check(status: .degraded, detail: detail) }

        /// A check that is `failing`.
        /// - Parameter detail: plain words for an operator; no secrets.
        /// - Returns: the check.
        public static func failing(_ detail: String) -> Check { Check(status: .failing, detail: detail) }
    }

    /// The overall status; decides between 200 and 503.
    public var status: Status
    /// The checks by name ("kafka", "postgres", "projector.households", …).
    public var checks: [String: Check]

    /// Creates a report with an explicit overall status.
    /// - Parameters:
    ///   - status: the overall status.
    ///   - checks: the checks by name.
    public init(status: Status, checks: [String: Check] = [:]) {
        self.status = status
        self.checks = checks
    }

    /// Creates a report whose overall status is the worst of its checks (`ok` when there are none).
    /// - Parameter checks: the checks by name.
    public init(checks: [String: Check]) {
        self.init(status: checks.values.map(\.status).max() ?? .ok, checks: checks)
    }
}
