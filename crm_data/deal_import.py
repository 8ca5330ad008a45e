"""Moving in: deals (threads) and their activities from another CRM's export (CSV or XLSX).

The screen reads both files (`imports.read_table`), guesses which column holds what
(`guess_mapping`) and how the source's stages, owners and activity types map onto this
organisation's (`guess_choices`); the user edits both; `plan` checks every row and says what
would happen to it — new, update, unchanged or error, with the reason — and writes nothing;
`apply` writes the whole import in one transaction, all or nothing.

What a deal becomes, so that the reports are right from its first day here:
- a thread of its account's client (matched by tax id or a name that looks the same, as the
  clients import matches; else created), owned by the mapped user (an unknown owner can be
  created as an inactive user), in the mapped stage;
- an open deal: one done event at its created date that records the stage it is in now, with
  its amount and product; expected to close on its (expected) close date, else its pipeline's
  typical length after it opened;
- a won or lost deal: an opening event at its created date in the pipeline's first stage, and a
  closing event at its close date that moves it to the won or lost stage (a lost one with its
  lost reason, "Imported" when the export has none), with its amount and product — so Money
  counts a won deal's value on the day it was won, the funnel counts it reached every stage
  before, and days to close are close minus created;
- events written as a logged event's are (the same tables, checks and rollups), in bulk.

The original ids are kept (`import_keys`): the same file imported again changes nothing; a deal
whose row changed gets what a salesperson would log — a stage change, a correction of its
amount, a new title, owner or expected close — never a second thread. Activities (calls,
meetings, e-mails, notes) attach to their deal by its id; an activity in the future is not
imported (it would be planned work: plan it here)."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import re
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import duckdb
import pandas as pd

from crm_data import audit, clock, dictionaries, permissions, rollups, users
from crm_data import settings as org_settings
from crm_data.clients import ClientInput, check_client
from crm_data.db import Database, Tx
from crm_data.dictionaries import Lookups
from crm_data.errors import FieldError, ValidationError
from crm_data.i18n import translate
from crm_data.rules import (
    MAX_NAME,
    MAX_NOTE,
    MAX_SHORT,
    MAX_TITLE,
    check_amount,
    check_quantity,
    check_text,
    line_value,
)
from crm_data.threads import DEFAULT_TYPICAL_DAYS
from crm_data.users import User

MAX_DEALS = 50_000
MAX_ACTIVITIES = 200_000
FUTURE_GRACE = dt.timedelta(hours=12)
NEW_USER = -1  # an owner mapped to "create an inactive user"
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
    types by name; the amount type the values are; the event type of a deal's history events."""

    stages: dict[tuple[str, str], int | None] = field(default_factory=dict)
    owners: dict[str, int] = field(default_factory=dict)
    types: dict[str, int] = field(default_factory=dict)
    amount_type_id: int | None = None
    history_type_id: int | None = None


def _cell(record: dict[str, Any], mapping: dict[str, str | None], target: str) -> str:
    column = mapping.get(target)
    value = record.get(column, "") if column else ""
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value).strip()


def _values(frame: pd.DataFrame | None, mapping: dict[str, str | None], *targets: str) -> list[tuple[str, ...]]:
    """The distinct value tuples of these targets, in the file's order."""
    if frame is None or frame.empty:
        return []
    seen: dict[tuple[str, ...], None] = {}
    for record in frame.to_dict("records"):
        seen.setdefault(tuple(_cell(record, mapping, t) for t in targets), None)
    return list(seen)


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
    }


def _key(text: str) -> str:
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
        pipe = next((p for p in pipelines if _names_match(p, pipeline_text)), pipelines[0] if pipelines else None)
        if pipe is None:
            choices.stages[(pipeline_text, stage_text)] = None
            continue
        stages = look.stages_of(pipe.id)
        key = _key(stage_text)
        stage = next((s for s in stages if _names_match(s, stage_text)), None)
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
    note_type = next((t.id for t in types if _key(t.name) in ("note", "notatka")), types[0].id if types else None)
    for source in values["types"]:
        match = next((t.id for t in types if _names_match(t, source)), None)
        if match is None:
            squashed = _squash(source)
            for words in _TYPE_WORDS.values():
                if any(_squash(w) in squashed for w in words):
                    match = next((t.id for t in types if any(_squash(w) in _squash(t.name) for w in words)), None)
                    if match is not None:
                        break
        choices.types[source] = match if match is not None else note_type
    amount_types = look.active(look.amount_types)
    choices.amount_type_id = amount_types[0].id if amount_types else None
    choices.history_type_id = note_type
    return choices


def _squash(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.casefold())


def _names_match(row: Any, text: str) -> bool:
    key = _key(text)
    return bool(key) and key in {
        _key(n) for n in (row.name, getattr(row, "name_en", None), getattr(row, "name_pl", None)) if n
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


# -- the preview -------------------------------------------------------------------------------
@dataclass
class Row:
    line: int  # as the user sees it in the file (header is line 1)
    kind: str  # deal, activity
    external_id: str
    status: str = "new"  # new, update, unchanged, error
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[FieldError] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)  # what an update changes, as field names
    fingerprint: str = ""


