import Foundation
import GRDB
import RelctlCore
import RelctlStorage

// The canary judges of deployments (`deployment_judges`, schema 7): one row per judged deployment.

extension Registry {
    /// The judge of a deployment (nil: its policy has no `judge:` section, or it has not started).
    public func deploymentJudge(id: String) throws(RelctlError) -> DeploymentJudge? {
        try read { db in try deploymentJudge(db, id) }
    }

    func judgeCursor(_ db: Database, _ id: String) throws -> JudgeCursor? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT judged_through, weight FROM deployment_judges WHERE deployment_id = ?"),
            arguments: [id]
        )
        .map { JudgeCursor(judgedThrough: $0[0], weight: $0[1]) }
    }

    func deploymentJudge(_ db: Database, _ id: String) throws -> DeploymentJudge? {
        guard
            let state = try String.fetchOne(
                db.cachedStatement(sql: "SELECT state FROM deployment_judges WHERE deployment_id = ?"),
                arguments: [id])
        else { return nil }
        return try JSONDecoder().decode(DeploymentJudge.self, from: Data(state.utf8))
    }

    func saveDeploymentJudge(_ db: Database, _ judge: DeploymentJudge, deploymentId: String) throws {
        let state = String(decoding: try JSONEncoder.sorted.encode(judge), as: UTF8.self)
        try db.cachedStatement(
            sql: """
                INSERT INTO deployment_judges (deployment_id, judged_through, weight, verdict, state) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (deployment_id) DO UPDATE SET
                  judged_through = excluded.judged_through, weight = excluded.weight, verdict = excluded.verdict, state = excluded.state
                """
        ).execute(arguments: [
            deploymentId, judge.judgedThrough, judge.weights.last?.percent ?? 0, judge.judge.verdict.word, state,
        ])
    }
}
