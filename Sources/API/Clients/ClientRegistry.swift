import Crypto
import Events
import Foundation
public import Logging
public import Postgres

/// The certificate services registered to ask questions, in `tongban.api_client`: registering one (its secret shown
/// once), checking a client's id and secret, looking one up on each request, listing, disabling.
///
/// A secret is 32 random bytes in base64url. Only SHA-256 of a random 16-byte salt followed by the secret's text is
/// stored: the secret is long and random, so there is nothing to guess and a fast hash is right (a password would need
/// a slow one). Hashes are compared in constant time. Neither the secret nor its hash is ever logged.
///
/// ```swift
/// let registry = ClientRegistry(database: client, logger: logger)
/// let registration = try await registry.register(
///     name: "Pudong certificate office", scopes: [.kinship], purposes: ["kinship-certificate"])
/// // hand registration.secret to the service once; later, at the token endpoint:
/// let service = try await registry.authenticate(clientID: registration.client.id, secret: presented)
/// ```
public struct ClientRegistry: Sendable {
    /// The pool on the migrated database.
    public let database: PostgresClient
    private let logger: Logger

    /// The rate limit a client gets when none is given: questions per second.
    public static let defaultRequestsPerSecond = 10
    /// The largest rate limit a client may be given.
    public static let maxRequestsPerSecond = 100_000
    /// The longest name a client may be given, in characters.
    public static let maxNameLength = 200

    /// Creates the registry.
    /// - Parameters:
    ///   - database: the pool on the migrated database.
    ///   - logger: logs registrations, disablings and failed authentications (client ids, never secrets).
    public init(database: PostgresClient, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    /// A client just registered, with its secret: the only time the secret exists outside the client's hands.
    public struct Registration: Sendable, CustomStringConvertible {
        /// The client.
        public let client: APIClient
        /// The secret (32 random bytes, base64url): give it to the service once; it cannot be shown again.
        public let secret: String

        /// The client, with the secret left out (so that printing a registration never shows it).
        public var description: String { "Registration(client: \(client.id), secret: <redacted>)" }
    }

    /// Registers a client and makes its secret.
    /// - Parameters:
    ///   - name: who it is (1–200 characters, no control characters).
    ///   - scopes: the questions it may ask (at least one).
    ///   - purposes: the purposes it may state (at least one; each `[a-z0-9-]{1,64}`).
    ///   - requestsPerSecond: its rate limit (1–100,000).
    /// - Returns: the client and its secret.
    /// - Throws: ``APIClientError`` for a malformed name, purpose or rate, or no scope; `PostgresError`.
    public func register(
        name: String, scopes: [APIScope], purposes: [String], requestsPerSecond: Int = defaultRequestsPerSecond
    ) async throws -> Registration {
        try Self.validate(name: name, scopes: scopes, purposes: purposes, requestsPerSecond: requestsPerSecond)
        let id = "tbc_" + Base64URL.encode(RandomText.randomBytes(16))
        let secret = Base64URL.encode(RandomText.randomBytes(32))
        let salt = RandomText.randomBytes(16)
        let hash = Self.hash(secret: secret, salt: salt)
        let scopeNames = Array(Set(scopes)).sorted().map(\.rawValue)
        let purposeList = Array(Set(purposes)).sorted()
        let rows = try await database.query(
            """
            INSERT INTO tongban.api_client
                (client_id, name, secret_hash, secret_salt, scopes, purposes, requests_per_second)
            VALUES (\(id), \(name), \(hash), \(salt), \(scopeNames)::text[], \(purposeList)::text[], \
            \(Int64(requestsPerSecond))::int4)
            RETURNING \(unescaped: Self.columns)
            """)
        let client = try Self.client(rows[0])
        logger.notice(
            "registered API client",
            metadata: [
                "api.client": "\(client.id)", "api.client_name": "\(APIClientError.printable(client.name))",
                "api.scopes": "\(scopeNames.joined(separator: " "))",
                "api.purposes": "\(purposeList.joined(separator: " "))",
                "api.requests_per_second": "\(requestsPerSecond)",
            ])
        return Registration(client: client, secret: secret)
    }

    /// Checks a client's id and secret (the OAuth 2.0 client credentials).
    ///
    /// An unknown id, a wrong secret and a disabled client are refused alike (``AccessError/Code/invalidClient``),
    /// and take about as long: the caller learns nothing about which.
    /// - Parameters:
    ///   - clientID: the client id presented.
    ///   - secret: the secret presented.
    /// - Returns: the client.
    /// - Throws: ``AccessError`` `.invalidClient`; `PostgresError`.
    public func authenticate(clientID: String, secret: String) async throws -> APIClient {
        let found = Self.isPlausibleID(clientID) ? try await record(clientID) : nil
        // Hash and compare even for an unknown client, so that timing does not tell which ids exist.
        let salt = found?.salt ?? Self.decoySalt
        let expected = found?.hash ?? Self.decoyHash
        let matches = Self.constantTimeEqual(Self.hash(secret: secret, salt: salt), expected)
        guard let found, matches, !found.client.isDisabled else {
            let why = found == nil ? "unknown client id" : matches ? "client disabled" : "wrong secret"
            logger.notice(
                "API client authentication refused",
                metadata: ["api.client": "\(APIClientError.printable(clientID))", "api.reason": "\(why)"])
            throw AccessError(.invalidClient)
        }
        return found.client
    }

    /// The client with this id, disabled or not.
    /// - Parameter id: the client id.
    /// - Returns: the client, or `nil` when none has this id.
    /// - Throws: `PostgresError`.
    public func client(id: String) async throws -> APIClient? {
        guard Self.isPlausibleID(id) else { return nil }
        return try await record(id)?.client
    }

    /// Every registered client, disabled ones too, oldest first.
    /// - Returns: the clients.
    /// - Throws: `PostgresError`.
    public func list() async throws -> [APIClient] {
        try await database.query(
            "SELECT \(unescaped: Self.columns) FROM tongban.api_client ORDER BY created_at, client_id"
        ).map(Self.client)
    }

    /// Disables a client: it is refused from its next request, and cannot get tokens any more. Disabling a client
    /// already disabled changes nothing (it keeps the first time).
    /// - Parameter clientID: the client id.
    /// - Returns: the client, disabled.
    /// - Throws: ``APIClientError`` `.unknownClient`; `PostgresError`.
    @discardableResult
    public func disable(clientID: String) async throws -> APIClient {
        var row: PostgresRow?
        if Self.isPlausibleID(clientID) {
            row = try await database.query(
                """
                UPDATE tongban.api_client SET disabled_at = coalesce(disabled_at, now()) WHERE client_id = \(clientID)
                RETURNING \(unescaped: Self.columns)
                """
            ).first
        }
        guard let row else {
            throw APIClientError(
                .unknownClient, "no API client has the id \"\(APIClientError.printable(clientID))\"")
        }
        let client = try Self.client(row)
        logger.notice("disabled API client", metadata: ["api.client": "\(client.id)"])
        return client
    }

    // MARK: - Checks and hashing

    /// Checks what a client would be registered with, changing nothing (``register(name:scopes:purposes:requestsPerSecond:)``
    /// checks the same).
    /// - Parameters:
    ///   - name: who it is.
    ///   - scopes: the questions it may ask.
    ///   - purposes: the purposes it may state.
    ///   - requestsPerSecond: its rate limit.
    /// - Throws: ``APIClientError`` saying what is wrong.
    public static func validate(
        name: String, scopes: [APIScope], purposes: [String], requestsPerSecond: Int
    ) throws(APIClientError) {
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, name.count <= maxNameLength, trimmed == name,
            !name.unicodeScalars.contains(where: {
                $0.properties.generalCategory == .control || $0.properties.generalCategory == .format
            })
        else {
            throw APIClientError(
                .invalidName,
                "a client's name is 1–\(maxNameLength) characters, without control characters or surrounding spaces")
        }
        guard !scopes.isEmpty else {
            throw APIClientError(
                .unknownScope,
                "give the client at least one scope: " + APIScope.allCases.map(\.rawValue).joined(separator: ", "))
        }
        guard !purposes.isEmpty else {
            throw APIClientError(
                .invalidPurpose, "give the client at least one purpose it may state (e.g. kinship-certificate)")
        }
        for purpose in purposes where !APIClient.isWellFormedPurpose(purpose) {
            throw APIClientError(
                .invalidPurpose,
                "purpose \"\(APIClientError.printable(purpose))\" is not 1–64 of a-z, 0-9 and - "
                    + "(e.g. kinship-certificate)")
        }
        guard (1...maxRequestsPerSecond).contains(requestsPerSecond) else {
            throw APIClientError(
                .invalidRateLimit, "the rate limit is 1–\(maxRequestsPerSecond) requests per second")
        }
    }

    /// SHA-256 of the salt followed by the secret's UTF-8 text.
    static func hash(secret: String, salt: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: salt)
        hasher.update(data: Array(secret.utf8))
        return Array(hasher.finalize())
    }

