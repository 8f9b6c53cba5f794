import Foundation
import RelctlCore

/// A CodeDeploy application (CreateApplication).
public struct CodeDeployApplication: Sendable {
    public var name: String
    public var applicationId: String
    public var computePlatform: String
    public var createTime: Double

    public init(name: String, applicationId: String, computePlatform: String, createTime: Double) {
        self.name = name
        self.applicationId = applicationId
        self.computePlatform = computePlatform
        self.createTime = createTime
    }
}

/// A deployment group: its definition is the CreateDeploymentGroup request as JSON.
public struct CodeDeployGroup: Sendable {
    public var applicationName: String
    public var name: String
    public var deploymentGroupId: String
    public var definition: String

    public init(applicationName: String, name: String, deploymentGroupId: String, definition: String) {
        self.applicationName = applicationName
        self.name = name
        self.deploymentGroupId = deploymentGroupId
        self.definition = definition
    }
}

/// A deployment config created with CreateDeploymentConfig: its definition is the trafficRoutingConfig JSON.
public struct CodeDeployConfig: Sendable {
    public var name: String
    public var configId: String
    public var definition: String
    public var createTime: Double

    public init(name: String, configId: String, definition: String, createTime: Double) {
        self.name = name
        self.configId = configId
        self.definition = definition
        self.createTime = createTime
    }
}

/// What a deployment created through the CodeDeploy API was created for.
public struct CodeDeployLink: Sendable {
    public var application: String
    public var group: String
    public var description: String?
    /// The CreateDeployment revision as JSON.
    public var revision: String?

    public init(application: String, group: String, description: String?, revision: String?) {
        self.application = application
        self.group = group
        self.description = description
        self.revision = revision
    }
}

/// The CodeDeploy API's own records beside the rollout store its deployments run on: applications,
/// deployment groups, configs and deployment ↔ group links, on SQLite and on PostgreSQL alike. Each
/// call is one transaction; a create answers nil when the name is taken.
public protocol CodeDeployStore: RolloutStore {
    /// The same store answering in another region and recording another actor (one per request).
    func scopedCodeDeploy(region: String, actor: String) -> any CodeDeployStore

    func createCodeDeployApplication(
        name: String, computePlatform: String
    ) async throws(RelctlError) -> CodeDeployApplication?
    func codeDeployApplication(_ name: String) async throws(RelctlError) -> CodeDeployApplication?
    /// Application names, sorted.
    func codeDeployApplications() async throws(RelctlError) -> [String]

    func createCodeDeployGroup(
        application: String, name: String, definition: String
    ) async throws(RelctlError) -> CodeDeployGroup?
    func codeDeployGroup(application: String, name: String) async throws(RelctlError) -> CodeDeployGroup?
    /// An application's group names, sorted.
    func codeDeployGroups(application: String) async throws(RelctlError) -> [String]

    func createCodeDeployConfig(name: String, definition: String) async throws(RelctlError) -> CodeDeployConfig?
    func codeDeployConfig(_ name: String) async throws(RelctlError) -> CodeDeployConfig?

    /// Records that deployment `id` was created through CreateDeployment for this application and group.
    func linkCodeDeployDeployment(
        _ id: String, application: String, group: String, description: String?, revision: String?
    ) async throws(RelctlError)
    func codeDeployLink(_ id: String) async throws(RelctlError) -> CodeDeployLink?
    /// Ids of the deployments created through the API (of one application / group when given), newest first.
    func codeDeployDeploymentIds(application: String?, group: String?) async throws(RelctlError) -> [String]
}
