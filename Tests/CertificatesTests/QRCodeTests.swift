import Foundation
import FoundationXML
import QRCode
import Testing
import TongbanTesting

/// The QR codes of the verification page: libqrencode's matrix read through the Swift wrapper (sizes at the capacity
/// limits of the standard, the fixed patterns), the SVG drawn from it (well-formed, one path that covers exactly the
/// dark modules), the refusals, and a real reader (zbarimg) reading the SVG as chromium draws it.
@Suite("#20 QR codes (libqrencode) and their SVG", .sharedMachine)
struct QRCodeTests {
    @Test("The version follows the standard's capacities; the finder and timing patterns are where they belong")
    func matrix() throws {
        // 8-bit capacity at correction M: 14 bytes in version 1 (21 modules), so 15 need version 2 (25).
        let fourteen = try QRCode(encoding: "abcdefghijklmn", correction: .medium)
        #expect(fourteen.version == 1)
        #expect(fourteen.size == 21)
        let fifteen = try QRCode(encoding: "abcdefghijklmno", correction: .medium)
        #expect(fifteen.version == 2)
        #expect(fifteen.size == 25)
        // At correction H, version 1 holds only 7 bytes: the level reaches the library.
        #expect(try QRCode(encoding: "abcdefghijklmn", correction: .high).size == 25)
        // Numeric text is packed denser than bytes: 34 digits still fit version 1 at M.
        #expect(try QRCode(encoding: String(repeating: "7", count: 34)).size == 21)

        let code = try QRCode(encoding: "https://tongban.example/verify/0b7d5a4e-8f1e-4c1a-9a57-3c2d1e0f9a11")
        // A finder pattern in three corners: a dark 7×7 ring, a light ring inside it, a dark 3×3 centre, and a light
        // separator outside.
        for (left, top) in [(0, 0), (code.size - 7, 0), (0, code.size - 7)] {
            for y in -1...7 {
                for x in -1...7 {
                    let ring = max(abs(x - 3), abs(y - 3))
                    let expected = ring == 3 || ring <= 1
                    let inside = (0..<code.size).contains(left + x) && (0..<code.size).contains(top + y)
                    guard inside else { continue }
                    #expect(
                        code.isDark(x: left + x, y: top + y) == expected, "finder at (\(left), \(top)): (\(x), \(y))")
                }
            }
        }
        // The timing patterns alternate between the finders on row 6 and column 6; the dark module sits beside the
        // bottom-left finder.
        for i in 8..<(code.size - 8) {
            #expect(code.isDark(x: i, y: 6) == (i % 2 == 0))
            #expect(code.isDark(x: 6, y: i) == (i % 2 == 0))
        }
        #expect(code.isDark(x: 8, y: code.size - 8))
        // Outside the symbol is the light quiet zone.
        #expect(!code.isDark(x: -1, y: 0) && !code.isDark(x: 0, y: code.size) && !code.isDark(x: code.size, y: 3))
    }

    @Test("The SVG is well-formed XML with one path that draws exactly the dark modules, inside a 4-module quiet zone")
    func svg() throws {
        let code = try QRCode(encoding: "Tongban <证明> & \"核验\"")
        let svg = code.svg(moduleSize: 5)
        let side = code.size + 8
        let root = try SVGReader.read(svg)
        #expect(root.name == "svg")
        #expect(root.attributes["xmlns"] == "http://www.w3.org/2000/svg")
        #expect(root.attributes["viewBox"] == "0 0 \(side) \(side)")
        #expect(root.attributes["width"] == "\(side * 5)" && root.attributes["height"] == "\(side * 5)")
        #expect(root.attributes["shape-rendering"] == "crispEdges")
        #expect(root.attributes["role"] == "img")
        // The label holds the text, escaped in the document and whole once parsed.
        #expect(root.attributes["aria-label"] == "QR code: Tongban <证明> & \"核验\"")
        #expect(!svg.contains("<证明>"))
        #expect(root.children.map(\.name) == ["rect", "path"])
        #expect(root.children[0].attributes["fill"] == "#fff")

        // Draw the path back into a matrix: it must be the symbol, shifted by the quiet zone, and nothing else.
        let path = try #require(root.children[1].attributes["d"])
        var drawn = Set<[Int]>()
        let scanner = Scanner(string: path)
        while !scanner.isAtEnd {
            guard scanner.scanString("M") != nil, let x = scanner.scanInt(), let y = scanner.scanInt(),
                scanner.scanString("h") != nil, let run = scanner.scanInt(), scanner.scanString("v1h-") != nil,
                scanner.scanInt() == run, scanner.scanString("z") != nil
            else {
                Issue.record("unexpected path data at \(scanner.currentIndex): \(path)")
                return
            }
            for dx in 0..<run { #expect(drawn.insert([x + dx - 4, y - 4]).inserted, "drawn twice: \(x + dx), \(y)") }
        }
        var dark = Set<[Int]>()
        for y in 0..<code.size { for x in 0..<code.size where code.isDark(x: x, y: y) { dark.insert([x, y]) } }
        #expect(drawn == dark)
        #expect(!dark.isEmpty)

        // Another quiet zone and an explicit label.
        let bare = try SVGReader.read(code.svg(moduleSize: 1, quietZone: 0, label: "a & b"))
        #expect(bare.attributes["viewBox"] == "0 0 \(code.size) \(code.size)")
        #expect(bare.attributes["aria-label"] == "a & b")
    }

    @Test("Text longer than a version-40 symbol holds is refused with a typed error, and so is a NUL")
    func refusals() throws {
        // Version 40 at M holds 2331 bytes in 8-bit mode: the last byte that fits, then one too many.
        let largest = try QRCode(encoding: String(repeating: "a", count: 2331))
        #expect(largest.version == 40)
        #expect(largest.size == 177)
        #expect(throws: QRCodeError.textTooLong(bytes: 2332)) {
            try QRCode(encoding: String(repeating: "a", count: 2332))
        }
        // Two bytes of UTF-8 a character: the bytes count, not the characters.
        #expect(throws: QRCodeError.textTooLong(bytes: 4000)) {
            try QRCode(encoding: String(repeating: "é", count: 2000))
        }
        #expect(throws: QRCodeError.containsNUL) { try QRCode(encoding: "abc\u{0}def") }
        let refused: any Error = QRCodeError.textTooLong(bytes: 2332)
        #expect("\(refused)".contains("too long"))
    }

    @Test("chromium draws the standalone SVG and zbarimg reads the text back from the picture")
    func readBack() async throws {
        let text = "https://tongban.example/verify/0b7d5a4e-8f1e-4c1a-9a57-3c2d1e0f9a11?lang=zh-CN&v=2"
        let code = try QRCode(encoding: text)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tongban-qr-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("code.svg")
        try code.svg(moduleSize: 6).write(to: file, atomically: true, encoding: .utf8)
        let side = (code.size + 8) * 6
        let png = try await HeadlessBrowser().screenshot(of: file, width: side + 40, height: side + 40)
        #expect(try await HeadlessBrowser.decodeQRCodes(png: png) == [text])
    }
}

/// A small DOM of an XML document, read with Foundation's XMLParser (which refuses a document that is not
/// well-formed).
final class SVGReader: NSObject, XMLParserDelegate {
    /// An element, its attributes, and its child elements.
    final class Element {
        let name: String
        let attributes: [String: String]
        var children: [Element] = []

        init(name: String, attributes: [String: String]) {
            self.name = name
            self.attributes = attributes
        }
    }

    private var stack: [Element] = []
    private var root: Element?

    /// Parses `text`; throws unless it is well-formed XML with one root element.
    static func read(_ text: String) throws -> Element {
        let reader = SVGReader()
        let parser = XMLParser(data: Data(text.utf8))
        parser.delegate = reader
        guard parser.parse(), let root = reader.root else {
            throw XMLError(description: "not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "no root")")
        }
        return root
    }

    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        let element = Element(name: elementName, attributes: attributes)
        if let parent = stack.last { parent.children.append(element) } else { root = element }
        stack.append(element)
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        stack.removeLast()
    }

    struct XMLError: Error, CustomStringConvertible {
        let description: String
    }
}
