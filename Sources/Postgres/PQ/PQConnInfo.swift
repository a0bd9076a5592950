internal import CLibPQ

/// Connection-string parsing, done by libpq itself (`PQconninfoParse`, `PQconndefaults`).
enum PQConnInfo {
    /// The keys a URL or key=value string sets explicitly.
    static func parse(_ conninfo: String) -> Result<[String: String], PostgresError> {
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(conninfo, &errorMessage) else {
            let server = errorMessage.map { String(cString: $0) }
            if let errorMessage { PQfreemem(errorMessage) }
            return .failure(
                PostgresError(
                    .connect,
                    "invalid connection string: use a postgresql:// URL or key=value pairs",
                    serverMessage: server
                )
            )
        }
        defer { PQconninfoFree(options) }
        return .success(collect(options))
    }

    /// The values libpq would use for keys not given: `PG*` environment variables and compiled-in defaults.
    static func defaults() -> [String: String] {
        guard let options = PQconndefaults() else { return [:] }
        defer { PQconninfoFree(options) }
        return collect(options)
    }

    private static func collect(_ options: UnsafeMutablePointer<PQconninfoOption>) -> [String: String] {
        var result: [String: String] = [:]
        var option = options
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val { result[String(cString: keyword)] = String(cString: value) }
            option += 1
        }
        return result
    }
}
