/// Applies compiled ``SchemaNode``s to a value.
struct SchemaEvaluation {
    /// A string value checked by a named definition, e.g. a `citizenId` at `/data/motherId`.
    struct Annotation: Sendable {
        let pointer: String
        let name: String
        let value: String
    }

    /// The instance location, kept as components and written as a pointer only when needed.
    struct Path {
        enum Component {
            case key(String)
            case index(Int)
        }
        let base: String
        var components: [Component] = []

        init(base: String) { self.base = base }

        var pointer: String {
            var text = base
            for component in components {
                switch component {
                case .key(let key): text += "/" + SchemaCompiler.escape(key)
                case .index(let index): text += "/" + String(index)
                }
            }
            return text
        }

        func appending(_ key: String) -> String { pointer + "/" + SchemaCompiler.escape(key) }
    }

    /// Where results go. When `collect` is false, evaluation stops at the first failure and records nothing.
    struct Sink {
        let collect: Bool
        let annotate: Set<String>
        var violations: [EventViolation] = []
        var annotations: [Annotation] = []
    }

    let nodes: [SchemaNode]

    private static func fail(
        _ sink: inout Sink, _ pointer: @autoclosure () -> String, _ rule: String, _ value: JSONValue?,
        _ message: @autoclosure () -> String
    ) {
        guard sink.collect else { return }
        sink.violations.append(
            EventViolation(pointer: pointer(), rule: rule, value: value.map(EventViolation.masked), message: message()))
    }

    /// Whether `instance` is valid against node `index`; violations go to `sink`.
    func evaluate(_ instance: JSONValue, node index: Int, path: inout Path, sink: inout Sink) -> Bool {
        let node = nodes[index]
        if sink.collect, let name = node.name, sink.annotate.contains(name), case .string(let text) = instance {
            sink.annotations.append(Annotation(pointer: path.pointer, name: name, value: text))
        }
        var valid = true
        for operation in node.operations {
            if !apply(operation, node: node, to: instance, path: &path, sink: &sink) {
                valid = false
                if !sink.collect { return false }
            }
        }
        return valid
    }

    /// Evaluates without recording anything.
    private func passes(_ instance: JSONValue, node: Int, path: inout Path, annotate: Set<String>) -> Bool {
        var quiet = Sink(collect: false, annotate: annotate)
        return evaluate(instance, node: node, path: &path, sink: &quiet)
    }

    // swiftlint:disable:next cyclomatic_complexity function_body_length
    private func apply(
        _ operation: SchemaNode.Operation, node: SchemaNode, to instance: JSONValue, path: inout Path,
        sink: inout Sink
    ) -> Bool {
        switch operation {
        case .alwaysFalse:
            Self.fail(&sink, path.pointer, "false", instance, "is not allowed here")
            return false

        case .type(let types, let names):
            if Self.types(of: instance).isDisjoint(with: types) == false, Self.matches(instance, types) { return true }
            Self.fail(
                &sink, path.pointer, "type", instance,
                "must be \(names.map(Self.article).joined(separator: " or ")), not \(Self.article(Self.typeName(instance)))"
            )
            return false

        case .constant(let expected):
            if Self.equal(instance, expected) { return true }
            Self.fail(&sink, path.pointer, "const", instance, "must be \(Self.show(expected))")
            return false

        case .enumeration(let values):
            if values.contains(where: { Self.equal(instance, $0) }) { return true }
            Self.fail(
                &sink, path.pointer, "enum", instance,
                "must be one of \(values.map(Self.show).joined(separator: ", "))")
            return false

        case .minLength(let minimum):
            guard case .string(let text) = instance else { return true }
            let bytes = text.utf8.count
            if bytes / 4 >= minimum { return true }
            if bytes >= minimum, Self.scalarCount(text) >= minimum { return true }
            Self.fail(
                &sink, path.pointer, "minLength", instance,
                "is \(text.unicodeScalars.count) characters long, at least \(minimum) required\(Self.of(node))")
            return false

        case .maxLength(let maximum):
            guard case .string(let text) = instance else { return true }
            if text.utf8.count <= maximum || Self.scalarCount(text) <= maximum { return true }
            Self.fail(
                &sink, path.pointer, "maxLength", instance,
                "is \(text.unicodeScalars.count) characters long, at most \(maximum) allowed\(Self.of(node))")
            return false

        case .pattern(let pattern):
            guard case .string(let text) = instance else { return true }
            if pattern.matches(text) { return true }
            if let name = node.name {
                Self.fail(
                    &sink, path.pointer, "pattern", instance, "is not a valid \(name) (does not match its pattern)")
            } else {
                Self.fail(
                    &sink, path.pointer, "pattern", instance,
                    "does not match the pattern \(Self.printable(pattern.source))")
            }
            return false

        case .minimum(let limit, let exclusive):
            guard case .number(let text) = instance, let value = Double(text) else { return true }
            if exclusive ? value > limit : value >= limit { return true }
            Self.fail(
                &sink, path.pointer, exclusive ? "exclusiveMinimum" : "minimum", instance,
                "must be \(exclusive ? "greater than" : "at least") \(Self.number(limit))")
            return false

        case .maximum(let limit, let exclusive):
            guard case .number(let text) = instance, let value = Double(text) else { return true }
            if exclusive ? value < limit : value <= limit { return true }
            Self.fail(
                &sink, path.pointer, exclusive ? "exclusiveMaximum" : "maximum", instance,
                "must be \(exclusive ? "less than" : "at most") \(Self.number(limit))")
            return false

        case .multipleOf(let divisor):
            guard case .number(let text) = instance, let value = Double(text) else { return true }
            let quotient = value / divisor
            if quotient.isFinite, quotient == quotient.rounded() { return true }
            Self.fail(&sink, path.pointer, "multipleOf", instance, "must be a multiple of \(Self.number(divisor))")
            return false

        case .object(let rules):
            guard case .object(let object) = instance else { return true }
            return applyObject(rules.value, object, path: &path, sink: &sink)

        case .array(let rules):
            guard case .array(let array) = instance else { return true }
            return applyArray(rules.value, array, path: &path, sink: &sink)

        case .reference(let target):
            return evaluate(instance, node: target, path: &path, sink: &sink)

        case .allOf(let schemas):
            var valid = true
            for schema in schemas where !evaluate(instance, node: schema, path: &path, sink: &sink) {
                valid = false
                if !sink.collect { return false }
            }
            return valid

        case .anyOf(let schemas):
            for schema in schemas where passes(instance, node: schema, path: &path, annotate: sink.annotate) {
                return true
            }
            Self.fail(&sink, path.pointer, "anyOf", instance, "matches none of the allowed forms")
            return false

        case .oneOf(let schemas):
            let matching = schemas.indices.filter { passes(instance, node: schemas[$0], path: &path, annotate: []) }
            if matching.count == 1 { return true }
            Self.fail(
                &sink, path.pointer, "oneOf", instance,
                matching.isEmpty
                    ? "matches none of the allowed forms"
                    : "matches more than one of the allowed forms (\(matching.map(String.init).joined(separator: ", ")))"
            )
            return false

        case .not(let schema):
            if !passes(instance, node: schema, path: &path, annotate: []) { return true }
            Self.fail(&sink, path.pointer, "not", instance, "matches a form that is not allowed")
            return false

        case .conditional(let condition, let then, let otherwise):
            if passes(instance, node: condition, path: &path, annotate: []) {
                return then.map { evaluate(instance, node: $0, path: &path, sink: &sink) } ?? true
            }
            return otherwise.map { evaluate(instance, node: $0, path: &path, sink: &sink) } ?? true
        }
    }

