"""Moving in, the writing: an import plan (crm_data.deal_import) written in one transaction, in
bulk — the owners, stages, products and lost reasons it creates, the clients, threads, events,
amounts and product lines, the thread-value rollup, and the original ids."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections import defaultdict
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pandas as pd

from crm_data import audit, dictionaries, rollups, threads, users
from crm_data import settings as org_settings
from crm_data.db import Tx
from crm_data.deal_mapping import NEW_STAGE, name_key
from crm_data.i18n import translate
from crm_data.identity import User
from crm_data.rules import (
    MAX_SHORT,
    line_value,
)

if TYPE_CHECKING:
    from crm_data.deal_import import ImportPlan, Row


def login_for(name: str) -> str:
    """A login for an owner the import creates (inactive: nobody signs in with it)."""
    base = re.sub(r"[^a-z0-9._@-]+", ".", name.casefold()).strip(".") or "user"
    return f"{base[:40]}.{secrets.token_hex(2)}"


def _reserve(tx: Tx, sequence: str, count: int) -> list[int]:
    if not count:
        return []
    return [r[0] for r in tx.all(f"SELECT nextval('{sequence}') FROM range({int(count)}) ORDER BY 1")]


def _insert(tx: Tx, table: str, rows: list[dict[str, Any]]) -> None:
    """Insert many rows at once (the whole import counts as a change of every table, so every
    cached read is recomputed after it)."""
    if rows:
        tx.insert_frame(table, pd.DataFrame(rows))


def write(tx: Tx, actor: User, p: ImportPlan, new_users: dict[str, users.NewUser], now: dt.datetime) -> dict[str, int]:
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
        product_ids[name_key(name)] = tx.scalar(
            "INSERT INTO products (code, name, price) VALUES (?, ?, 0) RETURNING id", [name[:MAX_SHORT], name]
        )
        audit.record(tx, actor.id, "products", product_ids[name_key(name)], "create", {"name": [None, name]})
    reason_ids: dict[str, int] = {}
    for name in p.new_lost_reasons:
        reason_ids[name_key(name)] = tx.scalar(
            "INSERT INTO lost_reasons (name, name_en, name_pl, sequence) VALUES (?, ?, ?, 100) RETURNING id",
            [name, name, name],
        )
        audit.record(tx, actor.id, "lost_reasons", reason_ids[name_key(name)], "create", {"name": [None, name]})
    stage_ids: dict[tuple[str, str], int] = {}
    for (pipeline_text, name), pipeline_id in p.new_stages.items():
        # an open stage after the pipeline's open ones, before its won and lost ones
        last = tx.one(
            "SELECT max(sequence), (array_agg(percent ORDER BY sequence DESC))[1] FROM stages"
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
    # clients first: matched again inside the transaction (another admin may have added one);
    # the new ones written at once, each file's account once
    client_rows: list[dict[str, Any]] = []
    for row in new_deals:
        v = row.values
        cid = (taxes.get(v["client_tax"]) if v["client_tax"] else None) or clients.get(v["client_key"])
        if cid is None:
            cid = -1 - len(client_rows)  # numbered below, once it is known how many are new
            client_rows.append({"name": v["client_name"], "name_key": v["client_key"], "tax_id": v["client_tax"]})
            clients[v["client_key"]] = cid
            if v["client_tax"]:
                taxes[v["client_tax"]] = cid
        v["client_id"] = cid
    client_ids = _reserve(tx, "clients_seq", len(client_rows))
    for row_values, cid in zip(client_rows, client_ids, strict=True):
        row_values |= {"id": cid, "created_by": actor.id}
        audit.record(tx, actor.id, "client", cid, "create", {"name": [None, row_values["name"]]})
    _insert(tx, "clients", client_rows)
    for row in new_deals:
        if row.values["client_id"] < 0:
            row.values["client_id"] = client_ids[-1 - row.values["client_id"]]
    counts["clients"] = len(client_rows)

    typical = dict(tx.all("SELECT id, coalesce(typical_days, ?) FROM pipelines", [threads.DEFAULT_TYPICAL_DAYS]))
    history = look.event_types[p.choices.history_type_id]
    minutes = dt.timedelta(minutes=history.default_duration_min or 5)
    lang = org.default_language
    thread_ids = _reserve(tx, "threads_seq", len(new_deals))
    thread_rows, events, amounts, lines, keys = [], [], [], [], []
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
        thread_rows.append(
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
        thread_rows[-1]["last_event_at"] = last
        keys.append(("deal", row.external_id, thread_id, row.fingerprint))
        audit.record(
            tx,
            actor.id,
            "thread",
            thread_id,
            "create",
            {"title": [None, v["title"]], "stage": [None, stage.name], "import_id": [None, row.external_id]},
        )
    counts["threads"] = len(thread_rows)

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
    new_rows = {t["id"]: t for t in thread_rows}
    older = {t: at for t, at in touched.items() if t not in new_rows}
    for thread_id, at in touched.items():
        if thread_id in new_rows:
            new_rows[thread_id]["last_event_at"] = max(new_rows[thread_id]["last_event_at"], at)
    if older:  # threads imported before: one statement, not one per thread
        tx.execute(
            "UPDATE threads SET last_event_at = greatest(threads.last_event_at, t.at)"
            " FROM (SELECT unnest($ids) AS id, unnest($ats) AS at) t WHERE threads.id = t.id",
            {"ids": list(older), "ats": list(older.values())},
        )
    _insert(tx, "threads", thread_rows)

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
    # the stage history of every thread that got an event or whose activity moved
    rollups.refresh_stage_entries(tx, {e["thread_id"] for e in events} | set(touched))
    # the money and product lines of those threads and of the deals it updated (an owner, an amount, a moved event)
    updated = {r.values["thread_id"] for r in p.deals if r.status == "update"}
    rollups.refresh_event_facts(tx, {e["thread_id"] for e in events} | set(touched) | updated)
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
        was = (look.stages[old["stage_id"]].name, old["status"])
        threads.set_stage_tx(tx, actor.id, thread_id, stage, reason_id if stage.is_lost else None, at, was=was)
    if "amount" in row.changes:
        # the difference, logged: history is appended to, never rewritten
        if correction is None:
            event(thread_id, old["client_id"], new["owner_id"], at, at + minutes, translate("moving.amount_note", lang))
        money({**v, "product": None, "amount": v["amount_delta"]}, thread_id)
