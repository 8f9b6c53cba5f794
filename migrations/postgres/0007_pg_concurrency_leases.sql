-- Reserved concurrency across servers (issue 10 §5): one row per invocation in flight of a function
-- that has reserved concurrency, on whichever server runs it. A server admits an invocation only if
-- fewer unexpired leases than the reservation exist (checked and inserted under a per-function lock),
-- and deletes its lease when the invocation ends. A lease expires after the function's timeout plus a
-- margin: an invocation never outlives its timeout, so a killed server's leases free themselves.
CREATE TABLE IF NOT EXISTS concurrency_leases (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    function_name TEXT NOT NULL,
    holder        TEXT NOT NULL,
    acquired_at   DOUBLE PRECISION NOT NULL,
    expires_at    DOUBLE PRECISION NOT NULL CHECK (expires_at >= acquired_at)
);
CREATE INDEX IF NOT EXISTS concurrency_leases_by_function ON concurrency_leases(function_name, expires_at);
