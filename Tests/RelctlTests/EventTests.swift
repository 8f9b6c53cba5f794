import Foundation
import RelctlCore
import RelctlNotify
import RelctlPackages
import RelctlRollout
import RelctlStorage
import RelctlStore
import Testing

@Suite("Release events (pure)")
struct ReleaseEventModelTests {
    @Test func deploymentLogKindsMapToEventTypes() {
        func types(
            _ kind: String, _ message: String = "", _ details: [String: String] = [:]
        ) -> [ReleaseEvent.EventType] {
            ReleaseEvent.types(of: DeploymentEvent(at: 0, kind: kind, message: message, details: details))
        }
        #expect(types("Created") == [.deploymentCreated])
        #expect(types("Start") == [.stepStarted])
        #expect(types("Pause") == [.stepStarted])
        #expect(types("Shift") == [.weightShifted])
        #expect(types("BeforeAllowTraffic", "BeforeAllowTraffic hook check started (execution e1)") == [.hookStarted])
        #expect(types("AfterAllowTraffic", "AfterAllowTraffic hook check succeeded") == [.hookSucceeded])
        #expect(types("HookStatus", "", ["status": "Failed"]) == [.hookFailed])
        #expect(types("HookStatus", "", ["status": "Succeeded"]).isEmpty)
        #expect(types("HookInvoke").isEmpty)
        #expect(types("Failed", "", ["code": "TIMEOUT"]) == [.hookFailed, .failed])
        #expect(types("Failed", "", ["code": "ALARM_ACTIVE"]) == [.failed])
        #expect(types("Rollback") == [.rolledBack])
        #expect(types("Promote") == [.promoted])
    }

    @Test func quotaWarningsFireOnceForEachThresholdCrossedUpwards() {
        #expect(ReleaseEvent.quotaThresholdsCrossed(before: 0, after: 79, limit: 100) == [])
        #expect(ReleaseEvent.quotaThresholdsCrossed(before: 79, after: 80, limit: 100) == [80])
        #expect(ReleaseEvent.quotaThresholdsCrossed(before: 80, after: 89, limit: 100) == [])
        #expect(ReleaseEvent.quotaThresholdsCrossed(before: 50, after: 100, limit: 100) == [80, 90, 100])
        #expect(ReleaseEvent.quotaThresholdsCrossed(before: 95, after: 85, limit: 100) == [])
    }

    @Test func jsonCarriesIsoTimeAndRoundTrips() throws {
        let event = ReleaseEvent(
            seq: 7, time: 1_800_000_000.25, type: .weightShifted, actor: "ops", function: "orders", alias: "live",
            deploymentId: "d-1", message: "Shifted 10%", details: ["weight": "10%"])
        let json = String(decoding: try JSONEncoder().encode(event), as: UTF8.self)
        #expect(json.contains(#""time":"2027-01-15T08:00:00.250Z""#))
        #expect(try JSONDecoder().decode(ReleaseEvent.self, from: Data(json.utf8)) == event)
        #expect(event.summary == "[relctl] WeightShifted orders:live d-1 — Shifted 10%")
        #expect(
            String(decoding: try WebhookDispatcher.body(event, format: .slack), as: UTF8.self)
                == #"{"text":"[relctl] WeightShifted orders:live d-1 — Shifted 10%"}"#)
    }

    @Test func signatureIsHmacSha256OfTheBodyInHex() {
        // python3: hmac.new(b"key", b'{"seq":1}', hashlib.sha256).hexdigest()
        #expect(
            WebhookDispatcher.signature(body: Data(#"{"seq":1}"#.utf8), secret: "key")
                == "sha256=4e2f6d3bce7034cfc587a1ec5875294c4a288fbc42cd9eda2cb441d410eafae2")
    }

    @Test func retriesBackOffExponentiallyUpToAMinute() {
        #expect((1...5).map(WebhookDispatcher.backoff(attempts:)) == [0.25, 0.5, 1, 2, 4])
        #expect(WebhookDispatcher.backoff(attempts: 12) == 60)
        #expect(WebhookDispatcher.backoff(attempts: 10_000) == 60)
    }

    @Test func unknownTypesAreRefusedWithTheListOfTypes() throws {
        expectRelctlError(.invalidParameterValue) { try ReleaseEvent.EventType.parseList(["Published"]) }
        #expect(
            try ReleaseEvent.EventType.parseList(["versionpublished,AliasMoved", "AliasMoved"]) == [
                ReleaseEvent.EventType.versionPublished, .aliasMoved,
            ])
    }
}

