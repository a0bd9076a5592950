public import Foundation

/// The CloudEvents 1.0 attributes of a Tongban event (`envelope.v1.json`), with `data` as parsed.
public struct EventEnvelope: Sendable, Hashable {
    /// The event id (lower-case UUID), the idempotency key.
    public let id: String
    /// The publishing office, `/departments/<department>/<region code>`.
    public let source: String
    /// The catalog type as sent, e.g. `household.name-changed.v1`.
    public let type: String
    /// Citizen ID of the primary person.
    public let subject: String
    /// When the fact took legal effect.
    public let time: Date
    /// `time` exactly as sent (e.g. `2026-03-08T00:00:00+08:00`), keeping its offset.
    public let timeText: String
    /// `datacontenttype`, if sent.
    public let dataContentType: String?
    /// `dataschema`, if sent.
    public let dataSchema: String?
    /// The fact as sent (not upcast).
    public let data: JSONValue
    /// The signing key id, `<department>/<key name>`; absent only before signing.
    public let tbkid: String?
    /// The Ed25519 signature (base64url); absent only before signing.
    public let tbsig: String?

    /// Reads the attributes of an envelope that passed `envelope.v1.json`.
    /// - Parameter json: the parsed envelope.
    /// - Returns: `nil` when a required attribute is missing or `time` is not a real RFC 3339 date-time.
    public init?(json: JSONValue) {
        guard let id = json["id"]?.stringValue, let source = json["source"]?.stringValue,
            let type = json["type"]?.stringValue, let subject = json["subject"]?.stringValue,
            let timeText = json["time"]?.stringValue, let time = RFC3339.parse(timeText)?.date,
            let data = json["data"]
        else { return nil }
        self.id = id
        self.source = source
        self.type = type
        self.subject = subject
        self.time = time
        self.timeText = timeText
        self.dataContentType = json["datacontenttype"]?.stringValue
        self.dataSchema = json["dataschema"]?.stringValue
        self.data = data
        self.tbkid = json["tbkid"]?.stringValue
        self.tbsig = json["tbsig"]?.stringValue
    }

    /// The department in `source` (`household` in `/departments/household/110105`).
    public var sourceDepartment: String? {
        let prefix = "/departments/"
        guard source.hasPrefix(prefix) else { return nil }
        let rest = source.utf8.dropFirst(prefix.utf8.count)
        guard let slash = rest.firstIndex(of: UInt8(ascii: "/")) else { return nil }
        return String(Substring(rest[..<slash]))
    }

    /// The department in `type` (before the first `.`).
    public var typeDepartment: String { String(type.prefix { $0 != "." }) }

    /// The department in `tbkid` (before the `/`), if `tbkid` is present.
    public var keyDepartment: String? { tbkid.map { String($0.prefix { $0 != "/" }) } }
}
