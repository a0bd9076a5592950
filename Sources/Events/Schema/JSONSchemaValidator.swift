internal import TongbanSchemas

/// A JSON Schema (draft 2020-12) validator that evaluates schema documents as they are written.
///
/// The documents are compiled once into a flat list of keyword checks (references become indices,
/// patterns become automata), then any schema among them can be applied by its `$id`. There is no
/// second copy of a rule in Swift: what the files say is what is checked.
///
/// Supported: `type`, `enum`, `const`, `properties`, `patternProperties`, `additionalProperties`,
/// `required`, `minProperties`, `maxProperties`, `propertyNames`, `dependentRequired`, `items`,
/// `prefixItems`, `minItems`, `maxItems`, `uniqueItems`, `contains`, `minContains`, `maxContains`,
/// `minLength`, `maxLength` (in code points), `pattern` (ECMA-262 over code points, unanchored),
/// `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum`, `multipleOf`, `$ref` (local and
/// relative, resolved against `$id`), `$defs`, `$anchor`, `allOf`, `anyOf`, `oneOf`, `not`,
/// `if`/`then`/`else`, boolean schemas. `format`, `title`, `description`, `examples`, `deprecated`
/// and `x-*` are annotations and never fail.
public struct JSONSchemaValidator: Sendable {
    let nodes: [SchemaNode]
    let roots: [String: Int]

    /// Compiles schema documents; each must have an absolute `$id`.
    /// - Parameter documents: the parsed schema documents; references between them resolve by `$id`.
    /// - Throws: ``JSONSchemaError`` when a document has no `$id`, a `$ref` cannot be resolved, a
    ///   keyword is malformed or a `pattern` is not a valid regular expression.
    public init(documents: [JSONValue]) throws(JSONSchemaError) {
        var compiler = try SchemaCompiler(documents: documents)
        var roots: [String: Int] = [:]
        for uri in compiler.documentURIs {
            roots[uri] = try compiler.compile(uri: uri, pointer: [])
        }
        self.roots = roots
        self.nodes = try compiler.finish()
    }

    /// Compiles every schema embedded from `schemas/events/` (the envelope, `common.json` and the event schemas).
    /// - Throws: ``JSONSchemaError`` if an embedded file is not a valid schema.
    public static func embeddedEventSchemas() throws(JSONSchemaError) -> JSONSchemaValidator {
        var documents: [JSONValue] = []
        for path in TongbanSchemaFiles.paths where path.hasPrefix("events/") && path.hasSuffix(".json") {
            guard let bytes = TongbanSchemaFiles.bytes(path) else { continue }
            let document: JSONValue
            do {
                document = try JSONParser.parse(bytes)
            } catch {
                throw JSONSchemaError(code: .invalidSchema, location: path, detail: error.description)
            }
            if document["$id"]?.stringValue != nil { documents.append(document) }
        }
        return try JSONSchemaValidator(documents: documents)
    }

    /// The `$id` of every compiled document.
    public var schemaIDs: [String] { roots.keys.sorted() }

    /// Whether a document with this `$id` was compiled.
    /// - Parameter schemaID: an absolute `$id`.
    public func contains(schemaID: String) -> Bool { roots[schemaID] != nil }

    /// Validates a value against the document with the given `$id`.
    /// - Parameters:
    ///   - instance: the value to check.
    ///   - schemaID: the `$id` of a compiled document.
    ///   - pointer: where `instance` sits in a larger document (e.g. `/data`); prefixes every reported location.
    /// - Returns: every violation found (empty when valid); one `$ref` violation when the `$id` is unknown.
    public func validate(_ instance: JSONValue, schemaID: String, at pointer: String = "") -> [EventViolation] {
        guard let root = roots[schemaID] else {
            return [EventViolation(pointer: pointer, rule: "$ref", value: nil, message: "no schema \(schemaID)")]
        }
        var sink = SchemaEvaluation.Sink(collect: true, annotate: [])
        var path = SchemaEvaluation.Path(base: pointer)
        _ = SchemaEvaluation(nodes: nodes).evaluate(instance, node: root, path: &path, sink: &sink)
        return sink.violations
    }

    /// Validates and also reports the string values checked by named definitions (`$defs` entries such
    /// as `citizenId`), so that rules beyond the schema can find every value of a kind.
    func validate(
        _ instance: JSONValue, root: Int, at pointer: String, annotate: Set<String>
    ) -> (violations: [EventViolation], annotations: [SchemaEvaluation.Annotation]) {
        var sink = SchemaEvaluation.Sink(collect: true, annotate: annotate)
        var path = SchemaEvaluation.Path(base: pointer)
        _ = SchemaEvaluation(nodes: nodes).evaluate(instance, node: root, path: &path, sink: &sink)
        return (sink.violations, sink.annotations)
    }
}