@dataclass
class ImportPlan:
    deals: list[Row]
    activities: list[Row]
    choices: Choices
    new_clients: list[str]  # names of the clients the import creates
    new_owners: list[str]
    new_products: list[str]
    new_lost_reasons: list[str]
    new_stages: dict[tuple[str, str], int] = field(default_factory=dict)  # (pipeline, stage) -> pipeline id

    def counts(self, kind: str) -> dict[str, int]:
        out = {"new": 0, "update": 0, "unchanged": 0, "error": 0}
        for row in self.deals if kind == "deals" else self.activities:
            out[row.status] += 1
        return out

    @property
    def writes(self) -> int:
        return sum(r.status in ("new", "update") for r in [*self.deals, *self.activities])


def _fingerprint(values: dict[str, Any]) -> str:
    plain = json.dumps({k: str(v) for k, v in sorted(values.items())}, ensure_ascii=False)
    return hashlib.sha256(plain.encode()).hexdigest()[:32]


def _check_mapping(frame: pd.DataFrame, mapping: dict[str, str | None], targets: tuple, required: tuple) -> None:
    errors = [FieldError(f"mapping.{t}", "moving.map_required", {"field": t}) for t in required if not mapping.get(t)]
    for target, column in mapping.items():
        known = target in targets or (
            targets is DEAL_TARGETS and target.startswith(ENTERED) and len(target) > len(ENTERED)
        )
        if not known or (column is not None and column not in frame.columns):
            errors.append(FieldError(f"mapping.{target}", "validation.choice"))
    if errors:
        raise ValidationError(errors)


