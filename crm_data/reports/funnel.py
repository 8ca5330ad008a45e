"""The funnel of a cohort, its drill-down to threads, and the weighted pipeline."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pandas as pd

from crm_data import cache, clock
from crm_data.db import Database
from crm_data.dictionaries import name_sql
from crm_data.reports.common import (
    DRILL_KINDS,
    DRILL_LIMIT,
    THREAD_VALUE_SQL,
    ReportFilter,
    amount_type_of,
    read_frame,
    read_page,
    scratch,
    thread_conditions,
)
from crm_data.reports.history import build_cohort, build_values


@dataclass(frozen=True)
class Funnel:
    """The funnel of a cohort.

    `stages`: one row per stage of each pipeline shown (path stages in order, then lost ones):
    pipeline_id, pipeline, stage_id, stage, step (None for lost stages), percent, is_won, is_lost,
    reached, reached_value, conversion (to the next path stage), at_now, at_now_value, avg_days.
    `outcomes`: per pipeline: threads, open, won, lost, closed, win_rate, won_value, value.
    `lost_reasons`: lost_reason_id, lost_reason, threads, value (most frequent first).
    """

    stages: pd.DataFrame
    outcomes: pd.DataFrame
    lost_reasons: pd.DataFrame
    threads: int
    won: int
    lost: int
    win_rate: float | None
    amount_type_id: int

    def busiest_pipeline(self) -> int:
        """The pipeline with the most threads in the cohort (the meeting's funnel when no pipeline
        is chosen)."""
        return int(self.outcomes.sort_values("threads").iloc[-1]["pipeline_id"])


@cache.shared(blind_to_appends=("events",))
def funnel(db: Database, f: ReportFilter, *, now: dt.datetime | None = None) -> Funnel:
    now = now or clock.now()
    amount_type_id = amount_type_of(db, f)
    with scratch(db) as tx:
        build_cohort(tx, db, f, amount_type_id)
        stages = read_frame(
            tx,
            f"""
            WITH deepest AS (
                SELECT d.pipeline_id, d.depth, count(*) AS n, sum(coalesce(v.value, 0)) AS value
                FROM r_depth d LEFT JOIN r_value v ON v.thread_id = d.id
                GROUP BY d.pipeline_id, d.depth
            ),
            reached AS (  -- a thread reached every step up to its depth: add up the few depth groups
                SELECT p.stage_id, CAST(sum(g.n) AS BIGINT) AS n, sum(g.value) AS value
                FROM deepest g JOIN r_path p ON p.pipeline_id = g.pipeline_id AND p.step <= g.depth
                GROUP BY p.stage_id
            ),
            at_now AS (
                SELECT c.stage_id, count(*) AS n, sum(coalesce(v.value, 0)) AS value
                FROM r_cohort c LEFT JOIN r_value v ON v.thread_id = c.id GROUP BY c.stage_id
            ),
            stays AS (
                SELECT en.thread_id, en.stage_id,
                       sum(greatest(epoch(coalesce(en.left_at, c.closed_at, $now)) - epoch(en.entered_at), 0)) AS seconds
                FROM r_entries en JOIN r_cohort c ON c.id = en.thread_id
                JOIN r_path p ON p.stage_id = en.stage_id AND NOT p.is_won AND NOT p.is_lost
                GROUP BY en.thread_id, en.stage_id
            ),
            days AS (SELECT stage_id, CAST(avg(seconds) AS DOUBLE PRECISION) / 86400 AS avg_days FROM stays GROUP BY stage_id),
            shown AS (SELECT DISTINCT pipeline_id FROM r_cohort UNION SELECT $pipeline_id WHERE $pipeline_id IS NOT NULL)
            SELECT p.pipeline_id, {name_sql("pl", f.lang)} AS pipeline, p.stage_id, {name_sql("sn", f.lang)} AS stage,
                   p.step, p.percent,
                   p.is_won, p.is_lost,
                   CASE WHEN p.step IS NULL THEN NULL ELSE coalesce(r.n, 0) END AS reached,
                   CASE WHEN p.step IS NULL THEN NULL ELSE coalesce(r.value, 0)::DECIMAL(38, 2) END AS reached_value,
                   CASE WHEN p.step IS NOT NULL AND NOT p.is_won THEN
                       CAST(coalesce(lead(r.n) OVER (PARTITION BY p.pipeline_id, p.step IS NULL ORDER BY p.step), 0)
                            AS DOUBLE PRECISION) / nullif(r.n, 0) END AS conversion,
                   coalesce(a.n, 0) AS at_now, coalesce(a.value, 0)::DECIMAL(38, 2) AS at_now_value,
                   d.avg_days
            FROM r_path p
            JOIN pipelines pl ON pl.id = p.pipeline_id
            JOIN stages sn ON sn.id = p.stage_id
            LEFT JOIN reached r ON r.stage_id = p.stage_id
            LEFT JOIN at_now a ON a.stage_id = p.stage_id
            LEFT JOIN days d ON d.stage_id = p.stage_id
            WHERE p.pipeline_id IN (SELECT pipeline_id FROM shown)
              AND (p.active OR coalesce(r.n, 0) > 0 OR coalesce(a.n, 0) > 0)
            ORDER BY pl.sequence, pl.name, p.pipeline_id, p.step IS NULL, p.step, p.sequence, p.stage_id
            """,
            {"now": now, "pipeline_id": f.pipeline_id},
        )
        outcomes = read_frame(
            tx,
            f"""
            SELECT c.pipeline_id, {name_sql("pl", f.lang)} AS pipeline, count(*) AS threads,
                   count(*) FILTER (WHERE c.status = 'open') AS open,
                   count(*) FILTER (WHERE c.status = 'won') AS won,
                   count(*) FILTER (WHERE c.status = 'lost') AS lost,
                   count(*) FILTER (WHERE c.status = 'closed') AS closed,
                   CAST(count(*) FILTER (WHERE c.status = 'won') AS DOUBLE PRECISION)
                       / nullif(count(*) FILTER (WHERE c.status IN ('won', 'lost')), 0) AS win_rate,
                   coalesce(sum(v.value) FILTER (WHERE c.status = 'won'), 0)::DECIMAL(38, 2) AS won_value,
                   coalesce(sum(v.value), 0)::DECIMAL(38, 2) AS value
            FROM r_cohort c JOIN pipelines pl ON pl.id = c.pipeline_id
            LEFT JOIN r_value v ON v.thread_id = c.id
            GROUP BY c.pipeline_id, pl.name, pl.name_en, pl.name_pl, pl.sequence
            ORDER BY pl.sequence, pl.name, c.pipeline_id
            """,
        )
        lost_reasons = read_frame(
            tx,
            f"""
            SELECT c.lost_reason_id, coalesce({name_sql("r", f.lang)}, '') AS lost_reason, count(*) AS threads,
                   coalesce(sum(v.value), 0)::DECIMAL(38, 2) AS value
            FROM r_cohort c LEFT JOIN lost_reasons r ON r.id = c.lost_reason_id
            LEFT JOIN r_value v ON v.thread_id = c.id
            WHERE c.status = 'lost'
            GROUP BY c.lost_reason_id, r.name, r.name_en, r.name_pl, r.sequence
            ORDER BY threads DESC, r.sequence, lost_reason
            """,
        )
    won, lost = int(outcomes["won"].sum()), int(outcomes["lost"].sum())
    return Funnel(
        stages=stages,
        outcomes=outcomes,
        lost_reasons=lost_reasons,
        threads=int(outcomes["threads"].sum()),
        won=won,
        lost=lost,
        win_rate=won / (won + lost) if won + lost else None,
        amount_type_id=amount_type_id,
    )


@dataclass(frozen=True)
class Drill:
    """Which threads are behind a bar or a row: `kind` is one of DRILL_KINDS.

    cohort: every cohort thread; reached: cohort threads that reached `stage_id`; at: cohort
    threads now at `stage_id`; won / lost: cohort threads with that outcome (in `pipeline_id`
    when given); lost_reason: lost cohort threads with `lost_reason_id`; open_owner: threads
    open now owned by `owner_id` (the weighted pipeline, period not applied)."""

    kind: str
    stage_id: int | None = None
    pipeline_id: int | None = None
    lost_reason_id: int | None = None
    owner_id: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in DRILL_KINDS:
            raise ValueError(self.kind)


_THREAD_LIST = """
SELECT t.id, t.title, c.name AS client, u.display_name AS owner, {pipeline} AS pipeline, {stage} AS stage,
       s.percent, t.status, coalesce(v.value, 0)::DECIMAL(38, 2) AS value, t.opened_at, t.closed_at,
       count(*) OVER () AS total
