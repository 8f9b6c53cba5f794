import ArgumentParser
import Foundation
import RelctlCore
import RelctlRollout
import RelctlRuntime
import RelctlStorage
import RelctlStore

struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy", abstract: "Deployment policies: the nine CodeDeploy presets and custom YAML ones.",
        subcommands: [List.self, Show.self, Validate.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List every policy.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let catalog = try await global.policies()
            if global.output == .json {
                struct Item: Encodable {
                    var name: String; var type: String; var aliases: [String]; var totalDuration: String?;
                    var source: String
                }
                return Output.json([
                    "policies": catalog.entries.map {
                        Item(
                            name: $0.policy.name, type: $0.policy.typeName, aliases: $0.aliases,
                            totalDuration: $0.policy.totalDuration.map(DurationText.format), source: $0.policy.source)
                    }
                ])
            }
            Output.table(
                ["Name", "Type", "Shifts", "Duration", "Source"],
                catalog.entries.map {
                    [
                        $0.policy.name, $0.policy.typeName, String($0.policy.schedule.count),
                        $0.policy.totalDuration.map(DurationText.format) ?? "until promoted",
                        $0.policy.source.hasPrefix("shipped") ? "shipped" : $0.policy.source,
                    ]
                })
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The step expansion: each shift with its time, and the total.")
        @OptionGroup var global: GlobalOptions
        @Argument var name: String

        func run() async throws {
            let catalog = try await global.policies()
            let policy = try catalog.policy(named: name)
            if global.output == .json {
                struct Shape: Encodable {
                    var name: String; var type: String; var schedule: [DeploymentPolicy.Shift];
                    var totalDurationSeconds: Double?
                }
                return Output.json(
                    Shape(
                        name: policy.name, type: policy.typeName, schedule: policy.schedule,
                        totalDurationSeconds: policy.totalDuration))
            }
            print(
                "\(policy.name) (\(policy.typeName)\(catalog.lookup(name)?.aliases.isEmpty == false ? ", also \(catalog.lookup(name)!.aliases.joined(separator: ", "))" : ""))"
            )
            Output.table(
                ["Step", "Weight", "At"],
                policy.schedule.enumerated().map { index, shift in
                    [
                        String(index + 1), DeploymentPolicy.percentText(shift.percent),
                        (shift.waitsForPromote ? "after promote" : "")
                            + (shift.offset.map { "t0+\(DurationText.format($0))" }
                                ?? (shift.waitsForPromote ? "" : "-")),
                    ]
                })
            print(
                "Total: \(policy.totalDuration.map(DurationText.format) ?? "open-ended (waits for promote)") from the first shift to 100%, plus the hooks."
            )
        }
    }

    struct Validate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a policy file (fields, weights, durations, names) without installing it.")
        @OptionGroup var global: GlobalOptions
        @Argument var file: String

        func run() async throws {
            let url = URL(fileURLWithPath: file)
            let text: String
            do { text = try String(contentsOf: url, encoding: .utf8) } catch {
                throw RelctlError(.invalidParameterValue, "Cannot read \(file): \(error.localizedDescription)")
            }
            let entries = try PolicyParser.parse(text, source: file)
            let catalog = try await global.policies()
            for entry in entries {
                for name in [entry.policy.name] + entry.aliases {
                    if let existing = catalog.lookup(name), existing.policy.source != url.path {
                        throw RelctlError(
                            .invalidParameterValue,
                            "\(file): policy name \(name) is already defined by \(existing.policy.source).")
                    }
                }
            }
            if global.output == .json { return Output.json(["valid": entries.map(\.policy.name)]) }
            for entry in entries {
                print(
                    "ok: \(entry.policy.name) (\(entry.policy.typeName), \(entry.policy.schedule.count) shift(s), \(entry.policy.totalDuration.map(DurationText.format) ?? "open-ended"))"
                )
            }
        }
    }
}
