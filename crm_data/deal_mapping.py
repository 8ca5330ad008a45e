"""Moving in, the mapping: which column of another CRM's export holds what (`guess_mapping`),
what the source's stages, owners and activity types are here (`Choices`, `guess_choices`), how
its dates are read (`parse_moment`), and mappings saved by name to use again (`save_setup`)."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from crm_data import audit, clock, dictionaries, permissions
from crm_data.checks import check_text
from crm_data.db import Database, Tx
from crm_data.dictionaries import Lookups
from crm_data.identity import User
from crm_data.rules import MAX_SHORT

MAX_DEALS = 50_000
MAX_ACTIVITIES = 200_000
FUTURE_GRACE = dt.timedelta(hours=12)
NEW_USER = -1  # an owner mapped to "create an inactive user"
NEW_REASON = -1  # a lost reason mapped to "create it here"
NEW_STAGE = -1  # a stage mapped to "create it here" (an open stage before the won and lost ones)

DEAL_TARGETS = (
    "deal_id",
    "title",
    "account",
    "tax_id",
    "owner",
    "pipeline",
    "stage",
    "created",
    "closed",
    "expected_close",
    "amount",
    "currency",
    "product",
    "quantity",
    "lost_reason",
)
DEAL_REQUIRED = ("deal_id", "account", "stage", "created")
ENTERED = "entered:"  # a mapping target "entered:<stage as the source names it>": the day a deal entered it
_ENTERED = re.compile(
    r"^(?:date\s+)?(?:entered|data wejścia na etap)\s*:?\s*[\"“„']?(?P<stage>[^\"”'(]+?)\s*(?:\([^)]*\))?[\"”']?$",
    re.IGNORECASE,
)
ACTIVITY_TARGETS = ("deal_id", "activity_id", "type", "date", "duration", "subject", "note", "owner")
ACTIVITY_REQUIRED = ("deal_id", "type", "date")

# header names other systems export (Salesforce, HubSpot, Pipedrive, Zoho, a Polish spreadsheet)
DEAL_GUESSES = {
    "deal_id": ("deal id", "id", "opportunity id", "record id", "deal - id", "deal_id", "id transakcji", "id szansy"),
    "title": ("title", "deal name", "opportunity name", "deal - title", "name", "deal", "tytuł", "nazwa", "temat"),
    "account": (
        "account",
        "account name",
        "company",
        "company name",
        "organization",
        "organisation",
        "deal - organization",
        "client",
        "klient",
        "firma",
        "organizacja",
    ),
    "tax_id": ("tax id", "tax_id", "vat id", "vat", "nip"),
    "owner": (
        "owner",
        "deal owner",
        "opportunity owner",
        "owner name",
        "deal - owner",
        "user",
        "właściciel",
        "opiekun",
    ),
    "pipeline": ("pipeline", "deal - pipeline", "lejek", "proces"),
    "stage": ("stage", "deal stage", "deal - stage", "status", "etap"),
    "created": (
        "created",
        "created date",
        "create date",
        "deal created",
        "deal - deal created",
        "created at",
        "data utworzenia",
        "utworzono",
    ),
    "closed": ("close date", "closed", "closed date", "closed at", "data zamknięcia", "zamknięto"),
    "expected_close": ("expected close date", "expected close", "planowane zamknięcie", "przewidywane zamknięcie"),
    "amount": ("amount", "value", "deal value", "deal - value", "kwota", "wartość"),
    "currency": ("currency", "deal - currency", "waluta"),
    "product": ("product", "product name", "produkt"),
    "quantity": ("quantity", "qty", "ilość"),
    "lost_reason": ("lost reason", "closed lost reason", "reason lost", "deal - lost reason", "powód przegranej"),
}
ACTIVITY_GUESSES = {
    "deal_id": ("deal id", "opportunity id", "deal_id", "related deal id", "deal", "id transakcji"),
    "activity_id": ("activity id", "id", "activity_id", "task id", "id aktywności"),
    "type": ("type", "activity type", "typ"),
    "date": ("date", "activity date", "due date", "done time", "data"),
    "duration": ("duration", "duration (min)", "minutes", "czas trwania"),
    "subject": ("subject", "title", "temat"),
    "note": ("note", "notes", "description", "body", "comments", "notatka", "opis"),
    "owner": ("owner", "assigned to", "user", "właściciel"),
}
# words in a source's activity type that say which starter type it is
_TYPE_WORDS = {
    "call": ("call", "phone", "telefon", "rozmowa"),
    "meeting": ("meeting", "spotkanie"),
    "email": ("email", "e-mail", "mail"),
    "note": ("note", "notatka", "comment"),
    "visit": ("visit", "wizyta"),
    "video": ("video", "wideo"),
}
_WON_WORDS = ("won", "wygr", "closed won", "zamówienie")
_LOST_WORDS = ("lost", "przegr", "closed lost", "odrzuc")


def guess_mapping(columns: list[str], kind: str) -> dict[str, str | None]:
    """Target field -> file column, guessed from the header names (`kind`: deals, activities)."""
    guesses = DEAL_GUESSES if kind == "deals" else ACTIVITY_GUESSES
    lowered = {c.lower().strip(): c for c in columns}
    out: dict[str, str | None] = {}
    taken: set[str] = set()
    for target, names in guesses.items():
        column = next((lowered[g] for g in names if g in lowered and lowered[g] not in taken), None)
        out[target] = column
        if column:
            taken.add(column)
    if kind == "deals":  # when each deal entered a stage (HubSpot: Date entered "Proposal (Sales Pipeline)")
        for column in columns:
            m = _ENTERED.match(column.strip())
            if m and column not in taken:
                out[ENTERED + m.group("stage").strip()] = column
    return out


# -- what the source's values become -----------------------------------------------------------
@dataclass
class Choices:
    """How the source's values map onto this organisation's: stages by (pipeline, stage) as
    written in the file, owners by their name or e-mail (a user id, or NEW_USER), activity
    types and lost reasons by name; the amount type the values are; the event type of a deal's history events."""

    stages: dict[tuple[str, str], int | None] = field(default_factory=dict)
    owners: dict[str, int] = field(default_factory=dict)
    types: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)  # lost reasons by name (or NEW_REASON)
    amount_type_id: int | None = None
    history_type_id: int | None = None


