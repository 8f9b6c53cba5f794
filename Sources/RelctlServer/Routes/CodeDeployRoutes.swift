import Foundation
import HTTPTypes
import Hummingbird
import RelctlCore
import RelctlRollout
import RelctlStorage
import RelctlStore
import Yams

/// The CodeDeploy API (JSON 1.1, `X-Amz-Target: CodeDeploy_20141006.*` on `POST /`) for the Lambda
/// compute platform, enough for SAM-style workflows: applications, deployment groups, configs,
/// deployments with an AppSpec, lifecycle hook reports, stop.
struct CodeDeployRoutes: Sendable {
    let services: ServerServices

    static let targetPrefix = "CodeDeploy_20141006."
    static let contentType = "application/x-amz-json-1.1"

    /// The operation `X-Amz-Target` names (every CodeDeploy body is at most 1 MB).
    static func operation(_ request: Request) -> APIOperation {
        guard let target = request.headers[.amzTarget] else { return .unknown }
        // relctl's release-group actions sit beside CodeDeploy's, under the same signature and key rules.
        if let action = ReleaseOperations.action(target) { return APIOperation(name: action, api: .codeDeploy) }
        guard target.hasPrefix(targetPrefix) else { return .unknown }
        return APIOperation(name: String(target.dropFirst(targetPrefix.count)), api: .codeDeploy)
    }

    var routes: [Route] {
        [
            Route(.post, "/", operation: Self.operation) { request, context in
                // POST / without CodeDeploy's target is no operation of ours.
                guard context.operation.api == .codeDeploy else {
                    throw RelctlError(
                        .resourceNotFound, "No operation at \(request.method.rawValue) \(request.uri.path).")
                }
                let (action, body, allowExecHooks) = (
                    context.operation.name, context.body, services.options.allowExecHooks
                )
                guard let scope = context.scope else {
                    throw RelctlError(.service, "No registry for \(action): the request was not authenticated.")
                }
                if ReleaseOperations.action(request.headers[.amzTarget] ?? "") != nil {
                    return try await ReleaseOperations(store: scope.codeDeploy, allowExecHooks: allowExecHooks)
                        .perform(action, body: body)
                }
                return try await CodeDeployOperations(
                    store: scope.codeDeploy, records: scope.records,
                    policyFolder: services.registry.dataDirectory.appendingPathComponent("policies", isDirectory: true),
                    allowExecHooks: allowExecHooks
                ).perform(action, body: body)
            }
        ]
    }
}

/// The CodeDeploy operations over one scoped store (SQLite or PostgreSQL): its CodeDeploy records, the
/// rollout engine over it, and the registry records for aliases.
struct CodeDeployOperations {
    let store: any CodeDeployStore
    let records: any RegistryRecords
    /// This server's `<data-dir>/policies` (on a shared database too, as `relctl deploy --database` reads it).
    let policyFolder: URL
    let allowExecHooks: Bool

