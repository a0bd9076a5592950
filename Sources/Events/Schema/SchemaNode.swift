/// One compiled schema: the keywords that can fail, in a flat list, with subschemas by index.
final class SchemaNode: Sendable {
    /// JSON types as a bit set; `integer` is a subset of `number`.
    struct Types: OptionSet, Sendable {
        let rawValue: UInt8
        static let null = Types(rawValue: 1)
        static let boolean = Types(rawValue: 2)
        static let integer = Types(rawValue: 4)
        static let number = Types(rawValue: 12)  // includes integer
        static let string = Types(rawValue: 16)
        static let array = Types(rawValue: 32)
        static let object = Types(rawValue: 64)

        static let names: [(String, Types)] = [
            ("null", .null), ("boolean", .boolean), ("integer", .integer), ("number", .number),
            ("string", .string), ("array", .array), ("object", .object),
        ]
    }

    struct ObjectRules: Sendable {
        var properties: [String: Int] = [:]
        var patternProperties: [(SchemaPattern, Int)] = []
        var additionalProperties: Int?
        var required: [String] = [] {
            didSet {
                requiredBits = Dictionary(required.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
            }
        }
        /// Bit index of each required name (when there are at most 64), to check presence in one pass.
        var requiredBits: [String: Int] = [:]
        var minProperties: Int?
        var maxProperties: Int?
        var propertyNames: Int?
        var dependentRequired: [(String, [String])] = []
    }

    struct ArrayRules: Sendable {
        var prefixItems: [Int] = []
        var items: Int?
        var minItems: Int?
        var maxItems: Int?
        var uniqueItems = false
        var contains: Int?
        var minContains = 1
        var maxContains: Int?
    }

    enum Operation: Sendable {
        case alwaysFalse
        case type(Types, names: [String])
        case enumeration([JSONValue])
        case constant(JSONValue)
        case minLength(Int)
        case maxLength(Int)
        case pattern(SchemaPattern)
        case minimum(Double, exclusive: Bool)
        case maximum(Double, exclusive: Bool)
        case multipleOf(Double)
        case object(Shared<ObjectRules>)
        case array(Shared<ArrayRules>)
        case reference(Int)
        case allOf([Int])
        case anyOf([Int])
        case oneOf([Int])
        case not(Int)
        case conditional(if: Int, then: Int?, else: Int?)
    }

    /// An immutable value kept once on the heap, so that copying an `Operation` is one retain.
    final class Shared<Value: Sendable>: Sendable {
        let value: Value
        init(_ value: Value) { self.value = value }
    }

    let operations: [Operation]
    /// The `$defs` name this schema was reached by (`citizenId`), for messages and annotations.
    let name: String?

    init(operations: [Operation], name: String?) {
        self.operations = operations
        self.name = name
    }
}