def plan(
    db: Database,
    deals: pd.DataFrame,
    deal_mapping: dict[str, str | None],
    choices: Choices,
    activities: pd.DataFrame | None = None,
    activity_mapping: dict[str, str | None] | None = None,
    *,
    lang: str = "en",
    now: dt.datetime | None = None,
) -> ImportPlan:
    """Check every row of both files against the mapping and the database; write nothing. A bad
    row is an error row with its reasons; it never stops the preview."""
    now = now or clock.now()
    _check_mapping(deals, deal_mapping, DEAL_TARGETS, DEAL_REQUIRED)
    if len(deals) > MAX_DEALS:
        raise ValidationError.single("file", "import.too_many_rows", max=MAX_DEALS)
    if activities is not None:
        if not activity_mapping:
            raise ValidationError.single("mapping.deal_id", "moving.map_required", field="deal_id")
        _check_mapping(activities, activity_mapping, ACTIVITY_TARGETS, ACTIVITY_REQUIRED)
        if len(activities) > MAX_ACTIVITIES:
            raise ValidationError.single("file", "import.too_many_rows", max=MAX_ACTIVITIES)
    org = org_settings.cached(db)
    zone = org_settings.zone(org)
    with db.read() as tx:
        look = dictionaries.load(tx)
        client_names = dict(tx.all("SELECT name_key, id FROM clients"))
        client_tax = dict(tx.all("SELECT tax_id, id FROM clients WHERE tax_id IS NOT NULL"))
        user_ids = {row[0] for row in tx.all("SELECT id FROM users")}
        known = {
            (kind, ext): (entity, fp)
            for kind, ext, entity, fp in tx.all("SELECT kind, external_id, entity_id, fingerprint FROM import_keys")
        }
        current = {
            row[0]: row
            for row in tx.all(
                "SELECT t.id, t.client_id, t.stage_id, t.owner_id, t.title, t.expected_close, t.lost_reason_id,"
                " coalesce(v.value, 0) FROM threads t LEFT JOIN thread_values v"
                " ON v.thread_id = t.id AND v.amount_type_id = ?"
                " WHERE t.id IN (SELECT entity_id FROM import_keys WHERE kind = 'deal')",
                [choices.amount_type_id],
            )
        }
    if choices.amount_type_id not in look.amount_types:
        raise ValidationError.single("amount_type_id", "validation.choice")
    if choices.history_type_id not in look.event_types:
        raise ValidationError.single("history_type_id", "validation.choice")
    products = {}
    for p in look.products.values():
        products.setdefault(_key(p.code), p)
        products.setdefault(_key(p.name), p)
    reasons = {}
    for r in look.lost_reasons.values():
        for name in (r.name, getattr(r, "name_en", None), getattr(r, "name_pl", None)):
            if name:
                reasons.setdefault(_key(name), r.id)
    imported_reason = translate("moving.imported_reason", org.default_language)

    records = deals.to_dict("records")
    created_first = day_first([_cell(r, deal_mapping, t) for r in records for t in ("created", "closed")], lang)
    seen_ids: dict[str, int] = {}
    new_clients: dict[str, str] = {}
    new_products: dict[str, str] = {}
    new_reasons: dict[str, str] = {}
    new_stages: dict[tuple[str, str], int] = {}
    new_owners: set[str] = set()
    out_deals: list[Row] = []
    deal_threads: dict[str, Row] = {}
    for i, record in enumerate(records):
        cell = lambda t, record=record: _cell(record, deal_mapping, t)  # noqa: E731
        row = Row(i + 2, "deal", cell("deal_id"))
        err = row.errors
        v = row.values

        def check(fn: Any, row: Row = row) -> Any:
            try:
                return fn()
            except ValidationError as exc:
                row.errors.extend(exc.errors)
                return None

        if not row.external_id:
            err.append(FieldError("deal_id", "validation.required"))
        elif len(row.external_id) > MAX_SHORT:
            err.append(FieldError("deal_id", "validation.too_long", {"max": MAX_SHORT}))
        elif row.external_id in seen_ids:
            err.append(FieldError("deal_id", "moving.id_twice", {"line": seen_ids[row.external_id]}))
        else:
            seen_ids[row.external_id] = row.line
        client = check(lambda cell=cell: check_client(ClientInput(name=cell("account"), tax_id=cell("tax_id"))))
        if client:
            v["client_name"] = client["name"]
            v["client_key"] = client["name_key"]
            v["client_tax"] = client["tax_id"]
            found = client_tax.get(client["tax_id"]) if client["tax_id"] else None
            v["client_id"] = found if found is not None else client_names.get(client["name_key"])
            if v["client_id"] is None:
                new_clients.setdefault(client["name_key"], client["name"])
        title = check(lambda cell=cell: check_text(cell("title"), "title", max_len=MAX_TITLE)) or ""
        v["title"] = title or f"{v.get('client_name', '')} ({row.external_id})"[:MAX_TITLE]
        owner_text = cell("owner")
        owner = choices.owners.get(owner_text) if owner_text else None
        if owner_text and owner is None:
            err.append(FieldError("owner", "moving.owner_unmapped", {"owner": owner_text}))
        elif owner == NEW_USER:
            check(lambda o=owner_text: check_text(o, "owner", max_len=MAX_SHORT, required=True))
            new_owners.add(owner_text)
        elif owner is not None and owner not in user_ids:
            err.append(FieldError("owner", "validation.choice"))
        v["owner"] = owner_text if owner == NEW_USER else owner  # None: the importing user
        stage_key = (cell("pipeline"), cell("stage"))
        stage_id = choices.stages.get(stage_key)
        if stage_id == NEW_STAGE and stage_key[1]:
            check(lambda t=stage_key[1]: check_text(t, "stage", max_len=MAX_NAME, required=True))
            pipe = next((p for p in Lookups.active(look.pipelines) if _names_match(p, stage_key[0])), None)
            pipe = pipe or next(iter(Lookups.active(look.pipelines)), None)
            if pipe is not None:
                new_stages.setdefault(stage_key, pipe.id)
                stage = _new_stage(pipe.id, stage_key[1])
            else:
                stage = None
        else:
            stage = look.stages.get(stage_id) if stage_id is not None else None
        if stage is None and cell("stage"):
            err.append(FieldError("stage", "moving.stage_unmapped", {"stage": cell("stage")}))
        elif stage is None:
            err.append(FieldError("stage", "validation.required"))
        else:
            v["stage_id"] = stage.id
            v["pipeline_id"] = stage.pipeline_id
            v["stage_key"] = stage_key
        moments = {}
        for target in ("created", "closed", "expected_close"):
            text = cell(target)
            if not text:
                moments[target] = None
                continue
            try:
                moments[target] = parse_moment(text, zone, day_first_=created_first)
            except ValueError:
                err.append(FieldError(target, "moving.not_a_date", {"value": text[:40]}))
                moments[target] = None
        created, closed = moments["created"], moments["closed"]
        if created is None and not cell("created"):
            err.append(FieldError("created", "validation.required"))
        if created is not None and created > now + FUTURE_GRACE:
            err.append(FieldError("created", "moving.future"))
        closes = stage is not None and stage.closes
        if closes:
            if closed is None and not cell("closed"):
                err.append(FieldError("closed", "moving.close_date_needed"))
            elif closed is not None and closed > now + FUTURE_GRACE:
                err.append(FieldError("closed", "moving.future"))
            elif closed is not None and created is not None and closed < created:
                err.append(FieldError("closed", "moving.close_before_created"))
        v["created"] = created
        v["closed"] = closed if closes else None
        v["entered"] = _entered(record, deal_mapping, choices, look, row, zone, created_first, new_stages)
        if stage is not None and created is not None:
            end = (closed if closes else None) or now + FUTURE_GRACE
            for moment, _, text in v["entered"]:
                if not created <= moment <= end:
                    err.append(FieldError(ENTERED + text, "moving.entered_outside", {"stage": text}))
        expected = moments["expected_close"] or (closed if not closes else None)
        v["expected_close"] = expected.astimezone(zone).date() if expected else None
        amount = check(lambda cell=cell: check_amount(cell("amount"), "amount", lang)) if cell("amount") else None
        v["amount"] = amount
        currency = cell("currency").upper()
        if currency and currency != org.currency.upper():
            err.append(FieldError("currency", "moving.currency", {"currency": currency, "ours": org.currency}))
        product_text = cell("product")
        v["product"] = None
        if product_text:
            known_product = products.get(_key(product_text))
            if known_product is None:
                check(lambda t=product_text: check_text(t, "product", max_len=MAX_NAME, required=True))
                new_products.setdefault(_key(product_text), product_text)
            v["product"] = known_product.id if known_product else _key(product_text)
            v["quantity"] = (
                check(lambda cell=cell: check_quantity(cell("quantity"), "quantity", lang))
                if cell("quantity")
                else Decimal(1)
            )
            v["list_price"] = known_product.price if known_product else Decimal(0)
        v["lost_reason"] = None
        if stage is not None and stage.is_lost:
            reason_text = cell("lost_reason") or imported_reason
            rid = reasons.get(_key(reason_text))
            if rid is None:
                check(lambda t=reason_text: check_text(t, "lost_reason", max_len=MAX_NAME, required=True))
                new_reasons.setdefault(_key(reason_text), reason_text)
            v["lost_reason"] = rid if rid is not None else _key(reason_text)
        row.fingerprint = _fingerprint(
            # the owner as the file names them: a new owner is a user after the first import
            # the stage as the file names it: a stage created here gets its id with the first import
            {k: v.get(k) for k in ("client_key", "client_tax", "title", "stage_key", "created", "closed")}
            | {"owner": owner_text}
            | {k: v.get(k) for k in ("expected_close", "amount", "quantity")}
            | {"product": _key(product_text), "lost_reason": _key(cell("lost_reason"))}
            | ({"entered": [(m, text) for m, _, text in v["entered"]]} if v["entered"] else {})
        )
        if err:
            row.status = "error"
        elif ("deal", row.external_id) in known:
            thread_id, fingerprint = known[("deal", row.external_id)]
            v["thread_id"] = thread_id
            if fingerprint == row.fingerprint:
                row.status = "unchanged"
            else:
                row.status = "update"
                row.changes = _deal_changes(v, current.get(thread_id))
                if "amount" in row.changes:
                    v["amount_delta"] = (v["amount"] or Decimal(0)) - current[thread_id][7]
                if "client" in row.changes:
                    row.status = "error"
                    err.append(FieldError("account", "moving.other_client"))
        out_deals.append(row)
        if row.status != "error":
            deal_threads[row.external_id] = row

    out_activities: list[Row] = []
    if activities is not None and activity_mapping:
        a_records = activities.to_dict("records")
        a_first = day_first([_cell(r, activity_mapping, "date") for r in a_records], lang)
        seen_activities: dict[str, int] = {}
        for i, record in enumerate(a_records):
            out_activities.append(_activity_row(i + 2, record, activity_mapping, choices, look, zone, a_first, now))
            row = out_activities[-1]
            v = row.values
            if row.external_id in seen_activities:
                row.errors.append(
                    FieldError("activity_id", "moving.id_twice", {"line": seen_activities[row.external_id]})
                )
            seen_activities.setdefault(row.external_id, row.line)
            deal_id = v.get("deal_id", "")
            if deal_id in deal_threads and "thread_id" in deal_threads[deal_id].values:
                v["thread_id"] = deal_threads[deal_id].values["thread_id"]  # imported before
            elif deal_id in deal_threads:
                v["deal_line"] = deal_threads[deal_id].line
            elif deal_id in seen_ids:
                row.errors.append(FieldError("deal_id", "moving.deal_error", {"line": seen_ids[deal_id]}))
            elif ("deal", deal_id) in known:
                v["thread_id"] = known[("deal", deal_id)][0]
            elif deal_id:
                row.errors.append(FieldError("deal_id", "moving.no_deal", {"deal": deal_id}))
            owner_text = v.pop("owner_text")
            owner = choices.owners.get(owner_text) if owner_text else None
            if owner == NEW_USER:
                new_owners.add(owner_text)
            v["owner"] = owner_text if owner == NEW_USER else owner
            if row.errors:
                row.status = "error"
            elif ("activity", row.external_id) in known:
                event_id, fingerprint = known[("activity", row.external_id)]
                v["event_id"] = event_id
                row.status = "unchanged" if fingerprint == row.fingerprint else "update"
    used_clients = {r.values.get("client_key") for r in out_deals if r.status == "new"}
    used_owners = {r.values.get("owner") for r in [*out_deals, *out_activities] if r.status in ("new", "update")}
    return ImportPlan(
        out_deals,
        out_activities,
        choices,
        [name for key, name in new_clients.items() if key in used_clients],
        sorted(o for o in new_owners if o in used_owners),
        [
            name
            for key, name in new_products.items()
            if any(r.values.get("product") == key for r in out_deals if r.status != "error")
        ],
        [
            name
            for key, name in new_reasons.items()
            if any(r.values.get("lost_reason") == key for r in out_deals if r.status != "error")
        ],
        {
            k: pid
            for k, pid in new_stages.items()
            if any(
                r.values.get("stage_key") == k
                or any(sid == NEW_STAGE and t == k[1] for _, sid, t in r.values.get("entered", []))
                for r in out_deals
                if r.status in ("new", "update")
            )
        },
    )


