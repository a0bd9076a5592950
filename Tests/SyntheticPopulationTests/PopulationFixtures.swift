import Events
import Foundation
import SyntheticPopulation
import Testing

/// Shared helpers: generating into memory, the repository's schema files, running Python.
enum PopulationFixtures {
    /// The repository root, found from this file's path.
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let schemas = repositoryRoot.appendingPathComponent("schemas/events")

    struct Output {
        var events: [GeneratedEvent]
        var expected: ExpectedAnswers
    }

    static func generate(
        people: Int, seed: UInt64, anomalyRate: Double = 0, signed: Bool = false, contributionMonths: Int = 24
    ) throws -> Output {
        var configuration = PopulationConfiguration(people: people, seed: seed)
        configuration.anomalyRate = anomalyRate
        configuration.contributionMonths = contributionMonths
        if signed { configuration.signingKeys = DevKeys.all }
        var events: [GeneratedEvent] = []
        let expected = try PopulationGenerator(configuration).generate { events.append($0) }
        return Output(events: events, expected: expected)
    }

    /// Parses a line into an envelope object.
    static func envelope(_ event: GeneratedEvent) throws -> JSONObject {
        let value = try JSONParser.parse(event.line)
        return try #require(value.objectValue)
    }

    /// The catalog's entries by type.
    static func catalog() throws -> [String: JSONObject] {
        let data = try Data(contentsOf: schemas.appendingPathComponent("catalog.json"))
        let catalog = try JSONParser.parse(Array(data))
        var entries: [String: JSONObject] = [:]
        for entry in catalog["events"]?.arrayValue ?? [] {
            if let object = entry.objectValue, let type = object["type"]?.stringValue { entries[type] = object }
        }
        return entries
    }

    /// Validates NDJSON lines with Python `jsonschema` against the repository's schemas; one verdict
    /// per line, `ok` or `error: …`.
    static func pythonVerdicts(for lines: [[UInt8]]) throws -> [String] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tongban-gen-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let events = directory.appendingPathComponent("events.ndjson")
        try Data(lines.flatMap { $0 + [0x0A] }).write(to: events)
        let script = directory.appendingPathComponent("check.py")
        try Data(pythonScript.utf8).write(to: script)
        let output = directory.appendingPathComponent("verdicts.txt")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, schemas.path, events.path, output.path]
        try process.run()
        process.waitUntilExit()
        if process.terminationStatus == 3 || process.terminationStatus == 127 {
            Issue.record("python3 with jsonschema and referencing is missing: run scripts/bootstrap")
            return []
        }
        try #require(process.terminationStatus == 0, "the schema check script failed")
        return String(decoding: try Data(contentsOf: output), as: UTF8.self).split(separator: "\n").map(String.init)
    }

    static let pythonScript = #"""
        import json, pathlib, sys
        try:
            from jsonschema import Draft202012Validator
            from referencing import Registry, Resource
        except ImportError:
            sys.exit(3)
        root = pathlib.Path(sys.argv[1])
        documents = {p: json.loads(p.read_text(encoding="utf-8")) for p in root.rglob("*.json")}
        registry = Registry().with_resources(
            (d["$id"], Resource.from_contents(d)) for d in documents.values() if "$id" in d)
        catalog = json.loads((root / "catalog.json").read_text(encoding="utf-8"))
        types = {e["type"]: e for e in catalog["events"]}
        envelope = Draft202012Validator(documents[root / "envelope.v1.json"], registry=registry)
        validators = {}
        verdicts = []
        for line in open(sys.argv[2], encoding="utf-8"):
            try:
                event = json.loads(line)
            except ValueError:
                verdicts.append("error: not JSON")
                continue
            errors = [e.message for e in envelope.iter_errors(event)]
            entry = types.get(event.get("type"))
            if entry is None:
                errors.append("unknown type")
            else:
                if entry["type"] not in validators:
                    validators[entry["type"]] = Draft202012Validator(documents[root / entry["schema"]], registry=registry)
                errors += [e.message for e in validators[entry["type"]].iter_errors(event.get("data"))]
            verdicts.append("ok" if not errors else "error: " + "; ".join(errors)[:400])
        pathlib.Path(sys.argv[3]).write_text("\n".join(verdicts) + "\n", encoding="utf-8")
        """#
}
