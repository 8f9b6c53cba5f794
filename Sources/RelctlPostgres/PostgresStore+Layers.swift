import Foundation
import PostgresNIO
import RelctlCore
import RelctlPackages
import RelctlStorage

// Layers on PostgreSQL (issue 10 §1, §5) with SQLite's answers and messages (Registry's Layers.swift and the
// layer half of Policies.swift): PublishLayerVersion, GetLayerVersion, ListLayers, ListLayerVersions,
// DeleteLayerVersion, the layer-version permissions, and a function's layers (`version_layers`).
//
// Numbers come from `layers.highest_version`, bumped under the store's one write lock, so two servers
// publishing the same layer get two numbers and a deleted number is never handed out again. A deleted
// version that function versions still use stays (hidden from lists and gets) until its last user goes
// (`purgeDeletedLayerVersions`); usage is the sum of the rows' code sizes, so it drops with the row.
extension PostgresStore {
    /// PublishLayerVersion's rows; the code object is the caller's (`PostgresRecords` stores it first).
    public func publishLayerVersion(
        name: String, zip: Data, description: String, compatibleRuntimes: [String], compatibleArchitectures: [String],
        licenseInfo: String?
    ) async throws(RelctlError) -> LayerVersion {
        let name = try LayerName.parse(name, context: arn)
        try Self.validateDescription(description)
        try LayerRules.validateCompatibility(runtimes: compatibleRuntimes, architectures: compatibleArchitectures)
        let package = try PackageInspector.inspect(zip)
        return try await write(records: true) { db in
            try db.requireQuota(adding: package.size)
            guard
                let number = try db.db.rows(
                    """
                    INSERT INTO layers (name, highest_version) VALUES (\(name), 1)
                    ON CONFLICT (name) DO UPDATE SET highest_version = layers.highest_version + 1
                    RETURNING highest_version
                    """
                ).first?.decode(Int.self)
            else {
                throw RelctlError(.service, "The layer \(name) has no version number.")
            }
            try db.db.execute(
                """
                INSERT INTO layer_versions (layer_name, version, code_sha256, code_size, unzipped_size, description,
                                            compatible_runtimes, compatible_architectures, license_info, created_date)
                VALUES (\(name), \(number), \(package.sha256Hex), \(package.size), \(package.unzippedSize), \(description),
                        \(LayerRules.storedList(compatibleRuntimes)), \(LayerRules.storedList(compatibleArchitectures)),
                        \(licenseInfo), \(db.timestamp))
                """)
            let published = try db.requireLiveLayerVersion(name, number).layerVersion(db.arn)
            try db.audit(
                "PublishLayerVersion", function: nil, resource: published.LayerVersionArn, before: nil as String?,
                after: published)
            return published
        }
    }

    public func getLayerVersion(name: String, version: Int) async throws(RelctlError) -> LayerVersion {
        let name = try LayerName.parse(name, context: arn)
        try LayerRules.requireVersionNumber(version)
        return try await readRecords { db in try db.requireLiveLayerVersion(name, version).layerVersion(db.arn) }
    }

    public func layerVersionPage(
        name: String, compatibleRuntime: String?, compatibleArchitecture: String?, marker: String?, maxItems: Int?
    ) async throws(RelctlError) -> RecordPage<LayerVersion> {
        let name = try LayerName.parse(name, context: arn)
        let limit = try Self.pageSize(maxItems, max: 50)
        let before = try LayerRules.versionMarker(marker) ?? Int.max
        return try await readRecords { db in
            let rows = try db.db.rows(
                """
                SELECT \(unescaped: LayerVersionRow.columns) FROM layer_versions lv
                WHERE lv.layer_name = \(name) AND NOT lv.deleted AND lv.version < \(before)
                  AND (\(compatibleRuntime)::text IS NULL
                       OR lv.compatible_runtimes::jsonb @> jsonb_build_array(\(compatibleRuntime)::text))
                  AND (\(compatibleArchitecture)::text IS NULL
                       OR lv.compatible_architectures::jsonb @> jsonb_build_array(\(compatibleArchitecture)::text))
                ORDER BY lv.version DESC LIMIT \(limit + 1)
                """
            ).map(LayerVersionRow.init)
            let page = rows.prefix(limit)
            return RecordPage(
                items: page.map { $0.layerVersion(db.arn) },
                nextMarker: rows.count > limit ? page.last.map { String($0.version) } : nil)
        }
    }

