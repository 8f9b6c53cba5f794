import Foundation
import RelctlCore
import RelctlPackages
import RelctlRollout
import RelctlRuntime
import RelctlSAM
import RelctlStorage
import RelctlStore

/// The stack engine both `relctl sam deploy` / `relctl stack` and the server's CloudFormation API
/// call into the registry and the rollout engine through: reading what a stack and the registry
/// hold, checking a plan against them, applying it, watching its deployments, and deleting a stack.
public struct StackApplier: Sendable {
    /// Functions, versions, aliases, layers, concurrency and alarms.
    public let records: any RegistryRecords
    /// The stacks' own records.
    public let stacks: any StackStore
    /// Deployment configs and the rollout store the stack's deployments run on.
    public let rollout: any CodeDeployStore
    /// The region and account the template's ARNs are in.
    public let arn: ArnContext
    /// The custom deployment policies (`<data-dir>/policies`).
    public let policiesFolder: URL
    /// The SQLite registry when the applier runs on one: `follow` runs the deployments' hooks in its runtime.
    let local: Registry?
    var engine: RolloutEngine { RolloutEngine(store: rollout) }

    /// The stack engine on any engine's stores (the server's CloudFormation API on SQLite or PostgreSQL).
    public init(
        records: any RegistryRecords, stacks: any StackStore, rollout: any CodeDeployStore, arn: ArnContext,
        policiesFolder: URL
    ) {
        self.records = records
        self.stacks = stacks
        self.rollout = rollout
        self.arn = arn
        self.policiesFolder = policiesFolder
        self.local = nil
    }

    /// The stack engine on a data directory's SQLite registry (`relctl sam deploy`, `relctl stack`).
    public init(registry: Registry) {
        self.records = registry
        self.stacks = registry
        self.rollout = registry
        self.arn = registry.arn
        self.policiesFolder = registry.dataDirectory.appendingPathComponent("policies", isDirectory: true)
        self.local = registry
    }

    /// A template read, resolved, planned and checked: nothing has changed yet.
    public struct Prepared: Sendable {
        public var stackName: String
        public var templateHash: String
        public var model: StackModel
        public var plan: StackPlan
        public var previous: Stack?
        public var packages: [String: InspectedPackage]
        /// Policies of the functions that get a deployment, by logical id.
        public var policies: [String: DeploymentPolicy]
    }

    /// Where a CodeUri / ContentUri's package comes from: given the URI and the place to name in an
    /// error ("template.yaml: line 12: resource Fn, property CodeUri"), the package.
    public typealias CodeLoader = @Sendable (_ uri: String, _ place: String) async throws -> InspectedPackage

    // MARK: - Prepare (reads only)

    /// A template file whose CodeUris are local folders or zips, relative to it (`relctl sam deploy`).
    public func prepare(templatePath: String, stackName: String, overrides: [String: String]) async throws -> Prepared {
        let templateURL = URL(fileURLWithPath: templatePath)
        let text: String
        do { text = try String(contentsOf: templateURL, encoding: .utf8) } catch {
            throw RelctlError(
                .invalidParameterValue, "Cannot read --template \(templatePath): \(error.localizedDescription)")
        }
        let folder = templateURL.deletingLastPathComponent()
        return try await prepare(template: text, source: templatePath, stackName: stackName, overrides: overrides) {
            uri, place in
            try Self.loadLocal(uri, from: folder, place: place)
        }
    }

