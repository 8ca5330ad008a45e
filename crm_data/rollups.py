"""Rollups: small tables the reports read instead of the base tables, kept in the same
transaction as the writes that change them (never a separate job, never eventually).

- `thread_values` (migration 0011): each thread's value per amount type, the sum of that type
  over the thread's done events. Amounts are written only with a done event (a logged event, or a
  planned one completed through the log form), and neither amounts nor done events are changed or
  deleted afterwards, so a save adds its amounts here (`add_thread_values`); bulk writers (the
  sample generator) rebuild (`rebuild_tx`).

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
    """How many (thread, amount type) rows of the rollup differ from the base tables."""
    return int(
        tx.scalar(
            f"""
            WITH base AS ({THREAD_VALUES_SQL})
            SELECT count(*) FROM base b FULL JOIN thread_values v
              ON v.thread_id = b.thread_id AND v.amount_type_id = b.amount_type_id
            WHERE b.value IS DISTINCT FROM v.value
            """
        )
    )


def rebuild_tx(tx: Tx) -> None:
    """Recompute every rollup from the base tables."""
    tx.execute("DELETE FROM thread_values")
    tx.execute(f"INSERT INTO thread_values (thread_id, amount_type_id, value) {THREAD_VALUES_SQL}")


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