    public func layerPage(
        compatibleRuntime: String?, compatibleArchitecture: String?, marker: String?, maxItems: Int?
    ) async throws(RelctlError) -> RecordPage<LayerSummary> {
        let limit = try Self.pageSize(maxItems, max: 50)
        return try await readRecords { db in
            // The newest matching live version of each layer after the marker, by name (byte order, as SQLite).
            let rows = try db.db.rows(
                """
                SELECT DISTINCT ON (lv.layer_name COLLATE "C") \(unescaped: LayerVersionRow.columns) FROM layer_versions lv
                WHERE lv.layer_name COLLATE "C" > \(marker ?? "") AND NOT lv.deleted
                  AND (\(compatibleRuntime)::text IS NULL
                       OR lv.compatible_runtimes::jsonb @> jsonb_build_array(\(compatibleRuntime)::text))
                  AND (\(compatibleArchitecture)::text IS NULL
                       OR lv.compatible_architectures::jsonb @> jsonb_build_array(\(compatibleArchitecture)::text))
                ORDER BY lv.layer_name COLLATE "C", lv.version DESC LIMIT \(limit + 1)
                """
            ).map(LayerVersionRow.init)
            let page = rows.prefix(limit)
            return RecordPage(
                items: page.map {
                    LayerSummary(
                        LayerName: $0.layerName, LayerArn: db.arn.layerArn($0.layerName),
                        LatestMatchingVersion: $0.layerVersion(db.arn))
                },
                nextMarker: rows.count > limit ? page.last?.layerName : nil)
        }
    }

    public func deleteLayerVersion(name: String, version: Int) async throws(RelctlError) -> Bool {
        let name = try LayerName.parse(name, context: arn)
        return try await write(records: true) { db in
            guard let row = try db.layerVersionRow(name, version), !row.deleted else { return false }
            let before = row.layerVersion(db.arn)
            // Hidden at once (its policy goes with it: the schema's trigger); the row goes now or with its last user.
            try db.db.execute(
                "UPDATE layer_versions SET deleted = TRUE WHERE layer_name = \(name) AND version = \(version)")
            try db.purgeDeletedLayerVersions()
            try db.audit(
                "DeleteLayerVersion", function: nil, resource: before.LayerVersionArn, before: before,
                after: nil as String?)
            return true
        }
    }

    /// Whether a function version or a live layer version uses the code (the presigned download's rule).
    public func usesCode(_ sha256Hex: String) async throws(RelctlError) -> Bool {
        try await readRecords { db in
            try db.db.rows(
                """
                SELECT EXISTS (SELECT 1 FROM versions WHERE code_sha256 = \(sha256Hex))
                    OR EXISTS (SELECT 1 FROM layer_versions WHERE code_sha256 = \(sha256Hex) AND NOT deleted)
                """
            ).first?.decode(Bool.self) ?? false
        }
    }

    /// The store alone holds no code bytes: `PostgresRecords` (the store with its code store) answers downloads.
    public func usedCode(_ sha256Hex: String) async throws(RelctlError) -> Data? {
        throw RelctlError(
            .unsupportedOperation, "Code downloads need the code store: use PostgresRecords(store:code:).")
    }

    // MARK: Layer-version permissions

