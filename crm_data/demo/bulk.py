"""The sample's steps (crm_data.demo): the dictionaries and people, a few dozen rows one
statement each, then the bulk, SQL over range(N) with a deterministic hash for randomness."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from crm_data.db import Tx
from crm_data.demo.names import (
    CITIES,
    EXTRA,
    PRODUCTS,
    ascii_only,
    client_rows,
    contact_rows,
    person_name,
    unnest_sql,
)
from crm_data.errors import WriteConflict
from crm_data.rules import name_skeleton
from crm_data.setup import insert_pipeline, insert_starter_dictionaries

ZONE = "Europe/Warsaw"  # the sample's working days and hours are Warsaw's
DAY_FROM, DAY_TO = 8 * 60, 18 * 60  # a working day, in minutes after local midnight
# events per person: about 12 a working day over five years; a larger sample has more people
EVENTS_PER_USER = 15_000


def team_size(events: int) -> int:
    """How many people a sample of `events` events has: six, and more once six would do more than
    `EVENTS_PER_USER` each (a million events: 67 people), so that each one's days stay plausible."""
    return max(6, -(-max(int(events), 10) // EVENTS_PER_USER))


@dataclass(frozen=True)
class Sample:
    """What one run makes: its sizes, the moment it is made at and the language of its texts."""

    events: int
    threads: int
    clients: int
    users: int
    now: dt.datetime
    lang: str

    @classmethod
    def sized(cls, events: int, lang: str, now: dt.datetime) -> Sample:
        events = max(int(events), 10)
        threads = max(events // 10, 1)
        return cls(
            events=events,
            threads=threads,
            clients=max(threads // 20, 5),
            users=team_size(events),
            now=now,
            lang=lang if lang in EXTRA else "en",
        )

    @property
    def extra(self) -> dict:
        return EXTRA[self.lang]

    @property
    def notes(self) -> dict:
        return EXTRA[self.lang]["notes"]

    @property
    def clock(self) -> dict[str, object]:
        """Today in Warsaw; `cut`: where today's done work ends and its planned work begins (15
        minutes before now, on a 5-minute mark, within the working day); `today_part`: the share of
        today's working day before the cut (0 on a weekend), so today holds that share of a day's
        done events and the rest of a day's planned ones."""
        local = self.now.astimezone(ZoneInfo(ZONE))
        minute = local.hour * 60 + local.minute - 15
        cut = min(max(minute - minute % 5, DAY_FROM), DAY_TO)
        return {
            "now": self.now,
            "today": local.date(),
            "cut": cut,
            "today_part": (cut - DAY_FROM) / (DAY_TO - DAY_FROM) if local.isoweekday() <= 5 else 0.0,
            "day_from": DAY_FROM,
            "day_to": DAY_TO,
            "zone": ZONE,
        }


# -- the dictionaries and the people: a few dozen rows, one statement each -------------------------


def _pipelines(tx: Tx, s: Sample) -> None:
    """The starter dictionaries plus two more pipelines."""
    insert_starter_dictionaries(tx, s.lang)
    existing = {r[0] for r in tx.all("SELECT name FROM pipelines")}
    both = zip(EXTRA["en"]["pipelines"].items(), EXTRA["pl"]["pipelines"].items(), strict=True)
    for i, ((name_en, stages_en), (name_pl, stages_pl)) in enumerate(both, start=len(existing)):
        # named in both languages, like the starter set: a mixed team reads its own
        pipeline_names = [name_pl if s.lang == "pl" else name_en, name_en, name_pl]
        stage_names = [
            [p[0] if s.lang == "pl" else e[0], e[0], p[0]] for e, p in zip(stages_en, stages_pl, strict=True)
        ]
        if pipeline_names[0] not in existing:
            insert_pipeline(tx, pipeline_names[0], stages_en, i, names=(pipeline_names, stage_names))


def _products(tx: Tx, s: Sample) -> None:
    if not tx.scalar("SELECT count(*) FROM products"):
        tx.executemany(
            "INSERT INTO products (code, name, name_en, name_pl, unit, price) VALUES (?, ?, ?, ?, ?, ?)",
            [
                (code, pl if s.lang == "pl" else en, en, pl, s.extra["units"][unit], Decimal(price))
                for code, en, pl, unit, price in PRODUCTS
            ],
        )


def _resources(tx: Tx, s: Sample) -> None:
    if not tx.scalar("SELECT count(*) FROM resources"):
        tx.executemany("INSERT INTO resources (name, kind, buffer_min) VALUES (?, ?, ?)", s.extra["resources"])


def _custom_lists(tx: Tx, s: Sample) -> None:
    """Two custom dictionaries: the first on the first two event types, the second on the second."""
    if tx.scalar("SELECT count(*) FROM dictionaries"):
        return
    types = [r[0] for r in tx.all("SELECT id FROM event_types ORDER BY sequence, id")]
    for d, (name, values) in enumerate(s.extra["dictionaries"].items()):
        dictionary_id = tx.scalar("INSERT INTO dictionaries (name, sequence) VALUES (?, ?) RETURNING id", [name, d])
        tx.executemany(
            "INSERT INTO dictionary_values (dictionary_id, value, sequence) VALUES (?, ?, ?)",
            [(dictionary_id, value, i) for i, value in enumerate(values)],
        )
        tx.executemany(
            "INSERT INTO dictionary_event_types (dictionary_id, event_type_id, is_required) VALUES (?, ?, false)",
            [(dictionary_id, type_id) for type_id in (types[:2] if d == 0 else types[1:2])],
        )


def insert_people(tx: Tx, s: Sample, password_hash: str) -> list[str]:
    """Two managers and members, sharing one password; logins from their names, never taken twice."""
    logins = []
    taken = {r[0] for r in tx.all("SELECT login FROM users")}
    for i, role in enumerate(["manager", "manager"] + ["member"] * (s.users - 2)):
        name = person_name(i, 101)
        base = ascii_only(name_skeleton(name).replace(" ", "."))
        login, n = base, 2
        while login in taken:
            login, n = f"{base}{n}", n + 1
        taken.add(login)
        tx.execute(
            "INSERT INTO users (login, display_name, password_hash, role, locale) VALUES (?, ?, ?, ?, ?)",
            [login, name, password_hash, role, s.lang],
        )
        logins.append(login)
    return logins


# -- the bulk: SQL over range(N), with a deterministic hash for randomness ----------------------------


def _reserve_ids(tx: Tx, sequence: str, count: int) -> int:
    """The first of `count` consecutive ids taken from `sequence` at once: the rows are numbered in
    an order the generator chooses, not in whatever order a parallel plan hands them over."""
    first, last = tx.one(f"SELECT min(v), max(v) FROM (SELECT nextval('{sequence}') AS v FROM range({int(count)}))")
    if count and last - first + 1 != count:
        raise WriteConflict(attempts=1)  # another writer took ids meanwhile: nothing is written
    return first or 0


def _helpers(tx: Tx, s: Sample) -> None:
    """Macros of this transaction: a number in [0, 1), a pick from a list, working days counted
    (a weekend counts as the Monday after it) and back to dates; and where the sample's done work
    ends and its planned work begins, in working days (today's number plus the part of it done)."""
    for sql in (
        "CREATE TEMP MACRO rnd(i, salt) AS (hash(i, salt) % 1000003)::DOUBLE / 1000003",
        "CREATE TEMP MACRO pick(arr, i, salt) AS arr[1 + (hash(i, salt) % len(arr))::INTEGER]",
        """CREATE TEMP MACRO wd_no(d) AS
               (date_diff('day', DATE '1970-01-05', d) // 7) * 5 + least(isodow(d) - 1, 5)""",
        "CREATE TEMP MACRO wd_date(n) AS DATE '1970-01-05' + ((n // 5) * 7 + n % 5)::INTEGER",
    ):
        tx.execute(sql)
    tx.execute(
        """
        CREATE TEMP TABLE d_clock AS
        SELECT wd_no($today) AS today_wd, wd_no($today) + $today_part AS done_until
        """,
        s.clock,
    )


def _clients(tx: Tx, s: Sample) -> None:
    clients = client_rows(s.clients)
    contacts = contact_rows(clients["email"])
    tx.execute(
        f"CREATE TEMP TABLE d_clients AS SELECT $first + no AS id, * FROM ({unnest_sql(clients)})",
        {**clients, "first": _reserve_ids(tx, "clients_seq", s.clients)},
    )
    tx.execute(
        """
        INSERT INTO clients (id, name, name_key, tax_id, address, email, phone, created_at, updated_at)
        SELECT id, name, name_key, tax_id, address, email, phone, $now, $now FROM d_clients
        """,
        {"now": s.now},
    )
    tx.execute(
        f"""
        CREATE TEMP TABLE d_contacts AS
        SELECT $first + k.no AS id, c.id AS client_id, k.k, k.name, k.position, k.email, k.phone
        FROM ({unnest_sql(contacts)}) k JOIN d_clients c ON c.no = k.client_no
        """,
        {**contacts, "first": _reserve_ids(tx, "contacts_seq", len(contacts["name"]))},
    )
    tx.execute(
        """
        INSERT INTO contacts (id, client_id, name, position, email, phone, created_at, updated_at)
        SELECT id, client_id, name, position, email, phone, $now, $now FROM d_contacts
        """,
        {"now": s.now},
    )
    tx.execute(
        "CREATE TEMP TABLE d_contact_count AS SELECT client_id, count(*) AS n FROM d_contacts GROUP BY client_id"
    )


def _lookups(tx: Tx, _s: Sample) -> None:
    """The dictionaries numbered from 0, so that a hash picks one row of each."""
    for sql in (
        """CREATE TEMP TABLE d_users AS
           SELECT row_number() OVER (ORDER BY id) - 1 AS no, id, role FROM users
           WHERE role <> 'admin' OR NOT EXISTS (SELECT 1 FROM users WHERE role <> 'admin')""",
        """CREATE TEMP TABLE d_pipes AS
           SELECT row_number() OVER (ORDER BY sequence, id) - 1 AS no, id FROM pipelines WHERE active""",
        """CREATE TEMP TABLE d_open_stages AS
           SELECT pipeline_id, row_number() OVER (PARTITION BY pipeline_id ORDER BY sequence, id) AS ord, id
           FROM stages WHERE active AND NOT is_won AND NOT is_lost""",
        """CREATE TEMP TABLE d_pipe_info AS
           SELECT p.no, p.id AS pipeline_id,
                  (SELECT count(*) FROM d_open_stages s WHERE s.pipeline_id = p.id) AS k,
                  (SELECT min(id) FROM stages s WHERE s.pipeline_id = p.id AND s.is_won AND s.active) AS won_id,
                  (SELECT min(id) FROM stages s WHERE s.pipeline_id = p.id AND s.is_lost AND s.active) AS lost_id
           FROM d_pipes p""",
        """CREATE TEMP TABLE d_types AS
           SELECT row_number() OVER (ORDER BY sequence, id) - 1 AS no, id, default_duration_min AS minutes
           FROM event_types WHERE active""",
        """CREATE TEMP TABLE d_amount_types AS
           SELECT row_number() OVER (ORDER BY sequence, id) - 1 AS no, id FROM amount_types WHERE active""",
        """CREATE TEMP TABLE d_products AS
           SELECT row_number() OVER (ORDER BY id) - 1 AS no, id, name, price FROM products WHERE active""",
        """CREATE TEMP TABLE d_dict_values AS
           SELECT row_number() OVER (PARTITION BY dictionary_id ORDER BY sequence, id) - 1 AS no, id, dictionary_id,
                  count(*) OVER (PARTITION BY dictionary_id) AS n
           FROM dictionary_values WHERE active""",
        """CREATE TEMP TABLE d_lost AS
           SELECT row_number() OVER (ORDER BY sequence, id) - 1 AS no, id FROM lost_reasons WHERE active""",
    ):
        tx.execute(sql)


def _counts(tx: Tx) -> dict[str, int]:
    """How many rows each numbered dictionary has, as parameters: a hash modulo a constant joins
    by hash, modulo a subquery would compare every pair of rows."""
    names = ("clients", "users", "lost", "pipe_info", "types", "products", "amount_types")
    counts = tx.one(
        "SELECT "
        + ", ".join(f"(SELECT count(*) FROM d_{name})" for name in names)
        + ", (SELECT count(*) FROM resources WHERE active)"
    )
    return dict(zip([f"n_{name}" for name in names] + ["n_resources"], counts, strict=True))


def _threads(tx: Tx, s: Sample) -> None:
    """Threads opened over five years; those whose life ends in the past are won or lost. A thread
    walks `path_len` stages: all of them when won, to its depth and then lost, or to its depth."""
    tx.execute(
        """
        CREATE TEMP TABLE d_threads AS
        WITH base AS (
            SELECT i,
                   $now - to_days((1825 * rnd(i, 1))::BIGINT) - to_hours((24 * rnd(i, 2))::BIGINT) AS opened_at,
                   14 + (900 * rnd(i, 3) * rnd(i, 4))::INTEGER AS life_days,
                   CASE WHEN rnd(i, 5) < 0.6 THEN 0 WHEN rnd(i, 5) < 0.85 THEN 1 ELSE 2 END AS pipe_no,
                   floor(pow(rnd(i, 6), 1.4) * $n_clients)::BIGINT AS client_no,
                   floor(rnd(i, 7) * $n_users)::BIGINT AS owner_no,
                   rnd(i, 8) AS r_outcome, rnd(i, 9) AS r_depth,
                   round(500 + 150000 * pow(rnd(i, 10), 3), -1) AS base_value
            FROM range($threads) t(i)
        ),
        shaped AS (
            SELECT $first + b.i AS id, b.i, b.opened_at,
                   least(b.opened_at + to_days(b.life_days), $now) AS end_at,
                   CASE WHEN b.opened_at + to_days(b.life_days) >= $now THEN 'open'
                        WHEN b.r_outcome < 0.42 THEN 'won' ELSE 'lost' END AS outcome,
                   pi.pipeline_id, pi.k, pi.won_id, pi.lost_id,
                   c.id AS client_id, u.id AS owner_id, b.base_value,
                   1 + floor(b.r_depth * pi.k)::INTEGER AS depth,
                   (SELECT id FROM d_lost l WHERE l.no = (b.i * 7 + 3) % $n_lost) AS lost_reason_id
            FROM base b
            JOIN d_pipe_info pi ON pi.no = b.pipe_no % $n_pipe_info
            JOIN d_clients c ON c.no = b.client_no
            JOIN d_users u ON u.no = b.owner_no
        )
        SELECT *, CASE outcome WHEN 'won' THEN k + 1 WHEN 'lost' THEN depth + 1 ELSE depth END AS path_len
        FROM shaped
        """,
        {**_counts(tx), "now": s.now, "threads": s.threads, "first": _reserve_ids(tx, "threads_seq", s.threads)},
    )


def _events(tx: Tx, s: Sample) -> None:
    """One opening event per thread on the working day it opens; every other event goes to a thread
    in proportion to the days the thread has lived so far (times a busier or quieter deal), on one
    of its working days: so every week holds about as many events as the threads then alive make,
    the last weeks too. The author is the owner, one in seven times a coworker."""
    tx.execute(
        """
        CREATE TEMP TABLE d_spans AS
        SELECT i, coalesce(sum(w) OVER (ORDER BY i ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS from_w,
               sum(w) OVER () AS total_w
        FROM (SELECT i, (1 + (epoch(end_at) - epoch(opened_at)) / 86400) * (0.3 + 1.4 * rnd(i, 19)) AS w FROM d_threads)
        """
    )
    tx.execute(
        """
        CREATE TEMP TABLE d_picked AS
        WITH chosen AS (
            SELECT i, i AS thread_no FROM range($threads) t(i)
            UNION ALL
            SELECT r.i, w.i AS thread_no
            FROM (SELECT i, rnd(i, 20) * (SELECT max(total_w) FROM d_spans) AS u FROM range($threads, $events) t(i)) r
            ASOF JOIN d_spans w ON r.u >= w.from_w
        ),
        dated AS (
            SELECT c.i, t.id AS thread_id, t.client_id, t.owner_id, t.outcome, t.path_len, t.k,
                   t.won_id, t.lost_id, t.pipeline_id, t.lost_reason_id, t.base_value,
                   wd_no((t.opened_at AT TIME ZONE $zone)::DATE) AS from_wd,
                   least(wd_no((t.end_at AT TIME ZONE $zone)::DATE) + 1, k.done_until) AS to_wd,
                   k.done_until
            FROM chosen c JOIN d_threads t ON t.i = c.thread_no CROSS JOIN d_clock k
        )
        SELECT w.* EXCLUDE (from_wd, to_wd, done_until),
               wd_date(floor(least(w.from_wd + CASE WHEN w.i < $threads THEN 0
                                                    ELSE greatest(w.to_wd - w.from_wd, 0) * rnd(w.i, 21) END,
                                   w.done_until - 0.001))::BIGINT) AS day,
               CASE WHEN rnd(w.i, 23) < 0.85 THEN w.owner_id
                    ELSE (SELECT id FROM d_users u WHERE u.no = (hash(w.i, 24) % $n_users)) END AS author_id,
               ty.id AS type_id, ty.minutes
        FROM dated w
        JOIN d_types ty ON ty.no = CASE
            WHEN rnd(w.i, 25) < 0.35 THEN 0 WHEN rnd(w.i, 25) < 0.50 THEN 1 WHEN rnd(w.i, 25) < 0.72 THEN 2
            WHEN rnd(w.i, 25) < 0.80 THEN 3 ELSE 4 + (hash(w.i, 26) % 3)::INTEGER END
            % $n_types
        """,
        {**_counts(tx), **s.clock, "threads": s.threads, "events": s.events},
    )


def _next_steps(tx: Tx, s: Sample) -> None:
    """Planned next steps, chosen now and timed with the done events: most open threads have one,
    over the coming 22 working days (today's rest first), one in twelve overdue by up to five (never from before
    the thread opened), one in five delegated."""
    tx.execute(
        """
        CREATE TEMP TABLE d_next AS
        WITH chosen AS (
            SELECT t.i, t.id AS thread_id, t.client_id, t.owner_id, ty.id AS type_id, ty.minutes,
                   CASE WHEN rnd(t.i, 92) < 0.2
                        THEN (SELECT id FROM d_users u WHERE u.no = hash(t.i, 93) % $n_users)
                        ELSE t.owner_id END AS assignee_id,
                   wd_date(CASE WHEN rnd(t.i, 94) < 0.08
                                THEN greatest(k.today_wd - 1 - hash(t.i, 95) % 5,
                                              wd_no((t.opened_at AT TIME ZONE $zone)::DATE))
                                ELSE floor(k.done_until + 22 * rnd(t.i, 95))::BIGINT END) AS day
            FROM d_threads t CROSS JOIN d_clock k
            JOIN d_types ty ON ty.no = hash(t.i, 91) % least(4, $n_types)
            WHERE t.outcome = 'open' AND rnd(t.i, 90) < 0.8
        )
        SELECT * FROM chosen
        """,
        {**_counts(tx), **s.clock},
    )


def _schedule(tx: Tx, s: Sample) -> None:
    """A plausible day for every person: their done and planned events of a day in one queue, in a
    mixed order (calls between meetings), one after another with the day's free time shared out as
    gaps between them, from 8:00 to 18:00. A full day starts earlier and ends later, so nobody is
    in two places at once. Today, what is done ends before now and what is planned comes after."""
    tx.execute(
        """
        CREATE TEMP TABLE d_slots AS
        WITH queued AS (
            SELECT 0 AS kind, i, author_id AS person_id, day, minutes FROM d_picked
            UNION ALL
            SELECT 1 AS kind, i, assignee_id AS person_id, day, minutes FROM d_next
        ),
        windowed AS (
            SELECT *,
                   CASE WHEN day = $today THEN kind ELSE 0 END AS part,
                   CASE WHEN day = $today AND kind = 1 THEN $cut ELSE $day_from END AS win_from,
                   CASE WHEN day = $today AND kind = 0 THEN $cut ELSE $day_to END AS win_to,
                   -- the share of too much work put before the window: all of it before now today
                   CASE WHEN day <> $today THEN 0.5 WHEN kind = 0 THEN 1.0 ELSE 0.0 END AS early,
                   1 + hash(i, 97 + kind) % 4 AS gap_weight
            FROM queued
        ),
        summed AS (
            SELECT *,
                   sum(minutes) OVER run - minutes AS busy_before,
                   sum(gap_weight) OVER run AS gaps_through,
                   sum(minutes) OVER whole AS busy,
                   sum(gap_weight) OVER whole + 2 AS gaps
            FROM windowed
            WINDOW whole AS (PARTITION BY person_id, day, part),
                   run AS (PARTITION BY person_id, day, part ORDER BY hash(i, 96 + kind), kind, i
                           ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
        )
        -- an event starts after the work queued before it and the gaps up to it: never before the
        -- previous one ends, however full the day
        SELECT kind, i,
               timezone($zone, day + to_minutes((
                   win_from - 5 * ceil(greatest(busy - (win_to - win_from), 0) * early / 5)
                   + busy_before + 5 * floor(greatest(win_to - win_from - busy, 0) * gaps_through / gaps / 5)
               )::BIGINT)) AS starts_at
        FROM summed
        """,
        s.clock,
    )


def _stages(tx: Tx, _s: Sample) -> None:
    """The done events at their times; a thread's stage moves on at even steps of its events, the
    last step to won or lost."""
    tx.execute(
        """
        CREATE TEMP TABLE d_events AS
        WITH ranked AS (
            SELECT p.*, sl.starts_at,
                   row_number() OVER (PARTITION BY p.thread_id ORDER BY sl.starts_at, p.i) AS rn,
                   count(*) OVER (PARTITION BY p.thread_id) AS n
            FROM d_picked p JOIN d_slots sl ON sl.kind = 0 AND sl.i = p.i
        ),
        stepped AS (
            SELECT *, ceil(rn * path_len / n)::INTEGER AS step,
                   lag(ceil(rn * path_len / n)::INTEGER) OVER (PARTITION BY thread_id ORDER BY rn) AS prev_step
            FROM ranked
        )
        SELECT s.i, s.thread_id, s.client_id, s.starts_at, s.base_value, s.pipeline_id, s.author_id,
               s.type_id, s.minutes,
               CASE WHEN s.prev_step IS NOT DISTINCT FROM s.step THEN NULL
                    WHEN s.outcome = 'won' AND s.step = s.path_len THEN s.won_id
                    WHEN s.outcome = 'lost' AND s.step = s.path_len THEN s.lost_id
                    ELSE os.id END AS stage_id,
               CASE WHEN s.outcome = 'lost' AND s.step = s.path_len AND s.prev_step IS DISTINCT FROM s.step
                    THEN s.lost_reason_id END AS lost_reason_id
        FROM stepped s
        LEFT JOIN d_open_stages os ON os.pipeline_id = s.pipeline_id AND os.ord = least(s.step, s.k)
        """
    )


def _thread_rows(tx: Tx, s: Sample) -> None:
    """The threads, titled after a product, at the stage their last stage change left them, opened
    at the latest by their first event."""
    tx.execute(
        """
        INSERT INTO threads (id, client_id, pipeline_id, title, owner_id, stage_id, status, lost_reason_id,
                             opened_at, closed_at, last_event_at, created_by, version, expected_close)
        SELECT t.id, t.client_id, t.pipeline_id,
               pick($titles, t.i, 30) || ' ' || p.name || CASE WHEN rnd(t.i, 31) < 0.5 THEN ''
                   ELSE ' × ' || (1 + hash(t.i, 32) % 50)::VARCHAR END,
               t.owner_id,
               CASE t.outcome WHEN 'won' THEN t.won_id WHEN 'lost' THEN t.lost_id
                    ELSE (SELECT os.id FROM d_open_stages os WHERE os.pipeline_id = t.pipeline_id AND os.ord = t.depth) END,
               t.outcome,
               CASE WHEN t.outcome = 'lost' THEN t.lost_reason_id END,
               least(t.opened_at, e.first_at),
               CASE WHEN t.outcome <> 'open' THEN e.last_at END,
               e.last_at, t.owner_id, 1 + e.changes,
               -- expected to close from ten days ago (slipped) to three months after the last event
               CAST(e.last_at AS DATE) + CAST(floor(rnd(t.i, 34) * 100) AS INTEGER) - 10
        FROM d_threads t
        JOIN (SELECT thread_id, min(starts_at) AS first_at, max(starts_at) AS last_at, count(stage_id) AS changes
              FROM d_events GROUP BY thread_id) e ON e.thread_id = t.id
        JOIN d_products p ON p.no = hash(t.i, 33) % $n_products
        ORDER BY t.opened_at
        """,
        {**_counts(tx), "titles": [s.notes["titles"][k] for k in ("0", "1", "2")]},
    )


def _event_rows(tx: Tx, s: Sample) -> None:
    """The done events, numbered in time order, with a note made of four parts."""
    tx.execute(
        "CREATE TEMP TABLE d_ev AS SELECT $first - 1 + row_number() OVER (ORDER BY starts_at, i) AS id, * FROM d_events",
        {"first": _reserve_ids(tx, "events_seq", tx.scalar("SELECT count(*) FROM d_events"))},
    )
    tx.execute(
        """
        INSERT INTO events (id, thread_id, client_id, type_id, author_id, assignee_id, status, starts_at,
                            ends_at, note, stage_id, lost_reason_id, completed_at, created_at, updated_at)
        SELECT id, thread_id, client_id, type_id, author_id, author_id, 'done', starts_at,
               starts_at + to_minutes(minutes),
               pick($verbs, i, 40) || ' ' || pick($people, i, 43) || ' ' || pick($topics, i, 41) || '. '
                   || pick($outcomes, i, 42),
               stage_id, lost_reason_id, starts_at + to_minutes(minutes),
               starts_at + to_minutes(minutes), starts_at + to_minutes(minutes)
        FROM d_ev ORDER BY id
        """,
        {k: s.notes[k] for k in ("verbs", "people", "topics", "outcomes")},
    )
    tx.execute(
        """CREATE TEMP TABLE d_ev_no AS
           SELECT row_number() OVER (ORDER BY id) - 1 AS no, id, thread_id, client_id, base_value, i FROM d_ev"""
    )


def _event_details(tx: Tx, _s: Sample) -> None:
    """About two amounts, one product line and half a participant per done event, and custom
    dictionary values on three in ten events of the types that have them."""
    n_events = tx.scalar("SELECT count(*) FROM d_ev")
    tx.execute(
        """
        INSERT INTO event_amounts (event_id, amount_type_id, value)
        SELECT e.id, a.id,
               round(e.base_value * (0.2 + 1.6 * rnd(r.i, 51))
                     * CASE a.no WHEN 0 THEN 1 WHEN 1 THEN 0.9 WHEN 2 THEN 0.35 WHEN 3 THEN 0.05 ELSE 0.3 END, 2)::DECIMAL(18, 2)
        FROM range(2 * $n) r(i)
        JOIN d_ev_no e ON e.no = hash(r.i, 50) % $n
        JOIN d_amount_types a ON a.no = CASE WHEN rnd(r.i, 52) < 0.4 THEN 0 WHEN rnd(r.i, 52) < 0.65 THEN 1
             WHEN rnd(r.i, 52) < 0.8 THEN 2 WHEN rnd(r.i, 52) < 0.9 THEN 3 ELSE 4 END % $n_amount_types
        ORDER BY e.id, r.i
        """,
        {**_counts(tx), "n": n_events},
    )
    tx.execute(
        """
        INSERT INTO event_products (event_id, product_id, quantity, unit_price, value)
        SELECT e.id, p.id, r.qty, p.price, round(r.qty * p.price, 2)
        FROM (SELECT i, (1 + hash(i, 62) % 40)::DECIMAL(18, 3) AS qty FROM range($n) t(i)) r
        JOIN d_ev_no e ON e.no = hash(r.i, 60) % $n
        JOIN d_products p ON p.no = hash(r.i, 61) % $n_products
        ORDER BY e.id, r.i
        """,
        {**_counts(tx), "n": n_events},
    )
    tx.execute(
        """
        INSERT INTO event_participants (event_id, contact_id, user_id, name)
        SELECT e.id, CASE WHEN rnd(r.i, 71) >= 0.1 THEN k.id END, NULL,
               CASE WHEN rnd(r.i, 71) < 0.1 THEN pick($third, r.i, 72) END
        FROM range($n // 2) r(i)
        JOIN d_ev_no e ON e.no = hash(r.i, 70) % $n
        JOIN d_contact_count cc ON cc.client_id = e.client_id
        JOIN d_contacts k ON k.client_id = e.client_id AND k.k = hash(r.i, 73) % cc.n
        ORDER BY e.id, r.i
        """,
        {"n": n_events, "third": [person_name(i, 90) + " (" + CITIES[i % len(CITIES)] + ")" for i in range(12)]},
    )
    tx.execute(
        """
        INSERT INTO event_dictionary_values (event_id, dictionary_id, value_id)
        SELECT e.id, l.dictionary_id, v.id
        FROM d_ev e JOIN dictionary_event_types l ON l.event_type_id = e.type_id
        JOIN d_dict_values v ON v.dictionary_id = l.dictionary_id AND v.no = hash(e.id, 80) % v.n
        WHERE rnd(e.id, 81) < 0.3
        ORDER BY e.id, l.dictionary_id
        """
    )


def _plans(tx: Tx, s: Sample) -> None:
    """The planned next steps at their times, each planned by its thread's last done event."""
    tx.execute(
        """
        CREATE TEMP TABLE d_pl AS
        SELECT $first - 1 + row_number() OVER (ORDER BY sl.starts_at, n.thread_id) AS id, n.*, sl.starts_at,
               (SELECT max(e.id) FROM d_ev e WHERE e.thread_id = n.thread_id) AS last_event_id
        FROM d_next n JOIN d_slots sl ON sl.kind = 1 AND sl.i = n.i
        """,
        {"first": _reserve_ids(tx, "events_seq", tx.scalar("SELECT count(*) FROM d_next"))},
    )
    tx.execute(
        """
        INSERT INTO events (id, thread_id, client_id, type_id, author_id, assignee_id, status, starts_at,
                            ends_at, note, planned_by_event_id, remind_at, created_at, updated_at)
        SELECT id, thread_id, client_id, type_id, owner_id, assignee_id, 'planned', starts_at,
               starts_at + to_minutes(minutes), pick($next_notes, i, 97), last_event_id,
               starts_at - INTERVAL 15 MINUTE, $now, $now
        FROM d_pl ORDER BY id
        """,
        {"now": s.now, "next_notes": s.notes["outcomes"]},
    )


def _bookings(tx: Tx, s: Sample) -> None:
    """A reminder for every planned event; a room, car or projector for half the coming meetings,
    never two bookings of one resource at once (its buffer included)."""
    tx.execute(
        """
        INSERT INTO reminders (user_id, event_id, remind_at)
        SELECT assignee_id, id, remind_at FROM events WHERE status = 'planned' AND remind_at IS NOT NULL
        """
    )
    tx.execute(
        """
        CREATE TEMP TABLE d_booking AS
        SELECT e.id AS event_id, e.starts_at, e.ends_at, e.author_id, r.id AS resource_id, r.buffer_min
        FROM events e JOIN event_types et ON et.id = e.type_id
        JOIN (SELECT row_number() OVER (ORDER BY id) - 1 AS no, id, buffer_min FROM resources WHERE active) r
          ON r.no = hash(e.id, 120) % $n_resources
        WHERE e.status = 'planned' AND et.is_meeting AND e.starts_at > $now AND rnd(e.id, 121) < 0.5
        """,
        {**_counts(tx), "now": s.now},
    )
    tx.execute(
        """
        INSERT INTO reservations (event_id, resource_id, starts_at, ends_at, created_by)
        SELECT b.event_id, b.resource_id, b.starts_at, b.ends_at, b.author_id FROM d_booking b
        WHERE NOT EXISTS (
            SELECT 1 FROM d_booking o WHERE o.resource_id = b.resource_id AND o.event_id < b.event_id
              AND o.starts_at < b.ends_at + to_minutes(b.buffer_min)
              AND b.starts_at < o.ends_at + to_minutes(b.buffer_min))
        """
    )


# (step, what the progress line says when it is done); every step writes through the one `Tx`
DICTIONARY_STEPS: tuple[Callable[[Tx, Sample], None], ...] = (_pipelines, _products, _resources, _custom_lists)
BULK_STEPS: tuple[tuple[Callable[[Tx, Sample], None], str | None], ...] = (
    (_helpers, None),
    (_clients, None),
    (_lookups, "clients and contacts"),
    (_threads, "threads planned"),
    (_events, None),
    (_next_steps, None),
    (_schedule, None),
    (_stages, "events planned"),
    (_thread_rows, "threads"),
    (_event_rows, "events"),
    (_event_details, "amounts, products, participants"),
    (_plans, "planned events"),
    (_bookings, "reminders and reservations"),
)