def _entered(
    record: dict[str, Any],
    mapping: dict[str, str | None],
    choices: Choices,
    look: Lookups,
    row: Row,
    zone: Any,
    day_first_: bool,
    new_stages: dict[tuple[str, str], int],
) -> list[tuple[dt.datetime, int, str]]:
    """When the deal entered each stage the file dates (moment, stage id or NEW_STAGE, the stage
    as the file names it), in time order; a pipeline's first stage is its opening and a won or
    lost one its close date, so those are left out."""
    pipeline_text = _cell(record, mapping, "pipeline")
    out = []
    for target, column in mapping.items():
        if not target.startswith(ENTERED) or not column:
            continue
        text, value = target[len(ENTERED) :], _cell(record, mapping, target)
        if not value:
            continue
        try:
            moment = parse_moment(value, zone, day_first_=day_first_)
        except ValueError:
            row.errors.append(FieldError(target, "moving.not_a_date", {"value": value[:40]}))
            continue
        stage_id = choices.stages.get((pipeline_text, text))
        if stage_id == NEW_STAGE:
            pipe = next((p for p in Lookups.active(look.pipelines) if _names_match(p, pipeline_text)), None)
            pipe = pipe or next(iter(Lookups.active(look.pipelines)), None)
            if pipe is not None:
                new_stages.setdefault((pipeline_text, text), pipe.id)
                out.append((moment, NEW_STAGE, text))
            continue
        stage = look.stages.get(stage_id) if stage_id is not None else None
        if stage is None:
            row.errors.append(FieldError(target, "moving.stage_unmapped", {"stage": text}))
        elif not stage.closes and stage != look.first_stage(stage.pipeline_id):
            out.append((moment, stage.id, text))
    return sorted(out)


