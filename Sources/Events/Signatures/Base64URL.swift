import Foundation

/// Base64url without padding (RFC 4648 §5), as JWKs, `tbsig` and multibase `u` use it.
///
/// Foundation does the Base64 work; only the two alphabet letters and the padding are translated, byte by byte
/// (this runs once per verified event, so it avoids `String` searching and `Character` classification).
public enum Base64URL {
    /// Encodes bytes as Base64url without padding.
    /// - Parameter bytes: the bytes.
    /// - Returns: the text.
    public static func encode<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
        var text = Array(Data(bytes).base64EncodedData())
        while text.last == UInt8(ascii: "=") { text.removeLast() }
        for index in text.indices {
            switch text[index] {
            case UInt8(ascii: "+"): text[index] = UInt8(ascii: "-")
            case UInt8(ascii: "/"): text[index] = UInt8(ascii: "_")
            default: break
            }
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Decodes Base64url without padding; padding, whitespace and the `+` `/` letters of plain Base64 are refused.
    /// - Parameter text: the text.
    /// - Returns: the bytes, or `nil` when the text is not Base64url.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        var base64: [UInt8] = []
        base64.reserveCapacity(text.utf8.count + 3)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"):
                base64.append(byte)
            case UInt8(ascii: "-"): base64.append(UInt8(ascii: "+"))
            case UInt8(ascii: "_"): base64.append(UInt8(ascii: "/"))
            default: return nil
            }
        }
        guard base64.count % 4 != 1 else { return nil }
        while base64.count % 4 != 0 { base64.append(UInt8(ascii: "=")) }
        return Data(base64Encoded: Data(base64)).map { Array($0) }
    }
}
