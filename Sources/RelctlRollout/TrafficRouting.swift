import Foundation
import RelctlCore

/// CodeDeploy's `trafficRoutingConfig` for Lambda (CreateDeploymentConfig), as relctl policies.
public enum TrafficRouting {
    /// A config CodeDeploy would refuse: its exception type and a message that says what is allowed.
    public struct Invalid: Error, Sendable {
        public var type: String
        public var message: String
    }

    /// A stored config (its JSON, as CreateDeploymentConfig received it) as a policy.
    public static func policy(_ name: String, definition: String) throws(RelctlError) -> DeploymentPolicy {
        guard let routing = (try? JSONSerialization.jsonObject(with: Data(definition.utf8))) as? [String: Any] else {
            throw RelctlError(
                .invalidParameterValue, "Deployment config \(name) (CreateDeploymentConfig) is not readable JSON.")
        }
        do {
            return try policy(name, from: routing)
        } catch {
            throw RelctlError(
                .invalidParameterValue, "Deployment config \(name) (CreateDeploymentConfig): \(error.message)")
        }
    }

    /// A policy as CodeDeploy's `trafficRoutingConfig` (a Steps policy has no CodeDeploy shape: AllAtOnce).
    public static func routingConfig(_ policy: DeploymentPolicy) -> [String: Any] {
        switch policy.kind {
        case .allAtOnce: return ["type": "AllAtOnce"]
        case .canary(let percentage, let interval):
            return [
                "type": "TimeBasedCanary",
                "timeBasedCanary": [
                    "canaryPercentage": Int(percentage), "canaryInterval": Int((interval / 60).rounded()),
                ],
            ]
        case .linear(let percentage, let interval):
            return [
                "type": "TimeBasedLinear",
                "timeBasedLinear": [
                    "linearPercentage": Int(percentage), "linearInterval": Int((interval / 60).rounded()),
                ],
            ]
        case .steps: return ["type": "AllAtOnce"]
        }
    }

    /// A CodeDeploy `trafficRoutingConfig` as a relctl policy, accepted as AWS accepts Lambda configs:
    /// whole percentages from 1 to 99 and whole minutes from 1 (up to relctl's 14-day bound on a
    /// hold), checked before any stage is built.
    public static func policy(_ name: String, from routing: [String: Any]) throws(Invalid) -> DeploymentPolicy {
        func invalid(_ message: String) -> Invalid {
            Invalid(type: "InvalidTrafficRoutingConfigurationException", message: message)
        }
        func whole(
            _ object: [String: Any]?, _ key: String, in range: ClosedRange<Int>, _ unit: String
        ) throws(Invalid) -> Double {
            guard let number = object?[key] as? NSNumber else {
                throw invalid(
                    "\(key) is required: a whole number of \(unit) from \(range.lowerBound) to \(range.upperBound).")
            }
            let value = number.doubleValue
            guard value.isFinite, value == value.rounded(), value >= Double(range.lowerBound),
                value <= Double(range.upperBound)
            else {
                throw invalid(
                    "\(key) must be a whole number of \(unit) from \(range.lowerBound) to \(range.upperBound); got \(number)."
                )
            }
            return value
        }
        let percent = 1...99, minutes = 1...(14 * 24 * 60)
        let kind: DeploymentPolicy.Kind
        switch routing["type"] as? String {
        case "AllAtOnce"?: kind = .allAtOnce
        case "TimeBasedCanary"?:
            let canary = routing["timeBasedCanary"] as? [String: Any]
            kind = .canary(
                percentage: try whole(canary, "canaryPercentage", in: percent, "percent"),
                interval: try whole(canary, "canaryInterval", in: minutes, "minutes") * 60)
        case "TimeBasedLinear"?:
            let linear = routing["timeBasedLinear"] as? [String: Any]
            kind = .linear(
                percentage: try whole(linear, "linearPercentage", in: percent, "percent"),
                interval: try whole(linear, "linearInterval", in: minutes, "minutes") * 60)
        default:
            throw invalid("trafficRoutingConfig.type is AllAtOnce, TimeBasedCanary or TimeBasedLinear.")
        }
        let policy = DeploymentPolicy(name: name, kind: kind, source: "CreateDeploymentConfig")
        do { try policy.validate() } catch {
            throw Invalid(type: "InvalidDeploymentConfigNameException", message: error.message)
        }
        return policy
    }
}
