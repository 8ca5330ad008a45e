"""Dictionaries: event types, pipelines and stages, amount types, products, resources, lost
reasons, custom dictionaries, and the list of people. Read together as one `Lookups` snapshot
that is cached per database and reloaded after any write that calls
`db.dictionaries_changed()` (this process owns the file, so no other writer can go unseen).

Event types, pipelines, stages, amount types, lost reasons and products have a name per UI
language (`name_en`, `name_pl`) besides `name`, the name in the organisation's language that a
language without its own name falls back to. `lookups(db, lang)` names every row in `lang`;
statements that return a row's name use `name_sql(alias, lang)`."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from crm_data.db import Database, Tx

LANGS = ("en", "pl")
# the dictionary tables an administrator edits (crm_data.admin.KINDS describes each), in the
# order the administration page offers them; the audit log names changes by the same names
KINDS = (
    "event_types",
    "pipelines",
    "stages",
    "amount_types",
    "products",
    "resources",
    "lost_reasons",
    "dictionaries",
    "dictionary_values",
)
NAMED_IN_LANGUAGES = ("event_types", "pipelines", "stages", "amount_types", "lost_reasons", "products")


def language(lang: str | None) -> str | None:
    """A UI language a name can be asked in; None (or an unknown one) for the organisation's names."""
    return lang if lang in LANGS else None


def name_sql(alias: str, lang: str | None) -> str:
    """The SQL of the name of the row `alias` (of a NAMED_IN_LANGUAGES table) in `lang`, falling
    back to its organisation-language name; `name` itself when `lang` is None. Only constants go
    into the text: `alias` is the statement's own, `lang` one of LANGS."""
    chosen = language(lang)
    if not alias.isidentifier():
        raise ValueError(alias)
    return f"{alias}.name" if chosen is None else f"coalesce({alias}.name_{chosen}, {alias}.name)"


@dataclass(frozen=True)
class EventType:
    id: int
    name: str
    color: str
    default_duration_min: int
    is_meeting: bool
    active: bool
    name_en: str | None = None
    name_pl: str | None = None


@dataclass(frozen=True)
class Pipeline:
    id: int
    name: str
    active: bool
    name_en: str | None = None
    name_pl: str | None = None


@dataclass(frozen=True)
class Stage:
    id: int
    pipeline_id: int
    sequence: int
    name: str
    percent: int
    is_won: bool
    is_lost: bool
    active: bool
    rot_days: int | None = None  # rotting after this many days without an event (None: off)
    name_en: str | None = None
    name_pl: str | None = None

    @property
    def closes(self) -> bool:
        return self.is_won or self.is_lost

    @property
    def thread_status(self) -> str:
        """The status of a thread at this stage."""
        return thread_status(self.is_won, self.is_lost)


def thread_status(is_won: bool, is_lost: bool) -> str:
    """A thread at a won stage is won, at a lost stage lost, else open."""
    return "won" if is_won else "lost" if is_lost else "open"


@dataclass(frozen=True)
class Named:
    """A dictionary row that is only a name: amount types, lost reasons."""

    id: int
    name: str
    active: bool
    name_en: str | None = None
    name_pl: str | None = None


@dataclass(frozen=True)
class Product:
    id: int
    code: str
    name: str
    unit: str
    price: Decimal
    active: bool
    name_en: str | None = None
    name_pl: str | None = None

    @property
    def label(self) -> str:
        return f"{self.code} · {self.name}"


@dataclass(frozen=True)
class Resource:
    id: int
    name: str
    kind: str
    buffer_min: int
    active: bool


@dataclass(frozen=True)
class DictionaryValue:
    id: int
    dictionary_id: int
    value: str
    active: bool


@dataclass(frozen=True)
class Dictionary:
    id: int
    name: str
    active: bool
    values: tuple[DictionaryValue, ...]
    # event type id -> whether the dictionary must be filled on events of that type
    event_types: dict[int, bool] = field(default_factory=dict)


@dataclass(frozen=True)
class Person:
    id: int
    display_name: str
    role: str
    active: bool


