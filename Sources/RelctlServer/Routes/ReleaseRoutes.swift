import Foundation
import Hummingbird
import RelctlCore
import RelctlRollout
import RelctlStorage

/// relctl's release-group actions beside the CodeDeploy API: `POST /` with
/// `X-Amz-Target: Relctl.CreateRelease` (GetRelease, ListReleases, StopRelease, PromoteRelease,
/// PauseRelease, ResumeRelease) and a JSON body, signed and authorised as CodeDeploy's actions are
/// (Get*/List* are reads). Errors are AWS's type (in `x-amzn-ErrorType` and the body) with its
/// HTTP status: 400 bad input, 404 no such release, 409 an alias already owned.
struct ReleaseOperations {
    static let targetPrefix = "Relctl."
    static let actions: Set<String> = [
        "CreateRelease", "GetRelease", "ListReleases", "StopRelease", "PromoteRelease", "PauseRelease", "ResumeRelease",
    ]

    /// The action an `X-Amz-Target` names, if it is one of these.
    static func action(_ target: String) -> String? {
        guard target.hasPrefix(targetPrefix) else { return nil }
        let action = String(target.dropFirst(targetPrefix.count))
        return actions.contains(action) ? action : nil
    }

    /// The scoped rollout store of the engine the server answers from (SQLite or PostgreSQL).
    let store: any RolloutStore
    let allowExecHooks: Bool

    struct ReleaseOutput: Encodable { var release: ReleaseInfo }
    struct ListReleasesOutput: Encodable { var releases: [ReleaseInfo] }

    func perform(_ action: String, body rawBody: Data) async throws -> Response {
        let body = try JSONObject(body: rawBody)
        let engine = RolloutEngine(store: store)
        func release() throws -> String {
            guard let value = try body.string("release"), !value.isEmpty else {
                throw RelctlError(.invalidParameterValue, "release is required: a release id (r-…) or name.")
            }
            return value
        }
        switch action {
        case "CreateRelease":
            return reply(try await create(body, engine: engine))
        case "GetRelease":
            let idOrName = try release()
            let (found, events) = try await store.read { tx in
                let found = try tx.requireRelease(idOrName)
                return (found, try tx.releaseEvents(id: found.id, after: 0))
            }
            return reply(ReleaseInfo(found, alarms: try await engine.alarmStatuses(of: found), events: events))
        case "ListReleases":
            let status = try body.string("status").map(DeploymentStatus.parse)
            let limit = try body.int("limit", within: 1...1000) ?? 100
            guard (1...1000).contains(limit) else {
                throw RelctlError(.invalidParameterValue, "limit must be from 1 to 1000.")
            }
            return .awsJSON(
                ListReleasesOutput(
                    releases: try await store.read { try $0.releases(status: status, limit: limit) }.map {
                        ReleaseInfo($0)
                    }))
        case "StopRelease":
            return reply(
                try await engine.stopRelease(try release(), rollback: try body.bool("autoRollbackEnabled") ?? true))
        case "PromoteRelease":
            return reply(try await engine.promoteRelease(try release(), full: try body.bool("full") ?? false))
        case "PauseRelease":
            return reply(try await engine.pauseRelease(try release()))
        default:  // ResumeRelease
            return reply(try await engine.resumeRelease(try release()))
        }
    }

    /// `{"name", "members": ["orders:live=8", …], "policy", "preTrafficHook"?, "postTrafficHook"?, "alarms"?, "hookTimeout"?, "autoRollbackEnabled"?}`
    func create(_ body: JSONObject, engine: RolloutEngine) async throws -> ReleaseGroup {
        guard let name = try body.string("name") else {
            throw RelctlError(.invalidParameterValue, "name is required: the release's name.")
        }
        guard let memberTexts = try body.strings("members"), !memberTexts.isEmpty else {
            throw RelctlError(.invalidParameterValue, "members is required: a list of \"FUNCTION:ALIAS=VERSION\".")
        }
        guard let policyName = try body.string("policy") else {
            throw RelctlError(
                .invalidParameterValue, "policy is required: a preset, a YAML policy or a CreateDeploymentConfig name.")
        }
        var members: [ReleaseMemberSpec] = []
        for text in memberTexts { members.append(try ReleaseMemberSpec.parse(text)) }
        let hooks = (try body.string("preTrafficHook"), try body.string("postTrafficHook"))
        for hook in [hooks.0, hooks.1].compactMap({ $0 }) where hook.hasPrefix("exec:") && !allowExecHooks {
            throw RelctlError(
                .invalidParameterValue,
                "exec: hooks run commands on the server; it was started without --allow-exec-hooks, so a hook must be a Lambda function."
            )
        }
        let request = ReleaseRequest(
            name: name, members: members, policy: try await PolicyCatalog.load(for: store).policy(named: policyName),
            preTrafficHook: hooks.0, postTrafficHook: hooks.1, alarms: try body.strings("alarms") ?? [],
            hookTimeout: try DurationText.parse(try body.string("hookTimeout") ?? "1h"),
            autoRollback: try body.bool("autoRollbackEnabled") ?? true)
        return try await engine.createRelease(request)
    }

    func reply(_ release: ReleaseGroup) -> Response {
        reply(ReleaseInfo(release))
    }

    func reply(_ info: ReleaseInfo) -> Response {
        .awsJSON(ReleaseOutput(release: info))
    }
}
