"""Stage history of a cohort: its threads, their value, the stage path, when each entered each stage
and how deep it got (temporary tables r_* of one read snapshot)."""

from __future__ import annotations

from crm_data.db import Database, Tx
from crm_data.reports.common import THREAD_VALUE_SQL, ReportFilter, thread_conditions
from crm_data.reports.periods import local_window

# -- funnel --------------------------------------------------------------------------------------------------
PATH_SQL = """
CREATE TEMP TABLE r_path AS
SELECT s.id AS stage_id, s.pipeline_id, s.sequence, s.name, s.percent, s.is_won, s.is_lost, s.active,
       CASE WHEN s.is_lost THEN NULL
            WHEN s.is_won THEN count(*) FILTER (WHERE NOT s.is_won AND NOT s.is_lost)
                                   OVER (PARTITION BY s.pipeline_id) + 1
            ELSE row_number() OVER (PARTITION BY s.pipeline_id, s.is_won OR s.is_lost ORDER BY s.sequence, s.id)
       END AS step
FROM stages s
"""

# from the rollup `thread_stage_entries` (crm_data/rollups.py), kept with every save that changes
# a thread's stage history; an opening it stores as NULL is its pipeline's first open stage now
ENTRIES_SQL = """
CREATE TEMP TABLE r_entries AS
WITH first_stage AS (
    SELECT pipeline_id, first(stage_id ORDER BY sequence, stage_id) AS stage_id
    FROM r_path WHERE active AND NOT is_won AND NOT is_lost GROUP BY pipeline_id
)
SELECT x.thread_id, coalesce(x.stage_id, fs.stage_id) AS stage_id, x.entered_at, x.left_at
FROM r_cohort c JOIN thread_stage_entries x ON x.thread_id = c.id
LEFT JOIN first_stage fs ON fs.pipeline_id = c.pipeline_id
WHERE coalesce(x.stage_id, fs.stage_id) IS NOT NULL
"""

_DEPTH_SQL = """
CREATE TEMP TABLE r_depth AS
SELECT c.id, c.pipeline_id,
       greatest(1, coalesce(max(p.step), 1), coalesce(any_value(cur.step), 1)) AS depth
FROM r_cohort c
LEFT JOIN r_entries en ON en.thread_id = c.id
LEFT JOIN r_path p ON p.stage_id = en.stage_id AND p.pipeline_id = c.pipeline_id
LEFT JOIN r_path cur ON cur.stage_id = c.stage_id
GROUP BY c.id, c.pipeline_id
"""


def build_cohort(tx: Tx, db: Database, f: ReportFilter, amount_type_id: int) -> None:
    """Temporary tables of the cohort: r_cohort (threads, with value), r_path, r_entries, r_depth."""
    where, params = thread_conditions(f)
    window = local_window(db, f.start, f.end)
    tx.execute(PATH_SQL)
    tx.execute(
        f"""
        CREATE TEMP TABLE r_cohort AS
        SELECT t.id, t.pipeline_id, t.stage_id, t.status, t.lost_reason_id, t.owner_id, t.client_id,
               t.opened_at, t.closed_at, t.title
        FROM threads t
        WHERE t.opened_at >= $from AND t.opened_at < $to AND {where}
        """,
        {**params, **window},
    )
    build_values(tx, "r_cohort", amount_type_id)
    tx.execute(ENTRIES_SQL)
    tx.execute(_DEPTH_SQL)


def build_values(tx: Tx, threads_table: str, amount_type_id: int) -> None:
    """r_value: each thread's value (amount type summed over its done events)."""
    tx.execute(
        f"CREATE TEMP TABLE r_value AS {THREAD_VALUE_SQL.format(threads=threads_table)}",
        {"amount_type": amount_type_id},
    )
