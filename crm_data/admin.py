"""The administrator's work: dictionaries, organisation settings. Admins only, enforced here.

A dictionary row in use is archived (active = false), never deleted: it disappears from new
forms and stays on old records. An unused row is deleted. Reordering stages or renaming a
stage never rewrites history: events keep the stage they moved a thread to, by id.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from crm_data import audit, checks, clock, permissions, reservations, rollups
from crm_data import settings as org_settings
from crm_data.checks import check_amount, check_text
from crm_data.db import Database, Tx
from crm_data.errors import NotFound, ValidationError
from crm_data.identity import User
from crm_data.rules import MAX_NAME


# -- field checks ------------------------------------------------------------------------------------
def _text(value: Any, field: str, max_len: int = MAX_NAME) -> str:
    return check_text(value, field, max_len=max_len, required=True)


def _optional_text(value: Any, field: str, max_len: int = 40) -> str:
    return check_text(value, field, max_len=max_len)


def _name_in(value: Any, field: str) -> str | None:
    """A row's name in one UI language: optional, as the other language's name may stand alone."""
    return check_text(value, field, max_len=MAX_NAME) or None


def _int_range(lo: int, hi: int) -> Callable[[Any, str], int]:
    def check(value: Any, field: str) -> int:
        return checks.whole(value, field, lo, hi, typed=False)  # a widget gives a number; "15.0" is refused

    return check


def _optional_int_range(lo: int, hi: int) -> Callable[[Any, str], int | None]:
    """Like `_int_range`, but empty (None or "") means "not set"."""

    def check(value: Any, field: str) -> int | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return _int_range(lo, hi)(value, field)

    return check


def _flag(value: Any, field: str) -> bool:
    return False if value is None else checks.flag(value, field)


def _color(value: Any, field: str) -> str:
    text = checks.text(value, field).strip()
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", text):
        raise ValidationError.single(field, "validation.color")
    return text.lower()


def _price(value: Any, field: str, lang: str = "en") -> Decimal:
    """A price as typed in the admin's language ('1,234.50' in English, '1 234,50' in Polish)."""
    return check_amount(value, field, lang)


@dataclass(frozen=True)
class Field:
    """One editable field of a dictionary row, as a form draws it and as a save checks it:
    `widget` is text, int, money, color or flag; `lo`/`hi` bound a whole number (the form's
    limits are these, so it never offers what the check refuses)."""

    check: Callable[[Any, str], Any]
    widget: str = "text"
    lo: int | None = None
    hi: int | None = None


def _whole(lo: int, hi: int, *, optional: bool = False) -> Field:
    check = _optional_int_range(lo, hi) if optional else _int_range(lo, hi)
    return Field(check, "int", lo, hi)


_FLAG = Field(_flag, "flag")


@dataclass(frozen=True)
class Kind:
    """One dictionary table: its editable fields and how to tell that a row is in use."""

    table: str
    fields: dict[str, Field]
    in_use_sql: str
    parent: str | None = None  # a column naming the parent row, fixed at creation
    unique: str = "name"  # no two active rows share this (case-insensitively)


