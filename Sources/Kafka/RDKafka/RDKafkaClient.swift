internal import CRdKafka
import Dispatch
import Foundation
import Logging
import Synchronization
import TongbanConcurrency

/// A `rd_kafka_t` pointer that may cross threads.
///
/// @unchecked Sendable: librdkafka documents `rd_kafka_t` as thread-safe for every call this module
/// makes on it from more than one thread (produce, poll, metadata queries, destroy after all others).
struct RDKafkaHandle: @unchecked Sendable {
    let pointer: OpaquePointer
}

/// Owns one `rd_kafka_t` and the context its callbacks use.
///
/// Every blocking librdkafka call goes through ``blocking`` (a queue of its own) or runs on the
/// consumer actor's executor, never on Swift's cooperative pool (README, "Concurrency"). A producer handle
/// has a poll thread of its own that serves delivery reports and error events.
final class RDKafkaClient: Sendable {
    enum Kind: Sendable { case producer, consumer }

    let kind: Kind
    let handle: RDKafkaHandle
    let context: RDKafkaContext
    let blocking: BlockingExecutor
    /// The consumer's queue (consumer only): the main queue is forwarded to it.
    let consumerQueue: RDKafkaHandle?
    private let pollThread: RDKafkaPollThread?
    private let destroyed = Atomic<Bool>(false)
    /// Calls in progress on the handle from outside the consumer actor, and whether it is closing:
    /// `destroy` waits for them, so no call ever reaches a freed handle.
    private let users = Mutex<(closing: Bool, active: Int)>((false, 0))

    /// Creates a client.
    /// - Throws: ``KafkaError`` `.configuration` naming the property librdkafka rejected
    ///   (the value is never included: it may be a secret).
    init(kind: Kind, properties: [String: String], logger: Logger) throws(KafkaError) {
        let context = RDKafkaContext(logger: logger)
        guard let conf = rd_kafka_conf_new() else { throw KafkaError(.configuration, "out of memory") }
        var errorText = [CChar](repeating: 0, count: 512)
        for (key, value) in properties.sorted(by: { $0.key < $1.key }) {
            if rd_kafka_conf_set(conf, key, value, &errorText, errorText.count) != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                throw KafkaError(
                    .configuration, "librdkafka rejected property \(key): \(errorText.nulTerminatedString)")
            }
        }
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(context).toOpaque())
        rd_kafka_conf_set_log_cb(conf, rdKafkaLogCallback)
        rd_kafka_conf_set_error_cb(conf, rdKafkaErrorCallback)
        switch kind {
        case .producer: rd_kafka_conf_set_dr_msg_cb(conf, rdKafkaDeliveryCallback)
        case .consumer: rd_kafka_conf_set_rebalance_cb(conf, rdKafkaRebalanceCallback)
        }
        let type = kind == .producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER
        guard let rk = rd_kafka_new(type, conf, &errorText, errorText.count) else {
            rd_kafka_conf_destroy(conf)  // still ours when rd_kafka_new fails
            throw KafkaError(.configuration, "could not create the Kafka client: \(errorText.nulTerminatedString)")
        }
        self.kind = kind
        self.handle = RDKafkaHandle(pointer: rk)
        self.context = context
        self.blocking = BlockingExecutor(label: "tongban.rdkafka.\(String(cString: rd_kafka_name(rk)))")
        switch kind {
        case .producer:
            consumerQueue = nil
            pollThread = RDKafkaPollThread(handle: handle)
        case .consumer:
            rd_kafka_poll_set_consumer(rk)
            consumerQueue = rd_kafka_queue_get_consumer(rk).map(RDKafkaHandle.init)
            pollThread = nil
        }
    }

    deinit {
        guard !destroyed.load(ordering: .acquiring) else { return }
        // Never block whoever dropped the last reference: destroy on a background queue, keeping
        // the context alive until librdkafka is gone.
        let (kind, handle, queue, poll, context) = (kind, handle, consumerQueue, pollThread, context)
        DispatchQueue.global().async {
            Self.destroyBlocking(kind: kind, handle: handle, consumerQueue: queue, pollThread: poll, context: context)
        }
    }

    /// Marks the start of a call that uses the handle; pair with ``leave()``.
    /// - Throws: ``KafkaError`` `.closed` once ``destroy()`` has begun, or the fatal error.
    func enter() throws(KafkaError) {
        let admitted = users.withLock { state -> Bool in
            guard !state.closing else { return false }
            state.active += 1
            return true
        }
        guard admitted else { throw KafkaError(.closed, "the Kafka client was shut down") }
        if let fatal = context.fatalError.withLock({ $0 }) {
            leave()
            throw fatal
        }
    }

    /// Marks the end of a call that began with ``enter()``.
    func leave() {
        users.withLock { $0.active -= 1 }
    }

    /// Closes the consumer (leaving its group), stops polling and destroys the handle, once every
    /// call in progress has left. Idempotent.
    func destroy() async {
        users.withLock { $0.closing = true }
        while users.withLock({ $0.active }) > 0 { try? await Task.sleep(for: .milliseconds(1)) }
        guard !destroyed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let (kind, handle, queue, poll, context) = (kind, handle, consumerQueue, pollThread, context)
        await blocking.run {
            Self.destroyBlocking(kind: kind, handle: handle, consumerQueue: queue, pollThread: poll, context: context)
        }
    }

    var isDestroyed: Bool { destroyed.load(ordering: .acquiring) }

    private static func destroyBlocking(
        kind: Kind, handle: RDKafkaHandle, consumerQueue: RDKafkaHandle?, pollThread: RDKafkaPollThread?,
        context: RDKafkaContext
    ) {
        if kind == .consumer {
            context.closing.store(true, ordering: .releasing)
            _ = rd_kafka_consumer_close(handle.pointer)
            if let consumerQueue { rd_kafka_queue_destroy(consumerQueue.pointer) }
        }
        pollThread?.stop()
        rd_kafka_destroy(handle.pointer)
        context.deliveries.closeAll()
        withExtendedLifetime(context) {}
    }

    /// The version of the linked librdkafka.
    static var version: String { String(cString: rd_kafka_version_str()) }

    /// Throws the fatal error, if librdkafka raised one.
    func checkFatal() throws(KafkaError) {
        if let fatal = context.fatalError.withLock({ $0 }) { throw fatal }
        if isDestroyed { throw KafkaError(.closed, "the Kafka client was shut down") }
    }
}

/// A thread that serves a producer's delivery reports and error events with `rd_kafka_poll`.
///
/// It is an OS thread of its own, not a task: `rd_kafka_poll` with a timeout blocks.
final class RDKafkaPollThread: Sendable {
    private let stopped = Atomic<Bool>(false)
    private let exited = DispatchSemaphore(value: 0)

    init(handle: RDKafkaHandle) {
        let thread = Thread { [self] in
            while !self.stopped.load(ordering: .acquiring) {
                rd_kafka_poll(handle.pointer, 50)
            }
            rd_kafka_poll(handle.pointer, 0)
            self.exited.signal()
        }
        thread.name = "tongban-rdkafka-poll"
        thread.start()
    }

    /// Stops the thread and waits until it has left `rd_kafka_poll` (blocks up to ~50 ms).
    func stop() {
        stopped.store(true, ordering: .releasing)
        exited.wait()
    }
}

extension Array where Element == CChar {
    /// The NUL-terminated text a C function wrote into this buffer.
    var nulTerminatedString: String {
        let bytes = prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