    /// A template's text (`source` names it in errors), its code fetched by `loadCode`.
    public func prepare(
        template text: String, source templatePath: String, stackName: String, overrides: [String: String],
        loadCode: CodeLoader
    ) async throws -> Prepared {
        func mapped<T>(_ body: () throws(TemplateError) -> T) throws(RelctlError) -> T {
            do { return try body() } catch { throw RelctlError(.validation, "\(templatePath): \(error.description)") }
        }
        let arn = self.arn
        let template = try mapped { () throws(TemplateError) in try TemplateLoader.load(text) }
        let firstPass = try mapped { () throws(TemplateError) in
            try StackModel.build(template, overrides: overrides, stackName: stackName, arn: arn)
        }
        var packages: [String: InspectedPackage] = [:]
        for function in firstPass.functions {
            packages[function.logicalId] = try await loadCode(
                function.codeUri,
                "\(templatePath): \(lineText(function.line))resource \(function.logicalId), property \(function.resourceType == "AWS::Lambda::Function" ? "Code" : "CodeUri")"
            )
        }
        for layer in firstPass.layers {
            packages[layer.logicalId] = try await loadCode(
                layer.contentUri,
                "\(templatePath): \(lineText(layer.line))resource \(layer.logicalId), property \(layer.resourceType == "AWS::Lambda::LayerVersion" ? "Content" : "ContentUri")"
            )
        }
        let codeKeys = packages.mapValues(\.sha256Hex)
        let previous = try await stacks.stack(stackName)
        var deployed: [String: DeployedResource] = [:]
        for resource in try await stacks.stackResources(stackName) {
            guard let state = ResourceState.decode(resource.state) else { continue }
            deployed[resource.logicalId] = DeployedResource(
                logicalId: resource.logicalId, resourceType: resource.resourceType,
                physicalId: resource.physicalId, state: state)
        }
        let observed = try await observe(firstPass, deployed: deployed, templatePath: templatePath)
        // Version numbers and the values that refer to them settle in a pass or two (a function's
        // configuration names its layers' new versions; with AutoPublishAliasAllProperties that decides its own).
        var versions = StackPlanner.plannedVersions(
            firstPass, codeKeys: codeKeys, deployed: deployed, observed: observed)
        var model = firstPass
        for _ in 0..<3 {
            let planned = versions
            model = try mapped { () throws(TemplateError) in
                try StackModel.build(
                    template, overrides: overrides, stackName: stackName, arn: arn, plannedVersions: planned)
            }
            let next = StackPlanner.plannedVersions(model, codeKeys: codeKeys, deployed: deployed, observed: observed)
            if next == versions { break }
            versions = next
        }
        let plan = StackPlanner.plan(model, codeKeys: codeKeys, deployed: deployed, observed: observed)
        let policies = try await check(plan, model: model, deployed: deployed, templatePath: templatePath)
        return Prepared(
            stackName: stackName, templateHash: CodeHash.hex(of: Data(text.utf8)), model: model, plan: plan,
            previous: previous,
            packages: packages, policies: policies)
    }

    public func lineText(_ line: Int?) -> String { line.map { "line \($0): " } ?? "" }

