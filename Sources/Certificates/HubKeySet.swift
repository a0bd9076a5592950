import Events
public import Foundation

/// Why the hub's keys could not be loaded, created or rotated.
public struct HubKeyError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure.
    public enum Code: String, Sendable, Hashable {
        /// The folder has no keys (no `hub-keys.json`), or the current key's private file is missing.
        case notFound
        /// `create` was asked where keys already are.
        case alreadyExists
        /// A key file is not what it should be (not JSON, a missing member, a bad key id, a bad date…).
        case malformed
        /// A private key file holds another key than the public key published for it.
        case mismatch
        /// A private key file that others may read, or a symbolic link.
        case insecure
        /// The system refused (permissions, a full disk…).
        case io
        /// The key cannot sign (it is retired).
        case cannotSign
    }

    /// What kind of failure.
    public let code: Code
    /// Plain words for a person (never any key material).
    public let reason: String
    public var description: String { reason }

    init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    init(_ error: KeyFileError) {
        switch error.code {
        case .exists: self.init(.alreadyExists, error.reason)
        case .notFound: self.init(.notFound, error.reason)
        case .insecure: self.init(.insecure, error.reason)
        case .failed: self.init(.io, error.reason)
        }
    }
}

/// The hub's signing keys: the current key, which signs certificates and status lists, and every key retired by a
/// rotation, whose public half stays published for good. did:web keeps no history: a certificate signed before a
/// rotation verifies only if the DID document still lists the key that signed it.
///
/// On disk (`--dir`), a folder holds:
/// - `hub-keys.json`: every key's id, public key (Multikey), creation time and, for a retired key, retirement time,
///   and which key is current. It holds nothing secret.
/// - `<kid>.private.jwk`: the current key's private JWK, mode 0600, created with `O_CREAT | O_EXCL` (never over
///   anything). A rotation deletes the retired key's file.
/// - `hub-keys.lock`: taken while keys are created or rotated, so two commands take turns.
///
/// Every change is crash-safe: the new private key file is written and synced first, then `hub-keys.json` is
/// replaced whole (a new file renamed over the old one), then the retired private file is removed. A crash at any
/// point leaves a folder that loads as before or as after.
public struct HubKeySet: Sendable {
    /// The file listing the keys.
    public static let manifestName = "hub-keys.json"
    /// The format written in the manifest's `format` member.
    static let manifestFormat = "tongban-hub-keys/1"

    /// The key that signs now.
    public let current: HubKey
    /// The keys that signed before, newest first (public halves only).
    public let retired: [HubKey]

    /// Every key, current first, then retired ones newest first.
    public var keys: [HubKey] { [current] + retired }

    /// The key with this id, current or retired.
    /// - Parameter id: a key id.
    /// - Returns: the key, or `nil`.
    public func key(id: String) -> HubKey? {
        keys.first { $0.id == id }
    }

    init(current: HubKey, retired: [HubKey]) {
        self.current = current
        self.retired = retired.sorted {
            ($0.retiredAt ?? .distantPast, $0.createdAt) > ($1.retiredAt ?? .distantPast, $1.createdAt)
        }
    }

    /// A key set that lives in memory only (for `tongban dev` and tests): one fresh current key, nothing retired.
    /// - Parameter now: the creation time.
    /// - Returns: the key set.
    public static func ephemeral(now: Date = Date()) -> HubKeySet {
        HubKeySet(current: HubKey.generate(id: newKeyID(now: now, taken: []), createdAt: now), retired: [])
    }

    /// Reads the keys from a folder, checking that the current key's private file belongs to the public key
    /// `hub-keys.json` publishes for it and that only its owner can read it.
    /// - Parameter directory: the folder.
    /// - Returns: the key set.
    /// - Throws: ``HubKeyError`` saying what is missing or wrong.
    public static func load(directory: String) throws(HubKeyError) -> HubKeySet {
        let manifestPath = path(directory, manifestName)
        let bytes: [UInt8]
        do throws(KeyFileError) {
            bytes = try KeyFile.read(at: manifestPath, private: false)
        } catch let error where error.code == .notFound {
            throw HubKeyError(
                .notFound, "\(directory) has no hub keys (no \(manifestName)): make them with `tongban keys hub create`"
            )
        } catch {
            throw HubKeyError(error)
        }
        let manifest = try Manifest(parsing: bytes, path: manifestPath)
        let current = manifest.current
        let privatePath = path(directory, privateFileName(current.id))
        let jwk: [UInt8]
        do throws(KeyFileError) {
            jwk = try KeyFile.read(at: privatePath, private: true, maximumBytes: 4096)
        } catch let error where error.code == .notFound {
            throw HubKeyError(
                .notFound, "the current key \(current.id)'s private file \(privatePath) is missing")
        } catch {
            throw HubKeyError(error)
        }
        let privateKey = try current.privateKey(fromJWK: jwk, path: privatePath)
        return HubKeySet(
            current: HubKey(
                id: current.id, publicKey: current.publicKey, createdAt: current.createdAt, retiredAt: nil,
                privateKey: privateKey),
            retired: manifest.retired)
    }

