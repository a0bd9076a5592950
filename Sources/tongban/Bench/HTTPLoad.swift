import CoreFoundation
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A load generator for `tongban bench serve`: HTTP/1.1 keep-alive connections on loopback, one blocking socket and
/// one thread of its own each (never the cooperative pool, which the server under test runs on).
///
/// Two ways to drive them:
/// - ``closedLoop(port:connections:requests:duration:)``: every connection sends its next request as soon as the
///   answer to the previous one is in; the rate reached is the throughput at saturation.
/// - ``openLoop(port:connections:requests:rate:duration:)``: requests are due at a fixed rate whatever the server
///   does; each connection takes the next due request when it is free. A request taken late (every connection was
///   busy) is timed from when it was due, so a slow server cannot hide its queueing by slowing the generator down
///   (what wrk2 calls coordinated omission). A request taken early is timed from when it was sent.
enum HTTPLoad {
    /// What a run measured.
    struct Result: Sendable {
        /// Seconds each request took, sorted.
        var latencies: [Double] = []
        /// How many answers of each status.
        var statuses: [Int: Int] = [:]
        /// Requests that got no answer (the connection failed).
        var failures = 0
        /// From the first request sent to the last answer received, in seconds.
        var elapsed = 0.0
        /// CPU seconds the generator's threads used.
        var generatorCPU = 0.0
        /// The first failure, in plain words.
        var firstError: String?

        /// Answers received.
        var answered: Int { latencies.count }
        /// Answers per second.
        var throughput: Double { elapsed > 0 ? Double(answered) / elapsed : 0 }
        /// Answers other than 200.
        var notOK: Int { statuses.filter { $0.key != 200 }.values.reduce(0, +) }

        /// The latency below which `fraction` of the answers came (nearest rank), in seconds.
        func percentile(_ fraction: Double) -> Double { latencies.percentile(fraction) }
    }

    /// Drives `connections` connections back to back for `duration`.
    /// - Parameters:
    ///   - port: the server's port on 127.0.0.1.
    ///   - connections: how many keep-alive connections.
    ///   - requests: whole HTTP/1.1 requests, sent in turn.
    ///   - duration: how long to send.
    /// - Returns: what was measured.
    static func closedLoop(
        port: Int, connections: Int, requests: [[UInt8]], duration: Duration
    ) async -> Result {
        await run(port: port, connections: connections, requests: requests, duration: duration, rate: nil)
    }

    /// Sends requests due at `rate` per second for `duration`, over at most `connections` connections.
    /// - Parameters:
    ///   - port: the server's port on 127.0.0.1.
    ///   - connections: how many keep-alive connections (enough that one is usually free).
    ///   - requests: whole HTTP/1.1 requests, sent in turn.
    ///   - rate: requests due per second.
    ///   - duration: how long requests fall due.
    /// - Returns: what was measured.
    static func openLoop(
        port: Int, connections: Int, requests: [[UInt8]], rate: Double, duration: Duration
    ) async -> Result {
        await run(port: port, connections: connections, requests: requests, duration: duration, rate: rate)
    }