def cell_text(record: dict[str, Any], mapping: dict[str, str | None], target: str) -> str:
    column = mapping.get(target)
    value = record.get(column, "") if column else ""
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value).strip()


def _values(frame: pd.DataFrame | None, mapping: dict[str, str | None], *targets: str) -> list[tuple[str, ...]]:
    """The distinct value tuples of these targets, in the file's order."""
    if frame is None or frame.empty:
        return []
    columns = {t: mapping.get(t) for t in targets}
    cells = pd.DataFrame(
        {t: frame[c].fillna("").astype(str).str.strip() if c else "" for t, c in columns.items()}, index=frame.index
    )
    # drawn on every rerun of the import screen: whole columns at once, not a dict per row
    return list(cells.drop_duplicates().itertuples(index=False, name=None))


def source_values(
    deals: pd.DataFrame,
    deal_mapping: dict[str, str | None],
    activities: pd.DataFrame | None = None,
    activity_mapping: dict[str, str | None] | None = None,
) -> dict[str, list]:
    """The distinct stages (pipeline, stage), owners and activity types the files name."""
    owners = [o for (o,) in _values(deals, deal_mapping, "owner") if o]
    if activities is not None and activity_mapping:
        owners += [o for (o,) in _values(activities, activity_mapping, "owner") if o and o not in owners]
    stages = [s for s in _values(deals, deal_mapping, "pipeline", "stage") if s[1]]
    pipelines = list(dict.fromkeys(p for p, _ in stages)) or [""]
    for target, column in deal_mapping.items():
        if target.startswith(ENTERED) and column:
            stages += [(p, target[len(ENTERED) :]) for p in pipelines if (p, target[len(ENTERED) :]) not in stages]
    return {
        "stages": stages,
        "owners": owners,
        "types": [t for (t,) in _values(activities, activity_mapping or {}, "type") if t],
        "reasons": [r for (r,) in _values(deals, deal_mapping, "lost_reason") if r],
    }


def name_key(text: str) -> str:
    return re.sub(r"[^\w]+", " ", text.casefold()).strip()


def guess_choices(db: Database, values: dict[str, list]) -> Choices:
    """The mapping a user most likely means: stages and types by name (in either language),
    'won'/'lost' words to the won and lost stages, owners by login, e-mail or name (unknown:
    a new inactive user); values as the first amount type, history as the note type."""
    with db.read() as tx:
        look = dictionaries.load(tx)
        people = tx.all("SELECT id, login, display_name FROM users")
    choices = Choices()
    pipelines = Lookups.active(look.pipelines)  # in their order
    for pipeline_text, stage_text in values["stages"]:
        pipe = next((p for p in pipelines if names_match(p, pipeline_text)), pipelines[0] if pipelines else None)
        if pipe is None:
            choices.stages[(pipeline_text, stage_text)] = None
            continue
        stages = look.stages_of(pipe.id)
        key = name_key(stage_text)
        stage = next((s for s in stages if names_match(s, stage_text)), None)
        if stage is None and any(w in key for w in _WON_WORDS):
            stage = next((s for s in stages if s.is_won), None)
        if stage is None and any(w in key for w in _LOST_WORDS):
            stage = next((s for s in stages if s.is_lost), None)
        choices.stages[(pipeline_text, stage_text)] = stage.id if stage else None
    for owner in values["owners"]:
        key = owner.casefold().strip()
        match = next((uid for uid, login, name in people if key in (login.casefold(), name.casefold())), None)
        choices.owners[owner] = match if match is not None else NEW_USER
    types = look.active(look.event_types)
    note_type = next((t.id for t in types if name_key(t.name) in ("note", "notatka")), types[0].id if types else None)
    for source in values["types"]:
        match = next((t.id for t in types if names_match(t, source)), None)
        if match is None:
            squashed = _squash(source)
            for words in _TYPE_WORDS.values():
                if any(_squash(w) in squashed for w in words):
                    match = next((t.id for t in types if any(_squash(w) in _squash(t.name) for w in words)), None)
                    if match is not None:
                        break
        choices.types[source] = match if match is not None else note_type
    for source in values.get("reasons", []):
        match = next((r.id for r in look.lost_reasons.values() if names_match(r, source)), None)
        choices.reasons[source] = match if match is not None else NEW_REASON
    amount_types = look.active(look.amount_types)
    choices.amount_type_id = amount_types[0].id if amount_types else None
    choices.history_type_id = note_type
    return choices


