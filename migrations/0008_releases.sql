-- relctl registry, schema 8: release groups — several function aliases moved in lockstep by one
-- timing machine (the deployment machine's state as JSON), one row per member alias, and the
-- release's decision log.

CREATE TABLE releases (
    id            TEXT PRIMARY KEY NOT NULL,
    name          TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('Created', 'InProgress', 'Paused', 'Succeeded', 'Failed', 'Stopped')),
    create_time   REAL NOT NULL,
    complete_time REAL,
    state         TEXT NOT NULL  -- the ReleaseGroup value as JSON: members, policy snapshot, step, hooks, timings
) WITHOUT ROWID;
-- One in-flight release per name.
CREATE UNIQUE INDEX releases_one_active_per_name ON releases(name) WHERE status IN ('Created', 'InProgress', 'Paused');
CREATE INDEX releases_by_name ON releases(name, create_time);
CREATE INDEX releases_active ON releases(status) WHERE status IN ('Created', 'InProgress', 'Paused');

-- The aliases a release moves. `active` is 1 while the release is in flight, so an alias belongs to
-- at most one release at a time (the engine also refuses aliases that a deployment owns).
CREATE TABLE release_members (
    release_id      TEXT NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
    function_name   TEXT NOT NULL,
    alias_name      TEXT NOT NULL,
    current_version INTEGER NOT NULL CHECK (current_version >= 1),
    target_version  INTEGER NOT NULL CHECK (target_version >= 1 AND target_version <> current_version),
    alias_weight    REAL NOT NULL DEFAULT 0 CHECK (alias_weight >= 0 AND alias_weight <= 100),
    active          INTEGER NOT NULL CHECK (active IN (0, 1)),
    PRIMARY KEY (release_id, function_name, alias_name)
) WITHOUT ROWID;
CREATE UNIQUE INDEX release_members_one_active_per_alias ON release_members(function_name, alias_name) WHERE active = 1;

CREATE TABLE release_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    release_id TEXT NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
    at         REAL NOT NULL,
    kind       TEXT NOT NULL,
    message    TEXT NOT NULL,
    details    TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX release_events_by_release ON release_events(release_id, id);
