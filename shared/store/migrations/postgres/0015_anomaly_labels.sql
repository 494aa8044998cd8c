-- What people say about an anomaly (PUT /anomalies/{id}/label): the label
-- (true_positive or false_positive), an optional note and when it was set,
-- on the anomaly's own row. NULL: not labelled.
ALTER TABLE anomalies ADD COLUMN label TEXT;
ALTER TABLE anomalies ADD COLUMN label_note TEXT;
ALTER TABLE anomalies ADD COLUMN labelled_at_ms BIGINT;
ALTER TABLE predictions ADD COLUMN label TEXT;
ALTER TABLE predictions ADD COLUMN label_note TEXT;
ALTER TABLE predictions ADD COLUMN labelled_at_ms BIGINT;