# the rows named per UI language (crm_data.dictionaries): a name in each, at least one given; the
# row's `name` (what a language without its own name shows) is the one in the organisation's language
NAMES: dict[str, Field] = {"name_en": Field(_name_in), "name_pl": Field(_name_in)}
KINDS: dict[str, Kind] = {
    "event_types": Kind(
        "event_types",
        {**NAMES, "color": Field(_color, "color"), "default_duration_min": _whole(1, 24 * 60), "is_meeting": _FLAG},
        "SELECT 1 FROM events WHERE type_id = $id LIMIT 1",
    ),
    # typical_days: a new thread is expected to close this many days after it opens (empty: 30)
    "pipelines": Kind(
        "pipelines",
        {**NAMES, "typical_days": _whole(1, 3650, optional=True)},
        "SELECT 1 FROM threads WHERE pipeline_id = $id LIMIT 1",
    ),
    "stages": Kind(
        "stages",
        # rot_days: the board marks a thread rotting after this many days without an event (empty: off)
        {
            **NAMES,
            "percent": _whole(0, 100),
            "is_won": _FLAG,
            "is_lost": _FLAG,
            "rot_days": _whole(1, 3650, optional=True),
            # the forecast counts threads at the pipeline's first commit stage or past it as committed
            "is_commit": _FLAG,
        },
        "SELECT 1 FROM threads WHERE stage_id = $id UNION ALL SELECT 1 FROM events WHERE stage_id = $id LIMIT 1",
        parent="pipeline_id",
    ),
    "amount_types": Kind("amount_types", {**NAMES}, "SELECT 1 FROM event_amounts WHERE amount_type_id = $id LIMIT 1"),
    "products": Kind(
        "products",
        {
            "code": Field(lambda v, f: _text(v, f, 40)),
            **NAMES,
            "unit": Field(lambda v, f: _text(v, f, 20)),
            "price": Field(_price, "money"),
        },
        "SELECT 1 FROM event_products WHERE product_id = $id LIMIT 1",
        unique="code",
    ),
    "resources": Kind(
        "resources",
        {"name": Field(_text), "kind": Field(lambda v, f: _text(v, f, 40)), "buffer_min": _whole(0, 24 * 60)},
        "SELECT 1 FROM reservations WHERE resource_id = $id LIMIT 1",
    ),
    "lost_reasons": Kind(
        "lost_reasons",
        {**NAMES},
        "SELECT 1 FROM threads WHERE lost_reason_id = $id UNION ALL SELECT 1 FROM events WHERE lost_reason_id = $id LIMIT 1",
    ),
    "dictionaries": Kind(
        "dictionaries",
        {"name": Field(_text)},
        "SELECT 1 FROM event_dictionary_values WHERE dictionary_id = $id LIMIT 1",
    ),
    "dictionary_values": Kind(
        "dictionary_values",
        {"value": Field(_text)},
        "SELECT 1 FROM event_dictionary_values WHERE value_id = $id LIMIT 1",
        parent="dictionary_id",
        unique="value",
    ),
}
# rows that hang off a parent and go with it when an unused parent is deleted
_CHILDREN = {
    "pipelines": ["DELETE FROM stages WHERE pipeline_id = $id"],
    "dictionaries": [
        "DELETE FROM dictionary_event_types WHERE dictionary_id = $id",
        "DELETE FROM dictionary_values WHERE dictionary_id = $id",
    ],
    "event_types": ["DELETE FROM dictionary_event_types WHERE event_type_id = $id"],
}


def _kind(name: str) -> Kind:
    return KINDS[checks.choice(name, KINDS, "kind")]


def _clean(kind: Kind, values: dict[str, Any], lang: str = "en") -> dict[str, Any]:
    clean: dict[str, Any] = {}
    errors = checks.Errors()
    values = dict(checks.mapping(values, "values"))
    for field, spec in kind.fields.items():
        with errors.gather():
            if spec.widget == "money":  # typed in the admin's language
                clean[field] = spec.check(values.get(field), field, lang)
            else:
                clean[field] = spec.check(values.get(field), field)
    if clean.get("is_won") and clean.get("is_lost"):
        errors.add("is_lost", "admin.won_and_lost")
    if "name_en" in kind.fields and not errors.items and not (clean["name_en"] or clean["name_pl"]):
        errors.add(f"name_{lang}", "validation.required")
    errors.raise_any()
    return clean


def _check_unique(tx: Tx, kind: Kind, clean: dict[str, Any], row_id: int | None, parent_id: int | None) -> None:
    """No two active rows share the unique column, nor (rows named per language) a name in one
    language: two event types both read "Call" to an English user would be told apart by nobody."""
    scope = f" AND {kind.parent} = $parent" if kind.parent else ""
    columns = [kind.unique, *(c for c in NAMES if c in kind.fields and c != kind.unique)]
    for column in columns:
        if clean.get(column) is None:
            continue
        clash = tx.scalar(
            f"SELECT {column} FROM {kind.table} WHERE active AND lower({column}) = lower($value)"
            f" AND id IS DISTINCT FROM $id{scope}",
            {"value": clean[column], "id": row_id, "parent": parent_id},
        )
        if clash is not None:
            raise ValidationError.single(column, "admin.duplicate", name=clash)