    public func addLayerVersionPermission(
        layer name: String, version: Int, statementId: String, action: String, principal: String,
        organizationId: String?, expectedRevisionId: String?
    ) async throws(RelctlError) -> (statement: String, revisionId: String) {
        try await write(records: true) { db in
            _ = try db.requireLiveLayerVersion(name, version)
            let policy = try db.layerVersionPolicy(name, version)
            if let expectedRevisionId, expectedRevisionId != policy?.revisionId {
                throw LayerPolicyStatement.revisionMismatch
            }
            var statements = policy?.statements ?? []
            if statements.contains(where: { $0.Sid == statementId }) {
                throw RelctlError(
                    .resourceConflict,
                    "The statement id (\(statementId)) provided already exists. Please provide a new statement id, or remove the existing statement."
                )
            }
            let resource = db.arn.layerVersionArn(name, version: version)
            let statement = LayerPolicyStatement(
                Sid: statementId, Principal: .init(principal), Action: action, Resource: resource,
                Condition: organizationId.map { ["StringEquals": ["aws:PrincipalOrgID": $0]] })
            statements.append(statement)
            let revision = try db.saveLayerVersionPolicy(name, version, statements)
            try db.audit(
                "AddLayerVersionPermission", function: nil, resource: resource, before: nil as String?,
                after: statement)
            return (LayerPolicyStatement.json(statement), revision)
        }
    }

    public func getLayerVersionPolicy(
        layer name: String, version: Int
    ) async throws(RelctlError) -> (policy: String, revisionId: String) {
        try await readRecords { db in
            _ = try db.requireLiveLayerVersion(name, version)
            guard let policy = try db.layerVersionPolicy(name, version) else { throw LayerPolicyStatement.noPolicy }
            return (LayerPolicyStatement.json(LayerPolicyDocument(Statement: policy.statements)), policy.revisionId)
        }
    }

    public func removeLayerVersionPermission(
        layer name: String, version: Int, statementId: String, expectedRevisionId: String?
    ) async throws(RelctlError) {
        try await write(records: true) { db in
            _ = try db.requireLiveLayerVersion(name, version)
            guard let policy = try db.layerVersionPolicy(name, version) else { throw LayerPolicyStatement.noPolicy }
            if let expectedRevisionId, expectedRevisionId != policy.revisionId {
                throw LayerPolicyStatement.revisionMismatch
            }
            var remaining = policy.statements
            guard let index = remaining.firstIndex(where: { $0.Sid == statementId }) else {
                throw RelctlError(.resourceNotFound, "Statement \(statementId) is not found in resource policy.")
            }
            let removed = remaining.remove(at: index)
            try db.saveLayerVersionPolicy(name, version, remaining)
            try db.audit(
                "RemoveLayerVersionPermission", function: nil, resource: db.arn.layerVersionArn(name, version: version),
                before: removed, after: nil as String?)
        }
    }
}

// The same operations through the records with their code store (what `relctl serve --database` answers from).
extension PostgresRecords {
    /// The presigned code download reads the object from the code store once a row is known to use it.
    public func usedCode(_ sha256Hex: String) async throws(RelctlError) -> Data? {
        guard try await store.usesCode(sha256Hex) else { return nil }
        return try await code.get(sha256Hex)
    }

    /// The layer's code object is written and checked before the row that names it can commit.
    public func publishLayerVersion(
        name: String, zip: Data, description: String, compatibleRuntimes: [String], compatibleArchitectures: [String],
        licenseInfo: String?
    ) async throws(RelctlError) -> LayerVersion {
        _ = try LayerName.parse(name, context: store.arn)
        try LayerRules.validateCompatibility(runtimes: compatibleRuntimes, architectures: compatibleArchitectures)
        _ = try await storeObject(zip)
        return try await store.publishLayerVersion(
            name: name, zip: zip, description: description, compatibleRuntimes: compatibleRuntimes,
            compatibleArchitectures: compatibleArchitectures, licenseInfo: licenseInfo)
    }

    public func getLayerVersion(name: String, version: Int) async throws(RelctlError) -> LayerVersion {
        try await store.getLayerVersion(name: name, version: version)
    }

