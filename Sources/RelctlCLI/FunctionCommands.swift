import ArgumentParser
import Foundation
import RelctlCore
import RelctlPackages
import RelctlPostgres
import RelctlStorage
import RelctlStore

struct FunctionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "function",
        abstract: "Create, update, inspect and delete functions.",
        subcommands: [Create.self, UpdateCode.self, UpdateConfig.self, Get.self, List.self, Delete.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a function from a zip package (CreateFunction).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The function name ([a-zA-Z0-9-_], up to 64 characters).") var name: String
        @OptionGroup var code: CodeSource
        @Option(help: "The runtime, e.g. provided.al2023 or python3.12.") var runtime: String?
        @Option(help: "The handler, e.g. bootstrap or app.handler.") var handler: String?
        @Option(help: "Memory in MB, 128–10240.") var memory: Int = Limits.defaultMemorySize
        @Option(help: "Timeout in seconds, 1–900.") var timeout: Int = Limits.defaultTimeout
        @Option(help: "An environment variable KEY=VALUE (repeatable).") var env: [String] = []
        @Option(help: "A layer version ARN (repeatable, at most 5, applied in order).") var layer: [String] = []
        @Option(help: "The execution role ARN (checked against Lambda's pattern only).") var role: String?
        @Option(help: "A description, up to 256 characters.") var description: String = ""
        @Option(help: "x86_64 or arm64.") var architecture: String = "x86_64"
        @Flag(help: "Also publish version 1.") var publish = false

        func run() async throws {
            if let records = try await global.postgresRecords() {
                defer { records.store.close() }
                let settings = try settings(account: records.store.arn.account)
                return render(
                    try await records.createFunction(
                        name: name, settings: settings, zip: try code.load().bytes, publish: publish, tags: [:],
                        settle: nil), global.output)
            }
            let registry = try global.registry()
            let settings = try settings(account: registry.arn.account)
            render(
                try registry.createFunction(
                    name: name, settings: settings, code: try code.load(into: registry), publish: publish),
                global.output)
        }

        /// The flags as CreateFunction's settings, validated (the role defaults to one in `account`).
        func settings(account: String) throws -> FunctionSettings {
            let environment = try parseAssignments(env, flag: "--env")
            let settings = FunctionSettings(
                runtime: runtime, handler: handler, role: role ?? "arn:aws:iam::\(account):role/relctl-function",
                description: description, memorySize: memory, timeout: timeout,
                environment: environment.isEmpty ? nil : environment, layers: layer, architecture: architecture)
            try settings.validate()
            try FunctionReference.validateName(name)
            return settings
        }
    }

    struct UpdateCode: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Replace $LATEST's code (UpdateFunctionCode).")
        @OptionGroup var global: GlobalOptions
        @Argument var function: String
        @OptionGroup var code: CodeSource
        @Flag(help: "Also publish a version.") var publish = false
        @Option(name: .customLong("expect-revision"), help: "Fail unless $LATEST's RevisionId is this one.")
        var expectRevision: String?

        func run() async throws {
            let reference = try parseFunction(function)
            if let records = try await global.postgresRecords() {
                defer { records.store.close() }
                return render(
                    try await records.updateFunctionCode(
                        reference, zip: try code.load().bytes, expectedRevisionId: expectRevision, publish: publish,
                        settle: nil), global.output)
            }
            let registry = try global.registry()
            let package = try code.load(into: registry)
            render(
                try registry.updateFunctionCode(
                    reference, code: package, expectedRevisionId: expectRevision, publish: publish), global.output)
        }
    }

    struct UpdateConfig: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change $LATEST's configuration (UpdateFunctionConfiguration); unset flags stay as they are.")
        @OptionGroup var global: GlobalOptions
        @Argument var function: String
        @Option var runtime: String?
        @Option var handler: String?
        @Option(help: "Memory in MB, 128–10240.") var memory: Int?
        @Option(help: "Timeout in seconds, 1–900.") var timeout: Int?
        @Option(help: "KEY=VALUE (repeatable); replaces all variables, as Lambda does.") var env: [String] = []
        @Flag(name: .customLong("clear-env"), help: "Remove every environment variable.") var clearEnvironment = false
        @Option(help: "A layer version ARN (repeatable); replaces the layer list.") var layer: [String] = []
        @Flag(name: .customLong("clear-layers"), help: "Detach every layer.") var clearLayers = false
        @Option var role: String?
        @Option var description: String?
        @Option(name: .customLong("expect-revision"), help: "Fail unless $LATEST's RevisionId is this one.")
        var expectRevision: String?
        @Option(
            name: .customLong("reserved-concurrency"),
            help:
                "At most N invocations at once (PutFunctionConcurrency); excess ones are throttled. 0 stops the function."
        )
        var reservedConcurrency: Int?
        @Flag(name: .customLong("no-reserved-concurrency"), help: "Remove the reservation (DeleteFunctionConcurrency).")
        var noReservedConcurrency = false

        func validate() throws {
            if reservedConcurrency != nil && noReservedConcurrency {
                throw ValidationError("--reserved-concurrency and --no-reserved-concurrency cannot be combined.")
            }
            if clearEnvironment && !env.isEmpty { throw ValidationError("--env and --clear-env cannot be combined.") }
            if clearLayers && !layer.isEmpty { throw ValidationError("--layer and --clear-layers cannot be combined.") }
        }

        func run() async throws {
            let reference = try parseFunction(function)
            var update = ConfigurationUpdate(
                runtime: runtime, handler: handler, role: role, description: description, memorySize: memory,
                timeout: timeout)
            if clearEnvironment {
                update.environment = [:]
            } else if !env.isEmpty {
                update.environment = try parseAssignments(env, flag: "--env")
            }
            if clearLayers { update.layers = [] } else if !layer.isEmpty { update.layers = layer }
            let concurrencyOnly =
                update == ConfigurationUpdate() && (reservedConcurrency != nil || noReservedConcurrency)
            let records = try await global.rollout().records
            if reservedConcurrency != nil || noReservedConcurrency {
                try await records.putFunctionConcurrency(
                    reference.name, reserved: noReservedConcurrency ? nil : reservedConcurrency)
            }
            if concurrencyOnly {
                if global.output == .json { return Output.json(["ReservedConcurrentExecutions": reservedConcurrency]) }
                print(
                    noReservedConcurrency
                        ? "Removed \(reference.name)'s reserved concurrency."
                        : "Reserved concurrency of \(reference.name): \(reservedConcurrency!).")
                return
            }
            render(
                try await records.updateFunctionConfiguration(
                    reference, update, expectedRevisionId: expectRevision, settle: nil),
                global.output)
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a function's configuration: NAME, NAME:VERSION, NAME:ALIAS or an ARN.")
        @OptionGroup var global: GlobalOptions
        @Argument var function: String

        func run() async throws {
            render(try await global.rollout().records.getFunction(try parseFunction(function)), global.output)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List functions ($LATEST of each, or every version).")
        @OptionGroup var global: GlobalOptions
        @Flag(name: .customLong("all-versions"), help: "List every published version too (FunctionVersion=ALL).")
        var allVersions = false
        @Option(name: .customLong("max-items")) var maxItems: Int?
        @Option var marker: String?

        func run() async throws {
            let page = try await global.rollout().records.functionPage(
                allVersions: allVersions, marker: marker, maxItems: maxItems)
            renderList(page.items, key: "Functions", nextMarker: page.nextMarker, global.output)
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a function (with its aliases and versions) or one version: NAME or NAME:VERSION.")
        @OptionGroup var global: GlobalOptions
        @Argument var function: String

        func run() async throws {
            let reference = try parseFunction(function)
            let result = try await global.rollout().records.deleteFunction(reference)
            let text: String
            switch result {
            case .function(let versions, let aliases):
                text = "Deleted function \(reference.name) with \(versions) version(s) and \(aliases) alias(es)."
            case .version(let number):
                text = "Deleted version \(number) of \(reference.name)."
            case .nothing:
                text =
                    "Version \(reference.qualifier.map { "\($0)" } ?? "") of \(reference.name) does not exist; nothing to delete."
            }
            if global.output == .json {
                Output.json(["StatusCode": 204])
            } else {
                print(text)
            }
        }
    }
}

struct Publish: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Publish $LATEST as an immutable version (PublishVersion); returns the last version if nothing changed.")
    @OptionGroup var global: GlobalOptions
    @Argument var function: String
    @Option(help: "The version's description (the function's by default).") var description: String?
    @Option(name: .customLong("expect-code-sha256"), help: "Fail unless $LATEST's CodeSha256 is this one.")
    var expectCodeSha256: String?
    @Option(name: .customLong("expect-revision"), help: "Fail unless $LATEST's RevisionId is this one.")
    var expectRevision: String?

    func run() async throws {
        let reference = try parseFunction(function)
        render(
            try await global.rollout().records.publishVersion(
                reference, description: description, expectedCodeSha256: expectCodeSha256,
                expectedRevisionId: expectRevision, settle: nil), global.output)
    }
}

struct Versions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List $LATEST and the published versions (ListVersionsByFunction).")
    @OptionGroup var global: GlobalOptions
    @Argument var function: String
    @Option(name: .customLong("max-items")) var maxItems: Int?
    @Option var marker: String?

    func run() async throws {
        let page = try await global.rollout().records.versionPage(
            try parseFunction(function), marker: marker, maxItems: maxItems)
        renderList(page.items, key: "Versions", nextMarker: page.nextMarker, global.output)
    }
}
