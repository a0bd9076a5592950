public import Foundation

/// A real browser for tests: Debian's `chromium`, headless, loads a page and hands back its DOM after parsing and
/// styling, or a PNG screenshot of it; `zbarimg` reads the QR codes in a screenshot.
///
/// Each call starts its own browser with a fresh profile directory (removed afterwards) and no sandbox (tests run
/// as root in containers); `timeout` from coreutils runs it in a process group of its own and kills the whole group
/// (the browser and its helper processes) when it overruns. A missing program is an error that says what to
/// install: the tests that use this never skip.
public struct HeadlessBrowser: Sendable {
    /// The browser's path.
    public let chromium: String
    /// How long one load may take before the browser is killed.
    public let timeout: Duration

    /// Finds the browser.
    /// - Parameter timeout: how long one load may take before the browser is killed (whole seconds; at least 1).
    /// - Throws: ``HeadlessBrowserError`` when `chromium` or `timeout` is not in `PATH`.
    public init(timeout: Duration = .seconds(60)) throws {
        chromium = try Self.find("chromium", package: "chromium")
        self.timeout = timeout
    }

    /// Loads `url` and returns the document as the browser holds it after loading (`--dump-dom`), serialized.
    /// - Parameter url: a `file:` or `http:` URL.
    /// - Returns: the serialized DOM.
    /// - Throws: ``HeadlessBrowserError`` when the browser fails, overruns its time, or prints nothing.
    public func dumpDOM(of url: URL) async throws -> String {
        try await load(url, dom: true).dom
    }

    /// Loads `url` in a window of `width` × `height` CSS pixels and returns a PNG of what it shows (`--screenshot`).
    /// - Parameters:
    ///   - url: a `file:` or `http:` URL.
    ///   - width: the window's width.
    ///   - height: the window's height (only that much of the page is in the picture).
    /// - Returns: the PNG's bytes.
    /// - Throws: ``HeadlessBrowserError`` when the browser fails, overruns its time, or writes no picture.
    public func screenshot(of url: URL, width: Int, height: Int) async throws -> Data {
        try await load(url, window: (width, height)).png
    }

    /// What one load of a page gave.
    public struct Capture: Sendable {
        /// The serialized DOM after loading (empty when it was not asked for).
        public let dom: String
        /// A PNG of the window (empty when it was not asked for).
        public let png: Data
        /// The page printed to PDF with its print stylesheet (no header or footer added), when it was asked for.
        public let pdf: Data?
    }

    /// Loads `url` once and hands back its DOM, a PNG of the window, and, if asked, the page printed to PDF: one
    /// browser launch for what ``dumpDOM(of:)`` and ``screenshot(of:width:height:)`` take one each for.
    /// - Parameters:
    ///   - url: a `file:` or `http:` URL.
    ///   - width: the window's width in CSS pixels.
    ///   - height: the window's height (only that much of the page is in the picture).
    ///   - printToPDF: whether to print the page to PDF too (the page's `@page` rules set the paper).
    /// - Returns: the DOM, the picture, and the PDF if asked for.
    /// - Throws: ``HeadlessBrowserError`` when the browser fails, overruns its time, or leaves out something asked.
    public func capture(of url: URL, width: Int, height: Int, printToPDF: Bool = false) async throws -> Capture {
        try await load(url, dom: true, window: (width, height), printToPDF: printToPDF)
    }

