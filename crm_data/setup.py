"""First start: the first admin account and a starter set of dictionaries in the admin's
language, so the log form works before anyone opens the admin panel."""

from __future__ import annotations

import json
from typing import Any

from crm_data import settings as org_settings
from crm_data import users
from crm_data.db import Database, Tx
from crm_data.errors import PermissionDenied
from crm_data.identity import User

STARTER = {
    "en": {
        "event_types": [
            ("Call", "#4c78a8", 15, False),
            ("Meeting", "#f58518", 60, True),
            ("E-mail", "#54a24b", 10, False),
            ("Offer sent", "#b279a2", 30, False),
            ("Note", "#9d755d", 5, False),
            ("Visit", "#e45756", 90, True),
            ("Video call", "#72b7b2", 30, True),
        ],
        "pipelines": {
            "Sales": [
                ("Lead", 10),
                ("Qualified", 25),
                ("Proposal", 50),
                ("Negotiation", 75),
                ("Won", 100, "won"),
                ("Lost", 0, "lost"),
            ],
        },
        "amount_types": ["Offer value", "Invoice", "Cost", "Discount", "Deposit"],
        "lost_reasons": ["Price too high", "Chose a competitor", "No budget", "No response", "Bad timing"],
    },
    "pl": {
        "event_types": [
            ("Telefon", "#4c78a8", 15, False),
            ("Spotkanie", "#f58518", 60, True),
            ("E-mail", "#54a24b", 10, False),
            ("Wysłana oferta", "#b279a2", 30, False),
            ("Notatka", "#9d755d", 5, False),
            ("Wizyta", "#e45756", 90, True),
            ("Wideorozmowa", "#72b7b2", 30, True),
        ],
        "pipelines": {
            "Sprzedaż": [
                ("Kontakt", 10),
                ("Kwalifikacja", 25),
                ("Oferta", 50),
                ("Negocjacje", 75),
                ("Wygrana", 100, "won"),
                ("Przegrana", 0, "lost"),
            ],
        },
        "amount_types": ["Wartość oferty", "Faktura", "Koszt", "Rabat", "Zaliczka"],
        "lost_reasons": ["Za wysoka cena", "Wybrał konkurencję", "Brak budżetu", "Brak odpowiedzi", "Zły moment"],
    },
}


def _names(lang: str, en: str, pl: str) -> list[str]:
    """`name` (the organisation's language), name_en and name_pl of a starter row."""
    return [pl if lang == "pl" else en, en, pl]


def insert_pipeline(
    tx: Tx, name: str, stages: list[tuple], sequence: int, *, names: tuple[list[str], list[list[str]]] | None = None
) -> int:
    """A pipeline and its stages; `names` gives its and its stages' names per language
    (`_names`), else `name` and the stages' own names are the organisation-language names only."""
    pipeline_names = names[0] if names else [name, None, None]
    pipeline_id = tx.scalar(
        "INSERT INTO pipelines (name, name_en, name_pl, sequence) VALUES (?, ?, ?, ?) RETURNING id",
        [*pipeline_names, sequence],
    )
    # the forecast's "committed": from the first open stage at 75 % or more (an admin can move it)
    commit = next((i for i, stage in enumerate(stages, start=1) if len(stage) == 2 and stage[1] >= 75), None)
    for i, stage in enumerate(stages, start=1):
        flag = stage[2] if len(stage) > 2 else ""
        stage_names = names[1][i - 1] if names else [stage[0], None, None]
        tx.execute(
            "INSERT INTO stages (pipeline_id, sequence, name, name_en, name_pl, percent, is_won, is_lost, is_commit)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [pipeline_id, i * 10, *stage_names, stage[1], flag == "won", flag == "lost", i == commit],
        )
    return pipeline_id