    /// Sends one request on a connection of its own and returns the answer's status and body.
    /// - Parameters:
    ///   - port: the server's port on 127.0.0.1.
    ///   - request: the whole request.
    /// - Returns: the status and the body.
    /// - Throws: ``HTTPLoadError`` when the connection fails or the answer cannot be read.
    static func exchangeOnce(port: Int, request: [UInt8]) async throws -> (status: Int, body: [UInt8]) {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(
                    with: Swift.Result<(status: Int, body: [UInt8]), any Error> {
                        let connection = try KeepAliveConnection(port: port)
                        return try connection.exchange(request, keepBody: true)
                    })
            }
        }
    }

    /// A request as bytes: `GET target` with `headers`, keeping the connection alive.
    /// - Parameters:
    ///   - method: the method.
    ///   - target: the path and query.
    ///   - port: the server's port (for `Host`).
    ///   - headers: more header fields.
    ///   - body: the body, if any (its length is sent).
    /// - Returns: the bytes.
    static func request(
        _ method: String, _ target: String, port: Int, headers: [(String, String)], body: String? = nil
    ) -> [UInt8] {
        var text = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        if let body { text += "Content-Length: \(body.utf8.count)\r\n" }
        text += "\r\n" + (body ?? "")
        return Array(text.utf8)
    }

    /// What one thread measured.
    private struct Share: Sendable {
        var latencies: [Double] = []
        var statuses: [Int: Int] = [:]
        var failures = 0
        var lastAnswer: UInt64 = 0
        var cpu = 0.0
        var error: String?
    }

    /// The shared state of a run: the next request due, and the threads' shares.
    private final class Run: Sendable {
        let next = Atomic<Int>(0)
        let shares = Mutex<[Share]>([])
    }

    private static func run(
        port: Int, connections: Int, requests: [[UInt8]], duration: Duration, rate: Double?
    ) async -> Result {
        let state = Run()
        let count = max(1, connections)
        // A moment for every thread to connect before the first request is due.
        let start = Monotonic.now + 200_000_000
        let end = start + Monotonic.nanoseconds(duration)
        let interval = rate.map { 1e9 / max($0, 0.001) }
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            for index in 0..<count {
                Thread.detachNewThread {
                    let share = Self.drive(
                        port: port, index: index, connections: count, requests: requests, start: start, end: end,
                        interval: interval, state: state)
                    let finished = state.shares.withLock { shares in
                        shares.append(share)
                        return shares.count == count
                    }
                    if finished { done.resume() }
                }
            }
        }
        var result = Result()
        let shares = state.shares.withLock { $0 }
        for share in shares {
            result.latencies += share.latencies
            result.statuses.merge(share.statuses, uniquingKeysWith: +)
            result.failures += share.failures
            result.generatorCPU += share.cpu
            if result.firstError == nil { result.firstError = share.error }
        }
        result.latencies.sort()
        let last = shares.map(\.lastAnswer).max() ?? start
        result.elapsed = Double(last > start ? last - start : 0) / 1e9
        return result
    }

    /// One thread's loop: connect, wait for the start, then send until the end (closed loop) or take due requests
    /// until none falls due before the end (open loop).
    private static func drive(
        port: Int, index: Int, connections: Int, requests: [[UInt8]], start: UInt64, end: UInt64,
        interval: Double?, state: Run
    ) -> Share {
        var share = Share()
        let cpuStart = Monotonic.threadCPU()
        var connection: KeepAliveConnection?
        do {
            connection = try KeepAliveConnection(port: port)
        } catch {
            share.error = "\(error)"
        }
        Monotonic.sleep(until: start)
        var turn = index
        while let open = connection {
            var sent: UInt64
            let request: [UInt8]
            if let interval {
                let slot = state.next.wrappingAdd(1, ordering: .relaxed).oldValue
                let due = start + UInt64(Double(slot) * interval)
                guard due < end else { break }
                request = requests[slot % requests.count]
                sent = due
                if Monotonic.now < due {
                    // Free before it was due: the clock starts when it leaves, not when this thread woke.
                    Monotonic.sleep(until: due)
                    sent = Monotonic.now
                }
            } else {
                sent = Monotonic.now
                guard sent < end else { break }
                request = requests[turn % requests.count]
                // An odd step: every connection takes each kind of request in turn, whatever their number.
                turn += connections + (connections % 2 == 0 ? 1 : 0)
            }
            do {
                let status = try open.exchange(request, keepBody: false).status
                let now = Monotonic.now
                share.latencies.append(Double(now - min(sent, now)) / 1e9)
                share.statuses[status, default: 0] += 1
                share.lastAnswer = now
            } catch {
                share.failures += 1
                if share.error == nil { share.error = "\(error)" }
                connection = try? KeepAliveConnection(port: port)
            }
        }
        share.cpu = Monotonic.threadCPU() - cpuStart
        return share
    }
}

/// The monotonic clock in nanoseconds, thread CPU time, and sleeping on the calling thread.
enum Monotonic {
    /// Now, in nanoseconds of `CLOCK_MONOTONIC`.
    static var now: UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    /// CPU seconds the calling thread has used.
    static func threadCPU() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// A duration in nanoseconds.
    static func nanoseconds(_ duration: Duration) -> UInt64 {
        UInt64(max(0, duration.components.seconds)) * 1_000_000_000
            + UInt64(max(0, duration.components.attoseconds) / 1_000_000_000)
    }

    /// Blocks the calling thread (one of the generator's own) until `deadline`.
    static func sleep(until deadline: UInt64) {
        while true {
            let current = now
            guard current < deadline else { return }
            let left = deadline - current
            var request = timespec(tv_sec: Int(left / 1_000_000_000), tv_nsec: Int(left % 1_000_000_000))
            var remaining = timespec()
            _ = nanosleep(&request, &remaining)
        }
    }
}

/// A failure of the load generator's connection.
struct HTTPLoadError: Error, CustomStringConvertible {
    var description: String
}

