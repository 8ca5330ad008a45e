-- A rollup (issue 27): each thread's stage history, one row per time it entered a stage, with
-- when it left it (the next entry; NULL while it is there). The funnel (stages reached, days in
-- stage, depth) and the thread's stage timeline read these few rows per thread instead of
-- scanning every event for stage changes; a save that changes a thread's history writes its rows
-- again in the same transaction (crm_data.rollups), and `python -m crm_data.rollups rebuild`
-- recomputes them from the base tables.
--
-- event_id is the done event that moved the thread to the stage, or 0 for how the thread opened
-- when no event records it: then stage_id is its current stage when it has no stage events at
-- all, or NULL, meaning its pipeline's first open stage as the dictionary has it when read.

CREATE TABLE thread_stage_entries (
    thread_id BIGINT NOT NULL REFERENCES threads (id),
    event_id BIGINT NOT NULL,
    stage_id BIGINT,
    entered_at TIMESTAMPTZ NOT NULL,
    left_at TIMESTAMPTZ,
    PRIMARY KEY (thread_id, event_id)
);

INSERT INTO thread_stage_entries (thread_id, event_id, stage_id, entered_at, left_at)
WITH recorded AS (
    SELECT e.thread_id, e.id AS event_id, e.stage_id, e.starts_at AS entered_at
    FROM events e
    WHERE e.stage_id IS NOT NULL AND e.status = 'done'
),
earliest AS (SELECT thread_id, min(entered_at) AS first_at FROM recorded GROUP BY thread_id),
opening AS (
    SELECT t.id AS thread_id, 0 AS event_id, CASE WHEN x.first_at IS NULL THEN t.stage_id END AS stage_id,
           t.opened_at AS entered_at
    FROM threads t LEFT JOIN earliest x ON x.thread_id = t.id
    WHERE x.first_at IS NULL OR x.first_at > t.opened_at
),
history AS (SELECT * FROM recorded UNION ALL SELECT * FROM opening)
SELECT thread_id, event_id, stage_id, entered_at,
       lead(entered_at) OVER (PARTITION BY thread_id ORDER BY entered_at, event_id) AS left_at
FROM history;
