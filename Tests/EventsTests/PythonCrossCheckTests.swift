import Events
import Foundation
import Testing
import TongbanTesting

/// Checks our schema verdicts against an independent implementation: Python `jsonschema`
/// (Draft202012Validator with a `referencing` registry over the repository's `schemas/events`).
@Suite("Cross-check with Python jsonschema", .sharedMachine)
struct PythonCrossCheckTests {
    struct Item {
        let schemaID: String
        let instance: JSONValue
        let label: String
    }

    static let script = #"""
        import json, pathlib, sys
        try:
            from jsonschema import Draft202012Validator
            from referencing import Registry, Resource
        except ImportError as error:
            print(f"missing Python package: {error}", file=sys.stderr)
            sys.exit(3)
        root = pathlib.Path(sys.argv[1])
        resources = []
        for path in sorted(root.rglob("*.json")):
            document = json.loads(path.read_text(encoding="utf-8"))
            if "$id" in document:
                resources.append((document["$id"], Resource.from_contents(document)))
        registry = Registry().with_resources(resources)
        validators = {}
        results = []
        for item in json.loads(pathlib.Path(sys.argv[2]).read_text(encoding="utf-8")):
            schema_id = item["schema"]
            if schema_id not in validators:
                schema = registry.contents(schema_id)
                Draft202012Validator.check_schema(schema)
                validators[schema_id] = Draft202012Validator(schema, registry=registry)
            results.append(validators[schema_id].is_valid(item["instance"]))
        pathlib.Path(sys.argv[3]).write_text(json.dumps(results))
        """#

    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    /// The examples, and mutations of them that break every keyword the schemas use.
    static func corpus() -> [Item] {
        let catalog = EventFixtures.validator.catalog
        var items: [Item] = []
        func add(_ schemaID: String, _ value: JSONValue, _ label: String) {
            items.append(Item(schemaID: schemaID, instance: value, label: label))
        }
        func mutateMembers(of value: JSONValue, at pointer: String, schemaID: String, label: String) {
            guard case .object(let object) = value else { return }
            for (key, member) in object.members {
                let path = pointer + "/" + key
                func replaced(_ replacement: JSONValue?) -> JSONValue {
                    EventFixtures.setting(replacement, at: path, in: root)
                }
                add(schemaID, replaced(nil), "\(label) without \(path)")
                switch member {
                case .string(let text):
                    add(schemaID, replaced(1), "\(label) \(path) as number")
                    add(schemaID, replaced(.null), "\(label) \(path) as null")
                    add(schemaID, replaced(""), "\(label) \(path) empty")
                    add(schemaID, replaced(.string(String(repeating: "9", count: 300))), "\(label) \(path) too long")
                    add(schemaID, replaced(.string(text + "\u{0}")), "\(label) \(path) with NUL")
                    add(schemaID, replaced(.string(" " + text)), "\(label) \(path) with leading space")
                    add(schemaID, replaced("bogus"), "\(label) \(path) bogus")
                    add(schemaID, replaced(.string(text.lowercased())), "\(label) \(path) lower-case")
                case .array(let array):
                    add(schemaID, replaced(.array([])), "\(label) \(path) empty array")
                    add(schemaID, replaced(.array(array + array.prefix(1))), "\(label) \(path) repeated item")
                    add(schemaID, replaced(.array(Array(repeating: array[0], count: 51))), "\(label) \(path) 51 items")
                    add(schemaID, replaced(.array([1])), "\(label) \(path) number item")
                    add(schemaID, replaced(.string("x")), "\(label) \(path) as string")
                    for (index, element) in array.enumerated() {
                        mutateMembers(of: element, at: path + "/\(index)", schemaID: schemaID, label: label)
                    }
                case .object:
                    add(schemaID, replaced(.array([])), "\(label) \(path) as array")
                    add(
                        schemaID, EventFixtures.setting("x", at: path + "/unexpected", in: root),
                        "\(label) \(path) extra")
                    mutateMembers(of: member, at: path, schemaID: schemaID, label: label)
                default:
                    break
                }
            }
        }
        var root: JSONValue = .null
        for example in EventFixtures.examples {
            guard let entry = catalog.entry(for: example.type) else { continue }
            let label = example.testDescription
            root = example.data
            add(entry.schemaID, root, label)
            add(entry.schemaID, EventFixtures.setting("x", at: "/unexpected", in: root), "\(label) extra field")
            add(entry.schemaID, .array([root]), "\(label) as array")
            mutateMembers(of: root, at: "", schemaID: entry.schemaID, label: label)
        }
        // Valid values at the edges.
        let birth = "household.birth-registered.v1"
        if let entry = catalog.entry(for: birth) {
            for name in ["王\u{20000}", "王😀", "Anna-Maria O", "阿依古丽·买买提", "a·", "·a", "a  b", "〇", "王•明"] {
                add(
                    entry.schemaID,
                    EventFixtures.setting(.string(name), at: "/childName", in: EventFixtures.example(birth)),
                    "name \(name)")
            }
        }
        // The envelope.
        let envelopeID = "https://tongban.example/schemas/events/envelope.v1.json"
        root = EventFixtures.envelope(type: birth, data: EventFixtures.example(birth))
        add(envelopeID, root, "envelope")
        mutateMembers(
            of: .object(JSONObject(root.objectValue?.members.filter { $0.key != "data" } ?? [])), at: "",
            schemaID: envelopeID, label: "envelope")
        add(envelopeID, EventFixtures.setting("x", at: "/data", in: root), "envelope data as string")
        add(envelopeID, EventFixtures.setting("1.1", at: "/specversion", in: root), "envelope specversion 1.1")
        add(
            envelopeID, EventFixtures.setting("2026-03-08T00:00:00", at: "/time", in: root),
            "envelope time without offset")
        add(
            envelopeID, EventFixtures.setting("2026-03-08t00:00:00Z", at: "/time", in: root),
            "envelope time lower-case t")
        add(
            envelopeID, EventFixtures.setting(.string(String(repeating: "A", count: 85) + "B"), at: "/tbsig", in: root),
            "tbsig last B")
        return items
    }

    @Test("our schema verdicts agree with Python jsonschema")
    func crossCheck() throws {
        let items = Self.corpus()
        let schemas = EventFixtures.validator.schemas
        let ours = items.map { schemas.validate($0.instance, schemaID: $0.schemaID).isEmpty }
        let invalid = ours.filter { !$0 }.count
        #expect(invalid >= 200, "only \(invalid) invalid events in the corpus")

        // Every keyword the schemas use is broken somewhere in the corpus.
        let rules = Set(items.flatMap { schemas.validate($0.instance, schemaID: $0.schemaID).map(\.rule) })
        for keyword in [
            "type", "required", "additionalProperties", "enum", "const", "pattern", "minLength", "maxLength",
            "minItems", "maxItems", "uniqueItems",
        ] {
            #expect(rules.contains(keyword), "no case breaks \(keyword)")
        }

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tongban-crosscheck-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let scriptURL = directory.appendingPathComponent("crosscheck.py")
        let corpusURL = directory.appendingPathComponent("corpus.json")
        let resultURL = directory.appendingPathComponent("results.json")
        try Data(Self.script.utf8).write(to: scriptURL)
        var corpus: [UInt8] = Array("[".utf8)
        for (index, item) in items.enumerated() {
            if index > 0 { corpus.append(UInt8(ascii: ",")) }
            corpus +=
                Array(#"{"schema":"\#(item.schemaID)","instance":"#.utf8) + item.instance.serialized + [
                    UInt8(ascii: "}")
                ]
        }
        corpus.append(UInt8(ascii: "]"))
        try Data(corpus).write(to: corpusURL)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", scriptURL.path, Self.repositoryRoot.appendingPathComponent("schemas/events").path,
            corpusURL.path, resultURL.path,
        ]
        let errors = Pipe()
        process.standardError = errors
        do {
            try process.run()
        } catch {
            Issue.record("cannot run python3 (\(error)); run scripts/bootstrap to install Python and jsonschema")
            return
        }
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let message =
                "python3 jsonschema cross-check failed (status \(process.terminationStatus)): \(stderr) "
                + "Run scripts/bootstrap to install Python's jsonschema."
            Issue.record(Comment(rawValue: message))
            return
        }
        let python = try JSONParser.parse(Array(try Data(contentsOf: resultURL)))
        let verdicts = python.arrayValue?.map { $0 == .bool(true) } ?? []
        try #require(verdicts.count == items.count)
        var disagreements = 0
        for (index, item) in items.enumerated() where verdicts[index] != ours[index] {
            disagreements += 1
            Issue.record(
                "\(item.label): Python says \(verdicts[index] ? "valid" : "invalid"), we say \(ours[index] ? "valid" : "invalid")"
            )
        }
        #expect(disagreements == 0, "checked \(items.count) events, \(invalid) invalid")
    }
}
