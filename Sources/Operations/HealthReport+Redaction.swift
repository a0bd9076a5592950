extension HealthReport {
    /// The report with credentials that slipped into a detail masked: the password of a URL
    /// (`postgres://user:secret@host` becomes `postgres://user:***@host`) and `password=…`, `secret: …`, `token=…`
    /// style pairs (librdkafka's `sasl.password`, libpq's `password`).
    ///
    /// A safety net only: details should never carry secrets in the first place.
    func redactingCredentials() -> HealthReport {
        var report = self
        for (name, check) in checks {
            report.checks[name]?.detail = Self.redactingCredentials(in: check.detail)
        }
        return report
    }

    static func redactingCredentials(in text: String) -> String {
        // scheme://user:password@  ->  scheme://user:***@
        let userInfo = #/(?<prefix>[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@]*):[^\s@/]*@/#
        // password=…, sasl.password: …, token=…  ->  password=***
        let pair = #/(?i)(?<key>\b[A-Za-z0-9_.\-]*(?:password|passwd|pwd|secret|token)\s*[=:]\s*)[^\s,;&]+/#
        return
            text
            .replacing(userInfo) { "\($0.output.prefix):***@" }
            .replacing(pair) { "\($0.output.key)***" }
    }
}
