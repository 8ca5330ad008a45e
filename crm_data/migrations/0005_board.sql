-- The pipeline board: a per-stage "rotting" limit and the event type a board move is logged as.
--
-- stages.rot_days: a thread in this stage is rotting when nothing happened in it for more than
-- this many days (NULL: no limit, the default). DuckDB cannot add a column with a CHECK, so the
-- admin service checks the range (1..3650).
ALTER TABLE stages ADD COLUMN rot_days INTEGER;

-- The event type logged when a card is dragged to another stage (JSON null: the service picks
-- the shortest non-meeting type, "Note" in the starter set, until an admin chooses one).
INSERT INTO settings (key, value) VALUES ('stage_change_type_id', 'null') ON CONFLICT DO NOTHING;
