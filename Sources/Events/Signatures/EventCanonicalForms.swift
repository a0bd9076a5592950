/// The canonical bytes of an envelope that signing and idempotency need, from one pass of RFC 8785.
///
/// - ``signingBytes``: the envelope without `tbsig` (what the department signed);
/// - ``contentBytes``: the envelope without `tbsig` and `tbkid` (what the event says, whichever key signed it);
/// - ``dataBytes``: `data` alone.
public struct EventCanonicalForms: Sendable {
    /// The envelope without `tbsig`, canonical: the bytes the signature covers.
    public let signingBytes: [UInt8]
    /// The envelope without `tbsig` and `tbkid`, canonical: two messages with equal content bytes say the same thing.
    public let contentBytes: [UInt8]
    /// Where `data`'s canonical bytes lie in ``contentBytes`` (empty when the envelope has no `data`).
    public let dataRange: Range<Int>

    /// `data`, canonical.
    public var dataBytes: ArraySlice<UInt8> { contentBytes[dataRange] }

    /// Canonicalizes an envelope.
    /// - Parameter envelope: the envelope object as received.
    /// - Throws: ``EventSignatureError`` `.notCanonicalizable` (a number that is not a small integer).
    public init(_ envelope: JSONObject) throws(EventSignatureError) {
        var out: [UInt8] = []
        out.reserveCapacity(768)
        var keyID: Range<Int>?
        var keyIDIsFirst = false
        var nextAfterKeyID: Int?
        var data = 0..<0
        var written = 0
        do {
            try envelope.writeCanonical(into: &out) {
                $0 == "tbsig"
            } member: { name, span, value in
                if keyID != nil && nextAfterKeyID == nil { nextAfterKeyID = span.lowerBound }
                if name == "tbkid" {
                    keyID = span
                    keyIDIsFirst = written == 0
                } else if name == "data" {
                    data = value
                }
                written += 1
            }
        } catch {
            throw EventSignatureError(.notCanonicalizable, "\(error.reason)")
        }
        signingBytes = out
        if let keyID {
            // A member's span starts at its comma; the first member has none, so the comma after it goes instead.
            let removed = keyIDIsFirst ? keyID.lowerBound..<((nextAfterKeyID ?? keyID.upperBound - 1) + 1) : keyID
            out.removeSubrange(removed)
            if data.lowerBound >= removed.upperBound {
                data = (data.lowerBound - removed.count)..<(data.upperBound - removed.count)
            }
        }
        contentBytes = out
        dataRange = data
    }
}
