-- A model is a detector kind plus its parameters and learnt state (JSON of
-- anomaly_core::Model). Versions stored before kinds existed keep an empty
-- params and are read as 3-sigma from their columns. mean/std stay the
-- training summary every kind has; threshold/direction the model's k and side.
ALTER TABLE models ADD COLUMN kind TEXT NOT NULL DEFAULT 'three_sigma';
ALTER TABLE models ADD COLUMN params TEXT NOT NULL DEFAULT '';
