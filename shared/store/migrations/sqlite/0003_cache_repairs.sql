-- A transactional outbox for the shared cache: a fit writes its series
-- here in the transaction that stores the version, and removes it once
-- Redis holds the version and every replica was told. A row that stays
-- (Redis down, or the process died in between) is repaired by train's
-- background task and by each infer replica when its subscription returns.
CREATE TABLE cache_repairs (
    series_id TEXT PRIMARY KEY,
    version   INTEGER NOT NULL,
    since_ms  INTEGER NOT NULL
);