    /// A CodeUri / ContentUri: a folder (zipped as `relctl function create --dir` does) or a .zip file.
    public static func loadLocal(_ path: String, from folder: URL, place: String) throws -> InspectedPackage {
        if path.hasPrefix("s3://") {
            throw RelctlError(
                .validation,
                "\(place): \(path) is in S3; `relctl sam deploy` deploys local code (a folder or .zip file). Code uploaded by `sam deploy` deploys through `relctl serve` (README: \"The real sam deploy\")."
            )
        }
        let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : folder.appendingPathComponent(path)
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) else {
            throw RelctlError(
                .validation, "\(place): \(path) does not exist (a folder or .zip file, relative to the template).")
        }
        do {
            if isFolder.boolValue { return try PackageInspector.inspect(try PackageBuilder.zip(directory: url)) }
            guard url.pathExtension.lowercased() == "zip" else {
                throw RelctlError(.validation, "\(place): \(path) is neither a folder nor a .zip file.")
            }
            return try PackageInspector.inspect(try Data(contentsOf: url))
        } catch let error as RelctlError {
            throw RelctlError(error.code, "\(place): \(error.message)")
        }
    }

    /// Highest versions and alias versions of the template's functions and layers, as the registry has them.
    func observe(
        _ model: StackModel, deployed: [String: DeployedResource], templatePath: String
    ) async throws -> [String: Observed] {
        var observed: [String: Observed] = [:]
        for function in model.functions {
            guard let highest = try await stacks.highestFunctionVersion(function.name) else { continue }
            if deployed[function.logicalId]?.physicalId != function.name {
                throw RelctlError(
                    .resourceConflict,
                    "\(templatePath): \(lineText(function.line))resource \(function.logicalId): function \(function.name) already exists and is not part of stack \(model.stackName); choose another FunctionName or delete it."
                )
            }
            var seen = Observed(highestVersion: highest)
            if let alias = function.alias,
                let existing = try? await records.getAlias(function: function.name, name: alias)
            {
                seen.aliasVersion = Int(existing.FunctionVersion)
            }
            observed[function.logicalId] = seen
        }
        for layer in model.layers {
            observed[layer.logicalId] = Observed(highestVersion: try await stacks.highestLayerVersion(layer.name))
        }
        return observed
    }

    /// Everything that could make the apply fail half-way, checked first: policies, hooks, alarms,
    /// layers, configs and aliases. Returns the policy of each deployment.
    func check(
        _ plan: StackPlan, model: StackModel, deployed: [String: DeployedResource], templatePath: String
    ) async throws -> [String: DeploymentPolicy] {
        func fail(_ line: Int?, _ message: String) -> RelctlError {
            RelctlError(.validation, "\(templatePath): \(lineText(line))\(message)")
        }
        let ownConfigs = Set(
            deployed.values.filter { $0.resourceType == "AWS::CodeDeploy::DeploymentConfig" }.map(\.physicalId))
        for config in model.deploymentConfigs where !ownConfigs.contains(config.name) {
            guard try await rollout.codeDeployConfig(config.name) != nil else { continue }
            throw fail(
                config.line,
                "resource \(config.logicalId): deployment config \(config.name) already exists and is not part of this stack."
            )
        }
        let existingConfigs = try await rollout.deploymentConfigDefinitions().map {
            (name: $0.name, definition: $0.definition)
        }.filter { stored in !model.deploymentConfigs.contains { $0.name == stored.name } }
        let catalog: PolicyCatalog
        do {
            catalog = try PolicyCatalog(
                customFolder: policiesFolder,
                deploymentConfigs: existingConfigs
                    + model.deploymentConfigs.map { (name: $0.name, definition: $0.trafficRoutingConfig) })
        } catch {
            throw fail(nil, error.message)
        }
        let functionNames = Set(model.functions.map(\.name))
        let alarmNames = Set(model.alarms.map(\.definition.name)).union(try await engine.listAlarms().map(\.AlarmName))
        var policies: [String: DeploymentPolicy] = [:]
        for function in model.functions {
            guard let preference = function.deploymentPreference, preference.enabled else { continue }
            let place = "resource \(function.logicalId), property DeploymentPreference"
            do {
                policies[function.logicalId] = try catalog.policy(named: preference.type)
            } catch {
                throw fail(preference.line, "\(place).Type: \(error.message)")
            }
            for hook in [preference.preTrafficHook, preference.postTrafficHook].compactMap({ $0 })
            where !hook.hasPrefix("exec:") {
                if !functionNames.contains(hook),
                    (try? await records.getFunction(FunctionReference(name: hook, qualifier: nil))) == nil
                {
                    throw fail(
                        preference.line,
                        "\(place).Hooks: function \(hook) is neither in this template nor in the registry.")
                }
            }
            for alarm in preference.alarms where !alarmNames.contains(alarm) {
                throw fail(
                    preference.line, "\(place).Alarms: alarm \(alarm) is neither in this template nor in the registry.")
            }
        }
        let stackLayers = Set(model.layers.map(\.name))
        for function in model.functions {
            for arn in function.settings.layers {
                let parts = arn.split(separator: ":")
                guard parts.count == 8, let version = Int(parts[7]) else {
                    throw fail(
                        function.line,
                        "resource \(function.logicalId), property Layers: \(arn) is not a layer version ARN.")
                }
                if stackLayers.contains(String(parts[6])) { continue }
                do { _ = try await records.getLayerVersion(name: String(parts[6]), version: version) } catch {
                    throw fail(function.line, "resource \(function.logicalId), property Layers: \(error.message)")
                }
            }
        }
        let active = try await rollout.read { try $0.activeDeployments() }
        for step in plan.functions {
            guard let alias = step.spec.alias else { continue }
            switch step.aliasStep {
            case .deploy, .moveAtOnce:
                if let running = active.first(where: { $0.functionName == step.spec.name && $0.alias == alias }) {
                    throw RelctlError(
                        .resourceConflict,
                        "Deployment \(running.id) is already in progress for \(step.spec.name):\(alias); stop it or wait for it to finish before deploying the stack."
                    )
                }
                let current = try await records.getAlias(function: step.spec.name, name: alias)
                if current.RoutingConfig?.AdditionalVersionWeights.isEmpty == false {
                    throw RelctlError(
                        .resourceConflict,
                        "Alias \(step.spec.name):\(alias) splits traffic; clear its routing (`relctl alias update \(step.spec.name) \(alias) --no-routing`) before deploying the stack."
                    )
                }
            default: break
            }
        }
        return policies
    }

    // MARK: - Apply

    /// Applies a prepared plan in order: deployment configs, layers, functions (hooks first),
    /// versions and aliases, alarms, then the deployments — and removals last. Returns the
    /// deployments started. The stack's record is written even when a step fails, so it owns
    /// everything that was created.
    public func execute(_ prepared: Prepared) async throws -> [String] {
        let plan = prepared.plan
        var done = Set<String>()
        var events: [StackEvent] = []
        var deployments: [String] = []
        let now = { Date().timeIntervalSince1970 }
        func event(_ change: StackPlan.Change, _ status: String) {
            events.append(
                StackEvent(
                    time: now(), logicalId: change.logicalId, resourceType: change.resourceType,
                    physicalId: change.physicalId,
                    status: status, reason: change.details.joined(separator: "; ")))
        }
        let changes = Dictionary(plan.changes.map { ($0.logicalId, $0) }, uniquingKeysWith: { first, _ in first })
        func complete(_ id: String) {
            done.insert(id)
            if let change = changes[id], change.action != .none {
                event(
                    change,
                    change.action == .add
                        ? "CREATE_COMPLETE" : change.action == .remove ? "DELETE_COMPLETE" : "UPDATE_COMPLETE")
            }
        }
        do {
            for config in plan.deploymentConfigs {
                try await stacks.deleteCodeDeployConfig(config.name)
                _ = try await rollout.createCodeDeployConfig(name: config.name, definition: config.trafficRoutingConfig)
                complete(config.logicalId)
            }
            for step in plan.layers {
                if step.publish {
                    let spec = step.spec
                    _ = try await records.publishLayerVersion(
                        name: spec.name, zip: prepared.packages[spec.logicalId]!.bytes, description: spec.description,
                        compatibleRuntimes: spec.compatibleRuntimes,
                        compatibleArchitectures: spec.compatibleArchitectures,
                        licenseInfo: spec.licenseInfo)
                }
            }
            for step in plan.functions {
                try await apply(step, package: prepared.packages[step.spec.logicalId]!)
                if case .deploy = step.aliasStep { continue }
                complete(step.spec.logicalId)
                for id in [step.spec.versionLogicalId, step.spec.aliasLogicalId].compactMap({ $0 }) { complete(id) }
            }
            for step in plan.layers {
                if let old = step.deleteVersion {
                    _ = try await records.deleteLayerVersion(name: step.spec.name, version: old)
                }
                complete(step.spec.logicalId)
            }
            for alarm in plan.alarms {
                try await records.putAlarm(alarm.definition)
                complete(alarm.logicalId)
            }
            for step in plan.functions {
                guard case .deploy(_, let target, let preference) = step.aliasStep, let alias = step.spec.alias else {
                    continue
                }
                let deployment = try await engine.create(
                    DeploymentRequest(
                        function: step.spec.name, alias: alias, targetVersion: String(target),
                        policy: prepared.policies[step.spec.logicalId]!,
                        preTrafficHook: preference.preTrafficHook, postTrafficHook: preference.postTrafficHook,
                        alarms: preference.alarms))
                deployments.append(deployment.id)
                done.insert(step.spec.logicalId)
                for id in [step.spec.versionLogicalId, step.spec.aliasLogicalId].compactMap({ $0 }) { done.insert(id) }
                if let change = changes[step.spec.logicalId] {
                    events.append(
                        StackEvent(
                            time: now(), logicalId: change.logicalId, resourceType: change.resourceType,
                            physicalId: change.physicalId,
                            status: "UPDATE_IN_PROGRESS",
                            reason: (change.details + ["deployment \(deployment.id)"]).joined(separator: "; ")))
                }
            }
            for resource in plan.removed {
                try await remove(resource)
                complete(resource.logicalId)
            }
        } catch {
            let reason = (error as? RelctlError)?.description ?? "\(error)"
            events.append(
                StackEvent(
                    time: now(), logicalId: prepared.stackName, resourceType: "AWS::CloudFormation::Stack",
                    status: "UPDATE_FAILED", reason: reason))
            try await save(
                prepared, done: done, status: prepared.previous == nil ? "CREATE_FAILED" : "UPDATE_FAILED",
                reason: reason, deployments: deployments, events: events)
            throw error
        }
        let status =
            deployments.isEmpty
            ? (prepared.previous == nil ? "CREATE_COMPLETE" : "UPDATE_COMPLETE")
            : (prepared.previous == nil ? "CREATE_IN_PROGRESS" : "UPDATE_IN_PROGRESS")
        events.append(
            StackEvent(
                time: now(), logicalId: prepared.stackName, resourceType: "AWS::CloudFormation::Stack", status: status,
                reason: deployments.isEmpty ? nil : "\(deployments.count) deployment(s) running"))
        try await save(prepared, done: done, status: status, reason: nil, deployments: deployments, events: events)
        return deployments
    }

    /// The stack's record: resources this deploy completed get their new state, the others keep
    /// the last deploy's (so nothing created is ever orphaned, and an unfinished change is retried).
    func save(
        _ prepared: Prepared, done: Set<String>, status: String, reason: String?, deployments: [String],
        events: [StackEvent]
    ) async throws {
        let previousResources = Dictionary(
            try await stacks.stackResources(prepared.stackName).map { ($0.logicalId, $0) },
            uniquingKeysWith: { first, _ in first })
        var resources: [StackResource] = []
        for change in prepared.plan.changes {
            if done.contains(change.logicalId) {
                guard change.action != .remove, let state = prepared.plan.states[change.logicalId] else { continue }
                resources.append(
                    StackResource(
                        logicalId: change.logicalId, resourceType: change.resourceType, physicalId: change.physicalId,
                        state: state.json))
            } else if let old = previousResources[change.logicalId] {
                resources.append(old)
            } else if let state = prepared.plan.states[change.logicalId], change.action == .none {
                resources.append(
                    StackResource(
                        logicalId: change.logicalId, resourceType: change.resourceType, physicalId: change.physicalId,
                        state: state.json))
            }
        }
        let time = Date().timeIntervalSince1970
        let stack = Stack(
            name: prepared.stackName, templateHash: prepared.templateHash, parameters: prepared.model.parameters,
            status: status,
            statusReason: reason, deployments: deployments, createTime: prepared.previous?.createTime ?? time,
            updateTime: time)
        try await stacks.saveStack(stack, resources: resources, events: events)
    }

    func apply(_ step: StackPlan.FunctionStep, package: InspectedPackage) async throws {
        let spec = step.spec
        let reference = FunctionReference(name: spec.name, qualifier: nil)
        if step.create {
            _ = try await records.createFunction(
                name: spec.name, settings: spec.settings, zip: package.bytes, publish: step.publish, tags: [:],
                settle: nil)
        } else {
            if step.updateCode {
                _ = try await records.updateFunctionCode(
                    reference, zip: package.bytes, expectedRevisionId: nil, publish: false, settle: nil)
            }
            if step.updateConfiguration {
                let settings = spec.settings
                _ = try await records.updateFunctionConfiguration(
                    reference,
                    ConfigurationUpdate(
                        runtime: settings.runtime, handler: settings.handler, description: settings.description,
                        memorySize: settings.memorySize,
                        timeout: settings.timeout, environment: settings.environment ?? [:], layers: settings.layers),
                    expectedRevisionId: nil, settle: nil)
            }
            if step.publish {
                _ = try await records.publishVersion(
                    reference, description: nil, expectedCodeSha256: nil, expectedRevisionId: nil, settle: nil)
            }
        }
        if try await records.reservedConcurrency(spec.name) != spec.reservedConcurrency {
            _ = try await records.putFunctionConcurrency(spec.name, reserved: spec.reservedConcurrency)
        }
        if let removed = step.removedAlias { _ = try await records.deleteAlias(function: spec.name, name: removed) }
        guard let alias = spec.alias else { return }
        switch step.aliasStep {
        case .create(let version):
            _ = try await records.createAlias(
                function: spec.name, name: alias, functionVersion: String(version), additionalVersionWeights: [:],
                description: "")
        case .moveAtOnce(_, let version):
            _ = try await records.updateAlias(
                function: spec.name, name: alias, functionVersion: String(version), additionalVersionWeights: [:],
                description: nil, expectedRevisionId: nil, cause: "SamDeploy")
        case .deploy, .none:
            break
        }
    }

    /// Deletes one resource the stack owned (a retained layer's versions stay; hand-written
    /// versions and aliases go with their function).
    func remove(_ resource: DeployedResource) async throws {
        switch resource.resourceType {
        case "AWS::Serverless::Function", "AWS::Lambda::Function":
            _ = try await records.deleteFunction(FunctionReference(name: resource.physicalId, qualifier: nil))
        case "AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion":
            let retained =
                (try? JSONDecoder().decode(LayerSpec.self, from: Data(resource.state.fingerprint.utf8)))?.retain ?? true
            if !retained {
                for version in resource.state.versions ?? [] {
                    _ = try await records.deleteLayerVersion(name: resource.physicalId, version: version)
                }
            }
        case "AWS::CloudWatch::Alarm":
            _ = try await records.deleteAlarm(name: resource.physicalId)
        case "AWS::CodeDeploy::DeploymentConfig":
            _ = try await stacks.deleteCodeDeployConfig(resource.physicalId)
        default:
            break
        }
    }

    // MARK: - Deployments

    /// Whether the stack's deployments are advanced by the leading controller of a shared database
    /// (`follow` then only reads them) rather than by this process.
    public var followsLeader: Bool { local == nil }

    /// Follows the stack's deployments in the foreground until they all end, calling `show` after every
    /// pass; returns them finished. On the data directory's SQLite registry this process runs them, all at
    /// once (one controller each, function hooks in its runtime). On a shared database the leading
    /// controller (`relctl controller run --database …` or a `relctl serve --database …`, wherever it runs)
    /// advances them and this only reads them, as `relctl deploy --database` follows its deployment: a
    /// controller here would step them unfenced beside the leader's.
    public func follow(
        _ ids: [String], interval: Double, show: ([Deployment]) async -> Void
    ) async throws -> [Deployment] {
        let engine = self.engine
        let pool = local.map { RuntimePool(store: $0, rollout: engine) }
        let controllers =
            pool.map { pool in ids.map { Controller(engine: engine, scope: $0, invokeFunctionHook: pool.invokeHook) } }
            ?? []
        defer { for controller in controllers { controller.hooks.stopAll() } }
        do {
            while true {
                for controller in controllers { try await controller.tick() }
                let deployments = try await self.deployments(ids)
                await show(deployments)
                if !deployments.contains(where: \.status.isActive) {
                    await pool?.shutdown()
                    return deployments
                }
                try await Task.sleep(nanoseconds: UInt64(max(0.01, interval) * 1_000_000_000))
            }
        } catch {
            await pool?.shutdown()
            throw error
        }
    }

    public func deployments(_ ids: [String]) async throws -> [Deployment] {
        var deployments: [Deployment] = []
        for id in ids { deployments.append(try await records.deployment(id: id)) }
        return deployments
    }

    public func deploymentEvents(_ id: String, after: Int64) async throws -> [DeploymentEventEntry] {
        try await records.deploymentEvents(id: id, after: after)
    }

    /// Records how the deploy's deployments ended, once: only while the stack is still in progress with
    /// these deployments (a compare-and-set in the store's write), so of the foreground `sam deploy` and any
    /// servers settling the stack at the same time exactly one records the outcome and its events. False
    /// when another writer had recorded it (or a newer deploy has replaced the stack's deployments).
    @discardableResult
    public func finish(_ stackName: String, _ deployments: [Deployment], created: Bool) async throws -> Bool {
        let failed = deployments.filter { $0.status != .succeeded }
        let status =
            failed.isEmpty
            ? (created ? "CREATE_COMPLETE" : "UPDATE_COMPLETE") : (created ? "CREATE_FAILED" : "UPDATE_FAILED")
        let reason =
            failed.isEmpty
            ? nil
            : failed.map {
                "\($0.functionName):\($0.alias) deployment \($0.id) \($0.status.rawValue)\($0.error.map { " (\($0.code): \($0.message))" } ?? "")"
            }.joined(separator: "; ")
        let resources = try await stacks.stackResources(stackName)
        let time = Date().timeIntervalSince1970
        var events = deployments.map { deployment in
            let resource = resources.first {
                $0.physicalId == deployment.functionName && $0.resourceType.hasSuffix("Function")
            }
            return StackEvent(
                time: time, logicalId: resource?.logicalId ?? deployment.functionName,
                resourceType: resource?.resourceType ?? "AWS::Serverless::Function",
                physicalId: deployment.functionName,
                status: deployment.status == .succeeded ? "UPDATE_COMPLETE" : "UPDATE_FAILED",
                reason:
                    "deployment \(deployment.id) \(deployment.status.rawValue): \(deployment.alias) on version \(deployment.status == .succeeded ? deployment.targetVersion : deployment.currentVersion)"
            )
        }
        events.append(
            StackEvent(
                time: time, logicalId: stackName, resourceType: "AWS::CloudFormation::Stack", status: status,
                reason: reason))
        return try await stacks.finishStack(
            stackName, from: created ? "CREATE_IN_PROGRESS" : "UPDATE_IN_PROGRESS", deployments: deployments.map(\.id),
            status: status, reason: reason, resourceStates: [:], events: events)
    }

    // MARK: - Stacks

    public func stack(_ name: String) async throws -> Stack {
        guard let stack = try await stacks.stack(name) else {
            throw RelctlError(.resourceNotFound, "Stack \(name) does not exist; `relctl stack list` shows the stacks.")
        }
        return stack
    }

    public func allStacks() async throws -> [Stack] { try await stacks.stacks() }
    public func resources(_ name: String) async throws -> [StackResource] { try await stacks.stackResources(name) }
    public func events(_ name: String) async throws -> [StackEvent] { try await stacks.stackEvents(name) }

    /// Deletes what the stack created (alarms and functions first, then layers and configs) and its record.
    public func delete(_ name: String) async throws -> [StackResource] {
        _ = try await stack(name)
        let resources = try await stacks.stackResources(name)
        let active = try await rollout.read { try $0.activeDeployments() }
        for resource in resources where resource.resourceType.hasSuffix("::Function") {
            if let running = active.first(where: { $0.functionName == resource.physicalId }) {
                throw RelctlError(
                    .resourceConflict,
                    "Deployment \(running.id) of \(resource.physicalId) is in progress; stop it (`relctl deployments stop \(running.id)`) or wait before deleting stack \(name)."
                )
            }
        }
        let order = [
            "AWS::CloudWatch::Alarm", "AWS::Lambda::Alias", "AWS::Lambda::Version", "AWS::Serverless::Function",
            "AWS::Lambda::Function",
            "AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion", "AWS::CodeDeploy::DeploymentConfig",
        ]
        var events: [StackEvent] = []
        for resource in resources.sorted(by: {
            (order.firstIndex(of: $0.resourceType) ?? 99) < (order.firstIndex(of: $1.resourceType) ?? 99)
        }) {
            guard let state = ResourceState.decode(resource.state) else { continue }
            try await remove(
                DeployedResource(
                    logicalId: resource.logicalId, resourceType: resource.resourceType, physicalId: resource.physicalId,
                    state: state))
            events.append(
                StackEvent(
                    time: Date().timeIntervalSince1970, logicalId: resource.logicalId,
                    resourceType: resource.resourceType,
                    physicalId: resource.physicalId, status: "DELETE_COMPLETE", reason: nil))
        }
        events.append(
            StackEvent(
                time: Date().timeIntervalSince1970, logicalId: name, resourceType: "AWS::CloudFormation::Stack",
                status: "DELETE_COMPLETE", reason: nil))
        try await stacks.deleteStackRecord(name, events: events)
        return resources
    }
}
