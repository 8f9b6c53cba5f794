-- relctl on PostgreSQL, schema 1: what the rollout engine's transaction touches — functions, versions,
-- aliases and their moves, audit, deployments and their event logs, the release event log, alarms,
-- metric samples, deployment judges, settings, CodeDeploy configs — and the controller's leadership epoch.
-- Same meaning as the SQLite schema (migrations/0001…0010); released files are never edited.
-- Code bytes live in the code store (issue 10 §2); versions keep their hash and sizes only.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE functions (
    name                  TEXT PRIMARY KEY,
    created_at            TEXT NOT NULL,
    highest_version       INTEGER NOT NULL DEFAULT 0 CHECK (highest_version >= 0),  -- numbers are never reused
    changed_since_publish BOOLEAN NOT NULL DEFAULT TRUE,
    reserved_concurrency  INTEGER CHECK (reserved_concurrency IS NULL OR reserved_concurrency >= 0)
);

CREATE TABLE versions (
    function_name TEXT NOT NULL REFERENCES functions(name) ON DELETE RESTRICT,
    version       INTEGER NOT NULL CHECK (version >= 0),
    code_sha256   TEXT NOT NULL CHECK (length(code_sha256) = 64),
    code_size     BIGINT NOT NULL CHECK (code_size >= 0),
    unzipped_size BIGINT NOT NULL CHECK (unzipped_size >= 0),
    runtime       TEXT,
    handler       TEXT,
    role          TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    memory_size   INTEGER NOT NULL CHECK (memory_size BETWEEN 128 AND 10240),
    timeout       INTEGER NOT NULL CHECK (timeout BETWEEN 1 AND 900),
    architecture  TEXT NOT NULL DEFAULT 'x86_64' CHECK (architecture IN ('x86_64', 'arm64')),
    last_modified TEXT NOT NULL,
    revision_id   TEXT NOT NULL,
    PRIMARY KEY (function_name, version)
);
CREATE INDEX versions_by_code ON versions(code_sha256);

CREATE FUNCTION refuse_published_version_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'published versions are immutable';
END $$;
CREATE TRIGGER published_versions_are_immutable
BEFORE UPDATE ON versions FOR EACH ROW WHEN (OLD.version > 0)
EXECUTE FUNCTION refuse_published_version_update();

CREATE TABLE aliases (
    function_name      TEXT NOT NULL,
    name               TEXT NOT NULL,
    function_version   INTEGER NOT NULL,
    additional_version INTEGER,
    additional_weight  DOUBLE PRECISION CHECK (additional_weight BETWEEN 0.0 AND 1.0),
    description        TEXT NOT NULL DEFAULT '',
    revision_id        TEXT NOT NULL,
    PRIMARY KEY (function_name, name),
    FOREIGN KEY (function_name, function_version) REFERENCES versions(function_name, version) ON DELETE RESTRICT,
    FOREIGN KEY (function_name, additional_version) REFERENCES versions(function_name, version) ON DELETE RESTRICT,
    CHECK ((additional_version IS NULL) = (additional_weight IS NULL)),
    CHECK (additional_version IS NULL OR (function_version > 0 AND additional_version > 0 AND additional_version <> function_version))
);
CREATE INDEX aliases_by_version ON aliases(function_name, function_version);

-- Every move of every alias: what `relctl history F ALIAS` shows and what `relctl rollback` reads.
CREATE TABLE alias_moves (
    id                      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    function_name           TEXT NOT NULL,
    alias_name              TEXT NOT NULL,
    at                      TEXT NOT NULL,
    actor                   TEXT NOT NULL,
    cause                   TEXT NOT NULL,
    from_version            INTEGER,
    from_additional_version INTEGER,
    from_additional_weight  DOUBLE PRECISION,
    to_version              INTEGER,
    to_additional_version   INTEGER,
    to_additional_weight    DOUBLE PRECISION
);
CREATE INDEX alias_moves_by_alias ON alias_moves(function_name, alias_name, id);