    private func applyObject(
        _ rules: borrowing SchemaNode.ObjectRules, _ object: JSONObject, path: inout Path, sink: inout Sink
    ) -> Bool {
        var valid = true
        if rules.required.count > 64 || rules.requiredBits.count != rules.required.count {
            for name in rules.required where object[name] == nil {
                valid = false
                guard sink.collect else { return false }
                Self.fail(&sink, path.appending(name), "required", nil, "is required but missing")
            }
        } else if !rules.required.isEmpty {
            var present: UInt64 = 0
            for member in object.members {
                if let bit = rules.requiredBits[member.key] { present |= 1 << UInt64(bit) }
            }
            if present.nonzeroBitCount != rules.required.count {
                for (bit, name) in rules.required.enumerated() where present & (1 << UInt64(bit)) == 0 {
                    valid = false
                    guard sink.collect else { return false }
                    Self.fail(&sink, path.appending(name), "required", nil, "is required but missing")
                }
            }
        }
        if let minimum = rules.minProperties, object.count < minimum {
            valid = false
            guard sink.collect else { return false }
            Self.fail(
                &sink, path.pointer, "minProperties", nil, "has \(object.count) fields, at least \(minimum) required")
        }
        if let maximum = rules.maxProperties, object.count > maximum {
            valid = false
            guard sink.collect else { return false }
            Self.fail(
                &sink, path.pointer, "maxProperties", nil, "has \(object.count) fields, at most \(maximum) allowed")
        }
        for (name, needed) in rules.dependentRequired where object[name] != nil {
            for other in needed where object[other] == nil {
                valid = false
                guard sink.collect else { return false }
                Self.fail(&sink, path.appending(other), "dependentRequired", nil, "is required when \(name) is present")
            }
        }
        for (key, value) in object.members {
            path.components.append(.key(key))
            defer { path.components.removeLast() }
            if let names = rules.propertyNames,
                !evaluate(.string(key), node: names, path: &path, sink: &sink)
            {
                valid = false
                if !sink.collect { return false }
            }
            var matched = false
            if let schema = rules.properties[key] {
                matched = true
                if !evaluate(value, node: schema, path: &path, sink: &sink) {
                    valid = false
                    if !sink.collect { return false }
                }
            }
            for (pattern, schema) in rules.patternProperties where pattern.matches(key) {
                matched = true
                if !evaluate(value, node: schema, path: &path, sink: &sink) {
                    valid = false
                    if !sink.collect { return false }
                }
            }
            if !matched, let additional = rules.additionalProperties {
                if case .alwaysFalse = nodes[additional].operations.first {
                    valid = false
                    guard sink.collect else { return false }
                    Self.fail(&sink, path.pointer, "additionalProperties", value, "is not an allowed field")
                } else if !evaluate(value, node: additional, path: &path, sink: &sink) {
                    valid = false
                    if !sink.collect { return false }
                }
            }
        }
        return valid
    }

