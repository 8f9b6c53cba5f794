import Foundation
import RelctlCore
import RelctlStorage

/// One instance kept for provisioned concurrency.
struct ProvisionedInstance {
    /// The `instanceKey` of the version execution it runs.
    var key: String
    var instance: Instance
    /// Its init has finished: it can take an invocation.
    var ready: Bool
}

/// A provisioned-concurrency setting as the runtime stands, in GetProvisionedConcurrencyConfig's terms.
public struct ProvisionedConcurrencyStatus: Sendable, Equatable {
    public enum State: String, Sendable {
        case inProgress = "IN_PROGRESS", ready = "READY", failed = "FAILED"
    }

    public var state: State
    /// Initialised instances counted for the setting (Allocated / Available).
    public var allocated: Int
    /// Why provisioning failed (`StatusReason`).
    public var reason: String?

    public init(state: State, allocated: Int, reason: String? = nil) {
        self.state = state
        self.allocated = allocated
        self.reason = reason
    }
}

/// Provisioned concurrency: for every setting, that many instances of the versions its qualifier
/// routes to (split by an alias's weights) are started ahead of any invocation, with
/// `AWS_LAMBDA_INITIALIZATION_TYPE=provisioned-concurrency`, and invocations of those versions take
/// them first. Each reconcile reads the settings and the aliases as they are now, so a moved alias
/// (UpdateAlias, a deployment's shift) moves its instances, and a deleted setting releases them.
extension RuntimePool {
    public static let provisionedInitializationType = "provisioned-concurrency"

    /// Brings the provisioned instances in line with the stored settings, waiting for the init of
    /// the instances it starts. `retryingFailuresOf`: a function whose failed inits are tried again
    /// (its setting was just put).
    public func reconcileProvisionedConcurrency(retryingFailuresOf function: String? = nil) async throws(RelctlError) {
        let previous = provisioning
        let store = store
        let next = Task { () -> RelctlError? in
            _ = await previous?.value
            guard !Task.isCancelled else { return nil }
            do throws(RelctlError) {
                let targets = try await store.provisionedConcurrencyTargets()
                await self.provision(targets, retryingFailuresOf: function)
                return nil
            } catch {
                return error
            }
        }
        provisioning = next
        if let error = await next.value { throw error }
    }

    /// The state of each of `function`'s settings, by qualifier.
    public func provisionedConcurrencyStatuses(
        function: String
    ) async throws(RelctlError) -> [String: ProvisionedConcurrencyStatus] {
        let targets = try await store.provisionedConcurrencyTargets().filter { $0.functionName == function }
        return Dictionary(
            targets.map { ($0.qualifier, provisionedConcurrencyStatus($0)) }, uniquingKeysWith: { first, _ in first })
    }

    /// READY once every instance the setting asks for has finished its init; FAILED when an init failed.
    func provisionedConcurrencyStatus(_ target: ProvisionedConcurrencyTarget) -> ProvisionedConcurrencyStatus {
        var allocated = 0
        for (execution, count) in target.allocation {
            let key = execution.instanceKey
            if let failure = provisionFailures[key] {
                return ProvisionedConcurrencyStatus(state: .failed, allocated: 0, reason: failure)
            }
            allocated += min(count, provisioned.values.filter { $0.key == key && $0.ready }.count)
        }
        return ProvisionedConcurrencyStatus(
            state: allocated >= target.requested ? .ready : .inProgress, allocated: allocated, reason: nil)
    }

    /// Instances kept for provisioned concurrency now, initialised or not (tests, metrics).
    public var provisionedInstances: Int { provisioned.count }

