"""Pure rules on plain values: text hygiene, money, quantities, local times, look-alike names.

Each `check_*` returns the clean value or raises `ValidationError` naming the field; nothing
here touches the database.

Money rule: amounts are DECIMAL(18,2). What a user types is never rounded: more than two
decimal places is refused ("0.005" gets a message, not a silent 0.01). Values we compute,
quantity x unit price, are rounded half up to the cent (ROUND_HALF_UP, the commercial rule).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from crm_data.errors import ValidationError

MAX_NAME = 200
MAX_TITLE = 200
MAX_NOTE = 10_000
MAX_SHORT = 100
MAX_AMOUNT = Decimal("999999999999.99")  # under a trillion; sums still fit DECIMAL(38,2)
MAX_QUANTITY = Decimal("999999999")
CENT = Decimal("0.01")
MAX_EVENT_MINUTES = 31 * 24 * 60
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)

# Characters that change how text is shown without being visible: bidi embeddings, overrides
# and isolates, zero-width spaces and joiners, the word joiner and the byte-order mark.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


# -- text --------------------------------------------------------------------------------------
def check_text(
    value: str | None,
    field: str,
    *,
    max_len: int = MAX_NAME,
    required: bool = False,
    multiline: bool = False,
) -> str:
    """Strip, normalise to NFC and refuse NUL, control, invisible and direction characters."""
    text = unicodedata.normalize("NFC", (value or "")).strip()
    if "\x00" in text:
        raise ValidationError.single(field, "validation.nul")
    if _INVISIBLE.search(text):
        raise ValidationError.single(field, "validation.invisible")
    allowed = "\n\t" if multiline else ""
    if multiline:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in text):
        raise ValidationError.single(field, "validation.control")
    if required and not text:
        raise ValidationError.single(field, "validation.required")
    if len(text) > max_len:
        raise ValidationError.single(field, "validation.too_long", max=max_len, length=len(text))
    return text


# Latin look-alikes among Cyrillic and Greek letters (lower case), after NFKC and casefold.
_CONFUSABLES = str.maketrans(
    {
        "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o",
        "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ј": "j",
        "ԁ": "d", "ɡ": "g", "ո": "n", "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i",
        "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ϲ": "c",
    }
)  # fmt: skip


def name_skeleton(name: str) -> str:
    """A key under which names that look the same collide: `Аcme` (Cyrillic А), `ACME`,
    `Acme ` and `Acmе` all give `acme`. Diacritics are kept: Łódź and Lodz differ."""
    text = unicodedata.normalize("NFKC", name).casefold().translate(_CONFUSABLES)
    text = _INVISIBLE.sub("", text)
    return " ".join(re.sub(r"[\"'.,]", " ", text).split())


def search_key(text: str) -> str:
    """Lower case without diacritics (ł and ß included), so 'lodz' finds 'Łódź'."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().replace("ł", "l"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


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
    if lang == "pl" or ("," in text and "." not in text and re.search(r",\d{1,2}$", text)):
        if "," in text:
            text = text.replace(".", "").replace(",", ".")
    else:
        text = text.replace(",", "")
    try:
        return Decimal(text)
    except InvalidOperation as exc:
        raise ValueError("not a number") from exc


def check_amount(value: str | Decimal | int | float | None, field: str, lang: str = "en") -> Decimal:
    """A money amount: finite, not negative, at most 2 decimal places, below a trillion."""
    try:
        amount = parse_decimal(value, lang)
    except ValueError:
        raise ValidationError.single(field, "validation.not_a_number") from None
    if amount is None:
        raise ValidationError.single(field, "validation.required")
    if not amount.is_finite():
        raise ValidationError.single(field, "validation.not_finite")
    if amount < 0:
        raise ValidationError.single(field, "validation.negative")
    if amount > MAX_AMOUNT:
        raise ValidationError.single(field, "validation.too_large", max=MAX_AMOUNT)
    if amount != amount.quantize(CENT, rounding=ROUND_HALF_UP):
        raise ValidationError.single(field, "validation.too_many_decimals", places=2)
    return amount.quantize(CENT)


def check_quantity(value: str | Decimal | int | float | None, field: str, lang: str = "en") -> Decimal:
    try:
        qty = parse_decimal(value, lang)
    except ValueError:
        raise ValidationError.single(field, "validation.not_a_number") from None
    if qty is None:
        raise ValidationError.single(field, "validation.required")
    if not qty.is_finite():
        raise ValidationError.single(field, "validation.not_finite")
    if qty <= 0:
        raise ValidationError.single(field, "validation.not_positive")
    if qty > MAX_QUANTITY:
        raise ValidationError.single(field, "validation.too_large", max=MAX_QUANTITY)
    if qty != qty.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP):
        raise ValidationError.single(field, "validation.too_many_decimals", places=3)
    return qty


def line_value(quantity: Decimal, unit_price: Decimal) -> Decimal:
    """Quantity times unit price, rounded half up to the cent."""
    return (quantity * unit_price).quantize(CENT, rounding=ROUND_HALF_UP)


# -- time --------------------------------------------------------------------------------------
def check_moment(value: dt.datetime | None, field: str) -> dt.datetime:
    """An aware datetime in a sane range, returned in UTC."""
    if value is None:
        raise ValidationError.single(field, "validation.required")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError.single(field, "validation.naive_time")
    value = value.astimezone(dt.UTC)
    if not EARLIEST <= value < LATEST:
        raise ValidationError.single(field, "validation.time_out_of_range")
    return value


def check_duration(minutes: int | float | None, field: str) -> int:
    if minutes is None or isinstance(minutes, bool):
        raise ValidationError.single(field, "validation.required")
    if isinstance(minutes, float) and not math.isfinite(minutes):
        raise ValidationError.single(field, "validation.not_finite")
    if int(minutes) != minutes:
        raise ValidationError.single(field, "validation.whole_minutes")
    if minutes <= 0:
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
