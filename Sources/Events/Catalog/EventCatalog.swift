internal import TongbanSchemas

/// The machine-readable list of event types (`schemas/events/catalog.json`): schema, topic, Kafka key,
/// subject and status of each type, the department topics and the dead-letter topic.
public struct EventCatalog: Sendable {
    /// Whether a type may still be published (`current`) or is only accepted and upcast (`superseded`).
    public struct Status: Hashable, Sendable, CustomStringConvertible {
        /// The status as written in the catalog.
        public let rawValue: String
        /// May be published.
        public static let current = Status(rawValue: "current")
        /// Still accepted; read as the type named in ``Entry/supersededBy``.
        public static let superseded = Status(rawValue: "superseded")
        public var description: String { rawValue }
    }

    /// A pure rule that reads an older version as this one: set these values at these `data` pointers.
    public struct Upcast: Sendable {
        /// The older type, e.g. `household.name-changed.v1`.
        public let fromType: String
        /// Values to set, by JSON pointer into `data`, in catalog order.
        public let set: [(pointer: String, value: JSONValue)]
    }

    /// One event type.
    public struct Entry: Sendable {
        /// `<department>.<event>.v<N>`, e.g. `household.birth-registered.v1`.
        public let type: String
        /// The publishing department, e.g. `household`.
        public let department: String
        /// The event name, e.g. `birth-registered`.
        public let event: String
        /// The version number.
        public let version: Int
        /// The embedded path of the `data` schema, e.g. `events/household/birth-registered.v1.json`.
        public let schemaPath: String
        /// The `$id` of the `data` schema.
        public let schemaID: String
        /// The Kafka topic, e.g. `tongban.household`.
        public let topic: String
        /// JSON pointer into `data` of the Kafka key, e.g. `/childId`.
        public let keyPointer: String
        /// JSON pointer into `data` of the envelope `subject`, e.g. `/spouseA/id`.
        public let subjectPointer: String
        /// Current or superseded.
        public let status: Status
        /// The type a superseded type is read as.
        public let supersededBy: String?
        /// How older types are read as this one.
        public let upcasts: [Upcast]
    }

    /// Every entry, in catalog order.
    public let entries: [Entry]
    /// Department → topic, e.g. `household` → `tongban.household`.
    public let topics: [String: String]
    /// Where rejected messages go (`tongban.dead-letters`).
    public let deadLetterTopic: String
    /// Embedded path of the envelope schema.
    public let envelopeSchemaPath: String
    private let index: [String: Int]

    /// The entry of a type.
    /// - Parameter type: e.g. `household.birth-registered.v1`.
    /// - Returns: the entry, or `nil` when the type is not in the catalog.
    public func entry(for type: String) -> Entry? { index[type].map { entries[$0] } }

    /// The catalog embedded from `schemas/events/catalog.json`.
    /// - Throws: ``EventCatalogError`` if the embedded file is missing or malformed.
    public static func embedded() throws(EventCatalogError) -> EventCatalog {
        guard let bytes = TongbanSchemaFiles.bytes("events/catalog.json") else {
            throw EventCatalogError(code: .missingFile, detail: "events/catalog.json is not embedded")
        }
        do {
            return try EventCatalog(json: try JSONParser.parse(bytes))
        } catch let error as EventCatalogError {
            throw error
        } catch {
            throw EventCatalogError(code: .unparsable, detail: "\(error)")
        }
    }

    /// Reads a catalog document.
    /// - Parameter json: the parsed `catalog.json`; schema paths in it are relative to `events/`.
    /// - Throws: ``EventCatalogError`` when a required field is missing.
    public init(json: JSONValue) throws(EventCatalogError) {
        func string(_ value: JSONValue?, _ what: String) throws(EventCatalogError) -> String {
            guard let text = value?.stringValue else {
                throw EventCatalogError(code: .invalidEntry, detail: "missing \(what)")
            }
            return text
        }
        deadLetterTopic = try string(json["deadLetterTopic"], "deadLetterTopic")
        envelopeSchemaPath = "events/" + (try string(json["envelope"], "envelope"))
        var topics: [String: String] = [:]
        for (department, topic) in json["topics"]?.objectValue?.members ?? [] {
            topics[department] = try string(topic, "topic of \(department)")
        }
        self.topics = topics
        guard let events = json["events"]?.arrayValue else {
            throw EventCatalogError(code: .invalidEntry, detail: "missing events")
        }
        var entries: [Entry] = []
        var index: [String: Int] = [:]
        for event in events {
            let type = try string(event["type"], "type")
            guard case .number(let versionText) = event["version"], let version = Int(versionText) else {
                throw EventCatalogError(code: .invalidEntry, detail: "\(type): missing version")
            }
            var upcasts: [Upcast] = []
            for upcast in event["upcastFrom"]?.arrayValue ?? [] {
                upcasts.append(
                    Upcast(
                        fromType: try string(upcast["type"], "\(type): upcastFrom type"),
                        set: (upcast["set"]?.objectValue?.members ?? []).map { (pointer: $0.key, value: $0.value) }))
            }
            index[type] = entries.count
            entries.append(
                Entry(
                    type: type,
                    department: try string(event["department"], "\(type): department"),
                    event: try string(event["event"], "\(type): event"),
                    version: version,
                    schemaPath: "events/" + (try string(event["schema"], "\(type): schema")),
                    schemaID: try string(event["schemaId"], "\(type): schemaId"),
                    topic: try string(event["topic"], "\(type): topic"),
                    keyPointer: try string(event["key"], "\(type): key"),
                    subjectPointer: try string(event["subject"], "\(type): subject"),
                    status: Status(rawValue: try string(event["status"], "\(type): status")),
                    supersededBy: event["supersededBy"]?.stringValue,
                    upcasts: upcasts))
        }
        self.entries = entries
        self.index = index
    }

    /// The upcast rule that reads `type` as a newer type, with that type's entry.
    /// - Parameter type: an older type, e.g. `household.name-changed.v1`.
    /// - Returns: the newer entry and the rule, or `nil` when no entry upcasts from `type`.
    public func upcast(from type: String) -> (target: Entry, rule: Upcast)? {
        for entry in entries {
            if let rule = entry.upcasts.first(where: { $0.fromType == type }) { return (entry, rule) }
        }
        return nil
    }
}