    func perform(_ action: String, body rawBody: Data) async throws -> Response {
        let body = try JSONObject(body: rawBody)
        func name(_ key: String) throws -> String {
            guard let value = try body.string(key), !value.isEmpty else {
                throw CodeDeployError(
                    type: key == "applicationName"
                        ? "ApplicationNameRequiredException"
                        : key == "deploymentGroupName"
                            ? "DeploymentGroupNameRequiredException"
                            : key == "deploymentId"
                                ? "DeploymentIdRequiredException"
                                : key == "deploymentConfigName"
                                    ? "DeploymentConfigNameRequiredException" : "InvalidInputException",
                    message: "\(key) is required.")
            }
            return value
        }
        switch action {
        case "CreateApplication":
            let platform = try body.string("computePlatform") ?? "Server"
            guard platform == "Lambda" else {
                throw CodeDeployError(
                    type: "InvalidComputePlatformException",
                    message: "relctl deploys Lambda functions only: computePlatform must be Lambda.")
            }
            guard
                let application = try await store.createCodeDeployApplication(
                    name: try name("applicationName"), computePlatform: platform)
            else {
                throw CodeDeployError(
                    type: "ApplicationAlreadyExistsException",
                    message: "The application already exists with the specified name.")
            }
            return reply(CreateApplicationOutput(applicationId: application.applicationId))
        case "GetApplication":
            let application = try await requireApplication(try name("applicationName"))
            return reply(
                GetApplicationOutput(
                    application: .init(
                        applicationId: application.applicationId, applicationName: application.name,
                        createTime: application.createTime, computePlatform: application.computePlatform)))
        case "ListApplications":
            return reply(ListApplicationsOutput(applications: try await store.codeDeployApplications()))
        case "CreateDeploymentGroup":
            let application = try await requireApplication(try name("applicationName")).name
            let groupName = try name("deploymentGroupName")
            if let config = try body.string("deploymentConfigName") { _ = try await policy(named: config) }
            let definition = String(decoding: rawBody, as: UTF8.self)
            guard
                let group = try await store.createCodeDeployGroup(
                    application: application, name: groupName, definition: definition)
            else {
                throw CodeDeployError(
                    type: "DeploymentGroupAlreadyExistsException",
                    message: "A deployment group with the specified name already exists with the specified application."
                )
            }
            return reply(CreateDeploymentGroupOutput(deploymentGroupId: group.deploymentGroupId))
        case "GetDeploymentGroup":
            let group = try await requireGroup(try name("applicationName"), try name("deploymentGroupName"))
            var info: [String: JSONValue] = [:]
            if case .object(let stored)? = JSONValue(json: group.definition) { info = stored }
            info["deploymentGroupId"] = .string(group.deploymentGroupId)
            info["computePlatform"] = .string("Lambda")
            info["deploymentConfigName"] = info["deploymentConfigName"] ?? .string("CodeDeployDefault.LambdaAllAtOnce")
            return reply(GetDeploymentGroupOutput(deploymentGroupInfo: .object(info)))
        case "ListDeploymentGroups":
            let application = try await requireApplication(try name("applicationName")).name
            return reply(
                ListDeploymentGroupsOutput(
                    applicationName: application,
                    deploymentGroups: try await store.codeDeployGroups(application: application)))
        case "CreateDeploymentConfig":
            let configName = try name("deploymentConfigName")
            guard (try body.string("computePlatform") ?? "Lambda") == "Lambda" else {
                throw CodeDeployError(
                    type: "InvalidComputePlatformException", message: "relctl deployment configs are for Lambda.")
            }
            guard let routing = try body.object("trafficRoutingConfig") else {
                throw CodeDeployError(
                    type: "InvalidDeploymentConfigNameException",
                    message: "trafficRoutingConfig is required for a Lambda deployment config.")
            }
            _ = try Self.policy(configName, from: routing.values)
            if try await catalog().lookup(configName) != nil {
                throw CodeDeployError(
                    type: "DeploymentConfigAlreadyExistsException",
                    message: "A deployment configuration with the specified name already exists.")
            }
            let definition = String(
                decoding: (try? JSONSerialization.data(withJSONObject: routing.values, options: [.sortedKeys]))
                    ?? Data(), as: UTF8.self)
            guard let config = try await store.createCodeDeployConfig(name: configName, definition: definition) else {
                throw CodeDeployError(
                    type: "DeploymentConfigAlreadyExistsException",
                    message: "A deployment configuration with the specified name already exists.")
            }
            return reply(CreateDeploymentConfigOutput(deploymentConfigId: config.configId))
        case "GetDeploymentConfig":
            let configName = try name("deploymentConfigName")
            let policy = try await policy(named: configName)
            let stored = try await store.codeDeployConfig(configName)
            return reply(
                GetDeploymentConfigOutput(
                    deploymentConfigInfo: .init(
                        deploymentConfigId: stored?.configId ?? configName, deploymentConfigName: configName,
                        createTime: stored?.createTime ?? 0,
                        trafficRoutingConfig: JSONValue(TrafficRouting.routingConfig(policy)))))
        case "ListDeploymentConfigs":
            // Every name a deployment may use: the presets by their CodeDeploy names, the YAML
            // policies and the configs created here (the presets' short names are aliases of the former).
            let names = try await catalog().entries.map { entry in
                entry.aliases.first { $0.hasPrefix("CodeDeployDefault.") } ?? entry.policy.name
            }
            return reply(ListDeploymentConfigsOutput(deploymentConfigsList: names))
        case "CreateDeployment":
            return try await createDeployment(body)
        case "GetDeployment":
            let deployment = try await requireDeployment(try name("deploymentId"))
            return reply(GetDeploymentOutput(deploymentInfo: try await info(deployment)))
        case "BatchGetDeployments":
            let ids = try body.strings("deploymentIds") ?? []
            var infos: [DeploymentInfo] = []
            for id in ids {
                guard let deployment = try await storedDeployment(id) else { continue }
                infos.append(try await info(deployment))
            }
            return reply(BatchGetDeploymentsOutput(deploymentsInfo: infos))
        case "ListDeployments":
            let application = try body.string("applicationName")
            let group = try body.string("deploymentGroupName")
            if let application { _ = try await requireApplication(application) }
            if let application, let group { _ = try await requireGroup(application, group) }
            let statuses = Set(try body.strings("includeOnlyStatuses") ?? [])
            var ids =
                application == nil && group == nil
                ? try await records.listDeployments(function: nil, status: nil, limit: 1000).map(\.id)
                : try await store.codeDeployDeploymentIds(application: application, group: group)
            if !statuses.isEmpty {
                var kept: [String] = []
                for id in ids {
                    if let deployment = try await storedDeployment(id),
                        statuses.contains(DeploymentInfo.codeDeployStatus(deployment))
                    {
                        kept.append(id)
                    }
                }
                ids = kept
            }
            return reply(ListDeploymentsOutput(deployments: ids))
        case "StopDeployment":
            let id = try name("deploymentId")
            let deployment = try await requireDeployment(id)
            guard deployment.status.isActive else {
                throw CodeDeployError(
                    type: "DeploymentAlreadyCompletedException", message: "The deployment is already complete.")
            }
            let stopped = try await RolloutEngine(store: store).stop(
                id: id, rollback: try body.bool("autoRollbackEnabled") ?? deployment.autoRollback)
            return reply(
                StopDeploymentOutput(
                    status: "Succeeded", statusMessage: stopped.rollbackMessage ?? "Deployment \(id) stopped."))
        case "PutLifecycleEventHookExecutionStatus":
            let id = try name("deploymentId")
            // A release group's hooks report here too, under the release's id (r-…).
            let release = ReleaseGroup.isReleaseId(id) ? try await store.read { try $0.release(id: id) } : nil
            let deployment: Deployment
            if let release { deployment = release.machine } else { deployment = try await requireDeployment(id) }
            guard let executionId = try body.string("lifecycleEventHookExecutionId") else {
                throw CodeDeployError(
                    type: "InvalidLifecycleEventHookExecutionIdException",
                    message: "lifecycleEventHookExecutionId is required.")
            }
            guard let status = try body.string("status").flatMap(HookStatus.init(rawValue:)), status.isFinal else {
                throw CodeDeployError(
                    type: "InvalidLifecycleEventHookExecutionStatusException",
                    message: "The status is Succeeded or Failed.")
            }
            guard let execution = deployment.hooks.first(where: { $0.executionId == executionId }) else {
                throw CodeDeployError(
                    type: "InvalidLifecycleEventHookExecutionIdException",
                    message: "A lifecycle event hook execution with that id was not found in deployment \(id).")
            }
            guard !execution.status.isFinal, deployment.status.isActive else {
                throw CodeDeployError(
                    type: "LifecycleEventAlreadyCompletedException",
                    message: "The lifecycle event is already \(execution.status.rawValue).")
            }
            _ = try await RolloutEngine(store: store).reportHook(
                deploymentId: id, executionId: executionId, status: status,
                output: "reported through the CodeDeploy API")
            return reply(PutLifecycleEventHookExecutionStatusOutput(lifecycleEventHookExecutionId: executionId))
        default:
            throw CodeDeployError(
                type: "UnknownOperationException", message: "relctl does not implement CodeDeploy's \(action).")
        }
    }