def _check_pipeline_keeps_an_open_stage(tx: Tx, pipeline_id: int) -> None:
    if not tx.scalar(
        "SELECT count(*) FROM stages WHERE pipeline_id = ? AND active AND NOT is_won AND NOT is_lost", [pipeline_id]
    ):
        raise ValidationError.single("stages", "admin.pipeline_needs_open_stage")


def save(
    db: Database,
    actor: User,
    kind_name: str,
    values: dict[str, Any],
    row_id: int | None = None,
    parent_id: int | None = None,
    *,
    lang: str = "en",
    now: dt.datetime | None = None,
) -> int:
    """Create (row_id None) or edit a dictionary row. Returns its id. Numbers typed as text
    (prices) are read in `lang`, the admin's language; `now` tells a resource's past bookings
    from its coming ones (the clock's when left out)."""
    permissions.require_admin(actor)
    kind = _kind(kind_name)
    checks.ident(row_id, "row_id", required=False)
    if kind.parent:
        checks.ident(parent_id, kind.parent, required=False)
    lang = checks.choice(lang, ("en", "pl"), "lang") or "en"
    if "name_en" in kind.fields and "name" in values and not ({"name_en", "name_pl"} & set(values)):
        values = {**values, f"name_{lang}": values["name"]}  # one name, typed in the admin's language
    clean = _clean(kind, values, lang)
    if "name_en" in kind.fields:
        org_lang = org_settings.cached(db).default_language
        other = "pl" if org_lang == "en" else "en"
        clean["name"] = clean.get(f"name_{org_lang}") or clean[f"name_{other}"]

    def work(tx: Tx) -> int:
        nonlocal parent_id
        if kind.parent and parent_id is not None and row_id is None:
            parent_table = "pipelines" if kind.parent == "pipeline_id" else "dictionaries"
            if not tx.scalar(f"SELECT 1 FROM {parent_table} WHERE id = ?", [parent_id]):
                # a missing parent is the caller's mistake, not a race with another user
                raise ValidationError.single(kind.parent, "validation.unknown")
        if row_id is not None:
            old = tx.dicts(f"SELECT * FROM {kind.table} WHERE id = ?", [row_id])
            if not old:
                raise NotFound(what=kind_name, id=row_id)
            if kind.parent:
                parent_id = old[0][kind.parent]
            flags_changed = any(old[0][f] != clean[f] for f in ("is_won", "is_lost") if f in clean)
            if flags_changed and tx.scalar(kind.in_use_sql, {"id": row_id}) is not None:
                # threads at this stage would be open at a closing stage (or the reverse)
                raise ValidationError.single("is_won", "admin.stage_flags_in_use")
        elif kind.parent and parent_id is None:
            raise ValidationError.single(kind.parent, "validation.required")
        _check_unique(tx, kind, clean, row_id, parent_id)
        if row_id is None:
            columns = list(clean) + ([kind.parent] if kind.parent else [])
            params = {**clean, kind.parent or "_": parent_id}
            if "sequence" in _columns(tx, kind.table):
                columns.append("sequence")
                scope = f" WHERE {kind.parent} = $parent" if kind.parent else ""
                params["sequence"] = tx.scalar(
                    f"SELECT coalesce(max(sequence), 0) + 10 FROM {kind.table}{scope}", {"parent": parent_id}
                )
            new_id = tx.scalar(
                f"INSERT INTO {kind.table} ({', '.join(columns)}) VALUES ({', '.join('$' + c for c in columns)}) RETURNING id",
                params,
            )
            audit.record(tx, actor.id, kind_name, new_id, "create", {k: [None, v] for k, v in clean.items()})
        else:
            if kind_name == "resources" and clean["buffer_min"] > old[0]["buffer_min"]:
                _refuse_buffer_clashes(tx, row_id, clean["buffer_min"], now or clock.now())
            sets = ", ".join(f"{c} = ${c}" for c in clean)
            if kind_name == "resources":
                # touch the row's version as every booking does, so a booking racing this
                # change fails with a write conflict instead of slipping past the new buffer
                sets += ", version = version + 1"
            tx.execute(f"UPDATE {kind.table} SET {sets} WHERE id = $id", {**clean, "id": row_id})
            audit.record(tx, actor.id, kind_name, row_id, "update", audit.diff(old[0], clean))
            new_id = row_id
        if kind_name == "stages":
            _check_pipeline_keeps_an_open_stage(tx, parent_id)
        return new_id

    if kind_name == "resources" and row_id is not None:
        with reservations.locked(db, [row_id]):  # the same lock as every booking of the resource
            result = db.write(work)
    else:
        result = db.write(work)
    db.dictionaries_changed()
    return result