def _new_stage(pipeline_id: int, name: str) -> dictionaries.Stage:
    """The stage an import will create (id NEW_STAGE until it is written): open, not a commit."""
    return dictionaries.Stage(NEW_STAGE, pipeline_id, 0, name, 0, False, False, True)


def _deal_changes(v: dict[str, Any], now_row: tuple | None) -> list[str]:
    """What a re-imported deal changes on its thread (None: the thread is gone)."""
    if now_row is None:
        return ["client"]
    _, client_id, stage_id, owner_id, title, expected_close, _lost_reason_id, value = now_row
    out = []
    if (v.get("client_id") is not None and v["client_id"] != client_id) or v.get("client_id") is None:
        out.append("client")
    if v["stage_id"] != stage_id:
        out.append("stage")
    if (isinstance(v["owner"], int) and v["owner"] != owner_id) or isinstance(v["owner"], str):
        out.append("owner")
    if v["title"] != title:
        out.append("title")
    if v["expected_close"] is not None and v["expected_close"] != expected_close:
        out.append("expected_close")
    if (v["amount"] or Decimal(0)) != value:
        out.append("amount")
    return out


def _activity_row(
    line: int,
    record: dict[str, Any],
    mapping: dict[str, str | None],
    choices: Choices,
    look: dictionaries.Lookups,
    zone: Any,
    day_first_: bool,
    now: dt.datetime,
) -> Row:
    cell = lambda t: _cell(record, mapping, t)  # noqa: E731
    v: dict[str, Any] = {"deal_id": cell("deal_id"), "owner_text": cell("owner")}
    row = Row(line, "activity", "", values=v)
    err = row.errors
    if not v["deal_id"]:
        err.append(FieldError("deal_id", "validation.required"))
    type_text = cell("type")
    type_id = choices.types.get(type_text) if type_text else None
    event_type = look.event_types.get(type_id) if type_id is not None else None
    if event_type is None:
        err.append(
            FieldError("type", "moving.type_unmapped" if type_text else "validation.required", {"type": type_text})
        )
    v["type_id"] = type_id
    starts = None
    if not cell("date"):
        err.append(FieldError("date", "validation.required"))
    else:
        try:
            starts = parse_moment(cell("date"), zone, day_first_=day_first_)
        except ValueError:
            err.append(FieldError("date", "moving.not_a_date", {"value": cell("date")[:40]}))
    if starts is not None and starts > now + FUTURE_GRACE:
        err.append(FieldError("date", "moving.activity_future"))
    minutes = event_type.default_duration_min if event_type else 15
    if cell("duration"):
        try:
            minutes = int(Decimal(cell("duration").replace(",", ".")))
        except ArithmeticError:
            err.append(FieldError("duration", "validation.not_a_number"))
        if not 1 <= minutes <= 24 * 60:
            err.append(FieldError("duration", "validation.range", {"lo": 1, "hi": 24 * 60}))
    v["starts_at"] = starts
    v["ends_at"] = starts + dt.timedelta(minutes=max(minutes, 1)) if starts else None
    note = "\n\n".join(part for part in (cell("subject"), cell("note")) if part)
    try:
        v["note"] = check_text(note, "note", max_len=MAX_NOTE, multiline=True)
    except ValidationError as exc:
        err.extend(exc.errors)
    row.fingerprint = _fingerprint(
        {k: v.get(k) for k in ("deal_id", "type_id", "starts_at", "ends_at", "note", "owner_text")}
    )
    row.external_id = cell("activity_id") or f"#{row.fingerprint}"
    return row


# -- writing -----------------------------------------------------------------------------------
def apply(db: Database, actor: User, import_plan: ImportPlan, *, now: dt.datetime | None = None) -> dict[str, int]:
    """Write every new and changed row in one transaction (all or nothing); rows with errors and
    unchanged rows are skipped. Returns counts of what was written."""
    permissions.require_admin(actor)
    now = now or clock.now()
    # hashing is slow: the passwords of new inactive owners (nobody signs in as them) first
    new_users = {
        name: users.prepare_user(
            login=_login(name), display_name=name, password=secrets.token_urlsafe(24), role="member"
        )
        for name in import_plan.new_owners
    }
    return db.write(lambda tx: _write(tx, actor, import_plan, new_users, now))


def _login(name: str) -> str:
    base = re.sub(r"[^a-z0-9._@-]+", ".", name.casefold()).strip(".") or "user"
    return f"{base[:40]}.{secrets.token_hex(2)}"


def _reserve(tx: Tx, sequence: str, count: int) -> list[int]:
    if not count:
        return []
    return [r[0] for r in tx.all(f"SELECT nextval('{sequence}') FROM range({int(count)}) ORDER BY 1")]


def _insert(tx: Tx, table: str, rows: list[dict[str, Any]]) -> None:
    """Insert many rows at once from a frame (the cursor itself: the whole import counts as a
    change of every table, so every cached read is recomputed after it)."""
    if not rows:
        return
    frame = pd.DataFrame(rows)
    for column in frame.columns:  # exact amounts: as text, cast by the table's own column type
        if frame[column].map(lambda x: isinstance(x, Decimal)).any():
            frame[column] = frame[column].map(lambda x: None if x is None else str(x))
    raw = tx.raw
    name = f"imp_{table}"
    raw.register(name, frame)
    try:
        columns = ", ".join(frame.columns)
        raw.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {name}").fetchall()
    except BaseException:
        tx.failed = True
        raise
    finally:
        with contextlib.suppress(duckdb.Error):  # an aborted transaction refuses even this
            raw.unregister(name)