    func reply(_ output: some Encodable) -> Response {
        .awsJSON(output, contentType: CodeDeployRoutes.contentType)
    }

    // MARK: - CreateDeployment

    func createDeployment(_ body: JSONObject) async throws -> Response {
        guard let applicationName = try body.string("applicationName") else {
            throw CodeDeployError(type: "ApplicationNameRequiredException", message: "applicationName is required.")
        }
        _ = try await requireApplication(applicationName)
        guard let groupName = try body.string("deploymentGroupName") else {
            throw CodeDeployError(
                type: "DeploymentGroupNameRequiredException", message: "deploymentGroupName is required.")
        }
        let group = try await requireGroup(applicationName, groupName)
        let groupDefinition = JSONObject(
            (try? JSONSerialization.jsonObject(with: Data(group.definition.utf8))) as? [String: Any] ?? [:])
        guard let revision = try body.object("revision") else {
            throw CodeDeployError(
                type: "RevisionRequiredException", message: "A Lambda deployment needs a revision (AppSpecContent).")
        }
        let content =
            try revision.object("appSpecContent")?.string("content") ?? revision.object("string")?.string("content")
        guard let content else {
            throw CodeDeployError(
                type: "InvalidRevisionException",
                message: "relctl takes the AppSpec inline: revisionType AppSpecContent (or String) with its content.")
        }
        let appSpec = try AppSpec(parsing: content)
        let configName =
            try body.string("deploymentConfigName") ?? groupDefinition.string("deploymentConfigName")
            ?? "CodeDeployDefault.LambdaAllAtOnce"
        let policy = try await policy(named: configName)
        var alarms: [String] = []
        if let alarmConfiguration = try groupDefinition.object("alarmConfiguration"),
            try alarmConfiguration.bool("enabled") == true,
            let list = alarmConfiguration.values["alarms"] as? [[String: Any]]
        {
            alarms = list.compactMap { $0["name"] as? String }
        }
        var autoRollback = true
        if let override = try body.object("autoRollbackConfiguration")
            ?? groupDefinition.object("autoRollbackConfiguration")
        {
            autoRollback = try override.bool("enabled") ?? true
        }
        for hook in [appSpec.beforeAllowTraffic, appSpec.afterAllowTraffic].compactMap({ $0 })
        where hook.hasPrefix("exec:") && !allowExecHooks {
            throw CodeDeployError(
                type: "InvalidRevisionException",
                message:
                    "exec: hooks run commands on the server; it was started without --allow-exec-hooks, so a hook must be a Lambda function."
            )
        }
        let alias = try await records.getAlias(function: appSpec.function, name: appSpec.alias)
        if let current = appSpec.currentVersion, alias.FunctionVersion != current {
            throw CodeDeployError(
                type: "InvalidRevisionException",
                message:
                    "The AppSpec's CurrentVersion \(current) is not the version alias \(appSpec.alias) points at (\(alias.FunctionVersion))."
            )
        }
        let deployment = try await RolloutEngine(store: store).create(
            DeploymentRequest(
                function: appSpec.function, alias: appSpec.alias, targetVersion: appSpec.targetVersion, policy: policy,
                preTrafficHook: appSpec.beforeAllowTraffic, postTrafficHook: appSpec.afterAllowTraffic, alarms: alarms,
                autoRollback: autoRollback))
        let revisionJSON = (try? JSONSerialization.data(withJSONObject: revision.values, options: [.sortedKeys])).map {
            String(decoding: $0, as: UTF8.self)
        }
        try await store.linkCodeDeployDeployment(
            deployment.id, application: applicationName, group: groupName,
            description: try body.string("description"), revision: revisionJSON)
        return reply(CreateDeploymentOutput(deploymentId: deployment.id))
    }