BUFFER_CLASH_SQL = """
    SELECT a.event_id, a.starts_at, a.ends_at, b.event_id, b.starts_at, b.ends_at
    FROM reservations a JOIN reservations b
      ON b.resource_id = a.resource_id AND b.id <> a.id
     AND (b.starts_at > a.starts_at OR (b.starts_at = a.starts_at AND b.id > a.id))
     AND b.starts_at < a.ends_at + to_minutes($buffer)
    -- b has not ended, so it started at most 31 days ago (the longest event): older a cannot reach it
    WHERE a.resource_id = $resource AND b.ends_at > $now
      AND a.ends_at > $now - INTERVAL '32 days' - to_minutes($buffer)
    ORDER BY b.starts_at, a.starts_at
"""


def _refuse_buffer_clashes(tx: Tx, resource_id: int, buffer_min: int, now: dt.datetime) -> None:
    """A larger buffer must not leave bookings closer together than it: that is exactly what
    the clash check refuses for new bookings. Bookings that ended before now stay as they were
    (history); a pair of which the later one has not ended yet is refused, listing them."""
    pairs = tx.all(BUFFER_CLASH_SQL, {"resource": resource_id, "buffer": buffer_min, "now": now})
    if pairs:
        first = pairs[0]
        raise ValidationError.single(
            "buffer_min",
            "resource.buffer_clashes",
            count=len(pairs),
            buffer=buffer_min,
            first_start=first[1],
            first_end=first[2],
            second_start=first[4],
            second_end=first[5],
        )


