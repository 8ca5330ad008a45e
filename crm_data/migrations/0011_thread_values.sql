-- A rollup (issue 27): each thread's value per amount type, the sum of that type over the
-- thread's done events. Every report that values a thread (funnel, weighted pipeline, board,
-- forecast, drill-downs) reads these few rows instead of summing events and their amounts; a
-- save that writes amounts adds them here in the same transaction (crm_data.rollups), and
-- `python -m crm_data.rollups rebuild` recomputes them from the base tables.

CREATE TABLE thread_values (
    thread_id BIGINT NOT NULL REFERENCES threads (id),
    amount_type_id BIGINT NOT NULL REFERENCES amount_types (id),
    value DECIMAL(38, 2) NOT NULL,
    PRIMARY KEY (thread_id, amount_type_id)
);

INSERT INTO thread_values (thread_id, amount_type_id, value)
SELECT e.thread_id, a.amount_type_id, sum(a.value)
FROM event_amounts a JOIN events e ON e.id = a.event_id
WHERE e.status = 'done'
GROUP BY e.thread_id, a.amount_type_id;