def insert_starter_dictionaries(tx: Tx, lang: str) -> None:
    """The starter set, only into empty tables (a second call changes nothing). Every row is
    named in both languages: the set-up's language only chooses the organisation's default."""
    lang = lang if lang in STARTER else "en"
    en, pl = STARTER["en"], STARTER["pl"]
    if not tx.scalar("SELECT count(*) FROM event_types"):
        for i, (row_en, row_pl) in enumerate(zip(en["event_types"], pl["event_types"], strict=True)):
            _name, color, minutes, meeting = row_en
            tx.execute(
                "INSERT INTO event_types (name, name_en, name_pl, color, default_duration_min, is_meeting, sequence)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [*_names(lang, row_en[0], row_pl[0]), color, minutes, meeting, i],
            )
    if not tx.scalar("SELECT count(*) FROM pipelines"):
        pipelines = zip(en["pipelines"].items(), pl["pipelines"].items(), strict=True)
        for i, ((name_en, stages_en), (name_pl, stages_pl)) in enumerate(pipelines):
            stage_names = [_names(lang, e[0], p[0]) for e, p in zip(stages_en, stages_pl, strict=True)]
            pipeline_names = _names(lang, name_en, name_pl)
            insert_pipeline(tx, pipeline_names[0], stages_en, i, names=(pipeline_names, stage_names))
    for table in ("amount_types", "lost_reasons"):
        if not tx.scalar(f"SELECT count(*) FROM {table}"):
            for i, (name_en, name_pl) in enumerate(zip(en[table], pl[table], strict=True)):
                tx.execute(
                    f"INSERT INTO {table} (name, name_en, name_pl, sequence) VALUES (?, ?, ?, ?)",
                    [*_names(lang, name_en, name_pl), i],
                )


def needs_setup(db: Database) -> bool:
    """The set-up screen shows whenever no active admin exists: on an empty database, and on one
    filled by the sample-data command (coworkers, no admin), where Administration is otherwise
    out of reach."""
    return not users.any_active_admin(db)


def create_first_admin(db: Database, *, login: str, display_name: str, password: str, lang: str = "en") -> User:
    """The set-up screen's one action. Refused once an active admin exists. On a database that
    already has users and data only the admin is added (the organisation's language stays)."""
    new = users.prepare_user(login=login, display_name=display_name, password=password, role="admin", locale=lang)

    def work(tx: Tx) -> User:
        empty = not tx.scalar("SELECT count(*) FROM users")
        admin = users.insert_user(tx, None, new)
        insert_starter_dictionaries(tx, lang)
        if empty:
            org_settings.save_tx(tx, {"default_language": lang})
        return admin

    admin = db.write(work)
    db.dictionaries_changed()
    return admin


def ensure_starter(db: Database, lang: str = "en") -> None:
    db.write(lambda tx: insert_starter_dictionaries(tx, lang))
    db.dictionaries_changed()


# -- the sample users' password, kept for the administrator until they dismiss it ------------------
SAMPLE_NOTICE_KEY = "sample_notice"


def remember_sample(db: Database, *, logins: list[str], password: str, events: int, threads: int, clients: int) -> None:
    """After sample data was generated: its users' shared password stays on the administrators'
    screen (a reload no longer loses it) until one of them dismisses it. It is sample data's
    password, kept in the settings table, and it goes when dismissed."""
    notice = {"logins": logins, "password": password, "events": events, "threads": threads, "clients": clients}
    db.write(
        lambda tx: tx.execute(
            "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [SAMPLE_NOTICE_KEY, json.dumps(notice)],
        )
    )


def sample_notice(db: Database, user: User) -> dict[str, Any] | None:
    """The sample data notice for an administrator, if it was not dismissed yet."""
    if not user.is_admin:
        return None
    with db.read() as tx:
        value = tx.scalar("SELECT value FROM settings WHERE key = ?", [SAMPLE_NOTICE_KEY])
    return json.loads(value) if value else None


def dismiss_sample_notice(db: Database, user: User) -> None:
    if not user.is_admin:
        raise PermissionDenied()
    db.write(lambda tx: tx.execute("DELETE FROM settings WHERE key = ?", [SAMPLE_NOTICE_KEY]))
