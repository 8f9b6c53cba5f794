import Foundation
import PostgresNIO
import RelctlCore
import RelctlPackages
import RelctlStorage

// The registry records on PostgreSQL, with SQLite's rules: names and settings validated, version
// numbers from `functions.highest_version` (never reused: writers hold the store's write lock), a new
// RevisionId on every change and RevisionId checks, an audit row and an event in the same transaction.
// Quota and code bytes: PostgresStore+Code.swift; deletes, configuration, tags, quota and history:
// PostgresStore+Functions.swift; resource policies and provisioned concurrency: PostgresStore+Policies.swift,
// PostgresStore+Provisioned.swift; layers: PostgresStore+Layers.swift.
extension PostgresStore: RegistryRecords {
    public func createFunction(
        name: String, settings: FunctionSettings, zip: Data, publish: Bool, tags: [String: String], settle: Double?
    ) async throws(RelctlError) -> FunctionConfiguration {
        try FunctionReference.validateName(name)
        try settings.validate()
        try FunctionTags.validate(tags)
        try LayerRules.requireInRegion(settings.layers, region: arn.region)
        let package = try PackageInspector.inspect(zip)
        let stored = try StoredSettings(settings)
        return try await write(records: true) { db in
            if try db.functionExists(name) {
                throw RelctlError(.resourceConflict, "Function already exist: \(name)")
            }
            let layers = try db.resolveLayers(settings.layers)
            try db.requireUnzippedFits(code: package.unzippedSize, layers: layers)
            // With Publish, `$LATEST` and version 1 both count (publishLatest checks its own half again).
            try db.requireQuota(adding: Int64(package.bytes.count) * (publish ? 2 : 1))
            try db.db.execute("INSERT INTO functions (name, created_at) VALUES (\(name), \(db.timestamp))")
            try db.db.execute(
                """
                INSERT INTO versions (function_name, version, code_sha256, code_size, unzipped_size, runtime, handler, role, description,
                                      memory_size, timeout, architecture, last_modified, revision_id, environment,
                                      logging_config, ephemeral_storage_size, tracing_mode)
                VALUES (\(name), 0, \(package.sha256Hex), \(Int64(package.bytes.count)), \(package.unzippedSize), \(settings.runtime),
                        \(settings.handler), \(settings.role), \(settings.description), \(settings.memorySize), \(settings.timeout),
                        \(settings.architecture), \(db.timestamp), \(PostgresStore.newRevisionId()), \(stored.environment),
                        \(stored.loggingConfig), \(settings.ephemeralStorageSize), \(settings.tracingMode))
                """)
            try db.setLayers(function: name, version: 0, layers)
            for (key, value) in tags.sorted(by: { $0.key < $1.key }) {
                try db.db.execute(
                    "INSERT INTO function_tags (function_name, key, value) VALUES (\(name), \(key), \(value))")
            }
            try db.audit(
                "CreateFunction", function: name, resource: db.arn.functionArn(name), before: nil as String?,
                after: ["CodeSha256": package.sha256Hex])
            guard publish else { return try db.versionConfiguration(name, 0, arnQualifier: nil) }
            let number = try db.publishLatest(name, description: nil)
            // AWS answers CreateFunction(Publish) with the unqualified ARN and Version "1".
            return try db.versionConfiguration(name, number, arnQualifier: nil)
        }
    }

