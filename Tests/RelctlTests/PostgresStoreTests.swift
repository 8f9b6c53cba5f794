import Foundation
import RelctlCore
import RelctlMigrations
import RelctlPackages
import RelctlPostgres
import RelctlRollout
import RelctlStorage
import Testing

/// What only PostgreSQL has: several servers on one database — migrations applied once, writers
/// racing on version numbers and RevisionIds, leadership with fencing. A real cluster (`PostgresCluster`).
@Suite("The PostgreSQL store")
struct PostgresStoreTests {
    @Test func migrationsListMatchesTheFolderInOrder() throws {
        let folder = TestData.repositoryRoot.appendingPathComponent("migrations/postgres", isDirectory: true)
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".sql") }
            .sorted()
        #expect(PostgresMigrations.all.map(\.identifier) == files.map { String($0.dropLast(4)) })
    }

    /// Eight servers opening one empty database together: each file applied once (the advisory lock), none fails.
    @Test func serversStartingTogetherApplyEachMigrationOnce() async throws {
        let location = try PostgresCluster.database()
        let stores = try await withThrowingTaskGroup(of: PostgresStore.self) { group in
            for index in 0..<8 {
                group.addTask {
                    try await PostgresStore.open(location, actor: "server-\(index)", maximumConnections: 2)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        defer { stores.forEach { $0.close() } }
        #expect(try await stores[0].appliedMigrations() == PostgresMigrations.all.map(\.identifier))
        let cluster = try PostgresCluster.shared()
        #expect(
            try cluster.psql("SELECT count(*) FROM relctl_migrations", database: location.database)
                == String(PostgresMigrations.all.count))
    }

    @Test func anUnreachableDatabaseIsOneClearError() async throws {
        let location = PostgresStore.Location(
            endpoint: .tcp(host: "127.0.0.1", port: 1), username: "relctl", database: "nowhere")
        do {
            let store = try await PostgresStore.open(location, actor: "test")
            store.close()
            Issue.record("opened a database on port 1")
        } catch {
            #expect(error.code == .service)
            #expect(error.message.contains("postgres://relctl@127.0.0.1:1/nowhere"), "\(error.message)")
            #expect(!error.message.contains("\n"))
        }
    }

    /// Publishers on two servers racing: every publish gets its own number, none is reused, the
    /// highest is the count (writers serialize on the store's write lock).
    @Test func concurrentPublishersOnTwoServersNeverShareAVersionNumber() async throws {
        let fixture = try await EngineFixture.make(.postgres)
        let other = try await fixture.openAnother()
        defer { other.close() }
        let writers = [fixture.records, other.records]
        let numbers = try await withThrowingTaskGroup(of: [Int].self) { group in
            for (index, records) in writers.enumerated() {
                group.addTask {
                    var mine: [Int] = []
                    for round in 0..<10 {
                        try await records.updateFunctionCode(
                            name: "orders", zip: try fixture.sandbox.code("w\(index)-\(round)").bytes)
                        mine.append(try await records.publishVersion(name: "orders", description: nil))
                    }
                    return mine
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        // Versions 1–3 exist. A publish right after the other server's publish of the same code returns
        // that number (nothing changed since); otherwise each gets the next number, never one already used.
        let cluster = try PostgresCluster.shared()
        let database = try #require(fixture.postgres).location.database
        let highest =
            Int(try cluster.psql("SELECT highest_version FROM functions WHERE name = 'orders'", database: database))
            ?? 0
        #expect(Set(numbers).allSatisfy { (4...highest).contains($0) })
        #expect(Set(numbers).count == highest - 3, "every number made was handed out")
        #expect(highest >= 4 + 9, "each server's ten changes made at least ten numbers between them")
        let rows = try cluster.psql(
            "SELECT count(*) || ' ' || max(version) FROM versions WHERE function_name = 'orders' AND version > 0",
            database: database)
        #expect(rows == "\(highest) \(highest)", "one row per number, no gap, the counter at the highest")
    }

    /// Two servers updating one alias with the RevisionId they read: exactly one wins each round,
    /// the other gets PreconditionFailed and changes nothing.
    @Test func concurrentAliasUpdatesWithTheSameRevisionIdOneWins() async throws {
        let fixture = try await EngineFixture.make(.postgres)
        let other = try await fixture.openAnother()
        defer { other.close() }
        for round in 0..<10 {
            let revision = try await fixture.records.getAlias(function: "orders", name: "live").RevisionId
            let results = await withTaskGroup(of: Result<AliasConfiguration, RelctlError>.self) { group in
                for (records, version) in [(fixture.records, "2"), (other.records, "3")] {
                    group.addTask {
                        do throws(RelctlError) {
                            return .success(
                                try await records.updateAlias(
                                    function: "orders", name: "live", functionVersion: version,
                                    additionalVersionWeights: nil, description: nil,
                                    expectedRevisionId: revision, cause: "UpdateAlias"))
                        } catch {
                            return .failure(error)
                        }
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            let winners = results.compactMap { try? $0.get() }
            let losers = results.compactMap { if case .failure(let error) = $0 { error } else { nil } }
            #expect(winners.count == 1, "round \(round)")
            #expect(losers.map(\.code) == [.preconditionFailed], "round \(round)")
            let now = try await fixture.records.getAlias(function: "orders", name: "live")
            #expect(now == winners.first, "the alias is the winner's, with its RevisionId")
        }
        let moves = try await fixture.records.aliasMoves(function: "orders", alias: "live", limit: 100)
        #expect(moves.count == 11, "CreateAlias and one move per round")
    }

    // MARK: Leadership

    /// A migrated database and two servers' electors on it.
    static func twoElectors() async throws -> (PostgresStore.Location, LeaderElector, LeaderElector) {
        let location = try PostgresCluster.database()
        try await PostgresStore.open(location, actor: "test").close()
        return (
            location, LeaderElector(location: location, holder: "server-a"),
            LeaderElector(location: location, holder: "server-b")
        )
    }

    @Test func twoElectorsOneLeadsAndTheEpochGrows() async throws {
        let (_, first, second) = try await Self.twoElectors()
        let leadership = try #require(try await first.tryAcquire())
        #expect(leadership.epoch == 1)
        #expect(try await second.tryAcquire() == nil, "the lock is held")
        #expect(try await first.tryAcquire() == leadership, "asking again keeps the same epoch")
        await first.resign()
        await second.resign()
    }

    /// The leader's connection dies (as when its process is killed): the lock goes with the
    /// session, the other elector takes over with the next epoch.
    @Test func theLoserTakesOverWhenTheLeadersConnectionDies() async throws {
        let (location, first, second) = try await Self.twoElectors()
        let old = try #require(try await first.tryAcquire())
        #expect(try await second.tryAcquire() == nil)
        let pid = try #require(try await first.backendPID())
        let cluster = try PostgresCluster.shared()
        #expect(try cluster.psql("SELECT pg_terminate_backend(\(pid))", database: location.database) == "t")
        let taken = try await withThrowingTaskGroup(of: LeaderElector.Leadership.self) { group in
            group.addTask { try await second.campaign(every: .milliseconds(50)) }
            group.addTask {
                try await Task.sleep(for: .seconds(30))
                throw RelctlError(.service, "no takeover within 30 s")
            }
            defer { group.cancelAll() }
            return try #require(try await group.next())
        }
        #expect(taken.epoch == old.epoch + 1)
        #expect(taken.holder == "server-b")
        #expect(first.leadership == nil, "the old leader knows its connection is gone")
        #expect(
            try cluster.psql("SELECT epoch || ' ' || holder FROM leadership", database: location.database)
                == "\(taken.epoch) server-b")
        await first.resign()
        await second.resign()
    }

    /// A former leader (still running, its epoch stale) tries to apply a step: refused, nothing applied.
    @Test func aStaleLeadersStepIsRefusedAndAppliesNothing() async throws {
        let fixture = try await EngineFixture.make(.postgres)
        let location = try #require(fixture.postgres).location
        let first = LeaderElector(location: location, holder: "server-a")
        let second = LeaderElector(location: location, holder: "server-b")
        let old = try #require(try await first.tryAcquire())
        let oldLeader = RolloutEngine(store: try #require(fixture.postgres).fenced(epoch: old.epoch))
        let deployment = try await oldLeader.create(
            DeploymentRequest(
                function: "orders", alias: "live", targetVersion: "2",
                policy: try RolloutFixture.catalog.policy(named: "Linear10PercentEvery1Minute")))
        fixture.clock.advance(60)
        #expect(try await oldLeader.tick().count == 1, "the leader applies its step")
        #expect(try await fixture.alias().additional?.weight == 0.2)

        await first.resign()  // its session ends; the process (and its store) lives on
        let new = try #require(try await second.tryAcquire())
        #expect(new.epoch == old.epoch + 1)
        fixture.clock.advance(60)
        await expectFailureAsync(.preconditionFailed, containing: "epoch \(old.epoch)") {
            _ = try await oldLeader.tick()
        }
        #expect(try await fixture.alias().additional?.weight == 0.2, "the stale step applied nothing")
        #expect(try await fixture.deploymentMoves().count == 2)

        let newLeader = RolloutEngine(store: try #require(fixture.postgres).fenced(epoch: new.epoch))
        #expect(try await newLeader.tick().count == 1, "the new leader continues from the persisted step")
        #expect(try await fixture.alias().additional?.weight == 0.3)
        #expect(try await fixture.deploymentMoves().count == 3, "each step once")
        #expect(try await fixture.deployment(deployment.id).status == .inProgress)
        await second.resign()
    }

    // MARK: Reserved concurrency across servers

    /// Two servers' lease tables on one database: never more live leases than the reservation, even when
    /// both admit at once; a released or expired lease frees its slot.
    @Test func leasesCountInvocationsOnEveryServer() async throws {
        let location = try PostgresCluster.database()
        let (storeA, storeB) = (
            try await PostgresStore.open(location, actor: "a"), try await PostgresStore.open(location, actor: "b")
        )
        defer {
            storeA.close()
            storeB.close()
        }
        let a = PostgresConcurrencyLeases(store: storeA, holder: "server-a")
        let b = PostgresConcurrencyLeases(store: storeB, holder: "server-b")
        // 20 admissions at once, half on each server, for 3 slots: exactly 3 get one.
        let granted = await withTaskGroup(of: ConcurrencyLease?.self) { group in
            for index in 0..<20 {
                group.addTask { try? await (index % 2 == 0 ? a : b).acquire(function: "f", limit: 3, seconds: 600) }
            }
            var leases: [ConcurrencyLease] = []
            for await lease in group { if let lease { leases.append(lease) } }
            return leases
        }
        #expect(granted.count == 3)
        #expect(try await a.liveLeases() == ["f": 3])
        #expect(try await b.acquire(function: "g", limit: 1, seconds: 600) != nil, "another function has its own slots")
        #expect(try await a.acquire(function: "f", limit: 3, seconds: 600) == nil)
        await b.release(granted[0])
        let next = try #require(try await a.acquire(function: "f", limit: 3, seconds: 600), "a released slot is free")
        #expect(try await b.acquire(function: "f", limit: 3, seconds: 600) == nil)
        #expect(try await a.acquire(function: "f", limit: 0, seconds: 600) == nil, "0 throttles every invocation")
        // A lease its server never released (it died) stops counting when it expires, and goes.
        #expect(try await a.acquire(function: "h", limit: 1, seconds: 0) != nil)
        #expect(try await b.acquire(function: "h", limit: 1, seconds: 600) != nil, "the expired lease is not counted")
        for lease in granted.dropFirst() + [next] { await a.release(lease) }
        #expect(try await b.liveLeases() == ["g": 1, "h": 1])
        let rows = try PostgresCluster.shared().psql(
            "SELECT count(*) FROM concurrency_leases WHERE function_name = 'h'", database: location.database)
        #expect(rows == "1", "the expired lease was deleted")
    }

    // MARK: Wake-ups

    /// A controller waiting for an hour on one server is woken by a NOTIFY from another; a notification
    /// sent while nobody waited is kept for the next wait, and one notification wakes one wait.
    @Test func aNotifyFromAnotherServerEndsTheWait() async throws {
        let location = try PostgresCluster.database()
        let store = try await PostgresStore.open(location, actor: "test")
        defer { store.close() }
        let listener = try await PostgresWakeListener.start(location)
        let waiting = Task { await listener.wait(timeout: 3600) }
        try await Task.sleep(for: .milliseconds(50))
        try await store.notifyWake()
        #expect(await waiting.value == true)
        try await store.notifyWake()
        // The notification arrives on its own; wait for it with a deadline, then it is consumed once.
        #expect(await listener.wait(timeout: 30) == true)
        #expect(await listener.wait(timeout: 0.05) == false, "one notification wakes one wait")
        await listener.close()
    }

    /// The listening connection is ended from outside (a restarted database or a dead network would do the
    /// same): the listener wakes its controller once, opens a new connection and hears NOTIFYs again.
    @Test func aListenerWhoseConnectionEndsListensAgain() async throws {
        let location = try PostgresCluster.database()
        let store = try await PostgresStore.open(location, actor: "test")
        defer { store.close() }
        let listener = try await PostgresWakeListener.start(location, retryInterval: .milliseconds(100))
        #expect(listener.connectionsOpened == 1)
        let pid = try #require(try await listener.backendPID())
        #expect(
            try PostgresCluster.shared().psql("SELECT pg_terminate_backend(\(pid))", database: location.database) == "t"
        )
        let end = Date().addingTimeInterval(60)
        while listener.connectionsOpened < 2 {
            guard Date() < end else { Issue.record("the listener did not reconnect within 60 s"); return }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(await listener.wait(timeout: 30) == true, "the reconnection wakes the controller once")
        // A NOTIFY sent before the new LISTEN is in place is lost (best effort); one after it wakes the wait.
        var heard = false
        while !heard && Date() < end {
            try await store.notifyWake()
            heard = await listener.wait(timeout: 0.5)
        }
        #expect(heard, "a NOTIFY after the reconnection wakes the wait")
        #expect(try await listener.backendPID() != pid)
        await listener.close()
    }
}
