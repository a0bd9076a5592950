/// Why a value has no canonical form.
public struct JSONCanonicalizationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What could not be canonicalized.
    public let reason: String
    public var description: String { "cannot canonicalize: \(reason)" }
}

extension JSONValue {
    /// Compact JSON, members in their order.
    public var serialized: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        try? write(into: &out, canonical: false)
        return out
    }

    /// The canonical bytes of RFC 8785 (JSON Canonicalization Scheme): no insignificant whitespace,
    /// members sorted by the UTF-16 code units of their names at every level, strings with the
    /// minimal escapes. These are the bytes a department signs.
    ///
    /// Numbers are canonical only as integers of at most 15 digits (Tongban's schemas carry none;
    /// other numbers would need ECMAScript's double formatting, which this does not attempt).
    /// - Returns: the canonical UTF-8 bytes.
    /// - Throws: ``JSONCanonicalizationError`` for a number that is not a small integer.
    public func canonicalBytes() throws(JSONCanonicalizationError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(512)
        try write(into: &out, canonical: true)
        return out
    }

    func write(into out: inout [UInt8], canonical: Bool) throws(JSONCanonicalizationError) {
        switch self {
        case .null: out.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])
        case .bool(true): out.append(contentsOf: [0x74, 0x72, 0x75, 0x65])
        case .bool(false): out.append(contentsOf: [0x66, 0x61, 0x6C, 0x73, 0x65])
        case .number(let text):
            if canonical {
                out.append(contentsOf: Array(try Self.canonicalNumber(text).utf8))
            } else {
                out.append(contentsOf: Array(text.utf8))
            }
        case .string(let s): Self.writeString(s, into: &out)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (i, element) in elements.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                try element.write(into: &out, canonical: canonical)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            out.append(UInt8(ascii: "{"))
            let members =
                canonical
                ? object.members.sorted { $0.key.utf16.lexicographicallyPrecedes($1.key.utf16) } : object.members
            for (i, member) in members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                Self.writeString(member.key, into: &out)
                out.append(UInt8(ascii: ":"))
                try member.value.write(into: &out, canonical: canonical)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    static func canonicalNumber(_ text: String) throws(JSONCanonicalizationError) -> String {
        guard !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }), text.count <= 16,
            let value = Int64(text), abs(value) < 1_000_000_000_000_000
        else { throw JSONCanonicalizationError(reason: "the number \(text) (only integers up to 15 digits)") }
        return String(value)  // also turns -0 into 0
    }

    static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in s.utf8 {
            switch byte {
            case 0x22: out.append(contentsOf: [0x5C, 0x22])
            case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
            case 0x08: out.append(contentsOf: [0x5C, UInt8(ascii: "b")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0C: out.append(contentsOf: [0x5C, UInt8(ascii: "f")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case ..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
