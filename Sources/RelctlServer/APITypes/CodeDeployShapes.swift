import RelctlRollout

// CodeDeploy's output shapes (JSON 1.1), field for field as botocore's model names them.
struct CreateApplicationOutput: Encodable { var applicationId: String }
struct GetApplicationOutput: Encodable {
    struct ApplicationInfo: Encodable {
        var applicationId: String
        var applicationName: String
        var createTime: Double
        var linkedToGitHub = false
        var computePlatform: String
    }
    var application: ApplicationInfo
}
struct ListApplicationsOutput: Encodable { var applications: [String] }
struct CreateDeploymentGroupOutput: Encodable { var deploymentGroupId: String }
/// The group as CreateDeploymentGroup received it, with its id, platform and config filled in.
struct GetDeploymentGroupOutput: Encodable { var deploymentGroupInfo: JSONValue }
struct ListDeploymentGroupsOutput: Encodable { var applicationName: String; var deploymentGroups: [String] }
struct CreateDeploymentConfigOutput: Encodable { var deploymentConfigId: String }
struct GetDeploymentConfigOutput: Encodable {
    struct DeploymentConfigInfo: Encodable {
        var deploymentConfigId: String
        var deploymentConfigName: String
        var createTime: Double
        var computePlatform = "Lambda"
        var trafficRoutingConfig: JSONValue
    }
    var deploymentConfigInfo: DeploymentConfigInfo
}
struct ListDeploymentConfigsOutput: Encodable { var deploymentConfigsList: [String] }
struct CreateDeploymentOutput: Encodable { var deploymentId: String }
struct GetDeploymentOutput: Encodable { var deploymentInfo: DeploymentInfo }
struct BatchGetDeploymentsOutput: Encodable { var deploymentsInfo: [DeploymentInfo] }
struct ListDeploymentsOutput: Encodable { var deployments: [String] }
struct StopDeploymentOutput: Encodable { var status: String; var statusMessage: String }
struct PutLifecycleEventHookExecutionStatusOutput: Encodable { var lifecycleEventHookExecutionId: String }
