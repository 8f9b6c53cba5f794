import Foundation

// What the registry reports back from deletes, quota and history, on every engine (SQLite and
// PostgreSQL answer the same values through `RegistryRecords`).

/// What DeleteFunction did.
public enum FunctionDeletion: Sendable, Equatable {
    case function(versions: Int, aliases: Int)
    case version(Int)
    /// The version did not exist; like AWS, that is not an error.
    case nothing
}

/// One recorded move of an alias (or, without an alias, one audited mutation).
public struct HistoryEntry: Codable, Sendable, Equatable {
    public var Id: Int64
    public var Time: String
    public var Actor: String
    public var Action: String
    public var Resource: String
    /// Alias moves: where it pointed before and after (`1`, `1 + 2@10%`).
    public var From: String?
    public var To: String?
    public var Before: String?
    public var After: String?

    public init(
        Id: Int64, Time: String, Actor: String, Action: String, Resource: String, From: String?, To: String?,
        Before: String?, After: String?
    ) {
        self.Id = Id
        self.Time = Time
        self.Actor = Actor
        self.Action = Action
        self.Resource = Resource
        self.From = From
        self.To = To
        self.Before = Before
        self.After = After
    }
}

/// `relctl quota`: GetAccountSettings' shape plus what is really stored and who uses the most.
public struct QuotaReport: Codable, Sendable, Equatable {
    public struct Consumer: Codable, Sendable, Equatable {
        public var Name: String
        public var Kind: String
        public var CodeSize: Int64
        public var Versions: Int

        public init(Name: String, Kind: String, CodeSize: Int64, Versions: Int) {
            self.Name = Name
            self.Kind = Kind
            self.CodeSize = CodeSize
            self.Versions = Versions
        }
    }

    public var AccountLimit: AccountSettings.Limit
    public var AccountUsage: AccountSettings.Usage
    public var UsedPercent: Double
    /// Bytes of code after dedupe (one copy per content hash): what the code store really holds.
    public var StoredBytes: Int64
    public var TopConsumers: [Consumer]

    public init(
        AccountLimit: AccountSettings.Limit, AccountUsage: AccountSettings.Usage, UsedPercent: Double,
        StoredBytes: Int64, TopConsumers: [Consumer]
    ) {
        self.AccountLimit = AccountLimit
        self.AccountUsage = AccountUsage
        self.UsedPercent = UsedPercent
        self.StoredBytes = StoredBytes
        self.TopConsumers = TopConsumers
    }

    /// The report from its parts: the percentage of the limit in use (100 when the limit is 0).
    public init(
        settings: AccountSettings, storedBytes: Int64, topConsumers: [Consumer]
    ) {
        let limit = settings.AccountLimit.TotalCodeSize
        self.init(
            AccountLimit: settings.AccountLimit, AccountUsage: settings.AccountUsage,
            UsedPercent: limit > 0 ? Double(settings.AccountUsage.TotalCodeSize) / Double(limit) * 100 : 100,
            StoredBytes: storedBytes, TopConsumers: topConsumers)
    }
}