    // MARK: - Shapes

    func info(_ deployment: Deployment) async throws -> DeploymentInfo {
        let link = try await store.codeDeployLink(deployment.id)
        return DeploymentInfo(
            codeDeploy: deployment, application: link?.application, group: link?.group,
            description: link?.description, revision: link?.revision.flatMap { JSONValue(json: $0) })
    }

    /// A deployment as last saved, nil when there is none.
    func storedDeployment(_ id: String) async throws -> Deployment? {
        try await store.read { try $0.deployment(id: id) }
    }

    /// A CodeDeploy `trafficRoutingConfig` as a relctl policy (see `TrafficRouting`), with AWS's error types.
    static func policy(_ name: String, from routing: [String: Any]) throws -> DeploymentPolicy {
        do {
            return try TrafficRouting.policy(name, from: routing)
        } catch {
            throw CodeDeployError(type: error.type, message: error.message)
        }
    }

    /// The one catalogue: presets, `<data-dir>/policies/*.yaml` and the configs created with CreateDeploymentConfig.
    func catalog() async throws -> PolicyCatalog {
        try PolicyCatalog(
            customFolder: policyFolder,
            deploymentConfigs: try await store.deploymentConfigDefinitions().map { ($0.name, $0.definition) })
    }

    /// A deployment config by name from the one catalogue: presets, `<data-dir>/policies/*.yaml`
    /// and configs created with CreateDeploymentConfig.
    func policy(named name: String) async throws -> DeploymentPolicy {
        if var policy = try await catalog().lookup(name)?.policy {
            policy.name = name  // the deployment answers with the config name it was asked for
            return policy
        }
        throw CodeDeployError(
            type: "DeploymentConfigDoesNotExistException",
            message: "The deployment configuration \(name) does not exist.")
    }