    /// Makes the first key in a folder (created, mode 0700, if missing); refuses a folder that already has keys.
    /// - Parameters:
    ///   - directory: the folder.
    ///   - now: the creation time.
    /// - Returns: the new key set.
    /// - Throws: ``HubKeyError`` `.alreadyExists` when `hub-keys.json` or any private key file is there, or what
    ///   writing the files throws.
    @discardableResult
    public static func create(directory: String, now: Date = Date()) throws(HubKeyError) -> HubKeySet {
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw HubKeyError(.io, "could not create the folder \(directory): \(error.localizedDescription)")
        }
        return try KeyFile.withLock(in: directory) { () throws(HubKeyError) -> HubKeySet in
            guard !KeyFile.exists(path(directory, manifestName)) else {
                throw HubKeyError(
                    .alreadyExists,
                    "\(directory) already has hub keys (\(manifestName)); rotate them with `tongban keys hub rotate`, "
                        + "never create over them")
            }
            let strays = privateFiles(in: directory)
            guard strays.isEmpty else {
                throw HubKeyError(
                    .alreadyExists,
                    "\(directory) holds \(strays.joined(separator: ", ")) but no \(manifestName): restore "
                        + "\(manifestName), or remove the private key files if they are not needed")
            }
            let key = HubKey.generate(id: newKeyID(now: now, taken: []), createdAt: now)
            let keySet = HubKeySet(current: key, retired: [])
            try write(keySet, to: directory)
            return keySet
        }
    }

    /// Rotates the keys: a new key becomes current; the previous one is retired, its public half stays published,
    /// and its private file is deleted.
    /// - Parameters:
    ///   - directory: the folder.
    ///   - now: the rotation time.
    /// - Returns: the new key set.
    /// - Throws: ``HubKeyError`` when the keys cannot be loaded or written (the folder then loads as before).
    @discardableResult
    public static func rotate(directory: String, now: Date = Date()) throws(HubKeyError) -> HubKeySet {
        guard KeyFile.exists(path(directory, manifestName)) else {
            throw HubKeyError(
                .notFound, "\(directory) has no hub keys (no \(manifestName)): make them with `tongban keys hub create`"
            )
        }
        return try KeyFile.withLock(in: directory) { () throws(HubKeyError) -> HubKeySet in
            let old = try load(directory: directory)
            let taken = Set(old.keys.map(\.id))
            let key = HubKey.generate(
                id: newKeyID(now: now, taken: taken) { KeyFile.exists(path(directory, privateFileName($0))) },
                createdAt: now)
            let keySet = HubKeySet(current: key, retired: [old.current.retired(at: now)] + old.retired)
            try write(keySet, to: directory)
            // Only now that hub-keys.json names the new key: the retired private files go (also any left by a crash).
            for retired in keySet.retired {
                do throws(KeyFileError) {
                    try KeyFile.remove(at: path(directory, privateFileName(retired.id)))
                } catch {
                    throw HubKeyError(error)
                }
            }
            return keySet
        }
    }

    /// Writes the current key's private file (new, 0600), then replaces `hub-keys.json` whole.
    static func write(_ keySet: HubKeySet, to directory: String) throws(HubKeyError) {
        guard let jwk = keySet.current.privateJWK else {
            throw HubKeyError(.cannotSign, "the current key \(keySet.current.id) has no private half")
        }
        do throws(KeyFileError) {
            try KeyFile.createExclusive(at: path(directory, privateFileName(keySet.current.id)), contents: jwk)
            try KeyFile.syncFolder(of: path(directory, manifestName))
            try KeyFile.replace(at: path(directory, manifestName), contents: Manifest.bytes(of: keySet), mode: 0o644)
        } catch {
            throw HubKeyError(error)
        }
    }

    /// A key id not yet used: `key-<UTC day>-<n>`, with the smallest `n` ≥ 1 that is free.
    static func newKeyID(now: Date, taken: Set<String>, fileExists: (String) -> Bool = { _ in false }) -> String {
        let day = Timestamp.format(now).prefix(10)
        var number = 1
        while taken.contains("key-\(day)-\(number)") || fileExists("key-\(day)-\(number)") { number += 1 }
        return "key-\(day)-\(number)"
    }

    /// The private file of a key.
    static func privateFileName(_ id: String) -> String { "\(id).private.jwk" }

    /// The private key files in a folder.
    static func privateFiles(in directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasSuffix(".private.jwk") }.sorted()
    }

    /// A file in a folder.
    static func path(_ directory: String, _ name: String) -> String {
        (directory as NSString).appendingPathComponent(name)
    }
}

