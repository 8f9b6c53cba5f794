import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import RelctlCore
import RelctlStorage
import ServiceLifecycle

/// Delivers the event log to webhooks: for each webhook, the events after its cursor that it wants,
/// one at a time in `seq` order, each POSTed until the receiver answers 2xx (then the cursor moves
/// past it, in the store) — so delivery is at least once and in order, and a dispatcher killed at
/// any point resumes at the first event not yet acknowledged. A failure is retried with exponential
/// backoff (capped), blocking the events behind it. Several dispatchers may share a store: a
/// webhook's deliveries are leased to one at a time.
public struct WebhookDispatcher: Service {
    let store: any EventStore
    let owner: String
    let logger: Logger
    let pollInterval: Double
    let clock: @Sendable () -> Double
    /// Whether this dispatcher delivers now: on a shared database, only while its server's controller leads.
    let isActive: @Sendable () -> Bool

    /// How long a dispatcher owns a webhook's deliveries before another may take over.
    static let leaseSeconds = 10.0
    static let requestTimeout = TimeAmount.seconds(4)
    static let batchSize = 100

    public init(
        store: any EventStore,
        owner: String = "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)",
        logger: Logger = Logger(label: "relctl.notify"), pollInterval: Double = 0.2,
        clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 },
        isActive: @escaping @Sendable () -> Bool = { true }
    ) {
        self.isActive = isActive
        self.store = store
        self.owner = owner
        self.logger = logger
        self.pollInterval = pollInterval
        self.clock = clock
    }

    /// Delivers until cancelled (or a graceful shutdown), then gives up its leases.
    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                var delivering = false
                while !Task.isCancelled {
                    if isActive() {
                        await deliverDue()
                        delivering = true
                    } else if delivering {
                        // No longer ours to deliver (leadership moved on): the next leader need not wait out the leases.
                        await releaseLeases()
                        delivering = false
                    }
                    try await Task.sleep(nanoseconds: UInt64(pollInterval * 1_000_000_000))
                }
            }
        } catch is CancellationError {
            // Stopping between deliveries: the cursors say what is still owed.
        }
        await releaseLeases()
    }

    func releaseLeases() async {
        for webhook in (try? await store.webhooks()) ?? [] {
            try? await store.releaseWebhook(webhook.name, owner: owner)
        }
    }

    /// One pass: every webhook that is due and owed events gets them (webhooks in parallel).
    public func deliverDue() async {
        let webhooks: [Webhook]
        do {
            webhooks = try await store.webhooks()
        } catch {
            logger.error("reading webhooks failed", metadata: ["error": "\(error)"])
            return
        }
        await withTaskGroup(of: Void.self) { group in
            for webhook in webhooks where webhook.nextAttemptAt <= clock() {
                group.addTask {
                    do {
                        try await deliverPending(webhook)
                    } catch {
                        logger.error(
                            "webhook delivery failed", metadata: ["webhook": "\(webhook.name)", "error": "\(error)"])
                    }
                }
            }
        }
    }

    func deliverPending(_ listed: Webhook) async throws(RelctlError) {
        let owed = try await store.events(after: listed.deliveredSeq, filter: listed.filter, limit: Self.batchSize)
        guard !owed.events.isEmpty else {
            // Nothing here for this webhook: move past what others wanted, so later reads start there.
            if owed.scannedThrough > listed.deliveredSeq {
                try await store.webhookDelivered(listed.name, through: owed.scannedThrough)
            }
            return
        }
        let claimedAt = clock()
        guard try await store.claimWebhook(listed.name, owner: owner, now: claimedAt, seconds: Self.leaseSeconds) else {
            return
        }
        // Another dispatcher may have delivered since the listing: continue from the cursor as it is now.
        guard let webhook = try await store.webhooks().first(where: { $0.name == listed.name }),
            webhook.nextAttemptAt <= clock()
        else { return }
        let page = try await store.events(after: webhook.deliveredSeq, filter: webhook.filter, limit: Self.batchSize)
        guard !page.events.isEmpty else { return }
        var attempts = webhook.attempts
        for event in page.events {
            // Stop well inside the lease; the next pass renews it.
            if clock() - claimedAt > Self.leaseSeconds / 2 { return }
            do {
                try await post(event, to: webhook)
            } catch {
                attempts += 1
                let retryAt = clock() + Self.backoff(attempts: attempts)
                logger.warning(
                    "webhook delivery will be retried",
                    metadata: [
                        "webhook": "\(webhook.name)", "seq": "\(event.seq)", "attempt": "\(attempts)",
                        "error": "\(error)",
                    ])
                try await store.webhookFailed(webhook.name, error: "event \(event.seq): \(error)", retryAt: retryAt)
                return
            }
            try await store.webhookDelivered(webhook.name, through: event.seq)
            attempts = 0
        }
        if page.events.count < Self.batchSize, page.scannedThrough > page.events.last!.seq {
            try await store.webhookDelivered(webhook.name, through: page.scannedThrough)
        }
    }

    /// Seconds before retry `attempts` (1, 2, …): 0.25 s doubling, at most a minute.
    public static func backoff(attempts: Int) -> Double {
        min(60, 0.25 * pow(2, Double(max(0, min(attempts - 1, 20)))))
    }

    /// POSTs one event; anything but a 2xx answer is an error.
    public func post(_ event: ReleaseEvent, to webhook: Webhook) async throws {
        let body = try Self.body(event, format: webhook.format)
        var request = HTTPClientRequest(url: webhook.url)
        request.method = .POST
        for (name, value) in Self.headers(event, webhook: webhook, body: body) {
            request.headers.add(name: name, value: value)
        }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await HTTPClient.shared.execute(request, timeout: Self.requestTimeout)
        let answer = try await response.body.collect(upTo: 64 * 1024)
        guard (200..<300).contains(response.status.code) else {
            throw WebhookDeliveryError(
                status: Int(response.status.code), body: String(buffer: answer).prefix(200).description)
        }
    }

    /// The POST body: the event's JSON, or Slack's `{"text": …}`.
    public static func body(_ event: ReleaseEvent, format: WebhookFormat) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        switch format {
        case .json: return try encoder.encode(event)
        case .slack: return try encoder.encode(["text": event.summary])
        }
    }

    public static func headers(_ event: ReleaseEvent, webhook: Webhook, body: Data) -> [(String, String)] {
        var headers = [
            ("Content-Type", "application/json"), ("User-Agent", "relctl-webhook"),
            ("X-Relctl-Event", event.type.rawValue), ("X-Relctl-Delivery", "\(webhook.name)-\(event.seq)"),
        ]
        if let secret = webhook.secret { headers.append(("X-Relctl-Signature", signature(body: body, secret: secret))) }
        return headers
    }

    /// `sha256=<hex>`: HMAC-SHA256 of the body with the webhook's secret.
    public static func signature(body: Data, secret: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8)))
        return "sha256=" + code.map { String(format: "%02x", $0) }.joined()
    }
}

/// A receiver answered something other than 2xx.
public struct WebhookDeliveryError: Error, CustomStringConvertible {
    public var status: Int
    public var body: String
    public var description: String { "HTTP \(status)\(body.isEmpty ? "" : ": \(body)")" }
}
