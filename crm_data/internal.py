"""Internal work: the team's own meetings (a team meeting, a training, a car to a trade fair) that
book rooms, cars and projectors but belong to no client.

Every event belongs to a thread and a client (the tables say NOT NULL), so internal work goes
into one thread made for it on first use: its client and its one-stage pipeline are archived
(`active = false`) and the thread is `closed`. That keeps it out of everything about clients and
deals: client lists and pickers show active clients only; the funnel, the board and the pipeline
pickers show active pipelines only; open-thread counts, "no next step" and the weighted pipeline
count open threads only; it has no amounts. People's calendars, Today, the workload and the
resources' occupancy do show it: those are about people's and rooms' time. Its ids are kept in
the settings table."""

from __future__ import annotations

import json

from crm_data import clock, rollups, setup
from crm_data.db import Tx
from crm_data.identity import User

THREAD_KEY = "internal_thread_id"
# the internal thread's id in SQL (NULL before it is made), for the reads that must leave it out
THREAD_SQL = f"(SELECT CAST(value AS BIGINT) FROM settings WHERE key = '{THREAD_KEY}')"
NAMES = {
    "en": {"client": "Internal (no client)", "pipeline": "Internal", "stage": "Internal", "thread": "Internal work"},
    "pl": {
        "client": "Wewnętrzne (bez klienta)",
        "pipeline": "Wewnętrzne",
        "stage": "Wewnętrzne",
        "thread": "Praca wewnętrzna",
    },
}


def thread_id_tx(tx: Tx) -> int | None:
    """The internal thread, if it was made already."""
    value = tx.scalar("SELECT value FROM settings WHERE key = ?", [THREAD_KEY])
    return json.loads(value) if value else None


def thread_tx(tx: Tx, actor: User, lang: str = "en") -> tuple[int, int, bool]:
    """(thread id, client id, made now) of the internal thread, made on first use in the
    caller's transaction (a caller that made it calls `db.dictionaries_changed()` after the
    commit: a pipeline and a stage were added)."""
    existing = thread_id_tx(tx)
    if existing is not None:
        row = tx.one("SELECT id, client_id FROM threads WHERE id = ?", [existing])
        if row is not None:
            return row[0], row[1], False
    names = NAMES.get(lang, NAMES["en"])
    now = clock.now()
    client_id = tx.scalar(
        "INSERT INTO clients (name, name_key, created_by, active) VALUES (?, ?, ?, false) RETURNING id",
        [names["client"], "~internal~", actor.id],
    )
    sequence = (tx.scalar("SELECT coalesce(max(sequence), 0) FROM pipelines") or 0) + 10
    en, pl = NAMES["en"], NAMES["pl"]
    pipeline_names = [names["pipeline"], en["pipeline"], pl["pipeline"]]
    stage_names = [[names["stage"], en["stage"], pl["stage"]]]
    pipeline_id = setup.insert_pipeline(
        tx, names["pipeline"], [(names["stage"], 0)], sequence, names=(pipeline_names, stage_names)
    )
    tx.execute("UPDATE pipelines SET active = false WHERE id = ?", [pipeline_id])
    stage_id = tx.scalar("SELECT id FROM stages WHERE pipeline_id = ?", [pipeline_id])
    thread_id = tx.scalar(
        "INSERT INTO threads (client_id, pipeline_id, title, owner_id, stage_id, status, opened_at, closed_at,"
        " last_event_at, created_by) VALUES (?, ?, ?, ?, ?, 'closed', ?, ?, ?, ?) RETURNING id",
        [client_id, pipeline_id, names["thread"], actor.id, stage_id, now, now, now, actor.id],
    )
    tx.execute(
        "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [THREAD_KEY, json.dumps(thread_id)],
    )
    rollups.refresh_stage_entries(tx, [thread_id])  # its one stay, in its one stage
    return thread_id, client_id, True
