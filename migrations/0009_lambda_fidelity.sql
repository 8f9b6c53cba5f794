-- relctl registry, schema 9: what the Lambda API carries beyond code and settings (issue 11 §3–4).

-- Settable fields of a function's configuration; published versions keep $LATEST's copy.
-- NULL is AWS's default: LoggingConfig {LogFormat: Text, LogGroup: /aws/lambda/NAME}, 512 MB of /tmp,
-- tracing PassThrough.
ALTER TABLE versions ADD COLUMN logging_config TEXT;  -- JSON object of LoggingConfig as set
ALTER TABLE versions ADD COLUMN ephemeral_storage_size INTEGER CHECK (ephemeral_storage_size IS NULL OR ephemeral_storage_size BETWEEN 512 AND 10240);
ALTER TABLE versions ADD COLUMN tracing_mode TEXT CHECK (tracing_mode IS NULL OR tracing_mode IN ('Active', 'PassThrough'));

-- A function between an API change and its settling (AWS's Pending state after CreateFunction,
-- LastUpdateStatus InProgress after an update). The row goes when the change settles; $LATEST's
-- RevisionId changes then, as on AWS.
CREATE TABLE function_transitions (
    function_name TEXT PRIMARY KEY NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    kind          TEXT NOT NULL CHECK (kind IN ('create', 'update')),
    settles_at    REAL NOT NULL  -- seconds since 1970
) WITHOUT ROWID;

-- Resource-based policies (AddPermission): one document per function, version or alias.
-- qualifier '' is the unqualified function.
CREATE TABLE function_policies (
    function_name TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    qualifier     TEXT NOT NULL,
    statements    TEXT NOT NULL,  -- JSON array of statements, in the order they were added
    revision_id   TEXT NOT NULL,
    PRIMARY KEY (function_name, qualifier)
) WITHOUT ROWID;

-- AddLayerVersionPermission: one document per layer version.
CREATE TABLE layer_version_policies (
    layer_name    TEXT NOT NULL,
    layer_version INTEGER NOT NULL,
    statements    TEXT NOT NULL,
    revision_id   TEXT NOT NULL,
    PRIMARY KEY (layer_name, layer_version),
    FOREIGN KEY (layer_name, layer_version) REFERENCES layer_versions(layer_name, version) ON DELETE CASCADE
) WITHOUT ROWID;

-- A deleted layer version (hidden while functions still use it) has no policy.
CREATE TRIGGER layer_version_policy_goes_with_the_version
AFTER UPDATE OF deleted ON layer_versions WHEN NEW.deleted = 1
BEGIN
    DELETE FROM layer_version_policies WHERE layer_name = NEW.layer_name AND layer_version = NEW.version;
END;

-- TagResource: tags live on the function (not on versions or aliases).
CREATE TABLE function_tags (
    function_name TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    key           TEXT NOT NULL,
    value         TEXT NOT NULL,
    PRIMARY KEY (function_name, key)
) WITHOUT ROWID;

-- PutProvisionedConcurrencyConfig on a version or an alias: recorded, reported READY.
CREATE TABLE provisioned_concurrency (
    function_name TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    qualifier     TEXT NOT NULL,
    requested     INTEGER NOT NULL CHECK (requested >= 1),
    last_modified TEXT NOT NULL,
    PRIMARY KEY (function_name, qualifier)
) WITHOUT ROWID;

-- A version's or alias's policy, provisioned concurrency and the like go with it.
CREATE TRIGGER version_extras_go_with_the_version
AFTER DELETE ON versions WHEN OLD.version > 0
BEGIN
    DELETE FROM function_policies WHERE function_name = OLD.function_name AND qualifier = CAST(OLD.version AS TEXT);
    DELETE FROM provisioned_concurrency WHERE function_name = OLD.function_name AND qualifier = CAST(OLD.version AS TEXT);
END;

CREATE TRIGGER alias_extras_go_with_the_alias
AFTER DELETE ON aliases
BEGIN
    DELETE FROM function_policies WHERE function_name = OLD.function_name AND qualifier = OLD.name;
    DELETE FROM provisioned_concurrency WHERE function_name = OLD.function_name AND qualifier = OLD.name;
END;
