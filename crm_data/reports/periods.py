"""Periods: local midnights in the organisation's time zone, buckets (week, month, quarter, year)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from crm_data import settings as org_settings
from crm_data.db import Database
from crm_data.errors import ValidationError

GRANULARITIES = ("week", "month", "quarter", "year")
MAX_BUCKETS = 1300  # a century of months; weeks for 25 years


# -- shared pieces -------------------------------------------------------------------------------------------
def org_zone(db: Database) -> ZoneInfo:
    return ZoneInfo(org_settings.cached(db).time_zone)


def local_midnight(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    """The start of a local day as a UTC instant."""
    return dt.datetime.combine(day, dt.time(0), zone).astimezone(dt.UTC)


def local_days(start: dt.date, end: dt.date, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """The days `start`..`end` (local, both included) as moments: from the local midnight that
    begins `start` to the one that ends `end` (a day of a clock change has 23 or 25 hours)."""
    return local_midnight(start, zone), local_midnight(end + dt.timedelta(days=1), zone)


def local_window(db: Database, start: dt.date, end: dt.date) -> dict[str, Any]:
    zone = org_zone(db)
    begin, stop = local_days(start, end, zone)
    return {"tz": zone.key, "from": begin, "to": stop}


def bucket_start(day: dt.date, granularity: str) -> dt.date:
    """The first day of the week (Monday), month, quarter or year that contains `day`."""
    if granularity == "week":
        return day - dt.timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    if granularity == "quarter":
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    if granularity == "year":
        return day.replace(month=1, day=1)
    raise ValueError(granularity)


def day_bucket_sql(column: str, granularity: str) -> str:
    """SQL of the first day of the bucket that the DATE `column` falls in (`granularity`
    allow-listed in GRANULARITIES, as `ReportFilter` checks)."""
    if granularity not in GRANULARITIES:
        raise ValueError(granularity)
    return f"CAST(date_trunc('{granularity}', CAST({column} AS TIMESTAMP)) AS DATE)"


def next_bucket(day: dt.date, granularity: str) -> dt.date:
    """The first day of the bucket after the one starting on `day`."""
    if granularity == "week":
        return day + dt.timedelta(days=7)
    months = {"month": 1, "quarter": 3, "year": 12}[granularity]
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def previous_bucket(day: dt.date, granularity: str) -> dt.date:
    return bucket_start(day - dt.timedelta(days=1), granularity)


def granularity_for(start: dt.date, end: dt.date) -> str:
    """The bucket a chart of `start`..`end` reads best in: weeks up to about two months, months
    up to two years, then quarters."""
    days = (end - start).days + 1
    return "week" if days <= 62 else "month" if days <= 731 else "quarter"


def twelve_months_to(day: dt.date) -> dt.date:
    """The first day of the twelve whole months ending with `day`'s month (the default range of
    the money and products pages)."""
    first = bucket_start(day, "month")
    for _ in range(11):
        first = previous_bucket(first, "month")
    return first


def buckets(start: dt.date, end: dt.date, granularity: str) -> list[dt.date]:
    """The starts of the buckets covering start..end (both included), empty ones too."""
    out = []
    day = bucket_start(start, granularity)
    while day <= end:
        out.append(day)
        day = next_bucket(day, granularity)
        if len(out) > MAX_BUCKETS:
            raise ValidationError.single("ends_at", "reports.too_many_buckets", max=MAX_BUCKETS)
    return out