def _squash(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.casefold())


def names_match(row: Any, text: str) -> bool:
    key = name_key(text)
    return bool(key) and key in {
        name_key(n) for n in (row.name, getattr(row, "name_en", None), getattr(row, "name_pl", None)) if n
    }


# -- reading dates -----------------------------------------------------------------------------
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?")
_DOTTED = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})(?:[ ,]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_SLASHED = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:[ ,]+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?)?")


def day_first(texts: list[str], lang: str) -> bool:
    """Whether slashed dates of a column read day first (31/12/2025): any first part over 12
    says so, any second part over 12 says the opposite; else the user's language decides."""
    for text in texts:
        m = _SLASHED.fullmatch(text.strip())
        if m and int(m.group(1)) > 12:
            return True
        if m and int(m.group(2)) > 12:
            return False
    return lang != "en"


def parse_moment(text: str, zone: Any, *, day_first_: bool) -> dt.datetime:
    """A date or date and time as exported, in the organisation's zone (a date alone is noon
    there), returned in UTC. Raises ValueError when it is not a date."""
    text = text.strip()
    if _ISO.fullmatch(text):
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        has_time = len(text) > 10
    else:
        m = _DOTTED.fullmatch(text) or _SLASHED.fullmatch(text)
        if not m:
            raise ValueError(text)
        a, b, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
        day, month = (a, b) if m.re is _DOTTED or day_first_ else (b, a)
        hour, minute, second = int(m.group(4) or 0), int(m.group(5) or 0), int(m.group(6) or 0)
        if m.re is _SLASHED and m.group(7):
            hour = hour % 12 + (12 if m.group(7).lower() == "pm" else 0)
        value = dt.datetime(year, month, day, hour, minute, second)
        has_time = m.group(4) is not None
    if not has_time:
        value = value.replace(hour=12)
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    if not 1990 <= value.year <= 2100:
        raise ValueError(text)
    return value.astimezone(dt.UTC)


# -- saved mappings ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Setup:
    """Everything a user chose on the import screen, to save under a name and use again."""

    deals: dict[str, str | None]
    activities: dict[str, str | None]
    choices: Choices


def save_setup(db: Database, actor: User, name: str, chosen: Setup, *, now: dt.datetime | None = None) -> None:
    """Save (or replace) the mapping under `name`."""
    permissions.require_admin(actor)
    name = check_text(name, "name", max_len=MAX_SHORT, required=True)
    c = chosen.choices
    payload = json.dumps(
        {
            "deals": chosen.deals,
            "activities": chosen.activities,
            "stages": [[p, s, v] for (p, s), v in c.stages.items()],
            "owners": c.owners,
            "types": c.types,
            "reasons": c.reasons,
            "amount_type_id": c.amount_type_id,
            "history_type_id": c.history_type_id,
        },
        ensure_ascii=False,
    )

    def work(tx: Tx) -> None:
        tx.execute("DELETE FROM import_mappings WHERE kind = 'deals' AND name = ?", [name])
        tx.execute(
            "INSERT INTO import_mappings (kind, name, mapping, saved_by, saved_at) VALUES ('deals', ?, ?, ?, ?)",
            [name, payload, actor.id, now or clock.now()],
        )
        audit.record(tx, actor.id, "import", None, "mapping", {"name": [None, name]})

    db.write(work)


def saved_setups(db: Database) -> dict[str, Setup]:
    """The saved mappings by name (most recently saved first)."""
    with db.read() as tx:
        rows = tx.all("SELECT name, mapping FROM import_mappings WHERE kind = 'deals' ORDER BY saved_at DESC, name")
    out = {}
    for name, payload in rows:
        data = json.loads(payload)
        choices = Choices(
            stages={(p, s): v for p, s, v in data["stages"]},
            owners=dict(data["owners"]),
            types=dict(data["types"]),
            reasons=dict(data.get("reasons", {})),
            amount_type_id=data["amount_type_id"],
            history_type_id=data["history_type_id"],
        )
        out[name] = Setup(dict(data["deals"]), dict(data["activities"]), choices)
    return out
