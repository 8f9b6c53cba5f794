-- relctl registry, schema 10: what the server's CloudFormation and S3 subsets keep for the real
-- `sam deploy` (aws-sam-cli): the artifacts it uploads, its change sets, and each stack's template.

-- S3 (path-style, artifacts only): buckets and objects. An object's bytes live in the data
-- directory's `s3/sha256/ab/…` (content-addressed, written durably before the row commits).
CREATE TABLE s3_buckets (
    name          TEXT PRIMARY KEY NOT NULL,
    create_time   REAL NOT NULL
) WITHOUT ROWID;

CREATE TABLE s3_objects (
    bucket        TEXT NOT NULL REFERENCES s3_buckets(name) ON DELETE RESTRICT,
    key           TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    size          INTEGER NOT NULL CHECK (size >= 0),
    etag          TEXT NOT NULL,            -- the MD5 of the bytes in hex, as S3's for a single-part upload
    content_type  TEXT,
    metadata      TEXT NOT NULL DEFAULT '{}', -- x-amz-meta-* as a JSON object
    last_modified REAL NOT NULL,
    PRIMARY KEY (bucket, key)
) WITHOUT ROWID;
CREATE INDEX s3_objects_by_sha256 ON s3_objects(sha256);

-- CloudFormation change sets: the template as sent (untransformed), its parameters, and the plan.
CREATE TABLE cloudformation_change_sets (
    id               TEXT PRIMARY KEY NOT NULL, -- the change set's ARN
    name             TEXT NOT NULL,
    stack_name       TEXT NOT NULL,
    stack_id         TEXT NOT NULL,
    change_set_type  TEXT NOT NULL CHECK (change_set_type IN ('CREATE', 'UPDATE')),
    template         TEXT NOT NULL,
    parameters       TEXT NOT NULL,            -- JSON object: the parameters as given (UsePreviousValue resolved)
    description      TEXT,
    capabilities     TEXT NOT NULL DEFAULT '[]',
    status           TEXT NOT NULL,            -- CREATE_COMPLETE | FAILED
    status_reason    TEXT,
    execution_status TEXT NOT NULL,            -- AVAILABLE | UNAVAILABLE | EXECUTE_COMPLETE | OBSOLETE
    changes          TEXT NOT NULL DEFAULT '[]', -- JSON: the planned resource changes
    create_time      REAL NOT NULL,
    UNIQUE (stack_name, name)
) WITHOUT ROWID;

-- A stack deployed through CloudFormation: its id (an ARN, as CloudFormation gives), the template
-- last executed (GetTemplate), and the change set it came from. Gone with its stack.
CREATE TABLE cloudformation_stacks (
    stack_name    TEXT PRIMARY KEY NOT NULL REFERENCES stacks(name) ON DELETE CASCADE,
    stack_id      TEXT NOT NULL,
    template      TEXT NOT NULL,
    change_set_id TEXT,
    description   TEXT
) WITHOUT ROWID;