    public func updateFunctionCode(
        _ function: FunctionReference, zip: Data, expectedRevisionId: String?, publish: Bool, settle: Double?
    ) async throws(RelctlError) -> FunctionConfiguration {
        try Self.requireUnqualified(function)
        try requireAccount(function)
        let name = function.name
        let package = try PackageInspector.inspect(zip)
        return try await write(records: true) { db in
            guard let latest = try db.versionRows(name, from: 0, limit: 1).first, latest.version == 0 else {
                throw RelctlError.functionNotFound(db.arn.functionArn(name))
            }
            if let expectedRevisionId, expectedRevisionId != latest.revisionId { throw RelctlError.revisionMismatch }
            try db.requireUnzippedFits(code: package.unzippedSize, layers: try db.layers(of: name, version: 0))
            try db.requireQuota(
                adding: Int64(package.bytes.count) - latest.codeSize + (publish ? Int64(package.bytes.count) : 0))
            try db.db.execute(
                """
                UPDATE versions SET code_sha256 = \(package.sha256Hex), code_size = \(Int64(package.bytes.count)),
                  unzipped_size = \(package.unzippedSize), last_modified = \(db.timestamp), revision_id = \(PostgresStore.newRevisionId())
                WHERE function_name = \(name) AND version = 0
                """)
            try db.db.execute("UPDATE functions SET changed_since_publish = TRUE WHERE name = \(name)")
            try db.audit(
                "UpdateFunctionCode", function: name, resource: db.arn.functionArn(name), before: nil as String?,
                after: ["CodeSha256": package.sha256Hex])
            guard publish else { return try db.versionConfiguration(name, 0, arnQualifier: nil) }
            let number = try db.publishLatest(name, description: nil)
            return try db.versionConfiguration(name, number, arnQualifier: String(number))
        }
    }

    public func publishVersion(name: String, description: String?) async throws(RelctlError) -> Int {
        if let description, description.count > Limits.descriptionLength {
            throw .validation(
                value: description, field: "description",
                constraint: "Member must have length less than or equal to 256")
        }
        return try await write(records: true) { db in try db.publishLatest(name, description: description) }
    }

    public func createAlias(
        function: String, name: String, functionVersion: String, additionalVersionWeights: [String: Double] = [:],
        description: String = ""
    ) async throws(RelctlError) -> AliasConfiguration {
        try AliasName.validate(name)
        try Self.validateDescription(description)
        let primary = try AliasTarget.parseVersion(functionVersion)
        let target = try AliasTarget.from(functionVersion: primary, additionalVersionWeights: additionalVersionWeights)
        return try await write(records: true) { db in
            guard try db.functionExists(function) else {
                throw RelctlError.functionNotFound(db.arn.functionArn(function, qualifier: functionVersion))
            }
            if try db.aliasRow(function, name) != nil {
                throw RelctlError(
                    .resourceConflict, "Alias already exists: \(db.arn.functionArn(function, qualifier: name))")
            }
            try db.requireVersionsExist(function, target)
            let alias = AliasRow(
                functionName: function, name: name, functionVersion: target.functionVersion,
                additionalVersion: target.additional?.version, additionalWeight: target.additional?.weight,
                description: description, revisionId: PostgresStore.newRevisionId())
            try db.db.execute(
                """
                INSERT INTO aliases (function_name, name, function_version, additional_version, additional_weight, description, revision_id)
                VALUES (\(function), \(name), \(alias.functionVersion), \(alias.additionalVersion), \(alias.additionalWeight),
                        \(description), \(alias.revisionId))
                """)
            try db.recordMove(alias, from: nil, to: target, cause: "CreateAlias")
            let configuration = db.configuration(alias)
            try db.audit(
                "CreateAlias", function: function, resource: configuration.AliasArn, before: nil as String?,
                after: configuration)
            return configuration
        }
    }

    public func updateAlias(
        function: String, name: String, functionVersion: String? = nil,
        additionalVersionWeights: [String: Double]? = nil,
        description: String? = nil, expectedRevisionId: String? = nil, cause: String = "UpdateAlias"
    ) async throws(RelctlError) -> AliasConfiguration {
        if let description { try Self.validateDescription(description) }
        let primary = try functionVersion.map { text throws(RelctlError) in try AliasTarget.parseVersion(text) }
        return try await write(records: true) { db in
            let alias = try db.requireAlias(function, name, missing: "Alias not found")
            if let expectedRevisionId, expectedRevisionId != alias.revisionId { throw RelctlError.revisionMismatch }
            try db.requireNoActiveRollout(function, name, verb: "move")
            let weights =
                additionalVersionWeights ?? alias.target.additional.map { [String($0.version): $0.weight] } ?? [:]
            let target = try AliasTarget.from(
                functionVersion: primary ?? alias.functionVersion, additionalVersionWeights: weights)
            return try db.move(alias, to: target, description: description, cause: cause)
        }
    }

