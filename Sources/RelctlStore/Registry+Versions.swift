import Foundation
import GRDB
import RelctlCore
import RelctlPackages

extension Registry {
    /// PublishVersion. Like AWS, "nothing changed" is decided by update events, not content: when
    /// no update touched `$LATEST` since the last publish, the last version is returned as it is.
    public func publishVersion(
        _ function: FunctionReference, description: String? = nil,
        expectedCodeSha256: String? = nil, expectedRevisionId: String? = nil
    ) throws(RelctlError) -> FunctionConfiguration {
        try requireUnqualified(function)
        if let description, description.count > Limits.descriptionLength {
            throw .validation(value: description, field: "description", constraint: "Member must have length less than or equal to 256")
        }
        return try write { db, _ in
            try requireAccount(function)
            _ = try requireFunction(db, function.name)
            let latest = try latest(db, function.name)
            if let expectedRevisionId, expectedRevisionId != latest.revisionId { throw RelctlError.revisionMismatch }
            let actual = CodeHash.base64(fromHex: latest.codeSha256)
            if let expectedCodeSha256, expectedCodeSha256 != actual {
                throw RelctlError(
                    .invalidParameterValue,
                    "CodeSHA256 (\(expectedCodeSha256)) is different from current CodeSHA256 in $LATEST (\(actual)). Please try again with the CodeSHA256 in $LATEST.")
            }
            return try publishLatest(db, function.name, description: description)
        }
    }

    /// Freezes `$LATEST` as the next version number, or returns the last version if nothing changed.
    func publishLatest(_ db: Database, _ name: String, description: String?) throws -> FunctionConfiguration {
        var function = try requireFunction(db, name)
        var latest = try latest(db, name)
        if !function.changedSincePublish, let last = try version(db, name, function.highestVersion) {
            return try configuration(db, last, arnQualifier: String(last.version))
        }
        try requireQuota(db, adding: latest.codeSize)
        let number = function.highestVersion + 1
        var published = latest
        published.version = number
        published.description = description ?? latest.description
        published.lastModified = now
        published.revisionId = Registry.newRevisionId()
        try published.insert(db)
        try setLayers(db, function: name, version: number, try layers(db, of: name, version: 0))
        try addUsage(db, codeSize: published.codeSize)
        latest.revisionId = Registry.newRevisionId()
        try latest.update(db)
        function.highestVersion = number
        function.changedSincePublish = false
        try function.update(db)
        let configuration = try configuration(db, published, arnQualifier: String(number))
        try audit(db, "PublishVersion", function: name, resource: configuration.FunctionArn, after: configuration)
        try recordEvent(db, .versionPublished, function: name, message: "Published \(name) version \(number)",
                        details: ["version": String(number), "codeSha256": configuration.CodeSha256, "codeSize": String(published.codeSize)])
        return configuration
    }
}
