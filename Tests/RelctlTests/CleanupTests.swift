import Foundation
import RelctlCore
import RelctlPackages
import RelctlStore
import Testing

@Suite("Cleanup: the planner's rules and the registry applying them")
struct CleanupTests {
    typealias Key = CleanupInventory.LayerKey

    // MARK: - Inventories for the pure planner

    /// Creation time `second` seconds after a fixed instant, as Lambda text.
    static func at(_ second: Int) -> String {
        LambdaTimestamp.string(from: Date(timeIntervalSince1970: 1_700_000_000 + Double(second)))
    }

    static func version(
        _ function: String, _ number: Int, size: Int64 = 100, created: Int, layers: [Key] = [],
        protectedBy: [String] = []
    ) -> CleanupInventory.PublishedVersion {
        .init(
            function: function, version: number, codeSize: size, created: at(created), layers: layers,
            protectedBy: protectedBy)
    }

    static func layer(
        _ name: String, _ number: Int, size: Int64 = 50, created: Int
    ) -> CleanupInventory.StoredLayerVersion {
        .init(key: Key(name: name, version: number), codeSize: size, created: at(created))
    }

    /// Usage as the registry counts it: `$LATEST` of each function (`latestSize` each) plus everything listed.
    static func inventory(
        _ versions: [CleanupInventory.PublishedVersion], layers: [CleanupInventory.StoredLayerVersion] = [],
        latestLayers: Set<Key> = [], latestSize: Int64 = 100, limit: Int64 = 10_000
    ) -> CleanupInventory {
        let functions = Set(versions.map(\.function)).count
        let usage =
            versions.reduce(Int64(functions) * latestSize) { $0 + $1.codeSize } + layers.reduce(0) { $0 + $1.codeSize }
        return CleanupInventory(
            versions: versions, layerVersions: layers, latestLayers: latestLayers, usage: usage, limit: limit)
    }

    static func names(_ plan: CleanupPlan) -> [String] {
        plan.Deletions.map { "\($0.Kind == .layerVersion ? "layer " : "")\($0.Name):\($0.Version)" }
    }

    // MARK: - Planner

    @Test func keepNKeepsTheNewestVersionsOfEachFunctionAndDeletesTheRestOldestFirst() throws {
        let inventory = Self.inventory([
            Self.version("f", 1, created: 1), Self.version("g", 1, created: 2), Self.version("f", 2, created: 3),
            Self.version("g", 2, created: 4), Self.version("f", 3, created: 5), Self.version("f", 4, created: 6),
            Self.version("g", 3, created: 7),
        ])
        let plan = CleanupPlanner.plan(inventory, CleanupRequest(keep: 2))
        #expect(Self.names(plan) == ["f:1", "g:1", "f:2"])
        #expect(plan.BytesFreed == 300)
        #expect(plan.UsageBefore == inventory.usage)
        #expect(plan.UsageAfter == inventory.usage - 300)
        #expect(plan.TargetUsage == nil)
        #expect(plan.TargetReached)
        #expect(plan.Protected == ["f:3": ["newest 2"], "f:4": ["newest 2"], "g:2": ["newest 2"], "g:3": ["newest 2"]])
        let first = try #require(plan.Deletions.first)
        #expect(first.Kind == .functionVersion)
        #expect(first.Name == "f")
        #expect(first.Version == 1)
        #expect(first.CodeSize == 100)
        #expect(first.Created == Self.at(1))
    }

