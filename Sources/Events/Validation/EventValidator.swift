public import Foundation

/// Checks one Kafka message exactly as the hub does: JSON, envelope schema, the type's `data` schema
/// from the catalog, and every rule of `schemas/README.md` ("Rules the hub checks beyond the schemas")
/// except the signature (checked by the signature verifier) and idempotency (checked by projectors).
///
/// Create one validator and share it: it is immutable and `Sendable`, and creating it compiles every
/// embedded schema.
public struct EventValidator: Sendable {
    /// Options of one check.
    public struct Options: Sendable {
        /// Whether `tbsig` and `tbkid` must be present; `false` checks an event before signing.
        public var requireSignature: Bool
        /// How far `time` (and other instants) may lie ahead of `now`; default 5 minutes.
        public var maximumClockSkew: Duration

        /// Creates options.
        /// - Parameters:
        ///   - requireSignature: whether `tbsig` and `tbkid` must be present (default `true`).
        ///   - maximumClockSkew: how far instants may lie ahead of `now` (default 5 minutes).
        public init(requireSignature: Bool = true, maximumClockSkew: Duration = .seconds(300)) {
            self.requireSignature = requireSignature
            self.maximumClockSkew = maximumClockSkew
        }
    }

    /// The catalog used to look up types.
    public let catalog: EventCatalog
    /// The compiled schemas (envelope, common definitions, every event type).
    public let schemas: JSONSchemaValidator
    let envelopeRoot: Int
    let dataRoots: [String: Int]

    /// The named definitions of `common.json` whose values get checks beyond their pattern.
    static let checkedDefinitions: Set<String> = [
        "citizenId", "date", "month", "dateTime", "personName", "socialCreditCode", "squareMeters", "money",
    ]

    /// Creates a validator from a catalog and compiled schemas.
    /// - Parameters:
    ///   - catalog: the event catalog.
    ///   - schemas: compiled schemas holding the envelope and every type the catalog lists.
    /// - Throws: ``JSONSchemaError`` (`unresolvableReference`) when a schema the catalog names is missing.
    public init(catalog: EventCatalog, schemas: JSONSchemaValidator) throws(JSONSchemaError) {
        let envelopeID = "https://tongban.example/schemas/" + catalog.envelopeSchemaPath
        guard let envelopeRoot = schemas.roots[envelopeID] else {
            throw JSONSchemaError(code: .unresolvableReference, location: envelopeID, detail: "envelope schema missing")
        }
        var dataRoots: [String: Int] = [:]
        for entry in catalog.entries {
            guard let root = schemas.roots[entry.schemaID] else {
                throw JSONSchemaError(
                    code: .unresolvableReference, location: entry.schemaID, detail: "schema of \(entry.type) missing")
            }
            dataRoots[entry.type] = root
        }
        self.catalog = catalog
        self.schemas = schemas
        self.envelopeRoot = envelopeRoot
        self.dataRoots = dataRoots
    }

    /// Creates a validator from the embedded `schemas/events/` files.
    /// - Throws: ``EventCatalogError`` or ``JSONSchemaError`` if the embedded files are broken.
    public init() throws {
        try self.init(catalog: try EventCatalog.embedded(), schemas: try JSONSchemaValidator.embeddedEventSchemas())
    }

    /// Validates one message.
    /// - Parameters:
    ///   - message: the Kafka message value (one JSON envelope).
    ///   - key: the Kafka message key, if any; it must equal `data` at the type's key pointer.
    ///   - options: whether a signature is required, and the clock skew allowed.
    ///   - now: the hub's clock, for "not in the future" rules.
    /// - Returns: the validated event.
    /// - Throws: ``EventValidationError`` with every violation found.
    public func validate(
        _ message: [UInt8], key: [UInt8]? = nil, options: Options = Options(), now: Date = Date()
    ) throws(EventValidationError) -> ValidatedEvent {
        let json = try Self.parse(message)
        return try validate(envelope: json, key: key, options: options, now: now)
    }

    /// Parses a message, or says why it is not JSON.
    static func parse(_ message: [UInt8]) throws(EventValidationError) -> JSONValue {
        do {
            return try JSONParser.parse(message)
        } catch {
            throw EventValidationError(
                code: .unparsable,
                violations: [EventViolation(pointer: "", rule: "json", value: nil, message: error.description)])
        }
    }

