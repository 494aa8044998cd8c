-- The training blob is already compact (delta-varint timestamps) and its
-- values are floats that pglz barely shrinks: compressing 16 MB on every
-- large fit cost more than it saved. Store it out of line, uncompressed.
ALTER TABLE training_data ALTER COLUMN points SET STORAGE EXTERNAL;
