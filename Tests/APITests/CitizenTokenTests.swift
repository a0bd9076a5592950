import API
import Foundation
import Testing
import TongbanTesting

/// Citizens' ID tokens: what ``CitizenTokenVerifier`` accepts and what it refuses, each refusal with its code; which
/// key sets it loads; and tokens PyJWT signs with Ed25519, P-256 and RSA keys it generates itself.
@Suite("#19 citizens' ID tokens", .sharedMachine)
struct CitizenTokenTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)
    static let citizen = CitizenTokenTests.citizenID("11010119900307123")
    static let issuer = DevelopmentCitizenIssuer.issuerURL

    /// A valid citizen ID from 17 digits, with the GB 11643 check character computed here (not by the code tested).
    static func citizenID(_ digits: String) -> String {
        let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
        let sum = zip(digits.compactMap(\.wholeNumberValue), weights).reduce(0) { $0 + $1.0 * $1.1 }
        return digits + String(Array("10X98765432")[sum % 11])
    }

    /// The code a verification is refused with, or `nil` when the token holds.
    static func refusal(_ verifier: CitizenTokenVerifier, _ token: String) async -> CitizenTokenError.Code? {
        do throws(CitizenTokenError) {
            _ = try await verifier.verify(token)
            return nil
        } catch {
            return error.code
        }
    }

    @Test("a token of the issuer holds; expired, early, foreign, unsigned, altered and mistyped tokens are refused")
    func verifies() async throws {
        let login = DevelopmentCitizenIssuer()
        let clock = TestClock(Self.start)
        let verifier = try await CitizenTokenVerifier(
            jwks: Array(login.jwks.utf8), issuer: Self.issuer, now: clock.read)
        #expect(verifier.audience == "tongban" && verifier.keyAlgorithms == [login.keyID: "EdDSA"])
        let token = try await login.mint(citizenID: Self.citizen, issuedAt: Self.start, lifetime: .seconds(600))
        let identity = try await verifier.verify(token)
        #expect(identity.citizenID == Self.citizen && identity.keyID == login.keyID)
        #expect(identity.expiresAt == Self.start.addingTimeInterval(600))
        #expect(try await verifier.verify(authorization: "bearer  \(token) ").citizenID == Self.citizen)
        let (header, claims) = try JWT.parts(token)
        #expect(header["alg"] as? String == "EdDSA" && header["typ"] as? String == "JWT")
        #expect(claims["iss"] as? String == Self.issuer && claims["sub"] as? String == Self.citizen)

        // No token.
        for authorization in [nil, "", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer"] as [String?] {
            await #expect {
                try await verifier.verify(authorization: authorization)
            } throws: { ($0 as? CitizenTokenError)?.code == .missingToken }
        }
        // The clock: 30 s of leeway on exp and iat, not more.
        clock.set(Self.start.addingTimeInterval(600 + 29))
        #expect(await Self.refusal(verifier, token) == nil)
        clock.set(Self.start.addingTimeInterval(600 + 31))
        #expect(await Self.refusal(verifier, token) == .tokenExpired)
        clock.set(Self.start)
        let early = try await login.mint(citizenID: Self.citizen, issuedAt: Self.start.addingTimeInterval(120))
        #expect(await Self.refusal(verifier, early) == .invalidToken)
        let nearlyNow = try await login.mint(citizenID: Self.citizen, issuedAt: Self.start.addingTimeInterval(20))
        #expect(await Self.refusal(verifier, nearlyNow) == nil)

        // Another issuer, another audience, a subject that is not a citizen ID.
        let foreign = try await login.mint(
            citizenID: Self.citizen, issuer: "https://login.elsewhere.example", issuedAt: Self.start)
        #expect(await Self.refusal(verifier, foreign) == .wrongIssuer)
        let otherApp = try await login.mint(citizenID: Self.citizen, audience: "other-app", issuedAt: Self.start)
        #expect(await Self.refusal(verifier, otherApp) == .wrongAudience)
        for subject in ["110101199001019991", "alice", "11010119901301123X", ""] {
            let token = try await login.mint(citizenID: subject, issuedAt: Self.start)
            #expect(await Self.refusal(verifier, token) == .invalidSubject, "\(subject)")
        }

        // Another key: unknown kid, or this issuer's kid on another key's signature.
        let impostor = DevelopmentCitizenIssuer()
        let unknownKey = try await impostor.mint(citizenID: Self.citizen, issuedAt: Self.start)
        #expect(await Self.refusal(verifier, unknownKey) == .invalidToken)
        let segments = unknownKey.split(separator: ".").map(String.init)
        let borrowedKid = JWT.encode(["alg": "EdDSA", "typ": "JWT", "kid": login.keyID])
        let forged = [borrowedKid, segments[1], segments[2]].joined(separator: ".")
        await #expect {
            try await verifier.verify(forged)
        } throws: { ($0 as? CitizenTokenError)?.detail.contains("signature") == true }

        // Unsigned, another algorithm, an altered claim, a critical extension, a certificate service's access token.
        let own = token.split(separator: ".").map(String.init)
        let none = [JWT.encode(["alg": "none", "typ": "JWT"]), own[1], ""].joined(separator: ".")
        let hmac = [JWT.encode(["alg": "HS256", "kid": login.keyID]), own[1], own[2]].joined(separator: ".")
        var payload = try #require(JWT.decode(own[1]))
        let digit = try #require(payload.lastIndex(of: UInt8(ascii: "7")))
        payload[digit] = UInt8(ascii: "8")
        let altered = [own[0], JWT.base64URL(payload), own[2]].joined(separator: ".")
        let criticalHeader = #"{"alg":"EdDSA","kid":"\#(login.keyID)","crit":["exp"],"exp":1}"#
        let critical = [JWT.base64URL(Array(criticalHeader.utf8)), own[1], own[2]].joined(separator: ".")
        let hubKey = try TokenSigningKey.generate(keyID: login.keyID)
        let client = APIClient(
            id: "tbc_" + String(repeating: "C", count: 22), name: "portal", scopes: [.kinship], purposes: ["p"],
            requestsPerSecond: 1, createdAt: Self.start)
        let accessToken = try await AccessTokenIssuer(key: hubKey, now: clock.read).issue(for: client).token
        for (name, bad) in [
            ("none", none), ("HS256", hmac), ("altered", altered), ("crit", critical), ("access token", accessToken),
            ("garbage", "not.a.token"), ("two parts", "a.b"), ("long", String(repeating: "a", count: 9000)),
        ] {
            #expect(await Self.refusal(verifier, bad) == .invalidToken, "\(name)")
        }
        await #expect {
            try await verifier.verify(accessToken)
        } throws: { ($0 as? CitizenTokenError)?.detail.contains("access token") == true }
        #expect(!"\(CitizenTokenError(.invalidToken))".contains(token), "a refusal never repeats the token")
        #expect(CitizenTokenError.Code.allCases.allSatisfy { CitizenTokenError($0).status == 401 })
    }

    @Test("a key set with private, secret, weak, mismatched or duplicate keys is refused; encryption keys are skipped")
    func keySets() async throws {
        let login = DevelopmentCitizenIssuer()
        let key = try #require(
            try JSONSerialization.jsonObject(with: Data(login.jwks.utf8)) as? [String: [[String: String]]])["keys"]![0]
        func set(_ keys: [[String: String]]) -> [UInt8] {
            Array(try! JSONSerialization.data(withJSONObject: ["keys": keys]))
        }
        func refused(_ bytes: [UInt8], issuer: String = Self.issuer) async -> String? {
            do throws(CitizenKeySetError) {
                _ = try await CitizenTokenVerifier(jwks: bytes, issuer: issuer)
                return nil
            } catch {
                return error.reason
            }
        }
        var privateKey = key
        privateKey["d"] = "AAAA"
        var anonymous = key
        anonymous["kid"] = nil
        var other = key
        other["kid"] = "second"
        var encryption = key
        encryption["use"] = "enc"
        var mismatched = key
        mismatched["alg"] = "ES256"
        let cases: [(String, [UInt8], String)] = [
            ("not JSON", Array("keys".utf8), "not a JWKS"),
            ("no keys", set([]), "no signature key"),
            ("only an encryption key", set([encryption]), "no signature key"),
            ("private", set([privateKey]), "private or secret"),
            ("symmetric", set([["kty": "oct", "kid": "s", "k": "c2VjcmV0"]]), "private or secret"),
            ("unknown type", set([["kty": "XYZ", "kid": "x"]]), "key type XYZ"),
            ("Ed448", set([["kty": "OKP", "crv": "Ed448", "kid": "e", "x": "AAAA"]]), "only Ed25519"),
            (
                "weak RSA",
                set([
                    [
                        "kty": "RSA", "kid": "r", "n": JWT.base64URL(Array(repeating: 0xC1, count: 128)),
                        "e": "AQAB",
                    ]
                ]), "2048 bits"
            ),
            ("mismatched alg", set([mismatched]), "does not suit"),
            ("duplicate kid", set([key, key]), "two keys"),
            ("several keys, one without kid", set([anonymous, other]), "each needs one"),
            ("broken key", set([["kty": "OKP", "crv": "Ed25519", "kid": "b", "x": "AAAA"]]), "cannot be read"),
        ]
        for (name, bytes, expected) in cases {
            let reason = await refused(bytes)
            #expect(reason?.contains(expected) == true, "\(name): \(reason ?? "accepted")")
            #expect(reason?.contains("AAAA") != true, "\(name): key material never echoed")
        }
        #expect(await refused(Array(login.jwks.utf8), issuer: "") != nil)
        #expect(await refused(Array(login.jwks.utf8), issuer: "https://a b") != nil)

        // An encryption key beside it is skipped; a lone key without kid takes no token that names a kid.
        encryption["kid"] = "enc"
        let withEncryption = try await CitizenTokenVerifier(jwks: set([key, encryption]), issuer: Self.issuer)
        #expect(withEncryption.keyAlgorithms == [login.keyID: "EdDSA"])
        let lone = try await CitizenTokenVerifier(jwks: set([anonymous]), issuer: Self.issuer)
        #expect(lone.keyAlgorithms == ["": "EdDSA"])
        let token = try await login.mint(citizenID: Self.citizen)
        #expect(await Self.refusal(lone, token) == .invalidToken, "a kid the set does not name")
        #expect(await Self.refusal(withEncryption, token) == nil)
    }

    static let pyjwtScript = #"""
        import json, sys, time
        try:
            import jwt
            from jwt.algorithms import OKPAlgorithm, ECAlgorithm, RSAAlgorithm
            from cryptography.hazmat.primitives.asymmetric import ed25519, ec, rsa
        except ImportError:
            print(json.dumps({"unavailable": "PyJWT or cryptography is not installed"}))
            sys.exit(0)
        given = json.load(sys.stdin)
        issuer, citizen = given["issuer"], given["citizen"]
        ed = ed25519.Ed25519PrivateKey.generate()
        p256 = ec.generate_private_key(ec.SECP256R1())
        rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        stranger = ed25519.Ed25519PrivateKey.generate()
        def public_jwk(algorithm, key, kid, alg=None):
            jwk = json.loads(algorithm.to_jwk(key.public_key()))
            jwk["kid"] = kid
            if alg: jwk["alg"] = alg
            jwk["use"] = "sig"
            return jwk
        # The RSA key states no alg: RS256 is assumed, as OpenID Connect does.
        jwks = {"keys": [public_jwk(OKPAlgorithm, ed, "ed-1", "EdDSA"), public_jwk(ECAlgorithm, p256, "ec-1", "ES256"),
                         public_jwk(RSAAlgorithm, rsa_key, "rsa-1")]}
        now = int(time.time())
        def claims(**changes):
            c = {"iss": issuer, "sub": citizen, "aud": "tongban", "iat": now, "exp": now + 600, "nonce": "n-1"}
            c.update(changes)
            return {k: v for k, v in c.items() if v is not None}
        def sign(key, alg, kid, **changes):
            return jwt.encode(claims(**changes), key, algorithm=alg, headers={"kid": kid, "typ": "JWT"})
        accept = {
            "EdDSA": sign(ed, "EdDSA", "ed-1"),
            "ES256": sign(p256, "ES256", "ec-1", aud=["other-app", "tongban"], nbf=now - 5),
            "RS256": sign(rsa_key, "RS256", "rsa-1"),
        }
        refuse = {
            "wrong-issuer": sign(ed, "EdDSA", "ed-1", iss="https://login.elsewhere.example"),
            "wrong-audience": sign(ed, "EdDSA", "ed-1", aud="other-app"),
            "token-expired": sign(p256, "ES256", "ec-1", iat=now - 7200, exp=now - 3600),
            "invalid-token/other-key": sign(stranger, "EdDSA", "ed-1"),
            "invalid-token/unknown-kid": sign(stranger, "EdDSA", "ed-9"),
            "invalid-token/none": jwt.encode(claims(), None, algorithm="none"),
            "invalid-token/PS256-on-an-RS256-key": sign(rsa_key, "PS256", "rsa-1"),
            "invalid-token/ES256-key-named-for-EdDSA": sign(p256, "ES256", "ed-1"),
            "invalid-token/not-yet-valid": sign(ed, "EdDSA", "ed-1", nbf=now + 3600),
            "invalid-token/no-exp": sign(ed, "EdDSA", "ed-1", exp=None),
            "invalid-subject": sign(rsa_key, "RS256", "rsa-1", sub="alice@example"),
        }
        # And the other way round: PyJWT verifies a token of the development issuer with the key set it publishes.
        ours = json.loads(given["jwks"])["keys"][0]
        verified = jwt.decode(given["token"], key=jwt.PyJWK(ours).key, algorithms=["EdDSA"], audience="tongban",
                              issuer=given["issuer"], options={"require": ["exp", "iat", "iss", "aud", "sub"]})
        # A set of one key without kid, and a token without kid for it.
        lone = public_jwk(OKPAlgorithm, ed, None, "EdDSA")
        del lone["kid"]
        no_kid = jwt.encode(claims(), ed, algorithm="EdDSA", headers={"typ": "JWT"})
        refuse["invalid-token/no-kid-among-several-keys"] = no_kid
        print(json.dumps({"jwks": json.dumps(jwks), "accept": accept, "refuse": refuse, "verified": verified["sub"],
                          "lone_jwks": json.dumps({"keys": [lone]}), "no_kid": no_kid}))
        """#

    struct PyJWTAnswer: Decodable {
        var unavailable: String?
        var jwks: String?
        var accept: [String: String]?
        var refuse: [String: String]?
        var verified: String?
        var lone_jwks: String?
        var no_kid: String?
    }

    @Test("PyJWT's EdDSA, ES256 and RS256 tokens hold with its key set; its wrong ones are refused with their codes")
    func pyjwt() async throws {
        let login = DevelopmentCitizenIssuer()
        let ours = try await login.mint(citizenID: Self.citizen)
        let input: [String: String] = [
            "issuer": Self.issuer, "citizen": Self.citizen, "jwks": login.jwks, "token": ours,
        ]
        let output = try await PyJWTCrossCheckTests.python(
            Self.pyjwtScript,
            input: String(decoding: try JSONSerialization.data(withJSONObject: input), as: UTF8.self))
        let answer = try JSONDecoder().decode(PyJWTAnswer.self, from: Data(output.utf8))
        if let unavailable = answer.unavailable {
            Issue.record("\(unavailable): pip install 'pyjwt[crypto]' (.ci/run does), or set TONGBAN_TEST_PYTHON")
            return
        }
        #expect(answer.verified == Self.citizen, "PyJWT verifies the development issuer's token")
        let verifier = try await CitizenTokenVerifier(
            jwks: Array(try #require(answer.jwks).utf8), issuer: Self.issuer)
        #expect(verifier.keyAlgorithms == ["ed-1": "EdDSA", "ec-1": "ES256", "rsa-1": "RS256"])
        let accept = try #require(answer.accept)
        #expect(accept.keys.sorted() == ["ES256", "EdDSA", "RS256"])
        for (algorithm, token) in accept {
            let identity = try await verifier.verify(token)
            #expect(identity.citizenID == Self.citizen, "\(algorithm)")
        }
        let refuse = try #require(answer.refuse)
        #expect(refuse.count == 12)
        for (name, token) in refuse {
            let code = await Self.refusal(verifier, token)
            #expect(code?.rawValue == String(name.prefix { $0 != "/" }), "\(name): \(code?.rawValue ?? "accepted")")
        }
        // A set of one key without kid verifies a token without kid.
        let lone = try await CitizenTokenVerifier(jwks: Array(try #require(answer.lone_jwks).utf8), issuer: Self.issuer)
        #expect(try await lone.verify(try #require(answer.no_kid)).citizenID == Self.citizen)
        #expect(await Self.refusal(lone, accept["EdDSA"]!) == .invalidToken, "it names a kid the set does not hold")
    }
}
