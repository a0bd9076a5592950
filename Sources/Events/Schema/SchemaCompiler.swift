internal import Foundation

/// Turns schema documents into ``SchemaNode``s, resolving `$ref` by `$id` and `$anchor`.
struct SchemaCompiler {
    /// Where a schema resource sits: its document and the pointer tokens inside it.
    struct Location {
        var document: String
        var pointer: [String]
        var key: String { document + "#" + pointer.map { "/" + $0 }.joined() }
    }

    private var documents: [String: JSONValue] = [:]
    /// `$id`s and `uri#anchor`s to where they are.
    private var resources: [String: Location] = [:]
    private var nodes: [SchemaNode?] = []
    private var memo: [String: Int] = [:]
    private(set) var documentURIs: [String] = []

    init(documents list: [JSONValue]) throws(JSONSchemaError) {
        for document in list {
            guard let id = document["$id"]?.stringValue, let uri = Self.absolute(id, base: nil) else {
                throw JSONSchemaError(code: .invalidSchema, location: "(document)", detail: "no absolute $id")
            }
            let (uriWithoutFragment, _) = Self.split(uri)
            documents[uriWithoutFragment] = document
            documentURIs.append(uriWithoutFragment)
            scan(document, document: uriWithoutFragment, pointer: [], base: uriWithoutFragment)
        }
    }

    /// Records embedded `$id`s and `$anchor`s.
    private mutating func scan(_ value: JSONValue, document: String, pointer: [String], base: String) {
        switch value {
        case .object(let object):
            var base = base
            if let id = object["$id"]?.stringValue, let uri = Self.absolute(id, base: base) {
                base = Self.split(uri).0
                resources[base] = Location(document: document, pointer: pointer)
            }
            if let anchor = object["$anchor"]?.stringValue {
                resources[base + "#" + anchor] = Location(document: document, pointer: pointer)
            }
            for (key, member) in object.members where !["enum", "const", "examples", "default"].contains(key) {
                scan(member, document: document, pointer: pointer + [Self.escape(key)], base: base)
            }
        case .array(let array):
            for (index, element) in array.enumerated() {
                scan(element, document: document, pointer: pointer + [String(index)], base: base)
            }
        default:
            break
        }
    }

    /// A member name as a JSON pointer token (`~` → `~0`, `/` → `~1`).
    static func escape(_ token: String) -> String {
        guard token.utf8.contains(where: { $0 == UInt8(ascii: "~") || $0 == UInt8(ascii: "/") }) else { return token }
        return token.replacing("~", with: "~0").replacing("/", with: "~1")
    }

    static func absolute(_ reference: String, base: String?) -> String? {
        let url =
            base.flatMap { URL(string: $0) }.flatMap { URL(string: reference, relativeTo: $0) }
            ?? URL(string: reference)
        guard let url, url.scheme != nil else { return nil }
        return url.absoluteString
    }

    static func split(_ uri: String) -> (String, String?) {
        guard let hash = uri.firstIndex(of: "#") else { return (uri, nil) }
        return (String(uri[..<hash]), String(uri[uri.index(after: hash)...]))
    }

    func value(at location: Location) -> JSONValue? {
        documents[location.document]?.value(at: location.pointer.map { "/" + $0 }.joined())
    }

    /// The base URI in force at a location: the innermost `$id` on the way down.
    func base(at location: Location) -> String {
        var base = location.document
        guard var current = documents[location.document] else { return base }
        for token in location.pointer {
            let key = token.replacing("~1", with: "/").replacing("~0", with: "~")
            switch current {
            case .object(let object):
                guard let next = object[key] else { return base }
                current = next
            case .array(let array):
                guard let index = Int(key), array.indices.contains(index) else { return base }
                current = array[index]
            default:
                return base
            }
            if let id = current["$id"]?.stringValue, let uri = Self.absolute(id, base: base) {
                base = Self.split(uri).0
            }
        }
        return base
    }

    mutating func compile(uri: String, pointer: [String]) throws(JSONSchemaError) -> Int {
        try compile(Location(document: uri, pointer: pointer))
    }

    mutating func finish() throws(JSONSchemaError) -> [SchemaNode] {
        var result: [SchemaNode] = []
        for (index, node) in nodes.enumerated() {
            guard let node else {
                throw JSONSchemaError(code: .invalidSchema, location: "#\(index)", detail: "incomplete node")
            }
            result.append(node)
        }
        return result
    }

    private func fail(_ code: JSONSchemaError.Code, _ location: Location, _ detail: String) -> JSONSchemaError {
        JSONSchemaError(code: code, location: location.key, detail: detail)
    }

