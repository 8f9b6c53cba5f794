import Foundation
import RelctlCore

/// The event log and the webhooks that follow it. Events are written by the store itself, in the
/// transaction of the change they describe; readers only read. Committed sequence numbers only grow
/// (one writer at a time), so a cursor over `seq` never skips an event.
public protocol EventStore: Sendable {
    /// Events after `seq` that match `filter`, in order, at most `limit`.
    func events(after seq: Int64, filter: EventFilter, limit: Int) async throws(RelctlError) -> EventPage
    func webhooks() async throws(RelctlError) -> [Webhook]
    /// Takes the webhook's delivery for `seconds` unless another dispatcher holds it; false when one does.
    func claimWebhook(_ name: String, owner: String, now: Double, seconds: Double) async throws(RelctlError) -> Bool
    /// Every event up to `seq` is delivered (or not for this webhook): the cursor moves, retries reset.
    func webhookDelivered(_ name: String, through seq: Int64) async throws(RelctlError)
    /// A delivery failed: count it and wait until `retryAt` before trying again.
    func webhookFailed(_ name: String, error: String, retryAt: Double) async throws(RelctlError)
    /// Gives up the claim (a dispatcher that stops).
    func releaseWebhook(_ name: String, owner: String) async throws(RelctlError)
}

/// A page of the log: matching events, and how far the reader looked (the last event of a full
/// page, else the last committed event), so a cursor can move past events nobody here wants.
public struct EventPage: Sendable, Equatable {
    public var events: [ReleaseEvent]
    public var scannedThrough: Int64

    public init(events: [ReleaseEvent], scannedThrough: Int64) {
        self.events = events
        self.scannedThrough = scannedThrough
    }
}

public enum WebhookFormat: String, Sendable, Codable, CaseIterable {
    /// The event as `relctl events` prints it.
    case json
    /// `{"text": "<one-line summary>"}`, what a Slack incoming webhook takes.
    case slack
}

/// A subscriber: where events go, which ones, how they are signed, and how far delivery got.
public struct Webhook: Sendable, Codable, Equatable {
    public var name: String
    public var url: String
    /// Empty: every type.
    public var types: [ReleaseEvent.EventType]
    public var function: String?
    public var secret: String?
    public var format: WebhookFormat
    public var createdAt: Double
    /// Every event up to here was delivered (or was not for this webhook).
    public var deliveredSeq: Int64
    /// Failed attempts at the next event.
    public var attempts: Int
    public var nextAttemptAt: Double
    public var lastError: String?

    public init(
        name: String, url: String, types: [ReleaseEvent.EventType] = [], function: String? = nil, secret: String? = nil,
        format: WebhookFormat = .json, createdAt: Double, deliveredSeq: Int64 = 0, attempts: Int = 0,
        nextAttemptAt: Double = 0, lastError: String? = nil
    ) {
        self.name = name
        self.url = url
        self.types = types
        self.function = function
        self.secret = secret
        self.format = format
        self.createdAt = createdAt
        self.deliveredSeq = deliveredSeq
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.lastError = lastError
    }

    public var filter: EventFilter { EventFilter(function: function, types: types) }
}

/// What `relctl events` and `relctl notify` read and change, on either engine: the log page by page
/// and the webhooks themselves (adding one starts it after the newest event).
public protocol EventLog: EventStore {
    /// Events after `seq` that `filter` keeps, oldest first, at most `limit`.
    func listEvents(after seq: Int64, filter: EventFilter, limit: Int) async throws(RelctlError) -> [ReleaseEvent]
    /// The newest event's sequence number (0: none yet).
    func lastEventSeq() async throws(RelctlError) -> Int64
    /// Adds the webhook (its cursor at the newest event, its creation time now) and returns it as stored.
    func addWebhook(_ webhook: Webhook) async throws(RelctlError) -> Webhook
    func listWebhooks() async throws(RelctlError) -> [Webhook]
    func webhook(named name: String) async throws(RelctlError) -> Webhook
    func deleteWebhook(named name: String) async throws(RelctlError)
}

extension Webhook {
    /// A name of 1 to 64 letters, digits, '-' or '_', and an absolute http(s) URL.
    public func validate() throws(RelctlError) {
        guard !name.isEmpty, name.count <= 64,
            name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
        else {
            throw RelctlError(
                .invalidParameterValue,
                "Webhook name '\(name)' is not allowed: use 1 to 64 letters, digits, '-' or '_'.")
        }
        guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""),
            parsed.host?.isEmpty == false
        else {
            throw RelctlError(
                .invalidParameterValue, "Webhook URL '\(url)' is not allowed: use an absolute http:// or https:// URL.")
        }
    }

    public static func alreadyExists(_ name: String) -> RelctlError {
        RelctlError(.resourceConflict, "Webhook \(name) already exists; delete it first to change it.")
    }

    public static func notFound(_ name: String) -> RelctlError {
        RelctlError(.resourceNotFound, "Webhook \(name) does not exist (`relctl notify list` shows them).")
    }
}
