-- relctl registry, schema 6: one event log for everything that changes a release (deployments, alias
-- moves, publishes, cleanups, quota warnings), and webhooks that follow it with a delivery cursor each.

CREATE TABLE events (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,  -- global order; never reused
    at            REAL NOT NULL,
    type          TEXT NOT NULL,
    actor         TEXT NOT NULL,
    function_name TEXT,
    alias_name    TEXT,
    deployment_id TEXT,
    message       TEXT NOT NULL,
    details       TEXT NOT NULL DEFAULT '{}'  -- the values behind it, as a JSON object of strings
);
CREATE INDEX events_by_function ON events(function_name, seq);

-- The outbox: every event after `delivered_seq` that matches the webhook's filters is still owed to it.
-- Deliveries go in `seq` order, one at a time, so a restart resumes at the first undelivered event.
CREATE TABLE webhooks (
    name            TEXT PRIMARY KEY NOT NULL,
    url             TEXT NOT NULL,
    types           TEXT,  -- JSON array of event types; NULL: every type
    function_name   TEXT,  -- NULL: every function
    secret          TEXT,
    format          TEXT NOT NULL DEFAULT 'json' CHECK (format IN ('json', 'slack')),
    created_at      REAL NOT NULL,
    delivered_seq   INTEGER NOT NULL CHECK (delivered_seq >= 0),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),  -- failed attempts at the event after delivered_seq
    next_attempt_at REAL NOT NULL DEFAULT 0,
    last_error      TEXT,
    lease_owner     TEXT,  -- the dispatcher delivering it now (one at a time keeps the order)
    lease_until     REAL
) WITHOUT ROWID;
