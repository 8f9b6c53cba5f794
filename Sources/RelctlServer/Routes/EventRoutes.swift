import Foundation
import HTTPTypes
import Hummingbird
import NIOConcurrencyHelpers
import NIOCore
import RelctlCore
import RelctlStorage
import RelctlStore
import ServiceLifecycle

/// `GET /events`: the event log as Server-Sent Events (`id:` the sequence number, `event:` the
/// type, `data:` the event's JSON), from `?since=SEQ` or the `Last-Event-ID` a reconnecting client
/// sends, filtered by `?function=F` and `?type=T,…`; new events follow within 200 ms of their commit.
struct EventRoutes: Sendable {
    let services: ServerServices

    var routes: [Route] {
        [
            Route(.get, "/events", APIOperation(name: "StreamEvents", api: .relctl)) { request, _ in
                try self.stream(request)
            }
        ]
    }

    func stream(_ request: Request) throws -> Response {
        let query = request.uri.queryParameters
        var cursor: Int64 = 0
        if let text = request.headers[HTTPField.Name("Last-Event-ID")!] ?? query.get("since") {
            guard let seq = Int64(text), seq >= 0 else {
                throw RelctlError(
                    .invalidParameterValue,
                    "Last-Event-ID / since '\(text.prefix(40))' is not allowed: use an event's sequence number (0 or more)."
                )
            }
            cursor = seq
        }
        let filter = EventFilter(
            function: query.get("function"),
            types: try ReleaseEvent.EventType.parseList(query.get("type").map { [$0] } ?? []))
        let registry: any EventStore = services.eventLog
        let start = cursor
        let body = ResponseBody { writer in
            // Until the client goes away (the write fails) or the server stops: a graceful shutdown
            // ends the stream instead of waiting for the client to hang up.
            let stopping = NIOLockedValueBox(false)
            try? await withGracefulShutdownHandler {
                try await Self.follow(
                    registry, filter: filter, from: start, writer: &writer, until: { stopping.withLockedValue { $0 } })
            } onGracefulShutdown: {
                stopping.withLockedValue { $0 = true }
            }
            try await writer.finish(nil)
        }
        return Response(
            status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }

    /// Writes every event after `seq` that `filter` keeps, then each new one, until cancelled.
    static func follow(
        _ registry: any EventStore, filter: EventFilter, from seq: Int64, writer: inout any ResponseBodyWriter,
        until stopping: () -> Bool
    ) async throws {
        var cursor = seq
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var quietSince = ContinuousClock.now
        while !Task.isCancelled && !stopping() {
            let page = try await registry.events(after: cursor, filter: filter, limit: 500)
            var text = ""
            for event in page.events {
                text +=
                    "id: \(event.seq)\nevent: \(event.type.rawValue)\ndata: \(String(decoding: try encoder.encode(event), as: UTF8.self))\n\n"
            }
            if let last = page.events.last { cursor = last.seq }
            if text.isEmpty && ContinuousClock.now - quietSince > .seconds(15) { text = ": keep-alive\n\n" }
            if !text.isEmpty {
                try await writer.write(ByteBuffer(string: text))
                quietSince = .now
            }
            if page.events.count < 500 { try await Task.sleep(for: .milliseconds(200)) }
        }
    }
}
