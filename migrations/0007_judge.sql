-- relctl registry, schema 7: the canary judge of a deployment whose policy has a `judge:` section —
-- its state (e-processes, totals, the weights the deployment set) and how far it has read the metrics.

CREATE TABLE deployment_judges (
    deployment_id  TEXT PRIMARY KEY NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
    judged_through REAL NOT NULL,  -- every second starting before this (seconds since 1970) has been judged
    weight         REAL NOT NULL,  -- the last weight (percent) the deployment set on its target, as the judge saw it
    verdict        TEXT NOT NULL,  -- WAIT, ABORT, PROMOTE or PAUSE: the judge's verdict now
    state          TEXT NOT NULL   -- DeploymentJudge as JSON
) WITHOUT ROWID;
