internal import CQREncode

#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Darwin)
    internal import Darwin
#endif

/// A QR code symbol (ISO/IEC 18004), encoded by libqrencode: its square matrix of modules, and an SVG drawing of it.
///
/// The text is encoded as UTF-8; libqrencode picks the smallest version (size) that holds it at the requested error
/// correction, and uses numeric or alphanumeric segments where they are shorter. The C result is copied into Swift
/// storage and freed at once, so a value of this type holds no C memory. Encoding takes microseconds and does not
/// block, and Debian's libqrencode is built thread-safe, so it may run on any task.
public struct QRCode: Sendable, Hashable {
    /// How much of the symbol may be damaged or hidden and still be read; more correction makes a larger symbol.
    public enum ErrorCorrection: Sendable, Hashable {
        /// About 7 % of the codewords can be restored.
        case low
        /// About 15 % (the usual choice for print).
        case medium
        /// About 25 %.
        case quartile
        /// About 30 %.
        case high

        var level: QRecLevel {
            switch self {
            case .low: QR_ECLEVEL_L
            case .medium: QR_ECLEVEL_M
            case .quartile: QR_ECLEVEL_Q
            case .high: QR_ECLEVEL_H
            }
        }
    }

    /// The text encoded.
    public let text: String
    /// Modules on a side of the symbol, without the quiet zone.
    public let size: Int
    /// Row by row, `true` for a dark module.
    private let modules: [Bool]

    /// The symbol's version, 1–40: version `v` has `17 + 4v` modules a side.
    public var version: Int { (size - 17) / 4 }

    /// Encodes `text` as a QR code.
    /// - Parameters:
    ///   - text: what the code holds, as UTF-8 (at most 2 331 bytes at `.medium`, fewer at higher correction).
    ///   - correction: the error correction level.
    /// - Throws: ``QRCodeError/textTooLong(bytes:)`` when no QR version holds the text,
    ///   ``QRCodeError/containsNUL`` when the text has a NUL character (it cannot be passed to the C library),
    ///   ``QRCodeError/encodingFailed(errno:)`` for any other failure of the library.
    public init(encoding text: String, correction: ErrorCorrection = .medium) throws(QRCodeError) {
        guard !text.utf8.contains(0) else { throw .containsNUL }
        let result: Result<(size: Int, modules: [Bool]), QRCodeError> = text.withCString { string in
            errno = 0
            guard let code = QRcode_encodeString(string, 0, correction.level, QR_MODE_8, 1) else {
                let number = errno
                return .failure(
                    number == ERANGE ? .textTooLong(bytes: text.utf8.count) : .encodingFailed(errno: number))
            }
            defer { QRcode_free(code) }
            let width = Int(code.pointee.width)
            // Each byte is one module; its lowest bit is 1 for dark (the other bits say what the module is part of).
            let data = UnsafeBufferPointer(start: code.pointee.data, count: width * width)
            return .success((width, data.map { $0 & 1 == 1 }))
        }
        switch result {
        case .success(let symbol):
            self.text = text
            self.size = symbol.size
            self.modules = symbol.modules
        case .failure(let error):
            throw error
        }
    }

    /// Whether the module in column `x`, row `y` is dark.
    /// - Parameters:
    ///   - x: the column, 0 at the left.
    ///   - y: the row, 0 at the top.
    /// - Returns: `true` for a dark module; `false` for a light one and for any place outside the symbol (the quiet
    ///   zone around it is light).
    public func isDark(x: Int, y: Int) -> Bool {
        guard (0..<size).contains(x), (0..<size).contains(y) else { return false }
        return modules[y * size + x]
    }

    /// The symbol as a standalone SVG document: a white square, and one path drawing every dark module, each row's
    /// runs of dark modules as rectangles.
    ///
    /// The drawing's units are modules (the `viewBox`); `width` and `height` scale it to `moduleSize` units a module,
    /// and CSS may size it otherwise. `shape-rendering="crispEdges"` keeps module edges sharp on screen.
    /// - Parameters:
    ///   - moduleSize: the width of a module in user units (pixels when nothing else sizes the drawing), at least 1.
    ///   - quietZone: the light margin in modules; readers need 4 (the default).
    ///   - label: what the image is, for screen readers (`aria-label`); by default "QR code: " and the text. It is
    ///     escaped here.
    /// - Returns: the SVG document, without an XML declaration, so that it can be inlined into HTML as it is.
    public func svg(moduleSize: Int = 4, quietZone: Int = 4, label: String? = nil) -> String {
        let margin = max(0, quietZone)
        let side = size + 2 * margin
        let pixels = side * max(1, moduleSize)
        var path = ""
        path.reserveCapacity(size * size)
        for y in 0..<size {
            var x = 0
            while x < size {
                guard isDark(x: x, y: y) else {
                    x += 1
                    continue
                }
                var run = 1
                while isDark(x: x + run, y: y) { run += 1 }
                path += "M\(x + margin) \(y + margin)h\(run)v1h-\(run)z"
                x += run
            }
        }
        let name = Self.escapeXML(label ?? "QR code: \(text)")
        return """
            <svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="\(pixels)" height="\(pixels)" \
            viewBox="0 0 \(side) \(side)" shape-rendering="crispEdges" role="img" aria-label="\(name)">\
            <rect width="\(side)" height="\(side)" fill="#fff"/><path fill="#000" d="\(path)"/></svg>
            """
    }

    /// Escapes text for an XML attribute value or character data.
    static func escapeXML(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            // Characters XML 1.0 does not allow at all: a replacement character keeps the document well-formed.
            case "\u{0}"..."\u{8}", "\u{B}", "\u{C}", "\u{E}"..."\u{1F}", "\u{FFFE}", "\u{FFFF}":
                escaped += "\u{FFFD}"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }
}

/// Why a QR code could not be made.
public enum QRCodeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The text is longer than the largest QR code (version 40) holds at the requested error correction.
    case textTooLong(bytes: Int)
    /// The text has a NUL character, which the C library cannot be given.
    case containsNUL
    /// libqrencode failed otherwise (`errno` as it set it: `ENOMEM`, `EINVAL`).
    case encodingFailed(errno: Int32)

    /// The failure in plain words.
    public var description: String {
        switch self {
        case .textTooLong(let bytes):
            "the text (\(bytes) bytes of UTF-8) is too long for a QR code at this error correction"
        case .containsNUL: "the text contains a NUL character, which a QR code made here cannot hold"
        case .encodingFailed(let number): "libqrencode failed (errno \(number))"
        }
    }
}
