// The registry's schema, embedded in the binary so an installed `relctl` needs no resource folder.
// Add each new `NNNN_name.sql` here, in order (a test checks this list against the folder).

/// One schema step: its identifier (the file name without `.sql`) and its SQL.
public struct Migration: Sendable {
    public let identifier: String
    public let sql: String
}

public enum Migrations {
    public static let all: [Migration] = [
        Migration(
            identifier: "0001_registry", sql: String(decoding: PackageResources._001_registry_sql, as: UTF8.self)),
        Migration(
            identifier: "0002_rollouts", sql: String(decoding: PackageResources._002_rollouts_sql, as: UTF8.self)),
        Migration(
            identifier: "0003_concurrency", sql: String(decoding: PackageResources._003_concurrency_sql, as: UTF8.self)),
        Migration(
            identifier: "0004_codedeploy", sql: String(decoding: PackageResources._004_codedeploy_sql, as: UTF8.self)),
        Migration(identifier: "0005_stacks", sql: String(decoding: PackageResources._005_stacks_sql, as: UTF8.self)),
        Migration(identifier: "0006_events", sql: String(decoding: PackageResources._006_events_sql, as: UTF8.self)),
        Migration(identifier: "0007_judge", sql: String(decoding: PackageResources._007_judge_sql, as: UTF8.self)),
        Migration(
            identifier: "0008_releases", sql: String(decoding: PackageResources._008_releases_sql, as: UTF8.self)),
        Migration(
            identifier: "0009_lambda_fidelity",
            sql: String(decoding: PackageResources._009_lambda_fidelity_sql, as: UTF8.self)),
        Migration(
            identifier: "0010_cloudformation",
            sql: String(decoding: PackageResources._010_cloudformation_sql, as: UTF8.self)),
    ]
}

/// The PostgreSQL store's schema (`migrations/postgres/*.sql`), applied in order like `Migrations.all`.
/// Add each new file here and to Package.swift (a test checks this list against the folder).
public enum PostgresMigrations {
    public static let all: [Migration] = [
        Migration(
            identifier: "0001_pg_rollout", sql: String(decoding: PackageResources._001_pg_rollout_sql, as: UTF8.self)),
        Migration(
            identifier: "0002_pg_releases", sql: String(decoding: PackageResources._002_pg_releases_sql, as: UTF8.self)),
        Migration(
            identifier: "0005_pg_registry_rest",
            sql: String(decoding: PackageResources._005_pg_registry_rest_sql, as: UTF8.self)),
        Migration(
            identifier: "0007_pg_concurrency_leases",
            sql: String(decoding: PackageResources._007_pg_concurrency_leases_sql, as: UTF8.self)),
    ]
}
