// Every table of the SQLite registry (migrations/0001…0010) with its columns named one by one and
// typed as the PostgreSQL schema (migrations/postgres) stores them, in an order where every row's
// foreign keys already point at copied rows. A column added to either schema is added here by hand:
// the copy checks this list against the source's tables and columns and refuses what it does not know.

import RelctlPostgres

/// One table to copy: its columns in order, and the identity column (PostgreSQL `GENERATED ALWAYS`,
/// SQLite `INTEGER PRIMARY KEY`) whose values are kept and whose sequence moves past them.
public struct RegistryTable: Sendable {
    public let name: String
    public let columns: [(name: String, kind: ColumnKind)]
    public let identity: String?
    /// The target's migrations seed this table (the one `usage` row): its rows are replaced, and it
    /// does not count when deciding whether the target is empty.
    public let seededByMigrations: Bool

    init(_ name: String, _ columns: [(String, ColumnKind)], identity: String? = nil, seededByMigrations: Bool = false) {
        self.name = name
        self.columns = columns.map { (name: $0.0, kind: $0.1) }
        self.identity = identity
        self.seededByMigrations = seededByMigrations
    }

    public var columnNames: [String] { columns.map(\.name) }
}

extension RegistryTable {
    /// Every registry table, parents before children.
    public static let all: [RegistryTable] = [
        RegistryTable("settings", [("key", .text), ("value", .text)]),
        RegistryTable(
            "usage", [("id", .integer), ("total_code_size", .integer), ("stored_bytes", .integer)],
            seededByMigrations: true),
        RegistryTable("blobs", [("sha256", .text), ("size", .integer), ("unzipped_size", .integer)]),
        RegistryTable(
            "functions",
            [
                ("name", .text), ("created_at", .text), ("highest_version", .integer),
                ("changed_since_publish", .boolean), ("reserved_concurrency", .integer),
            ]),
        RegistryTable(
            "versions",
            [
                ("function_name", .text), ("version", .integer), ("code_sha256", .text), ("code_size", .integer),
                ("unzipped_size", .integer), ("runtime", .text), ("handler", .text), ("role", .text),
                ("description", .text), ("memory_size", .integer), ("timeout", .integer), ("environment", .text),
                ("architecture", .text), ("last_modified", .text), ("revision_id", .text), ("logging_config", .text),
                ("ephemeral_storage_size", .integer), ("tracing_mode", .text),
            ]),
        RegistryTable("layers", [("name", .text), ("highest_version", .integer)]),
        RegistryTable(
            "layer_versions",
            [
                ("layer_name", .text), ("version", .integer), ("code_sha256", .text), ("code_size", .integer),
                ("unzipped_size", .integer), ("description", .text), ("compatible_runtimes", .text),
                ("compatible_architectures", .text), ("license_info", .text), ("created_date", .text),
                ("deleted", .boolean),
            ]),
        RegistryTable(
            "version_layers",
            [
                ("function_name", .text), ("version", .integer), ("position", .integer), ("layer_name", .text),
                ("layer_version", .integer),
            ]),
        RegistryTable(
            "layer_version_policies",
            [("layer_name", .text), ("layer_version", .integer), ("statements", .text), ("revision_id", .text)]),
        RegistryTable(
            "aliases",
            [
                ("function_name", .text), ("name", .text), ("function_version", .integer),
                ("additional_version", .integer), ("additional_weight", .real), ("description", .text),
                ("revision_id", .text),
            ]),
        RegistryTable(
            "alias_moves",
            [
                ("id", .integer), ("function_name", .text), ("alias_name", .text), ("at", .text), ("actor", .text),
                ("cause", .text), ("from_version", .integer), ("from_additional_version", .integer),
                ("from_additional_weight", .real), ("to_version", .integer), ("to_additional_version", .integer),
                ("to_additional_weight", .real),
            ], identity: "id"),
        RegistryTable(
            "audit",
            [
                ("id", .integer), ("at", .text), ("actor", .text), ("action", .text), ("function_name", .text),
                ("resource", .text), ("before", .text), ("after", .text),
            ], identity: "id"),
        RegistryTable(
            "deployments",
            [
                ("id", .text), ("function_name", .text), ("alias_name", .text), ("current_version", .integer),
                ("target_version", .integer), ("status", .text), ("create_time", .real), ("complete_time", .real),
                ("state", .text),
            ]),
        RegistryTable(
            "deployment_events",
            [
                ("id", .integer), ("deployment_id", .text), ("at", .real), ("kind", .text), ("message", .text),
                ("details", .text),
            ], identity: "id"),
        RegistryTable(
            "deployment_judges",
            [
                ("deployment_id", .text), ("judged_through", .real), ("weight", .real), ("verdict", .text),
                ("state", .text),
            ]),
        RegistryTable(
            "alarms",
            [
                ("name", .text), ("definition", .text), ("state", .text), ("state_reason", .text),
                ("state_datapoints", .text), ("state_updated_at", .real),
            ]),
        RegistryTable(
            "metric_datapoints",
            [
                ("id", .integer), ("function_name", .text), ("resource", .text), ("executed_version", .text),
                ("metric", .text), ("timestamp", .real), ("value", .real), ("unit", .text),
            ], identity: "id"),
        RegistryTable(
            "codedeploy_applications",
            [("name", .text), ("application_id", .text), ("compute_platform", .text), ("create_time", .real)]),
        RegistryTable(
            "codedeploy_deployment_groups",
            [
                ("application_name", .text), ("name", .text), ("deployment_group_id", .text), ("definition", .text),
            ]),
        RegistryTable(
            "codedeploy_configs",
            [("name", .text), ("config_id", .text), ("definition", .text), ("create_time", .real)]
        ),
        RegistryTable(
            "codedeploy_deployments",
            [
                ("deployment_id", .text), ("application_name", .text), ("deployment_group_name", .text),
                ("description", .text), ("revision", .text),
            ]),
        RegistryTable(
            "stacks",
            [
                ("name", .text), ("template_hash", .text), ("parameters", .text), ("status", .text),
                ("status_reason", .text), ("deployments", .text), ("create_time", .real), ("update_time", .real),
            ]),
        RegistryTable(
            "stack_resources",
            [
                ("stack_name", .text), ("logical_id", .text), ("resource_type", .text), ("physical_id", .text),
                ("state", .text),
            ]),
        RegistryTable(
            "stack_events",
            [
                ("id", .integer), ("stack_name", .text), ("time", .real), ("logical_id", .text),
                ("resource_type", .text), ("physical_id", .text), ("status", .text), ("reason", .text),
            ], identity: "id"),
        RegistryTable(
            "events",
            [
                ("seq", .integer), ("at", .real), ("type", .text), ("actor", .text), ("function_name", .text),
                ("alias_name", .text), ("deployment_id", .text), ("message", .text), ("details", .text),
            ], identity: "seq"),
        RegistryTable(
            "webhooks",
            [
                ("name", .text), ("url", .text), ("types", .text), ("function_name", .text), ("secret", .text),
                ("format", .text), ("created_at", .real), ("delivered_seq", .integer), ("attempts", .integer),
                ("next_attempt_at", .real), ("last_error", .text), ("lease_owner", .text), ("lease_until", .real),
            ]),
        RegistryTable(
            "releases",
            [
                ("id", .text), ("name", .text), ("status", .text), ("create_time", .real), ("complete_time", .real),
                ("state", .text),
            ]),
        RegistryTable(
            "release_members",
            [
                ("release_id", .text), ("function_name", .text), ("alias_name", .text), ("current_version", .integer),
                ("target_version", .integer), ("alias_weight", .real), ("active", .boolean),
            ]),
        RegistryTable(
            "release_events",
            [
                ("id", .integer), ("release_id", .text), ("at", .real), ("kind", .text), ("message", .text),
                ("details", .text),
            ], identity: "id"),
        RegistryTable("function_transitions", [("function_name", .text), ("kind", .text), ("settles_at", .real)]),
        RegistryTable(
            "function_policies",
            [("function_name", .text), ("qualifier", .text), ("statements", .text), ("revision_id", .text)]),
        RegistryTable("function_tags", [("function_name", .text), ("key", .text), ("value", .text)]),
        RegistryTable(
            "provisioned_concurrency",
            [("function_name", .text), ("qualifier", .text), ("requested", .integer), ("last_modified", .text)]),
        RegistryTable("s3_buckets", [("name", .text), ("create_time", .real)]),
        RegistryTable(
            "s3_objects",
            [
                ("bucket", .text), ("key", .text), ("sha256", .text), ("size", .integer), ("etag", .text),
                ("content_type", .text), ("metadata", .text), ("last_modified", .real),
            ]),
        RegistryTable(
            "cloudformation_change_sets",
            [
                ("id", .text), ("name", .text), ("stack_name", .text), ("stack_id", .text),
                ("change_set_type", .text), ("template", .text), ("parameters", .text), ("description", .text),
                ("capabilities", .text), ("status", .text), ("status_reason", .text), ("execution_status", .text),
                ("changes", .text), ("create_time", .real),
            ]),
        RegistryTable(
            "cloudformation_stacks",
            [
                ("stack_name", .text), ("stack_id", .text), ("template", .text), ("change_set_id", .text),
                ("description", .text),
            ]),
    ]
}
