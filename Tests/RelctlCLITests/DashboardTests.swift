import Foundation
import Testing

/// The dashboard in headless chromium (Tests/dashboard, driven over the DevTools Protocol): a canary
/// started through the API shows live, "stop" restores the alias, sign-in with keys and read-only
/// refusals. Screenshots and the measured latencies land in .build/test-artifacts/dashboard.
@Suite("Dashboard", .serialized)
struct DashboardTests {
    @Test func dashboardWorksInHeadlessChromium() async throws {
        let suite = ServerTests.repo.appendingPathComponent("Tests/dashboard")
        try #require(FileManager.default.fileExists(atPath: suite.appendingPathComponent("test_dashboard.py").path))
        let (status, output) = try await runToolOffPool(
            ["python3", "-m", "pytest", suite.path, "-q", "-s", "-p", "no:cacheprovider"],
            environment: ["RELCTL_BIN": CLI.binary.path], cwd: ServerTests.repo, timeout: 600)
        #expect(status == 0, "\(output.suffix(6000))")
        let passed = output.firstMatch(of: /(\d+) passed/).flatMap { Int($0.1) } ?? 0
        #expect(passed == 4, "every browser test ran (none skipped): \(output.suffix(600))")
    }
}
