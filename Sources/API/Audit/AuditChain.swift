import Crypto

/// The hash rule of the audit log's chain, as schemas/migrations/README.md ("The audit log") documents it for
/// verifiers outside Tongban.
///
/// `hash(n) = SHA-256(previous_hash ‖ encoding(n))`, where `previous_hash` is the hash of row n − 1 (32 zero bytes
/// for row 1) and `encoding(n)` is, in this order, with every integer big-endian:
///
/// 1. `seq`: 8 bytes, signed;
/// 2. `recorded_at`: 8 bytes, signed: microseconds since 1970-01-01T00:00:00Z;
/// 3. `client_id`, 4. `purpose`, 5. `on_behalf_of`: each a text value;
/// 6. `subjects`: the element count (4 bytes, unsigned), then each element as a text value;
/// 7. `question`, 8. `answer_summary`, 9. `outcome`: each a text value;
/// 10. `status`: 4 bytes, signed.
///
/// A text value is the byte `0x01`, its UTF-8 length (4 bytes, unsigned) and its UTF-8 bytes, as stored; SQL NULL
/// (only `on_behalf_of` may be NULL) is the single byte `0x00`.
public enum AuditChain {
    /// The `previous_hash` of row 1: 32 zero bytes.
    public static let genesis = [UInt8](repeating: 0, count: 32)

    /// The hash of a row.
    /// - Parameters:
    ///   - previous: the hash of the row before (``genesis`` for row 1).
    ///   - seq: the row's position.
    ///   - recordedAtMicroseconds: when it was written, in microseconds since the Unix epoch.
    ///   - entry: the request.
    /// - Returns: the 32 bytes of SHA-256.
    public static func hash(previous: [UInt8], seq: Int64, recordedAtMicroseconds: Int64, entry: AuditEntry)
        -> [UInt8]
    {
        hash(
            previous: previous,
            row: AuditRow(
                seq: seq, recordedAtMicroseconds: recordedAtMicroseconds, clientID: entry.clientID,
                purpose: entry.purpose, onBehalfOf: entry.onBehalfOf, subjects: entry.subjects,
                question: entry.question, answerSummary: entry.answerSummary, outcome: entry.outcome.rawValue,
                status: Int32(clamping: entry.status), previousHash: previous, hash: []))
    }

    /// The canonical encoding of a row's fields (what follows `previous_hash` in the hashed bytes).
    /// - Parameters:
    ///   - seq: the row's position.
    ///   - recordedAtMicroseconds: when it was written, in microseconds since the Unix epoch.
    ///   - entry: the request.
    /// - Returns: the bytes.
    public static func encoding(seq: Int64, recordedAtMicroseconds: Int64, entry: AuditEntry) -> [UInt8] {
        encoding(
            AuditRow(
                seq: seq, recordedAtMicroseconds: recordedAtMicroseconds, clientID: entry.clientID,
                purpose: entry.purpose, onBehalfOf: entry.onBehalfOf, subjects: entry.subjects,
                question: entry.question, answerSummary: entry.answerSummary, outcome: entry.outcome.rawValue,
                status: Int32(clamping: entry.status), previousHash: [], hash: []))
    }

    /// Bytes as lower-case hex.
    /// - Parameter bytes: the bytes.
    /// - Returns: two hex digits per byte.
    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    static func hash(previous: [UInt8], row: AuditRow) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: previous)
        hasher.update(data: encoding(row))
        return Array(hasher.finalize())
    }

    static func encoding(_ row: AuditRow) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(128)
        append(row.seq, to: &bytes)
        append(row.recordedAtMicroseconds, to: &bytes)
        appendText(row.clientID, to: &bytes)
        appendText(row.purpose, to: &bytes)
        appendText(row.onBehalfOf, to: &bytes)
        append(UInt32(truncatingIfNeeded: row.subjects.count), to: &bytes)
        for subject in row.subjects { appendText(subject, to: &bytes) }
        appendText(row.question, to: &bytes)
        appendText(row.answerSummary, to: &bytes)
        appendText(row.outcome, to: &bytes)
        append(row.status, to: &bytes)
        return bytes
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    private static func appendText(_ text: String?, to bytes: inout [UInt8]) {
        guard let text else {
            bytes.append(0)
            return
        }
        bytes.append(1)
        append(UInt32(truncatingIfNeeded: text.utf8.count), to: &bytes)
        bytes.append(contentsOf: text.utf8)
    }
}

/// A row of `tongban.audit_log` as stored, its outcome as text (a verifier reads rows that may have been tampered
/// with).
struct AuditRow: Sendable, Hashable {
    var seq: Int64
    var recordedAtMicroseconds: Int64
    var clientID: String
    var purpose: String
    var onBehalfOf: String?
    var subjects: [String]
    var question: String
    var answerSummary: String
    var outcome: String
    var status: Int32
    var previousHash: [UInt8]
    var hash: [UInt8]
}
