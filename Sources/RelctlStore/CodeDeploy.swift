import Foundation
import GRDB
import RelctlCore
import RelctlStorage

// The CodeDeploy API's records on SQLite (the types and the protocol: RelctlStorage/CodeDeployStore.swift).
// Definitions are kept as the JSON the API received.
extension Registry: CodeDeployStore {
    public func scopedCodeDeploy(region: String, actor: String) -> any CodeDeployStore {
        scoped(region: region, actor: actor)
    }

    public func createCodeDeployApplication(
        name: String, computePlatform: String
    ) throws(RelctlError) -> CodeDeployApplication? {
        try write { db, _ in
            if try Bool.fetchOne(
                db, sql: "SELECT EXISTS (SELECT 1 FROM codedeploy_applications WHERE name = ?)", arguments: [name])
                == true
            {
                return nil
            }
            let application = CodeDeployApplication(
                name: name, applicationId: UUID().uuidString.lowercased(), computePlatform: computePlatform,
                createTime: clock().timeIntervalSince1970)
            try db.execute(
                sql: "INSERT INTO codedeploy_applications VALUES (?, ?, ?, ?)",
                arguments: [name, application.applicationId, computePlatform, application.createTime])
            try audit(db, "CreateApplication", function: nil, resource: "codedeploy:application:\(name)")
            return application
        }
    }

    public func codeDeployApplication(_ name: String) throws(RelctlError) -> CodeDeployApplication? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM codedeploy_applications WHERE name = ?", arguments: [name]).map {
                CodeDeployApplication(
                    name: $0["name"], applicationId: $0["application_id"], computePlatform: $0["compute_platform"],
                    createTime: $0["create_time"])
            }
        }
    }

    public func codeDeployApplications() throws(RelctlError) -> [String] {
        try read { db in try String.fetchAll(db, sql: "SELECT name FROM codedeploy_applications ORDER BY name") }
    }

    public func createCodeDeployGroup(
        application: String, name: String, definition: String
    ) throws(RelctlError) -> CodeDeployGroup? {
        try write { db, _ in
            if try Bool.fetchOne(
                db,
                sql:
                    "SELECT EXISTS (SELECT 1 FROM codedeploy_deployment_groups WHERE application_name = ? AND name = ?)",
                arguments: [application, name]) == true
            {
                return nil
            }
            let group = CodeDeployGroup(
                applicationName: application, name: name, deploymentGroupId: UUID().uuidString.lowercased(),
                definition: definition)
            try db.execute(
                sql: "INSERT INTO codedeploy_deployment_groups VALUES (?, ?, ?, ?)",
                arguments: [application, name, group.deploymentGroupId, definition])
            try audit(
                db, "CreateDeploymentGroup", function: nil,
                resource: "codedeploy:deploymentgroup:\(application)/\(name)")
            return group
        }
    }

    public func codeDeployGroup(application: String, name: String) throws(RelctlError) -> CodeDeployGroup? {
        try read { db in
            try Row.fetchOne(
                db, sql: "SELECT * FROM codedeploy_deployment_groups WHERE application_name = ? AND name = ?",
                arguments: [application, name]
            ).map {
                CodeDeployGroup(
                    applicationName: $0["application_name"], name: $0["name"],
                    deploymentGroupId: $0["deployment_group_id"], definition: $0["definition"])
            }
        }
    }

    public func codeDeployGroups(application: String) throws(RelctlError) -> [String] {
        try read { db in
            try String.fetchAll(
                db, sql: "SELECT name FROM codedeploy_deployment_groups WHERE application_name = ? ORDER BY name",
                arguments: [application])
        }
    }

    public func createCodeDeployConfig(name: String, definition: String) throws(RelctlError) -> CodeDeployConfig? {
        try write { db, _ in
            if try Bool.fetchOne(
                db, sql: "SELECT EXISTS (SELECT 1 FROM codedeploy_configs WHERE name = ?)", arguments: [name]) == true
            {
                return nil
            }
            let config = CodeDeployConfig(
                name: name, configId: UUID().uuidString.lowercased(), definition: definition,
                createTime: clock().timeIntervalSince1970)
            try db.execute(
                sql: "INSERT INTO codedeploy_configs VALUES (?, ?, ?, ?)",
                arguments: [name, config.configId, definition, config.createTime])
            try audit(db, "CreateDeploymentConfig", function: nil, resource: "codedeploy:deploymentconfig:\(name)")
            return config
        }
    }

    public func codeDeployConfig(_ name: String) throws(RelctlError) -> CodeDeployConfig? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM codedeploy_configs WHERE name = ?", arguments: [name]).map {
                CodeDeployConfig(
                    name: $0["name"], configId: $0["config_id"], definition: $0["definition"],
                    createTime: $0["create_time"])
            }
        }
    }

    public func codeDeployConfigs() throws(RelctlError) -> [String] {
        try read { db in try String.fetchAll(db, sql: "SELECT name FROM codedeploy_configs ORDER BY name") }
    }

    /// Every stored deployment config: its name and the trafficRoutingConfig JSON it was created with.
    public func codeDeployConfigDefinitions() throws(RelctlError) -> [(name: String, definition: String)] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT name, definition FROM codedeploy_configs ORDER BY name").map {
                (name: $0["name"], definition: $0["definition"])
            }
        }
    }

    public func linkCodeDeployDeployment(
        _ id: String, application: String, group: String, description: String?, revision: String?
    ) throws(RelctlError) {
        try write { db, _ in
            try db.execute(
                sql: "INSERT INTO codedeploy_deployments VALUES (?, ?, ?, ?, ?)",
                arguments: [id, application, group, description, revision])
        }
    }

    /// What a deployment was created for through the CodeDeploy API (nil: it was not).
    public func codeDeployLink(_ id: String) throws(RelctlError) -> CodeDeployLink? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM codedeploy_deployments WHERE deployment_id = ?", arguments: [id])
                .map {
                    CodeDeployLink(
                        application: $0["application_name"], group: $0["deployment_group_name"],
                        description: $0["description"], revision: $0["revision"])
                }
        }
    }

    public func codeDeployDeploymentIds(application: String?, group: String?) throws(RelctlError) -> [String] {
        try read { db in
            try String.fetchAll(
                db,
                sql: """
                    SELECT l.deployment_id FROM codedeploy_deployments l JOIN deployments d ON d.id = l.deployment_id
                    WHERE (?1 IS NULL OR l.application_name = ?1) AND (?2 IS NULL OR l.deployment_group_name = ?2)
                    ORDER BY d.create_time DESC
                    """, arguments: [application, group])
        }
    }
}
