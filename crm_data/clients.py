"""Clients and their contact persons: create, edit, search."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import pandas as pd

from crm_data import audit, cache, checks, clock, permissions
from crm_data.checks import check_text
from crm_data.db import Database, Tx
from crm_data.errors import NotFound, StaleRecord, ValidationError
from crm_data.identity import User
from crm_data.rules import MAX_NAME, MAX_NOTE, MAX_SHORT, like_pattern, name_skeleton, search_key

# SQL twin of rules.search_key: lower case, ł -> l, diacritics stripped
SEARCH_KEY_SQL = "strip_accents(replace(lower({col}), 'ł', 'l'))"


@dataclass(frozen=True)
class ClientInput:
    name: str
    tax_id: str = ""
    address: str = ""
    email: str = ""
    phone: str = ""
    notes: str = ""


@dataclass(frozen=True)
class Client:
    id: int
    name: str
    tax_id: str | None
    address: str
    email: str
    phone: str
    notes: str
    active: bool
    version: int


@dataclass(frozen=True)
class ContactInput:
    name: str
    position: str = ""
    email: str = ""
    phone: str = ""


@dataclass(frozen=True)
class Contact:
    id: int
    client_id: int
    name: str
    position: str
    email: str
    phone: str
    active: bool
    version: int


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"\+?[0-9 ()./-]{3,30}")


def normalise_tax_id(text: str) -> str:
    """Digits and letters only, upper case; a Polish NIP loses its EU VAT prefix:
    'PL 123-456-32-18' -> '1234563218', 'DE 123456789' -> 'DE123456789'."""
    plain = re.sub(r"[^0-9A-Za-z]", "", text).upper()
    return plain[2:] if re.fullmatch(r"PL\d{10}", plain) else plain


def _check_email(value: str, field: str) -> str:
    text = check_text(value, field, max_len=MAX_SHORT)
    if text and not _EMAIL.fullmatch(text):
        raise ValidationError.single(field, "validation.email")
    return text


def _check_phone(value: str, field: str) -> str:
    text = check_text(value, field, max_len=40)
    if text and not _PHONE.fullmatch(text):
        raise ValidationError.single(field, "validation.phone")
    return text


def check_client(data: ClientInput) -> dict[str, object]:
    if not isinstance(data, ClientInput):
        raise ValidationError.single("client", "validation.wrong_type")
    values = checks.checked(
        [
            ("name", lambda: check_text(data.name, "name", max_len=MAX_NAME, required=True)),
            ("tax_id", lambda: normalise_tax_id(check_text(data.tax_id, "tax_id", max_len=40))),
            ("address", lambda: check_text(data.address, "address", max_len=500, multiline=True)),
            ("email", lambda: _check_email(data.email, "email")),
            ("phone", lambda: _check_phone(data.phone, "phone")),
            ("notes", lambda: check_text(data.notes, "notes", max_len=MAX_NOTE, multiline=True)),
        ]
    )
    values["tax_id"] = values["tax_id"] or None
    values["name_key"] = name_skeleton(str(values["name"]))
    return values


def _duplicate_of(tx: Tx, values: dict[str, object], exclude_id: int | None) -> None:
    """Refuse a client whose tax id matches another client, or whose name looks the same
    (case, spacing, punctuation or a Cyrillic/Greek look-alike letter)."""
    if values["tax_id"]:
        row = tx.one(
            "SELECT id, name FROM clients WHERE tax_id = ? AND id IS DISTINCT FROM ?",
            [values["tax_id"], exclude_id],
        )
        if row:
            raise ValidationError.single("tax_id", "client.duplicate_tax_id", name=row[1])
    row = tx.one(
        "SELECT name FROM clients WHERE name_key = ? AND id IS DISTINCT FROM ?",
        [values["name_key"], exclude_id],
    )
    if row:
        raise ValidationError.single("name", "client.duplicate_name", name=row[0])


def create_client(db: Database, actor: User, data: ClientInput) -> int:
    values = check_client(data)

    def work(tx: Tx) -> int:
        _duplicate_of(tx, values, None)
        client_id = tx.scalar(
            "INSERT INTO clients (name, name_key, tax_id, address, email, phone, notes, created_by)"
            " VALUES ($name, $name_key, $tax_id, $address, $email, $phone, $notes, $actor) RETURNING id",
            {**values, "actor": actor.id},
        )
        audit.record(
            tx, actor.id, "client", client_id, "create", {k: [None, v] for k, v in values.items() if k != "name_key"}
        )
        return client_id

    # the duplicate check reads then writes: one writer of client names at a time
    with db.lock_for("client_names", 0):
        client_id = db.write(work)
    return client_id


def update_client(db: Database, actor: User, client_id: int, data: ClientInput, expected_version: int) -> int:
    """Save the edited client; StaleRecord if someone saved it since `expected_version`."""
    checks.ident(client_id, "client_id")
    checks.version(expected_version, "expected_version")
    values = check_client(data)

    def work(tx: Tx) -> int:
        old = tx.dicts(
            "SELECT name, tax_id, address, email, phone, notes, version, created_by FROM clients WHERE id = ?",
            [client_id],
        )
        if not old:
            raise NotFound(what="client", id=client_id)
        permissions.require_edit_client(actor, old[0].pop("created_by"))
        if old[0]["version"] != expected_version:
            raise StaleRecord(what="client", name=old[0]["name"])
        _duplicate_of(tx, values, client_id)
        tx.execute(
            "UPDATE clients SET name = $name, name_key = $name_key, tax_id = $tax_id, address = $address, email = $email,"
            " phone = $phone, notes = $notes, updated_at = $now, version = version + 1"
            " WHERE id = $id",
            {**values, "id": client_id, "now": clock.now()},
        )
        audit.record(
            tx,
            actor.id,
            "client",
            client_id,
            "update",
            audit.diff(old[0], {k: v for k, v in values.items() if k != "name_key"}),
        )
        return expected_version + 1

    # the duplicate check reads then writes: one writer of client names at a time
    with db.lock_for("client_names", 0):
        new_version = db.write(work)
    return new_version


def get_client(db: Database, client_id: int) -> Client:
    checks.ident(client_id, "client_id")
    with db.read() as tx:
        row = tx.one(
            "SELECT id, name, tax_id, address, email, phone, notes, active, version FROM clients WHERE id = ?",
            [client_id],
        )
    if row is None:
        raise NotFound(what="client", id=client_id)
    return Client(*row)


@cache.shared
def search_clients(db: Database, text: str = "", *, limit: int = 50, offset: int = 0) -> tuple[pd.DataFrame, int]:
    """Clients whose name, tax id, e-mail or a contact's name contains `text` (literally,
    ignoring case and diacritics), with their open thread count and last activity; and the
    total number of matches."""
    text = checks.search_text(text, "text")
    limit, offset = checks.page(limit, offset)
    pattern = like_pattern(search_key(text))
    tax_text = re.sub(r"[^0-9A-Za-z]", "", text).upper()
    tax_text = tax_text[2:] if re.fullmatch(r"PL\d+", tax_text) else tax_text
    tax_pattern = like_pattern(tax_text) if tax_text else None
    key_name = SEARCH_KEY_SQL.format(col="c.name")
    key_contact = SEARCH_KEY_SQL.format(col="k.name")
    where = f"""
        c.active AND (
            {key_name} LIKE $p ESCAPE '\\'
            OR ($tax IS NOT NULL AND c.tax_id LIKE $tax ESCAPE '\\')
            OR lower(c.email) LIKE $p ESCAPE '\\'
            OR EXISTS (SELECT 1 FROM contacts k WHERE k.client_id = c.id AND {key_contact} LIKE $p ESCAPE '\\')
        )"""
    params: dict[str, object] = {"p": pattern, "tax": tax_pattern}
    if not text:  # every active client (the client boxes' list): no pattern to test on each one
        where, params = "c.active", {}
    with db.read() as tx:
        total = tx.scalar(f"SELECT count(*) FROM clients c WHERE {where}", params)
        frame = tx.df(
            f"""
            SELECT c.id, c.name, c.tax_id, c.email, c.phone,
                   coalesce(t.open_threads, 0) AS open_threads, t.last_event_at
            FROM clients c
            LEFT JOIN (
                SELECT client_id, count(*) FILTER (WHERE status = 'open') AS open_threads,
                       max(last_event_at) AS last_event_at
                FROM threads GROUP BY client_id
            ) t ON t.client_id = c.id
            WHERE {where}
            ORDER BY t.last_event_at DESC NULLS LAST, c.name, c.id
            LIMIT $limit OFFSET $offset
            """,
            {**params, "limit": limit, "offset": offset},
        )
    return frame, int(total)


@cache.shared
def client_options(db: Database, text: str = "", limit: int = 200) -> pd.DataFrame:
    """id and name for a picker: matches of `text`, most recently active first."""
    frame, _ = search_clients(db, text, limit=limit)
    return frame[["id", "name"]].reset_index(drop=True)


@dataclass(frozen=True)
class ClientChoices:
    """A client box's options, ready for the box: ids most recently active first and their
    names. Shared by every session: read only."""

    ids: tuple[int, ...]
    names: Mapping[int, str]
    total: int  # active clients in all: more than len(ids) when the box cannot list them all

    @property
    def cut(self) -> bool:
        return self.total > len(self.ids)


CLIENT_BOX_LIMIT = 5000  # options of a client box; past it the box says so (pages/_ui/pickers.py)


@cache.shared
def client_choices(db: Database, limit: int | None = None) -> ClientChoices:
    """Active clients as a box takes them (at most `limit`, most recently active first), built
    once per change of the data rather than on every rerun of every page that shows a client box
    (the sidebar's shows on all of them); `total` says how many there are in all."""
    frame, total = search_clients(db, "", limit=limit or CLIENT_BOX_LIMIT)
    ids = tuple(int(i) for i in frame["id"].tolist())
    return ClientChoices(ids, MappingProxyType(dict(zip(ids, frame["name"].tolist(), strict=True))), total)


def check_contact(data: ContactInput) -> dict[str, object]:
    if not isinstance(data, ContactInput):
        raise ValidationError.single("contact", "validation.wrong_type")
    values = checks.checked(
        [
            ("name", lambda: check_text(data.name, "name", max_len=MAX_NAME, required=True)),
            ("position", lambda: check_text(data.position, "position", max_len=MAX_SHORT)),
            ("email", lambda: _check_email(data.email, "email")),
            ("phone", lambda: _check_phone(data.phone, "phone")),
        ]
    )
    return values


def add_contact(db: Database, actor: User, client_id: int, data: ContactInput) -> int:
    checks.ident(client_id, "client_id")
    values = check_contact(data)

    def work(tx: Tx) -> int:
        if not tx.scalar("SELECT 1 FROM clients WHERE id = ?", [client_id]):
            raise NotFound(what="client", id=client_id)
        contact_id = tx.scalar(
            "INSERT INTO contacts (client_id, name, position, email, phone)"
            " VALUES ($client_id, $name, $position, $email, $phone) RETURNING id",
            {**values, "client_id": client_id},
        )
        audit.record(tx, actor.id, "contact", contact_id, "create", {k: [None, v] for k, v in values.items()})
        return contact_id

    return db.write(work)


def update_contact(db: Database, actor: User, contact_id: int, data: ContactInput, expected_version: int) -> None:
    checks.ident(contact_id, "contact_id")
    checks.version(expected_version, "expected_version")
    values = check_contact(data)

    def work(tx: Tx) -> None:
        old = tx.dicts(
            "SELECT name, position, email, phone, version, client_id FROM contacts WHERE id = ?", [contact_id]
        )
        if not old:
            raise NotFound(what="contact", id=contact_id)
        client_id = old[0].pop("client_id")
        created_by = tx.scalar("SELECT created_by FROM clients WHERE id = ?", [client_id])
        permissions.require_edit_client(actor, created_by)
        if old[0]["version"] != expected_version:
            raise StaleRecord(what="contact", name=old[0]["name"])
        tx.execute(
            "UPDATE contacts SET name = $name, position = $position, email = $email, phone = $phone,"
            " updated_at = $now, version = version + 1 WHERE id = $id",
            {**values, "id": contact_id, "now": clock.now()},
        )
        audit.record(tx, actor.id, "contact", contact_id, "update", audit.diff(old[0], values))

    db.write(work)


def contacts_of(db: Database, client_id: int) -> list[Contact]:
    checks.ident(client_id, "client_id")
    with db.read() as tx:
        rows = tx.all(
            "SELECT id, client_id, name, position, email, phone, active, version FROM contacts"
            " WHERE client_id = ? AND active ORDER BY name, id",
            [client_id],
        )
    return [Contact(*r) for r in rows]
