import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A TCP proxy on 127.0.0.1 in front of a PostgreSQL server that holds every cancel request back for `delay`
/// before passing it on, so that `PQcancel` through it blocks its thread for that long, as it does against a slow or
/// distant server. Everything else passes through at once. Each connection has a thread of its own (blocking
/// sockets, never the cooperative pool).
final class CancelDelayingProxy: Sendable {
    /// The port it listens on.
    let port: Int
    private let listener: Int32
    private let cancels = Locked(0)

    /// How many cancel requests have come in so far.
    var cancelRequests: Int { cancels.withLock { $0 } }

    /// Starts listening and accepting.
    /// - Parameters:
    ///   - upstreamHost: the server's IPv4 address.
    ///   - upstreamPort: the server's port.
    ///   - delay: how long a cancel request waits before it is passed on.
    init?(upstreamHost: String, upstreamPort: Int, delay: Duration) {
        guard let listener = Self.socket() else { return nil }
        var address = Self.address("127.0.0.1", port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listening = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length) == 0 && getsockname(listener, $0, &length) == 0
            }
        }
        guard listening, listen(listener, 64) == 0 else {
            close(listener)
            return nil
        }
        self.listener = listener
        self.port = Int(UInt16(bigEndian: address.sin_port))
        let cancels = self.cancels
        Thread {
            while true {
                let client = accept(listener, nil, nil)
                guard client >= 0 else {
                    if errno == EINTR { continue }
                    return  // the listener was shut down
                }
                Thread {
                    Self.serve(client, upstreamHost: upstreamHost, upstreamPort: upstreamPort, delay: delay, cancels)
                }.start()
            }
        }.start()
    }

    /// Stops accepting; connections already open go on until either side closes them.
    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private static func serve(
        _ client: Int32, upstreamHost: String, upstreamPort: Int, delay: Duration, _ cancels: Locked<Int>
    ) {
        defer { close(client) }
        // Every first message starts with its length and a code: a cancel request is 16 bytes with code 80877102.
        var head = [UInt8](repeating: 0, count: 8)
        guard recv(client, &head, 8, Int32(MSG_WAITALL)) == 8 else { return }
        let length = head[0..<4].reduce(0) { $0 << 8 | Int($1) }
        let code = head[4..<8].reduce(0) { $0 << 8 | Int($1) }
        if length == 16 && code == 80_877_102 {
            cancels.withLock { $0 += 1 }
            Thread.sleep(
                forTimeInterval: Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18)
        }
        guard let upstream = Self.socket() else { return }
        defer { close(upstream) }
        let target = Self.address(upstreamHost, port: upstreamPort)
        let connected = withUnsafePointer(to: target) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard connected, sendAll(upstream, head[...]) else { return }
        var descriptors = [
            pollfd(fd: client, events: Int16(POLLIN), revents: 0),
            pollfd(fd: upstream, events: Int16(POLLIN), revents: 0),
        ]
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while poll(&descriptors, 2, -1) >= 0 {
            for (index, descriptor) in descriptors.enumerated() where descriptor.revents != 0 {
                let from = descriptor.fd
                let to = index == 0 ? upstream : client
                let count = recv(from, &buffer, buffer.count, 0)
                guard count > 0, sendAll(to, buffer[0..<count]) else { return }  // closed or failed: close both
            }
        }
    }

    private static func sendAll(_ fd: Int32, _ bytes: ArraySlice<UInt8>) -> Bool {
        var offset = bytes.startIndex
        while offset < bytes.endIndex {
            #if canImport(Glibc)
                let flags = Int32(MSG_NOSIGNAL)
            #else
                let flags: Int32 = 0
            #endif
            let sent = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, flags) }
            guard sent > 0 else { return false }
            offset += sent
        }
        return true
    }

    private static func socket() -> Int32? {
        #if canImport(Glibc)
            let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let fd = Darwin.socket(AF_INET, SOCK_STREAM, 0)
        #endif
        return fd >= 0 ? fd : nil
    }

    private static func address(_ host: String, port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr(host)
        return address
    }
}
