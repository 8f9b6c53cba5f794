-- relctl on PostgreSQL, schema 2: release groups (SQLite's 0008_releases) — several function aliases
-- moved in lockstep by one timing machine, one row per member alias, and the release's decision log.

CREATE TABLE releases (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('Created', 'InProgress', 'Paused', 'Succeeded', 'Failed', 'Stopped')),
    create_time   DOUBLE PRECISION NOT NULL,
    complete_time DOUBLE PRECISION,
    state         TEXT NOT NULL  -- the ReleaseGroup value as JSON: members, policy snapshot, step, hooks, timings
);
CREATE UNIQUE INDEX releases_one_active_per_name ON releases(name) WHERE status IN ('Created', 'InProgress', 'Paused');
CREATE INDEX releases_by_name ON releases(name, create_time);
CREATE INDEX releases_active ON releases(status) WHERE status IN ('Created', 'InProgress', 'Paused');

-- An alias belongs to at most one in-flight release (`active`).
CREATE TABLE release_members (
    release_id      TEXT NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
    function_name   TEXT NOT NULL,
    alias_name      TEXT NOT NULL,
    current_version INTEGER NOT NULL CHECK (current_version >= 1),
    target_version  INTEGER NOT NULL CHECK (target_version >= 1 AND target_version <> current_version),
    alias_weight    DOUBLE PRECISION NOT NULL DEFAULT 0 CHECK (alias_weight >= 0 AND alias_weight <= 100),
    active          BOOLEAN NOT NULL,
    PRIMARY KEY (release_id, function_name, alias_name)
);
CREATE UNIQUE INDEX release_members_one_active_per_alias ON release_members(function_name, alias_name) WHERE active;

CREATE TABLE release_events (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    release_id TEXT NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
    at         DOUBLE PRECISION NOT NULL,
    kind       TEXT NOT NULL,
    message    TEXT NOT NULL,
    details    TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX release_events_by_release ON release_events(release_id, id);
