"""Validation: every check of a value at the boundary of a public service, and the collector
of a form's errors (`Errors`).

A page hands over widget values of the right type, but a script, an import or a future API can
pass anything: a list where an id is expected, a string for a time, infinity for a number of
minutes. Every public service runs its arguments through these checks, so a wrong type becomes
a `ValidationError` naming the field, never a TypeError, an OverflowError or a database error.
The first ones check types and ranges (`ident`, `whole`, `choice`, ...); the `check_*` ones the
domain's values (text hygiene, money and quantities, moments and durations, local times), with
the limits and the pure arithmetic of crm_data.rules.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import numbers
import unicodedata
from collections.abc import Callable, Collection, Iterator, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import numpy as np

from crm_data.errors import FieldError, ValidationError
from crm_data.rules import (
    CENT,
    EARLIEST,
    LATEST,
    MAX_AMOUNT,
    MAX_EVENT_MINUTES,
    MAX_NAME,
    MAX_QUANTITY,
    MIN_EVENT_MINUTES,
    has_invisible,
    parse_decimal,
)

T = TypeVar("T")

MAX_ID = 2**63 - 1  # BIGINT
MAX_PAGE = 5000


class Errors:
    """The refusals of one form, gathered so that the user hears every one at once: `check` runs
    one check and returns its value (None when it refuses, its refusals kept), `add` records one,
    `raise_any` raises them together as one ValidationError."""

    def __init__(self) -> None:
        self.items: list[FieldError] = []

    def add(self, field_name: str, key: str, **params: Any) -> None:
        self.items.append(FieldError(field_name, key, params))

    def check(self, fn: Callable[[], T]) -> T | None:
        with self.gather():
            return fn()
        return None

    @contextlib.contextmanager
    def gather(self) -> Iterator[None]:
        """`with errors.gather(): ...`: the block's refusal is kept instead of raised (what it
        would have assigned stays unassigned)."""
        try:
            yield
        except ValidationError as exc:
            self.items.extend(exc.errors)

    def raise_any(self) -> None:
        if self.items:
            raise ValidationError(self.items)


def checked(fields: list[tuple[str, Callable[[], Any]]]) -> dict[str, Any]:
    """Run each named check of a form: their values by name, or every refusal at once."""
    errors = Errors()
    values = {name: errors.check(check) for name, check in fields}
    errors.raise_any()
    return values


def _integer(value: Any) -> int | None:
    """An integer of any kind (Python's, or numpy's from a DataFrame row) as `int`; None for
    anything else, bools included."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        return None
    return int(value)


def ident(value: Any, field: str, *, required: bool = True) -> int | None:
    """A row id: a positive whole number (an integer, not a bool, a string or a list)."""
    if value is None:
        if required:
            raise ValidationError.single(field, "validation.required")
        return None
    number = _integer(value)
    if number is None or not 0 < number <= MAX_ID:
        raise ValidationError.single(field, "validation.not_an_id")
    return number


def idents(value: Any, field: str) -> tuple[int, ...]:
    """A collection of row ids (a tuple, list or set of them), in the order given."""
    if value is None:
        return ()
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Collection):
        raise ValidationError.single(field, "validation.not_a_list")
    out = []
    for item in value:
        out.append(ident(item, field))
    return tuple(out)


def version(value: Any, field: str) -> int | None:
    """An optimistic version a form was filled against (None: do not check)."""
    if value is None:
        return None
    number = _integer(value)
    if number is None or not 0 <= number <= MAX_ID:
        raise ValidationError.single(field, "validation.not_an_id")
    return number


def active(rows: Mapping[int, T], value: Any, field: str, *, required: bool = True) -> T | None:
    """The active dictionary row (event type, pipeline, stage, amount type, product, resource,
    lost reason, person) with this id. An archived row is refused with its own message: new
    records never link an archived row."""
    row_id = ident(value, field, required=required)
    if row_id is None:
        return None
    row = rows.get(row_id)
    if row is None:
        raise ValidationError.single(field, "validation.unknown")
    if not getattr(row, "active", True):
        raise ValidationError.single(field, "validation.archived")
    return row


