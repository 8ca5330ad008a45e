"""Pure rules on plain values: the limits of text, money, quantities and times, invisible
characters, look-alike names, reading typed numbers, line values, overlaps, working hours, free
slots and recurrence. Nothing here touches the database or raises a user's error: the checks
that refuse a value, naming its field, are in crm_data.checks.

Money rule: amounts are DECIMAL(18,2). What a user types is never rounded: more than two
decimal places is refused ("0.005" gets a message, not a silent 0.01). Values we compute,
quantity x unit price, are rounded half up to the cent (ROUND_HALF_UP, the commercial rule).
"""

from __future__ import annotations

import bisect
import calendar
import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

MAX_NAME = 200
MAX_TITLE = 200
MAX_NOTE = 10_000
MAX_SHORT = 100
MAX_AMOUNT = Decimal("999999999999.99")  # under a trillion; sums still fit DECIMAL(38,2)
MAX_QUANTITY = Decimal("999999999")
CENT = Decimal("0.01")
MIN_EVENT_MINUTES = 1
MAX_EVENT_MINUTES = 31 * 24 * 60
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)

# Characters that change how text is shown without being visible: every Unicode format
# character (bidi embeddings, overrides, isolates and marks, zero-width spaces and joiners,
# soft hyphens, the byte-order mark ...), line and paragraph separators, the combining
# grapheme joiner and the Hangul fillers, which render as blanks.
_INVISIBLE_EXTRA = set("\u034f\u115f\u1160\u3164\uffa0\u2028\u2029\u17b4\u17b5")


def has_invisible(text: str) -> bool:
    return any(unicodedata.category(ch) == "Cf" or ch in _INVISIBLE_EXTRA for ch in text)


def strip_invisible(text: str) -> str:
    return "".join(ch for ch in text if not (unicodedata.category(ch) == "Cf" or ch in _INVISIBLE_EXTRA))


# -- text --------------------------------------------------------------------------------------
# Latin look-alikes among Cyrillic and Greek letters, capital and small, applied before
# casefolding (Greek capital Ν must become n, not the v that its small form resembles).
_CONFUSABLES = str.maketrans(
    {
        "а": "a",
        "в": "b",
        "е": "e",
        "ё": "e",
        "к": "k",
        "м": "m",
        "н": "h",
        "о": "o",
        "р": "p",
        "с": "c",
        "т": "t",
        "у": "y",
        "х": "x",
        "ѕ": "s",
        "і": "i",
        "ј": "j",
        "ԁ": "d",
        "ɡ": "g",
        "ո": "n",
        "α": "a",
        "β": "b",
        "ε": "e",
        "η": "n",
        "ι": "i",
        "κ": "k",
        "ν": "v",
        "ο": "o",
        "ρ": "p",
        "τ": "t",
        "υ": "u",
        "χ": "x",
        "ϲ": "c",
        "А": "a",
        "В": "b",
        "Е": "e",
        "Ё": "e",
        "К": "k",
        "М": "m",
        "Н": "h",
        "О": "o",
        "Р": "p",
        "С": "c",
        "Т": "t",
        "У": "y",
        "Х": "x",
        "Ѕ": "s",
        "І": "i",
        "Ј": "j",
        "Α": "a",
        "Β": "b",
        "Ε": "e",
        "Ζ": "z",
        "Η": "h",
        "Ι": "i",
        "Κ": "k",
        "Μ": "m",
        "Ν": "n",
        "Ο": "o",
        "Ρ": "p",
        "Τ": "t",
        "Υ": "y",
        "Χ": "x",
    }
)


def name_skeleton(name: str) -> str:
    """A key under which names that look the same collide: `Аcme` (Cyrillic А), `ACME`,
    `Acme ` and `Acmе` all give `acme`. Diacritics are kept: Łódź and Lodz differ."""
    text = strip_invisible(unicodedata.normalize("NFKC", name)).translate(_CONFUSABLES).casefold()
    return " ".join(re.sub(r"[\"'.,]", " ", text).split())


