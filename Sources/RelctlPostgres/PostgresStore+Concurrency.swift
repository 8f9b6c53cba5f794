import Foundation
import PostgresNIO
import RelctlCore
import RelctlStorage

// Put/Get/DeleteFunctionConcurrency on PostgreSQL, with SQLite's answers (Registry's ProvisionedConcurrency.swift).
// The reservation is a column of `functions`; what counts against it across servers is the lease table
// (PostgresStore+Leases.swift).
extension PostgresStore {
    public func putFunctionConcurrency(_ function: String, reserved: Int?) async throws(RelctlError) -> Int? {
        if let reserved {
            guard (0...Limits.concurrentExecutions).contains(reserved) else {
                throw .validation(
                    value: String(reserved), field: "reservedConcurrentExecutions",
                    constraint: "Member must have value between 0 and \(Limits.concurrentExecutions)")
            }
        }
        return try await write(records: true) { db in
            try db.requireFunction(function)
            let before = try db.reservedConcurrency(function)
            let others =
                try db.db.rows(
                    "SELECT COALESCE(SUM(reserved_concurrency), 0)::BIGINT FROM functions WHERE name <> \(function)"
                ).first?.decode(Int.self) ?? 0
            if let reserved, others + reserved > Limits.concurrentExecutions - 100 {
                throw RelctlError(
                    .invalidParameterValue,
                    "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [100]."
                )
            }
            _ = try db.db.execute("UPDATE functions SET reserved_concurrency = \(reserved) WHERE name = \(function)")
            try db.audit(
                "PutFunctionConcurrency", function: function, resource: db.arn.functionArn(function),
                before: ["ReservedConcurrentExecutions": before], after: ["ReservedConcurrentExecutions": reserved])
            return reserved
        }
    }

    public func reservedConcurrency(_ function: String) async throws(RelctlError) -> Int? {
        try await readRecords { db in
            try db.requireFunction(function)
            return try db.reservedConcurrency(function)
        }
    }
}

extension PostgresRecords {
    public func putFunctionConcurrency(_ function: String, reserved: Int?) async throws(RelctlError) -> Int? {
        try await store.putFunctionConcurrency(function, reserved: reserved)
    }

    public func reservedConcurrency(_ function: String) async throws(RelctlError) -> Int? {
        try await store.reservedConcurrency(function)
    }
}

extension PostgresTransaction {
    func reservedConcurrency(_ function: String) throws -> Int? {
        try db.rows("SELECT reserved_concurrency FROM functions WHERE name = \(function)").first?.decode(Int?.self)
            ?? nil
    }
}
