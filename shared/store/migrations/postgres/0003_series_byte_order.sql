-- List series in byte order, as SQLite does, so that `GET /models` pages
-- (keyset on series_id) come out the same on both backends and do not
-- depend on the database's locale.
ALTER TABLE series ALTER COLUMN series_id TYPE TEXT COLLATE "C";
