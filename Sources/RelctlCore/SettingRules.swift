/// The settings `relctl config set` takes and their rules, the same on every engine (the data
/// directory's SQLite and a `--database`).
public enum SettingRules {
    /// Throws, saying what is allowed, unless `value` is a valid value of `key`.
    public static func validate(_ key: String, _ value: String) throws(RelctlError) {
        switch key {
        case "sandbox":
            guard ["auto", "on", "off"].contains(value) else {
                throw RelctlError(
                    .invalidParameterValue,
                    "sandbox is auto (bubblewrap when it works here), on (bubblewrap, or refuse to run functions) or off, not '\(value)'."
                )
            }
        case "account-id":
            guard value.count == 12, value.allSatisfy(\.isASCIIDigit) else {
                throw RelctlError(.invalidParameterValue, "account-id is 12 digits, e.g. 123456789012.")
            }
        case "region":
            guard !value.isEmpty, value.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") })
            else {
                throw RelctlError(
                    .invalidParameterValue, "region is lowercase letters, digits and '-', e.g. us-east-1.")
            }
        default:
            throw unknown(key)
        }
    }

    /// The ARNs a registry answers in, as the data directory's SQLite sets them: the account from
    /// `RELCTL_ACCOUNT_ID`, else the stored `account-id`, else the default; the stored `region`, else the default.
    public static func arn(account: String?, region: String?, environment: [String: String]) -> ArnContext {
        ArnContext(
            region: region ?? ArnContext.defaultRegion,
            account: environment["RELCTL_ACCOUNT_ID"].flatMap { $0.isEmpty ? nil : $0 } ?? account
                ?? ArnContext.defaultAccount)
    }

    public static func unknown(_ key: String) -> RelctlError {
        RelctlError(.invalidParameterValue, "Unknown setting '\(key)': account-id, region or sandbox.")
    }
}