    private mutating func compile(_ location: Location) throws(JSONSchemaError) -> Int {
        if let index = memo[location.key] { return index }
        guard let schema = value(at: location) else {
            throw fail(.unresolvableReference, location, "nothing at this location")
        }
        let index = nodes.count
        nodes.append(nil)
        memo[location.key] = index
        let name: String? =
            location.pointer.count >= 2
                && ["$defs", "definitions"].contains(location.pointer[location.pointer.count - 2])
            ? location.pointer.last : nil

        switch schema {
        case .bool(let allowed):
            nodes[index] = SchemaNode(operations: allowed ? [] : [.alwaysFalse], name: name)
            return index
        case .object:
            break
        default:
            throw fail(.invalidSchema, location, "a schema must be an object or a boolean")
        }
        let base = base(at: location)
        nodes[index] = SchemaNode(operations: try operations(of: schema, at: location, base: base), name: name)
        return index
    }

    private mutating func child(_ location: Location, _ tokens: String...) throws(JSONSchemaError) -> Int {
        try compile(Location(document: location.document, pointer: location.pointer + tokens.map(Self.escape)))
    }

    private func integer(_ value: JSONValue?, _ location: Location, _ keyword: String) throws(JSONSchemaError) -> Int? {
        guard let value else { return nil }
        guard case .number(let text) = value, let number = Double(text), number >= 0, number == number.rounded(),
            number < 1e9
        else {
            throw fail(.invalidSchema, location, "\(keyword) must be a non-negative integer")
        }
        return Int(number)
    }

    private func number(_ value: JSONValue?, _ location: Location, _ keyword: String) throws(JSONSchemaError) -> Double?
    {
        guard let value else { return nil }
        guard case .number(let text) = value, let number = Double(text) else {
            throw fail(.invalidSchema, location, "\(keyword) must be a number")
        }
        return number
    }

    private func pattern(_ source: String, _ location: Location) throws(JSONSchemaError) -> SchemaPattern {
        do {
            return try SchemaPattern(source)
        } catch {
            throw fail(.invalidPattern, location, "\(error.reason) in \(source)")
        }
    }

    private mutating func list(_ value: JSONValue?, _ location: Location, _ keyword: String) throws(JSONSchemaError)
        -> [Int]?
    {
        guard let value else { return nil }
        guard let array = value.arrayValue, !array.isEmpty else {
            throw fail(.invalidSchema, location, "\(keyword) must be a non-empty array of schemas")
        }
        var result: [Int] = []
        for index in array.indices { result.append(try child(location, keyword, String(index))) }
        return result
    }

