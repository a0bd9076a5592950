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
                out.append(contentsOf: try Self.canonicalNumber(text).utf8)
            } else {
                out.append(contentsOf: text.utf8)
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
            if canonical {
                try object.writeCanonical(into: &out) { _ in
                    false
                } member: { _, _, _ in
                }
            } else {
                out.append(UInt8(ascii: "{"))
                for (i, member) in object.members.enumerated() {
                    if i > 0 { out.append(UInt8(ascii: ",")) }
                    Self.writeString(member.key, into: &out)
                    out.append(UInt8(ascii: ":"))
                    try member.value.write(into: &out, canonical: false)
                }
                out.append(UInt8(ascii: "}"))
            }
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
        var text = s
        text.withUTF8 { utf8 in
            // Runs of bytes that need no escape are copied at once.
            var runStart = 0
            for (index, byte) in utf8.enumerated() where byte < 0x20 || byte == 0x22 || byte == 0x5C {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
                runStart = index + 1
                switch byte {
                case 0x22: out.append(contentsOf: [0x5C, 0x22])
                case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
                case 0x08: out.append(contentsOf: [0x5C, UInt8(ascii: "b")])
                case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
                case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
                case 0x0C: out.append(contentsOf: [0x5C, UInt8(ascii: "f")])
                case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
                default:
                    let hex: StaticString = "0123456789abcdef"
                    let digits = hex.utf8Start
                    out.append(contentsOf: [
                        0x5C, UInt8(ascii: "u"), 0x30, 0x30, digits[Int(byte >> 4)], digits[Int(byte & 0xF)],
                    ])
                }
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...]))
        }
        out.append(UInt8(ascii: "\""))
    }
}

extension JSONObject {
    /// Writes the object in RFC 8785 canonical form, leaving out the members `omit` names, and reports where each
    /// member written landed in `out`.
    /// - Parameters:
    ///   - out: where to write.
    ///   - omit: whether a member is left out.
    ///   - member: called for each member written, in canonical order: its name, its span in `out` (from the comma
    ///     before it, or from its name for the first member, to the end of its value) and its value's span.
    /// - Throws: ``JSONCanonicalizationError`` for a number that is not a small integer.
    func writeCanonical(
        into out: inout [UInt8], omitting omit: (String) -> Bool, member: (String, Range<Int>, Range<Int>) -> Void
    ) throws(JSONCanonicalizationError) {
        out.append(UInt8(ascii: "{"))
        var first = true
        for index in canonicalOrder() {
            let (key, value) = members[index]
            if omit(key) { continue }
            let start = out.count
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            JSONValue.writeString(key, into: &out)
            out.append(UInt8(ascii: ":"))
            let valueStart = out.count
            try value.write(into: &out, canonical: true)
            member(key, start..<out.count, valueStart..<out.count)
        }
        out.append(UInt8(ascii: "}"))
    }

    /// The indices of the members sorted by the UTF-16 code units of their names (RFC 8785).
    func canonicalOrder() -> [Int] {
        var order = Array(members.indices)
        // Objects of events have a dozen members at most: insertion sort.
        for i in order.indices.dropFirst() {
            let current = order[i]
            var j = i
            while j > 0 && Self.precedes(members[current].key, members[order[j - 1]].key) {
                order[j] = order[j - 1]
                j -= 1
            }
            order[j] = current
        }
        return order
    }

    /// Whether `a` sorts before `b` by UTF-16 code units.
    ///
    /// UTF-8 byte order is code point order, which agrees with UTF-16 order except between U+E000…U+FFFF and the
    /// supplementary planes: the names are compared byte by byte, and only when the first bytes that differ lead such
    /// characters (0xEE and above) by their UTF-16 code units.
    static func precedes(_ a: String, _ b: String) -> Bool {
        let byBytes: Bool?? = a.utf8.withContiguousStorageIfAvailable { x -> Bool? in
            let inner: Bool?? = b.utf8.withContiguousStorageIfAvailable { y -> Bool? in
                let common = min(x.count, y.count)
                var i = 0
                while i < common && x[i] == y[i] { i += 1 }
                if i == common { return x.count < y.count }
                if x[i] >= 0xEE || y[i] >= 0xEE { return nil }
                return x[i] < y[i]
            }
            return inner ?? nil
        }
        if let byBytes, let result = byBytes { return result }
        return a.utf16.lexicographicallyPrecedes(b.utf16)
    }
}