def _write(tx: Tx, actor: User, p: ImportPlan, new_users: dict[str, users.NewUser], now: dt.datetime) -> dict[str, int]:
    look = dictionaries.load(tx)
    org = org_settings.load_tx(tx)
    zone = org_settings.zone(org)
    counts = {"threads": 0, "updated": 0, "events": 0, "clients": 0}
    # the owners, products and lost reasons the import creates
    owner_ids: dict[str, int] = {}
    for name, new in new_users.items():
        user = users.insert_user(tx, actor, new)
        tx.execute("UPDATE users SET active = false WHERE id = ?", [user.id])
        owner_ids[name] = user.id
    product_ids: dict[str, int] = {}
    for name in p.new_products:
        product_ids[_key(name)] = tx.scalar(
            "INSERT INTO products (code, name, price) VALUES (?, ?, 0) RETURNING id", [name[:MAX_SHORT], name]
        )
        audit.record(tx, actor.id, "products", product_ids[_key(name)], "create", {"name": [None, name]})
    reason_ids: dict[str, int] = {}
    for name in p.new_lost_reasons:
        reason_ids[_key(name)] = tx.scalar(
            "INSERT INTO lost_reasons (name, name_en, name_pl, sequence) VALUES (?, ?, ?, 100) RETURNING id",
            [name, name, name],
        )
        audit.record(tx, actor.id, "lost_reasons", reason_ids[_key(name)], "create", {"name": [None, name]})
    stage_ids: dict[tuple[str, str], int] = {}
    for (pipeline_text, name), pipeline_id in p.new_stages.items():
        # an open stage after the pipeline's open ones, before its won and lost ones
        last = tx.one(
            "SELECT max(sequence), arg_max(percent, sequence) FROM stages"
            " WHERE pipeline_id = ? AND NOT is_won AND NOT is_lost",
            [pipeline_id],
        )
        sequence = (last[0] or 0) + 1
        tx.execute(
            "UPDATE stages SET sequence = sequence + 1 WHERE pipeline_id = ? AND sequence >= ?", [pipeline_id, sequence]
        )
        stage_ids[(pipeline_text, name)] = tx.scalar(
            "INSERT INTO stages (pipeline_id, sequence, name, name_en, name_pl, percent)"
            " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            [pipeline_id, sequence, name, name, name, last[1] if last[1] is not None else 50],
        )
        audit.record(tx, actor.id, "stages", stage_ids[(pipeline_text, name)], "create", {"name": [None, name]})
    if stage_ids:
        look = dictionaries.load(tx)

    def stage_of(v: dict[str, Any]) -> dictionaries.Stage:
        return look.stages[stage_ids[v["stage_key"]] if v["stage_id"] == NEW_STAGE else v["stage_id"]]

    clients = dict(tx.all("SELECT name_key, id FROM clients"))
    taxes = dict(tx.all("SELECT tax_id, id FROM clients WHERE tax_id IS NOT NULL"))

    def owner_of(v: dict[str, Any], default: int) -> int:
        owner = v.get("owner")
        return owner_ids[owner] if isinstance(owner, str) else owner if owner is not None else default

    new_deals = [r for r in p.deals if r.status == "new"]
    # clients first: matched again inside the transaction (another admin may have added one)
    client_rows = []
    for row in new_deals:
        v = row.values
        cid = (taxes.get(v["client_tax"]) if v["client_tax"] else None) or clients.get(v["client_key"])
        if cid is None:
            cid = tx.scalar(
                "INSERT INTO clients (name, name_key, tax_id, created_by) VALUES (?, ?, ?, ?) RETURNING id",
                [v["client_name"], v["client_key"], v["client_tax"], actor.id],
            )
            clients[v["client_key"]] = cid
            if v["client_tax"]:
                taxes[v["client_tax"]] = cid
            client_rows.append(cid)
            audit.record(tx, actor.id, "client", cid, "create", {"name": [None, v["client_name"]]})
        v["client_id"] = cid
    counts["clients"] = len(client_rows)

    typical = dict(tx.all("SELECT id, coalesce(typical_days, ?) FROM pipelines", [DEFAULT_TYPICAL_DAYS]))
    history = look.event_types[p.choices.history_type_id]
    minutes = dt.timedelta(minutes=history.default_duration_min or 5)
    lang = org.default_language
    thread_ids = _reserve(tx, "threads_seq", len(new_deals))
    threads, events, amounts, lines, keys = [], [], [], [], []
    values_added: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    amount_type = p.choices.amount_type_id

    def event(
        thread_id: int, client_id: int, author: int, at: dt.datetime, end: dt.datetime, note: str, **kw: Any
    ) -> dict:
        row = {
            "thread_id": thread_id,
            "client_id": client_id,
            "type_id": kw.get("type_id", history.id),
            "author_id": author,
            "assignee_id": author,
            "status": "done",
            "starts_at": at,
            "ends_at": end,
            "note": note,
            "stage_id": kw.get("stage_id"),
            "lost_reason_id": kw.get("lost_reason_id"),
            "completed_at": end,
            "created_at": now,
            "updated_at": now,
        }
        events.append(row)
        return row

    def money(v: dict[str, Any], thread_id: int) -> None:
        """The deal's amount and product on the event appended last."""
        if v["amount"] is not None:
            amounts.append((len(events) - 1, amount_type, v["amount"]))
            values_added[(thread_id, amount_type)] += v["amount"]
        if v["product"] is not None:
            pid = v["product"] if isinstance(v["product"], int) else product_ids[v["product"]]
            qty = v["quantity"]
            value = v["amount"] if v["amount"] is not None else line_value(qty, v["list_price"])
            unit = (value / qty).quantize(Decimal("0.01"))
            lines.append((len(events) - 1, pid, qty, unit, value))

    for row, thread_id in zip(new_deals, thread_ids, strict=True):
        v = row.values
        stage = stage_of(v)
        owner = owner_of(v, actor.id)
        created, closed = v["created"], v["closed"]
        first = look.first_stage(stage.pipeline_id) or stage
        expected = v["expected_close"] or (closed or created).astimezone(zone).date()
        if not stage.closes and v["expected_close"] is None:
            expected = created.astimezone(zone).date() + dt.timedelta(days=typical.get(stage.pipeline_id) or 30)
        reason = v["lost_reason"]
        reason_id = reason if isinstance(reason, int) or reason is None else reason_ids[reason]
        threads.append(
            {
                "id": thread_id,
                "client_id": v["client_id"],
                "pipeline_id": stage.pipeline_id,
                "title": v["title"],
                "owner_id": owner,
                "stage_id": stage.id,
                "status": stage.thread_status,
                "lost_reason_id": reason_id,
                "opened_at": created,
                "closed_at": closed if stage.closes else None,
                "last_event_at": created,  # set below, after its events
                "created_by": actor.id,
                "expected_close": expected,
            }
        )
        # the history: opened, each dated stage it entered, then where it is now (or closed)
        entered = [(m, stage_ids[(v["stage_key"][0], t)] if sid == NEW_STAGE else sid) for m, sid, t in v["entered"]]
        opened_in = first.id if entered or stage.closes else stage.id
        note = translate("moving.opened_note", lang)
        event(thread_id, v["client_id"], owner, created, created + minutes, note, stage_id=opened_in)
        for moment, sid in entered:
            note = translate("moving.entered_note", lang, stage=look.stages[sid].name)
            event(thread_id, v["client_id"], owner, moment, moment + minutes, note, stage_id=sid)
        if stage.closes:
            note = translate("moving.closed_note", lang, stage=stage.name)
            event(
                thread_id,
                v["client_id"],
                owner,
                closed,
                closed + minutes,
                note,
                stage_id=stage.id,
                lost_reason_id=reason_id,
            )
        elif entered and entered[-1][1] != stage.id:  # its stage now, entered on a day the file does not say
            at = entered[-1][0] + minutes
            event(
                thread_id,
                v["client_id"],
                owner,
                at,
                at + minutes,
                translate("moving.entered_note", lang, stage=stage.name),
                stage_id=stage.id,
            )
        money(v, thread_id)
        last = max(e["ends_at"] for e in events[-(2 + len(entered)) :] if e["thread_id"] == thread_id)
        threads[-1]["last_event_at"] = last
        keys.append(("deal", row.external_id, thread_id, row.fingerprint))
        audit.record(
            tx,
            actor.id,
            "thread",
            thread_id,
            "create",
            {"title": [None, v["title"]], "stage": [None, stage.name], "import_id": [None, row.external_id]},
        )
    counts["threads"] = len(threads)

    # changed deals: what a salesperson would log
    for row in (r for r in p.deals if r.status == "update"):
        _update_deal(tx, actor, row, look, stage_of(row.values), owner_of, event, money, reason_ids, now, lang, minutes)
        keys.append(("deal", row.external_id, row.values["thread_id"], row.fingerprint))
        counts["updated"] += 1

    # activities
    thread_of_line = {r.line: t for r, t in zip(new_deals, thread_ids, strict=True)}
    client_of_line = {r.line: r.values["client_id"] for r in new_deals}
    owner_of_line = {r.line: owner_of(r.values, actor.id) for r in new_deals}
    wanted = [r for r in p.activities if r.status in ("new", "update")]
    known_threads = {r.values["thread_id"] for r in wanted if "thread_id" in r.values}
    thread_info = {
        t: (c, o)
        for t, c, o in (
            tx.all("SELECT id, client_id, owner_id FROM threads WHERE id IN (SELECT unnest(?))", [list(known_threads)])
            if known_threads
            else []
        )
    }
    touched: dict[int, dt.datetime] = {}
    for row in wanted:
        v = row.values
        if "deal_line" in v:
            thread_id, client_id, deal_owner = (
                thread_of_line[v["deal_line"]],
                client_of_line[v["deal_line"]],
                owner_of_line[v["deal_line"]],
            )
        else:
            thread_id = v["thread_id"]
            client_id, deal_owner = thread_info[thread_id]
        author = owner_of(v, deal_owner)
        if row.status == "update":
            tx.execute(
                "UPDATE events SET type_id = ?, starts_at = ?, ends_at = ?, note = ?, author_id = ?, assignee_id = ?,"
                " completed_at = ?, updated_at = ?, version = version + 1 WHERE id = ?",
                [
                    v["type_id"],
                    v["starts_at"],
                    v["ends_at"],
                    v["note"],
                    author,
                    author,
                    v["ends_at"],
                    now,
                    v["event_id"],
                ],
            )
            keys.append(("activity", row.external_id, v["event_id"], row.fingerprint))
        else:
            event(thread_id, client_id, author, v["starts_at"], v["ends_at"], v["note"], type_id=v["type_id"])
            events[-1]["_key"] = (row.external_id, row.fingerprint)
        touched[thread_id] = max(touched.get(thread_id, v["ends_at"]), v["ends_at"])
    new_rows = {t["id"]: t for t in threads}
    for thread_id, at in touched.items():
        if thread_id in new_rows:
            new_rows[thread_id]["last_event_at"] = max(new_rows[thread_id]["last_event_at"], at)
        else:
            tx.execute("UPDATE threads SET last_event_at = greatest(last_event_at, ?) WHERE id = ?", [at, thread_id])
    _insert(tx, "threads", threads)

    event_ids = _reserve(tx, "events_seq", len(events))
    for event_row, event_id in zip(events, event_ids, strict=True):
        event_row["id"] = event_id
        if "_key" in event_row:
            ext, fp = event_row.pop("_key")
            keys.append(("activity", ext, event_id, fp))
    _insert(tx, "events", events)
    counts["events"] = len(events)
    amount_ids = _reserve(tx, "event_amounts_seq", len(amounts))
    _insert(
        tx,
        "event_amounts",
        [
            {"id": aid, "event_id": event_ids[i], "amount_type_id": kind, "value": value}
            for aid, (i, kind, value) in zip(amount_ids, amounts, strict=True)
        ],
    )
    line_ids = _reserve(tx, "event_products_seq", len(lines))
    _insert(
        tx,
        "event_products",
        [
            {"id": lid, "event_id": event_ids[i], "product_id": pid, "quantity": q, "unit_price": u, "value": val}
            for lid, (i, pid, q, u, val) in zip(line_ids, lines, strict=True)
        ],
    )
    rollups.add_many(tx, [(t, k, val) for (t, k), val in values_added.items()])
    if keys:  # a changed row's digest replaces its old one
        tx.execute(
            "DELETE FROM import_keys WHERE kind || ':' || external_id IN (SELECT unnest(?))",
            [[f"{k[0]}:{k[1]}" for k in keys]],
        )
    _insert(
        tx,
        "import_keys",
        [{"kind": k, "external_id": e, "entity_id": i, "fingerprint": f, "imported_at": now} for k, e, i, f in keys],
    )
    audit.record(
        tx,
        actor.id,
        "import",
        None,
        "deals",
        {name: [None, value] for name, value in counts.items()} | {"activities": [None, len(wanted)]},
    )
    return counts | {"activities": len(wanted)}


