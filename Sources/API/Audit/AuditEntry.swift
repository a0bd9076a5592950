public import Foundation

/// What became of a request, as the audit log records it.
public enum AuditOutcome: String, Sendable, Hashable, CaseIterable {
    /// The question was answered.
    case answered
    /// The request was refused (not allowed, not valid, views not ready…).
    case refused
    /// The client asked too often and was turned away.
    case rateLimited = "rate-limited"
    /// The hub failed to answer.
    case error
}

/// One request of a certificate service, as it is appended to the audit log (`tongban.audit_log`).
///
/// ```swift
/// let entry = AuditEntry(
///     clientID: "notary-beijing", purpose: "inheritance", subjects: ["110101199003071234"], question: "kinship",
///     answerSummary: "3 relatives", outcome: .answered, status: 200)
/// let record = try await auditLog.append(entry)
/// ```
public struct AuditEntry: Sendable, Hashable {
    /// The registered client (certificate service) that asked.
    public var clientID: String
    /// The purpose the client gave.
    public var purpose: String
    /// The citizen ID of a person acting for the subjects (a relative), or `nil`.
    public var onBehalfOf: String?
    /// The citizen IDs asked about, in the order asked (may be empty, e.g. for a request refused before it was read).
    public var subjects: [String]
    /// What was asked, e.g. `kinship`.
    public var question: String
    /// A short summary of the answer or refusal, naming no personal data beyond what the entry names already.
    public var answerSummary: String
    /// What became of the request.
    public var outcome: AuditOutcome
    /// The HTTP status the client was given (100…599).
    public var status: Int

    /// Creates an entry.
    /// - Parameters:
    ///   - clientID: the client that asked.
    ///   - purpose: the purpose it gave.
    ///   - onBehalfOf: the citizen ID of a person acting for the subjects; `nil` (or "") when nobody does.
    ///   - subjects: the citizen IDs asked about.
    ///   - question: what was asked.
    ///   - answerSummary: a short summary of the answer, without personal data.
    ///   - outcome: what became of the request.
    ///   - status: the HTTP status given.
    public init(
        clientID: String, purpose: String, onBehalfOf: String? = nil, subjects: [String], question: String,
        answerSummary: String, outcome: AuditOutcome, status: Int
    ) {
        self.clientID = clientID
        self.purpose = purpose
        self.onBehalfOf = onBehalfOf?.isEmpty == true ? nil : onBehalfOf
        self.subjects = subjects
        self.question = question
        self.answerSummary = answerSummary
        self.outcome = outcome
        self.status = status
    }

    /// Checks what the table would refuse, so that one bad entry never fails the others written with it.
    /// - Throws: ``AuditLogError/invalidEntry(_:)`` naming the problem.
    func validate() throws(AuditLogError) {
        guard (100...599).contains(status) else { throw .invalidEntry("status \(status) is not an HTTP status") }
        if onBehalfOf?.isEmpty == true { throw .invalidEntry("on_behalf_of is empty (use nil)") }
        let texts = [clientID, purpose, question, answerSummary] + subjects + (onBehalfOf.map { [$0] } ?? [])
        if texts.contains(where: { $0.utf8.contains(0) }) {
            throw .invalidEntry("a text field contains a NUL byte, which PostgreSQL cannot store")
        }
    }
}

/// An entry as the audit log holds it: its place in the chain, when it was written, and its hashes.
public struct AuditRecord: Sendable, Hashable {
    /// Its position in the chain: 1, 2, 3 … without gaps.
    public var seq: Int64
    /// When it was written, in microseconds since 1970-01-01T00:00:00Z (the value the hash covers).
    public var recordedAtMicroseconds: Int64
    /// The request.
    public var entry: AuditEntry
    /// The hash of the row before (32 zero bytes for row 1).
    public var previousHash: [UInt8]
    /// SHA-256 of `previousHash` and the row's canonical encoding (see ``AuditChain``).
    public var hash: [UInt8]

    /// Creates a record.
    /// - Parameters:
    ///   - seq: the position in the chain.
    ///   - recordedAtMicroseconds: when it was written, in microseconds since the Unix epoch.
    ///   - entry: the request.
    ///   - previousHash: the hash of the row before.
    ///   - hash: the row's hash.
    public init(seq: Int64, recordedAtMicroseconds: Int64, entry: AuditEntry, previousHash: [UInt8], hash: [UInt8]) {
        self.seq = seq
        self.recordedAtMicroseconds = recordedAtMicroseconds
        self.entry = entry
        self.previousHash = previousHash
        self.hash = hash
    }

    /// When it was written.
    public var recordedAt: Date { Date(timeIntervalSince1970: Double(recordedAtMicroseconds) / 1_000_000) }

    /// The hash as lower-case hex.
    public var hashHex: String { AuditChain.hex(hash) }
}

/// Why the audit log did not take an entry.
public enum AuditLogError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The entry would be refused by the table; nothing was written.
    case invalidEntry(String)
    /// The log is shutting down or has shut down; nothing was written.
    case shutDown

    /// The problem in plain words.
    public var description: String {
        switch self {
        case .invalidEntry(let why): "the audit entry is not valid: \(why)"
        case .shutDown: "the audit log is shut down: the entry was not written"
        }
    }
}
