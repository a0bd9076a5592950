internal import Crypto
public import Foundation

/// What makes two events the same, as hashes: the hub's idempotency keys.
///
/// - ``content`` identifies what a message says: SHA-256 of the envelope's canonical bytes without `tbsig` and
///   `tbkid` (so an event signed again with a newer key is the same content). An id seen again with the same content
///   is a duplicate; with other content, a reused id.
/// - ``fact`` identifies the fact whatever its id: SHA-256 of the current type (after upcasting), a line feed, and
///   the canonical bytes of the upcast `data`. The same fact sent again under a new id adds nothing to the views.
///
/// Both are the first 16 bytes of the digest, as a `UUID` (PostgreSQL's `uuid` column type holds them).
public struct EventFingerprint: Sendable, Hashable {
    /// The hash of the content (envelope without signature attributes).
    public let content: UUID
    /// The hash of the fact (current type and upcast `data`).
    public let fact: UUID

    /// Fingerprints a validated event.
    /// - Parameters:
    ///   - event: the event.
    ///   - canonical: its envelope's canonical forms, when the caller has them (verification computes them).
    /// - Throws: ``EventSignatureError`` `.notCanonicalizable` when the envelope has no canonical form.
    public init(_ event: ValidatedEvent, canonical: EventCanonicalForms? = nil) throws(EventSignatureError) {
        guard let envelope = event.json.objectValue else {
            throw EventSignatureError(.notCanonicalizable, "the envelope is not an object")
        }
        let forms: EventCanonicalForms
        if let canonical {
            forms = canonical
        } else {
            forms = try EventCanonicalForms(envelope)
        }
        content = Self.hash(forms.contentBytes[...])
        let currentType = event.payload.eventType
        var input = Array(currentType.utf8)
        input.append(0x0A)
        if currentType == event.type {
            input.append(contentsOf: forms.dataBytes)
        } else {
            // Upcast: the fact is the data as the current version reads it.
            do {
                input.append(contentsOf: try event.data.canonicalBytes())
            } catch {
                throw EventSignatureError(.notCanonicalizable, "\(error.reason)")
            }
        }
        fact = Self.hash(input[...])
    }

    /// The first 16 bytes of SHA-256, as a UUID.
    static func hash(_ bytes: ArraySlice<UInt8>) -> UUID {
        let digest = SHA256.hash(data: bytes)
        return digest.withUnsafeBytes { raw in
            UUID(
                uuid: (
                    raw[0], raw[1], raw[2], raw[3], raw[4], raw[5], raw[6], raw[7], raw[8], raw[9], raw[10], raw[11],
                    raw[12], raw[13], raw[14], raw[15]
                ))
        }
    }
}
