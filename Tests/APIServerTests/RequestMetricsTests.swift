import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Metrics
import NIOCore
import Synchronization
import Testing
import TongbanTesting

@testable import APIServer

/// The request metrics of the API: one counter and one timer per route template, method and status; a request no
/// route matched under `unmatched`; never a raw path or query in a label.
@Suite("#19 request metrics per route template and status", .sharedMachine)
struct RequestMetricsTests {
    /// A swift-metrics backend that keeps what it is given, for the test to read.
    final class Recording: MetricsFactory, Sendable {
        /// A counter's or timer's label and dimensions, as one string: `label{a=b,c=d}`.
        static func key(_ label: String, _ dimensions: [(String, String)]) -> String {
            label + "{" + dimensions.map { "\($0.0)=\($0.1)" }.joined(separator: ",") + "}"
        }

        /// Counts by series.
        let counts = Mutex<[String: Int64]>([:])
        /// Nanoseconds recorded, by series.
        let durations = Mutex<[String: [Int64]]>([:])

        final class CounterHandle: CounterHandler, Sendable {
            let key: String
            let owner: Recording
            init(key: String, owner: Recording) {
                self.key = key
                self.owner = owner
            }
            func increment(by amount: Int64) { owner.counts.withLock { $0[key, default: 0] += amount } }
            func reset() { owner.counts.withLock { $0[key] = 0 } }
        }

        final class TimerHandle: TimerHandler, Sendable {
            let key: String
            let owner: Recording
            init(key: String, owner: Recording) {
                self.key = key
                self.owner = owner
            }
            func recordNanoseconds(_ duration: Int64) {
                owner.durations.withLock { $0[key, default: []].append(duration) }
            }
        }

        final class Nothing: RecorderHandler, Sendable {
            func record(_ value: Int64) {}
            func record(_ value: Double) {}
        }

        func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
            CounterHandle(key: Self.key(label, dimensions), owner: self)
        }
        func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
            Nothing()
        }
        func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
            TimerHandle(key: Self.key(label, dimensions), owner: self)
        }
        func destroyCounter(_ handler: any CounterHandler) {}
        func destroyRecorder(_ handler: any RecorderHandler) {}
        func destroyTimer(_ handler: any TimerHandler) {}
    }

    @Test("#19 the route template, not the path; unmatched requests as one label; thrown errors by their status")
    func labels() async throws {
        let recording = Recording()
        let router = Router()
        router.add(middleware: RequestMetricsMiddleware(factory: recording))
        router.get("/v1/things/{id}") { _, context -> String in
            try await Task.sleep(for: .milliseconds(5))
            return "thing \(context.parameters.get("id") ?? "?")"
        }
        router.get("/v1/broken") { _, _ -> String in throw HTTPError(.serviceUnavailable) }
        let app = Application(router: router)
        try await app.test(.router) { client in
            for id in ["110101199003071234", "2", "3"] {
                try await client.execute(uri: "/v1/things/\(id)?subject=\(id)", method: .get) { response in
                    #expect(response.status == .ok)
                }
            }
            try await client.execute(uri: "/v1/broken", method: .get) { #expect($0.status == .serviceUnavailable) }
            try await client.execute(uri: "/v1/nothing/110101199003071234", method: .get) {
                #expect($0.status == .notFound)
            }
            try await client.execute(uri: "/v1/things/1", method: HTTPRequest.Method("BREW")!) {
                #expect($0.status == .notFound)
            }
        }
        let counts = recording.counts.withLock { $0 }
        let requests = RequestMetrics.requestsLabel
        #expect(
            counts == [
                Recording.key(requests, [("route", "/v1/things/{id}"), ("method", "GET"), ("status", "200")]): 3,
                Recording.key(requests, [("route", "/v1/broken"), ("method", "GET"), ("status", "503")]): 1,
                Recording.key(requests, [("route", "unmatched"), ("method", "GET"), ("status", "404")]): 1,
                Recording.key(requests, [("route", "unmatched"), ("method", "other"), ("status", "404")]): 1,
            ], "\(counts)")
        let durations = recording.durations.withLock { $0 }
        let things = durations[
            Recording.key(
                RequestMetrics.secondsLabel, [("route", "/v1/things/{id}"), ("method", "GET"), ("status", "200")])]
        #expect(things?.count == 3)
        #expect(things?.allSatisfy { $0 >= 5_000_000 } == true, "the handler's time is in the duration")
        #expect(durations.count == 4)
    }
}
