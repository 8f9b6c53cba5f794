import Foundation

// CloudFormation's response shapes (botocore's `cloudformation` 2010-05-15 model), the fields relctl
// fills. Property names are the XML element names; lists are `Members` (`<member>` items).

struct CFNParameter: Encodable, Sendable {
    var ParameterKey: String
    var ParameterValue: String
}

struct CFNStack: Encodable, Sendable {
    struct StackDrift: Encodable, Sendable { var StackDriftStatus = "NOT_CHECKED" }
    var StackId: String
    var StackName: String
    var ChangeSetId: String?
    var Description: String?
    var Parameters: Members<CFNParameter>
    var CreationTime: String
    var LastUpdatedTime: String?
    var StackStatus: String
    var StackStatusReason: String?
    var DisableRollback = false
    var Capabilities: Members<String>?
    var Tags = Members<CFNParameter>([])
    var EnableTerminationProtection = false
    var DriftInformation = StackDrift()
}

struct DescribeStacksResult: Encodable, Sendable { var Stacks: Members<CFNStack> }

struct CFNStackSummary: Encodable, Sendable {
    var StackId: String
    var StackName: String
    var CreationTime: String
    var LastUpdatedTime: String?
    var StackStatus: String
    var StackStatusReason: String?
}

struct ListStacksResult: Encodable, Sendable { var StackSummaries: Members<CFNStackSummary> }

struct CFNStackEvent: Encodable, Sendable {
    var StackId: String
    var EventId: String
    var StackName: String
    var LogicalResourceId: String
    var PhysicalResourceId: String?
    var ResourceType: String
    var Timestamp: String
    var ResourceStatus: String
    var ResourceStatusReason: String?
}

struct DescribeStackEventsResult: Encodable, Sendable { var StackEvents: Members<CFNStackEvent> }

struct CFNStackResource: Encodable, Sendable {
    struct ResourceDrift: Encodable, Sendable { var StackResourceDriftStatus = "NOT_CHECKED" }
    var StackName: String?
    var StackId: String?
    var LogicalResourceId: String
    var PhysicalResourceId: String
    var ResourceType: String
    var LastUpdatedTimestamp: String
    var Timestamp: String?
    var ResourceStatus: String
    var DriftInformation = ResourceDrift()
}

struct DescribeStackResourcesResult: Encodable, Sendable { var StackResources: Members<CFNStackResource> }
struct DescribeStackResourceResult: Encodable, Sendable { var StackResourceDetail: CFNStackResource }
struct ListStackResourcesResult: Encodable, Sendable { var StackResourceSummaries: Members<CFNStackResource> }

struct CreateChangeSetResult: Encodable, Sendable {
    var Id: String
    var StackId: String
}

struct CFNChange: Encodable, Sendable {
    struct Resource: Encodable, Sendable {
        var Action: String
        var LogicalResourceId: String
        var PhysicalResourceId: String?
        var ResourceType: String
        var Replacement: String?
        var Scope: Members<String>?
    }
    var `Type` = "Resource"
    var ResourceChange: Resource
}

struct DescribeChangeSetResult: Encodable, Sendable {
    var ChangeSetName: String
    var ChangeSetId: String
    var StackId: String
    var StackName: String
    var Description: String?
    var Parameters: Members<CFNParameter>
    var CreationTime: String
    var ExecutionStatus: String
    var Status: String
    var StatusReason: String?
    var Capabilities: Members<String>
    var Changes: Members<CFNChange>
    var IncludeNestedStacks = false
}

struct CFNChangeSetSummary: Encodable, Sendable {
    var StackId: String
    var StackName: String
    var ChangeSetId: String
    var ChangeSetName: String
    var ExecutionStatus: String
    var Status: String
    var StatusReason: String?
    var CreationTime: String
    var Description: String?
}

struct ListChangeSetsResult: Encodable, Sendable { var Summaries: Members<CFNChangeSetSummary> }

struct GetTemplateResult: Encodable, Sendable {
    var TemplateBody: String
    var StagesAvailable = Members(["Original", "Processed"])
}

struct CFNParameterDeclaration: Encodable, Sendable {
    var ParameterKey: String
    var DefaultValue: String?
    var ParameterType: String
    var NoEcho: Bool
    var Description: String?
}

struct GetTemplateSummaryResult: Encodable, Sendable {
    var Parameters: Members<CFNParameterDeclaration>
    var Description: String?
    var Capabilities = Members<String>([])
    var ResourceTypes: Members<String>
    var Version: String?
    var DeclaredTransforms: Members<String>
}

struct ValidateTemplateResult: Encodable, Sendable {
    struct TemplateParameter: Encodable, Sendable {
        var ParameterKey: String
        var DefaultValue: String?
        var NoEcho: Bool
        var Description: String?
    }
    var Parameters: Members<TemplateParameter>
    var Description: String?
    var Capabilities = Members<String>([])
    var DeclaredTransforms: Members<String>
}

/// An empty `<…Result/>` is left out: the operations answer `ResponseMetadata` only.
struct EmptyResult: Encodable, Sendable {}

/// Any of the above, for the one place that renders them.
struct AnyEncodable: Encodable, @unchecked Sendable {
    let value: any Encodable
    init(_ value: any Encodable) { self.value = value }
    func encode(to encoder: any Encoder) throws { try value.encode(to: encoder) }
}
