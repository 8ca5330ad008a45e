"""Importing clients and contact persons from CSV or XLSX: read, map columns, preview every
row (new, duplicate, or errors), and only on confirmation write the whole import in one
transaction. Duplicates are found by tax id or by a name that looks the same, against the
database and within the file."""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from crm_data import audit, permissions
from crm_data.clients import ClientInput, ContactInput, check_client, check_contact
from crm_data.db import Database, Tx
from crm_data.errors import FieldError, ValidationError
from crm_data.identity import User

MAX_ROWS = 10_000
MAX_BYTES = 20 * 1024 * 1024
TARGETS = (
    "name",
    "tax_id",
    "address",
    "email",
    "phone",
    "notes",
    "contact_name",
    "contact_position",
    "contact_email",
    "contact_phone",
)
GUESSES = {
    "name": ("name", "nazwa", "client", "klient", "company", "company name", "firma", "nazwa firmy", "nazwa klienta"),
    "tax_id": ("tax_id", "tax id", "nip", "vat", "vat id"),
    "address": ("address", "adres"),
    "email": ("email", "e-mail", "mail"),
    "phone": ("phone", "telefon", "tel", "tel."),
    "notes": ("notes", "uwagi", "notatki"),
    "contact_name": ("contact", "contact name", "osoba kontaktowa", "kontakt"),
    "contact_position": ("position", "stanowisko"),
    "contact_email": ("contact email", "contact e-mail", "email kontaktu", "e-mail kontaktu"),
    "contact_phone": ("contact phone", "contact tel.", "telefon kontaktu", "tel. kontaktu"),
}


@dataclass
class RowPlan:
    line: int  # as the user sees it in the file (header is line 1)
    status: str  # new, duplicate, error
    client: dict[str, Any] = field(default_factory=dict)
    contact: dict[str, Any] | None = None
    errors: list[FieldError] = field(default_factory=list)
    duplicate_of: str | None = None


@dataclass
class ImportPlan:
    rows: list[RowPlan]

    @property
    def counts(self) -> dict[str, int]:
        out = {"new": 0, "duplicate": 0, "error": 0}
        for row in self.rows:
            out[row.status] += 1
        return out


def read_table(data: bytes, filename: str, *, max_rows: int = MAX_ROWS) -> pd.DataFrame:
    """The file's rows as text cells (nothing interpreted: tax ids keep their leading zeros)."""
    if len(data) > MAX_BYTES:
        raise ValidationError.single("file", "import.too_big", limit=MAX_BYTES // (1024 * 1024))
    if not data:
        raise ValidationError.single("file", "attachment.empty")
    name = filename.lower()
    try:
        if name.endswith(".xlsx"):
            frame = pd.read_excel(io.BytesIO(data), dtype=str, engine="openpyxl").fillna("")
        elif name.endswith((".csv", ".txt")):
            text = _decode(data)
            # binary data decodes as text too; a table has (almost) no control characters
            if sum(unicodedata.category(ch) == "Cc" and ch not in "\r\n\t" for ch in text[:4096]) > 8:
                raise ValidationError.single("file", "import.unreadable", detail="not a text file")
            try:
                delimiter = csv.Sniffer().sniff(text[:4096], delimiters=",;\t").delimiter
            except csv.Error:  # one column, or ragged rows: the sniffer gives up
                first = text.splitlines()[0] if text else ""
                delimiter = max(",;\t", key=first.count) if any(d in first for d in ",;\t") else ","
            frame = _csv_frame(text, delimiter)
        else:
            raise ValidationError.single("file", "import.format")
    except ValidationError:
        raise
    except Exception as exc:
        raise ValidationError.single("file", "import.unreadable", detail=str(exc).splitlines()[0][:200]) from exc
    if len(frame) > max_rows:
        raise ValidationError.single("file", "import.too_many_rows", max=max_rows)
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


EXTRA_FIELDS = "extra_fields"  # frame.attrs key: {row index: number of fields beyond the header}


def _csv_frame(text: str, delimiter: str) -> pd.DataFrame:
    """The rows under the header, every cell text. A row with more fields than the header is
    kept with the header's fields and noted in `frame.attrs[EXTRA_FIELDS]`, so the preview
    shows it as a row error: its fields are never shifted into an index or another column. A
    shorter row is padded with empty cells. Blank lines are skipped (as pandas does); a line of
    empty fields is a row, and the preview reports it as one."""
    rows = [row for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) if row]
    if not rows:
        raise ValidationError.single("file", "attachment.empty")
    header: list[str] = []
    for i, given in enumerate(rows[0]):
        base = given.strip() or f"Unnamed: {i}"
        name, n = base, 0
        while name in header:  # the same header twice: keep both, as pandas does
            n += 1
            name = f"{base}.{n}"
        header.append(name)
    width = len(header)
    extra: dict[int, int] = {}
    cells: list[list[str]] = []
    for i, row in enumerate(rows[1:]):
        if len(row) > width:
            extra[i] = len(row) - width
        cells.append((row + [""] * width)[:width])
    frame = pd.DataFrame(cells, columns=header, dtype=str)
    frame.attrs[EXTRA_FIELDS] = extra
    return frame


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text" export
        return data.decode("utf-16")
    for encoding in ("utf-8-sig", "cp1250"):  # Polish Excel often saves CSV in Windows-1250
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def guess_mapping(columns: list[str]) -> dict[str, str | None]:
    """Target field -> file column, guessed from English and Polish header names."""
    lowered = {c.lower().strip(): c for c in columns}
    return {target: next((lowered[g] for g in GUESSES[target] if g in lowered), None) for target in TARGETS}


