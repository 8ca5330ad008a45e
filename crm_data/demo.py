"""Sample data: `python -m crm_data.demo --events N [--db PATH] [--lang en|pl]`.

A realistic team: Polish and English company and person names with valid Polish tax ids,
three pipelines (sales, request for quotation, order fulfilment), products, amount types,
users, threads at every stage over five years, events with amounts, products and
participants, and planned events in the coming weeks (some overdue, some delegated). A person's
day is one a person could live: about a dozen events on a working day, a few of them meetings
with calls between them, 8:00 to 18:00, never two at once; a larger sample has more people
(six, and one more per `EVENTS_PER_USER` events), not busier ones.

It is made in named steps (`DICTIONARY_STEPS`, `BULK_STEPS`), each writing through the one `Tx`.
Everything after the few dozen dictionary rows is bulk SQL from `range(N)` with a deterministic
hash for randomness, so the same `now` makes the same sample: about 20 seconds of CPU for
1,000,000 events here.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import secrets
import shlex
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from crm_data import clock, rollups, startup, transfer, users
from crm_data.config import config_for, config_from_env
from crm_data.db import Database, Tx
from crm_data.errors import CrmError, WriteConflict
from crm_data.rules import name_skeleton
from crm_data.setup import insert_pipeline, insert_starter_dictionaries

EXTRA = {
    "en": {
        "pipelines": {
            "Request for quotation": [
                ("Received", 10),
                ("Costing", 40),
                ("Quote sent", 70),
                ("Accepted", 100, "won"),
                ("Rejected", 0, "lost"),
            ],
            "Order fulfilment": [
                ("Ordered", 20),
                ("In production", 50),
                ("Shipped", 80),
                ("Delivered", 100, "won"),
                ("Cancelled", 0, "lost"),
            ],
        },
        "resources": [
            ("Conference room A", "room", 15),
            ("Meeting room B", "room", 10),
            ("Projector Epson", "projector", 0),
            ("Car Škoda Octavia WX 1234A", "car", 30),
            ("Car Toyota Corolla WX 5678B", "car", 30),
        ],
        "dictionaries": {
            "Lead source": ["Website", "Referral", "Trade fair", "Cold call", "LinkedIn"],
            "Client mood": ["Positive", "Neutral", "Sceptical"],
        },
        "units": ["pcs", "h", "kg", "m", "licence", "t", "day", "year"],
        "notes": {
            "verbs": ["Called", "Spoke with", "Met", "Wrote to", "Followed up with", "Had a video call with"],
            "people": [
                "the purchasing manager",
                "the CEO",
                "the technical director",
                "the owner",
                "the office manager",
                "the chief accountant",
            ],
            "topics": [
                "about the offer",
                "about delivery dates",
                "about pricing",
                "about the contract draft",
                "about a discount",
                "about technical requirements",
                "about the invoice",
                "about next year's volumes",
            ],
            "outcomes": [
                "Interested, wants details.",
                "Asked for a revised offer.",
                "Needs approval from the board.",
                "Agreed on next steps.",
                "Not convinced yet.",
                "Very positive.",
                "Will call back next week.",
            ],
            "titles": {"0": "Offer", "1": "RFQ", "2": "Order"},
        },
    },
    "pl": {
        "pipelines": {
            "Zapytanie ofertowe": [
                ("Otrzymane", 10),
                ("Kalkulacja", 40),
                ("Wysłana wycena", 70),
                ("Przyjęte", 100, "won"),
                ("Odrzucone", 0, "lost"),
            ],
            "Realizacja zamówienia": [
                ("Zamówione", 20),
                ("W produkcji", 50),
                ("Wysłane", 80),
                ("Dostarczone", 100, "won"),
                ("Anulowane", 0, "lost"),
            ],
        },
        "resources": [
            ("Sala konferencyjna A", "sala", 15),
            ("Salka B", "sala", 10),
            ("Projektor Epson", "projektor", 0),
            ("Samochód Škoda Octavia WX 1234A", "samochód", 30),
            ("Samochód Toyota Corolla WX 5678B", "samochód", 30),
        ],
        "dictionaries": {
            "Źródło kontaktu": ["Strona www", "Polecenie", "Targi", "Zimny telefon", "LinkedIn"],
            "Nastawienie klienta": ["Pozytywne", "Neutralne", "Sceptyczne"],
        },
        "units": ["szt.", "godz.", "kg", "m", "licencja", "t", "dzień", "rok"],
        "notes": {
            "verbs": ["Rozmowa z", "Spotkanie z", "Telefon z", "Wideorozmowa z", "Ustalenia z", "Konsultacja z"],
            "people": [
                "kierownikiem zakupów",
                "prezesem",
                "dyrektorem technicznym",
                "właścicielem",
                "kierowniczką biura",
                "główną księgową",
            ],
            "topics": [
                "w sprawie oferty",
                "o terminach dostaw",
                "o cenach",
                "o projekcie umowy",
                "o rabacie",
                "o wymaganiach technicznych",
                "o fakturze",
                "o wolumenach na przyszły rok",
            ],
            "outcomes": [
                "Zainteresowany, prosi o szczegóły.",
                "Prosi o poprawioną ofertę.",
                "Potrzebna zgoda zarządu.",
                "Ustaliliśmy kolejne kroki.",
                "Jeszcze nieprzekonany.",
                "Bardzo pozytywnie.",
                "Oddzwoni w przyszłym tygodniu.",
            ],
            "titles": {"0": "Oferta", "1": "Zapytanie", "2": "Zamówienie"},
        },
    },
}

PRODUCTS = [
    ("CRM-LIC", "CRM licence", "Licencja CRM", 4, "1200.00"),
    ("SRV-H", "Consulting hour", "Godzina konsultacji", 1, "250.00"),
    ("PLC-S7", "PLC controller S7", "Sterownik PLC S7", 0, "3450.00"),
    ("CAB-100", "Cable 100 m", "Kabel 100 m", 0, "189.90"),
    ("PMP-2", "Water pump 2 kW", "Pompa wodna 2 kW", 0, "2199.00"),
    ("PNL-400", "Solar panel 400 W", "Panel fotowoltaiczny 400 W", 0, "749.00"),
    ("INV-5K", "Inverter 5 kW", "Falownik 5 kW", 0, "5290.00"),
    ("STL-1T", "Steel sheet (tonne)", "Blacha stalowa (tona)", 5, "4100.00"),
    ("PAL-EU", "Euro pallet", "Paleta EUR", 0, "65.00"),
    ("TRN-D", "Training day", "Dzień szkolenia", 6, "3200.00"),
    ("SUP-Y", "Support, yearly", "Wsparcie roczne", 7, "9600.00"),
    ("LED-60", "LED panel 60x60", "Panel LED 60x60", 0, "129.00"),
    ("DRV-24", "Motor drive 24 V", "Napęd 24 V", 0, "860.00"),
    ("SNS-T", "Temperature sensor", "Czujnik temperatury", 0, "95.50"),
    ("HVC-10", "Heat pump 10 kW", "Pompa ciepła 10 kW", 0, "28900.00"),
    ("FRK-2", "Forklift rental (day)", "Wynajem wózka (dzień)", 1, "420.00"),
    ("PNT-W", "Paint, white 10 l", "Farba biała 10 l", 0, "219.00"),
    ("SRV-INS", "Installation service", "Usługa montażu", 1, "1800.00"),
    ("WIN-PVC", "PVC window", "Okno PCV", 0, "1490.00"),
    ("BRK-500", "Bricks, pallet of 500", "Cegły, paleta 500 szt.", 0, "1150.00"),
]

COMPANY_STEMS = [
    "Agro",
    "Bud",
    "Eko",
    "Euro",
    "Inter",
    "Med",
    "Nord",
    "Pol",
    "Tech",
    "Trans",
    "Wod",
    "Stal",
    "Elektro",
    "Drew",
    "Mleko",
    "Farm",
    "Auto",
    "Termo",
    "Opto",
    "Sol",
    "Hydro",
    "Geo",
    "Bio",
    "Kraft",
    "Baltic",
    "Silesia",
    "Mazur",
    "Vistula",
    "Karpat",
    "Odra",
    "Warta",
    "Tatra",
]
COMPANY_ENDINGS = [
    "mex",
    "pol",
    "tech",
    "bud",
    "trans",
    "med",
    "serwis",
    "plast",
    "chem",
    "system",
    "logistyka",
    "net",
    "soft",
    "met",
    "dom",
    "Systems",
    "Logistics",
    "Solutions",
    "Industries",
    "Trading",
]
LEGAL_FORMS = ["Sp. z o.o.", "S.A.", "sp.j.", "Ltd", "GmbH", "Sp. z o.o. sp.k.", "Inc."]
CITIES = [
    "Warszawa",
    "Kraków",
    "Łódź",
    "Wrocław",
    "Poznań",
    "Gdańsk",
    "Szczecin",
    "Bydgoszcz",
    "Lublin",
    "Białystok",
    "Katowice",
    "Gdynia",
    "Częstochowa",
    "Radom",
    "Toruń",
    "Rzeszów",
    "Kielce",
    "Olsztyn",
    "London",
    "Manchester",
    "Berlin",
    "Hamburg",
    "Praha",
    "Vilnius",
]
STREETS = [
    "ul. Marszałkowska",
    "ul. Długa",
    "ul. Polna",
    "ul. Leśna",
    "ul. Słoneczna",
    "ul. Przemysłowa",
    "al. Jerozolimskie",
    "ul. Żeromskiego",
    "ul. Kościuszki",
    "High Street",
    "Station Road",
]
FIRST_F = [
    "Anna",
    "Katarzyna",
    "Małgorzata",
    "Agnieszka",
    "Barbara",
    "Ewa",
    "Magdalena",
    "Joanna",
    "Zofia",
    "Aleksandra",
    "Emily",
    "Sarah",
    "Olivia",
    "Grace",
]
FIRST_M = [
    "Piotr",
    "Krzysztof",
    "Andrzej",
    "Tomasz",
    "Paweł",
    "Michał",
    "Marcin",
    "Łukasz",
    "Grzegorz",
    "Jakub",
    "Wojciech",
    "James",
    "Oliver",
    "Thomas",
    "Harry",
]
# (masculine, feminine) surname forms; English surnames do not change
SURNAMES = [
    ("Nowak", "Nowak"),
    ("Kowalski", "Kowalska"),
    ("Wiśniewski", "Wiśniewska"),
    ("Wójcik", "Wójcik"),
    ("Kowalczyk", "Kowalczyk"),
    ("Kamiński", "Kamińska"),
    ("Lewandowski", "Lewandowska"),
    ("Zieliński", "Zielińska"),
    ("Szymański", "Szymańska"),
    ("Woźniak", "Woźniak"),
    ("Dąbrowski", "Dąbrowska"),
    ("Kozłowski", "Kozłowska"),
    ("Jankowski", "Jankowska"),
    ("Mazur", "Mazur"),
    ("Krawczyk", "Krawczyk"),
    ("Smith", "Smith"),
    ("Jones", "Jones"),
    ("Taylor", "Taylor"),
    ("Brown", "Brown"),
    ("Williams", "Williams"),
    ("Wilson", "Wilson"),
]
POSITIONS = [
    "CEO",
    "CFO",
    "Purchasing manager",
    "Kierownik zakupów",
    "Dyrektor techniczny",
    "Office manager",
    "Specjalista ds. zakupów",
    "Project manager",
    "Właściciel",
    "Główny księgowy",
]


@dataclass(frozen=True)
class DemoResult:
    events: int
    threads: int
    clients: int
    users: int
    password: str
    logins: list[str]
    seconds: float


class DemoError(CrmError):
    key = "demo.not_empty"


def _nip(seed: int) -> str:
    """A valid Polish tax id (NIP): nine digits and a mod-11 check digit that is not 10."""
    weights = (6, 5, 7, 2, 3, 4, 5, 6, 7)
    n = seed
    while True:
        digits = [(n // 10**i) % 10 for i in range(9)]
        digits[0] = digits[0] or 1
        check = sum(w * d for w, d in zip(weights, digits, strict=True)) % 11
        if check != 10:
            return "".join(map(str, digits)) + str(check)
        n += 7919


def _h(i: int, salt: int) -> int:
    """Deterministic pseudo-random integer for small Python-side tables."""
    x = (i * 2654435761 + salt * 40503 + 0x9E3779B9) & 0xFFFFFFFF
    x ^= x >> 16
    x = (x * 0x45D9F3B) & 0xFFFFFFFF
    x ^= x >> 16
    return x


def _person(i: int, salt: int) -> str:
    """A Polish name (feminine surname forms where Polish has them) or, one in five, English."""
    english = _h(i, salt + 3) % 5 == 0
    surnames = SURNAMES[15:] if english else SURNAMES[:15]
    surname = surnames[_h(i, salt + 1) % len(surnames)]
    female, male = (FIRST_F[10:], FIRST_M[10:]) if english else (FIRST_F[:10], FIRST_M[:10])
    if _h(i, salt) % 2:
        return f"{female[_h(i, salt + 2) % len(female)]} {surname[1]}"
    return f"{male[_h(i, salt + 2) % len(male)]} {surname[0]}"


def _companies(count: int) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    i = 0
    while len(names) < count:
        stem = COMPANY_STEMS[_h(i, 11) % len(COMPANY_STEMS)]
        ending = COMPANY_ENDINGS[_h(i, 12) % len(COMPANY_ENDINGS)]
        form = LEGAL_FORMS[_h(i, 13) % len(LEGAL_FORMS)]
        glue = "-" if ending[0].isupper() else ""
        name = f"{stem}{glue}{ending} {form}" if glue == "" else f"{stem} {ending} {form}"
        if i >= 3000:
            name = f"{name} {CITIES[_h(i, 14) % len(CITIES)]}"
        if i >= 60000:
            name = f"{name} {i}"
        key = name_skeleton(name)
        if key not in seen:
            seen.add(key)
            names.append(name)
        i += 1
    return names


def _ascii(text: str) -> str:
    return text.translate(str.maketrans("ąćęłńóśźż", "acelnoszz"))


ZONE = "Europe/Warsaw"  # the sample's working days and hours are Warsaw's
DAY_FROM, DAY_TO = 8 * 60, 18 * 60  # a working day, in minutes after local midnight
# events per person: about 12 a working day over five years; a larger sample has more people
EVENTS_PER_USER = 15_000


def team_size(events: int) -> int:
    """How many people a sample of `events` events has: six, and more once six would do more than
    `EVENTS_PER_USER` each (a million events: 67 people), so that each one's days stay plausible."""
    return max(6, -(-max(int(events), 10) // EVENTS_PER_USER))


@dataclass(frozen=True)
class _Sample:
    """What one run makes: its sizes, the moment it is made at and the language of its texts."""

    events: int
    threads: int
    clients: int
    users: int
    now: dt.datetime
    lang: str

    @classmethod
    def sized(cls, events: int, lang: str, now: dt.datetime) -> _Sample:
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


def _pipelines(tx: Tx, s: _Sample) -> None:
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


def _products(tx: Tx, s: _Sample) -> None:
    if not tx.scalar("SELECT count(*) FROM products"):
        tx.executemany(
            "INSERT INTO products (code, name, name_en, name_pl, unit, price) VALUES (?, ?, ?, ?, ?, ?)",
            [
                (code, pl if s.lang == "pl" else en, en, pl, s.extra["units"][unit], Decimal(price))
                for code, en, pl, unit, price in PRODUCTS
            ],
        )


def _resources(tx: Tx, s: _Sample) -> None:
    if not tx.scalar("SELECT count(*) FROM resources"):
        tx.executemany("INSERT INTO resources (name, kind, buffer_min) VALUES (?, ?, ?)", s.extra["resources"])


def _custom_lists(tx: Tx, s: _Sample) -> None:
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


def _people(tx: Tx, s: _Sample, password_hash: str) -> list[str]:
    """Two managers and members, sharing one password; logins from their names, never taken twice."""
    logins = []
    taken = {r[0] for r in tx.all("SELECT login FROM users")}
    for i, role in enumerate(["manager", "manager"] + ["member"] * (s.users - 2)):
        name = _person(i, 101)
        base = _ascii(name_skeleton(name).replace(" ", "."))
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


# -- clients and contacts: few, built in Python for valid tax ids and exact name keys ---------------


def _client_rows(count: int) -> dict[str, list]:
    names = _companies(count)
    return {
        "name": names,
        "name_key": [name_skeleton(n) for n in names],
        "tax_id": [_nip(_h(i, 21) * 10007 + i) for i in range(count)],
        "address": [
            f"{STREETS[_h(i, 22) % len(STREETS)]} {1 + _h(i, 23) % 180}, {CITIES[_h(i, 24) % len(CITIES)]}"
            for i in range(count)
        ],
        "email": [f"biuro@{name_skeleton(n).split()[0].replace('-', '')}.example" for n in names],
        "phone": [f"+48 {_h(i, 25) % 900 + 100} {_h(i, 26) % 900 + 100} {_h(i, 27) % 900 + 100}" for i in range(count)],
    }


def _contact_rows(client_emails: list[str]) -> dict[str, list]:
    """One to four contacts per client, with the client's mail domain."""
    rows: dict[str, list] = {key: [] for key in ("client_no", "k", "name", "position", "email", "phone")}
    for c, client_email in enumerate(client_emails):
        for k in range(1 + _h(c, 31) % 4):
            seed = c * 7 + k
            person = _person(seed, 41)
            for key, value in (
                ("client_no", c),
                ("k", k),
                ("name", person),
                ("position", POSITIONS[_h(seed, 42) % len(POSITIONS)]),
                ("email", f"{_ascii(name_skeleton(person).split()[0])}@{client_email.split('@')[1]}"),
                ("phone", f"+48 5{_h(seed, 43) % 90 + 10} {_h(seed, 44) % 900 + 100} {_h(seed, 45) % 900 + 100}"),
            ):
                rows[key].append(value)
    return rows


def _unnest(columns: dict[str, list]) -> str:
    """A SELECT of the named list parameters side by side, one row per position, numbered `no`."""
    first = next(iter(columns))
    unnested = ", ".join(f"unnest(${name}) AS {name}" for name in columns)
    return f"SELECT unnest(range(len(${first}))) AS no, {unnested}"


# -- the bulk: SQL over range(N), with a deterministic hash for randomness ----------------------------


def _reserve_ids(tx: Tx, sequence: str, count: int) -> int:
    """The first of `count` consecutive ids taken from `sequence` at once: the rows are numbered in
    an order the generator chooses, not in whatever order a parallel plan hands them over."""
    first, last = tx.one(f"SELECT min(v), max(v) FROM (SELECT nextval('{sequence}') AS v FROM range({int(count)}))")
    if count and last - first + 1 != count:
        raise WriteConflict(attempts=1)  # another writer took ids meanwhile: nothing is written
    return first or 0


def _helpers(tx: Tx, s: _Sample) -> None:
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


def _clients(tx: Tx, s: _Sample) -> None:
    clients = _client_rows(s.clients)
    contacts = _contact_rows(clients["email"])
    tx.execute(
        f"CREATE TEMP TABLE d_clients AS SELECT $first + no AS id, * FROM ({_unnest(clients)})",
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
        FROM ({_unnest(contacts)}) k JOIN d_clients c ON c.no = k.client_no
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


def _lookups(tx: Tx, _s: _Sample) -> None:
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


def _threads(tx: Tx, s: _Sample) -> None:
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


def _events(tx: Tx, s: _Sample) -> None:
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


def _next_steps(tx: Tx, s: _Sample) -> None:
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


def _schedule(tx: Tx, s: _Sample) -> None:
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


def _stages(tx: Tx, _s: _Sample) -> None:
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


def _thread_rows(tx: Tx, s: _Sample) -> None:
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


def _event_rows(tx: Tx, s: _Sample) -> None:
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


def _event_details(tx: Tx, _s: _Sample) -> None:
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
        {"n": n_events, "third": [_person(i, 90) + " (" + CITIES[i % len(CITIES)] + ")" for i in range(12)]},
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


def _plans(tx: Tx, s: _Sample) -> None:
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


def _bookings(tx: Tx, s: _Sample) -> None:
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
DICTIONARY_STEPS: tuple[Callable[[Tx, _Sample], None], ...] = (_pipelines, _products, _resources, _custom_lists)
BULK_STEPS: tuple[tuple[Callable[[Tx, _Sample], None], str | None], ...] = (
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


def _generate_elsewhere(db: Database, events: int, **options: Any) -> DemoResult:
    """The generator's statements are DuckDB's (it computes the sample in bulk): on another engine
    the sample is made in a temporary DuckDB file holding a copy of the database, then copied
    back in one transaction (crm_data.transfer)."""
    started = time.perf_counter()
    say = options.get("progress") or (lambda _msg: None)
    with tempfile.TemporaryDirectory(prefix="crm-sample-") as tmp:
        local = Database.open(config_for(Path(tmp) / "crm.duckdb", db.config.data_dir))
        try:
            transfer.replace_contents(db, local)
            result = generate(local, events, **options)
            say("copying the sample into the database")
            transfer.replace_contents(local, db)
        finally:
            local.close()
    return dataclasses.replace(result, seconds=time.perf_counter() - started)


def generate(
    db: Database,
    events: int,
    *,
    lang: str = "en",
    password: str | None = None,
    now: dt.datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> DemoResult:
    """Fill an empty database (users may exist) with about `events` events."""
    if db.engine.name != "duckdb":
        return _generate_elsewhere(db, events, lang=lang, password=password, now=now, progress=progress)
    started = time.perf_counter()
    say = progress or (lambda _msg: None)
    sample = _Sample.sized(events, lang, (now or clock.now()).replace(microsecond=0))
    password = password or secrets.token_urlsafe(9)
    password_hash = users.prepare_user(login="demo", display_name="Demo", password=password).password_hash

    with db.read() as tx:
        if tx.scalar("SELECT (SELECT count(*) FROM clients) + (SELECT count(*) FROM threads)"):
            raise DemoError()

    def dictionaries_and_people(tx: Tx) -> list[str]:
        for step in DICTIONARY_STEPS:
            step(tx, sample)
        return _people(tx, sample, password_hash)

    logins = db.write(dictionaries_and_people)
    say(f"dictionaries and {len(logins)} users")

    def bulk(tx: Tx) -> None:
        for step, done in BULK_STEPS:
            step(tx, sample)
            if done:
                say(done)
        rollups.rebuild_tx(tx)  # the reports' rollups, in the same transaction

    db.write(bulk, retries=1)
    with db.read() as tx:
        counts = tx.one(
            "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM threads), (SELECT count(*) FROM clients)"
        )
    return DemoResult(counts[0], counts[1], counts[2], sample.users, password, logins, time.perf_counter() - started)


def bulk_memory_mb(meminfo: str | None = None) -> int:
    """What DuckDB may use while the command line builds a sample: three quarters of the
    machine's memory (the whole sample is one transaction; 10,000,000 events need about 6 GB),
    not the 512 MB the app server keeps for itself beside its sessions. At least 512."""
    if meminfo is None:
        try:
            with open("/proc/meminfo") as source:
                meminfo = source.read()
        except OSError:
            return 512
    for line in meminfo.splitlines():
        if line.startswith("MemTotal:"):
            return max(512, int(line.split()[1]) * 3 // 4 // 1024)
    return 512


def main(argv: list[str] | None = None) -> int:

    parser = argparse.ArgumentParser(prog="python -m crm_data.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000, help="about how many events (default 20000)")
    parser.add_argument("--db", help="database file (default: CRM_DB_PATH or data/crm.duckdb)")
    parser.add_argument("--lang", choices=("en", "pl"), default="en", help="language of dictionary names")
    parser.add_argument(
        "--memory-mb",
        type=int,
        help="DuckDB's memory limit while building (default: CRM_DUCKDB_MEMORY_MB, else 3/4 of the machine's memory)",
    )
    args = parser.parse_args(argv)
    config = config_for(args.db) if args.db else config_from_env()
    # a command line of its own, not the server: the limit is set before the file is opened
    memory = args.memory_mb or int(os.environ.get("CRM_DUCKDB_MEMORY_MB") or 0) or bulk_memory_mb()
    os.environ["CRM_DUCKDB_MEMORY_MB"] = str(memory)
    try:
        db = startup.open_app(config)
        result = generate(db, args.events, lang=args.lang, progress=lambda m: print(f"  {m}", flush=True))
    except CrmError as exc:
        # the user's message says "the details are in the server log": here the log is this screen
        cause = exc.__cause__ or exc.__context__
        print(f"error: {exc}", file=sys.stderr)
        if cause is not None:
            print(f"  cause: {type(cause).__name__}: {str(cause).splitlines()[0]}", file=sys.stderr)
            if "memory" in str(cause).lower():
                print(f"  DuckDB had {memory} MB; give it more with --memory-mb", file=sys.stderr)
        return 2
    print(
        f"{result.events:,} events in {result.threads:,} threads for {result.clients:,} clients"
        f" written to {config.db_path} in {result.seconds:.1f} s"
    )
    print(f"sample users ({', '.join(result.logins[:5])}, ...) share the password: {result.password}")
    if not users.any_active_admin(db):
        # the whole command, as run from the repository's folder (README "Set up"): it asks for the password
        make_admin = '.venv/bin/python -m crm_data.users create-admin --login LOGIN --name "NAME" --db '
        print(
            f"no administrator yet: open the app to create one, or run {make_admin}{shlex.quote(str(config.db_path))}"
        )
    startup.close_app(config)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