def _update_deal(
    tx: Tx,
    actor: User,
    row: Row,
    look: dictionaries.Lookups,
    stage: dictionaries.Stage,
    owner_of: Any,
    event: Any,
    money: Any,
    reason_ids: dict[str, int],
    now: dt.datetime,
    lang: str,
    minutes: dt.timedelta,
) -> None:
    v = row.values
    thread_id = v["thread_id"]
    old = tx.dicts(
        "SELECT client_id, stage_id, status, owner_id, title, expected_close, lost_reason_id FROM threads WHERE id = ?",
        [thread_id],
    )[0]
    new = {"owner_id": owner_of(v, old["owner_id"]), "title": v["title"]}
    if v["expected_close"] is not None:
        new["expected_close"] = v["expected_close"]
    changed = audit.diff(old, new)
    if changed:
        sets = ", ".join(f"{k} = ?" for k in changed)
        tx.execute(
            f"UPDATE threads SET {sets}, version = version + 1 WHERE id = ?", [*(new[k] for k in changed), thread_id]
        )
        audit.record(tx, actor.id, "thread", thread_id, "update", changed | {"import_id": [None, row.external_id]})
    reason = v["lost_reason"]
    reason_id = reason if isinstance(reason, int) or reason is None else reason_ids[reason]
    at = (v["closed"] if stage.closes else None) or now
    correction = None
    if stage.id != old["stage_id"]:
        correction = event(
            thread_id,
            old["client_id"],
            new["owner_id"],
            at,
            at + minutes,
            translate("moving.changed_note", lang, stage=stage.name),
            stage_id=stage.id,
            lost_reason_id=reason_id if stage.is_lost else None,
        )
        tx.execute(
            "UPDATE threads SET stage_id = ?, status = ?, lost_reason_id = ?, closed_at = ?,"
            " last_event_at = greatest(last_event_at, ?), version = version + 1 WHERE id = ?",
            [
                stage.id,
                stage.thread_status,
                reason_id if stage.is_lost else None,
                at if stage.closes else None,
                at,
                thread_id,
            ],
        )
        audit.record(
            tx,
            actor.id,
            "thread",
            thread_id,
            "stage",
            {"stage": [look.stages[old["stage_id"]].name, stage.name], "status": [old["status"], stage.thread_status]},
        )
    if "amount" in row.changes:
        # the difference, logged: history is appended to, never rewritten
        if correction is None:
            event(thread_id, old["client_id"], new["owner_id"], at, at + minutes, translate("moving.amount_note", lang))
        money({**v, "product": None, "amount": v["amount_delta"]}, thread_id)


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
            amount_type_id=data["amount_type_id"],
            history_type_id=data["history_type_id"],
        )
        out[name] = Setup(dict(data["deals"]), dict(data["activities"]), choices)
    return out
