-- relctl registry, schema 1: functions, immutable versions, aliases with routing, layers, usage, audit.
-- Released migrations are never edited; a change is a new file.
-- Version 0 of a function is $LATEST; published versions are 1, 2, 3… and never reused.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- One row: the counters quota reads, kept in the same transaction as every change that moves them.
CREATE TABLE usage (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    total_code_size INTEGER NOT NULL CHECK (total_code_size >= 0),  -- as AWS counts: $LATEST + versions + layer versions
    stored_bytes    INTEGER NOT NULL CHECK (stored_bytes >= 0)      -- blob files after dedupe
);
INSERT INTO usage (id, total_code_size, stored_bytes) VALUES (1, 0, 0);

-- Content-addressed code: blobs/sha256/<2 hex>/<64 hex>. A row exists only while something references it.
CREATE TABLE blobs (
    sha256        TEXT PRIMARY KEY NOT NULL CHECK (length(sha256) = 64),
    size          INTEGER NOT NULL CHECK (size >= 0),
    unzipped_size INTEGER NOT NULL CHECK (unzipped_size >= 0)
) WITHOUT ROWID;

CREATE TABLE functions (
    name                  TEXT PRIMARY KEY NOT NULL,
    created_at            TEXT NOT NULL,
    highest_version       INTEGER NOT NULL DEFAULT 0 CHECK (highest_version >= 0),  -- numbers are never reused
    changed_since_publish INTEGER NOT NULL DEFAULT 1 CHECK (changed_since_publish IN (0, 1))
) WITHOUT ROWID;

CREATE TABLE versions (
    function_name TEXT NOT NULL REFERENCES functions(name) ON DELETE RESTRICT,
    version       INTEGER NOT NULL CHECK (version >= 0),
    code_sha256   TEXT NOT NULL REFERENCES blobs(sha256) ON DELETE RESTRICT,
    code_size     INTEGER NOT NULL CHECK (code_size >= 0),
    unzipped_size INTEGER NOT NULL CHECK (unzipped_size >= 0),
    runtime       TEXT,
    handler       TEXT,
    role          TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    memory_size   INTEGER NOT NULL CHECK (memory_size BETWEEN 128 AND 10240),
    timeout       INTEGER NOT NULL CHECK (timeout BETWEEN 1 AND 900),
    environment   TEXT,  -- JSON object, NULL when unset
    architecture  TEXT NOT NULL DEFAULT 'x86_64' CHECK (architecture IN ('x86_64', 'arm64')),
    last_modified TEXT NOT NULL,
    revision_id   TEXT NOT NULL,
    PRIMARY KEY (function_name, version)
) WITHOUT ROWID;
CREATE INDEX versions_by_code ON versions(code_sha256);

CREATE TRIGGER published_versions_are_immutable
BEFORE UPDATE ON versions WHEN OLD.version > 0
BEGIN
    SELECT RAISE(ABORT, 'published versions are immutable');
END;

CREATE TABLE layers (
    name            TEXT PRIMARY KEY NOT NULL,
    highest_version INTEGER NOT NULL DEFAULT 0 CHECK (highest_version >= 0)
) WITHOUT ROWID;

CREATE TABLE layer_versions (
    layer_name               TEXT NOT NULL REFERENCES layers(name) ON DELETE RESTRICT,
    version                  INTEGER NOT NULL CHECK (version >= 1),
    code_sha256              TEXT NOT NULL REFERENCES blobs(sha256) ON DELETE RESTRICT,
    code_size                INTEGER NOT NULL CHECK (code_size >= 0),
    unzipped_size            INTEGER NOT NULL CHECK (unzipped_size >= 0),
    description              TEXT NOT NULL DEFAULT '',
    compatible_runtimes      TEXT NOT NULL DEFAULT '[]',
    compatible_architectures TEXT NOT NULL DEFAULT '[]',
    license_info             TEXT,
    created_date             TEXT NOT NULL,
    -- DeleteLayerVersion on a version that functions still use hides it; the row goes with its last user.
    deleted                  INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    PRIMARY KEY (layer_name, version)
) WITHOUT ROWID;
CREATE INDEX layer_versions_by_code ON layer_versions(code_sha256);

CREATE TRIGGER layer_versions_are_immutable
BEFORE UPDATE OF layer_name, version, code_sha256, code_size, unzipped_size, description,
                 compatible_runtimes, compatible_architectures, license_info, created_date ON layer_versions
BEGIN
    SELECT RAISE(ABORT, 'layer versions are immutable');
END;

CREATE TABLE version_layers (
    function_name TEXT NOT NULL,
    version       INTEGER NOT NULL,
    position      INTEGER NOT NULL CHECK (position BETWEEN 0 AND 4),
    layer_name    TEXT NOT NULL,
    layer_version INTEGER NOT NULL,
    PRIMARY KEY (function_name, version, position),
    FOREIGN KEY (function_name, version) REFERENCES versions(function_name, version) ON DELETE CASCADE,
    FOREIGN KEY (layer_name, layer_version) REFERENCES layer_versions(layer_name, version) ON DELETE RESTRICT
) WITHOUT ROWID;
CREATE INDEX version_layers_by_layer ON version_layers(layer_name, layer_version);

CREATE TABLE aliases (
    function_name      TEXT NOT NULL,
    name               TEXT NOT NULL,
    function_version   INTEGER NOT NULL,
    additional_version INTEGER,
    additional_weight  REAL CHECK (additional_weight BETWEEN 0.0 AND 1.0),
    description        TEXT NOT NULL DEFAULT '',
    revision_id        TEXT NOT NULL,
    PRIMARY KEY (function_name, name),
    FOREIGN KEY (function_name, function_version) REFERENCES versions(function_name, version) ON DELETE RESTRICT,
    FOREIGN KEY (function_name, additional_version) REFERENCES versions(function_name, version) ON DELETE RESTRICT,
    CHECK ((additional_version IS NULL) = (additional_weight IS NULL)),
    CHECK (additional_version IS NULL OR (function_version > 0 AND additional_version > 0 AND additional_version <> function_version))
) WITHOUT ROWID;
CREATE INDEX aliases_by_version ON aliases(function_name, function_version);
CREATE INDEX aliases_by_additional_version ON aliases(function_name, additional_version) WHERE additional_version IS NOT NULL;

-- Every move of every alias: what `relctl history F ALIAS` shows and what `relctl rollback` reads.
CREATE TABLE alias_moves (
    id                      INTEGER PRIMARY KEY AUTOINCREMENT,
    function_name           TEXT NOT NULL,
    alias_name              TEXT NOT NULL,
    at                      TEXT NOT NULL,
    actor                   TEXT NOT NULL,
    cause                   TEXT NOT NULL,
    from_version            INTEGER,
    from_additional_version INTEGER,
    from_additional_weight  REAL,
    to_version              INTEGER,
    to_additional_version   INTEGER,
    to_additional_weight    REAL
);
CREATE INDEX alias_moves_by_alias ON alias_moves(function_name, alias_name, id);

-- Every mutation: who, what, before, after (JSON), in the transaction that made it.
CREATE TABLE audit (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    at            TEXT NOT NULL,
    actor         TEXT NOT NULL,
    action        TEXT NOT NULL,
    function_name TEXT,
    resource      TEXT NOT NULL,
    before        TEXT,
    after         TEXT
);
CREATE INDEX audit_by_function ON audit(function_name, id);
