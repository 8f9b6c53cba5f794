import ArgumentParser
import Foundation
import RelctlCore
import RelctlRollout
import RelctlStorage
import RelctlStore

struct AliasCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alias",
        abstract: "Aliases: named pointers to a version, optionally splitting traffic with a second version.",
        subcommands: [Create.self, Update.self, Get.self, List.self, Delete.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an alias (CreateAlias).")
        @OptionGroup var global: GlobalOptions
        @Argument var function: String
        @Argument var name: String
        @Option(help: "The version it points at: a number or $LATEST.") var version: String
        @Option(help: "VERSION=WEIGHT: send WEIGHT (0.0–1.0, or 0–100%) of traffic to a second published version.")
        var weight: String?
        @Option var description: String = ""

        func run() async throws {
            render(
                try await global.rollout().records.createAlias(
                    function: try parseFunction(function).name, name: name, functionVersion: version,
                    additionalVersionWeights: try parseWeight(weight) ?? [:], description: description), global.output)
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Move an alias or change its routing (UpdateAlias).")
        @OptionGroup var global: GlobalOptions
        @Argument var function: String
        @Argument var name: String
        @Option(help: "The new primary version.") var version: String?
        @Option(help: "VERSION=WEIGHT for the additional version.") var weight: String?
        @Flag(name: .customLong("no-routing"), help: "Remove the additional version.") var noRouting = false
        @Option var description: String?
        @Option(name: .customLong("expect-revision"), help: "Fail unless the alias's RevisionId is this one.")
        var expectRevision: String?

        func validate() throws {
            if noRouting && weight != nil { throw ValidationError("--weight and --no-routing cannot be combined.") }
        }

        func run() async throws {
            render(
                try await global.rollout().records.updateAlias(
                    function: try parseFunction(function).name, name: name, functionVersion: version,
                    additionalVersionWeights: noRouting ? [:] : try parseWeight(weight),
                    description: description, expectedRevisionId: expectRevision, cause: "UpdateAlias"), global.output)
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show an alias (GetAlias).")
        @OptionGroup var global: GlobalOptions
        @Argument var function: String
        @Argument var name: String

        func run() async throws {
            render(
                try await global.rollout().records.getAlias(function: try parseFunction(function).name, name: name),
                global.output)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a function's aliases (ListAliases).")
        @OptionGroup var global: GlobalOptions
        @Argument var function: String
        @Option(name: .customLong("function-version"), help: "Only aliases whose primary version is this one.")
        var functionVersion: String?
        @Option(name: .customLong("max-items")) var maxItems: Int?
        @Option var marker: String?

        func run() async throws {
            let page = try await global.rollout().records.aliasPage(
                function: try parseFunction(function).name, functionVersion: functionVersion, marker: marker,
                maxItems: maxItems)
            if global.output == .json {
                struct Listing: Encodable { var Aliases: [AliasConfiguration]; var NextMarker: String? }
                return Output.json(Listing(Aliases: page.items, NextMarker: page.nextMarker))
            }
            Output.table(
                ["Name", "Version", "Routing", "Description"],
                page.items.map { alias in
                    let routing =
                        alias.RoutingConfig?.AdditionalVersionWeights.map { "\($0.key)@\(formatWeight($0.value))" }
                        .joined(separator: ",") ?? "-"
                    return [alias.Name, alias.FunctionVersion, routing, alias.Description]
                })
            if let next = page.nextMarker { Output.note("more: --marker \(next)") }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete an alias (DeleteAlias); a missing alias is not an error.")
        @OptionGroup var global: GlobalOptions
        @Argument var function: String
        @Argument var name: String

        func run() async throws {
            let deleted = try await global.rollout().records.deleteAlias(
                function: try parseFunction(function).name, name: name)
            if global.output == .json { return Output.json(["StatusCode": 204]) }
            print(deleted ? "Deleted alias \(name)." : "Alias \(name) does not exist; nothing to delete.")
        }
    }
}

struct Rollback: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Point an alias back at its previous version (or --to VERSION) and clear its routing, in one transaction.")
    @OptionGroup var global: GlobalOptions
    @Argument var function: String
    @Argument var alias: String
    @Option(help: "The version to go back to (default: the one before the last move).") var to: String?

    func run() async throws {
        let (records, engine) = try await global.rollout()
        let name = try parseFunction(function).name
        let before = try await records.getAlias(function: name, name: alias)
        let after = try await engine.rollback(function: name, alias: alias, to: to)
        if global.output == .json { return Output.json(after) }
        let routing =
            before.RoutingConfig?.AdditionalVersionWeights.map { " + \($0.key)@\(formatWeight($0.value))" }.joined()
            ?? ""
        print("Rolled back \(name):\(alias) from \(before.FunctionVersion)\(routing) to \(after.FunctionVersion).")
    }
}

struct History: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Every move of an alias, or every change to a function, newest first.")
    @OptionGroup var global: GlobalOptions
    @Argument var function: String
    @Argument var alias: String?
    @Option(help: "At most this many entries.") var limit: Int = 100

    func run() async throws {
        let entries = try await global.rollout().records.history(
            function: try parseFunction(function).name, alias: alias, limit: limit)
        if global.output == .json {
            struct Listing: Encodable { var History: [HistoryEntry] }
            return Output.json(Listing(History: entries))
        }
        if alias != nil {
            Output.table(
                ["Time", "Action", "From", "To", "Actor"],
                entries.map { [$0.Time, $0.Action, $0.From ?? "-", $0.To ?? "-", $0.Actor] })
        } else {
            Output.table(
                ["Time", "Action", "Resource", "Actor"], entries.map { [$0.Time, $0.Action, $0.Resource, $0.Actor] })
        }
    }
}
