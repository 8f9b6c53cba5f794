import Foundation
import PostgresNIO
import RelctlCore
import RelctlStorage

// The CodeDeploy API's records on PostgreSQL (SQLite's RelctlStore/CodeDeploy.swift, same rules): a
// create answers nil when the name is taken, checked and inserted under the store's write lock, so two
// servers creating the same name at once make one record and one conflict.
extension PostgresStore: CodeDeployStore {
    public func scopedCodeDeploy(region: String, actor: String) -> any CodeDeployStore {
        scoped(region: region, actor: actor)
    }

    public func createCodeDeployApplication(
        name: String, computePlatform: String
    ) async throws(RelctlError) -> CodeDeployApplication? {
        let application = CodeDeployApplication(
            name: name, applicationId: UUID().uuidString.lowercased(), computePlatform: computePlatform,
            createTime: clock().timeIntervalSince1970)
        return try await write(records: true) { db in
            guard try db.db.rows("SELECT 1 FROM codedeploy_applications WHERE name = \(name)").isEmpty else {
                return nil
            }
            try db.db.execute(
                """
                INSERT INTO codedeploy_applications (name, application_id, compute_platform, create_time)
                VALUES (\(name), \(application.applicationId), \(computePlatform), \(application.createTime))
                """)
            try db.audit(
                "CreateApplication", function: nil, resource: "codedeploy:application:\(name)", before: nil as String?,
                after: nil as String?)
            return application
        }
    }

    public func codeDeployApplication(_ name: String) async throws(RelctlError) -> CodeDeployApplication? {
        try await readRecords { db in
            try db.db.rows(
                "SELECT name, application_id, compute_platform, create_time FROM codedeploy_applications WHERE name = \(name)"
            ).first.map {
                let (name, id, platform, created) = try $0.decode((String, String, String, Double).self)
                return CodeDeployApplication(
                    name: name, applicationId: id, computePlatform: platform, createTime: created)
            }
        }
    }

    public func codeDeployApplications() async throws(RelctlError) -> [String] {
        try await readRecords { db in
            try db.db.rows(#"SELECT name FROM codedeploy_applications ORDER BY name COLLATE "C""#).map {
                try $0.decode(String.self)
            }
        }
    }

    public func createCodeDeployGroup(
        application: String, name: String, definition: String
    ) async throws(RelctlError) -> CodeDeployGroup? {
        let group = CodeDeployGroup(
            applicationName: application, name: name, deploymentGroupId: UUID().uuidString.lowercased(),
            definition: definition)
        return try await write(records: true) { db in
            guard
                try db.db.rows(
                    "SELECT 1 FROM codedeploy_deployment_groups WHERE application_name = \(application) AND name = \(name)"
                ).isEmpty
            else { return nil }
            try db.db.execute(
                """
                INSERT INTO codedeploy_deployment_groups (application_name, name, deployment_group_id, definition)
                VALUES (\(application), \(name), \(group.deploymentGroupId), \(definition))
                """)
            try db.audit(
                "CreateDeploymentGroup", function: nil, resource: "codedeploy:deploymentgroup:\(application)/\(name)",
                before: nil as String?, after: nil as String?)
            return group
        }
    }

    public func codeDeployGroup(application: String, name: String) async throws(RelctlError) -> CodeDeployGroup? {
        try await readRecords { db in
            try db.db.rows(
                """
                SELECT deployment_group_id, definition FROM codedeploy_deployment_groups
                WHERE application_name = \(application) AND name = \(name)
                """
            ).first.map {
                let (id, definition) = try $0.decode((String, String).self)
                return CodeDeployGroup(
                    applicationName: application, name: name, deploymentGroupId: id, definition: definition)
            }
        }
    }

    public func codeDeployGroups(application: String) async throws(RelctlError) -> [String] {
        try await readRecords { db in
            try db.db.rows(
                """
                SELECT name FROM codedeploy_deployment_groups WHERE application_name = \(application)
                ORDER BY name COLLATE "C"
                """
            ).map { try $0.decode(String.self) }
        }
    }

    public func createCodeDeployConfig(
        name: String, definition: String
    ) async throws(RelctlError) -> CodeDeployConfig? {
        let config = CodeDeployConfig(
            name: name, configId: UUID().uuidString.lowercased(), definition: definition,
            createTime: clock().timeIntervalSince1970)
        return try await write(records: true) { db in
            guard try db.db.rows("SELECT 1 FROM codedeploy_configs WHERE name = \(name)").isEmpty else { return nil }
            try db.db.execute(
                """
                INSERT INTO codedeploy_configs (name, config_id, definition, create_time)
                VALUES (\(name), \(config.configId), \(definition), \(config.createTime))
                """)
            try db.audit(
                "CreateDeploymentConfig", function: nil, resource: "codedeploy:deploymentconfig:\(name)",
                before: nil as String?, after: nil as String?)
            return config
        }
    }

    public func codeDeployConfig(_ name: String) async throws(RelctlError) -> CodeDeployConfig? {
        try await readRecords { db in
            try db.db.rows(
                "SELECT config_id, definition, create_time FROM codedeploy_configs WHERE name = \(name)"
            ).first.map {
                let (id, definition, created) = try $0.decode((String?, String, Double).self)
                // A config migrated from a registry without ids answers its name, as SQLite's did.
                return CodeDeployConfig(name: name, configId: id ?? name, definition: definition, createTime: created)
            }
        }
    }

    public func linkCodeDeployDeployment(
        _ id: String, application: String, group: String, description: String?, revision: String?
    ) async throws(RelctlError) {
        try await write(records: true) { db in
            try db.db.execute(
                """
                INSERT INTO codedeploy_deployments (deployment_id, application_name, deployment_group_name, description, revision)
                VALUES (\(id), \(application), \(group), \(description), \(revision))
                """)
        }
    }

    public func codeDeployLink(_ id: String) async throws(RelctlError) -> CodeDeployLink? {
        try await readRecords { db in
            try db.db.rows(
                """
                SELECT application_name, deployment_group_name, description, revision FROM codedeploy_deployments
                WHERE deployment_id = \(id)
                """
            ).first.map {
                let (application, group, description, revision) = try $0.decode((String, String, String?, String?).self)
                return CodeDeployLink(
                    application: application, group: group, description: description, revision: revision)
            }
        }
    }

    public func codeDeployDeploymentIds(
        application: String?, group: String?
    ) async throws(RelctlError) -> [String] {
        try await readRecords { db in
            try db.db.rows(
                """
                SELECT l.deployment_id FROM codedeploy_deployments l JOIN deployments d ON d.id = l.deployment_id
                WHERE (\(application)::text IS NULL OR l.application_name = \(application))
                  AND (\(group)::text IS NULL OR l.deployment_group_name = \(group))
                ORDER BY d.create_time DESC
                """
            ).map { try $0.decode(String.self) }
        }
    }
}