    /// Loads `url` in one browser launch, asking for what is given (`--dump-dom`, `--screenshot` of a window of that
    /// size, `--print-to-pdf`), and checks that each part asked for came back.
    private func load(
        _ url: URL, dom: Bool = false, window: (width: Int, height: Int)? = nil, printToPDF: Bool = false
    ) async throws -> Capture {
        let directory = try Self.temporaryDirectory("capture")
        defer { try? FileManager.default.removeItem(at: directory) }
        let picture = directory.appendingPathComponent("page.png")
        let print = directory.appendingPathComponent("page.pdf")
        var arguments = dom ? ["--dump-dom"] : []
        if let window {
            arguments += [
                "--screenshot=\(picture.path)", "--window-size=\(window.width),\(window.height)", "--hide-scrollbars",
            ]
        }
        if printToPDF { arguments += ["--print-to-pdf=\(print.path)", "--no-pdf-header-footer"] }
        let result = try await run(arguments + [url.absoluteString])
        guard !dom || !result.output.isEmpty else {
            throw HeadlessBrowserError("chromium --dump-dom \(url) printed nothing\(Self.tail(of: result.errors))")
        }
        /// The file chromium was asked to write, which must not be empty.
        func written(_ file: URL, by option: String) throws -> Data {
            guard let data = FileManager.default.contents(atPath: file.path), !data.isEmpty else {
                throw HeadlessBrowserError("chromium \(option) \(url) wrote nothing\(Self.tail(of: result.errors))")
            }
            return data
        }
        return Capture(
            dom: dom ? result.output : "", png: try window == nil ? Data() : written(picture, by: "--screenshot"),
            pdf: try printToPDF ? written(print, by: "--print-to-pdf") : nil)
    }

    /// Reads every QR code (and other barcode zbar knows) in a picture with `zbarimg --raw -q`.
    /// - Parameter png: the picture (PNG).
    /// - Returns: what each code holds, one string a code, in the order zbarimg finds them; empty when it finds none.
    /// - Throws: ``HeadlessBrowserError`` when `zbarimg` is missing or fails.
    public static func decodeQRCodes(png: Data) async throws -> [String] {
        let zbarimg = try find("zbarimg", package: "zbar-tools")
        let directory = try temporaryDirectory("zbar")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("codes.png")
        try png.write(to: file)
        let result = try await TestProcess.run(zbarimg, ["--raw", "-q", file.path])
        // zbarimg exits 4 when the picture holds no code at all.
        switch result.status {
        case 0: break
        case 4: return []
        default:
            throw HeadlessBrowserError("zbarimg failed with status \(result.status)\(tail(of: result.errors))")
        }
        var lines = result.output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    /// Runs the browser with `arguments` after the common ones, under `timeout`, with a profile directory of its own.
    private func run(_ arguments: [String]) async throws -> TestProcess.Result {
        let timeoutCommand = try Self.find("timeout", package: "coreutils")
        let profile = try Self.temporaryDirectory("chromium-profile")
        defer { try? FileManager.default.removeItem(at: profile) }
        let seconds = max(1, timeout.components.seconds)
        let result = try await TestProcess.run(
            timeoutCommand,
            ["--kill-after=5", "\(seconds)", chromium]
                + [
                    "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(profile.path)", "--no-first-run",
                    "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
                    "--disable-sync", "--disable-component-update", "--mute-audio",
                ] + arguments)
        switch result.status {
        case 0: return result
        // 124: `timeout` sent TERM at the limit; 137: it had to send KILL.
        case 124, 137:
            throw HeadlessBrowserError(
                "chromium did not finish within \(seconds) s and was killed (\(arguments.joined(separator: " ")))")
        default:
            throw HeadlessBrowserError(
                "chromium exited with status \(result.status) (\(arguments.joined(separator: " ")))"
                    + Self.tail(of: result.errors))
        }
    }

    /// The last lines of a program's standard error that say something (chromium's complaints about a missing
    /// D-Bus are left out), for an error message.
    private static func tail(of errors: String) -> String {
        let lines = errors.split(separator: "\n").filter { !$0.contains("dbus") && !$0.contains("unexpected operator") }
        guard !lines.isEmpty else { return "" }
        return ":\n" + lines.suffix(15).joined(separator: "\n")
    }

    /// The path of `name` in `PATH`.
    private static func find(_ name: String, package: String) throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw HeadlessBrowserError(
            "\(name) is not installed (not in PATH: \(path)); the browser tests need it and do not skip: "
                + "install the Debian package \(package) (apt-get install \(package))")
    }

    /// A new empty directory under the temporary directory.
    private static func temporaryDirectory(_ purpose: String) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tongban-\(purpose)-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }
}

/// Why the browser or the barcode reader could not do what a test asked, in plain words.
public struct HeadlessBrowserError: Error, CustomStringConvertible {
    /// What went wrong.
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}