    public func getAlias(function: String, name: String) async throws(RelctlError) -> AliasConfiguration {
        try await blocking(write: false) { db in
            let transaction = PostgresTransaction(db: db, store: self)
            return transaction.configuration(
                try transaction.requireAlias(function, name, missing: "Cannot find alias arn"))
        }
    }

    public func aliasMoves(function: String, alias: String, limit: Int) async throws(RelctlError) -> [AliasMove] {
        try await blocking(write: false) { db in
            try db.rows(
                """
                SELECT id, at, actor, cause, from_version, from_additional_version, from_additional_weight,
                       to_version, to_additional_version, to_additional_weight
                FROM alias_moves WHERE function_name = \(function) AND alias_name = \(alias) ORDER BY id DESC LIMIT \(limit)
                """
            ).map {
                let (id, at, actor, cause, fromVersion, fromAdditional, fromWeight, toVersion, toAdditional, toWeight) =
                    try $0.decode((Int64, String, String, String, Int?, Int?, Double?, Int?, Int?, Double?).self)
                return AliasMove(
                    id: id, at: at, actor: actor, cause: cause,
                    from: AliasTarget.stored(fromVersion, additional: fromAdditional, weight: fromWeight),
                    to: AliasTarget.stored(toVersion, additional: toAdditional, weight: toWeight))
            }
        }
    }

    public func deployment(id: String) async throws(RelctlError) -> Deployment {
        try await read { db in
            guard let deployment = try db.deployment(id: id) else {
                throw RelctlError(.resourceNotFound, "Deployment \(id) does not exist.")
            }
            return deployment
        }
    }

    public func deploymentEvents(
        id: String, after afterId: Int64 = 0
    ) async throws(RelctlError) -> [DeploymentEventEntry] {
        try await blocking(write: false) { db in
            try db.rows(
                """
                SELECT id, at, kind, message, details FROM deployment_events WHERE deployment_id = \(id) AND id > \(afterId) ORDER BY id
                """
            ).map(DeploymentEventEntry.init(decisionLogRow:))
        }
    }

    public func putAlarm(_ definition: AlarmDefinition) async throws(RelctlError) {
        try definition.validate()
        try FunctionReference.validateName(definition.functionName)
        try await write(records: true) { db in
            let json = try JSON.encode(definition)
            try db.db.execute(
                """
                INSERT INTO alarms (name, definition, state_updated_at) VALUES (\(definition.name), \(json), \(db.now))
                ON CONFLICT (name) DO UPDATE SET definition = excluded.definition
                """)
            try db.audit(
                "PutMetricAlarm", function: definition.functionName, resource: "alarm:\(definition.name)",
                before: nil as String?, after: definition)
        }
    }

    /// A records write: the store's write transaction (never fenced: an API call is not a controller step).
    func write<T: Sendable>(
        records: Bool, _ body: @escaping @Sendable (PostgresTransaction) throws -> T
    ) async throws(RelctlError) -> T {
        let unfenced = self.unfenced
        return try await unfenced.blocking(write: true) { db in
            let value = try body(PostgresTransaction(db: db, store: unfenced))
            // An alarm (or another record) changed: the leader looks at once.
            try db.simple("NOTIFY \(PostgresWakeListener.channel)")
            return value
        }
    }

    static func validateDescription(_ description: String) throws(RelctlError) {
        guard description.count <= Limits.descriptionLength else {
            throw .validation(
                value: description, field: "description",
                constraint: "Member must have length less than or equal to 256")
        }
    }
}

extension PostgresTransaction {
    /// The configuration (with its layers) of a version the same transaction has just written (`$LATEST` is 0).
    func versionConfiguration(_ function: String, _ number: Int, arnQualifier: String?) throws -> FunctionConfiguration
    {
        guard let row = try versionRows(function, from: number, limit: 1).first, row.version == number,
            let configuration = try configurations([row], arnQualifier: { _ in arnQualifier }).first
        else {
            throw RelctlError.functionNotFound(
                arn.functionArn(function, qualifier: number == 0 ? nil : String(number)))
        }
        return configuration
    }
}
