-- relctl registry, schema 3: reserved concurrency per function (PutFunctionConcurrency).
-- NULL: unreserved (the function shares the account's pool); 0 stops every invocation.
ALTER TABLE functions ADD COLUMN reserved_concurrency INTEGER CHECK (reserved_concurrency IS NULL OR reserved_concurrency >= 0);
