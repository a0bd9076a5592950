import Foundation

/// Decides, for one request, whether it may be answered: the access token holds, its client is registered and not
/// disabled now, the question's scope is granted, and the stated purpose is one of the client's.
///
/// The client is looked up on every request (by its primary key), so a client an operator disables is refused from
/// its next request, whatever tokens it still holds.
///
/// ```swift
/// let authorizer = Authorizer(verifier: verifier, registry: registry)
/// let access = try await authorizer.authorize(
///     authorization: request.headers["Authorization"], scope: .kinship, purpose: request.headers["Tongban-Purpose"])
/// ```
public struct Authorizer: Sendable {
    /// The token verifier.
    public let verifier: AccessTokenVerifier
    /// The registered clients.
    public let registry: ClientRegistry

    /// Creates an authorizer.
    /// - Parameters:
    ///   - verifier: checks the access tokens.
    ///   - registry: where the clients are looked up.
    public init(verifier: AccessTokenVerifier, registry: ClientRegistry) {
        self.verifier = verifier
        self.registry = registry
    }

    /// What an authorized request may do: who asks, with which token, and why.
    public struct Access: Sendable, Hashable {
        /// The client, as registered now.
        public let client: APIClient
        /// What its token grants.
        public let grant: AccessGrant
        /// The purpose it stated, one of the client's.
        public let purpose: String
    }

    /// Checks a request.
    /// - Parameters:
    ///   - authorization: the `Authorization` header's value (`Bearer <token>`), or `nil` when there is none.
    ///   - scope: the scope of the question asked.
    ///   - purpose: the `Tongban-Purpose` header's value, or `nil` when there is none.
    /// - Returns: the access.
    /// - Throws: ``AccessError``, the first refusal in this order: the token (missing, invalid, wrong audience,
    ///   expired), the client (unknown, disabled), the scope, the purpose (missing, not registered); `PostgresError`
    ///   when the client cannot be looked up.
    public func authorize(authorization: String?, scope: APIScope, purpose: String?) async throws -> Access {
        let grant = try await verifier.verify(try Self.bearerToken(authorization))
        guard let client = try await registry.client(id: grant.clientID) else { throw AccessError(.unknownClient) }
        do {
            return try Self.admit(client: client, grant: grant, scope: scope, purpose: purpose)
        } catch var error {
            error.clientID = client.id
            throw error
        }
    }

    private static func admit(
        client: APIClient, grant: AccessGrant, scope: APIScope, purpose: String?
    ) throws(AccessError) -> Access {
        guard !client.isDisabled else { throw AccessError(.clientDisabled) }
        guard grant.scopes.contains(scope), client.scopes.contains(scope) else {
            throw AccessError(
                .scopeNotGranted, detail: "the client may not ask questions of the scope \(scope.rawValue)")
        }
        guard let purpose = purpose?.trimmingCharacters(in: .whitespaces), !purpose.isEmpty else {
            throw AccessError(.purposeMissing)
        }
        guard client.purposes.contains(purpose) else {
            throw AccessError(
                .purposeNotRegistered,
                detail: APIClient.isWellFormedPurpose(purpose)
                    ? "the client is not registered for the purpose \(purpose)"
                    : "the stated purpose is not an identifier of a-z, 0-9 and - (at most 64)")
        }
        return Access(client: client, grant: grant, purpose: purpose)
    }

    /// The token of an `Authorization: Bearer <token>` header (the scheme in any case, RFC 6750).
    /// - Parameter authorization: the header's value.
    /// - Returns: the token.
    /// - Throws: ``AccessError`` `.missingToken` when there is no bearer token.
    public static func bearerToken(_ authorization: String?) throws(AccessError) -> String {
        guard let authorization else { throw AccessError(.missingToken) }
        let trimmed = authorization.trimmingCharacters(in: .whitespaces)
        guard trimmed.count > 7, trimmed.prefix(7).lowercased() == "bearer " else { throw AccessError(.missingToken) }
        let token = trimmed.dropFirst(7).trimmingCharacters(in: .whitespaces)
        guard !token.isEmpty else { throw AccessError(.missingToken) }
        return token
    }
}
