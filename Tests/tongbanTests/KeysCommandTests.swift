import ArgumentParser
import Events
import Foundation
import Testing
import TongbanTesting

@testable import tongban

@Suite("tongban keys generate", .sharedMachine)
struct KeysCommandTests {
    @Test("a new key file is created with mode 0600; anything already there is refused and left as it was")
    func createsOnlyNewFiles() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tongban-keys-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        func generate(_ path: String) throws {
            try KeysCommand.Generate.parse(["--department", "household", "--name", "k-1", "--out", path]).run()
        }

        // A new file: mode 0600, holding the private key.
        let fresh = directory.appendingPathComponent("household-k-1.private.jwk").path
        try generate(fresh)
        let attributes = try FileManager.default.attributesOfItem(atPath: fresh)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let key = try DepartmentSigningKey.load(jwk: Array(try Data(contentsOf: URL(fileURLWithPath: fresh))))
        #expect(key.keyID == "household/k-1")

        // The same path again: refused, the key file byte for byte as it was.
        let written = try Data(contentsOf: URL(fileURLWithPath: fresh))
        #expect(throws: ValidationError.self) { try generate(fresh) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: fresh)) == written)

        // Someone else's file, readable by all: refused, neither its bytes nor its mode changed.
        let existing = directory.appendingPathComponent("existing.jwk").path
        let bytes = Data("not a key, and not ours to replace\n".utf8)
        #expect(
            FileManager.default.createFile(atPath: existing, contents: bytes, attributes: [.posixPermissions: 0o644]))
        #expect(throws: ValidationError.self) { try generate(existing) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: existing)) == bytes)
        let mode = try FileManager.default.attributesOfItem(atPath: existing)[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o644)

        // A symbolic link, even one pointing nowhere yet: refused, and nothing is created where it points.
        let target = directory.appendingPathComponent("target.jwk").path
        let link = directory.appendingPathComponent("link.jwk").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        #expect(throws: ValidationError.self) { try generate(link) }
        #expect(!FileManager.default.fileExists(atPath: target))

        // A folder that does not exist: a plain failure, nothing created.
        let nowhere = directory.appendingPathComponent("missing/key.jwk").path
        #expect(throws: CommandFailure.self) { try generate(nowhere) }
    }
}

@Suite("tongban keys hub", .sharedMachine)
struct HubKeysCommandTests {
    @Test("create, rotate and list: the old key stays listed, its private file goes, nothing secret is printed")
    func createRotateList() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tongban-hub-keys-\(UUID())")
        defer { try? FileManager.default.removeItem(at: folder) }
        let directory = folder.appendingPathComponent("keys").path
        try KeysCommand.Hub.Create.parse(["--dir", directory]).run()
        let privateFiles = {
            try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".private.jwk") }
        }
        let first = try privateFiles()
        #expect(first.count == 1)
        let mode = try FileManager.default.attributesOfItem(atPath: directory + "/" + first[0])[.posixPermissions]
        #expect((mode as? NSNumber)?.intValue == 0o600)
        // A second create is refused, saying to rotate instead.
        #expect(throws: CommandFailure.self) { try KeysCommand.Hub.Create.parse(["--dir", directory]).run() }

        try KeysCommand.Hub.Rotate.parse(["--dir", directory]).run()
        let second = try privateFiles()
        #expect(second.count == 1 && second != first)
        let firstID = String(first[0].dropLast(".private.jwk".count))
        let secondID = String(second[0].dropLast(".private.jwk".count))

        let list = try KeysCommand.Hub.List.parse(["--dir", directory])
        try list.run()
        let lines = try KeysCommand.Hub.List.lines(directory: directory)
        #expect(lines.count == 3 && lines[0].hasPrefix("kid"))
        #expect(lines[1].hasPrefix(secondID) && lines[1].hasSuffix("current"))
        #expect(lines[2].hasPrefix(firstID) && lines[2].hasSuffix("retired"))
        let secret = try String(contentsOfFile: directory + "/" + second[0], encoding: .utf8)
        let d = try #require(secret.split(separator: "\"").drop { $0 != "d" }.dropFirst(2).first)
        #expect(!lines.joined().contains(d))

        // A folder without keys: a plain failure.
        #expect(throws: CommandFailure.self) {
            try KeysCommand.Hub.List.parse(["--dir", folder.appendingPathComponent("none").path]).run()
        }
    }
}