    public func layerVersionPage(
        name: String, compatibleRuntime: String?, compatibleArchitecture: String?, marker: String?, maxItems: Int?
    ) async throws(RelctlError) -> RecordPage<LayerVersion> {
        try await store.layerVersionPage(
            name: name, compatibleRuntime: compatibleRuntime, compatibleArchitecture: compatibleArchitecture,
            marker: marker, maxItems: maxItems)
    }

    public func layerPage(
        compatibleRuntime: String?, compatibleArchitecture: String?, marker: String?, maxItems: Int?
    ) async throws(RelctlError) -> RecordPage<LayerSummary> {
        try await store.layerPage(
            compatibleRuntime: compatibleRuntime, compatibleArchitecture: compatibleArchitecture, marker: marker,
            maxItems: maxItems)
    }

    public func deleteLayerVersion(name: String, version: Int) async throws(RelctlError) -> Bool {
        try await store.deleteLayerVersion(name: name, version: version)
    }

    public func addLayerVersionPermission(
        layer name: String, version: Int, statementId: String, action: String, principal: String,
        organizationId: String?, expectedRevisionId: String?
    ) async throws(RelctlError) -> (statement: String, revisionId: String) {
        try await store.addLayerVersionPermission(
            layer: name, version: version, statementId: statementId, action: action, principal: principal,
            organizationId: organizationId, expectedRevisionId: expectedRevisionId)
    }

    public func getLayerVersionPolicy(
        layer name: String, version: Int
    ) async throws(RelctlError) -> (policy: String, revisionId: String) {
        try await store.getLayerVersionPolicy(layer: name, version: version)
    }

    public func removeLayerVersionPermission(
        layer name: String, version: Int, statementId: String, expectedRevisionId: String?
    ) async throws(RelctlError) {
        try await store.removeLayerVersionPermission(
            layer: name, version: version, statementId: statementId, expectedRevisionId: expectedRevisionId)
    }
}

/// A `layer_versions` row.
struct LayerVersionRow: Sendable {
    /// Its columns, from `layer_versions lv`.
    static let columns = """
        lv.layer_name, lv.version, lv.code_sha256, lv.code_size, lv.unzipped_size, lv.description,
        lv.compatible_runtimes, lv.compatible_architectures, lv.license_info, lv.created_date, lv.deleted
        """
    var layerName: String
    var version: Int
    var codeSha256: String
    var codeSize: Int64
    var unzippedSize: Int64
    var description: String
    var compatibleRuntimes: String
    var compatibleArchitectures: String
    var licenseInfo: String?
    var createdDate: String
    var deleted: Bool

    init(_ row: PostgresRow) throws {
        (
            layerName, version, codeSha256, codeSize, unzippedSize, description, compatibleRuntimes,
            compatibleArchitectures, licenseInfo, createdDate, deleted
        ) = try row.decode((String, Int, String, Int64, Int64, String, String, String, String?, String, Bool).self)
    }

    func layerVersion(_ arn: ArnContext) -> LayerVersion {
        .stored(
            arn, name: layerName, version: version, codeSha256: CodeHash.base64(fromHex: codeSha256),
            codeSize: codeSize,
            description: description, createdDate: createdDate, compatibleRuntimes: compatibleRuntimes,
            compatibleArchitectures: compatibleArchitectures, licenseInfo: licenseInfo)
    }
}

extension PostgresTransaction {
    func layerVersionRow(_ name: String, _ version: Int) throws -> LayerVersionRow? {
        try db.rows(
            """
            SELECT \(unescaped: LayerVersionRow.columns) FROM layer_versions lv WHERE lv.layer_name = \(name) AND lv.version = \(version)
            """
        ).first.map(LayerVersionRow.init)
    }

    /// A live (not deleted) layer version, else SQLite's ResourceNotFound.
    func requireLiveLayerVersion(_ name: String, _ version: Int) throws -> LayerVersionRow {
        guard let row = try layerVersionRow(name, version), !row.deleted else { throw LayerRules.notFound }
        return row
    }

