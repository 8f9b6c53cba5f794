/// The JSON a deployment step writes, by hand: a deployment's state and an alias's configuration
/// (the audit row's before and after). `JSONEncoder` (keys sorted, slashes unescaped) wrote them
/// before and was most of a step's CPU time; these write the same bytes (tested against it), so
/// every reader and every stored row sees what it saw.
extension Deployment {
    /// The state as `JSONEncoder` with `.sortedKeys, .withoutEscapingSlashes` writes it, given the
    /// policy's own JSON text in that encoding (a policy never changes during a deployment, so the
    /// caller encodes it once). Nil when a number is not finite: `JSONEncoder` refuses those, and
    /// the caller lets it say so.
    public func jsonText(policyJSON: String) -> String? {
        var object = JSONObjectText()
        object.strings("alarms", alarms)
        object.string("alias", alias)
        object.number("aliasWeight", aliasWeight)
        object.bool("autoRollback", autoRollback)
        if let completeTime { object.number("completeTime", completeTime) }
        object.number("createTime", createTime)
        object.string("creator", creator)
        object.integer("currentVersion", currentVersion)
        if let error {
            var nested = JSONObjectText()
            nested.string("code", error.code)
            nested.string("message", error.message)
            object.raw("error", nested.finished())
        }
        object.string("functionName", functionName)
        object.number("hookTimeout", hookTimeout)
        let hookTexts = hooks.map { $0.jsonText(valid: &object.valid) }
        object.raw("hooks", JSONObjectText.array(hookTexts))
        object.string("id", id)
        if let pausedAt { object.number("pausedAt", pausedAt) }
        if let phase { object.string("phase", phase.rawValue) }
        object.raw("policy", policyJSON)
        if let postTrafficHook { object.string("postTrafficHook", postTrafficHook) }
        if let preTrafficHook { object.string("preTrafficHook", preTrafficHook) }
        if let rollbackMessage { object.string("rollbackMessage", rollbackMessage) }
        object.bool("rolledBack", rolledBack)
        object.integer("stageIndex", stageIndex)
        if let stageStartedAt { object.number("stageStartedAt", stageStartedAt) }
        let times = stageTimes.map { object.format($0) }
        object.raw("stageTimes", JSONObjectText.array(times))
        if let startTime { object.number("startTime", startTime) }
        object.string("status", status.rawValue)
        object.integer("targetVersion", targetVersion)
        object.number("weight", weight)
        return object.valid ? object.finished() : nil
    }
}

extension HookExecution {
    func jsonText(valid: inout Bool) -> String {
        var object = JSONObjectText()
        object.integer("attempt", attempt)
        object.string("event", event.rawValue)
        object.string("executionId", executionId)
        if let finishedAt { object.number("finishedAt", finishedAt) }
        if let heartbeatAt { object.number("heartbeatAt", heartbeatAt) }
        object.string("hook", hook)
        if let output { object.string("output", output) }
        if let runner { object.string("runner", runner) }
        object.number("startedAt", startedAt)
        object.string("status", status.rawValue)
        valid = valid && object.valid
        return object.finished()
    }
}

extension AliasConfiguration {
    /// As `JSONEncoder` with `.sortedKeys, .withoutEscapingSlashes` writes it (the audit row of every
    /// alias move); nil when a weight is not finite.
    public var jsonText: String? {
        var object = JSONObjectText()
        object.string("AliasArn", AliasArn)
        object.string("Description", Description)
        object.string("FunctionVersion", FunctionVersion)
        object.string("Name", Name)
        object.string("RevisionId", RevisionId)
        if let RoutingConfig {
            var weights = JSONObjectText()
            for key in RoutingConfig.AdditionalVersionWeights.keys.sorted() {
                weights.number(key, RoutingConfig.AdditionalVersionWeights[key]!)
            }
            var routing = JSONObjectText()
            routing.raw("AdditionalVersionWeights", weights.finished())
            object.raw("RoutingConfig", routing.finished())
            object.valid = object.valid && weights.valid
        }
        return object.valid ? object.finished() : nil
    }
}

/// A JSON object written member by member, in the order the caller gives (sorted, by the callers above).
struct JSONObjectText {
    private var text = "{"
    private var empty = true
    /// False once a number was not finite (JSON has no way to write it).
    var valid = true

    private mutating func key(_ key: String) {
        if !empty { text.append(",") }
        empty = false
        JSONText.appendString(key, to: &text)
        text.append(":")
    }

    mutating func raw(_ name: String, _ json: String) {
        key(name)
        text.append(json)
    }

    mutating func string(_ name: String, _ value: String) {
        key(name)
        JSONText.appendString(value, to: &text)
    }

    mutating func strings(_ name: String, _ values: [String]) {
        raw(
            name,
            JSONObjectText.array(
                values.map { value in
                    var text = ""
                    JSONText.appendString(value, to: &text)
                    return text
                }))
    }

    mutating func number(_ name: String, _ value: Double) {
        let text = format(value)
        raw(name, text)
    }

    mutating func integer(_ name: String, _ value: Int) { raw(name, String(value)) }

    mutating func bool(_ name: String, _ value: Bool) { raw(name, value ? "true" : "false") }

    func finished() -> String { text + "}" }

    static func array(_ elements: [String]) -> String { "[" + elements.joined(separator: ",") + "]" }

    /// A Double as `JSONEncoder` writes it: Swift's shortest round-trip digits, without a trailing `.0`.
    mutating func format(_ value: Double) -> String {
        guard value.isFinite else {
            valid = false
            return "0"
        }
        var text = value.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        return text
    }
}