    /// Validates a parsed envelope.
    /// - Parameters:
    ///   - json: the parsed envelope.
    ///   - key: the Kafka message key, if any.
    ///   - options: whether a signature is required, and the clock skew allowed.
    ///   - now: the hub's clock.
    /// - Returns: the validated event.
    /// - Throws: ``EventValidationError`` with every violation found.
    public func validate(
        envelope json: JSONValue, key: [UInt8]? = nil, options: Options = Options(), now: Date = Date()
    ) throws(EventValidationError) -> ValidatedEvent {
        let eventID = json["id"]?.stringValue
        let eventType = json["type"]?.stringValue
        func reject(_ code: EventValidationError.Code, _ violations: [EventViolation]) -> EventValidationError {
            EventValidationError(code: code, violations: violations, eventID: eventID, eventType: eventType)
        }

        // 1. The envelope schema.
        var (violations, annotations) = schemas.validate(
            json, root: envelopeRoot, at: "", annotate: Self.checkedDefinitions)
        if !options.requireSignature {
            violations.removeAll { $0.rule == "required" && ($0.pointer == "/tbsig" || $0.pointer == "/tbkid") }
        }
        if !violations.isEmpty { throw reject(.schemaViolation, violations) }

        // 2. The type.
        guard let eventType, let entry = catalog.entry(for: eventType), let dataRoot = dataRoots[eventType],
            let data = json["data"]
        else {
            throw reject(
                .unknownType,
                [
                    EventViolation(
                        pointer: "/type", rule: "catalog", value: eventType.map(EventViolation.masked),
                        message: "is not an event type in the catalog")
                ])
        }

        // 3. The data schema.
        let dataResult = schemas.validate(data, root: dataRoot, at: "/data", annotate: Self.checkedDefinitions)
        if !dataResult.violations.isEmpty { throw reject(.schemaViolation, dataResult.violations) }
        annotations += dataResult.annotations

        // 4. Rules on single values, and envelope consistency.
        var rules = RuleViolations()
        checkValues(annotations, now: now, skew: options.maximumClockSkew, into: &rules)
        guard let envelope = EventEnvelope(json: json) else {
            throw reject(
                .schemaViolation, [EventViolation(pointer: "", rule: "envelope", value: nil, message: "cannot be read")]
            )
        }
        let recordKey = checkEnvelope(envelope, entry: entry, data: data, key: key, into: &rules)
        if let first = rules.first { throw reject(first, rules.violations) }

        // 5. Upcast, decode, and rules across fields.
        let decoded: (payload: EventPayload, data: JSONValue)
        do {
            decoded = try decodePayload(type: entry.type, data: data)
        } catch {
            throw reject(.schemaViolation, [error.violation])
        }
        checkFacts(decoded.payload, original: data, into: &rules)
        if let first = rules.first { throw reject(first, rules.violations) }

        return ValidatedEvent(
            json: json, envelope: envelope, entry: entry, payload: decoded.payload, data: decoded.data,
            key: recordKey ?? "")
    }

    /// Reads a message that passed ``validate(_:key:options:now:)`` before, without checking it again: it is
    /// parsed, its envelope read and its `data` upcast and decoded, but no schema or rule is evaluated.
    ///
    /// A rebuild reads messages below a partition's verified watermark this way (they were validated and verified
    /// when first read, and Kafka offsets never change). Anything else must use `validate`.
    /// - Parameter message: the Kafka message value (the record key is taken from `data`, as `validate` does).
    /// - Returns: the event, as `validate` returned it the first time.
    /// - Throws: ``EventValidationError`` when the message cannot even be read as an event of the catalog (a
    ///   caller should then validate it, to report every reason).
    public func readAccepted(_ message: [UInt8]) throws(EventValidationError) -> ValidatedEvent {
        let json = try Self.parse(message)
        let eventType = json["type"]?.stringValue
        guard let envelope = EventEnvelope(json: json), let data = json["data"] else {
            throw EventValidationError(
                code: .schemaViolation,
                violations: [
                    EventViolation(pointer: "", rule: "envelope", value: nil, message: "cannot be read as an event")
                ], eventID: json["id"]?.stringValue, eventType: eventType)
        }
        guard let entry = catalog.entry(for: envelope.type) else {
            throw EventValidationError(
                code: .unknownType,
                violations: [
                    EventViolation(
                        pointer: "/type", rule: "catalog", value: EventViolation.masked(envelope.type),
                        message: "is not an event type in the catalog")
                ], eventID: envelope.id, eventType: envelope.type)
        }
        let decoded: (payload: EventPayload, data: JSONValue)
        do {
            decoded = try decodePayload(type: entry.type, data: data)
        } catch {
            throw EventValidationError(
                code: .schemaViolation, violations: [error.violation], eventID: envelope.id, eventType: eventType)
        }
        return ValidatedEvent(
            json: json, envelope: envelope, entry: entry, payload: decoded.payload, data: decoded.data,
            key: data.value(at: entry.keyPointer)?.stringValue ?? "")
    }

