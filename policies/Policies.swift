// The shipped deployment preferences (CodeDeploy's nine presets for Lambda), embedded in the binary.
// Add each new `NAME.yaml` here (a test checks this list against the folder).

public enum ShippedPolicies {
    /// File name and YAML text of each shipped policy.
    public static let files: [(name: String, yaml: String)] = [
        ("AllAtOnce.yaml", text(PackageResources.AllAtOnce_yaml)),
        ("Canary10Percent5Minutes.yaml", text(PackageResources.Canary10Percent5Minutes_yaml)),
        ("Canary10Percent10Minutes.yaml", text(PackageResources.Canary10Percent10Minutes_yaml)),
        ("Canary10Percent15Minutes.yaml", text(PackageResources.Canary10Percent15Minutes_yaml)),
        ("Canary10Percent30Minutes.yaml", text(PackageResources.Canary10Percent30Minutes_yaml)),
        ("Linear10PercentEvery1Minute.yaml", text(PackageResources.Linear10PercentEvery1Minute_yaml)),
        ("Linear10PercentEvery2Minutes.yaml", text(PackageResources.Linear10PercentEvery2Minutes_yaml)),
        ("Linear10PercentEvery3Minutes.yaml", text(PackageResources.Linear10PercentEvery3Minutes_yaml)),
        ("Linear10PercentEvery10Minutes.yaml", text(PackageResources.Linear10PercentEvery10Minutes_yaml)),
    ]

    private static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
}