def search_key(text: str) -> str:
    """Lower case without diacritics, ł as l, so 'lodz' finds 'Łódź'. The twin of
    clients.SEARCH_KEY_SQL, `strip_accents(replace(lower(x), 'ł', 'l'))`: the same lower()
    (with the final sigma as a plain one, as DuckDB has it) and every combining mark dropped."""
    lowered = text.lower().replace("ł", "l").replace("ς", "σ")
    decomposed = unicodedata.normalize("NFD", lowered)
    kept = "".join(ch for ch in decomposed if not unicodedata.category(ch).startswith("M"))
    return unicodedata.normalize("NFC", kept)


def like_pattern(text: str) -> str:
    """A LIKE pattern matching `text` literally anywhere (escape character: backslash)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# -- money and quantities ----------------------------------------------------------------------
def parse_decimal(value: str | Decimal | int | float | None, lang: str = "en") -> Decimal | None:
    """Read a number as typed: '1 234,56' (Polish) or '1,234.56' (English); None when empty.
    Raises ValueError on text that is not a number."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise ValueError("not a number")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    text = re.sub(r"[\s\u00a0\u202f_']", "", str(value))
    if not text:
        return None
    if lang == "pl" and re.fullmatch(r"[-+]?[1-9]\d{0,2}(\.\d{3})+", text):
        # "2.000" is two thousand to some Polish readers and two to others: ask, never guess
        raise ValueError("ambiguous")
    if lang == "pl" or ("," in text and "." not in text and re.search(r",\d{1,2}$", text)):
        if "," in text:
            text = text.replace(".", "").replace(",", ".")
    else:
        text = text.replace(",", "")
    try:
        return Decimal(text)
    except InvalidOperation as exc:
        raise ValueError("not a number") from exc


def line_value(quantity: Decimal, unit_price: Decimal) -> Decimal:
    """Quantity times unit price, rounded half up to the cent."""
    return (quantity * unit_price).quantize(CENT, rounding=ROUND_HALF_UP)


# -- time --------------------------------------------------------------------------------------
# -- intervals, free slots and recurrence --------------------------------------------------------
Interval = tuple[dt.datetime, dt.datetime]


def check_interval(start: dt.datetime, end: dt.datetime) -> None:
    """Raise ValueError for a zero or negative length: such an interval is never valid."""
    if end <= start:
        raise ValueError("an interval must end after it starts")


def overlaps(a: Interval, b: Interval) -> bool:
    """Half-open intervals [start, end): touching ones (a ends when b starts) do not overlap."""
    check_interval(*a)
    check_interval(*b)
    return a[0] < b[1] and b[0] < a[1]


def logged_end(start: dt.datetime, duration_min: int, now: dt.datetime) -> dt.datetime:
    """When a logged (done) event ends: `duration_min` after it started, but no later than `now`,
    since it was logged after it happened (only planned events occupy the future), and at least
    a minute after its start (an event has a length). Two calls logged a few minutes apart no
    longer overlap the way a 15-minute default running into the future made them."""
    return max(min(start + dt.timedelta(minutes=duration_min), now), start + dt.timedelta(minutes=1))


def overlap_sql(lane: str, *, start: str = "starts_at", end: str = "ends_at", tie: str = "event_id") -> str:
    """A SQL window expression, true on a row whose [start, end) `overlaps` another row of the
    same lane (columns `lane`, comma-separated). Every report and schedule that marks overlaps
    uses it. Rows earlier by start overlap it when the latest end among them is after its start;
    rows later by start when the next start is before its end (intervals have a positive length:
    the tables CHECK ends_at > starts_at)."""
    order = f"PARTITION BY {lane} ORDER BY {start}, {tie}"
    return (
        f"(coalesce(max({end}) OVER ({order} ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) > {start}, false)"
        f" OR coalesce(lead({start}) OVER ({order}) < {end}, false))"
    )


def merge(intervals: list[Interval]) -> list[Interval]:
    """Sorted, non-overlapping union (touching intervals join)."""
    out: list[Interval] = []
    for start, end in sorted(intervals):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


@dataclass(frozen=True)
class WorkingHours:
    """When people work: weekdays (Monday = 0) and hours, in the organisation's zone."""

    days: tuple[int, ...] = (0, 1, 2, 3, 4)
    start_hour: int = 8
    end_hour: int = 17
    tz: str = "Europe/Warsaw"


def at_hour(day: dt.date, hour: int, zone: ZoneInfo | str) -> dt.datetime:
    """The wall-clock hour 0..24 of a day in a zone (24 is the next midnight), as an aware
    datetime. `dt.time(hour)` only takes 0..23, so working hours that end at 24 (or a window
    one hour before a start at 0) must go through here."""
    zone = ZoneInfo(zone) if isinstance(zone, str) else zone
    hour = min(max(hour, 0), 24)
    base = dt.datetime.combine(day, dt.time(0), zone)
    return base if hour == 0 else dt.datetime.combine(day + dt.timedelta(days=hour // 24), dt.time(hour % 24), zone)


def default_start_time(hours: WorkingHours) -> dt.time:
    """Where a new planned event starts by default: an hour into the working day, but never
    past its last hour (working hours 23-24 give 23:00, 0-1 give 0:00)."""
    return dt.time(max(min(hours.start_hour + 1, hours.end_hour - 1), hours.start_hour, 0) % 24)


def next_working_slot(now: dt.datetime, hours: WorkingHours, day: dt.date | None = None) -> dt.datetime:
    """Where a form that plans or books starts by default (local, aware). With a `day` chosen
    (the day a page shows): that day at the default start time, or, when it is today and that
    time has passed, the next quarter hour (a past day gives way to today). Without: the first
    working day from now on, at its default start time, or the next quarter hour while today's
    working day lasts. A form opened on a Saturday proposes Monday, not Sunday."""
    zone = ZoneInfo(hours.tz)
    local_now = now.astimezone(zone)
    today = local_now.date()
    quarter = (local_now + dt.timedelta(minutes=14, seconds=59)).replace(second=0, microsecond=0)
    quarter -= dt.timedelta(minutes=quarter.minute % 15)
    if day is not None:
        start = dt.datetime.combine(max(day, today), default_start_time(hours), zone)
        return max(start, quarter)
    candidate = today
    for _ in range(8):
        if not hours.days or candidate.weekday() in hours.days:
            start = dt.datetime.combine(candidate, default_start_time(hours), zone)
            if start >= local_now:
                return start
            if quarter < at_hour(candidate, hours.end_hour, zone):
                return quarter
        candidate += dt.timedelta(days=1)
    return dt.datetime.combine(candidate, default_start_time(hours), zone)


def day_window(day: dt.date, hours: WorkingHours, before: int = 1, after: int = 2) -> tuple[dt.datetime, dt.datetime]:
    """The working day widened by `before` and `after` hours, kept within the day: what a day's
    timeline shows."""
    return (at_hour(day, hours.start_hour - before, hours.tz), at_hour(day, hours.end_hour + after, hours.tz))


def free_slots(
    busy: list[Interval],
    length: dt.timedelta,
    wanted: dt.datetime,
    hours: WorkingHours,
    *,
    count: int = 3,
    not_before: dt.datetime | None = None,
    step: dt.timedelta = dt.timedelta(minutes=15),
    search_days: int = 14,
) -> list[Interval]:
    """The `count` free slots of `length` nearest to `wanted` (before or after it), each inside
    one day's working hours, on a `step` grid, never starting before `not_before`. The slots
    do not overlap each other, so they are real alternatives, not 11:00, 11:15 and 11:30."""
    if length <= dt.timedelta(0):
        raise ValueError("length must be positive")
    zone = ZoneInfo(hours.tz)
    blocked = merge(busy)
    starts = [b[0] for b in blocked]
    candidates: list[tuple[dt.timedelta, dt.datetime]] = []
    first_day = wanted.astimezone(zone).date() - dt.timedelta(days=search_days)
    for offset in range(2 * search_days + 1):
        day = first_day + dt.timedelta(days=offset)
        if day.weekday() not in hours.days:
            continue
        open_at = at_hour(day, hours.start_hour, zone).astimezone(dt.UTC)
        close_at = at_hour(day, hours.end_hour, zone).astimezone(dt.UTC)
        start = open_at
        while start + length <= close_at:
            if not_before is None or start >= not_before:
                candidates.append((abs(start - wanted), start))
            start += step
    found: list[Interval] = []
    for _, start in sorted(candidates):
        end = start + length
        i = bisect.bisect_left(starts, end)
        # the only blocks that can overlap [start, end) start before `end`; merged blocks are
        # disjoint and sorted, so checking the last of them is enough
        if i > 0 and blocked[i - 1][1] > start:
            continue
        if any(start < f_end and f_start < end for f_start, f_end in found):
            continue
        found.append((start, end))
        if len(found) == count:
            break
    return sorted(found)


def recurrence_starts(
    first: dt.datetime,
    freq: str,
    tz: str,
    *,
    until: dt.date | None = None,
    count: int | None = None,
    limit: int = 200,
) -> list[dt.datetime]:
    """Occurrence starts of a daily, weekly or monthly series, keeping the local wall-clock
    time across daylight-saving changes (a weekly 10:00 stays 10:00). Monthly on the 31st
    falls on the last day of shorter months. Ends at `until` (inclusive) or after `count`."""
    if freq not in ("daily", "weekly", "monthly"):
        raise ValueError(freq)
    if until is None and count is None:
        raise ValueError("a series needs an end: a date or a count")
    zone = ZoneInfo(tz)
    local = first.astimezone(zone)
    wall, day0 = local.time().replace(tzinfo=None), local.date()
    out: list[dt.datetime] = []
    k = 0
    while len(out) < min(count or limit, limit):
        if freq == "daily":
            day = day0 + dt.timedelta(days=k)
        elif freq == "weekly":
            day = day0 + dt.timedelta(weeks=k)
        else:
            month = day0.month - 1 + k
            year, month = day0.year + month // 12, month % 12 + 1
            last = calendar.monthrange(year, month)[1]
            day = dt.date(year, month, min(day0.day, last))
        if until is not None and day > until:
            break
        # a wall time skipped by a DST change lands just after the gap (fold=0 rule)
        out.append(dt.datetime.combine(day, wall, zone).astimezone(dt.UTC))
        k += 1
    return out


def grid_hours(starts: list[str], ends: list[str], first: int, last: int) -> tuple[int, int]:
    """The hours a day grid spans: the working hours `first`..`last`, widened to every event
    drawn (wall-clock ISO times), so a call at 20:53 is never hidden below the grid."""
    for text in starts:
        first = min(first, int(text[11:13]))
    for begin, end in zip(starts, ends, strict=True):
        if end[:10] > begin[:10]:
            return first, 24  # runs past midnight
        hour, minute = int(end[11:13]), int(end[14:16])
        last = max(last, hour + (1 if minute else 0))
    return first, min(last, 24)


def phone_agent(user_agent: str | None) -> bool:
    """Whether a browser's User-Agent is a phone's: phones' browsers put "Mobi" in it (iPhone
    Safari "Mobile/15E148", Android Chrome "Mobile Safari"); tablets and desktops do not."""
    return "Mobi" in (user_agent or "")


def days_off_to_hide(work_days: Iterable[int], starts: Iterable[str | dt.datetime | dt.date]) -> list[int]:
    """The weekdays a calendar may leave out, as FullCalendar's `hiddenDays` (Sunday = 0): days
    off (not in `work_days`, Monday = 0) on which none of the events given starts (`starts`:
    local wall-clock times, ISO text or datetimes; every event loaded, in every view's range).
    A day off with an event stays, so nothing given is hidden; no working day hides nothing."""
    work = set(work_days)
    if not work:
        return []
    busy = set()
    for value in starts:
        day = dt.date.fromisoformat(value[:10]) if isinstance(value, str) else value
        busy.add(day.weekday())
    return sorted((w + 1) % 7 for w in range(7) if w not in work and w not in busy)