    /// Validates a `data` object alone (no envelope), as `tongban validate --data` does.
    /// - Parameters:
    ///   - data: the `data` object.
    ///   - type: the catalog type it claims to be.
    ///   - now: the hub's clock.
    /// - Returns: the typed payload (upcast to the current version).
    /// - Throws: ``EventValidationError``; locations are reported under `/data`.
    public func validate(data: JSONValue, type: String, now: Date = Date()) throws(EventValidationError) -> EventPayload
    {
        guard let entry = catalog.entry(for: type), let root = dataRoots[type] else {
            throw EventValidationError(
                code: .unknownType,
                violations: [
                    EventViolation(
                        pointer: "/type", rule: "catalog", value: EventViolation.masked(type),
                        message: "is not an event type in the catalog")
                ],
                eventType: type)
        }
        let result = schemas.validate(data, root: root, at: "/data", annotate: Self.checkedDefinitions)
        if !result.violations.isEmpty {
            throw EventValidationError(code: .schemaViolation, violations: result.violations, eventType: type)
        }
        var rules = RuleViolations()
        checkValues(result.annotations, now: now, skew: .seconds(300), into: &rules)
        if let first = rules.first {
            throw EventValidationError(code: first, violations: rules.violations, eventType: type)
        }
        let payload: EventPayload
        do {
            payload = try decodePayload(type: entry.type, data: data).payload
        } catch {
            throw EventValidationError(code: .schemaViolation, violations: [error.violation], eventType: type)
        }
        checkFacts(payload, original: data, into: &rules)
        if let first = rules.first {
            throw EventValidationError(code: first, violations: rules.violations, eventType: type)
        }
        return payload
    }

    /// Reads `data` as the current version of its type, applying the catalog's upcast rules.
    /// - Returns: the typed payload, and `data` upcast (the JSON the payload was decoded from).
    func decodePayload(
        type: String, data: JSONValue
    ) throws(PayloadDecodingFailure) -> (payload: EventPayload, data: JSONValue) {
        var type = type
        var data = data
        var steps = 0
        while let (target, rule) = catalog.upcast(from: type), steps < 16 {
            for (pointer, value) in rule.set { data = Self.setting(value, at: pointer, in: data) }
            type = target.type
            steps += 1
        }
        do {
            if let payload = try EventPayload.read(type: type, data: data) { return (payload, data) }
        } catch {
            throw PayloadDecodingFailure(
                violation: EventViolation(
                    pointer: "/data", rule: "model", value: nil, message: "cannot be read as \(type): \(error)"))
        }
        throw PayloadDecodingFailure(
            violation: EventViolation(
                pointer: "/type", rule: "model", value: nil, message: "has no typed model (\(type))"))
    }

    /// Sets a value at a one-level or deeper pointer of objects, creating nothing but the last member.
    static func setting(_ value: JSONValue, at pointer: String, in document: JSONValue) -> JSONValue {
        let tokens = pointer.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
            .map { String($0).replacing("~1", with: "/").replacing("~0", with: "~") }
        func set(_ tokens: ArraySlice<String>, in node: JSONValue) -> JSONValue {
            guard let first = tokens.first, case .object(var object) = node else {
                return tokens.isEmpty ? value : node
            }
            object[first] =
                tokens.count == 1 ? value : set(tokens.dropFirst(), in: object[first] ?? .object(JSONObject()))
            return .object(object)
        }
        return set(ArraySlice(tokens), in: document)
    }
}

/// A payload that could not be decoded (wraps the violation to report).
struct PayloadDecodingFailure: Error {
    let violation: EventViolation
}

/// Violations of the hub's rules, each with its category.
struct RuleViolations {
    private(set) var violations: [EventViolation] = []
    private(set) var first: EventValidationError.Code?

    mutating func add(
        _ code: EventValidationError.Code, _ pointer: String, _ rule: String, _ value: String?, _ message: String
    ) {
        if first == nil { first = code }
        violations.append(
            EventViolation(pointer: pointer, rule: rule, value: value.map(EventViolation.masked), message: message))
    }
}
