import Foundation
import Testing

@Suite("relctl judge")
struct JudgeCLITests {
    @Test func simulateIsSeededAndReportsRatesTimesAndRequests() throws {
        let cli = try CLI()
        let arguments = [
            "judge", "simulate", "--baseline-error", "1%", "--canary-error", "5%", "--rate", "100", "--weight", "10%",
            "--runs", "20", "--duration", "10m", "--seed", "3", "--output", "json",
        ]
        let first = try cli.run(arguments), second = try cli.run(arguments)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout == second.stdout, "the same seed gives the same figures")
        let report = first.object
        #expect(report["runs"] as? Int == 20)
        #expect((report["abortRate"] as? Double ?? 0) >= 0.9, "errors ×5 are caught within ten minutes")
        #expect((report["abortSeconds"] as? [String: Any])?["p50"] as? Int != nil)
        let table = try cli.run("judge", "simulate", "--baseline-error", "1%", "--runs", "5", "--duration", "2m")
        #expect(table.status == 0)
        #expect(table.stdout.contains("False aborts"))
        #expect(table.stdout.contains("need ≈"))
    }

    @Test func simulateRefusesBadValuesWithOneLine() throws {
        let cli = try CLI()
        let weight = try cli.run("judge", "simulate", "--weight", "150%")
        #expect(weight.status == 1)
        #expect(
            weight.stderr
                == "error: InvalidParameterValueException: --weight '150%' must be a percentage such as 10% or a fraction such as 0.1, from 0.1% to 99.9%.\n"
        )
        let policy = try cli.run("judge", "simulate", "--policy", "Canary10Percent5Minutes")
        #expect(policy.status == 1)
        #expect(policy.stderr.contains("has no judge: section"))
        let runs = try cli.run("judge", "simulate", "--runs", "0")
        #expect(runs.status == 64)
    }
}
