-- Series removed by DELETE /models/{series_id}: the last version each had,
-- so a series fitted again continues after it and a version number never
-- names two different models (a replica or cache that missed the delete
-- can then never mistake an old model for a new one).
CREATE TABLE deleted_series (
    series_id    TEXT PRIMARY KEY,
    last_version INTEGER NOT NULL
);
-- A delete owes the shared cache and the replicas the removal of every
-- version up to deleted_through; cleared once they were told.
ALTER TABLE cache_repairs ADD COLUMN deleted_through INTEGER;