@dataclass(frozen=True)
class Lookups:
    event_types: dict[int, EventType]
    pipelines: dict[int, Pipeline]
    stages: dict[int, Stage]
    amount_types: dict[int, Named]
    products: dict[int, Product]
    resources: dict[int, Resource]
    lost_reasons: dict[int, Named]
    dictionaries: dict[int, Dictionary]
    people: dict[int, Person]

    def stages_of(self, pipeline_id: int, *, active_only: bool = True) -> list[Stage]:
        return [s for s in self.stages.values() if s.pipeline_id == pipeline_id and (s.active or not active_only)]

    def first_stage(self, pipeline_id: int) -> Stage | None:
        open_stages = [s for s in self.stages_of(pipeline_id) if not s.closes]
        return open_stages[0] if open_stages else None

    def dictionaries_for(self, event_type_id: int) -> list[tuple[Dictionary, bool]]:
        """Active custom dictionaries shown on events of this type, with their required flag."""
        return [
            (d, d.event_types[event_type_id])
            for d in self.dictionaries.values()
            if d.active and event_type_id in d.event_types
        ]

    @staticmethod
    def active(rows: dict) -> list:
        return [r for r in rows.values() if r.active]


def load(tx: Tx, lang: str | None = None) -> Lookups:
    """Every dictionary, its rows named in `lang` (None: the organisation's names)."""
    values: dict[int, list[DictionaryValue]] = {}
    for row in tx.all("SELECT id, dictionary_id, value, active FROM dictionary_values ORDER BY sequence, value, id"):
        values.setdefault(row[1], []).append(DictionaryValue(*row))
    links: dict[int, dict[int, bool]] = {}
    for dictionary_id, event_type_id, required in tx.all(
        "SELECT dictionary_id, event_type_id, is_required FROM dictionary_event_types"
    ):
        links.setdefault(dictionary_id, {})[event_type_id] = required

    def named(table: str) -> str:
        return f"{name_sql(table, lang)} AS name"

    return Lookups(
        event_types={
            r[0]: EventType(*r)
            for r in tx.all(
                f"SELECT id, {named('event_types')}, color, default_duration_min, is_meeting, active, name_en, name_pl"
                " FROM event_types ORDER BY sequence, name, id"
            )
        },
        pipelines={
            r[0]: Pipeline(*r)
            for r in tx.all(
                f"SELECT id, {named('pipelines')}, active, name_en, name_pl FROM pipelines ORDER BY sequence, name, id"
            )
        },
        stages={
            r[0]: Stage(*r)
            for r in tx.all(
                f"SELECT id, pipeline_id, sequence, {named('stages')}, percent, is_won, is_lost, active, rot_days,"
                " name_en, name_pl FROM stages ORDER BY pipeline_id, sequence, id"
            )
        },
        amount_types={
            r[0]: Named(*r)
            for r in tx.all(
                f"SELECT id, {named('amount_types')}, active, name_en, name_pl FROM amount_types"
                " ORDER BY sequence, name, id"
            )
        },
        products={
            r[0]: Product(*r)
            for r in tx.all(
                f"SELECT id, code, {named('products')}, unit, price, active, name_en, name_pl FROM products"
                " ORDER BY code, id"
            )
        },
        resources={
            r[0]: Resource(*r)
            for r in tx.all("SELECT id, name, kind, buffer_min, active FROM resources ORDER BY kind, name, id")
        },
        lost_reasons={
            r[0]: Named(*r)
            for r in tx.all(
                f"SELECT id, {named('lost_reasons')}, active, name_en, name_pl FROM lost_reasons"
                " ORDER BY sequence, name, id"
            )
        },
        dictionaries={
            r[0]: Dictionary(r[0], r[1], r[2], tuple(values.get(r[0], [])), links.get(r[0], {}))
            for r in tx.all("SELECT id, name, active FROM dictionaries ORDER BY sequence, name, id")
        },
        people={
            r[0]: Person(*r)
            for r in tx.all("SELECT id, display_name, role, active FROM users ORDER BY display_name, id")
        },
    )


def lookups(db: Database, lang: str | None = None) -> Lookups:
    """The cached snapshot, its rows named in `lang` (None: the organisation's names); reloaded
    once after each `db.dictionaries_changed()`."""
    chosen = language(lang)

    def fresh() -> Lookups:
        with db.read() as tx:
            return load(tx, chosen)

    return db.cached("lookups" if chosen is None else f"lookups.{chosen}", fresh)