    private func applyArray(
        _ rules: borrowing SchemaNode.ArrayRules, _ array: [JSONValue], path: inout Path, sink: inout Sink
    )
        -> Bool
    {
        var valid = true
        if let minimum = rules.minItems, array.count < minimum {
            valid = false
            guard sink.collect else { return false }
            Self.fail(&sink, path.pointer, "minItems", nil, "has \(array.count) items, at least \(minimum) required")
        }
        if let maximum = rules.maxItems, array.count > maximum {
            valid = false
            guard sink.collect else { return false }
            Self.fail(&sink, path.pointer, "maxItems", nil, "has \(array.count) items, at most \(maximum) allowed")
        }
        if rules.uniqueItems, array.count > 1 {
            search: for i in 0..<array.count - 1 {
                for j in (i + 1)..<array.count where Self.equal(array[i], array[j]) {
                    valid = false
                    guard sink.collect else { return false }
                    path.components.append(.index(j))
                    Self.fail(&sink, path.pointer, "uniqueItems", array[j], "repeats item \(i)")
                    path.components.removeLast()
                    break search
                }
            }
        }
        for (index, element) in array.enumerated() {
            let schema = index < rules.prefixItems.count ? rules.prefixItems[index] : rules.items
            guard let schema else { continue }
            path.components.append(.index(index))
            defer { path.components.removeLast() }
            if !evaluate(element, node: schema, path: &path, sink: &sink) {
                valid = false
                if !sink.collect { return false }
            }
        }
        if let contains = rules.contains {
            var count = 0
            for (index, element) in array.enumerated() {
                path.components.append(.index(index))
                if passes(element, node: contains, path: &path, annotate: []) { count += 1 }
                path.components.removeLast()
            }
            if count < rules.minContains || rules.maxContains.map({ count > $0 }) == true {
                valid = false
                guard sink.collect else { return false }
                Self.fail(
                    &sink, path.pointer, "contains", nil,
                    "has \(count) matching items, expected \(rules.minContains)…\(rules.maxContains.map(String.init) ?? "")"
                )
            }
        }
        return valid
    }
}

extension SchemaEvaluation {
    /// The number of Unicode scalars, counted on the UTF-8 bytes (every byte that is not a continuation byte).
    static func scalarCount(_ text: String) -> Int {
        text.utf8.withContiguousStorageIfAvailable { bytes in
            var count = 0
            for byte in bytes where byte & 0xC0 != 0x80 { count += 1 }
            return count
        } ?? text.unicodeScalars.count
    }

    static func typeName(_ value: JSONValue) -> String {
        if case .number(let text) = value, let number = Double(text), number == number.rounded() { return "integer" }
        return value.typeName
    }

    static func types(of value: JSONValue) -> SchemaNode.Types {
        switch value {
        case .null: .null
        case .bool: .boolean
        case .number: .number
        case .string: .string
        case .array: .array
        case .object: .object
        }
    }

    static func matches(_ value: JSONValue, _ types: SchemaNode.Types) -> Bool {
        guard case .number(let text) = value else { return true }
        if types.contains(.number) { return true }
        // Only `integer` was allowed: 1.0 is an integer in JSON Schema.
        guard let number = Double(text) else { return false }
        return number.isFinite && number == number.rounded()
    }

    static func article(_ name: String) -> String {
        ["integer", "object", "array"].contains(name) ? "an \(name)" : name == "null" ? "null" : "a \(name)"
    }

    static func of(_ node: SchemaNode) -> String { node.name.map { " for a \($0)" } ?? "" }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    static func show(_ value: JSONValue) -> String {
        if case .string(let text) = value { return printable(text) }
        return String(decoding: value.serialized, as: UTF8.self)
    }

    /// Text safe for a one-line message: control and separator characters as `\u{…}`, at most 80 characters.
    static func printable(_ text: String) -> String {
        var output = ""
        for scalar in text.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7F || scalar.value == 0x2028 || scalar.value == 0x2029 {
                output += "\\u{" + String(scalar.value, radix: 16) + "}"
            } else {
                output.unicodeScalars.append(scalar)
            }
        }
        return output.unicodeScalars.count > 80 ? String(output.unicodeScalars.prefix(79)) + "…" : output
    }

    /// JSON Schema equality: numbers by value, objects regardless of member order.
    static func equal(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.string(let x), .string(let y)): return x == y
        case (.number(let x), .number(let y)): return x == y || (Double(x).map { $0 == Double(y) } ?? false)
        case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) }
        case (.object(let x), .object(let y)):
            return x.count == y.count
                && x.members.allSatisfy { member in y[member.key].map { equal(member.value, $0) } ?? false }
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        default: return false
        }
    }
}