    /// Whether two byte strings are equal, taking the same time wherever they differ.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in a.indices { difference |= a[i] ^ b[i] }
        return difference == 0
    }

    /// What an unknown client's secret is compared with (no secret hashes to it).
    private static let decoySalt = [UInt8](repeating: 0, count: 16)
    private static let decoyHash = [UInt8](repeating: 0, count: 32)

    /// Whether a text could be a client id at all (others are not looked up).
    private static func isPlausibleID(_ id: String) -> Bool { APIClient.isWellFormedID(id) }

    // MARK: - Rows

    private static let columns =
        "client_id, name, scopes, purposes, requests_per_second, created_at, disabled_at, secret_hash, secret_salt"

    private func record(_ id: String) async throws -> (client: APIClient, hash: [UInt8], salt: [UInt8])? {
        let rows = try await database.query(
            "SELECT \(unescaped: Self.columns) FROM tongban.api_client WHERE client_id = \(id)")
        guard let row = rows.first else { return nil }
        return (try Self.client(row), try row.decode([UInt8].self, at: 7), try row.decode([UInt8].self, at: 8))
    }

    private static func client(_ row: PostgresRow) throws -> APIClient {
        APIClient(
            id: try row.decode(String.self, at: 0), name: try row.decode(String.self, at: 1),
            // A scope a later build added is not one this build can grant.
            scopes: try row.decode([String].self, at: 2).compactMap(APIScope.init(rawValue:)),
            purposes: try row.decode([String].self, at: 3), requestsPerSecond: try row.decode(Int.self, at: 4),
            createdAt: try row.decode(Date.self, at: 5), disabledAt: try row.decode(Date?.self, at: 6))
    }
}
