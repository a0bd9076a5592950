import API
import Foundation
import Testing
import TongbanTesting

/// Another implementation reads our tokens and writes tokens we accept: PyJWT, when installed (`pip install pyjwt
/// cryptography`, which `.ci/run` does; `TONGBAN_TEST_PYTHON` names the interpreter, default `python3`). Without it
/// the test fails, saying what to install: a check that did not run is not a check that passed.
@Suite("API access tokens and PyJWT", .sharedMachine)
struct PyJWTCrossCheckTests {
    static let script = #"""
        import json, sys
        try:
            import jwt
        except ImportError:
            print(json.dumps({"unavailable": "PyJWT is not installed"}))
            sys.exit(0)
        given = json.load(sys.stdin)
        public = jwt.PyJWK(json.loads(given["public_jwk"]))
        header = jwt.get_unverified_header(given["token"])
        claims = jwt.decode(
            given["token"], key=public.key, algorithms=["EdDSA"], audience="tongban-api", issuer="tongban",
            options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"]})
        refused = []
        for name, token in given["refuse"].items():
            try:
                jwt.decode(token, key=public.key, algorithms=["EdDSA"], audience="tongban-api", issuer="tongban")
            except jwt.InvalidTokenError:
                refused.append(name)
        private = jwt.PyJWK(json.loads(given["private_jwk"]))
        signed = jwt.encode(
            {"iss": "tongban", "aud": "tongban-api", "sub": claims["sub"], "iat": claims["iat"], "exp": claims["exp"],
             "jti": "python-made", "scope": "kinship"},
            private.key, algorithm="EdDSA", headers={"kid": header["kid"], "typ": "at+jwt"})
        print(json.dumps({"header": header, "claims": claims, "refused": sorted(refused), "signed": signed}))
        """#

    struct Answer: Decodable {
        var unavailable: String?
        var header: [String: String]?
        var claims: Claims?
        var refused: [String]?
        var signed: String?

        struct Claims: Decodable {
            var iss: String
            var aud: String
            var sub: String
            var iat: Int
            var exp: Int
            var jti: String
            var scope: String
        }
    }

    @Test("PyJWT verifies our tokens and refuses altered ones; we accept a token PyJWT signs with the hub's key")
    func crossCheck() async throws {
        let key = try TokenSigningKey.generate(keyID: "tongban-hub/cross-check")
        let issuer = await AccessTokenIssuer(key: key)
        let verifier = await AccessTokenVerifier(key: key.publicKey)
        let client = APIClient(
            id: "tbc_" + String(repeating: "Q", count: 22), name: "x", scopes: [.kinship, .prefill],
            purposes: ["p"], requestsPerSecond: 1, createdAt: Date())
        let token = try await issuer.issue(for: client)
        let segments = token.token.split(separator: ".").map(String.init)
        var signature = try #require(JWT.decode(segments[2]))
        signature[5] ^= 0x80
        let foreign = try await AccessTokenIssuer(key: key, audience: "other").issue(for: client).token
        let input: [String: Any] = [
            "token": token.token, "public_jwk": key.publicKey.publicJWK, "private_jwk": key.privateJWK,
            "refuse": [
                "signature": [segments[0], segments[1], JWT.base64URL(signature)].joined(separator: "."),
                "audience": foreign,
            ],
        ]
        let output = try await Self.python(
            Self.script, input: String(decoding: try JSONSerialization.data(withJSONObject: input), as: UTF8.self))
        let answer = try JSONDecoder().decode(Answer.self, from: Data(output.utf8))
        if let unavailable = answer.unavailable {
            Issue.record("\(unavailable): pip install 'pyjwt[crypto]' (.ci/run does), or set TONGBAN_TEST_PYTHON")
            return
        }
        #expect(answer.header == ["alg": "EdDSA", "kid": key.keyID, "typ": "at+jwt"])
        let claims = try #require(answer.claims)
        #expect(claims.sub == client.id && claims.iss == "tongban" && claims.aud == "tongban-api")
        #expect(claims.exp - claims.iat == 300 && claims.jti == token.tokenID && claims.scope == "kinship prefill")
        #expect(answer.refused == ["audience", "signature"])
        let grant = try await verifier.verify(try #require(answer.signed))
        #expect(grant.clientID == client.id && grant.scopes == [.kinship] && grant.tokenID == "python-made")
    }

    /// Runs a Python script with `input` on its standard input, without blocking a thread while it runs.
    static func python(_ script: String, input: String) async throws -> String {
        let interpreter = ProcessInfo.processInfo.environment["TONGBAN_TEST_PYTHON"] ?? "python3"
        let result = try await TestProcess.run("/usr/bin/env", [interpreter, "-c", script], input: input)
        try #require(result.status != 127, "\(interpreter) is not installed")
        try #require(result.status == 0, "\(interpreter) failed with status \(result.status): \(result.errors)")
        return result.output
    }
}