CREATE TABLE audit (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at            TEXT NOT NULL,
    actor         TEXT NOT NULL,
    action        TEXT NOT NULL,
    function_name TEXT,
    resource      TEXT NOT NULL,
    before        TEXT,
    after         TEXT
);
CREATE INDEX audit_by_function ON audit(function_name, id);

CREATE TABLE deployments (
    id              TEXT PRIMARY KEY,
    function_name   TEXT NOT NULL,
    alias_name      TEXT NOT NULL,
    current_version INTEGER NOT NULL CHECK (current_version >= 0),
    target_version  INTEGER NOT NULL CHECK (target_version >= 1),
    status          TEXT NOT NULL CHECK (status IN ('Created', 'InProgress', 'Paused', 'Succeeded', 'Failed', 'Stopped')),
    create_time     DOUBLE PRECISION NOT NULL,
    complete_time   DOUBLE PRECISION,
    state           TEXT NOT NULL  -- the Deployment value as JSON: policy snapshot, step, hooks, timings
);
-- One in-flight deployment per alias.
CREATE UNIQUE INDEX deployments_one_active_per_alias ON deployments(function_name, alias_name)
    WHERE status IN ('Created', 'InProgress', 'Paused');
CREATE INDEX deployments_by_function ON deployments(function_name, create_time);
CREATE INDEX deployments_active ON deployments(status) WHERE status IN ('Created', 'InProgress', 'Paused');

CREATE TABLE deployment_events (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    deployment_id TEXT NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
    at            DOUBLE PRECISION NOT NULL,
    kind          TEXT NOT NULL,
    message       TEXT NOT NULL,
    details       TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX deployment_events_by_deployment ON deployment_events(deployment_id, id);

-- The release event log (what webhooks follow): `seq` is its global order. Writers hold the store's
-- write lock, so `seq` commits in order too (a reader never sees seq 7 before seq 6 is visible).
CREATE TABLE events (
    seq           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at            DOUBLE PRECISION NOT NULL,
    type          TEXT NOT NULL,
    actor         TEXT NOT NULL,
    function_name TEXT,
    alias_name    TEXT,
    deployment_id TEXT,
    message       TEXT NOT NULL,
    details       TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX events_by_function ON events(function_name, seq);

CREATE TABLE alarms (
    name             TEXT PRIMARY KEY,
    definition       TEXT NOT NULL,  -- AlarmDefinition as JSON
    state            TEXT NOT NULL DEFAULT 'INSUFFICIENT_DATA' CHECK (state IN ('OK', 'ALARM', 'INSUFFICIENT_DATA')),
    state_reason     TEXT NOT NULL DEFAULT 'Unchecked: initial alarm creation',
    state_datapoints TEXT NOT NULL DEFAULT '[]',
    state_updated_at DOUBLE PRECISION NOT NULL
);

CREATE TABLE metric_datapoints (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    function_name    TEXT NOT NULL,
    resource         TEXT,
    executed_version TEXT,
    metric           TEXT NOT NULL,
    timestamp        DOUBLE PRECISION NOT NULL,
    value            DOUBLE PRECISION NOT NULL,
    unit             TEXT
);
CREATE INDEX metric_datapoints_lookup ON metric_datapoints(function_name, metric, timestamp);

CREATE TABLE deployment_judges (
    deployment_id  TEXT PRIMARY KEY REFERENCES deployments(id) ON DELETE CASCADE,
    judged_through DOUBLE PRECISION NOT NULL,
    weight         DOUBLE PRECISION NOT NULL,
    verdict        TEXT NOT NULL,
    state          TEXT NOT NULL  -- DeploymentJudge as JSON
);

CREATE TABLE codedeploy_configs (
    name        TEXT PRIMARY KEY,
    definition  TEXT NOT NULL,
    create_time DOUBLE PRECISION NOT NULL
);

-- The controller's leadership (issue 10 §5): `epoch` grows by one each time a server takes the
-- advisory lock; every step the engine applies checks, in its own transaction, that its epoch is this one.
CREATE TABLE leadership (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    epoch       BIGINT NOT NULL CHECK (epoch >= 0),
    holder      TEXT,
    acquired_at DOUBLE PRECISION
);
INSERT INTO leadership (id, epoch) VALUES (1, 0);
