/// Why a citizen's bearer token is refused: a public code, the HTTP status (always 401) and plain words, for the
/// RFC 9457 problem the server returns. The words never repeat the token or anything it claims.
public struct CitizenTokenError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The refusals.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// No bearer token came with the request.
        case missingToken = "missing-token"
        /// The token is malformed, unsigned, signed with an algorithm or a key the issuer's key set does not hold,
        /// altered, not an ID token, issued in the future, or not valid yet.
        case invalidToken = "invalid-token"
        /// The token has expired.
        case tokenExpired = "token-expired"
        /// The token was issued by another issuer than the one configured.
        case wrongIssuer = "wrong-issuer"
        /// The token was issued for another audience (another application of the issuer).
        case wrongAudience = "wrong-audience"
        /// The token's subject (`sub`) is not a valid citizen ID.
        case invalidSubject = "invalid-subject"
    }

    /// The refusal.
    public let code: Code
    /// What happened, in plain words (never the token, never key material).
    public let detail: String

    /// Creates a refusal with the usual words for its code.
    /// - Parameters:
    ///   - code: the refusal.
    ///   - detail: more precise words, or `nil` for the usual ones.
    public init(_ code: Code, detail: String? = nil) {
        self.code = code
        self.detail = detail ?? code.defaultDetail
    }

    /// The HTTP status: 401 for every refusal (the credentials do not hold).
    public var status: Int { 401 }

    /// A short title for the problem (the same for every occurrence of the code).
    public var title: String { code.title }

    /// `code: detail`.
    public var description: String { "\(code.rawValue): \(detail)" }
}

extension CitizenTokenError.Code {
    /// A short title.
    public var title: String {
        switch self {
        case .missingToken: "Citizen token missing"
        case .invalidToken: "Citizen token invalid"
        case .tokenExpired: "Citizen token expired"
        case .wrongIssuer: "Citizen token from another issuer"
        case .wrongAudience: "Citizen token for another audience"
        case .invalidSubject: "Citizen token names no citizen"
        }
    }

    /// The usual words.
    var defaultDetail: String {
        switch self {
        case .missingToken: "the request carries no citizen token: send Authorization: Bearer <ID token>"
        case .invalidToken: "the citizen token is malformed or its signature does not hold"
        case .tokenExpired: "the citizen token has expired: sign in again"
        case .wrongIssuer: "the citizen token was not issued by the sign-in service this server trusts"
        case .wrongAudience: "the citizen token was issued for another application"
        case .invalidSubject: "the citizen token's subject (sub) is not a valid citizen ID"
        }
    }
}

/// Why a citizen sign-in key set (a JWKS file) or issuer cannot be used, in plain words (never with key material).
public struct CitizenKeySetError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The explanation.
    public let reason: String

    /// Creates an error.
    /// - Parameter reason: the explanation.
    public init(_ reason: String) { self.reason = reason }

    /// The explanation.
    public var description: String { reason }
}
