/// A JSON value as parsed, with object members kept in their original order.
///
/// Numbers keep their source text, so nothing is lost or rounded between parsing, validation and
/// canonicalization. Tongban's event schemas carry no numbers (amounts are decimal strings), but
/// the envelope parser must still read whatever a department sends.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    /// A number, as its JSON source text (validated to the JSON grammar).
    case number(String)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// The JSON Schema type name of this value (`integer` for whole numbers).
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number(let text): text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) ? "number" : "integer"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// The string, if this is one.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The object, if this is one.
    public var objectValue: JSONObject? {
        if case .object(let o) = self { return o }
        return nil
    }

    /// The elements, if this is an array.
    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// The member with this name, if this is an object that has it.
    public subscript(key: String) -> JSONValue? {
        objectValue?[key]
    }

    /// Follows a JSON pointer (RFC 6901), e.g. `/owners/0/personId`.
    /// - Parameter pointer: the pointer; `""` is the value itself.
    /// - Returns: the value found, or `nil`.
    public func value(at pointer: String) -> JSONValue? {
        guard !pointer.isEmpty else { return self }
        guard pointer.hasPrefix("/") else { return nil }
        var current = self
        var rest = pointer.dropFirst()
        while true {
            let end = rest.firstIndex(of: "/") ?? rest.endIndex
            let raw = rest[..<end]
            switch current {
            case .object(let object):
                let next: JSONValue?
                if raw.utf8.contains(UInt8(ascii: "~")) {
                    next = object[String(raw).replacing("~1", with: "/").replacing("~0", with: "~")]
                } else {
                    next = object.members.first { $0.key == raw }?.value
                }
                guard let next else { return nil }
                current = next
            case .array(let array):
                guard let index = Int(raw), array.indices.contains(index) else { return nil }
                current = array[index]
            default:
                return nil
            }
            guard end < rest.endIndex else { return current }
            rest = rest[rest.index(after: end)...]
        }
    }
}

/// A JSON object: members in source order, with unique names.
public struct JSONObject: Sendable, Hashable {
    /// The members, in source order.
    public private(set) var members: [(key: String, value: JSONValue)]

    /// Creates an object; later duplicates of a name replace earlier ones.
    /// - Parameter members: name/value pairs.
    public init(_ members: [(key: String, value: JSONValue)] = []) {
        self.members = []
        for (key, value) in members { self[key] = value }
    }

    /// Creates an object from members whose names are known to be unique (the parser checked).
    init(uniqueMembers: [(key: String, value: JSONValue)]) {
        self.members = uniqueMembers
    }

    /// The value of a member, or `nil`. Setting `nil` removes the member.
    public subscript(key: String) -> JSONValue? {
        get { members.first { $0.key == key }?.value }
        set {
            if let index = members.firstIndex(where: { $0.key == key }) {
                if let newValue { members[index].value = newValue } else { members.remove(at: index) }
            } else if let newValue {
                members.append((key, newValue))
            }
        }
    }

    /// The member names, in source order.
    public var keys: [String] { members.map(\.key) }

    /// How many members the object has.
    public var count: Int { members.count }

    public static func == (a: JSONObject, b: JSONObject) -> Bool {
        a.members.count == b.members.count
            && a.members.allSatisfy { member in b[member.key] == member.value }
    }

    public func hash(into hasher: inout Hasher) {
        // Order-insensitive, to agree with ==.
        var combined = 0
        for member in members {
            var h = Hasher()
            h.combine(member.key)
            h.combine(member.value)
            combined ^= h.finalize()
        }
        hasher.combine(members.count)
        hasher.combine(combined)
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByNilLiteral, ExpressibleByIntegerLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(JSONObject(elements.map { (key: $0.0, value: $0.1) }))
    }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(nilLiteral: ()) { self = .null }
    public init(integerLiteral value: Int) { self = .number(String(value)) }
}
