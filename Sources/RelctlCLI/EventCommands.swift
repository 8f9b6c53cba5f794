import ArgumentParser
import Foundation
import RelctlCore
import RelctlNotify
import RelctlPostgres
import RelctlStorage
import RelctlStore

extension GlobalOptions {
    /// The event log and webhooks on the database `--database` names (SQLite in the data directory by default).
    func eventLog() async throws -> any EventLog {
        if let store = try await postgresStore() { return store }
        return try registry()
    }
}

/// `relctl events`: the event log as JSON lines.
struct Events: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the event log as JSON lines (deployments, alias moves, publishes, cleanups, quota warnings).",
        discussion:
            "Types: \(ReleaseEvent.EventType.allCases.filter { $0 != .test }.map(\.rawValue).joined(separator: ", ")).")
    @OptionGroup var global: GlobalOptions
    @Flag(help: "Keep printing new events as they are committed (Ctrl-C stops).") var follow = false
    @Option(help: "Only events after this sequence number (default: from the first).") var since: Int64 = 0
    @Option(help: "Only events of this function.") var function: String?
    @Option(
        name: .customLong("type"), parsing: .upToNextOption,
        help: "Only these event types (repeatable, or comma-separated).")
    var types: [String] = []

    func validate() throws {
        guard since >= 0 else { throw ValidationError("--since takes a sequence number of 0 or more, got \(since).") }
    }

    func run() async throws {
        let log = try await global.eventLog()
        let filter = EventFilter(function: function, types: try ReleaseEvent.EventType.parseList(types))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var cursor = since
        let stop = follow ? SignalFlag() : nil
        while true {
            let events = try await log.listEvents(after: cursor, filter: filter, limit: 1000)
            for event in events { print(String(decoding: try encoder.encode(event), as: UTF8.self)) }
            fflush(nil)
            // Without --follow: everything there is, page by page.
            if let last = events.last { cursor = last.seq }
            if !follow && events.count < 1000 { return }
            if stop?.raised == true { return }
            if events.isEmpty { try await Task.sleep(nanoseconds: 200_000_000) }
        }
    }
}

/// `relctl notify`: webhooks that receive the event log.
struct NotifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notify",
        abstract:
            "Webhooks: POST events to a URL, signed, retried, in order (delivered by `serve` and `controller run`).",
        subcommands: [Add.self, List.self, Test.self, Delete.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a webhook; it receives events committed from now on.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The webhook's name (letters, digits, '-', '_').") var name: String
        @Option(help: "Where events are POSTed (http:// or https://).") var url: String
        @Option(
            name: .customLong("on"), parsing: .upToNextOption,
            help: "Only these event types (comma-separated or repeated; default: all).")
        var types: [String] = []
        @Option(help: "Only events of this function.") var function: String?
        @Option(help: "Signs each body: X-Relctl-Signature: sha256=<HMAC-SHA256 hex>.") var secret: String?
        @Option(help: "json (the event) or slack ({\"text\": summary}).") var format: String = WebhookFormat.json
            .rawValue

        func run() async throws {
            guard let format = WebhookFormat(rawValue: format.lowercased()) else {
                throw RelctlError(.invalidParameterValue, "--format '\(format)' is not allowed: use json or slack.")
            }
            let webhook = try await global.eventLog().addWebhook(
                Webhook(
                    name: name, url: url, types: try ReleaseEvent.EventType.parseList(types), function: function,
                    secret: secret,
                    format: format, createdAt: 0))
            if global.output == .json { return Output.json(WebhookView(webhook)) }
            print("Added webhook \(webhook.name) → \(webhook.url) (events after #\(webhook.deliveredSeq)).")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List webhooks and how far delivery got.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let log = try await global.eventLog()
            let webhooks = try await log.listWebhooks()
            if global.output == .json { return Output.json(webhooks.map(WebhookView.init)) }
            let last = try await log.lastEventSeq()
            Output.table(
                ["NAME", "URL", "ON", "FUNCTION", "FORMAT", "DELIVERED", "FAILURES", "LAST ERROR"],
                webhooks.map {
                    [
                        $0.name, $0.url, $0.types.isEmpty ? "all" : $0.types.map(\.rawValue).joined(separator: ","),
                        $0.function ?? "all",
                        $0.format.rawValue, "#\($0.deliveredSeq) of #\(last)", String($0.attempts), $0.lastError ?? "-",
                    ]
                })
        }
    }

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "POST a Test event to the webhook now and show the answer.")
        @OptionGroup var global: GlobalOptions
        @Argument var name: String

        func run() async throws {
            let log = try await global.eventLog()
            let webhook = try await log.webhook(named: name)
            let event = ReleaseEvent(
                time: Date().timeIntervalSince1970, type: .test, actor: Registry.defaultActor(),
                message: "Test event from relctl for webhook \(name)")
            do {
                try await WebhookDispatcher(store: log).post(event, to: webhook)
            } catch {
                throw RelctlError(.service, "Webhook \(name) (\(webhook.url)) did not accept the test event: \(error)")
            }
            print("Webhook \(name) accepted the test event.")
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a webhook (events it was owed are not sent).")
        @OptionGroup var global: GlobalOptions
        @Argument var name: String

        func run() async throws {
            try await global.eventLog().deleteWebhook(named: name)
            print("Deleted webhook \(name).")
        }
    }
}

/// A webhook as `--output json` shows it: the secret is never printed.
struct WebhookView: Encodable {
    var Name: String
    var Url: String
    var On: [String]
    var Function: String?
    var Format: String
    var Signed: Bool
    var DeliveredSeq: Int64
    var FailedAttempts: Int
    var LastError: String?

    init(_ webhook: Webhook) {
        Name = webhook.name
        Url = webhook.url
        On = webhook.types.map(\.rawValue)
        Function = webhook.function
        Format = webhook.format.rawValue
        Signed = webhook.secret != nil
        DeliveredSeq = webhook.deliveredSeq
        FailedAttempts = webhook.attempts
        LastError = webhook.lastError
    }
}
