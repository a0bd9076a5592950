public import Logging
import Synchronization

/// Every log line a logger wrote, as text (level, message, metadata, source), for tests that look for what must not
/// be there (a secret, a password).
public final class LogCapture: Sendable {
    private let captured = Mutex<[String]>([])

    /// Creates an empty capture.
    public init() {}

    /// A logger writing here, at every level.
    public var logger: Logger {
        var logger = Logger(label: "tongban.test") { _ in Handler(capture: self) }
        logger.logLevel = .trace
        return logger
    }

    /// The lines so far.
    public var lines: [String] { captured.withLock { $0 } }

    fileprivate func append(_ line: String) { captured.withLock { $0.append(line) } }

    private struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let all = metadata.merging(event.metadata ?? [:]) { $1 }
            capture.append(
                "\(event.level) \(event.source) \(event.message) \(all.map { "\($0.key)=\($0.value)" }.sorted())")
        }
    }
}
