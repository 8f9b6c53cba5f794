-- relctl on PostgreSQL, schema 5: the rest of the SQLite registry (migrations/0001…0010), so that
-- `relctl migrate-store` can copy every record: quota counters and blob metadata, layers and their
-- versions and permissions, the settable fields of versions that 0001 left out, CodeDeploy's nouns,
-- stacks and CloudFormation, the S3 subset's rows, webhooks (the outbox), function transitions,
-- resource policies, tags and provisioned concurrency. Same meaning and constraints as SQLite's.
-- `IF NOT EXISTS` throughout: a table or column that another schema file of this series already made
-- (the registry API's CodeDeploy and version fields) is left as it is.

-- One row: the counters quota reads (as AWS counts: $LATEST + versions + layer versions; blobs after dedupe).
CREATE TABLE IF NOT EXISTS usage (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    total_code_size BIGINT NOT NULL CHECK (total_code_size >= 0),
    stored_bytes    BIGINT NOT NULL CHECK (stored_bytes >= 0)
);
INSERT INTO usage (id, total_code_size, stored_bytes) VALUES (1, 0, 0) ON CONFLICT (id) DO NOTHING;

-- Content-addressed code's metadata; the bytes are in the code store (`PREFIX/sha256/ab/<hash>`).
CREATE TABLE IF NOT EXISTS blobs (
    sha256        TEXT PRIMARY KEY CHECK (length(sha256) = 64),
    size          BIGINT NOT NULL CHECK (size >= 0),
    unzipped_size BIGINT NOT NULL CHECK (unzipped_size >= 0)
);

-- Versions' settable fields beyond 0001's (SQLite's 0001 environment and 0009's fields).
ALTER TABLE versions ADD COLUMN IF NOT EXISTS environment TEXT;  -- JSON object, NULL when unset
ALTER TABLE versions ADD COLUMN IF NOT EXISTS logging_config TEXT;  -- JSON object of LoggingConfig as set
ALTER TABLE versions ADD COLUMN IF NOT EXISTS ephemeral_storage_size INTEGER
    CHECK (ephemeral_storage_size IS NULL OR ephemeral_storage_size BETWEEN 512 AND 10240);
ALTER TABLE versions ADD COLUMN IF NOT EXISTS tracing_mode TEXT
    CHECK (tracing_mode IS NULL OR tracing_mode IN ('Active', 'PassThrough'));

CREATE TABLE IF NOT EXISTS layers (
    name            TEXT PRIMARY KEY,
    highest_version INTEGER NOT NULL DEFAULT 0 CHECK (highest_version >= 0)
);

CREATE TABLE IF NOT EXISTS layer_versions (
    layer_name               TEXT NOT NULL REFERENCES layers(name) ON DELETE RESTRICT,
    version                  INTEGER NOT NULL CHECK (version >= 1),
    code_sha256              TEXT NOT NULL CHECK (length(code_sha256) = 64),
    code_size                BIGINT NOT NULL CHECK (code_size >= 0),
    unzipped_size            BIGINT NOT NULL CHECK (unzipped_size >= 0),
    description              TEXT NOT NULL DEFAULT '',
    compatible_runtimes      TEXT NOT NULL DEFAULT '[]',
    compatible_architectures TEXT NOT NULL DEFAULT '[]',
    license_info             TEXT,
    created_date             TEXT NOT NULL,
    -- DeleteLayerVersion on a version that functions still use hides it; the row goes with its last user.
    deleted                  BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (layer_name, version)
);
CREATE INDEX IF NOT EXISTS layer_versions_by_code ON layer_versions(code_sha256);

CREATE OR REPLACE FUNCTION refuse_layer_version_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'layer versions are immutable';
END $$;
CREATE OR REPLACE TRIGGER layer_versions_are_immutable
BEFORE UPDATE OF layer_name, version, code_sha256, code_size, unzipped_size, description,
                 compatible_runtimes, compatible_architectures, license_info, created_date ON layer_versions
FOR EACH ROW EXECUTE FUNCTION refuse_layer_version_update();

CREATE TABLE IF NOT EXISTS version_layers (
    function_name TEXT NOT NULL,
    version       INTEGER NOT NULL,
    position      INTEGER NOT NULL CHECK (position BETWEEN 0 AND 4),
    layer_name    TEXT NOT NULL,
    layer_version INTEGER NOT NULL,
    PRIMARY KEY (function_name, version, position),
    FOREIGN KEY (function_name, version) REFERENCES versions(function_name, version) ON DELETE CASCADE,
    FOREIGN KEY (layer_name, layer_version) REFERENCES layer_versions(layer_name, version) ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS version_layers_by_layer ON version_layers(layer_name, layer_version);

-- AddLayerVersionPermission: one document per layer version.
CREATE TABLE IF NOT EXISTS layer_version_policies (
    layer_name    TEXT NOT NULL,
    layer_version INTEGER NOT NULL,
    statements    TEXT NOT NULL,
    revision_id   TEXT NOT NULL,
    PRIMARY KEY (layer_name, layer_version),
    FOREIGN KEY (layer_name, layer_version) REFERENCES layer_versions(layer_name, version) ON DELETE CASCADE
);

-- A deleted layer version (hidden while functions still use it) has no policy.
CREATE OR REPLACE FUNCTION drop_deleted_layer_version_policy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM layer_version_policies WHERE layer_name = NEW.layer_name AND layer_version = NEW.version;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER layer_version_policy_goes_with_the_version
AFTER UPDATE OF deleted ON layer_versions FOR EACH ROW WHEN (NEW.deleted)
EXECUTE FUNCTION drop_deleted_layer_version_policy();

-- CodeDeploy's nouns (SQLite's 0004); configs exist since 0001 without their id.
ALTER TABLE codedeploy_configs ADD COLUMN IF NOT EXISTS config_id TEXT;

CREATE TABLE IF NOT EXISTS codedeploy_applications (
    name             TEXT PRIMARY KEY,
    application_id   TEXT NOT NULL,
    compute_platform TEXT NOT NULL,
    create_time      DOUBLE PRECISION NOT NULL
);

CREATE TABLE IF NOT EXISTS codedeploy_deployment_groups (
    application_name    TEXT NOT NULL REFERENCES codedeploy_applications(name) ON DELETE CASCADE,
    name                TEXT NOT NULL,
    deployment_group_id TEXT NOT NULL,
    definition          TEXT NOT NULL,  -- the CreateDeploymentGroup request as JSON
    PRIMARY KEY (application_name, name)
);

CREATE TABLE IF NOT EXISTS codedeploy_deployments (
    deployment_id         TEXT PRIMARY KEY REFERENCES deployments(id) ON DELETE CASCADE,
    application_name      TEXT NOT NULL,
    deployment_group_name TEXT NOT NULL,
    description           TEXT,
    revision              TEXT  -- the CreateDeployment revision as JSON
);
CREATE INDEX IF NOT EXISTS codedeploy_deployments_by_group ON codedeploy_deployments(application_name, deployment_group_name);

-- Stacks (`relctl sam deploy`, SQLite's 0005).
CREATE TABLE IF NOT EXISTS stacks (
    name          TEXT PRIMARY KEY,
    template_hash TEXT NOT NULL,
    parameters    TEXT NOT NULL,
    status        TEXT NOT NULL,
    status_reason TEXT,
    deployments   TEXT NOT NULL DEFAULT '[]',
    create_time   DOUBLE PRECISION NOT NULL,
    update_time   DOUBLE PRECISION NOT NULL
);

CREATE TABLE IF NOT EXISTS stack_resources (
    stack_name    TEXT NOT NULL REFERENCES stacks(name) ON DELETE CASCADE,
    logical_id    TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    physical_id   TEXT NOT NULL,
    state         TEXT NOT NULL,
    PRIMARY KEY (stack_name, logical_id)
);

CREATE TABLE IF NOT EXISTS stack_events (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stack_name    TEXT NOT NULL,  -- no foreign key: a deleted stack's events stay readable
    time          DOUBLE PRECISION NOT NULL,
    logical_id    TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    physical_id   TEXT,
    status        TEXT NOT NULL,
    reason        TEXT
);
CREATE INDEX IF NOT EXISTS stack_events_by_stack ON stack_events(stack_name, id);

-- Webhooks and their delivery cursor over `events.seq` (the outbox, SQLite's 0006).
CREATE TABLE IF NOT EXISTS webhooks (
    name            TEXT PRIMARY KEY,
    url             TEXT NOT NULL,
    types           TEXT,  -- JSON array of event types; NULL: every type
    function_name   TEXT,  -- NULL: every function
    secret          TEXT,
    format          TEXT NOT NULL DEFAULT 'json' CHECK (format IN ('json', 'slack')),
    created_at      DOUBLE PRECISION NOT NULL,
    delivered_seq   BIGINT NOT NULL CHECK (delivered_seq >= 0),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at DOUBLE PRECISION NOT NULL DEFAULT 0,
    last_error      TEXT,
    lease_owner     TEXT,
    lease_until     DOUBLE PRECISION
);

-- A function between an API change and its settling (SQLite's 0009).
CREATE TABLE IF NOT EXISTS function_transitions (
    function_name TEXT PRIMARY KEY REFERENCES functions(name) ON DELETE CASCADE,
    kind          TEXT NOT NULL CHECK (kind IN ('create', 'update')),
    settles_at    DOUBLE PRECISION NOT NULL
);

-- Resource-based policies (AddPermission): one document per function, version or alias ('' is the function).
CREATE TABLE IF NOT EXISTS function_policies (
    function_name TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    qualifier     TEXT NOT NULL,
    statements    TEXT NOT NULL,
    revision_id   TEXT NOT NULL,
    PRIMARY KEY (function_name, qualifier)
);

CREATE TABLE IF NOT EXISTS function_tags (
    function_name TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    key           TEXT NOT NULL,
    value         TEXT NOT NULL,
    PRIMARY KEY (function_name, key)
);

CREATE TABLE IF NOT EXISTS provisioned_concurrency (
    function_name TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    qualifier     TEXT NOT NULL,
    requested     INTEGER NOT NULL CHECK (requested >= 1),
    last_modified TEXT NOT NULL,
    PRIMARY KEY (function_name, qualifier)
);

-- A version's or alias's policy and provisioned concurrency go with it.
CREATE OR REPLACE FUNCTION drop_version_extras() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM function_policies WHERE function_name = OLD.function_name AND qualifier = OLD.version::text;
    DELETE FROM provisioned_concurrency WHERE function_name = OLD.function_name AND qualifier = OLD.version::text;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER version_extras_go_with_the_version
AFTER DELETE ON versions FOR EACH ROW WHEN (OLD.version > 0)
EXECUTE FUNCTION drop_version_extras();

CREATE OR REPLACE FUNCTION drop_alias_extras() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM function_policies WHERE function_name = OLD.function_name AND qualifier = OLD.name;
    DELETE FROM provisioned_concurrency WHERE function_name = OLD.function_name AND qualifier = OLD.name;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER alias_extras_go_with_the_alias
AFTER DELETE ON aliases FOR EACH ROW
EXECUTE FUNCTION drop_alias_extras();

-- The server's S3 subset (what `sam deploy` uploads) and CloudFormation (SQLite's 0010).
CREATE TABLE IF NOT EXISTS s3_buckets (
    name        TEXT PRIMARY KEY,
    create_time DOUBLE PRECISION NOT NULL
);

CREATE TABLE IF NOT EXISTS s3_objects (
    bucket        TEXT NOT NULL REFERENCES s3_buckets(name) ON DELETE RESTRICT,
    key           TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    size          BIGINT NOT NULL CHECK (size >= 0),
    etag          TEXT NOT NULL,
    content_type  TEXT,
    metadata      TEXT NOT NULL DEFAULT '{}',
    last_modified DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (bucket, key)
);
CREATE INDEX IF NOT EXISTS s3_objects_by_sha256 ON s3_objects(sha256);

CREATE TABLE IF NOT EXISTS cloudformation_change_sets (
    id               TEXT PRIMARY KEY,  -- the change set's ARN
    name             TEXT NOT NULL,
    stack_name       TEXT NOT NULL,
    stack_id         TEXT NOT NULL,
    change_set_type  TEXT NOT NULL CHECK (change_set_type IN ('CREATE', 'UPDATE')),
    template         TEXT NOT NULL,
    parameters       TEXT NOT NULL,
    description      TEXT,
    capabilities     TEXT NOT NULL DEFAULT '[]',
    status           TEXT NOT NULL,
    status_reason    TEXT,
    execution_status TEXT NOT NULL,
    changes          TEXT NOT NULL DEFAULT '[]',
    create_time      DOUBLE PRECISION NOT NULL,
    UNIQUE (stack_name, name)
);

CREATE TABLE IF NOT EXISTS cloudformation_stacks (
    stack_name    TEXT PRIMARY KEY REFERENCES stacks(name) ON DELETE CASCADE,
    stack_id      TEXT NOT NULL,
    template      TEXT NOT NULL,
    change_set_id TEXT,
    description   TEXT
);