@Suite("Release events in the store")
struct ReleaseEventStoreTests {
    @Test func aDeploymentThatTripsAnAlarmWritesItsEventsWithItsChanges() async throws {
        let fixture = try RolloutFixture()
        try fixture.errorsAlarm()
        let start = try fixture.registry.lastEventSeq()
        let deployment = try await fixture.deploy("Canary10Percent30Minutes", alarms: ["orders-errors"])
        try await fixture.putErrors(version: "2", 1)
        let events = try fixture.registry.listEvents(after: start)
        // Within one transaction the alias moves as the engine applies the actions, and the
        // deployment's own events follow them.
        #expect(
            events.map(\.type) == [
                .deploymentCreated, .alarmStateChanged, .aliasMoved, .stepStarted, .weightShifted,
                .alarmStateChanged, .aliasMoved, .failed, .rolledBack,
            ])
        #expect(events.map(\.seq) == events.map(\.seq).sorted())
        let deploymentEvents = events.filter { $0.type != .aliasMoved && $0.type != .alarmStateChanged }
        #expect(
            deploymentEvents.allSatisfy {
                $0.deploymentId == deployment.id && $0.function == "orders" && $0.alias == "live"
            })
        #expect(
            deploymentEvents.allSatisfy { $0.details["currentVersion"] == "1" && $0.details["targetVersion"] == "2" })
        #expect(events.first { $0.type == .weightShifted }?.details["weight"] == "10%")
        let alarms = events.filter { $0.type == .alarmStateChanged }
        #expect(alarms.map { $0.details["to"] } == ["OK", "ALARM"])
        #expect(alarms.allSatisfy { $0.details["alarm"] == "orders-errors" && $0.function == "orders" })
        #expect(events.last { $0.type == .aliasMoved }?.details["to"] == "version 1")
        #expect(events.filter { $0.type == .aliasMoved }.allSatisfy { $0.deploymentId == deployment.id })
        #expect(events.allSatisfy { $0.actor == "test" })
    }

    @Test func publishesAndQuotaWarningsCommitWithTheirChangeAndARefusedChangeWritesNone() throws {
        let sandbox = try Sandbox()
        let code = try sandbox.code("v0")
        try sandbox.registry.setQuota(2 * code.size)
        try sandbox.create("orders", code)
        #expect(try sandbox.registry.listEvents(after: 0).isEmpty)
        _ = try sandbox.registry.publishVersion(FunctionReference(name: "orders"))
        let events = try sandbox.registry.listEvents(after: 0)
        #expect(events.map(\.type) == [.quotaWarning, .quotaWarning, .quotaWarning, .versionPublished])
        #expect(events.prefix(3).map { $0.details["threshold"] } == ["80%", "90%", "100%"])
        #expect(events.last?.details["version"] == "1")
        // Full: the next publish is refused and leaves no event behind.
        expectRelctlError(.codeStorageExceeded) { try sandbox.publishNewCode("orders", "v1") }
        #expect(try sandbox.registry.listEvents(after: 0).count == 4)
        #expect(try sandbox.registry.listEvents(after: 0, filter: EventFilter(types: [.versionPublished])).count == 1)
        #expect(try sandbox.registry.listEvents(after: 0, filter: EventFilter(function: "billing")).isEmpty)
    }

    @Test func aWebhookCursorStartsAtTheEndOfTheLogAndOnlyMovesForward() async throws {
        let sandbox = try Sandbox()
        try sandbox.create("orders", try sandbox.code("v0"), publish: true)
        let webhook = try sandbox.registry.addWebhook(Webhook(name: "audit", url: "http://127.0.0.1:1/x", createdAt: 0))
        #expect(webhook.deliveredSeq == (try sandbox.registry.lastEventSeq()))
        _ = try sandbox.publishNewCode("orders", "v1")
        let page = try await sandbox.registry.events(after: webhook.deliveredSeq, filter: webhook.filter, limit: 10)
        #expect(page.events.map(\.type) == [.versionPublished])
        try await sandbox.registry.webhookDelivered("audit", through: page.events[0].seq)
        try await sandbox.registry.webhookDelivered("audit", through: 1)
        #expect(try sandbox.registry.webhook(named: "audit").deliveredSeq == page.events[0].seq)
        #expect(try await sandbox.registry.claimWebhook("audit", owner: "a", now: 100, seconds: 10))
        #expect(try await sandbox.registry.claimWebhook("audit", owner: "b", now: 105, seconds: 10) == false)
        #expect(try await sandbox.registry.claimWebhook("audit", owner: "b", now: 111, seconds: 10))
        expectRelctlError(.resourceConflict) {
            try sandbox.registry.addWebhook(Webhook(name: "audit", url: "http://x/", createdAt: 0))
        }
        expectRelctlError(.invalidParameterValue) {
            try sandbox.registry.addWebhook(Webhook(name: "a b", url: "http://x/", createdAt: 0))
        }
    }
}