    // MARK: A function's layers

    /// Resolves a function's layer version ARNs (this region, this account, live versions), in order.
    func resolveLayers(_ arns: [String]) throws -> [LayerVersionRow] {
        try LayerRules.requireInRegion(arns, region: arn.region)
        return try LayerRules.references(arns).map { text, reference in
            guard reference.account == arn.account,
                let row = try layerVersionRow(reference.name, reference.version), !row.deleted
            else {
                throw LayerRules.missing(text)
            }
            return row
        }
    }

    /// The layers a function version uses, in order (deleted ones too: they stay while it uses them).
    func layers(of function: String, version: Int) throws -> [LayerVersionRow] {
        try db.rows(
            """
            SELECT \(unescaped: LayerVersionRow.columns)
            FROM version_layers vl JOIN layer_versions lv ON lv.layer_name = vl.layer_name AND lv.version = vl.layer_version
            WHERE vl.function_name = \(function) AND vl.version = \(version) ORDER BY vl.position
            """
        ).map(LayerVersionRow.init)
    }

    /// Replaces a function version's layers (deleted layer versions it no longer uses are purged).
    func setLayers(function: String, version: Int, _ layers: [LayerVersionRow]) throws {
        try db.execute("DELETE FROM version_layers WHERE function_name = \(function) AND version = \(version)")
        for (position, layer) in layers.enumerated() {
            try db.execute(
                """
                INSERT INTO version_layers (function_name, version, position, layer_name, layer_version)
                VALUES (\(function), \(version), \(position), \(layer.layerName), \(layer.version))
                """)
        }
        try purgeDeletedLayerVersions()
    }

    /// A published version takes `$LATEST`'s layers.
    func copyLatestLayers(function: String, to version: Int) throws {
        try db.execute(
            """
            INSERT INTO version_layers (function_name, version, position, layer_name, layer_version)
            SELECT function_name, \(version), position, layer_name, layer_version FROM version_layers
            WHERE function_name = \(function) AND version = 0
            """)
    }

    func latestUnzippedSize(_ function: String) throws -> Int64 {
        try db.rows("SELECT unzipped_size FROM versions WHERE function_name = \(function) AND version = 0").first?
            .decode(Int64.self) ?? 0
    }

    /// The code plus the layers, unzipped, must fit Lambda's 250 MB.
    func requireUnzippedFits(code: Int64, layers: [LayerVersionRow]) throws {
        try LayerRules.requireUnzippedFits(code: code, layers: layers.map(\.unzippedSize))
    }

    /// A versions row as GetFunctionConfiguration shows it, with its layers (Arn, CodeSize).
    func configuration(_ row: VersionRow, arnQualifier: String?) throws -> FunctionConfiguration {
        try configurations([row]) { _ in arnQualifier }[0]
    }

    /// Many versions rows' configurations with one layer query (lists).
    func configurations(
        _ rows: [VersionRow], arnQualifier: (VersionRow) -> String?
    ) throws -> [FunctionConfiguration] {
        var layers: [String: [LayerReference]] = [:]
        for row in try db.rows(
            """
            SELECT vl.function_name, vl.version, vl.layer_name, vl.layer_version, lv.code_size
            FROM unnest(\(rows.map(\.functionName))::text[], \(rows.map(\.version))::bigint[]) AS wanted(function_name, version)
            JOIN version_layers vl ON vl.function_name = wanted.function_name AND vl.version = wanted.version
            JOIN layer_versions lv ON lv.layer_name = vl.layer_name AND lv.version = vl.layer_version
            ORDER BY vl.function_name, vl.version, vl.position
            """)
        {
            let (function, version, layer, layerVersion, size) = try row.decode((String, Int, String, Int, Int64).self)
            layers["\(function):\(version)", default: []].append(
                LayerReference(Arn: arn.layerVersionArn(layer, version: layerVersion), CodeSize: size))
        }
        return rows.map {
            var configuration = $0.configuration(arn, arnQualifier: arnQualifier($0))
            configuration.Layers = layers["\($0.functionName):\($0.version)"]
            return configuration
        }
    }

