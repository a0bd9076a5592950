public import Events
public import Foundation

/// Why a status list could not be made, read or written.
public struct BitstringStatusListError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure.
    public enum Code: String, Sendable, Hashable {
        /// Fewer bits than the specification's minimum (131,072), or a count that is not a multiple of 8.
        case badLength
        /// An index outside the list.
        case indexOutOfRange
        /// The encoded list is not `u` followed by base64url without padding.
        case notMultibase
        /// The bytes are not one whole, intact GZIP member.
        case notGzip
        /// The list would inflate beyond the limit (a decompression bomb).
        case tooLarge
        /// GZIP compression failed.
        case compressionFailed
    }

    /// What kind of failure.
    public let code: Code
    /// Plain words for a person.
    public let reason: String
    public var description: String { reason }

    init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }
}

/// What a status list's set bit means.
public enum StatusPurpose: String, Sendable, Hashable, CaseIterable {
    /// The credential is revoked (for good).
    case revocation
    /// The credential is suspended (the bit may be cleared again).
    case suspension
}

/// A W3C Bitstring Status List: one bit per credential, set when the list's purpose (revocation, suspension)
/// applies to it.
///
/// Bit 0 is the most significant bit of the first byte, bit 7 its least significant, bit 8 the most significant of
/// the second byte, and so on. On the wire the bytes are GZIP-compressed, base64url-encoded without padding, and
/// prefixed with the multibase letter `u` (``encodedList()``). A list has at least 131,072 bits (16 KiB), so that a
/// credential cannot be told apart from the many others in its list.
public struct BitstringStatusList: Sendable, Hashable {
    /// The fewest bits a list has (the specification's minimum).
    public static let minimumBitCount = 131_072
    /// The largest list ``decode(encodedList:maximumBytes:)`` inflates by default: 16 MiB.
    public static let defaultMaximumBytes = 16 * 1024 * 1024

    /// The bits, 8 to a byte, most significant first.
    public private(set) var bytes: [UInt8]

    /// How many bits the list has.
    public var bitCount: Int { bytes.count * 8 }

    /// A list with every bit clear.
    /// - Parameter bitCount: at least ``minimumBitCount``, a multiple of 8.
    /// - Throws: ``BitstringStatusListError`` `.badLength`.
    public init(bitCount: Int = minimumBitCount) throws(BitstringStatusListError) {
        guard bitCount >= Self.minimumBitCount, bitCount % 8 == 0 else {
            throw BitstringStatusListError(
                .badLength,
                "a status list has at least \(Self.minimumBitCount) bits, a multiple of 8 (not \(bitCount))")
        }
        self.bytes = [UInt8](repeating: 0, count: bitCount / 8)
    }

    /// A list of these bytes (bit 0 is the most significant bit of the first byte).
    /// - Parameter bytes: at least 16,384 bytes.
    /// - Throws: ``BitstringStatusListError`` `.badLength`.
    public init(bytes: [UInt8]) throws(BitstringStatusListError) {
        guard bytes.count * 8 >= Self.minimumBitCount else {
            throw BitstringStatusListError(
                .badLength,
                "a status list has at least \(Self.minimumBitCount) bits (\(Self.minimumBitCount / 8) bytes); this one "
                    + "has \(bytes.count * 8)")
        }
        self.bytes = bytes
    }

    /// Whether a bit is set.
    /// - Parameter index: the bit's index (a credential's `statusListIndex`).
    /// - Returns: `true` when set.
    /// - Throws: ``BitstringStatusListError`` `.indexOutOfRange`.
    public func bit(at index: Int) throws(BitstringStatusListError) -> Bool {
        try checkIndex(index)
        return bytes[index / 8] & (0x80 >> UInt8(index % 8)) != 0
    }

    /// Sets or clears a bit.
    /// - Parameters:
    ///   - value: `true` to set, `false` to clear.
    ///   - index: the bit's index.
    /// - Throws: ``BitstringStatusListError`` `.indexOutOfRange`.
    public mutating func setBit(_ value: Bool, at index: Int) throws(BitstringStatusListError) {
        try checkIndex(index)
        let mask: UInt8 = 0x80 >> UInt8(index % 8)
        if value { bytes[index / 8] |= mask } else { bytes[index / 8] &= ~mask }
    }

