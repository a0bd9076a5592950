import API
import Crypto
import Foundation
import Synchronization
import Testing
import TongbanTesting

@Suite("API access tokens", .sharedMachine)
struct TokenTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    static func client(scopes: [APIScope] = [.kinship, .property]) -> APIClient {
        APIClient(
            id: "tbc_" + String(repeating: "A", count: 22), name: "test office", scopes: scopes,
            purposes: ["kinship-certificate"], requestsPerSecond: 5, createdAt: start)
    }

    @Test("a token round-trips: EdDSA, the hub's kid, typ at+jwt, the claims; a subset of scopes may be asked for")
    func roundTrip() async throws {
        let key = try TokenSigningKey.generate(keyID: "tongban-hub/test-1")
        let clock = TestClock(Self.start)
        let issuer = await AccessTokenIssuer(key: key, now: clock.read)
        let verifier = await AccessTokenVerifier(key: key.publicKey, now: clock.read)
        let token = try await issuer.issue(for: Self.client())
        #expect(token.expiresIn == 300 && token.tokenType == "Bearer" && token.scope == "kinship property")
        #expect(!"\(token)".contains(token.token), "printing a token never shows it")

        let grant = try await verifier.verify(token.token)
        #expect(grant.clientID == Self.client().id)
        #expect(grant.scopes == [.kinship, .property])
        #expect(grant.tokenID == token.tokenID && grant.expiresAt == Self.start.addingTimeInterval(300))

        let (header, claims) = try JWT.parts(token.token)
        #expect(header["alg"] as? String == "EdDSA")
        #expect(header["kid"] as? String == "tongban-hub/test-1")
        #expect(header["typ"] as? String == "at+jwt")
        #expect(claims["iss"] as? String == "tongban")
        #expect(claims["aud"] as? String == "tongban-api")
        #expect(claims["sub"] as? String == Self.client().id)
        #expect(claims["client_id"] as? String == Self.client().id)
        #expect(claims["iat"] as? Int == 1_800_000_000)
        #expect(claims["exp"] as? Int == 1_800_000_300)
        #expect((claims["jti"] as? String)?.count == 22)
        #expect(claims["scope"] as? String == "kinship property")

        let narrowed = try await issuer.issue(for: Self.client(), scopes: [.property])
        #expect(try await verifier.verify(narrowed.token).scopes == [.property])
        await #expect {
            try await issuer.issue(for: Self.client(), scopes: [.prefill])
        } throws: { ($0 as? AccessError)?.code == .scopeNotGranted }
        var disabled = Self.client()
        disabled.disabledAt = Self.start
        await #expect {
            try await issuer.issue(for: disabled)
        } throws: { ($0 as? AccessError)?.code == .invalidClient }
    }

    @Test(
        "refused with the right code: expired, another key, another issuer or audience, alg none, HS256, one byte changed"
    )
    func refusals() async throws {
        let key = try TokenSigningKey.generate(keyID: "tongban-hub/test-1")
        let clock = TestClock(Self.start)
        let issuer = await AccessTokenIssuer(key: key, now: clock.read)
        let verifier = await AccessTokenVerifier(key: key.publicKey, now: clock.read)
        let token = try await issuer.issue(for: Self.client()).token

        func code(_ token: String, _ verifier: AccessTokenVerifier) async -> AccessError.Code? {
            do {
                _ = try await verifier.verify(token)
                return nil
            } catch {
                return error.code
            }
        }

        // Expired: past exp plus the 10-second leeway; within the leeway it still holds.
        clock.set(Self.start.addingTimeInterval(309))
        #expect(await code(token, verifier) == nil)
        clock.set(Self.start.addingTimeInterval(311))
        #expect(await code(token, verifier) == .expiredToken)
        // Issued in the future (beyond the leeway).
        clock.set(Self.start.addingTimeInterval(-60))
        #expect(await code(token, verifier) == .invalidToken)
        clock.set(Self.start)

        // Another key, with the same kid or another.
        let impostor = try TokenSigningKey.generate(keyID: "tongban-hub/test-1")
        let forged = try await AccessTokenIssuer(key: impostor, now: clock.read).issue(for: Self.client()).token
        #expect(await code(forged, verifier) == .invalidToken)
        let other = try TokenSigningKey.generate(keyID: "tongban-hub/other")
        let otherToken = try await AccessTokenIssuer(key: other, now: clock.read).issue(for: Self.client()).token
        #expect(await code(otherToken, verifier) == .invalidToken)

        // Another issuer, another audience: the right key, but not for this API.
        let foreignIssuer = try await AccessTokenIssuer(key: key, issuer: "elsewhere", now: clock.read)
            .issue(for: Self.client()).token
        #expect(await code(foreignIssuer, verifier) == .wrongAudience)
        let foreignAudience = try await AccessTokenIssuer(key: key, audience: "other-api", now: clock.read)
            .issue(for: Self.client()).token
        #expect(await code(foreignAudience, verifier) == .wrongAudience)
        let strictVerifier = await AccessTokenVerifier(key: key.publicKey, issuer: "tongban-2", now: clock.read)
        #expect(await code(token, strictVerifier) == .wrongAudience)

        // alg none and HS256 (keyed with the public key, the classic confusion), with the real claims and kid.
        let segments = token.split(separator: ".").map(String.init)
        let none = JWT.encode(["alg": "none", "typ": "at+jwt", "kid": key.keyID]) + "." + segments[1] + "."
        #expect(await code(none, verifier) == .invalidToken)
        let hsHeader = JWT.encode(["alg": "HS256", "typ": "at+jwt", "kid": key.keyID]) + "." + segments[1]
        let mac = HMAC<SHA256>.authenticationCode(
            for: Array(hsHeader.utf8), using: SymmetricKey(data: try #require(JWT.decode(key.publicKey.x))))
        #expect(await code(hsHeader + "." + JWT.base64URL(Array(mac)), verifier) == .invalidToken)
        // Another type of JWT signed with the same key is not an access token.
        let plainJWT =
            JWT.encode(["alg": "EdDSA", "typ": "JWT", "kid": key.keyID]) + "." + segments[1] + "." + segments[2]
        #expect(await code(plainJWT, verifier) == .invalidToken)

        // One byte changed: in the claims, in the signature.
        var claims = try #require(JWT.decode(segments[1]))
        let at = try #require(claims.firstIndex(of: UInt8(ascii: "k")))  // in "kinship"
        claims[at] = UInt8(ascii: "K")
        #expect(
            await code([segments[0], JWT.base64URL(claims), segments[2]].joined(separator: "."), verifier)
                == .invalidToken)
        var signature = try #require(JWT.decode(segments[2]))
        signature[10] ^= 0x01
        #expect(
            await code([segments[0], segments[1], JWT.base64URL(signature)].joined(separator: "."), verifier)
                == .invalidToken)

        // Not a token at all; none at all.
        for garbage in ["abc", "a.b.c", "a.b", token + ".x", String(repeating: "x", count: 9000)] {
            #expect(await code(garbage, verifier) == .invalidToken, "\(garbage.prefix(20))")
        }
        #expect(await code("", verifier) == .missingToken)
        #expect(await code(token, verifier) == nil, "the original still holds")
    }

    @Test("the token key: private and public JWKs read back; a public JWK, a mismatched x or another curve is refused")
    func keyFiles() throws {
        let key = try TokenSigningKey.generate(keyID: "tongban-hub/2026-01")
        let loaded = try TokenSigningKey.load(jwk: Array(key.privateJWK.utf8))
        #expect(loaded.keyID == key.keyID && loaded.publicKey.x == key.publicKey.x)
        let publicKey = try TokenPublicKey.load(jwk: Array(key.publicKey.publicJWK.utf8))
        #expect(publicKey.keyID == key.keyID && publicKey.x == key.publicKey.x)
        #expect(throws: TokenKeyError.self) { try TokenSigningKey.load(jwk: Array(key.publicKey.publicJWK.utf8)) }
        let other = try TokenSigningKey.generate(keyID: "tongban-hub/2026-01")
        let mismatched = key.privateJWK.replacingOccurrences(of: key.publicKey.x, with: other.publicKey.x)
        #expect(throws: TokenKeyError.self) { try TokenSigningKey.load(jwk: Array(mismatched.utf8)) }
        #expect(throws: TokenKeyError.self) {
            try TokenSigningKey.load(
                jwk: Array(key.privateJWK.replacingOccurrences(of: "Ed25519", with: "X25519").utf8))
        }
        #expect(throws: TokenKeyError.self) { try TokenSigningKey.generate(keyID: "bad key id") }
        #expect(TokenSigningKey.generateForDevelopment().keyID.hasPrefix("tongban-hub/dev-only-"))
    }

    @Test("the rate limiter answers retry-after past the rate, and allows again once the bucket refills")
    func rateLimiter() {
        let limiter = RateLimiter()
        let t0 = ContinuousClock.now
        for _ in 0..<5 { #expect(limiter.check(clientID: "a", requestsPerSecond: 5, now: t0) == .allowed) }
        let refused = limiter.check(clientID: "a", requestsPerSecond: 5, now: t0)
        #expect(refused == .retryAfter(.milliseconds(200)))
        #expect(refused.retryAfterSeconds == 1 && !refused.isAllowed)
        // Another client has its own bucket.
        #expect(limiter.check(clientID: "b", requestsPerSecond: 5, now: t0).isAllowed)
        // 100 ms later half a request has come back; 200 ms later one.
        #expect(
            limiter.check(clientID: "a", requestsPerSecond: 5, now: t0 + .milliseconds(100))
                == .retryAfter(.milliseconds(100)))
        #expect(limiter.check(clientID: "a", requestsPerSecond: 5, now: t0 + .milliseconds(200)).isAllowed)
        #expect(!limiter.check(clientID: "a", requestsPerSecond: 5, now: t0 + .milliseconds(200)).isAllowed)
        // A long pause refills up to the burst, not beyond.
        let later = t0 + .seconds(60)
        for _ in 0..<5 { #expect(limiter.check(clientID: "a", requestsPerSecond: 5, now: later).isAllowed) }
        #expect(!limiter.check(clientID: "a", requestsPerSecond: 5, now: later).isAllowed)
        // A burst larger than the rate; a rate of 1 gives a wait of a second.
        for _ in 0..<3 { #expect(limiter.check(clientID: "c", requestsPerSecond: 1, burst: 3, now: t0).isAllowed) }
        #expect(limiter.check(clientID: "c", requestsPerSecond: 1, burst: 3, now: t0) == .retryAfter(.seconds(1)))
        #expect(RateLimiter.seconds(.milliseconds(1)) == 1 && RateLimiter.seconds(.milliseconds(1500)) == 2)
    }

    @Test("the rate limiter forgets refilled buckets: a key per citizen does not grow memory without bound")
    func rateLimiterForgetsRefilledBuckets() {
        let limiter = RateLimiter()
        let t0 = ContinuousClock.now
        // 5,000 citizens ask once each within a second (rate 2/s, burst 10): each bucket is one short of full.
        for citizen in 0..<5_000 {
            #expect(limiter.check(clientID: "citizen:\(citizen)", requestsPerSecond: 2, burst: 10, now: t0).isAllowed)
        }
        // A second later every one of them has refilled: the next sweep (once the buckets have doubled since the
        // last, at 8,192) drops them all, whoever asks.
        let later = t0 + .seconds(1)
        for citizen in 0..<3_300 {
            #expect(limiter.check(clientID: "later:\(citizen)", requestsPerSecond: 2, burst: 10, now: later).isAllowed)
        }
        #expect(limiter.trackedKeys == 3_300, "\(limiter.trackedKeys) buckets kept")
        // A bucket still short of full is kept: its client is refused as before.
        for _ in 0..<10 { _ = limiter.check(clientID: "busy", requestsPerSecond: 2, burst: 10, now: later) }
        for citizen in 0..<5_000 {
            _ = limiter.check(clientID: "again:\(citizen)", requestsPerSecond: 2, burst: 10, now: later)
        }
        #expect(!limiter.check(clientID: "busy", requestsPerSecond: 2, burst: 10, now: later).isAllowed)
    }

    @Test("an unknown scope is refused, naming the scopes that exist")
    func scopes() throws {
        #expect(try APIScope.parse("social-insurance") == .socialInsurance)
        #expect(try APIScope.parseList("kinship  property kinship") == [.kinship, .property])
        #expect {
            try APIScope.parse("everything")
        } throws: { error in
            let error = error as? APIClientError
            return error?.kind == .unknownScope
                && error?.reason == "unknown scope \"everything\": the scopes are kinship, social-insurance, "
                    + "property, medical-insurance, prefill, certificates"
        }
    }
}

/// A clock tests set by hand.
final class TestClock: Sendable {
    private let now: Mutex<Date>
    init(_ start: Date) { now = Mutex(start) }
    func set(_ date: Date) { now.withLock { $0 = date } }
    var read: @Sendable () -> Date { { [self] in now.withLock { $0 } } }
}

/// Reading and forging JWTs by hand.
enum JWT {
    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ text: String) -> [UInt8]? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: base64).map(Array.init)
    }

    static func encode(_ object: [String: String]) -> String {
        base64URL(Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()))
    }

    static func parts(_ token: String) throws -> (header: [String: Any], claims: [String: Any]) {
        let segments = token.split(separator: ".").map(String.init)
        try #require(segments.count == 3)
        let header = try JSONSerialization.jsonObject(with: Data(try #require(decode(segments[0]))))
        let claims = try JSONSerialization.jsonObject(with: Data(try #require(decode(segments[1]))))
        return (try #require(header as? [String: Any]), try #require(claims as? [String: Any]))
    }
}
