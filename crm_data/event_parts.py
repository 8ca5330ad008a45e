"""The parts of a logged event beyond its basic data, as a command gives them (amounts, product
lines, participants, dictionary values, attached files) and as `events.log_event` writes them:
each part's rows checked into clean tuples, every refusal collected under its row's field
(`amounts.2.value`), nothing written."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from crm_data import attachments, checks
from crm_data.checks import check_amount, check_quantity, check_text
from crm_data.db import Database
from crm_data.dictionaries import Lookups
from crm_data.rules import MAX_AMOUNT, MAX_NAME, line_value

MAX_CHILDREN = 50
MAX_ATTACHMENTS = 20


@dataclass(frozen=True)
class AmountInput:
    amount_type_id: int | None
    value: Decimal | str | float | int | None


@dataclass(frozen=True)
class ProductInput:
    product_id: int | None
    quantity: Decimal | str | float | int | None = Decimal(1)
    unit_price: Decimal | str | float | int | None = None  # None: the product's list price


@dataclass(frozen=True)
class ParticipantInput:
    """Exactly one of: a contact of the client, a coworker, or a third party by name."""

    contact_id: int | None = None
    user_id: int | None = None
    name: str | None = None


@dataclass(frozen=True)
class AttachmentInput:
    name: str
    data: bytes


def _rows(err: checks.Errors, field_name: str, items: Any, limit: int, kind: type) -> tuple:
    """The rows of a repeated part (a tuple or list of `kind`), or () after an error."""
    rows = err.check(lambda: checks.sequence(items, field_name))
    if rows is None:
        return ()
    if len(rows) > limit:
        err.add(field_name, "validation.too_many", max=limit)
        return ()
    for i, row in enumerate(rows):
        if not isinstance(row, kind):
            err.add(f"{field_name}.{i}", "validation.wrong_type")
            return ()
    return rows


def amounts(items: Any, look: Lookups, err: checks.Errors, lang: str) -> list[tuple[int, Decimal]]:
    out: list[tuple[int, Decimal]] = []
    for i, item in enumerate(_rows(err, "amounts", items, MAX_CHILDREN, AmountInput)):
        kind = err.check(
            lambda item=item, i=i: checks.active(look.amount_types, item.amount_type_id, f"amounts.{i}.amount_type_id")
        )
        value = err.check(lambda item=item, i=i: check_amount(item.value, f"amounts.{i}.value", lang))
        if kind is not None and value is not None:
            out.append((kind.id, value))
    return out


def products(items: Any, look: Lookups, err: checks.Errors, lang: str) -> list[tuple[int, Decimal, Decimal, Decimal]]:
    out: list[tuple[int, Decimal, Decimal, Decimal]] = []
    for i, item in enumerate(_rows(err, "products", items, MAX_CHILDREN, ProductInput)):
        product = err.check(
            lambda item=item, i=i: checks.active(look.products, item.product_id, f"products.{i}.product_id")
        )
        qty = err.check(lambda item=item, i=i: check_quantity(item.quantity, f"products.{i}.quantity", lang))
        price: Decimal | None = None
        if item.unit_price is None or (isinstance(item.unit_price, str) and not item.unit_price.strip()):
            price = product.price if product else None
        else:
            price = err.check(lambda item=item, i=i: check_amount(item.unit_price, f"products.{i}.unit_price", lang))
        if product is not None and qty is not None and price is not None:
            value = line_value(qty, price)
            if value > MAX_AMOUNT:
                err.add(f"products.{i}.quantity", "validation.too_large", max=MAX_AMOUNT)
            else:
                out.append((product.id, qty, price, value))
    return out


def participants(
    db: Database, items: Any, client_id: int | None, look: Lookups, err: checks.Errors
) -> list[tuple[int | None, int | None, str | None]]:
    out: list[tuple[int | None, int | None, str | None]] = []
    given_rows = _rows(err, "participants", items, MAX_CHILDREN, ParticipantInput)
    rows = []
    for i, p in enumerate(given_rows):
        contact_id = err.check(
            lambda p=p, i=i: checks.ident(p.contact_id, f"participants.{i}.contact_id", required=False)
        )
        user_id = err.check(lambda p=p, i=i: checks.ident(p.user_id, f"participants.{i}.user_id", required=False))
        if (p.contact_id is None or contact_id is not None) and (p.user_id is None or user_id is not None):
            rows.append((i, p))
    contact_ids = {p.contact_id for _, p in rows if p.contact_id is not None}
    valid_contacts: set[int] = set()
    if contact_ids and client_id is not None:
        with db.read() as tx:
            valid_contacts = {
                r[0]
                for r in tx.all(
                    "SELECT id FROM contacts WHERE client_id = ? AND active AND id IN (SELECT unnest(?))",
                    [client_id, list(contact_ids)],
                )
            }
    seen: set[tuple] = set()
    for i, p in rows:
        given = [x is not None and x != "" for x in (p.contact_id, p.user_id, p.name)]
        if sum(given) != 1:
            err.add(f"participants.{i}", "participant.exactly_one")
            continue
        if p.contact_id is not None:
            if p.contact_id not in valid_contacts:
                err.add(f"participants.{i}.contact_id", "participant.not_client_contact")
                continue
            key: tuple = (p.contact_id, None, None)
        elif p.user_id is not None:
            if err.check(lambda p=p, i=i: checks.active(look.people, p.user_id, f"participants.{i}.user_id")) is None:
                continue
            key = (None, p.user_id, None)
        else:
            name = err.check(
                lambda p=p, i=i: check_text(p.name, f"participants.{i}.name", max_len=MAX_NAME, required=True)
            )
            if name is None:
                continue
            key = (None, None, name)
        if key in seen:
            err.add(f"participants.{i}", "participant.duplicate")
            continue
        seen.add(key)
        out.append(key)
    return out


def dictionary_values(given: Any, type_id: int | None, look: Lookups, err: checks.Errors) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    shown = {d.id: required for d, required in look.dictionaries_for(type_id)} if type_id else {}
    checked = err.check(lambda: checks.mapping(given, "dictionary_values"))
    for key, value_id in (checked or {}).items():
        dictionary_id = err.check(lambda key=key: checks.ident(key, "dictionary_values"))
        if dictionary_id is None:
            continue
        if value_id is None:
            continue
        dictionary = look.dictionaries.get(dictionary_id)
        if dictionary is None or dictionary_id not in shown:
            err.add(f"dictionary.{dictionary_id}", "dictionary.not_for_type")
            continue
        values = {v.id: v for v in dictionary.values}
        if (
            err.check(lambda d=dictionary_id, v=value_id, rows=values: checks.active(rows, v, f"dictionary.{d}"))
            is None
        ):
            continue
        out.append((dictionary_id, value_id))
    filled = {d for d, _ in out}
    for dictionary_id, required in shown.items():
        if (
            required
            and dictionary_id not in filled
            and not any(f.field == f"dictionary.{dictionary_id}" for f in err.items)
        ):
            err.add(f"dictionary.{dictionary_id}", "validation.required")
    return out


def files(items: Any, limit_mb: int, err: checks.Errors) -> list[tuple[str, bytes]]:
    out: list[tuple[str, bytes]] = []
    for i, item in enumerate(_rows(err, "attachments", items, MAX_ATTACHMENTS, AttachmentInput)):
        name = err.check(lambda item=item, i=i: attachments.check_name(item.name, f"attachments.{i}"))
        data = err.check(lambda item=item, i=i: checks.data(item.data, f"attachments.{i}"))
        if data is None:
            continue
        sized = err.check(lambda data=data, i=i: attachments.check_size(len(data), limit_mb, f"attachments.{i}"))
        if name is not None and sized is None and not any(f.field == f"attachments.{i}" for f in err.items):
            out.append((name, data))
    return out
