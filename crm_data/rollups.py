"""Rollups: narrow tables the reports read instead of the base tables, kept in the same
transaction as the writes that change them (never a separate job, never eventually).

- `thread_values` (migration 0011): each thread's value per amount type, the sum of that type
  over the thread's done events. Amounts are written only with a done event (a logged event, or a
  planned one completed through the log form), and neither amounts nor done events are changed or
  deleted afterwards, so a save adds its amounts here (`add_thread_values`); bulk writers (the
  sample generator) rebuild (`rebuild_tx`).
- `thread_stage_entries` (migration 0013): each thread's stage history, one row per time it
  entered a stage and when it left it. A save that changes a thread's history (a stage change,
  closing, reopening, a new thread, a completed event that moves the stage, an import) writes the
  thread's rows again from its events in the same transaction (`refresh_stage_entries`): a stage
  change may be dated before others, so it can move where an earlier stay ends.
- `money_facts` and `product_lines` (migration 0014, `EVENT_ROLLUPS`): the Money and Products
  reports' facts, one row per done event and amount type and product (its amounts split among
  its products), and one per done event and product (its lines added up), with the event's local
  day (the organisation's zone) and its thread's owner, client and pipeline. A save with amounts
  or products adds its event's rows (`add_event_facts`); a save that changes what a thread's rows
  say (its owner, an import's updated events) writes the thread's rows again
  (`refresh_event_facts`); a new time zone moves every row to its new day (`rebuild_event_facts`).

`python -m crm_data.rollups rebuild [--db PATH]` recomputes every rollup from the base tables
and says whether anything differed; `check` only compares."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from crm_data import settings
from crm_data.db import Database, Tx

# a thread's value per amount type, computed from the base tables
THREAD_VALUES_SQL = """
SELECT e.thread_id, a.amount_type_id, CAST(sum(a.value) AS DECIMAL(38, 2)) AS value
FROM event_amounts a JOIN events e ON e.id = a.event_id
WHERE e.status = 'done'
GROUP BY e.thread_id, a.amount_type_id
"""


# the stage history of the threads that a query `{threads}` (id, stage_id, opened_at) selects
STAGE_ENTRIES_SQL = """
WITH chosen AS ({threads}),
recorded AS (
    SELECT e.thread_id, e.id AS event_id, e.stage_id, e.starts_at AS entered_at
    FROM events e
    WHERE e.stage_id IS NOT NULL AND e.status = 'done' AND e.thread_id IN (SELECT id FROM chosen)
),
earliest AS (SELECT thread_id, min(entered_at) AS first_at FROM recorded GROUP BY thread_id),
opening AS (
    -- no event records how the thread opened: with no stage events at all its current stage is
    -- its opening stage; otherwise it opened in its pipeline's first stage (NULL: read as the
    -- dictionary has it then)
    SELECT c.id AS thread_id, 0 AS event_id, CASE WHEN x.first_at IS NULL THEN c.stage_id END AS stage_id,
           c.opened_at AS entered_at
    FROM chosen c LEFT JOIN earliest x ON x.thread_id = c.id
    WHERE x.first_at IS NULL OR x.first_at > c.opened_at
),
history AS (SELECT * FROM recorded UNION ALL SELECT * FROM opening)
SELECT thread_id, event_id, stage_id, entered_at,
       lead(entered_at) OVER (PARTITION BY thread_id ORDER BY entered_at, event_id) AS left_at