FROM threads t
JOIN clients c ON c.id = t.client_id JOIN users u ON u.id = t.owner_id
JOIN pipelines pl ON pl.id = t.pipeline_id JOIN stages s ON s.id = t.stage_id
LEFT JOIN r_value v ON v.thread_id = t.id
WHERE t.id IN (SELECT id FROM r_chosen)
ORDER BY value DESC, t.opened_at DESC, t.id DESC
LIMIT $limit
"""


def thread_list_sql(lang: str | None) -> str:
    """_THREAD_LIST with the pipeline and stage named in `lang`."""
    return _THREAD_LIST.format(pipeline=name_sql("pl", lang), stage=name_sql("s", lang))


@cache.shared(blind_to_appends=("events",))
def drill_threads(
    db: Database, f: ReportFilter, drill: Drill, *, limit: int | None = DRILL_LIMIT
) -> tuple[pd.DataFrame, int]:
    """The threads behind a funnel bar or row (most valuable first, at most `limit`; None: all, for an export) and how
    many there are: id, title, client, owner, pipeline, stage, percent, status, value,
    opened_at, closed_at."""
    amount_type_id = amount_type_of(db, f)
    with scratch(db) as tx:
        if drill.kind == "open_owner":
            where, params = thread_conditions(f)
            tx.execute(
                f"CREATE TEMP TABLE r_chosen AS SELECT t.id FROM threads t"
                f" WHERE t.status = 'open' AND t.owner_id = $drill_owner AND {where}",
                {**params, "drill_owner": drill.owner_id},
            )
            build_values(tx, "r_chosen", amount_type_id)
        else:
            build_cohort(tx, db, f, amount_type_id)
            condition = {
                "cohort": "TRUE",
                "reached": "d.depth >= (SELECT step FROM r_path WHERE stage_id = $stage_id)"
                " AND c.pipeline_id = (SELECT pipeline_id FROM r_path WHERE stage_id = $stage_id)",
                "at": "c.stage_id = $stage_id",
                "won": "c.status = 'won'",
                "lost": "c.status = 'lost'",
                "lost_reason": "c.status = 'lost' AND c.lost_reason_id IS NOT DISTINCT FROM $lost_reason_id",
            }[drill.kind]
            if drill.pipeline_id is not None:
                condition += " AND c.pipeline_id = $drill_pipeline"
            tx.execute(
                f"CREATE TEMP TABLE r_chosen AS SELECT c.id FROM r_cohort c JOIN r_depth d ON d.id = c.id WHERE {condition}",
                {
                    "stage_id": drill.stage_id,
                    "lost_reason_id": drill.lost_reason_id,
                    "drill_pipeline": drill.pipeline_id,
                },
            )
        return read_page(tx, thread_list_sql(f.lang), {"limit": limit})


@dataclass(frozen=True)
class Weighted:
    """The open pipeline now: per owner threads, value and weighted value, and the totals."""

    owners: pd.DataFrame  # owner_id, owner, threads, value, weighted
    threads: int
    value: Decimal
    weighted: Decimal
    amount_type_id: int


@cache.shared(blind_to_appends=("events",))
def weighted_pipeline(db: Database, f: ReportFilter) -> Weighted:
    """Open threads matching the filters (not the period): value × stage percent / 100. One
    statement: the per-owner rows and the total (its grouping set `()`) from one scan."""
    amount_type_id = amount_type_of(db, f)
    where, params = thread_conditions(f)
    with db.read() as tx:
        rows = read_frame(
            tx,
            f"""
            WITH chosen AS (SELECT t.id, t.owner_id, t.stage_id FROM threads t WHERE t.status = 'open' AND {where}),
            val AS ({THREAD_VALUE_SQL.format(threads="chosen")})
            SELECT c.owner_id, u.display_name AS owner, count(*) AS threads,
                   coalesce(sum(v.value), 0)::DECIMAL(38, 2) AS value,
                   round(coalesce(sum(v.value * s.percent * 0.01), 0), 2)::DECIMAL(38, 2) AS weighted,
                   grouping(c.owner_id) = 1 AS is_total
            FROM chosen c JOIN stages s ON s.id = c.stage_id JOIN users u ON u.id = c.owner_id
            LEFT JOIN val v ON v.thread_id = c.id
            GROUP BY GROUPING SETS ((c.owner_id, u.display_name), ())
            ORDER BY is_total, weighted DESC, owner, c.owner_id
            """,
            {**params, "amount_type": amount_type_id},
        )
    total = rows[rows["is_total"]].iloc[0]
    owners = rows[~rows["is_total"]].drop(columns="is_total").reset_index(drop=True)
    owners["owner_id"] = owners["owner_id"].astype("int64")
    return Weighted(owners, int(total["threads"]), total["value"], total["weighted"], amount_type_id)