def text(value: Any, field: str) -> str:
    """Text or nothing (None is the empty text); a lone surrogate (half of a UTF-16 pair, which
    no encoding can store) is refused."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError.single(field, "validation.not_text")
    if any("\ud800" <= ch <= "\udfff" for ch in value):
        raise ValidationError.single(field, "validation.surrogate")
    return value


def search_text(value: Any, field: str = "text") -> str:
    """Search text, stripped: matched literally, so odd characters simply find nothing; only
    what cannot be text at all (None, another type, a lone surrogate) is refused. None is not
    "no search": it matched every client, so a caller that lost its text would list them all."""
    if value is None:
        raise ValidationError.single(field, "validation.not_text")
    # a NUL is refused in every saved text, so it can match nothing; PostgreSQL cannot even be
    # asked about one, so it becomes another control character no saved text holds either
    return text(value, field).strip().replace("\x00", "\x01")


def data(value: Any, field: str) -> bytes:
    """A file's content: bytes (or a bytearray / memoryview), never text."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    raise ValidationError.single(field, "validation.not_bytes")


def whole(value: Any, field: str, lo: int, hi: int, *, typed: bool = True) -> int:
    """A whole number in [lo, hi]. Accepts an int, a float or Decimal with no fraction, and (with
    `typed`, for form and settings values) its text; refuses bools, NaN, infinity and the rest."""
    if value is None or isinstance(value, bool):
        raise ValidationError.single(field, "validation.required")
    number: Any = value
    if isinstance(value, str):
        if not typed:
            raise ValidationError.single(field, "validation.not_a_number")
        stripped = value.strip()
        try:
            number = Decimal(stripped)
        except ArithmeticError:
            raise ValidationError.single(field, "validation.not_a_number") from None
    if _integer(number) is not None:
        number = _integer(number)
    elif isinstance(number, numbers.Real) and not isinstance(number, float | Decimal):
        number = float(number)  # numpy floats and the like
    if isinstance(number, float | Decimal):
        if not (math.isfinite(number) if isinstance(number, float) else number.is_finite()):
            raise ValidationError.single(field, "validation.not_finite")
        if number != int(number):
            raise ValidationError.single(field, "validation.whole_number")
        number = int(number)
    if not isinstance(number, int):
        raise ValidationError.single(field, "validation.not_a_number")
    if not lo <= number <= hi:
        raise ValidationError.single(field, "validation.range", lo=lo, hi=hi)
    return number


def choice(value: Any, allowed: Collection[str], field: str, *, optional: bool = False) -> str | None:
    """One of the allowed words (a status, a sort order, an entity)."""
    if value is None and optional:
        return None
    if not isinstance(value, str) or value not in allowed:
        raise ValidationError.single(field, "validation.choice")
    return value


def flag(value: Any, field: str) -> bool:
    if isinstance(value, np.bool_):  # numpy's bool, from a DataFrame cell
        return bool(value)
    if not isinstance(value, bool):
        raise ValidationError.single(field, "validation.choice")
    return value


def page(limit: Any, offset: Any, *, max_limit: int = MAX_PAGE) -> tuple[int, int]:
    """A page of a list: 1..max_limit rows from offset 0 or more."""
    return whole(limit, "limit", 1, max_limit, typed=False), whole(offset, "offset", 0, MAX_ID, typed=False)


def mapping(value: Any, field: str) -> Mapping[Any, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError.single(field, "validation.not_a_mapping")
    return value


def sequence(value: Any, field: str) -> tuple[Any, ...]:
    """The rows of a repeated part of a form (amounts, products ...): a tuple or list."""
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise ValidationError.single(field, "validation.not_a_list")
    return tuple(value)


# -- the domain's values: text, money, quantities, times --------------------------------------------
def check_text(
    value: str | None,
    field: str,
    *,
    max_len: int = MAX_NAME,
    required: bool = False,
    multiline: bool = False,
) -> str:
    """Normalise to NFC, refuse NUL, control, invisible and direction characters anywhere (also
    at the ends: they are refused, not silently trimmed), then strip surrounding spaces.
    Anything but text (or None) is refused, and so is a lone surrogate, which no encoding stores."""
    raw = unicodedata.normalize("NFC", text(value, field))
    if "\x00" in raw:
        raise ValidationError.single(field, "validation.nul")
    if has_invisible(raw):
        raise ValidationError.single(field, "validation.invisible")
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\t\r" for ch in raw):
        raise ValidationError.single(field, "validation.control")
    cleaned = raw.strip()
    if not multiline:
        if any(ch in cleaned for ch in "\n\r"):
            raise ValidationError.single(field, "validation.control")
        cleaned = cleaned.replace("\t", " ")
    cleaned = cleaned.replace("\r\n", "\n").replace("\r", "\n")
    if required and not cleaned:
        raise ValidationError.single(field, "validation.required")
    if len(cleaned) > max_len:
        raise ValidationError.single(field, "validation.too_long", max=max_len, length=len(cleaned))
    return cleaned


def _typed_number(value: str | Decimal | int | float | None, field: str, lang: str) -> Decimal:
    """A number as typed (see `rules.parse_decimal`): given and finite."""
    try:
        number = parse_decimal(value, lang)
    except ValueError as exc:
        key = "validation.ambiguous_number" if str(exc) == "ambiguous" else "validation.not_a_number"
        raise ValidationError.single(field, key) from None
    if number is None:
        raise ValidationError.single(field, "validation.required")
    if not number.is_finite():
        raise ValidationError.single(field, "validation.not_finite")
    return number


def check_amount(value: str | Decimal | int | float | None, field: str, lang: str = "en") -> Decimal:
    """A money amount: finite, not negative, at most 2 decimal places, below a trillion."""
    amount = _typed_number(value, field, lang)
    if amount < 0:
        raise ValidationError.single(field, "validation.negative")
    if amount > MAX_AMOUNT:
        raise ValidationError.single(field, "validation.too_large", max=MAX_AMOUNT)
    if amount != amount.quantize(CENT, rounding=ROUND_HALF_UP):
        raise ValidationError.single(field, "validation.too_many_decimals", places=2)
    return amount.quantize(CENT)


def check_quantity(value: str | Decimal | int | float | None, field: str, lang: str = "en") -> Decimal:
    """A product quantity: finite, above 0, at most 3 decimal places, below a billion."""
    qty = _typed_number(value, field, lang)
    if qty <= 0:
        raise ValidationError.single(field, "validation.not_positive")
    if qty > MAX_QUANTITY:
        raise ValidationError.single(field, "validation.too_large", max=MAX_QUANTITY)
    if qty != qty.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP):
        raise ValidationError.single(field, "validation.too_many_decimals", places=3)
    return qty