/// `hub-keys.json`: the keys' public halves and times, and which key is current.
struct Manifest {
    /// The current key (public half only).
    var current: HubKey
    /// The retired keys.
    var retired: [HubKey]

    /// Reads and checks a manifest.
    /// - Parameters:
    ///   - bytes: the file's bytes.
    ///   - path: the file (for the error's words).
    /// - Throws: ``HubKeyError`` `.malformed` saying what is wrong.
    init(parsing bytes: [UInt8], path: String) throws(HubKeyError) {
        func malformed(_ words: String) -> HubKeyError { HubKeyError(.malformed, "\(path): \(words)") }
        guard let json = try? JSONParser.parse(bytes) else { throw malformed("not JSON") }
        guard json["format"]?.stringValue == HubKeySet.manifestFormat else {
            throw malformed("not a hub key list (its format is not \(HubKeySet.manifestFormat))")
        }
        guard let currentID = json["current"]?.stringValue else { throw malformed("no current key is named") }
        guard let entries = json["keys"]?.arrayValue else { throw malformed("no list of keys") }
        var keys: [HubKey] = []
        for entry in entries {
            guard let id = entry["kid"]?.stringValue, HubKey.isValidID(id) else {
                throw malformed("a key has no kid, or one that is not 1–64 of A-Z a-z 0-9 . _ -")
            }
            guard !keys.contains(where: { $0.id == id }) else { throw malformed("the key \(id) is listed twice") }
            guard let multikey = entry["publicKeyMultibase"]?.stringValue, let publicKey = Multikey.decode(multikey)
            else { throw malformed("the key \(id) has no Ed25519 publicKeyMultibase") }
            guard let created = entry["created"]?.stringValue.flatMap(Timestamp.parse) else {
                throw malformed("the key \(id) has no creation time")
            }
            var retiredAt: Date?
            if let retired = entry["retired"], retired != .null {
                guard let date = retired.stringValue.flatMap(Timestamp.parse) else {
                    throw malformed("the key \(id) has a retirement time that is not a time")
                }
                retiredAt = date
            }
            guard (id == currentID) == (retiredAt == nil) else {
                throw malformed(
                    id == currentID
                        ? "the current key \(id) has a retirement time" : "the key \(id) is neither current nor retired"
                )
            }
            keys.append(
                HubKey(id: id, publicKey: publicKey, createdAt: created, retiredAt: retiredAt, privateKey: nil))
        }
        guard let current = keys.first(where: { $0.id == currentID }) else {
            throw malformed("the current key \(currentID) is not in the list")
        }
        self.current = current
        self.retired = keys.filter { $0.id != currentID }
    }

    /// The manifest of a key set: one key a line, current first.
    static func bytes(of keySet: HubKeySet) -> [UInt8] {
        let lines = keySet.keys.map { key -> String in
            var entry = JSONObject([
                ("kid", .string(key.id)), ("publicKeyMultibase", .string(key.publicKeyMultibase)),
                ("created", .string(Timestamp.format(key.createdAt))),
            ])
            if let retiredAt = key.retiredAt { entry["retired"] = .string(Timestamp.format(retiredAt)) }
            return "    " + String(decoding: JSONValue.object(entry).serialized, as: UTF8.self)
        }
        let head = JSONObject([
            ("format", .string(HubKeySet.manifestFormat)), ("current", .string(keySet.current.id)),
        ])
        var text = String(decoding: JSONValue.object(head).serialized, as: UTF8.self)
        text.removeLast()
        text += ",\n  \"keys\": [\n" + lines.joined(separator: ",\n") + "\n  ]\n}\n"
        return Array(text.utf8)
    }
}
