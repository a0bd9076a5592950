import Events
import Testing
import TongbanTesting

@Suite("JSON Schema keywords", .sharedMachine)
struct SchemaValidatorTests {
    static let schema: JSONValue = {
        let text = #"""
            {
              "$id": "https://example.test/s.json",
              "$defs": {
                "positive": {"type": "integer", "exclusiveMinimum": 0},
                "tag": {"type": "string", "minLength": 2, "maxLength": 3}
              },
              "type": "object",
              "properties": {
                "n": {"$ref": "#/$defs/positive", "maximum": 10, "multipleOf": 2},
                "x": {"type": ["number", "null"], "minimum": 1.5},
                "tags": {"type": "array", "items": {"$ref": "#/$defs/tag"}, "uniqueItems": true, "minItems": 1, "maxItems": 3},
                "pair": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}], "items": false},
                "any": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                "one": {"oneOf": [{"type": "integer"}, {"minimum": 5}]},
                "not": {"not": {"const": "no"}},
                "all": {"allOf": [{"minLength": 1}, {"pattern": "^[a-z]+$"}]},
                "kind": {"enum": ["a", 1, {"k": [1]}]},
                "cond": {"if": {"const": "a"}, "then": {"minLength": 1}, "else": {"const": "b"}},
                "extra": {"type": "object", "additionalProperties": {"type": "string"}, "minProperties": 1, "maxProperties": 2,
                          "propertyNames": {"pattern": "^[a-z_]+$"}, "patternProperties": {"^n_": {"type": "integer"}}}
              },
              "required": ["n"],
              "additionalProperties": false
            }
            """#
        return (try? JSONParser.parse(text)) ?? .null
    }()

    static let validator: JSONSchemaValidator? = try? JSONSchemaValidator(documents: [schema])

    static let cases: [(String, [String])] = [
        (#"{"n": 2}"#, []),
        (#"{"n": 2.0}"#, []),  // 2.0 is an integer
        (#"{}"#, ["/n required"]),
        (#"{"n": 0}"#, ["/n exclusiveMinimum"]),
        (#"{"n": 12}"#, ["/n maximum"]),
        (#"{"n": 3}"#, ["/n multipleOf"]),
        (#"{"n": "2"}"#, ["/n type"]),
        (#"{"n": 2, "x": null}"#, []),
        (#"{"n": 2, "x": 1}"#, ["/x minimum"]),
        (#"{"n": 2, "tags": ["ab", "ab"]}"#, ["/tags/1 uniqueItems"]),
        (#"{"n": 2, "tags": []}"#, ["/tags minItems"]),
        (#"{"n": 2, "tags": ["a", "abcd"]}"#, ["/tags/0 minLength", "/tags/1 maxLength"]),
        (#"{"n": 2, "tags": ["ab", "cd", "ef", "gh"]}"#, ["/tags maxItems"]),
        (#"{"n": 2, "tags": ["王𠀀"]}"#, []),  // two code points
        (#"{"n": 2, "pair": ["a", 1]}"#, []),
        (#"{"n": 2, "pair": [1, 1]}"#, ["/pair/0 type"]),
        (#"{"n": 2, "pair": ["a", 1, 2]}"#, ["/pair/2 false"]),
        (#"{"n": 2, "any": true}"#, ["/any anyOf"]),
        (#"{"n": 2, "one": 7}"#, ["/one oneOf"]),
        (#"{"n": 2, "one": 3}"#, []),
        (#"{"n": 2, "not": "no"}"#, ["/not not"]),
        (#"{"n": 2, "all": "Ab"}"#, ["/all pattern"]),
        (#"{"n": 2, "kind": {"k": [1.0]}}"#, []),
        (#"{"n": 2, "kind": "b"}"#, ["/kind enum"]),
        (#"{"n": 2, "cond": "c"}"#, ["/cond const"]),
        (#"{"n": 2, "extra": {"a": "x", "n_b": 1}}"#, []),
        (#"{"n": 2, "extra": {"a": 1}}"#, ["/extra/a type"]),
        (#"{"n": 2, "extra": {"A": "x"}}"#, ["/extra/A pattern"]),
        (#"{"n": 2, "extra": {}}"#, ["/extra minProperties"]),
        (#"{"n": 2, "extra": {"a": "1", "b": "2", "c": "3"}}"#, ["/extra maxProperties"]),
        (#"{"n": 2, "zzz": 1}"#, ["/zzz additionalProperties"]),
    ]

    @Test("keywords", arguments: cases.indices)
    func keyword(_ index: Int) throws {
        let (instance, expected) = Self.cases[index]
        let validator = try #require(Self.validator)
        let violations = validator.validate(try JSONParser.parse(instance), schemaID: "https://example.test/s.json")
        #expect(violations.map { "\($0.pointer) \($0.rule)" } == expected, "\(instance)")
    }

    @Test("unresolvable references fail at compile time")
    func unresolvable() throws {
        let schema = try JSONParser.parse(#"{"$id": "https://example.test/r.json", "$ref": "other.json#/$defs/x"}"#)
        #expect(throws: JSONSchemaError.self) { try JSONSchemaValidator(documents: [schema]) }
    }

    @Test("values in violations are masked and shortened")
    func masking() {
        #expect(EventViolation.masked("110105199005120137") == "110105***********7")
        #expect(EventViolation.masked("id 11010519491231002X!") == "id 110105***********X!")
        #expect(EventViolation.masked("SI-110105-202610-000000123") == "SI-110105-202610-000000123")
        #expect(EventViolation.masked(String(repeating: "字", count: 100)).count == 48)
        #expect(EventViolation.masked("a\nb") == "a\\u{a}b")
    }
}
