/// A kind of question a certificate service may ask: what a client is registered for, and what its access tokens
/// grant (the OAuth 2.0 `scope`, space-separated in a token).
public enum APIScope: String, Sendable, Hashable, CaseIterable, Comparable, CustomStringConvertible {
    /// Kinship: who is whose parent, child or spouse, and on which day.
    case kinship
    /// Social insurance: enrollments and months paid.
    case socialInsurance = "social-insurance"
    /// Property: titles owned and their encumbrances.
    case property
    /// Medical insurance: enrollments, vouchers and filings.
    case medicalInsurance = "medical-insurance"
    /// Prefill: the facts a form is filled in with.
    case prefill
    /// Certificates: asking for signed electronic certificates.
    case certificates

    /// Parses a scope's name, refusing any other name with the list of those that exist.
    /// - Parameter name: the scope's name, e.g. `social-insurance`.
    /// - Returns: the scope.
    /// - Throws: ``APIClientError`` `.unknownScope`.
    public static func parse(_ name: String) throws(APIClientError) -> APIScope {
        guard let scope = APIScope(rawValue: name) else {
            throw APIClientError(
                .unknownScope,
                "unknown scope \"\(APIClientError.printable(name))\": the scopes are "
                    + allCases.map(\.rawValue).joined(separator: ", "))
        }
        return scope
    }

    /// The scopes of a space-separated list, in order and without repeats (the OAuth 2.0 `scope` parameter).
    /// - Parameter list: e.g. `kinship property`.
    /// - Returns: the scopes.
    /// - Throws: ``APIClientError`` `.unknownScope` for a name that is not a scope.
    public static func parseList(_ list: String) throws(APIClientError) -> [APIScope] {
        var scopes: [APIScope] = []
        for name in list.split(separator: " ", omittingEmptySubsequences: true) {
            let scope = try parse(String(name))
            if !scopes.contains(scope) { scopes.append(scope) }
        }
        return scopes
    }

    /// The scope's name, as registered and in tokens.
    public var description: String { rawValue }

    /// Orders scopes by name.
    public static func < (lhs: APIScope, rhs: APIScope) -> Bool { lhs.rawValue < rhs.rawValue }
}