    func requireApplication(_ name: String) async throws -> CodeDeployApplication {
        guard let application = try await store.codeDeployApplication(name) else {
            throw CodeDeployError(
                type: "ApplicationDoesNotExistException", message: "No application found for name: \(name)")
        }
        return application
    }

    func requireGroup(_ application: String, _ name: String) async throws -> CodeDeployGroup {
        _ = try await requireApplication(application)
        guard let group = try await store.codeDeployGroup(application: application, name: name) else {
            throw CodeDeployError(
                type: "DeploymentGroupDoesNotExistException", message: "No Deployment Group found for name: \(name)")
        }
        return group
    }

    func requireDeployment(_ id: String) async throws -> Deployment {
        guard id.hasPrefix("d-") else {
            throw CodeDeployError(
                type: "InvalidDeploymentIdException", message: "The deployment ID \(id) is not valid.")
        }
        guard let deployment = try await storedDeployment(id) else {
            throw CodeDeployError(
                type: "DeploymentDoesNotExistException", message: "The deployment \(id) could not be found.")
        }
        return deployment
    }
}

/// The Lambda AppSpec: one function resource (Name, Alias, CurrentVersion, TargetVersion) and hooks.
struct AppSpec {
    var function: String
    var alias: String
    var currentVersion: String?
    var targetVersion: String
    var beforeAllowTraffic: String?
    var afterAllowTraffic: String?

    init(parsing content: String) throws {
        let document: Any?
        if let json = try? JSONSerialization.jsonObject(with: Data(content.utf8)) {
            document = json
        } else {
            document = try? Yams.load(yaml: content)
        }
        func invalid(_ why: String) -> CodeDeployError {
            CodeDeployError(type: "InvalidRevisionException", message: "AppSpec: \(why)")
        }
        guard let root = document as? [String: Any] else { throw invalid("not a JSON or YAML mapping.") }
        let resources = (root["Resources"] ?? root["resources"]) as? [[String: Any]] ?? []
        guard let resource = resources.first?.values.first as? [String: Any] else {
            throw invalid("Resources must list one function.")
        }
        let properties = (resource["Properties"] ?? resource["properties"]) as? [String: Any] ?? [:]
        func text(_ key: String) -> String? {
            let value = properties[key] ?? properties[key.lowercased()]
            if let string = value as? String { return string }
            if let number = value as? NSNumber { return number.stringValue }
            return nil
        }
        guard let name = text("Name"), let alias = text("Alias"), let target = text("TargetVersion") else {
            throw invalid("the resource needs Name, Alias, CurrentVersion and TargetVersion.")
        }
        function = (try? FunctionReference(parsing: name).name) ?? name
        self.alias = alias
        currentVersion = text("CurrentVersion")
        targetVersion = target
        let hooks = (root["Hooks"] ?? root["hooks"]) as? [[String: Any]] ?? []
        for hook in hooks {
            if let value = hook["BeforeAllowTraffic"] as? String { beforeAllowTraffic = value }
            if let value = hook["AfterAllowTraffic"] as? String { afterAllowTraffic = value }
        }
    }
}