    /// The list as the specification writes it: `u` followed by base64url (no padding) of the GZIP-compressed
    /// bytes. The same bits always give the same text.
    /// - Returns: the `encodedList`.
    /// - Throws: ``BitstringStatusListError`` `.compressionFailed`.
    public func encodedList() throws(BitstringStatusListError) -> String {
        Multibase.base64url(try GZip.compress(bytes))
    }

    /// Reads an `encodedList`, refusing (without inflating it whole) one that would inflate beyond `maximumBytes`.
    /// - Parameters:
    ///   - encodedList: `u` followed by base64url (no padding) of GZIP data.
    ///   - maximumBytes: the most bytes the list may inflate to (16 MiB by default).
    /// - Returns: the list.
    /// - Throws: ``BitstringStatusListError``: `.notMultibase`, `.notGzip`, `.tooLarge`, or `.badLength` for a list
    ///   shorter than the minimum.
    public static func decode(
        encodedList: String, maximumBytes: Int = defaultMaximumBytes
    ) throws(BitstringStatusListError) -> BitstringStatusList {
        let compressed: [UInt8]
        do {
            compressed = try Multibase.decode(encodedList, expecting: .base64url)
        } catch {
            throw BitstringStatusListError(.notMultibase, "the encodedList: \(error.reason)")
        }
        return try BitstringStatusList(bytes: GZip.inflate(compressed, maximumBytes: maximumBytes))
    }

    /// The unsigned `BitstringStatusListCredential` publishing this list (W3C VC 2.0), to be signed with
    /// ``DataIntegrity/sign(document:with:verificationMethod:created:)``.
    /// - Parameters:
    ///   - id: the list's URL (the credential's `id`; the subject's is `<id>#list`).
    ///   - issuer: the issuer's DID.
    ///   - statusPurpose: what a set bit means.
    ///   - validFrom: from when the list holds.
    ///   - validUntil: until when a verifier may rely on it, if it says.
    /// - Returns: the credential.
    /// - Throws: ``BitstringStatusListError`` `.compressionFailed`.
    public func statusListCredential(
        id: String, issuer: String, statusPurpose: StatusPurpose, validFrom: Date, validUntil: Date? = nil
    ) throws(BitstringStatusListError) -> JSONObject {
        var credential = JSONObject([
            ("@context", ["https://www.w3.org/ns/credentials/v2"]),
            ("id", .string(id)),
            ("type", ["VerifiableCredential", "BitstringStatusListCredential"]),
            ("issuer", .string(issuer)),
            ("validFrom", .string(Timestamp.format(validFrom))),
        ])
        if let validUntil { credential["validUntil"] = .string(Timestamp.format(validUntil)) }
        credential["credentialSubject"] = .object(
            JSONObject([
                ("id", .string("\(id)#list")), ("type", "BitstringStatusList"),
                ("statusPurpose", .string(statusPurpose.rawValue)), ("encodedList", .string(try encodedList())),
            ]))
        return credential
    }

    /// The `credentialStatus` entry a credential carries to point at its bit in a list.
    /// - Parameters:
    ///   - statusListCredential: the list's URL.
    ///   - index: the credential's bit.
    ///   - statusPurpose: the list's purpose.
    /// - Returns: `{id, type: BitstringStatusListEntry, statusPurpose, statusListIndex, statusListCredential}`
    ///   (the index written as a string, as the specification says).
    public static func entry(
        statusListCredential: String, index: Int, statusPurpose: StatusPurpose
    ) -> JSONObject {
        JSONObject([
            ("id", .string("\(statusListCredential)#\(index)")), ("type", "BitstringStatusListEntry"),
            ("statusPurpose", .string(statusPurpose.rawValue)), ("statusListIndex", .string(String(index))),
            ("statusListCredential", .string(statusListCredential)),
        ])
    }

    private func checkIndex(_ index: Int) throws(BitstringStatusListError) {
        guard index >= 0, index < bitCount else {
            throw BitstringStatusListError(
                .indexOutOfRange, "the index \(index) is outside the list (0 to \(bitCount - 1))")
        }
    }
}
