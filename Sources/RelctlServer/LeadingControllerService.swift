import Foundation
import Logging
import Prometheus
import RelctlRollout
import RelctlStorage
import ServiceLifecycle

/// `relctl serve --database postgres://…`: the controller as a service that leads only while this
/// server holds the leadership (issue 10 §5), in place of `ControllerService`. Build it with the
/// database's `ControllerLeadership` and `ControllerWake` (RelctlPostgres: `PostgresLeadership`,
/// `PostgresWakeListener`), list it among the application's services, and give `controller.status`
/// to `ServerServices` (its `leadership`) so `/healthz` and `/metrics` report it.
public struct LeadingControllerService: Service {
    public let controller: LeadingController
    let interval: Double
    let logger: Logger

    public init(
        leadership: any ControllerLeadership, wake: (any ControllerWake)?, interval: Double, logger: Logger,
        makeController: @escaping @Sendable (RolloutEngine) -> Controller = { Controller(engine: $0) }
    ) {
        self.interval = interval
        self.logger = logger
        self.controller = LeadingController(
            leadership: leadership, wake: wake, makeController: makeController,
            log: { [logger] line in logger.info("\(line)") })
    }

    public func run() async throws {
        // Graceful shutdown cancels the loop between ticks; it resigns on the way out.
        try? await cancelWhenGracefulShutdown { [controller, interval] in
            await controller.run(interval: interval)
        }
        logger.info("leading controller stopped")
    }
}

extension LeadershipStatus {
    /// `/healthz`'s second line on a shared database: `leader: yes (epoch 4)` or `leader: no`.
    var healthLine: String {
        epoch.map { "leader: yes (epoch \($0))\n" } ?? "leader: no\n"
    }
}

extension ServerMetrics {
    /// `relctl_controller_leader` (1 while this server leads, else 0) and `relctl_controller_epoch`.
    func renderLeadership(_ status: LeadershipStatus) {
        prometheus.makeGauge(
            descriptor: Self.name("relctl_controller_leader", "1 while this server's controller leads, else 0.")
        ).set(status.leading ? 1.0 : 0.0)
        prometheus.makeGauge(
            descriptor: Self.name("relctl_controller_epoch", "The leadership epoch this server leads with (0: none).")
        ).set(Double(status.epoch ?? 0))
    }
}