    func provision(_ targets: [ProvisionedConcurrencyTarget], retryingFailuresOf function: String?) async {
        var wanted: [String: (execution: VersionExecution, count: Int)] = [:]
        for target in targets {
            for (execution, count) in target.allocation {
                wanted[execution.instanceKey, default: (execution: execution, count: 0)].count += count
            }
        }
        // Instances that died since (a crash while idle, a timeout) no longer count: they are replaced.
        for (id, entry) in provisioned where entry.ready {
            guard await entry.instance.isDead else { continue }
            provisioned[id] = nil
            provisionedFree[entry.key]?.removeAll { $0 === entry.instance }
        }
        provisionFailures = provisionFailures.filter { key, _ in
            wanted[key] != nil && !(function.map { key.hasPrefix($0 + ":") } ?? false)
        }
        await release(keeping: wanted.mapValues(\.count))
        await withTaskGroup(of: Void.self) { group in
            for (key, want) in wanted where provisionFailures[key] == nil {
                let missing = want.count - provisioned.values.filter { $0.key == key }.count
                for _ in 0..<max(0, missing) {
                    group.addTask { await self.startProvisioned(want.execution) }
                }
            }
        }
    }

    /// Stops what the settings no longer ask for: free instances first, then those still in their
    /// init; a busy one leaves the set and ends its invocation as an ordinary warm instance.
    private func release(keeping wanted: [String: Int]) async {
        for (key, entries) in Dictionary(grouping: provisioned, by: { $0.value.key }) {
            var excess = entries.count - (wanted[key] ?? 0)
            guard excess > 0 else { continue }
            let free = provisionedFree[key] ?? []
            var order: [(id: String, entry: ProvisionedInstance, isFree: Bool)] = []
            for (id, entry) in entries {
                order.append((id, entry, free.contains { $0 === entry.instance }))
            }
            order.sort { ($0.isFree ? 0 : $0.entry.ready ? 2 : 1) < ($1.isFree ? 0 : $1.entry.ready ? 2 : 1) }
            for candidate in order where excess > 0 {
                excess -= 1
                provisioned[candidate.id] = nil
                if candidate.isFree {
                    provisionedFree[key]?.removeAll { $0 === candidate.entry.instance }
                    await candidate.entry.instance.shutdown(reason: "provisioned concurrency released")
                } else if !candidate.entry.ready {
                    await candidate.entry.instance.shutdown(reason: "provisioned concurrency released")
                }
            }
            if provisionedFree[key]?.isEmpty == true { provisionedFree[key] = nil }
        }
    }

    private func startProvisioned(_ execution: VersionExecution) async {
        let key = execution.instanceKey
        let instance: Instance
        do throws(RelctlError) {
            let files = try await extractedFiles(execution).get()
            instance = try await startInstance(
                execution, files: files, grant: nil, initializationType: Self.provisionedInitializationType)
        } catch {
            provisionFailures[key] = Self.failure(execution, error.message)
            return
        }
        let id = instance.id
        provisioned[id] = ProvisionedInstance(key: key, instance: instance, ready: false)
        if let failure = await instance.waitUntilInitialized() {
            // Released while it started: not a failure of the setting.
            if provisioned.removeValue(forKey: id) != nil { provisionFailures[key] = Self.failure(execution, failure) }
            await instance.shutdown()
            return
        }
        guard provisioned[id] != nil else { return }
        provisioned[id]?.ready = true
        provisionedFree[key, default: []].append(instance)
    }

    static func failure(_ execution: VersionExecution, _ reason: String) -> String {
        "The init of a provisioned instance of \(execution.functionName):\(execution.versionText) failed: \(reason)"
    }

    func takeProvisioned(_ key: String) async -> Instance? {
        while let instance = provisionedFree[key]?.popLast() {
            if await !instance.isDead { return instance }
            provisioned[instance.id] = nil
        }
        return nil
    }

    /// Back to the free provisioned instances after an invocation, if it is still kept for a setting.
    func returnProvisioned(_ instance: Instance, key id: String) -> Bool {
        guard let entry = provisioned[id] else { return false }
        provisionedFree[entry.key, default: []].append(instance)
        return true
    }

    /// A provisioned instance that died: the next reconcile starts another.
    func forgetProvisioned(_ id: String) {
        provisioned[id] = nil
    }
}
