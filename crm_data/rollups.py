"""Rollups: small tables the reports read instead of the base tables, kept in the same
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

`python -m crm_data.rollups rebuild [--db PATH]` recomputes every rollup from the base tables
and says whether anything differed; `check` only compares."""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

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
    return int(values) + int(entries)


def rebuild_tx(tx: Tx) -> None:
    """Recompute every rollup from the base tables."""
    tx.execute("DELETE FROM thread_values")
    tx.execute(f"INSERT INTO thread_values (thread_id, amount_type_id, value) {THREAD_VALUES_SQL}")
    tx.execute("DELETE FROM thread_stage_entries")
    tx.execute(f"INSERT INTO thread_stage_entries ({_ENTRY_COLUMNS}) {STAGE_ENTRIES_SQL.format(threads=_ALL_THREADS)}")


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
