public import Crypto
public import Events
public import Foundation

/// Why a document could not be signed.
public struct DataIntegrityError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Plain words for a person.
    public let reason: String
    public var description: String { reason }
}

/// Whether a Data Integrity proof holds, and if not, which check failed, in plain words.
public struct DataIntegrityVerdict: Sendable, Hashable, CustomStringConvertible {
    /// The check that failed.
    public enum Failure: String, Sendable, Hashable {
        /// The document has no `proof`.
        case noProof
        /// The proof is not an object, or a member is missing or of the wrong kind (a set of proofs, a `created`
        /// that is not a time, an `@context` other than the document's).
        case malformedProof
        /// The proof's `type` is not `DataIntegrityProof`.
        case wrongType
        /// The proof's `cryptosuite` is not `eddsa-jcs-2022`.
        case wrongCryptosuite
        /// The proof's `proofPurpose` is not `assertionMethod`.
        case wrongProofPurpose
        /// The proof names a verification method whose key is not known.
        case unknownVerificationMethod
        /// The `proofValue` is not base58btc multibase of a 64-byte Ed25519 signature.
        case malformedProofValue
        /// The document cannot be put in canonical form (RFC 8785), e.g. a number with a fraction.
        case notCanonicalizable
        /// The signature does not match: the document or the proof changed after signing, or another key signed.
        case signatureMismatch
    }

    /// The check that failed, or `nil` when the proof holds.
    public let failure: Failure?
    /// Plain words: what was checked, or what failed and why.
    public let reason: String
    /// The verification method the proof names, when it names one.
    public let verificationMethod: String?

    /// Whether the proof holds.
    public var isValid: Bool { failure == nil }

    public var description: String { reason }

    static func failed(_ failure: Failure, _ reason: String, _ method: String? = nil) -> DataIntegrityVerdict {
        DataIntegrityVerdict(failure: failure, reason: reason, verificationMethod: method)
    }
}

/// Data Integrity proofs with the cryptosuite `eddsa-jcs-2022` (W3C Data Integrity EdDSA Cryptosuites, the JCS
/// variant): an Ed25519 signature over
/// `SHA-256(JCS(proof configuration)) ‖ SHA-256(JCS(document without its proof))`, where JCS is the JSON
/// Canonicalization Scheme (RFC 8785) and the proof configuration is the proof without `proofValue`, carrying the
/// document's `@context`. The signature is written as base58btc multibase in `proofValue`.
public enum DataIntegrity {
    /// The proof type.
    public static let proofType = "DataIntegrityProof"
    /// The cryptosuite.
    public static let cryptosuite = "eddsa-jcs-2022"
    /// The only proof purpose written and accepted: the issuer asserts what the document says.
    public static let proofPurpose = "assertionMethod"

    /// Signs a document: returns it with a `proof` member added (`type`, `cryptosuite`, `created`,
    /// `verificationMethod`, `proofPurpose`, the document's `@context` when it has one, as the specification's
    /// proof configuration does, and `proofValue`).
    /// - Parameters:
    ///   - document: the unsigned document (a credential); it must not already have a proof.
    ///   - key: the current hub key.
    ///   - verificationMethod: the key's verification method, `<did>#<kid>` (``DIDWeb/verificationMethod(for:)``).
    ///   - created: the signing time (written in UTC, whole seconds).
    /// - Returns: the signed document.
    /// - Throws: ``DataIntegrityError`` when the document already has a proof, the key is retired, or the document
    ///   cannot be canonicalized.
    public static func sign(
        document: JSONObject, with key: HubKey, verificationMethod: String, created: Date
    ) throws(DataIntegrityError) -> JSONObject {
        guard document["proof"] == nil else {
            throw DataIntegrityError(reason: "the document already has a proof; sign the unsigned document")
        }
        guard let privateKey = key.privateKey else {
            throw DataIntegrityError(reason: "the key \(key.id) is retired: only the current key signs")
        }
        var proof = JSONObject([
            ("type", .string(proofType)), ("cryptosuite", .string(cryptosuite)),
            ("created", .string(Timestamp.format(created))), ("verificationMethod", .string(verificationMethod)),
            ("proofPurpose", .string(proofPurpose)),
        ])
        if let context = document["@context"] { proof["@context"] = context }
        let data: [UInt8]
        do throws(JSONCanonicalizationError) {
            data = try hashData(document: document, proofConfiguration: proof)
        } catch {
            throw DataIntegrityError(reason: "the document cannot be canonicalized (RFC 8785): \(error.reason)")
        }
        let signature: Data
        do {
            signature = try privateKey.signature(for: data)
        } catch {
            throw DataIntegrityError(reason: "Ed25519 signing failed")
        }
        proof["proofValue"] = .string(Multibase.base58btc(signature))
        var secured = document
        secured["proof"] = .object(proof)
        return secured
    }

