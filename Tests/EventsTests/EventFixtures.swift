import Events
import Foundation
import Testing
import TongbanSchemas

/// Shared fixtures: one validator, the examples of every embedded event schema, envelopes around them.
enum EventFixtures {
    /// The validator under test, created once.
    static let validator: EventValidator = {
        do { return try EventValidator() } catch { fatalError("cannot build the validator: \(error)") }
    }()

    /// A clock after every example date.
    static let now = Date(timeIntervalSince1970: 1_893_456_000)  // 2030-01-01T00:00:00Z

    /// A syntactically valid signature (verification is not this module's job).
    static let dummySignature = String(repeating: "A", count: 86)

    struct Example: CustomTestStringConvertible, Sendable {
        let type: String
        let index: Int
        let data: JSONValue
        var testDescription: String { "\(type) #\(index)" }
    }

    /// Every `examples` entry of every event schema, with its type.
    static let examples: [Example] = {
        var result: [Example] = []
        for path in TongbanSchemaFiles.paths where path.split(separator: "/").count == 3 && path.hasPrefix("events/") {
            guard let bytes = TongbanSchemaFiles.bytes(path), let schema = try? JSONParser.parse(bytes),
                let type = schema["x-tongban-type"]?.stringValue
            else { continue }
            for (index, example) in (schema["examples"]?.arrayValue ?? []).enumerated() {
                result.append(Example(type: type, index: index, data: example))
            }
        }
        return result
    }()

    static func example(_ type: String, _ index: Int = 0) -> JSONValue {
        examples.first { $0.type == type && $0.index == index }?.data ?? .null
    }

    /// A valid envelope around `data`: subject from the catalog's subject pointer, departments from the type.
    static func envelope(
        type: String, data: JSONValue, signed: Bool = true, time: String = "2026-03-08T00:00:00+08:00"
    ) -> JSONValue {
        let entry = validator.catalog.entry(for: type)
        let department = entry?.department ?? "household"
        var object = JSONObject([
            ("specversion", "1.0"),
            ("id", "0193a5c2-7d4e-7c41-9a0e-5b2f6c8d1e3f"),
            ("source", .string("/departments/\(department)/110105")),
            ("type", .string(type)),
            ("subject", entry.flatMap { data.value(at: $0.subjectPointer) } ?? "110105199005120137"),
            ("time", .string(time)),
            ("datacontenttype", "application/json"),
            ("data", data),
        ])
        if signed {
            object["tbkid"] = .string("\(department)/test-1")
            object["tbsig"] = .string(dummySignature)
        }
        return .object(object)
    }

    /// Validates `data` of `type` wrapped in a valid envelope.
    @discardableResult
    static func validate(
        _ type: String, _ data: JSONValue, key: String? = nil, now: Date = now
    ) throws(EventValidationError) -> ValidatedEvent {
        try validator.validate(
            envelope: envelope(type: type, data: data), key: key.map { Array($0.utf8) }, now: now)
    }

    /// The error of validating `data` of `type`, or `nil` if it passed.
    static func failure(_ type: String, _ data: JSONValue, key: String? = nil, now: Date = now) -> EventValidationError?
    {
        do {
            try validate(type, data, key: key, now: now)
            return nil
        } catch {
            return error
        }
    }

    /// A copy of `value` with the member at `pointer` set (or removed with `nil`).
    static func setting(_ value: JSONValue?, at pointer: String, in document: JSONValue) -> JSONValue {
        var tokens = pointer.split(separator: "/").map(String.init)
        guard !tokens.isEmpty else { return value ?? .null }
        let first = tokens.removeFirst()
        let rest = tokens.map { "/" + $0 }.joined()
        switch document {
        case .object(var object):
            if tokens.isEmpty {
                object[first] = value
            } else {
                object[first] = setting(value, at: rest, in: object[first] ?? .null)
            }
            return .object(object)
        case .array(var array):
            guard let index = Int(first), array.indices.contains(index) else { return document }
            if tokens.isEmpty {
                if let value { array[index] = value } else { array.remove(at: index) }
            } else {
                array[index] = setting(value, at: rest, in: array[index])
            }
            return .array(array)
        default:
            return document
        }
    }

    /// An 18-character ID with a correct check character for the first 17 digits.
    static func citizenID(_ first17: String) -> String {
        first17 + String(CitizenID.checkCharacter(for: first17) ?? "?")
    }
}
