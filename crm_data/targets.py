"""Sales targets: an amount per person and month, set by a manager or an admin; the forecast
compares what is won and expected with them."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pandas as pd

from crm_data import audit, cache, checks, dictionaries
from crm_data.checks import check_amount
from crm_data.db import Database, Tx
from crm_data.errors import PermissionDenied, ValidationError
from crm_data.identity import User


@cache.shared
def year_targets(db: Database, year: int) -> pd.DataFrame:
    """Every target of `year`: owner_id, month (the first day), amount."""
    checks.whole(year, "year", 2000, 2099)
    with db.read() as tx:
        return tx.df(
            "SELECT owner_id, month, amount FROM sales_targets WHERE month >= ? AND month < ? ORDER BY owner_id, month",
            [dt.date(year, 1, 1), dt.date(year + 1, 1, 1)],
        )


def month_columns(year: int) -> list[str]:
    """The month columns of a `year_grid`: "2026-01" … "2026-12"."""
    return [f"{year}-{m:02d}" for m in range(1, 13)]


def month_of(column: str) -> dt.date:
    """The first day of a `month_columns` column."""
    return dt.date(int(column[:4]), int(column[5:7]), 1)


def year_grid(db: Database, year: int) -> pd.DataFrame:
    """The targets of `year` for editing: one row per active person (owner_id, owner) and one
    column per month (`month_columns`), the amount or None."""
    people = dictionaries.lookups(db).active(dictionaries.lookups(db).people)
    table = year_targets(db, year)
    amounts = {
        (int(o), m if isinstance(m, dt.date) else pd.Timestamp(m).date()): a
        for o, m, a in zip(table["owner_id"], table["month"], table["amount"], strict=True)
    }
    rows = [
        {
            "owner_id": p.id,
            "owner": p.display_name,
            **{m: amounts.get((p.id, month_of(m))) for m in month_columns(year)},
        }
        for p in people
    ]
    return pd.DataFrame(rows, columns=["owner_id", "owner", *month_columns(year)])


def grid_changes(before: pd.DataFrame, after: pd.DataFrame) -> dict[int, dict[dt.date, Any]]:
    """The cells of a `year_grid` that an edit changed: {owner_id: {month: new amount or None}}."""
    changes: dict[int, dict[dt.date, Any]] = {}
    old = {int(r["owner_id"]): r for r in before.to_dict("records")}
    for row in after.to_dict("records"):
        owner_id = int(row["owner_id"])
        for column in (c for c in after.columns if c not in ("owner_id", "owner")):
            new, was = row[column], old.get(owner_id, {}).get(column)
            if _empty(new) and _empty(was):
                continue
            if _empty(new) or _empty(was) or Decimal(str(new)) != Decimal(str(was)):
                changes.setdefault(owner_id, {})[month_of(column)] = None if _empty(new) else new
    return changes


def _empty(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip()) or (isinstance(raw, float) and math.isnan(raw))


def set_targets(db: Database, actor: User, amounts: Mapping[int, Mapping[dt.date, Any]], *, lang: str = "en") -> int:
    """Set monthly targets: per person (owner id), each month (its first day) to an amount as
    typed in `lang`, or to none (None or empty text removes it). Managers and admins only; all
    or nothing in one transaction: one wrong amount refuses the whole set, naming its person and
    month (field `target.<owner id>.<YYYY-MM>`). Returns how many targets changed."""
    if not actor.sees_everything:
        raise PermissionDenied("permission.targets")
    people = dictionaries.lookups(db).people
    clean: dict[tuple[int, dt.date], Decimal | None] = {}
    problems = checks.Errors()
    for owner_id, months in amounts.items():
        checks.active(people, owner_id, "owner_id")
        for month, raw in months.items():
            if not isinstance(month, dt.date) or month.day != 1 or not 2000 <= month.year <= 2099:
                raise ValidationError.single("month", "validation.not_a_date")
            if _empty(raw):  # None, empty text or an emptied cell of a table (NaN)
                clean[(owner_id, month)] = None
                continue
            with problems.gather():
                clean[(owner_id, month)] = check_amount(raw, f"target.{owner_id}.{month:%Y-%m}", lang)
    problems.raise_any()

    def work(tx: Tx) -> int:
        changed = 0
        for (owner_id, month), amount in clean.items():
            old = tx.scalar("SELECT amount FROM sales_targets WHERE owner_id = ? AND month = ?", [owner_id, month])
            if old == amount:
                continue
            if amount is None:
                tx.execute("DELETE FROM sales_targets WHERE owner_id = ? AND month = ?", [owner_id, month])
            else:
                tx.execute(
                    "INSERT INTO sales_targets (owner_id, month, amount) VALUES (?, ?, ?)"
                    " ON CONFLICT (owner_id, month) DO UPDATE SET amount = excluded.amount",
                    [owner_id, month, amount],
                )
            audit.record(tx, actor.id, "user", owner_id, "target", {f"target {month:%Y-%m}": [old, amount]})
            changed += 1
        return changed

    return db.write(work)
