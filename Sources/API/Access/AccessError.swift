/// Why a request is refused: a public code, an HTTP status and plain words, for the RFC 9457 problem the server
/// returns. Each refusal has its own code; none says more than the caller may know (a failed client authentication
/// does not say whether the id or the secret was wrong).
public struct AccessError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The refusals.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// At the token endpoint: the client id and secret do not belong to an enabled client.
        case invalidClient = "invalid_client"
        /// No bearer access token came with the request.
        case missingToken = "missing_token"
        /// The token is malformed, not signed with the hub's token key (EdDSA), or altered.
        case invalidToken = "invalid_token"
        /// The token has expired.
        case expiredToken = "expired_token"
        /// The token was issued by another issuer, or for another audience.
        case wrongAudience = "token_not_for_this_api"
        /// The token names a client that is not registered.
        case unknownClient = "unknown_client"
        /// The token's client has been disabled.
        case clientDisabled = "client_disabled"
        /// The client may not ask this question (its scope is not granted).
        case scopeNotGranted = "scope_not_granted"
        /// The request states no purpose.
        case purposeMissing = "purpose_missing"
        /// The stated purpose is not one the client is registered with.
        case purposeNotRegistered = "purpose_not_registered"
    }

    /// The refusal.
    public let code: Code
    /// What happened, in plain words, for the caller (never secrets, never key material).
    public let detail: String
    /// The registered client the request's valid token named, when the refusal came after the token held (a
    /// disabled client, an out-of-scope question, a purpose missing or not registered); for the audit log.
    public var clientID: String?

    /// Creates a refusal with the usual words for its code.
    /// - Parameters:
    ///   - code: the refusal.
    ///   - detail: more precise words, or `nil` for the usual ones.
    public init(_ code: Code, detail: String? = nil) {
        self.code = code
        self.detail = detail ?? code.defaultDetail
    }

    /// The HTTP status: 401 when the credentials do not hold, 403 when they hold but do not allow this question, 400
    /// when the request lacks its purpose.
    public var status: Int {
        switch code {
        case .invalidClient, .missingToken, .invalidToken, .expiredToken, .wrongAudience, .unknownClient,
            .clientDisabled:
            401
        case .scopeNotGranted, .purposeNotRegistered: 403
        case .purposeMissing: 400
        }
    }

    /// A short title for the problem (the same for every occurrence of the code).
    public var title: String { code.title }

    /// The RFC 6750 `error` of the `WWW-Authenticate: Bearer` header, when one applies (`nil` for a missing token,
    /// which gets the header without an error, and at the token endpoint).
    public var bearerError: String? {
        switch code {
        case .invalidClient, .missingToken: nil
        case .invalidToken, .expiredToken, .wrongAudience, .unknownClient, .clientDisabled: "invalid_token"
        case .scopeNotGranted: "insufficient_scope"
        case .purposeMissing, .purposeNotRegistered: "invalid_request"
        }
    }

    /// `code: detail`.
    public var description: String { "\(code.rawValue): \(detail)" }
}

extension AccessError.Code {
    /// A short title.
    public var title: String {
        switch self {
        case .invalidClient: "Client authentication failed"
        case .missingToken: "Access token missing"
        case .invalidToken: "Access token invalid"
        case .expiredToken: "Access token expired"
        case .wrongAudience: "Access token not issued for this API"
        case .unknownClient: "Unknown client"
        case .clientDisabled: "Client disabled"
        case .scopeNotGranted: "Question not allowed"
        case .purposeMissing: "Purpose missing"
        case .purposeNotRegistered: "Purpose not registered"
        }
    }

    /// The usual words.
    var defaultDetail: String {
        switch self {
        case .invalidClient: "the client id and secret do not identify an enabled client"
        case .missingToken: "the request carries no access token: send Authorization: Bearer <token>"
        case .invalidToken: "the access token is malformed or its signature does not hold"
        case .expiredToken: "the access token has expired: get a new one from the token endpoint"
        case .wrongAudience: "the access token was issued by another issuer or for another audience"
        case .unknownClient: "the access token's client is not registered"
        case .clientDisabled: "the access token's client has been disabled"
        case .scopeNotGranted: "the client may not ask this question"
        case .purposeMissing: "the request states no purpose: send the Tongban-Purpose header"
        case .purposeNotRegistered: "the client is not registered for the stated purpose"
        }
    }
}