FROM history
"""
_ALL_THREADS = "SELECT id, stage_id, opened_at FROM threads"

# The done events that `{events}` selects (a condition on `e`, an event, and `t`, its thread),
# with their local day in the zone `$tz` and what the reports filter on; `{children}` (in the
# queries below) selects their amounts or product lines by `x.event_id`, a faster form of "of
# those events" where the caller knows them.
_EVENTS_CTE = """
WITH ev AS (
    SELECT e.id, e.thread_id, CAST(e.starts_at AT TIME ZONE $tz AS DATE) AS day,
           t.owner_id, t.client_id, t.pipeline_id, e.type_id
    FROM events e JOIN threads t ON t.id = e.thread_id
    WHERE e.status = 'done' AND {events}
),
"""
# The money of those events, as the rows of `money_facts`. An event's amounts of one type are
# added up; with one product the sum is that product's; with several it is split in proportion
# to their line values (by line count when those are all 0) in whole cents: the floor of each
# share, plus a cent for the largest remainders until the parts add up to the sum. BIGINT
# arithmetic (ten times faster than HUGEINT here) unless the product of two cent values could
# overflow it. Events without products keep their sum under product 0 (the reports' NONE).
MONEY_FACTS_SQL = (
    _EVENTS_CTE
    + """amt AS (
    SELECT x.event_id, x.amount_type_id, CAST(sum(x.value) * 100 AS BIGINT) AS cents
    FROM event_amounts x WHERE {children}
    GROUP BY x.event_id, x.amount_type_id
),
lines AS (
    SELECT x.event_id, x.product_id, CAST(sum(x.value) * 100 AS BIGINT) AS cents, count(*) AS lines
    FROM event_products x WHERE {children} AND x.event_id IN (SELECT event_id FROM amt)
    GROUP BY x.event_id, x.product_id
),
line_totals AS (
    SELECT event_id, sum(cents) AS cents, sum(lines) AS lines, count(*) AS products FROM lines GROUP BY event_id
),
parts AS (
    SELECT m.event_id, m.amount_type_id, l.product_id, t.products, m.cents,
           CASE WHEN t.cents = 0 THEN l.lines ELSE l.cents END AS w,
           CASE WHEN t.cents = 0 THEN t.lines ELSE t.cents END AS w_total
    FROM amt m JOIN line_totals t ON t.event_id = m.event_id JOIN lines l ON l.event_id = m.event_id
),
split AS (
    SELECT event_id, amount_type_id, product_id, cents,
           CASE WHEN cents < 3000000000 AND w < 3000000000 THEN cents * w // w_total
                ELSE CAST(CAST(cents AS HUGEINT) * w // w_total AS BIGINT) END AS floor_cents,
           CASE WHEN cents < 3000000000 AND w < 3000000000 THEN cents * w % w_total
                ELSE CAST(CAST(cents AS HUGEINT) * w % w_total AS BIGINT) END AS remainder
    FROM parts WHERE products > 1
),
by_remainder AS (
    SELECT *, cents - sum(floor_cents) OVER (PARTITION BY event_id, amount_type_id) AS leftover,
           row_number() OVER (PARTITION BY event_id, amount_type_id ORDER BY remainder DESC, product_id) AS rn
    FROM split
),
alloc AS (
    SELECT event_id, amount_type_id, product_id, cents FROM parts WHERE products = 1
    UNION ALL
    SELECT event_id, amount_type_id, product_id, floor_cents + CASE WHEN rn <= leftover THEN 1 ELSE 0 END
    FROM by_remainder
    UNION ALL
    SELECT m.event_id, m.amount_type_id, 0, m.cents FROM amt m
    WHERE m.event_id NOT IN (SELECT event_id FROM line_totals)
)
SELECT ev.thread_id, ev.day, ev.owner_id, ev.client_id, ev.pipeline_id, ev.type_id, al.amount_type_id,
       al.product_id, al.cents
FROM alloc al JOIN ev ON ev.id = al.event_id
"""
)
# The product lines of those events, one row per event and product, as the rows of `product_lines`.
PRODUCT_LINES_SQL = (
    _EVENTS_CTE
    + """
lines AS (
    SELECT x.event_id, x.product_id, sum(x.quantity) AS quantity, sum(x.value) AS value
    FROM event_products x WHERE {children} GROUP BY x.event_id, x.product_id
)
SELECT ev.thread_id, ev.id AS event_id, ev.day, ev.owner_id, ev.client_id, ev.pipeline_id, l.product_id,
       l.quantity, l.value
FROM lines l JOIN ev ON ev.id = l.event_id
"""
)
_OF_EVENTS = "x.event_id IN (SELECT id FROM ev)"


@dataclass(frozen=True)
class EventRollup:
    """A rollup with rows derived from each done event alone (and its thread): written when the
    event is saved, again when its thread changes, all again for a new time zone."""

    table: str
    sql: str  # MONEY_FACTS_SQL or the like: the rows, from the base tables
    key: tuple[str, ...]  # what identifies a row (rows with the same key are added up)
    values: tuple[str, ...]

    @property
    def columns(self) -> str:
        return ", ".join((*self.key, *self.values))


MONEY = EventRollup(
    "money_facts",
    MONEY_FACTS_SQL,
    ("thread_id", "day", "owner_id", "client_id", "pipeline_id", "type_id", "amount_type_id", "product_id"),
    ("cents",),
)
LINES = EventRollup(
    "product_lines",
    PRODUCT_LINES_SQL,
    ("thread_id", "event_id", "day", "owner_id", "client_id", "pipeline_id", "product_id"),
    ("quantity", "value"),
)
EVENT_ROLLUPS = (MONEY, LINES)
_SOME_THREADS = "SELECT id, stage_id, opened_at FROM threads WHERE id IN (SELECT unnest($threads))"
_ENTRY_COLUMNS = "thread_id, event_id, stage_id, entered_at, left_at"


def refresh_stage_entries(tx: Tx, thread_ids: Iterable[int]) -> None:
    """Write the stage history of these threads again from their events (after a save that
    changed it), in the caller's transaction."""
    ids = sorted(set(thread_ids))
    if not ids:
        return
    tx.execute("DELETE FROM thread_stage_entries WHERE thread_id IN (SELECT unnest($threads))", {"threads": ids})
    tx.execute(
        f"INSERT INTO thread_stage_entries ({_ENTRY_COLUMNS}) {STAGE_ENTRIES_SQL.format(threads=_SOME_THREADS)}",
        {"threads": ids},
    )


def facts_zone(tx: Tx) -> str:
    """The time zone whose local days the event rollups are kept in: the organisation's."""
    return settings.load_tx(tx).time_zone


def add_event_facts(tx: Tx, event_id: int) -> None:
    """Add a done event's rows (a save that wrote its amounts and products)."""
    zone = facts_zone(tx)
    for rollup in EVENT_ROLLUPS:
        sql = rollup.sql.format(events="e.id = $event", children="x.event_id = $event")
        tx.execute(f"INSERT INTO {rollup.table} ({rollup.columns}) {sql}", {"event": event_id, "tz": zone})


def refresh_event_facts(tx: Tx, thread_ids: Iterable[int]) -> None:
    """Write these threads' rows again from the base tables (after a save that changed their
    owner or their events), in the caller's transaction."""
    ids = sorted(set(thread_ids))
    if not ids:
        return
    zone = facts_zone(tx)
    for rollup in EVENT_ROLLUPS:
        tx.execute(f"DELETE FROM {rollup.table} WHERE thread_id IN (SELECT unnest($threads))", {"threads": ids})
        sql = rollup.sql.format(events="e.thread_id IN (SELECT unnest($threads))", children=_OF_EVENTS)
        tx.execute(f"INSERT INTO {rollup.table} ({rollup.columns}) {sql}", {"threads": ids, "tz": zone})


# the done events of the local days [$lo, $hi): their times from the first day's local midnight
_OF_DAYS = (
    "e.starts_at >= CAST($lo AS TIMESTAMP) AT TIME ZONE $tz AND e.starts_at < CAST($hi AS TIMESTAMP) AT TIME ZONE $tz"
)


def _months(tx: Tx, zone: str) -> list[tuple[dt.date, dt.date]]:
    """The local days of every done event in steps of a calendar month, [first, next): the
    rebuild and the check work one month at a time, so that a large file (10M events: 20M rows
    of money) stays within the database's memory limit."""
    first, last = tx.one("SELECT min(starts_at), max(starts_at) FROM events WHERE status = 'done'") or (None, None)
    if first is None:
        return []
    local = ZoneInfo(zone)
    month = first.astimezone(local).date().replace(day=1)
    end = last.astimezone(local).date()
    months = []
    while month <= end:
        following = (month + dt.timedelta(days=32)).replace(day=1)
        months.append((month, following))
        month = following
    return months


def rebuild_event_facts(tx: Tx) -> None:
    """Recompute the rollups of `EVENT_ROLLUPS` from the base tables, a month at a time in day
    order (so that a report of a few months reads only the row groups of those months)."""
    zone = facts_zone(tx)
    months = _months(tx, zone)
    for rollup in EVENT_ROLLUPS:
        tx.execute(f"DELETE FROM {rollup.table}")
        sql = rollup.sql.format(events=_OF_DAYS, children=_OF_EVENTS)
        for lo, hi in months:
            tx.execute(
                f"INSERT INTO {rollup.table} ({rollup.columns}) SELECT * FROM ({sql}) AS f ORDER BY day",
                {"tz": zone, "lo": lo, "hi": hi},
            )


def add_thread_values(tx: Tx, thread_id: int, amounts: Iterable[tuple[int, Decimal]]) -> None:
    """Add a done event's amounts (amount type, value) to its thread's values."""
    sums: dict[int, Decimal] = defaultdict(Decimal)
    for amount_type_id, value in amounts:
        sums[amount_type_id] += value
    for amount_type_id, value in sums.items():
        tx.execute(
            "INSERT INTO thread_values (thread_id, amount_type_id, value) VALUES (?, ?, ?)"
            " ON CONFLICT (thread_id, amount_type_id) DO UPDATE SET value = thread_values.value + excluded.value",
            [thread_id, amount_type_id, value],
        )


def add_many(tx: Tx, rows: Iterable[tuple[int, int, Decimal]]) -> None:
    """Add (thread, amount type, value) rows at once (an import's events), one row per key."""
    sums: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    for thread_id, amount_type_id, value in rows:
        sums[(thread_id, amount_type_id)] += value
    if not sums:
        return
    tx.execute(
        "INSERT INTO thread_values (thread_id, amount_type_id, value)"
        " SELECT unnest($threads), unnest($types), CAST(unnest(CAST($values AS VARCHAR[])) AS DECIMAL(38, 2))"
        " ON CONFLICT (thread_id, amount_type_id) DO UPDATE SET value = thread_values.value + excluded.value",
        {"threads": [t for t, _ in sums], "types": [k for _, k in sums], "values": [str(v) for v in sums.values()]},
    )


def differences(tx: Tx) -> int:
    """How many rows of the rollups differ from the base tables: (thread, amount type) values
    and (thread, event) stage entries, missing, extra or different."""
    values = tx.scalar(
        f"""
        WITH base AS ({THREAD_VALUES_SQL})
        SELECT count(*) FROM base b FULL JOIN thread_values v
          ON v.thread_id = b.thread_id AND v.amount_type_id = b.amount_type_id
        WHERE b.value IS DISTINCT FROM v.value
        """
    )
    entries = tx.scalar(
        f"""
        WITH base AS ({STAGE_ENTRIES_SQL.format(threads=_ALL_THREADS)})
        SELECT count(*) FROM base b FULL JOIN thread_stage_entries x
          ON x.thread_id = b.thread_id AND x.event_id = b.event_id
        WHERE b.thread_id IS NULL OR x.thread_id IS NULL OR b.stage_id IS DISTINCT FROM x.stage_id
           OR b.entered_at IS DISTINCT FROM x.entered_at OR b.left_at IS DISTINCT FROM x.left_at
        """
    )
    return int(values) + int(entries) + sum(_event_facts_differences(tx, r) for r in EVENT_ROLLUPS)


def _event_facts_differences(tx: Tx, rollup: EventRollup) -> int:
    """Rows of an event rollup that differ from the base tables, added up per key, a month at a
    time; rows outside every month of the events count as different."""
    zone = facts_zone(tx)
    key = ", ".join(rollup.key)
    sums = ", ".join(f"sum({v}) AS {v}" for v in rollup.values)
    sql = f"""
        WITH base AS ({rollup.sql.format(events=_OF_DAYS, children=_OF_EVENTS)}),
        b AS (SELECT {key}, {sums} FROM base GROUP BY {key}),
        r AS (SELECT {key}, {sums} FROM {rollup.table} WHERE day >= $lo AND day < $hi GROUP BY {key})
        SELECT count(*) FROM b FULL JOIN r ON {" AND ".join(f"r.{k} = b.{k}" for k in rollup.key)}
        WHERE {" OR ".join(f"b.{v} IS DISTINCT FROM r.{v}" for v in rollup.values)}
        """
    months = _months(tx, zone)
    wrong = sum(int(tx.scalar(sql, {"tz": zone, "lo": lo, "hi": hi})) for lo, hi in months)
    first, after = (months[0][0], months[-1][1]) if months else (dt.date.max, dt.date.max)
    outside = tx.scalar(
        f"SELECT count(*) FROM {rollup.table} WHERE day < $first OR day >= $after", {"first": first, "after": after}
    )
    return wrong + int(outside)


def rebuild_tx(tx: Tx) -> None:
    """Recompute every rollup from the base tables."""
    tx.execute("DELETE FROM thread_values")
    tx.execute(f"INSERT INTO thread_values (thread_id, amount_type_id, value) {THREAD_VALUES_SQL}")
    tx.execute("DELETE FROM thread_stage_entries")
    tx.execute(f"INSERT INTO thread_stage_entries ({_ENTRY_COLUMNS}) {STAGE_ENTRIES_SQL.format(threads=_ALL_THREADS)}")
    rebuild_event_facts(tx)


def main(argv: list[str] | None = None) -> int:
    from crm_data.config import config_for, config_from_env

    parser = argparse.ArgumentParser(prog="python -m crm_data.rollups", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("rebuild", "check"))
    parser.add_argument("--db", help="database file (default: CRM_DB_PATH or data/crm.duckdb)")
    args = parser.parse_args(argv)
    db = Database.open(config_for(args.db) if args.db else config_from_env())
    try:
        with db.read() as tx:
            wrong = differences(tx)
        print(f"{wrong} rollup rows differed from the base tables")
        if args.action == "rebuild":
            db.write(rebuild_tx)
            print("rebuilt")
        return 0 if args.action == "rebuild" or wrong == 0 else 1
    finally:
        db.close()


if __name__ == "__main__":
    sys.exit(main())
