-- A manager's forecast (issue 24): a thread gets an expected close date and an expected value;
-- a pipeline a typical length (a new thread's expected close date is its opening day plus that
-- many days); a stage can be marked "commit" (threads at it or past it on the path count as
-- committed); every change of a thread's expected close date or value is kept, so slippage can be
-- measured; a sales target per person and month.
--
-- DuckDB refuses NOT NULL and CHECK on a column added to a table that others reference, so the
-- rules on typical_days (1..3650) and expected_value (>= 0) are checked by crm_data.forecast.

ALTER TABLE pipelines ADD COLUMN typical_days INTEGER DEFAULT 30;
ALTER TABLE stages ADD COLUMN is_commit BOOLEAN DEFAULT false;
ALTER TABLE threads ADD COLUMN expected_close DATE;
ALTER TABLE threads ADD COLUMN expected_value DECIMAL(18, 2);

-- the starter pipelines: a thread in negotiation (75 %) or further is committed
UPDATE stages SET is_commit = true
WHERE id IN (
    SELECT DISTINCT ON (pipeline_id) id FROM stages
    WHERE NOT is_won AND NOT is_lost AND percent >= 75
    ORDER BY pipeline_id, sequence, id
);

-- threads open before this migration close, by default, a typical length after they opened
UPDATE threads SET expected_close = CAST(opened_at AS DATE) + 30 WHERE status = 'open';

CREATE SEQUENCE forecast_changes_seq;
CREATE TABLE forecast_changes (
    id BIGINT PRIMARY KEY DEFAULT nextval('forecast_changes_seq'),
    thread_id BIGINT NOT NULL REFERENCES threads (id),
    changed_at TIMESTAMPTZ NOT NULL,
    changed_by BIGINT NOT NULL REFERENCES users (id),
    old_close DATE,
    new_close DATE,
    old_value DECIMAL(18, 2),
    new_value DECIMAL(18, 2)
);
CREATE INDEX forecast_changes_thread ON forecast_changes (thread_id);

CREATE TABLE sales_targets (
    owner_id BIGINT NOT NULL REFERENCES users (id),
    month DATE NOT NULL CHECK (EXTRACT(DAY FROM month) = 1),
    amount DECIMAL(18, 2) NOT NULL CHECK (amount >= 0),
    PRIMARY KEY (owner_id, month)
);