def _columns(tx: Tx, table: str) -> set[str]:
    return {r[0] for r in tx.all("SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table])}


def remove(db: Database, actor: User, kind_name: str, row_id: int) -> str:
    """Delete an unused row, archive one in use. Returns "deleted" or "archived"."""
    permissions.require_admin(actor)
    kind = _kind(kind_name)
    checks.ident(row_id, "row_id")

    def work(tx: Tx) -> str:
        row = tx.dicts(f"SELECT * FROM {kind.table} WHERE id = ?", [row_id])
        if not row:
            raise NotFound(what=kind_name, id=row_id)
        in_use = tx.scalar(kind.in_use_sql, {"id": row_id}) is not None
        if kind_name == "pipelines" and not in_use:
            in_use = (
                tx.scalar(
                    "SELECT 1 FROM stages s WHERE s.pipeline_id = $id AND (EXISTS (SELECT 1 FROM events e WHERE e.stage_id = s.id)"
                    " OR EXISTS (SELECT 1 FROM threads t WHERE t.stage_id = s.id)) LIMIT 1",
                    {"id": row_id},
                )
                is not None
            )
        if kind_name == "dictionaries" and not in_use:
            in_use = (
                tx.scalar("SELECT 1 FROM event_dictionary_values WHERE dictionary_id = $id LIMIT 1", {"id": row_id})
                is not None
            )
        if in_use:
            tx.execute(f"UPDATE {kind.table} SET active = false WHERE id = ?", [row_id])
            outcome = "archived"
        else:
            for statement in _CHILDREN.get(kind_name, []):
                tx.execute(statement, {"id": row_id})
            tx.execute(f"DELETE FROM {kind.table} WHERE id = ?", [row_id])
            outcome = "deleted"
        if kind_name == "stages":
            _check_pipeline_keeps_an_open_stage(tx, row[0]["pipeline_id"])
        audit.record(tx, actor.id, kind_name, row_id, outcome, {"active": [True, False]})
        return outcome

    result = db.write(work)
    db.dictionaries_changed()
    return result


def restore(db: Database, actor: User, kind_name: str, row_id: int) -> None:
    """Bring an archived row back to new forms."""
    permissions.require_admin(actor)
    kind = _kind(kind_name)
    checks.ident(row_id, "row_id")

    def work(tx: Tx) -> None:
        row = tx.dicts(f"SELECT * FROM {kind.table} WHERE id = ?", [row_id])
        if not row:
            raise NotFound(what=kind_name, id=row_id)
        parent = row[0].get(kind.parent) if kind.parent else None
        _check_unique(tx, kind, {kind.unique: row[0][kind.unique]}, row_id, parent)
        tx.execute(f"UPDATE {kind.table} SET active = true WHERE id = ?", [row_id])
        audit.record(tx, actor.id, kind_name, row_id, "restore", {"active": [False, True]})

    db.write(work)
    db.dictionaries_changed()


def move_stage(db: Database, actor: User, stage_id: int, direction: int) -> None:
    """Swap a stage with its neighbour (direction -1 up, +1 down) within its pipeline."""
    permissions.require_admin(actor)
    checks.ident(stage_id, "stage_id")
    if isinstance(direction, bool) or direction not in (-1, 1):
        raise ValidationError.single("direction", "validation.choice")

    def work(tx: Tx) -> None:
        row = tx.one("SELECT pipeline_id, sequence FROM stages WHERE id = ?", [stage_id])
        if row is None:
            raise NotFound(what="stage", id=stage_id)
        order = "DESC" if direction < 0 else "ASC"
        compare = "<" if direction < 0 else ">"
        other = tx.one(
            f"SELECT id, sequence FROM stages WHERE pipeline_id = ? AND sequence {compare} ? ORDER BY sequence {order}, id LIMIT 1",
            [row[0], row[1]],
        )
        if other is None:
            return
        tx.execute("UPDATE stages SET sequence = ? WHERE id = ?", [other[1], stage_id])
        tx.execute("UPDATE stages SET sequence = ? WHERE id = ?", [row[1], other[0]])
        audit.record(tx, actor.id, "stages", stage_id, "reorder", {"sequence": [row[1], other[1]]})

    db.write(work)
    db.dictionaries_changed()


def link_dictionary(db: Database, actor: User, dictionary_id: int, event_type_id: int, mode: str) -> None:
    """Show a custom dictionary on events of a type: mode "off", "optional" or "required"."""
    permissions.require_admin(actor)
    checks.ident(dictionary_id, "dictionary_id")
    checks.ident(event_type_id, "event_type_id")
    if not isinstance(mode, str) or mode not in ("off", "optional", "required"):
        raise ValidationError.single("mode", "validation.choice")

    def work(tx: Tx) -> None:
        if not tx.scalar("SELECT 1 FROM dictionaries WHERE id = ?", [dictionary_id]):
            raise NotFound(what="dictionary", id=dictionary_id)
        if not tx.scalar("SELECT 1 FROM event_types WHERE id = ?", [event_type_id]):
            raise NotFound(what="event type", id=event_type_id)
        old = (
            tx.scalar(
                "SELECT CASE WHEN is_required THEN 'required' ELSE 'optional' END FROM dictionary_event_types"
                " WHERE dictionary_id = ? AND event_type_id = ?",
                [dictionary_id, event_type_id],
            )
            or "off"
        )
        tx.execute(
            "DELETE FROM dictionary_event_types WHERE dictionary_id = ? AND event_type_id = ?",
            [dictionary_id, event_type_id],
        )
        if mode != "off":
            tx.execute(
                "INSERT INTO dictionary_event_types (dictionary_id, event_type_id, is_required) VALUES (?, ?, ?)",
                [dictionary_id, event_type_id, mode == "required"],
            )
        audit.record(tx, actor.id, "dictionaries", dictionary_id, "link", {f"event_type {event_type_id}": [old, mode]})

    db.write(work)
    db.dictionaries_changed()


# -- organisation settings -----------------------------------------------------------------------------
CURRENCY = re.compile(r"[A-Z]{3}")


def save_settings(db: Database, actor: User, changes: dict[str, Any]) -> org_settings.OrgSettings:
    """Validate and store organisation settings; every change is audited."""
    permissions.require_admin(actor)
    errors = checks.Errors()
    clean: dict[str, Any] = {}
    for key, value in checks.mapping(changes, "settings").items():
        with errors.gather():
            clean[key] = _check_setting(key, value)
    merged = {**org_settings.load(db).__dict__, **clean}
    if "work_start_hour" in merged and merged["work_start_hour"] >= merged["work_end_hour"]:
        errors.add("work_end_hour", "admin.hours_order")
    errors.raise_any()

    def work(tx: Tx) -> None:
        chosen_type = clean.get("stage_change_type_id")
        if chosen_type is not None and not tx.scalar("SELECT active FROM event_types WHERE id = ?", [chosen_type]):
            raise ValidationError.single("stage_change_type_id", "validation.unknown")
        old = org_settings.load_tx(tx, db.config.attachment_max_mb)
        org_settings.save_tx(tx, clean)
        if clean.get("time_zone", old.time_zone) != old.time_zone:
            rollups.rebuild_event_facts(tx)  # every amount's and line's local day is the new zone's
        audit.record(tx, actor.id, "settings", None, "update", audit.diff(old.__dict__, clean))

    db.write(work)
    db.dictionaries_changed()
    return org_settings.load(db)


# the zones a team here most likely works in, offered first; every other IANA zone follows
COMMON_ZONES = (
    "Europe/Warsaw",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Prague",
    "Europe/Vilnius",
    "Europe/Kyiv",
    "America/New_York",
    "UTC",
)


def time_zones() -> list[str]:
    """Every time zone the organisation may choose (what `save_settings` accepts), the common
    ones first."""
    return [*COMMON_ZONES, *sorted(available_timezones() - set(COMMON_ZONES))]


def _check_setting(key: str, value: Any) -> Any:
    if key == "time_zone":
        if not isinstance(value, str) or value not in available_timezones():
            raise ValidationError.single(key, "admin.bad_time_zone")
        ZoneInfo(value)
        return value
    if key == "currency":
        text = checks.text(value, key).strip().upper()
        if not CURRENCY.fullmatch(text):
            raise ValidationError.single(key, "admin.bad_currency")
        return text
    if key == "work_days":
        if isinstance(value, str | bytes | dict) or not isinstance(value, list | tuple | set | frozenset):
            raise ValidationError.single(key, "admin.bad_work_days")
        if any(isinstance(d, bool) or not isinstance(d, int) for d in value):
            raise ValidationError.single(key, "admin.bad_work_days")
        days = tuple(sorted(set(value)))
        if not days or any(d not in range(7) for d in days):
            raise ValidationError.single(key, "admin.bad_work_days")
        return days
    if key in ("work_start_hour", "work_end_hour"):
        return _int_range(0, 24)(value, key)
    if key == "reminder_offset_min":
        return _int_range(0, 24 * 60)(value, key)
    if key == "attachment_max_mb":
        return _int_range(1, 200)(value, key)
    if key == "stage_change_type_id":  # None: the board's fallback type; whether it exists is checked on saving
        return None if value is None else _int_range(1, 2**62)(value, key)
    if key == "default_language":
        if not isinstance(value, str) or value not in ("en", "pl"):
            raise ValidationError.single(key, "validation.choice")
        return value
    raise ValidationError.single(key, "validation.choice")


def rows(db: Database, kind_name: str, parent_id: int | None = None) -> list[dict[str, Any]]:
    """Every row of a dictionary (archived ones too) for the admin tables."""
    kind = _kind(kind_name)
    scope = f"WHERE {kind.parent} = $parent" if kind.parent else ""
    order = "sequence, id" if kind_name in ("stages", "dictionary_values") else f"active DESC, {kind.unique}, id"
    with db.read() as tx:
        return tx.dicts(f"SELECT * FROM {kind.table} {scope} ORDER BY {order}", {"parent": parent_id})
