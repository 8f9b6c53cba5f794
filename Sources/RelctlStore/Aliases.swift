import Foundation
import GRDB
import RelctlCore

struct AliasRecord: SnakeCaseRecord {
    static let databaseTableName = "aliases"
    var functionName: String
    var name: String
    var functionVersion: Int
    var additionalVersion: Int?
    var additionalWeight: Double?
    var description: String
    var revisionId: String

    var target: AliasTarget {
        AliasTarget(
            functionVersion: functionVersion,
            additional: additionalVersion.map { AliasTarget.Additional(version: $0, weight: additionalWeight ?? 0) })
    }

    mutating func setTarget(_ target: AliasTarget) {
        functionVersion = target.functionVersion
        additionalVersion = target.additional?.version
        additionalWeight = target.additional?.weight
    }
}

extension AliasRecord {
    init(row: Row) {
        functionName = row["function_name"]
        name = row["name"]
        functionVersion = row["function_version"]
        additionalVersion = row["additional_version"]
        additionalWeight = row["additional_weight"]
        description = row["description"]
        revisionId = row["revision_id"]
    }

    /// `update(db)` through a cached statement (the hot path of every alias move). When the alias
    /// still names the versions it named in `previous` (a weight change: most moves of a rollout),
    /// the version columns are left out of the SET, so SQLite neither re-checks their foreign keys
    /// nor rewrites their index entries.
    func updateCached(_ db: Database, previous: AliasTarget? = nil) throws {
        let key = { ["function_name": functionName, "name": name] as [String: any DatabaseValueConvertible] }
        if let previous, previous.functionVersion == functionVersion,
            previous.additional?.version == additionalVersion
        {
            try db.update(
                cached: """
                    UPDATE aliases SET additional_weight = ?, description = ?, revision_id = ?
                    WHERE function_name = ? AND name = ?
                    """,
                [additionalWeight, description, revisionId, functionName, name],
                table: Self.databaseTableName, key: key)
            return
        }
        try db.update(
            cached: """
                UPDATE aliases SET function_version = ?, additional_version = ?, additional_weight = ?, description = ?,
                revision_id = ? WHERE function_name = ? AND name = ?
                """,
            [functionVersion, additionalVersion, additionalWeight, description, revisionId, functionName, name],
            table: Self.databaseTableName, key: key)
    }

    func encode(to container: inout PersistenceContainer) {
        container["function_name"] = functionName
        container["name"] = name
        container["function_version"] = functionVersion
        container["additional_version"] = additionalVersion
        container["additional_weight"] = additionalWeight
        container["description"] = description
        container["revision_id"] = revisionId
    }
}

struct AliasMoveRecord: SnakeCaseRecord {
    static let databaseTableName = "alias_moves"
    var id: Int64?
    var functionName: String
    var aliasName: String
    var at: String
    var actor: String
    var cause: String
    var fromVersion: Int?
    var fromAdditionalVersion: Int?
    var fromAdditionalWeight: Double?
    var toVersion: Int?
    var toAdditionalVersion: Int?
    var toAdditionalWeight: Double?

    var from: AliasTarget? { Self.target(fromVersion, fromAdditionalVersion, fromAdditionalWeight) }
    var to: AliasTarget? { Self.target(toVersion, toAdditionalVersion, toAdditionalWeight) }

    static func target(_ version: Int?, _ additional: Int?, _ weight: Double?) -> AliasTarget? {
        version.map {
            AliasTarget(functionVersion: $0, additional: additional.map { .init(version: $0, weight: weight ?? 0) })
        }
    }