    /// Checks the proof of a signed document.
    /// - Parameters:
    ///   - secured: the signed document.
    ///   - keys: the public key of a verification method (`<did>#<kid>`), or `nil` when it is not known
    ///     (``DIDWeb/publicKey(for:in:)`` answers for the hub's own keys, current and retired).
    /// - Returns: the verdict, naming what failed in plain words.
    public static func verify(
        _ secured: JSONObject, keys: (String) -> Curve25519.Signing.PublicKey?
    ) -> DataIntegrityVerdict {
        guard let proofValue = secured["proof"] else { return .failed(.noProof, "the document has no proof") }
        guard case .object(let proof) = proofValue else {
            return .failed(
                .malformedProof,
                proofValue.arrayValue != nil
                    ? "the document has a set of proofs; exactly one proof is accepted" : "the proof is not an object")
        }
        guard proof["type"]?.stringValue == proofType else {
            return .failed(.wrongType, "the proof's type is \(shown(proof["type"])), not \(proofType)")
        }
        guard proof["cryptosuite"]?.stringValue == cryptosuite else {
            return .failed(
                .wrongCryptosuite, "the proof's cryptosuite is \(shown(proof["cryptosuite"])), not \(cryptosuite)")
        }
        guard proof["proofPurpose"]?.stringValue == proofPurpose else {
            return .failed(
                .wrongProofPurpose, "the proof's purpose is \(shown(proof["proofPurpose"])), not \(proofPurpose)")
        }
        guard let method = proof["verificationMethod"]?.stringValue, !method.isEmpty else {
            return .failed(.malformedProof, "the proof names no verification method")
        }
        if let created = proof["created"] {
            guard let text = created.stringValue, Timestamp.parse(text) != nil else {
                return .failed(.malformedProof, "the proof's created is not a date and time", method)
            }
        }
        if let context = proof["@context"], context != secured["@context"] {
            return .failed(.malformedProof, "the proof's @context is not the document's @context", method)
        }
        guard let value = proof["proofValue"]?.stringValue else {
            return .failed(.malformedProofValue, "the proof has no proofValue", method)
        }
        // base58btc of 64 bytes is at most 88 characters: anything much longer is refused before decoding.
        guard value.utf8.count <= 100, let signature = try? Multibase.decode(value, expecting: .base58btc) else {
            return .failed(.malformedProofValue, "the proofValue is not base58btc multibase (z…)", method)
        }
        guard signature.count == 64 else {
            return .failed(
                .malformedProofValue, "the proofValue holds \(signature.count) bytes, not a 64-byte Ed25519 signature",
                method)
        }
        guard let publicKey = keys(method) else {
            return .failed(
                .unknownVerificationMethod, "the verification method \(method) is not a key of this issuer", method)
        }
        var configuration = proof
        configuration["proofValue"] = nil
        configuration["@context"] = secured["@context"]
        var unsecured = secured
        unsecured["proof"] = nil
        let data: [UInt8]
        do throws(JSONCanonicalizationError) {
            data = try hashData(document: unsecured, proofConfiguration: configuration)
        } catch {
            return .failed(.notCanonicalizable, "the document cannot be canonicalized: \(error.reason)", method)
        }
        guard publicKey.isValidSignature(signature, for: data) else {
            return .failed(
                .signatureMismatch,
                "the signature does not match: the document or its proof changed after signing, or another key signed",
                method)
        }
        return DataIntegrityVerdict(
            failure: nil, reason: "the \(cryptosuite) proof by \(method) holds", verificationMethod: method)
    }

    /// What is signed: `SHA-256(JCS(proof configuration)) ‖ SHA-256(JCS(document))` (64 bytes).
    /// - Parameters:
    ///   - document: the document without its proof.
    ///   - proofConfiguration: the proof without `proofValue`, with the document's `@context`.
    /// - Returns: the 64 bytes.
    /// - Throws: ``JSONCanonicalizationError`` for a number JCS cannot write here.
    static func hashData(
        document: JSONObject, proofConfiguration: JSONObject
    ) throws(JSONCanonicalizationError) -> [UInt8] {
        let proofHash = SHA256.hash(data: try JSONValue.object(proofConfiguration).canonicalBytes())
        let documentHash = SHA256.hash(data: try JSONValue.object(document).canonicalBytes())
        return Array(proofHash) + Array(documentHash)
    }

    /// A member's value for an error message: its JSON (a string in quotes), cut at 80 bytes, or "missing".
    private static func shown(_ value: JSONValue?) -> String {
        guard let value else { return "missing" }
        return String(decoding: value.serialized.prefix(80), as: UTF8.self)
    }
}