/// One HTTP/1.1 connection on a blocking loopback socket, used by one thread at a time: a request is written whole,
/// then its answer is read whole (`Content-Length` or chunked), so the connection stays open for the next one.
final class KeepAliveConnection {
    private let descriptor: Int32
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    /// Bytes read but not used yet: `buffer[start..<end]`.
    private var start = 0
    private var end = 0

    /// `send` flags: a connection the server closed is an error to report, not a SIGPIPE that ends the process.
    #if os(Linux)
        private static let noSignal = Int32(MSG_NOSIGNAL)
    #else
        private static let noSignal: Int32 = 0
    #endif

    /// Connects to 127.0.0.1.
    /// - Parameter port: the server's port.
    /// - Throws: ``HTTPLoadError`` when the socket cannot be made or connected.
    init(port: Int) throws {
        #if os(Linux)
            descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { throw HTTPLoadError(description: "socket() failed: errno \(errno)") }
        var yes: Int32 = 1
        _ = setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            let code = errno
            close(descriptor)
            throw HTTPLoadError(description: "cannot connect to 127.0.0.1:\(port): errno \(code)")
        }
    }

    deinit { close(descriptor) }

    /// Sends a request and reads its answer.
    /// - Parameters:
    ///   - request: the whole request.
    ///   - keepBody: whether to return the body (otherwise it is read and dropped).
    /// - Returns: the status and, when kept, the body.
    /// - Throws: ``HTTPLoadError`` when the connection fails or the answer is not HTTP/1.1 as expected.
    func exchange(_ request: [UInt8], keepBody: Bool) throws -> (status: Int, body: [UInt8]) {
        try request.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = send(descriptor, bytes.baseAddress! + offset, bytes.count - offset, Self.noSignal)
                guard written > 0 else { throw HTTPLoadError(description: "send failed: errno \(errno)") }
                offset += written
            }
        }
        let head = try readHead()
        var body: [UInt8] = []
        if let length = head.contentLength {
            try readBody(count: length, into: &body, keep: keepBody)
        } else if head.chunked {
            while true {
                let line = try readLine()
                guard let size = Int(line.split(separator: ";").first ?? "", radix: 16) else {
                    throw HTTPLoadError(description: "a chunk size that is not hexadecimal: \(line)")
                }
                if size == 0 {
                    while try !readLine().isEmpty {}
                    break
                }
                try readBody(count: size, into: &body, keep: keepBody)
                _ = try readLine()
            }
        }
        return (head.status, body)
    }

    /// The status line and headers of an answer.
    private func readHead() throws -> (status: Int, contentLength: Int?, chunked: Bool) {
        let statusLine = try readLine()
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw HTTPLoadError(description: "not an HTTP/1.1 status line: \(statusLine.prefix(80))")
        }
        var contentLength: Int?
        var chunked = false
        while true {
            let line = try readLine()
            if line.isEmpty { break }
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if name == "content-length" {
                contentLength = Int(value)
            } else if name == "transfer-encoding" {
                chunked = value.lowercased().contains("chunked")
            }
        }
        return (status, contentLength, chunked)
    }

    /// One line, without its CRLF.
    private func readLine() throws -> String {
        while true {
            if let index = buffer[start..<end].firstIndex(of: UInt8(ascii: "\n")) {
                var lineEnd = index
                if lineEnd > start && buffer[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
                let line = String(decoding: buffer[start..<lineEnd], as: UTF8.self)
                start = index + 1
                return line
            }
            try fill()
        }
    }

    /// Reads `count` bytes of a body.
    private func readBody(count: Int, into body: inout [UInt8], keep: Bool) throws {
        var left = count
        while left > 0 {
            if start == end { try fill() }
            let taken = min(left, end - start)
            if keep { body += buffer[start..<(start + taken)] }
            start += taken
            left -= taken
        }
    }

    /// Reads more bytes from the socket into the buffer.
    private func fill() throws {
        if start == end {
            start = 0
            end = 0
        } else if end == buffer.count {
            if start > 0 {
                buffer.replaceSubrange(0..<(end - start), with: buffer[start..<end])
                end -= start
                start = 0
            } else {
                buffer += [UInt8](repeating: 0, count: buffer.count)
            }
        }
        let read = buffer.withUnsafeMutableBytes { bytes in
            recv(descriptor, bytes.baseAddress! + end, bytes.count - end, 0)
        }
        guard read > 0 else {
            throw HTTPLoadError(
                description: read == 0 ? "the server closed the connection" : "recv failed: errno \(errno)")
        }
        end += read
    }
}