    @Test func keepZeroDeletesEveryUnprotectedVersion() {
        let inventory = Self.inventory([Self.version("f", 1, created: 1), Self.version("f", 2, created: 2)])
        #expect(Self.names(CleanupPlanner.plan(inventory, CleanupRequest(keep: 0))) == ["f:1", "f:2"])
        #expect(
            Self.names(CleanupPlanner.plan(inventory, CleanupRequest())) == ["f:1", "f:2"],
            "no keep and no target: keep 0")
    }

    @Test func candidatesGoInCreationOrderNotVersionOrder() {
        // Creation order decides, across functions; ties fall back to name and number.
        let inventory = Self.inventory([
            Self.version("b", 1, created: 5), Self.version("a", 7, created: 2), Self.version("a", 3, created: 9),
            Self.version("c", 1, created: 2), Self.version("a", 2, created: 2),
        ])
        #expect(
            Self.names(CleanupPlanner.plan(inventory, CleanupRequest(keep: 0))) == ["a:2", "a:7", "c:1", "b:1", "a:3"])
    }

    @Test func aliasPrimaryAndRoutingVersionsAreProtected() {
        let inventory = Self.inventory([
            Self.version("f", 1, created: 1, protectedBy: ["alias live"]),
            Self.version("f", 2, created: 2, protectedBy: ["alias live (routing)"]),
            Self.version("f", 3, created: 3),
            Self.version("f", 4, created: 4, protectedBy: ["alias beta", "alias live"]),
        ])
        let plan = CleanupPlanner.plan(inventory, CleanupRequest(keep: 0))
        #expect(Self.names(plan) == ["f:3"])
        #expect(
            plan.Protected == [
                "f:1": ["alias live"], "f:2": ["alias live (routing)"], "f:4": ["alias beta", "alias live"],
            ])
    }

    @Test func targetUsageStopsAsSoonAsUsageIsAtOrBelowTheTarget() {
        // $LATEST 100 + five versions of 100 = 600 of a 1000 limit.
        let inventory = Self.inventory((1...5).map { Self.version("f", $0, created: $0) }, limit: 1000)
        let plan = CleanupPlanner.plan(inventory, CleanupRequest(targetUsage: .fractionOfLimit(0.4)))
        #expect(plan.TargetUsage == 400)
        #expect(Self.names(plan) == ["f:1", "f:2"])
        #expect(plan.UsageAfter == 400)
        #expect(plan.TargetReached)
        // Already below the target: nothing to do.
        let idle = CleanupPlanner.plan(inventory, CleanupRequest(targetUsage: .bytes(600)))
        #expect(idle.Deletions == [])
        #expect(idle.TargetReached)
    }

    @Test func targetUsageKeepsTheNewestVersionByDefault() {
        let inventory = Self.inventory((1...3).map { Self.version("f", $0, created: $0) }, limit: 1000)
        let plan = CleanupPlanner.plan(inventory, CleanupRequest(targetUsage: .bytes(0)))
        #expect(Self.names(plan) == ["f:1", "f:2"])
        #expect(plan.Protected["f:3"] == ["newest 1"])
        #expect(plan.UsageAfter == 200)
        #expect(plan.TargetReached == false, "everything unprotected went and usage is still above the target")
        // An explicit keep overrides the default.
        #expect(
            Self.names(CleanupPlanner.plan(inventory, CleanupRequest(keep: 0, targetUsage: .bytes(0)))) == [
                "f:1", "f:2", "f:3",
            ])
        #expect(Self.names(CleanupPlanner.plan(inventory, CleanupRequest(keep: 2, targetUsage: .bytes(0)))) == ["f:1"])
    }

    @Test func targetAsAFractionRoundsDownToWholeBytes() {
        let inventory = Self.inventory([Self.version("f", 1, created: 1)], limit: 999)
        #expect(CleanupPlanner.plan(inventory, CleanupRequest(targetUsage: .fractionOfLimit(0.5))).TargetUsage == 499)
    }

    @Test func layerVersionsUsedByRemainingVersionsOrLatestAreProtected() {
        let inventory = Self.inventory(
            [
                Self.version("f", 1, created: 1, layers: [Key(name: "deps", version: 1)]),
                Self.version("f", 2, created: 2, layers: [Key(name: "deps", version: 2)], protectedBy: ["alias live"]),
            ],
            layers: [
                Self.layer("deps", 1, created: 0), Self.layer("deps", 2, created: 0), Self.layer("deps", 3, created: 0),
                Self.layer("deps", 4, created: 0), Self.layer("tools", 1, created: 0),
            ],
            latestLayers: [Key(name: "deps", version: 3)])
        let plan = CleanupPlanner.plan(inventory, CleanupRequest(keep: 0))
        // f:1 goes, so deps:1 is free; deps:2 stays for f:2 (alias), deps:3 for $LATEST.
        #expect(Self.names(plan) == ["f:1", "layer deps:1", "layer deps:4", "layer tools:1"])
        #expect(plan.Protected["layer deps:2"] == ["used by a function version"])
        #expect(plan.Protected["layer deps:3"] == ["used by a function version"])
        #expect(plan.BytesFreed == 100 + 3 * 50)
    }

    @Test func layerVersionsOfAKeptFunctionVersionStay() {
        let inventory = Self.inventory(
            [
                Self.version("f", 1, created: 1, layers: [Key(name: "deps", version: 1)]),
                Self.version("f", 2, created: 2),
            ],
            layers: [Self.layer("deps", 1, created: 0), Self.layer("deps", 2, created: 0)])
        let plan = CleanupPlanner.plan(inventory, CleanupRequest(keep: 2))
        #expect(plan.Deletions == [])
        #expect(plan.Protected["layer deps:1"] == ["used by a function version", "newest 2"])
        #expect(plan.Protected["layer deps:2"] == ["newest 2"])
    }

    @Test func functionVersionsGoBeforeLayerVersions() {
        let inventory = Self.inventory(
            [Self.version("f", 1, created: 50)],
            layers: [Self.layer("deps", 1, created: 1), Self.layer("deps", 2, created: 2)], limit: 1000)
        // Usage 100 + 100 + 100 = 300; a target of 200 is met by the function version alone.
        let plan = CleanupPlanner.plan(inventory, CleanupRequest(keep: 0, targetUsage: .bytes(200)))
        #expect(Self.names(plan) == ["f:1"])
        let more = CleanupPlanner.plan(inventory, CleanupRequest(keep: 0, targetUsage: .bytes(150)))
        #expect(Self.names(more) == ["f:1", "layer deps:1"])
    }

    @Test func cleanupOfOneFunctionLeavesOtherFunctionsAndLayersAlone() {
        let inventory = Self.inventory(
            [Self.version("f", 1, created: 1), Self.version("g", 1, created: 0), Self.version("f", 2, created: 2)],
            layers: [Self.layer("deps", 1, created: 0)])
        let plan = CleanupPlanner.plan(inventory, CleanupRequest(function: "f", keep: 0))
        #expect(Self.names(plan) == ["f:1", "f:2"])
    }

    // MARK: - Registry.cleanup

    let clock = TickingClock()
    let sandbox: Sandbox
    var registry: Registry { sandbox.registry }
    init() throws {
        let clock = self.clock
        sandbox = try Sandbox(clock: { clock.now() })
    }

    func ref(_ name: String, _ qualifier: Qualifier? = nil) -> FunctionReference {
        FunctionReference(name: name, qualifier: qualifier)
    }

    func layerArn(_ name: String, _ version: Int) -> String { ArnContext().layerVersionArn(name, version: version) }

    /// orders: versions 1…5 (live → 2 + 3@10%), payments: versions 1…2, layer deps: 1 (used by orders:1) and 2 (unused).
    func populate() throws {
        _ = try registry.publishLayerVersion(name: "deps", code: try sandbox.code("deps-1", noise: 64))
        _ = try registry.publishLayerVersion(name: "deps", code: try sandbox.code("deps-2", noise: 64))
        var settings = TestData.settings
        settings.layers = [layerArn("deps", 1)]
        try sandbox.create("orders", try sandbox.code("orders-1", noise: 32), settings: settings, publish: true)
        _ = try registry.updateFunctionConfiguration(ref("orders"), ConfigurationUpdate(layers: []))
        for index in 2...5 { try sandbox.publishNewCode("orders", "orders-\(index)") }
        try sandbox.create("payments", try sandbox.code("payments-1"), publish: true)
        try sandbox.publishNewCode("payments", "payments-2")
        _ = try registry.createAlias(
            function: "orders", name: "live", functionVersion: "2", additionalVersionWeights: ["3": 0.1])
    }

    @Test func dryRunChangesNothingAndReturnsThePlanTheRealRunApplies() throws {
        try populate()
        let usageBefore = try sandbox.usage()
        let ordersBefore = try registry.listVersions(ref("orders")).items
        let request = CleanupRequest(keep: 1)

        let dryRun = try registry.cleanup(request, dryRun: true)
        #expect(try sandbox.usage() == usageBefore)
        #expect(try registry.listVersions(ref("orders")).items == ordersBefore)
        #expect(try sandbox.versions("payments") == ["$LATEST", "1", "2"])
        #expect(try registry.cleanup(request, dryRun: true) == dryRun, "planning is repeatable")

        #expect(Self.names(dryRun) == ["orders:1", "orders:4", "payments:1", "layer deps:1"])
        #expect(dryRun.Protected["orders:2"] == ["alias live"])
        #expect(dryRun.Protected["orders:3"] == ["alias live (routing)"])
        #expect(dryRun.Protected["orders:5"] == ["newest 1"])
        #expect(dryRun.Protected["layer deps:2"] == ["newest 1"])
        #expect(dryRun.UsageBefore == usageBefore)

        let applied = try registry.cleanup(request, dryRun: false)
        #expect(applied == dryRun)
        #expect(try sandbox.usage() == usageBefore - applied.BytesFreed)
        #expect(try sandbox.usage() == applied.UsageAfter)
        #expect(try sandbox.versions("orders") == ["$LATEST", "2", "3", "5"])
        #expect(try sandbox.versions("payments") == ["$LATEST", "2"])
        #expect(try registry.listLayerVersions(name: "deps").items.map(\.Version) == [2])
        try sandbox.expectConsistent()
        // Nothing left to do.
        #expect(try registry.cleanup(request, dryRun: false).Deletions == [])
        #expect(try registry.history(function: "orders").first?.Action == "Cleanup")
    }

    @Test func cleanupToATargetUsageDeletesOldestFirstUntilTheTargetIsMet() throws {
        try populate()
        let usage = try sandbox.usage()
        try registry.setQuota(usage * 2)
        // Half the limit is exactly today's usage: nothing needs to go.
        #expect(try registry.cleanup(CleanupRequest(targetUsage: .fractionOfLimit(0.5)), dryRun: false).Deletions == [])
        let target = usage - 1
        let plan = try registry.cleanup(CleanupRequest(targetUsage: .bytes(target)), dryRun: false)
        #expect(Self.names(plan) == ["orders:1"])
        #expect(plan.TargetReached)
        #expect(try sandbox.usage() == plan.UsageAfter)
        #expect(try sandbox.usage() <= target)
        try sandbox.expectConsistent()
    }

    @Test func cleanupOfOneFunctionTouchesOnlyIt() throws {
        try populate()
        let plan = try registry.cleanup(CleanupRequest(function: "payments", keep: 0), dryRun: false)
        #expect(Self.names(plan) == ["payments:1", "payments:2"])
        #expect(try sandbox.versions("payments") == ["$LATEST"])
        #expect(try sandbox.versions("orders") == ["$LATEST", "1", "2", "3", "4", "5"])
        #expect(try registry.listLayerVersions(name: "deps").items.map(\.Version) == [2, 1])
        try sandbox.expectConsistent()
    }

    @Test func cleanupRefusesANegativeKeep() throws {
        expectRelctlError(.invalidParameterValue) { try registry.cleanup(CleanupRequest(keep: -1), dryRun: true) }
    }

    /// A layer version deleted while in use stays (and counts) until its last user goes. When
    /// cleanup removes that last user, the layer's bytes are freed too, and the plan must say so.
    @Test(arguments: [nil, "orders"] as [String?])
    func cleanupReportsTheBytesItReallyFreesIncludingDeletedLayersItReleases(function: String?) throws {
        let layerCode = try sandbox.code("deps", noise: 500)
        _ = try registry.publishLayerVersion(name: "deps", code: layerCode)
        var settings = TestData.settings
        settings.layers = [layerArn("deps", 1)]
        try sandbox.create("orders", try sandbox.code("orders-1"), settings: settings, publish: true)
        _ = try registry.updateFunctionConfiguration(ref("orders"), ConfigurationUpdate(layers: []))
        try sandbox.publishNewCode("orders", "orders-2")
        try registry.deleteLayerVersion(name: "deps", version: 1)  // hidden, still used by orders:1
        let usageBefore = try sandbox.usage()

        let request = CleanupRequest(function: function, keep: 1)
        let dryRun = try registry.cleanup(request, dryRun: true)
        let applied = try registry.cleanup(request, dryRun: false)
        #expect(applied == dryRun)
        #expect(try sandbox.versions("orders") == ["$LATEST", "2"])
        #expect(try sandbox.usage() == usageBefore - applied.BytesFreed, "usage fell by what the plan says it frees")
        #expect(try sandbox.usage() == applied.UsageAfter)
        try sandbox.expectConsistent()
    }
}