    /// `insert(db)` through a cached statement (the id is the table's own).
    func insertCached(_ db: Database) throws {
        try db.execute(
            cached: """
                INSERT INTO alias_moves (function_name, alias_name, at, actor, cause, from_version, from_additional_version,
                from_additional_weight, to_version, to_additional_version, to_additional_weight)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            [
                functionName, aliasName, at, actor, cause, fromVersion, fromAdditionalVersion, fromAdditionalWeight,
                toVersion, toAdditionalVersion, toAdditionalWeight,
            ])
    }

    func encode(to container: inout PersistenceContainer) {
        container["id"] = id
        container["function_name"] = functionName
        container["alias_name"] = aliasName
        container["at"] = at
        container["actor"] = actor
        container["cause"] = cause
        container["from_version"] = fromVersion
        container["from_additional_version"] = fromAdditionalVersion
        container["from_additional_weight"] = fromAdditionalWeight
        container["to_version"] = toVersion
        container["to_additional_version"] = toAdditionalVersion
        container["to_additional_weight"] = toAdditionalWeight
    }
}

extension Registry {
    /// CreateAlias.
    public func createAlias(
        function: String, name: String, functionVersion: String, additionalVersionWeights: [String: Double] = [:],
        description: String = ""
    ) throws(RelctlError) -> AliasConfiguration {
        try AliasName.validate(name)
        try Self.validateDescription(description)
        let primary = try AliasTarget.parseVersion(functionVersion)
        let target = try AliasTarget.from(functionVersion: primary, additionalVersionWeights: additionalVersionWeights)
        return try write { db, _ in
            guard try db.functionExists(function) else {
                throw RelctlError.functionNotFound(arn.functionArn(function, qualifier: functionVersion))
            }
            if try AliasRecord.exists(db, key: ["function_name": function, "name": name]) {
                throw RelctlError(
                    .resourceConflict, "Alias already exists: \(arn.functionArn(function, qualifier: name))")
            }
            try requireVersionsExist(db, function, target)
            let alias = AliasRecord(
                functionName: function, name: name, functionVersion: target.functionVersion,
                additionalVersion: target.additional?.version, additionalWeight: target.additional?.weight,
                description: description, revisionId: Registry.newRevisionId())
            try alias.insert(db)
            try recordMove(db, alias: alias, from: nil, to: target, cause: "CreateAlias")
            let configuration = aliasConfiguration(alias)
            try audit(db, "CreateAlias", function: function, resource: configuration.AliasArn, after: configuration)
            return configuration
        }
    }

    /// UpdateAlias: nil leaves a field as it is; `additionalVersionWeights: [:]` removes the routing.
    public func updateAlias(
        function: String, name: String, functionVersion: String? = nil,
        additionalVersionWeights: [String: Double]? = nil,
        description: String? = nil, expectedRevisionId: String? = nil, cause: String = "UpdateAlias"
    ) throws(RelctlError) -> AliasConfiguration {
        if let description { try Self.validateDescription(description) }
        let primary = try functionVersion.map { text throws(RelctlError) in try AliasTarget.parseVersion(text) }
        return try write { db, _ in
            var alias = try requireAlias(db, function, name, missing: "Alias not found")
            if let expectedRevisionId, expectedRevisionId != alias.revisionId { throw RelctlError.revisionMismatch }
            try requireNoActiveDeployment(db, function, name, verb: "move")
            let weights =
                additionalVersionWeights
                ?? alias.target.additional.map { [String($0.version): $0.weight] } ?? [:]
            let target = try AliasTarget.from(
                functionVersion: primary ?? alias.functionVersion, additionalVersionWeights: weights)
            return try move(db, &alias, to: target, description: description, cause: cause)
        }
    }

    /// Points an alias at a new target inside the caller's transaction: checks the versions,
    /// changes the RevisionId, records the move and the audit row.
    func move(
        _ db: Database, _ alias: inout AliasRecord, to target: AliasTarget, description: String?, cause: String
    ) throws -> AliasConfiguration {
        let from = alias.target
        // The versions the alias names already exist (its foreign keys say so): only new ones are checked.
        try requireVersionsExist(db, alias.functionName, target, besides: from)
        let before = aliasConfiguration(alias)
        alias.setTarget(target)
        if let description { alias.description = description }
        alias.revisionId = Registry.newRevisionId()
        try alias.updateCached(db, previous: from)
        try recordMove(db, alias: alias, from: from, to: target, cause: cause)
        let after = aliasConfiguration(alias)
        try audit(db, cause, function: alias.functionName, resource: after.AliasArn, before: before, after: after)
        return after
    }

    public func getAlias(function: String, name: String) throws(RelctlError) -> AliasConfiguration {
        try readOneStatement { db in
            let alias = try requireAlias(db, function, name, missing: "Cannot find alias arn")
            return aliasConfiguration(alias)
        }
    }

    /// ListAliases, sorted by name; `functionVersion` keeps the aliases whose primary version it is.
    public func listAliases(
        function: String, functionVersion: String? = nil, marker: String? = nil, maxItems: Int? = nil
    ) throws(RelctlError) -> Page<AliasConfiguration> {
        let limit = try pageSize(maxItems, max: 10_000)
        let versionFilter = try functionVersion.map { text throws(RelctlError) in try AliasTarget.parseVersion(text) }
        return try read { db in
            _ = try requireFunction(db, function)
            let aliases = try AliasRecord.fetchAll(
                db,
                sql: """
                    SELECT * FROM aliases WHERE function_name = ? AND name > ? AND (?3 IS NULL OR function_version = ?3)
                    ORDER BY name LIMIT ?
                    """, arguments: [function, marker ?? "", versionFilter, limit + 1])
            let page = aliases.prefix(limit)
            return Page(items: page.map(aliasConfiguration), nextMarker: aliases.count > limit ? page.last?.name : nil)
        }
    }

    /// DeleteAlias. A missing alias is not an error (AWS answers 204).
    @discardableResult
    public func deleteAlias(function: String, name: String) throws(RelctlError) -> Bool {
        try write { db, _ in
            _ = try requireFunction(db, function)
            guard
                let alias = try db.fetchOne(
                    AliasRecord.self, cached: "SELECT * FROM aliases WHERE function_name = ? AND name = ?",
                    [function, name])
            else { return false }
            try requireNoActiveDeployment(db, function, name, verb: "delete")
            try alias.delete(db)
            try recordMove(db, alias: alias, from: alias.target, to: nil, cause: "DeleteAlias")
            try audit(
                db, "DeleteAlias", function: function, resource: aliasConfiguration(alias).AliasArn,
                before: aliasConfiguration(alias))
            return true
        }
    }

    /// Newest first: an alias's moves, or every audited change of the function.
    public func history(function: String, alias: String? = nil, limit: Int = 100) throws(RelctlError) -> [HistoryEntry]
    {
        try read { db in
            if let alias {
                let moves = try AliasMoveRecord.fetchAll(
                    db,
                    sql: """
                        SELECT * FROM alias_moves WHERE function_name = ? AND alias_name = ? ORDER BY id DESC LIMIT ?
                        """, arguments: [function, alias, limit])
                if moves.isEmpty { _ = try requireAlias(db, function, alias, missing: "Cannot find alias arn") }
                return moves.map {
                    HistoryEntry(
                        Id: $0.id ?? 0, Time: $0.at, Actor: $0.actor, Action: $0.cause,
                        Resource: arn.functionArn(function, qualifier: alias),
                        From: $0.from?.summary, To: $0.to?.summary, Before: nil, After: nil)
                }
            }
            let rows = try AuditRecord.fetchAll(
                db,
                sql: """
                    SELECT * FROM audit WHERE function_name = ? ORDER BY id DESC LIMIT ?
                    """, arguments: [function, limit])
            if rows.isEmpty { _ = try requireFunction(db, function) }
            return rows.map {
                HistoryEntry(
                    Id: $0.id ?? 0, Time: $0.at, Actor: $0.actor, Action: $0.action, Resource: $0.resource,
                    From: nil, To: nil, Before: $0.before, After: $0.after)
            }
        }
    }

    // MARK: - Helpers

    func requireNoActiveDeployment(_ db: Database, _ function: String, _ alias: String, verb: String) throws {
        if let deployment = try activeDeployment(db, function: function, alias: alias) {
            throw RelctlError(
                .resourceConflict,
                "Deployment \(deployment.id) is shifting traffic on \(function):\(alias); cannot \(verb) the alias by hand now (`relctl deployments stop \(deployment.id)` or `relctl rollback \(function) \(alias)`)."
            )
        }
        if let release = try SQLiteTransaction(db: db, registry: self).activeRelease(function: function, alias: alias) {
            throw RelctlError(
                .resourceConflict,
                "Release \(release.name) (\(release.id)) is shifting traffic on \(function):\(alias); cannot \(verb) the alias by hand now (`relctl release stop \(release.name)` restores every member)."
            )
        }
    }

    func requireAlias(_ db: Database, _ function: String, _ name: String, missing: String) throws -> AliasRecord {
        guard
            let alias = try db.fetchOne(
                AliasRecord.self, cached: "SELECT * FROM aliases WHERE function_name = ? AND name = ?",
                [function, name])
        else {
            if try !db.functionExists(function) {
                throw RelctlError.functionNotFound(arn.functionArn(function))
            }
            throw RelctlError(.resourceNotFound, "\(missing): \(arn.functionArn(function, qualifier: name))")
        }
        return alias
    }

    func requireVersionsExist(
        _ db: Database, _ function: String, _ target: AliasTarget, besides known: AliasTarget? = nil
    ) throws {
        let knownVersions = known?.referencedVersions ?? []
        for number in target.referencedVersions
        where try !knownVersions.contains(number)
            && !db.exists(
                cached: "SELECT 1 FROM versions WHERE function_name = ? AND version = ?", [function, number])
        {
            throw RelctlError.functionNotFound(arn.functionArn(function, qualifier: AliasTarget.versionText(number)))
        }
    }

    func recordMove(_ db: Database, alias: AliasRecord, from: AliasTarget?, to: AliasTarget?, cause: String) throws {
        let move = AliasMoveRecord(
            functionName: alias.functionName, aliasName: alias.name, at: now, actor: actor, cause: cause,
            fromVersion: from?.functionVersion, fromAdditionalVersion: from?.additional?.version,
            fromAdditionalWeight: from?.additional?.weight,
            toVersion: to?.functionVersion, toAdditionalVersion: to?.additional?.version,
            toAdditionalWeight: to?.additional?.weight)
        try move.insertCached(db)
        // A deployment's moves carry its id in the cause ("Deployment ID", "Rollback ID").
        let words = cause.split(separator: " ")
        let deploymentId = words.count == 2 && ["Deployment", "Rollback"].contains(words[0]) ? String(words[1]) : nil
        try recordEvent(
            db, .aliasMoved, function: alias.functionName, alias: alias.name, deploymentId: deploymentId,
            message: "\(cause): \(alias.name) \(Registry.describe(from)) → \(Registry.describe(to))",
            details: ["cause": cause, "from": Registry.describe(from), "to": Registry.describe(to)])
    }

    func aliasConfiguration(_ alias: AliasRecord) -> AliasConfiguration {
        AliasConfiguration(
            AliasArn: arn.functionArn(alias.functionName, qualifier: alias.name), Name: alias.name,
            FunctionVersion: AliasTarget.versionText(alias.functionVersion), Description: alias.description,
            RoutingConfig: alias.target.routingConfig, RevisionId: alias.revisionId)
    }

    static func validateDescription(_ description: String) throws(RelctlError) {
        guard description.count <= Limits.descriptionLength else {
            throw .validation(
                value: description, field: "description",
                constraint: "Member must have length less than or equal to 256")
        }
    }
}