def check_moment(value: dt.datetime | None, field: str) -> dt.datetime:
    """An aware datetime in a sane range, returned in UTC."""
    if value is None:
        raise ValidationError.single(field, "validation.required")
    if not isinstance(value, dt.datetime):
        # a date alone, a string, a number: the caller must say the moment, with its zone
        raise ValidationError.single(field, "validation.not_a_moment")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError.single(field, "validation.naive_time")
    value = value.astimezone(dt.UTC)
    if not EARLIEST <= value < LATEST:
        raise ValidationError.single(field, "validation.time_out_of_range")
    return value


def check_duration(minutes: int | float | Decimal | None, field: str) -> int:
    if minutes is None or isinstance(minutes, bool):
        raise ValidationError.single(field, "validation.required")
    if isinstance(minutes, numbers.Integral):
        minutes = int(minutes)  # numpy's too
    elif isinstance(minutes, numbers.Real) and not isinstance(minutes, float | Decimal):
        minutes = float(minutes)
    if not isinstance(minutes, int | float | Decimal):
        raise ValidationError.single(field, "validation.not_a_number")
    if isinstance(minutes, float) and not math.isfinite(minutes):
        raise ValidationError.single(field, "validation.not_finite")
    if isinstance(minutes, Decimal) and not minutes.is_finite():
        raise ValidationError.single(field, "validation.not_finite")
    if int(minutes) != minutes:
        raise ValidationError.single(field, "validation.whole_minutes")
    if minutes < MIN_EVENT_MINUTES:
        raise ValidationError.single(field, "validation.duration_positive")
    if minutes > MAX_EVENT_MINUTES:
        raise ValidationError.single(field, "validation.duration_too_long", max=MAX_EVENT_MINUTES // 1440)
    return int(minutes)


def check_range(starts_at: dt.datetime, ends_at: dt.datetime, field: str) -> None:
    if ends_at < starts_at:
        raise ValidationError.single(field, "validation.end_before_start")
    if ends_at == starts_at:
        raise ValidationError.single(field, "validation.zero_length")


def local_to_utc(day: dt.date, time: dt.time, tz: str, field: str) -> dt.datetime:
    """A wall-clock time in the organisation's zone, as UTC. A time skipped by a daylight
    saving change, or one that happens twice, is refused with a message naming it."""
    zone = ZoneInfo(tz)
    naive = dt.datetime.combine(day, time.replace(tzinfo=None, fold=0))
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    if first.utcoffset() != second.utcoffset():
        # Either the wall clock skips this time (gap) or shows it twice (fold).
        back = first.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None)
        if back != naive:
            raise ValidationError.single(field, "validation.time_skipped", time=naive.strftime("%H:%M"), day=day, tz=tz)
        raise ValidationError.single(field, "validation.time_ambiguous", time=naive.strftime("%H:%M"), day=day, tz=tz)
    return first.astimezone(dt.UTC)
