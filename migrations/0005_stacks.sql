-- relctl registry, schema 5: stacks — what `relctl sam deploy` made from a SAM template, so the
-- next deploy is a diff and `relctl stack delete` removes exactly what the stack created.

CREATE TABLE stacks (
    name          TEXT PRIMARY KEY NOT NULL,
    template_hash TEXT NOT NULL,            -- sha256 of the template text last deployed
    parameters    TEXT NOT NULL,            -- the resolved parameter values as a JSON object
    status        TEXT NOT NULL,            -- CREATE_COMPLETE, UPDATE_IN_PROGRESS, UPDATE_FAILED, …
    status_reason TEXT,
    deployments   TEXT NOT NULL DEFAULT '[]', -- the last deploy's deployment ids as a JSON array
    create_time   REAL NOT NULL,
    update_time   REAL NOT NULL
) WITHOUT ROWID;

CREATE TABLE stack_resources (
    stack_name    TEXT NOT NULL REFERENCES stacks(name) ON DELETE CASCADE,
    logical_id    TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    physical_id   TEXT NOT NULL,
    state         TEXT NOT NULL,            -- what the planner diffs against, as JSON (hashes, versions)
    PRIMARY KEY (stack_name, logical_id)
) WITHOUT ROWID;

CREATE TABLE stack_events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    stack_name    TEXT NOT NULL,            -- no foreign key: a deleted stack's events stay readable
    time          REAL NOT NULL,
    logical_id    TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    physical_id   TEXT,
    status        TEXT NOT NULL,
    reason        TEXT
);
CREATE INDEX stack_events_by_stack ON stack_events(stack_name, id);