def plan(db: Database, frame: pd.DataFrame, mapping: dict[str, str | None]) -> ImportPlan:
    """Check every row; write nothing."""
    if not mapping.get("name"):
        raise ValidationError.single("mapping.name", "import.map_name")
    for target, column in mapping.items():
        if target not in TARGETS or (column is not None and column not in frame.columns):
            raise ValidationError.single(f"mapping.{target}", "validation.choice")
    with db.read() as tx:
        existing_names = dict(tx.all("SELECT name_key, name FROM clients"))
        existing_tax = dict(tx.all("SELECT tax_id, name FROM clients WHERE tax_id IS NOT NULL"))
    seen_names: dict[str, int] = {}
    seen_tax: dict[str, int] = {}
    rows: list[RowPlan] = []
    extra = frame.attrs.get(EXTRA_FIELDS, {})

    def cell(record: dict[str, Any], target: str) -> str:
        column = mapping.get(target)
        return str(record.get(column, "") or "") if column else ""

    for i, record in enumerate(frame.to_dict("records")):
        line = i + 2
        item = RowPlan(line, "new")
        if i in extra:
            item.errors.append(
                FieldError(
                    "file",
                    "import.extra_fields",
                    {"count": len(frame.columns) + extra[i], "columns": len(frame.columns)},
                )
            )
        try:
            item.client = check_client(
                ClientInput(**{t: cell(record, t) for t in ("name", "tax_id", "address", "email", "phone", "notes")})
            )
        except ValidationError as exc:
            item.errors.extend(exc.errors)
        contact_given = any(cell(record, t).strip() for t in ("contact_position", "contact_email", "contact_phone"))
        if contact_given and not cell(record, "contact_name").strip():
            item.errors.append(FieldError("contact_name", "import.contact_needs_name"))
        if cell(record, "contact_name").strip():
            try:
                item.contact = check_contact(
                    ContactInput(
                        name=cell(record, "contact_name"),
                        position=cell(record, "contact_position"),
                        email=cell(record, "contact_email"),
                        phone=cell(record, "contact_phone"),
                    )
                )
            except ValidationError as exc:
                item.errors.extend(FieldError(f"contact_{e.field}", e.key, e.params) for e in exc.errors)
        if item.errors:
            item.status = "error"
        else:
            key, tax = item.client["name_key"], item.client["tax_id"]
            if tax and tax in existing_tax:
                item.status, item.duplicate_of = "duplicate", existing_tax[tax]
            elif key in existing_names:
                item.status, item.duplicate_of = "duplicate", existing_names[key]
            elif tax and tax in seen_tax:
                item.status, item.duplicate_of = "duplicate", f"#{seen_tax[tax]}"
            elif key in seen_names:
                item.status, item.duplicate_of = "duplicate", f"#{seen_names[key]}"
            else:
                seen_names[key] = line
                if tax:
                    seen_tax[tax] = line
        rows.append(item)
    return ImportPlan(rows)


def apply(db: Database, actor: User, import_plan: ImportPlan) -> int:
    """Write every new row (client and its contact) in one transaction; duplicates and rows
    with errors are skipped. Checks duplicates again inside the transaction: if the database
    changed since the preview, nothing is written and the user previews again."""
    permissions.require_admin(actor)
    new_rows = [r for r in import_plan.rows if r.status == "new"]

    def work(tx: Tx) -> int:
        for row in new_rows:
            clash = tx.scalar(
                "SELECT name FROM clients WHERE name_key = $name_key OR ($tax_id IS NOT NULL AND tax_id = $tax_id) LIMIT 1",
                row.client,
            )
            if clash is not None:
                raise ValidationError.single("file", "import.changed", line=row.line, name=clash)
            client_id = tx.scalar(
                "INSERT INTO clients (name, name_key, tax_id, address, email, phone, notes, created_by)"
                " VALUES ($name, $name_key, $tax_id, $address, $email, $phone, $notes, $actor) RETURNING id",
                {**row.client, "actor": actor.id},
            )
            audit.record(
                tx,
                actor.id,
                "client",
                client_id,
                "create",
                {k: [None, v] for k, v in row.client.items() if k != "name_key"} | {"import_line": [None, row.line]},
            )
            if row.contact:
                tx.execute(
                    "INSERT INTO contacts (client_id, name, position, email, phone)"
                    " VALUES ($client_id, $name, $position, $email, $phone)",
                    {**row.contact, "client_id": client_id},
                )
        if new_rows:
            audit.record(tx, actor.id, "import", None, "clients", {"rows": [None, len(new_rows)]})
        return len(new_rows)

    with db.lock_for("client_names", 0):
        written = db.write(work)
    return written