    private mutating func operations(
        of schema: JSONValue, at location: Location, base: String
    ) throws(JSONSchemaError) -> [SchemaNode.Operation] {
        var operations: [SchemaNode.Operation] = []

        if let type = schema["type"] {
            let names = type.arrayValue?.compactMap(\.stringValue) ?? type.stringValue.map { [$0] } ?? []
            var types: SchemaNode.Types = []
            for name in names {
                guard let known = SchemaNode.Types.names.first(where: { $0.0 == name }) else {
                    throw fail(.invalidSchema, location, "unknown type \(name)")
                }
                types.formUnion(known.1)
            }
            operations.append(.type(types, names: names))
        }
        if let constant = schema["const"] { operations.append(.constant(constant)) }
        if let values = schema["enum"] {
            guard let array = values.arrayValue else { throw fail(.invalidSchema, location, "enum must be an array") }
            operations.append(.enumeration(array))
        }
        if let value = try integer(schema["minLength"], location, "minLength") { operations.append(.minLength(value)) }
        if let value = try integer(schema["maxLength"], location, "maxLength") { operations.append(.maxLength(value)) }
        if let source = schema["pattern"] {
            guard let text = source.stringValue else {
                throw fail(.invalidSchema, location, "pattern must be a string")
            }
            operations.append(.pattern(try pattern(text, location)))
        }
        if let value = try number(schema["minimum"], location, "minimum") {
            operations.append(.minimum(value, exclusive: false))
        }
        if let value = try number(schema["exclusiveMinimum"], location, "exclusiveMinimum") {
            operations.append(.minimum(value, exclusive: true))
        }
        if let value = try number(schema["maximum"], location, "maximum") {
            operations.append(.maximum(value, exclusive: false))
        }
        if let value = try number(schema["exclusiveMaximum"], location, "exclusiveMaximum") {
            operations.append(.maximum(value, exclusive: true))
        }
        if let value = try number(schema["multipleOf"], location, "multipleOf") {
            guard value > 0 else { throw fail(.invalidSchema, location, "multipleOf must be positive") }
            operations.append(.multipleOf(value))
        }

        // Objects.
        var object = SchemaNode.ObjectRules()
        var hasObjectRules = false
        if let properties = schema["properties"] {
            guard let members = properties.objectValue?.members else {
                throw fail(.invalidSchema, location, "properties must be an object")
            }
            for (key, _) in members { object.properties[key] = try child(location, "properties", key) }
            hasObjectRules = true
        }
        if let patterns = schema["patternProperties"] {
            guard let members = patterns.objectValue?.members else {
                throw fail(.invalidSchema, location, "patternProperties must be an object")
            }
            for (key, _) in members {
                object.patternProperties.append(
                    (try pattern(key, location), try child(location, "patternProperties", key)))
            }
            hasObjectRules = true
        }
        if schema["additionalProperties"] != nil {
            object.additionalProperties = try child(location, "additionalProperties")
            hasObjectRules = true
        }
        if let required = schema["required"] {
            guard let names = required.arrayValue?.compactMap(\.stringValue) else {
                throw fail(.invalidSchema, location, "required must be an array of strings")
            }
            object.required = names
            hasObjectRules = true
        }
        if let value = try integer(schema["minProperties"], location, "minProperties") {
            object.minProperties = value
            hasObjectRules = true
        }
        if let value = try integer(schema["maxProperties"], location, "maxProperties") {
            object.maxProperties = value
            hasObjectRules = true
        }
        if schema["propertyNames"] != nil {
            object.propertyNames = try child(location, "propertyNames")
            hasObjectRules = true
        }
        if let dependent = schema["dependentRequired"]?.objectValue {
            object.dependentRequired = dependent.members.map {
                ($0.key, $0.value.arrayValue?.compactMap(\.stringValue) ?? [])
            }
            hasObjectRules = true
        }
        if hasObjectRules { operations.append(.object(SchemaNode.Shared(object))) }

        // Arrays.
        var array = SchemaNode.ArrayRules()
        var hasArrayRules = false
        if let prefix = try list(schema["prefixItems"], location, "prefixItems") {
            array.prefixItems = prefix
            hasArrayRules = true
        }
        if schema["items"] != nil {
            array.items = try child(location, "items")
            hasArrayRules = true
        }
        if let value = try integer(schema["minItems"], location, "minItems") {
            array.minItems = value
            hasArrayRules = true
        }
        if let value = try integer(schema["maxItems"], location, "maxItems") {
            array.maxItems = value
            hasArrayRules = true
        }
        if case .bool(true) = schema["uniqueItems"] {
            array.uniqueItems = true
            hasArrayRules = true
        }
        if schema["contains"] != nil {
            array.contains = try child(location, "contains")
            array.minContains = try integer(schema["minContains"], location, "minContains") ?? 1
            array.maxContains = try integer(schema["maxContains"], location, "maxContains")
            hasArrayRules = true
        }
        if hasArrayRules { operations.append(.array(SchemaNode.Shared(array))) }

        // References and combinations.
        if let reference = schema["$ref"] {
            guard let text = reference.stringValue, let uri = Self.absolute(text, base: base) else {
                throw fail(.unresolvableReference, location, "bad $ref")
            }
            operations.append(.reference(try resolve(uri, from: location)))
        }
        if let all = try list(schema["allOf"], location, "allOf") { operations.append(.allOf(all)) }
        if let any = try list(schema["anyOf"], location, "anyOf") { operations.append(.anyOf(any)) }
        if let one = try list(schema["oneOf"], location, "oneOf") { operations.append(.oneOf(one)) }
        if schema["not"] != nil { operations.append(.not(try child(location, "not"))) }
        if schema["if"] != nil {
            operations.append(
                .conditional(
                    if: try child(location, "if"),
                    then: schema["then"] != nil ? try child(location, "then") : nil,
                    else: schema["else"] != nil ? try child(location, "else") : nil))
        }
        return operations
    }

    private mutating func resolve(_ uri: String, from location: Location) throws(JSONSchemaError) -> Int {
        let (resource, fragment) = Self.split(uri)
        let fragmentText = fragment?.removingPercentEncoding ?? fragment ?? ""
        if !fragmentText.isEmpty, !fragmentText.hasPrefix("/") {
            guard let anchored = resources[resource + "#" + fragmentText] else {
                throw fail(.unresolvableReference, location, "no anchor \(uri)")
            }
            return try compile(anchored)
        }
        guard var target = resources[resource] else {
            throw fail(.unresolvableReference, location, "no schema with $id \(resource)")
        }
        if !fragmentText.isEmpty {
            target.pointer += fragmentText.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map(
                String.init)
        }
        return try compile(target)
    }
}