    // MARK: Layer-version policies

    func layerVersionPolicy(
        _ name: String, _ version: Int
    ) throws -> (statements: [LayerPolicyStatement], revisionId: String)? {
        guard
            let row = try db.rows(
                """
                SELECT statements, revision_id FROM layer_version_policies WHERE layer_name = \(name) AND layer_version = \(version)
                """
            ).first
        else { return nil }
        let (statements, revision) = try row.decode((String, String).self)
        return (LayerPolicyStatement.decode(statements), revision)
    }

    /// Saves the statements with a new RevisionId (returned), or deletes the policy when none is left ("").
    @discardableResult
    func saveLayerVersionPolicy(_ name: String, _ version: Int, _ statements: [LayerPolicyStatement]) throws -> String {
        guard !statements.isEmpty else {
            try db.execute(
                "DELETE FROM layer_version_policies WHERE layer_name = \(name) AND layer_version = \(version)")
            return ""
        }
        let revision = PostgresStore.newRevisionId()
        try db.execute(
            """
            INSERT INTO layer_version_policies (layer_name, layer_version, statements, revision_id)
            VALUES (\(name), \(version), \(LayerPolicyStatement.json(statements)), \(revision))
            ON CONFLICT (layer_name, layer_version) DO UPDATE SET statements = excluded.statements, revision_id = excluded.revision_id
            """)
        return revision
    }
}

/// A layer version policy's statement as SQLite writes it (its `PolicyStatement`: Sid, Effect, Principal,
/// Action, Resource, Condition, in that order, `/` unescaped), so a policy migrated from SQLite reads the
/// same and both engines answer the same bytes. Layer statements grant `lambda:GetLayerVersion` to
/// anyone or to an account, optionally within an organization.
struct LayerPolicyStatement: Codable, Sendable {
    enum Grantee: Codable, Sendable {
        case anyone
        case aws(String)

        /// `*`, an account id (as its root's ARN) or an account root's ARN, as AddLayerVersionPermission takes it.
        init(_ principal: String) {
            if principal == "*" {
                self = .anyone
            } else if principal.count == 12, principal.allSatisfy(\.isASCIIDigit) {
                self = .aws("arn:aws:iam::\(principal):root")
            } else {
                self = .aws(principal)
            }
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self), text == "*" {
                self = .anyone
            } else {
                self = .aws(try container.decode([String: String].self)["AWS"] ?? "")
            }
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .anyone: try container.encode("*")
            case .aws(let arn): try container.encode(["AWS": arn])
            }
        }
    }

    var Sid: String
    var Effect = "Allow"
    var Principal: Grantee
    var Action: String
    var Resource: String
    var Condition: [String: [String: String]]?

    static let noPolicy = RelctlError(.resourceNotFound, "No policy is associated with the given resource.")
    static let revisionMismatch = RelctlError(
        .preconditionFailed,
        "The Revision Id provided does not match the latest Revision Id. Call the GetLayerPolicy API to retrieve the latest Revision Id"
    )

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()

    static func json(_ value: some Encodable) -> String {
        String(decoding: (try? encoder.encode(value)) ?? Data("{}".utf8), as: UTF8.self)
    }

    static func decode(_ text: String) -> [LayerPolicyStatement] {
        (try? JSONDecoder().decode([LayerPolicyStatement].self, from: Data(text.utf8))) ?? []
    }
}

/// GetLayerVersionPolicy's `Policy`: `{"Version": "2012-10-17", "Id": "default", "Statement": [...]}`.
struct LayerPolicyDocument: Encodable {
    var Version = "2012-10-17"
    var Id = "default"
    var Statement: [LayerPolicyStatement]
}
