-- relctl registry, schema 2: deployments (the rollout controller's persisted state machine),
-- their event log, CloudWatch-style alarms and the metric store they read.

CREATE TABLE deployments (
    id              TEXT PRIMARY KEY NOT NULL,
    function_name   TEXT NOT NULL,
    alias_name      TEXT NOT NULL,
    current_version INTEGER NOT NULL CHECK (current_version >= 0),
    target_version  INTEGER NOT NULL CHECK (target_version >= 1),
    status          TEXT NOT NULL CHECK (status IN ('Created', 'InProgress', 'Paused', 'Succeeded', 'Failed', 'Stopped')),
    create_time     REAL NOT NULL,
    complete_time   REAL,
    state           TEXT NOT NULL  -- the Deployment value as JSON: policy snapshot, step, hooks, timings
) WITHOUT ROWID;
-- One in-flight deployment per alias.
CREATE UNIQUE INDEX deployments_one_active_per_alias ON deployments(function_name, alias_name)
    WHERE status IN ('Created', 'InProgress', 'Paused');
CREATE INDEX deployments_by_function ON deployments(function_name, create_time);
CREATE INDEX deployments_active ON deployments(status) WHERE status IN ('Created', 'InProgress', 'Paused');

CREATE TABLE deployment_events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    deployment_id TEXT NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
    at            REAL NOT NULL,
    kind          TEXT NOT NULL,
    message       TEXT NOT NULL,
    details       TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX deployment_events_by_deployment ON deployment_events(deployment_id, id);

CREATE TABLE alarms (
    name             TEXT PRIMARY KEY NOT NULL,
    definition       TEXT NOT NULL,  -- AlarmDefinition as JSON
    state            TEXT NOT NULL DEFAULT 'INSUFFICIENT_DATA' CHECK (state IN ('OK', 'ALARM', 'INSUFFICIENT_DATA')),
    state_reason     TEXT NOT NULL DEFAULT 'Unchecked: initial alarm creation',
    state_datapoints TEXT NOT NULL DEFAULT '[]',
    state_updated_at REAL NOT NULL
) WITHOUT ROWID;

CREATE TABLE metric_datapoints (
    id               INTEGER PRIMARY KEY,
    function_name    TEXT NOT NULL,
    resource         TEXT,
    executed_version TEXT,
    metric           TEXT NOT NULL,
    timestamp        REAL NOT NULL,
    value            REAL NOT NULL,
    unit             TEXT
);
CREATE INDEX metric_datapoints_lookup ON metric_datapoints(function_name, metric, timestamp);
