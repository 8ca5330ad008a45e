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

import datetime as dt
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pandas as pd

from crm_data import (
    clock,
    deal_writer,
    dictionaries,
    permissions,
    users,
)
from crm_data import settings as org_settings
from crm_data.checks import check_amount, check_quantity, check_text
from crm_data.clients import ClientInput, check_client
from crm_data.db import Database
from crm_data.deal_mapping import (
    ACTIVITY_REQUIRED,
    ACTIVITY_TARGETS,
    DEAL_REQUIRED,
    DEAL_TARGETS,
    ENTERED,
    FUTURE_GRACE,
    MAX_ACTIVITIES,
    MAX_DEALS,
    NEW_REASON,
    NEW_STAGE,
    NEW_USER,
    Choices,
    Setup,
    cell_text,
    day_first,
    guess_choices,
    guess_mapping,
    name_key,
    names_match,
    parse_moment,
    save_setup,
    saved_setups,
    source_values,
)
from crm_data.dictionaries import Lookups
from crm_data.errors import FieldError, ValidationError
from crm_data.i18n import translate
from crm_data.identity import User
from crm_data.rules import MAX_NAME, MAX_NOTE, MAX_SHORT, MAX_TITLE

__all__ = [  # the mapping's names, for the screen: one module to import
    "ACTIVITY_TARGETS",
    "DEAL_REQUIRED",
    "DEAL_TARGETS",
    "ENTERED",
    "NEW_REASON",
    "NEW_STAGE",
    "NEW_USER",
    "Choices",
    "ImportPlan",
    "Row",
    "Setup",
    "apply",
    "day_first",
    "guess_choices",
    "guess_mapping",
    "parse_moment",
    "plan",
    "save_setup",
    "saved_setups",
    "source_values",
]


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
    errors = [FieldError(f"mapping.{t}", "moving.map_required") for t in required if not mapping.get(t)]
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
            raise ValidationError.single("mapping.deal_id", "moving.map_required")
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
        products.setdefault(name_key(p.code), p)
        products.setdefault(name_key(p.name), p)
    reasons = {}
    for r in look.lost_reasons.values():
        for name in (r.name, getattr(r, "name_en", None), getattr(r, "name_pl", None)):
            if name:
                reasons.setdefault(name_key(name), r.id)
    imported_reason = translate("moving.imported_reason", org.default_language)

    records = deals.to_dict("records")
    created_first = day_first([cell_text(r, deal_mapping, t) for r in records for t in ("created", "closed")], lang)
    seen_ids: dict[str, int] = {}
    new_clients: dict[str, str] = {}
    new_products: dict[str, str] = {}
    new_reasons: dict[str, str] = {}
    new_stages: dict[tuple[str, str], int] = {}
    new_owners: set[str] = set()
    out_deals: list[Row] = []
    deal_threads: dict[str, Row] = {}
    for i, record in enumerate(records):
        cell = lambda t, record=record: cell_text(record, deal_mapping, t)  # noqa: E731
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
            pipe = next((p for p in Lookups.active(look.pipelines) if names_match(p, stage_key[0])), None)
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
            known_product = products.get(name_key(product_text))
            if known_product is None:
                check(lambda t=product_text: check_text(t, "product", max_len=MAX_NAME, required=True))
                new_products.setdefault(name_key(product_text), product_text)
            v["product"] = known_product.id if known_product else name_key(product_text)
            v["quantity"] = (
                check(lambda cell=cell: check_quantity(cell("quantity"), "quantity", lang))
                if cell("quantity")
                else Decimal(1)
            )
            v["list_price"] = known_product.price if known_product else Decimal(0)
        v["lost_reason"] = None
        if stage is not None and stage.is_lost:
            reason_text = cell("lost_reason") or imported_reason
            chosen = choices.reasons.get(reason_text)
            rid = chosen if chosen not in (None, NEW_REASON) and chosen in look.lost_reasons else None
            rid = rid if rid is not None or chosen == NEW_REASON else reasons.get(name_key(reason_text))
            if rid is None:
                check(lambda t=reason_text: check_text(t, "lost_reason", max_len=MAX_NAME, required=True))
                new_reasons.setdefault(name_key(reason_text), reason_text)
            v["lost_reason"] = rid if rid is not None else name_key(reason_text)
        row.fingerprint = _fingerprint(
            # the owner as the file names them: a new owner is a user after the first import
            # the stage as the file names it: a stage created here gets its id with the first import
            {k: v.get(k) for k in ("client_key", "client_tax", "title", "stage_key", "created", "closed")}
            | {"owner": owner_text}
            | {k: v.get(k) for k in ("expected_close", "amount", "quantity")}
            | {"product": name_key(product_text), "lost_reason": name_key(cell("lost_reason"))}
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
        a_first = day_first([cell_text(r, activity_mapping, "date") for r in a_records], lang)
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
    pipeline_text = cell_text(record, mapping, "pipeline")
    out = []
    for target, column in mapping.items():
        if not target.startswith(ENTERED) or not column:
            continue
        text, value = target[len(ENTERED) :], cell_text(record, mapping, target)
        if not value:
            continue
        try:
            moment = parse_moment(value, zone, day_first_=day_first_)
        except ValueError:
            row.errors.append(FieldError(target, "moving.not_a_date", {"value": value[:40]}))
            continue
        stage_id = choices.stages.get((pipeline_text, text))
        if stage_id == NEW_STAGE:
            pipe = next((p for p in Lookups.active(look.pipelines) if names_match(p, pipeline_text)), None)
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
    if v.get("client_id") != client_id:  # another client, or one the import would create
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
    cell = lambda t: cell_text(record, mapping, t)  # noqa: E731
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
            login=deal_writer.login_for(name), display_name=name, password=secrets.token_urlsafe(24), role="member"
        )
        for name in import_plan.new_owners
    }
    return db.write(lambda tx: deal_writer.write(tx, actor, import_plan, new_users, now))
