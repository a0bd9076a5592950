internal import CLibPQ

/// Connection-string parsing, done by libpq itself (`PQconninfoParse`, `PQconndefaults`).
enum PQConnInfo {
    /// The keys a URL or key=value string sets explicitly.
    static func parse(_ conninfo: String) -> Result<[String: String], PostgresError> {
        parsed(conninfo, collect)
    }

    /// The keys a URL or key=value string sets explicitly, as the environment variables libpq reads them from
    /// (libpq's own table: `host` is `PGHOST`, `password` is `PGPASSWORD`, …), and the keys it reads from none
    /// (such as `keepalives`).
    static func environment(
        _ conninfo: String
    ) -> Result<(variables: [String: String], unmapped: [String]), PostgresError> {
        parsed(conninfo) { options in
            var variables: [String: String] = [:]
            var unmapped: [String] = []
            var option = options
            while let keyword = option.pointee.keyword {
                if let value = option.pointee.val {
                    if let variable = option.pointee.envvar {
                        variables[String(cString: variable)] = String(cString: value)
                    } else {
                        unmapped.append(String(cString: keyword))
                    }
                }
                option += 1
            }
            return (variables, unmapped.sorted())
        }
    }

    /// The values libpq would use for keys not given: `PG*` environment variables and compiled-in defaults.
    static func defaults() -> [String: String] {
        guard let options = PQconndefaults() else { return [:] }
        defer { PQconninfoFree(options) }
        return collect(options)
    }

    /// Runs `body` over libpq's parse of a connection string.
    private static func parsed<T>(
        _ conninfo: String, _ body: (UnsafeMutablePointer<PQconninfoOption>) -> T
    ) -> Result<T, PostgresError> {
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
        return .success(body(options))
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
