"""The one clock every "now" of the product comes from.

Services take `now` as an argument where a caller (a test, a benchmark) needs to fix the moment,
and fall back to `clock.now()`; pages ask `clock.now()` / `clock.today(zone)`; statements that
stamp a row (`updated_at`, `revoked_at`, ...) are given `clock.now()` as a parameter instead of
the database's own `now()`, so that a moved clock moves every stamp with it.

`CRM_TEST_TODAY=YYYY-MM-DD` moves the clock by whole days so that today is that date (the time
of day runs on). `CRM_TEST_NOW=<ISO time with offset>` sets the clock to that moment when it is
first read, and it runs on from there (a test server whose page depends on the time of day; and
the suite's second run in .ci/run, a year ahead and just after midnight in Warsaw, to prove that
no test builds its world at a fixed moment while the code reads the wall clock). `frozen(moment)` stops the clock for a block of
code (tests only)."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Iterator
from zoneinfo import ZoneInfo

ENV = "CRM_TEST_TODAY"
ENV_NOW = "CRM_TEST_NOW"


class _State:
    frozen: dt.datetime | None = None
    shift_for: tuple[str, dt.timedelta] = ("|", dt.timedelta(0))


def _shift() -> dt.timedelta:
    """From the wall clock to CRM_TEST_NOW, or to CRM_TEST_TODAY in whole days; fixed the first
    time it is asked (so a run that passes midnight keeps one shift)."""
    moment, day = os.environ.get(ENV_NOW, ""), os.environ.get(ENV, "")
    wanted = f"{moment}|{day}"
    if wanted != _State.shift_for[0]:
        wall = dt.datetime.now(dt.UTC)
        if moment:
            shift = dt.datetime.fromisoformat(moment) - wall
        else:
            shift = dt.timedelta(days=(dt.date.fromisoformat(day) - wall.date()).days if day else 0)
        _State.shift_for = (wanted, shift)
    return _State.shift_for[1]


def now() -> dt.datetime:
    """The current moment, aware, in UTC."""
    if _State.frozen is not None:
        return _State.frozen
    return dt.datetime.now(dt.UTC) + _shift()


def today(zone: ZoneInfo | dt.tzinfo) -> dt.date:
    """Today's date in a time zone (the organisation's, usually)."""
    return now().astimezone(zone).date()


@contextlib.contextmanager
def frozen(moment: dt.datetime) -> Iterator[dt.datetime]:
    """Stop the clock at `moment` (aware) inside the block."""
    if moment.tzinfo is None:
        raise ValueError("the frozen moment must be aware")
    before, _State.frozen = _State.frozen, moment.astimezone(dt.UTC)
    try:
        yield _State.frozen
    finally:
        _State.frozen = before
