"""Each report's SQL against an independent computation in plain pandas and Python over a small
hand-made world: two pipelines, won, lost, open and closed threads, a thread that moved back, a
thread that skipped stages, threads opened by planning (no opening event), threads without
amounts, an event with several products (one of them priced 0), events whose local month or
week differs from UTC's, empty months, planned and cancelled events, overlapping people and a
booked room."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from crm_data import dictionaries, events, plan_changes, planning, reports, setup, startup, users
from crm_data.config import config_for
from crm_data.db import Database
from crm_data.errors import ValidationError
from crm_data.events import AmountInput, LogEvent, ProductInput
from crm_data.planning import PlanEvent
from crm_data.reports import Drill, ReportFilter
from tests import pg, yardsticks
from tests.helpers import PASSWORD, first_type, new_client, point_app_at

WARSAW = ZoneInfo("Europe/Warsaw")
NOW = dt.datetime(2025, 12, 15, 12, 0, tzinfo=dt.UTC)
YEAR = ReportFilter(start=dt.date(2025, 1, 1), end=dt.date(2025, 12, 31))


def local(y: int, m: int, d: int, h: int = 10, mi: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, h, mi, tzinfo=WARSAW)


@dataclass
class World:
    """The hand-made data set; ids by name."""

    db: Database
    people: dict[str, users.User]
    clients: dict[str, int]
    threads: dict[str, int]
    stages: dict[str, int]
    pipelines: dict[str, int]
    amount_types: dict[str, int]
    products: dict[str, int]
    resources: dict[str, int]
    lost_reasons: dict[str, int]


def build_world(path: Path, engine: str = "duckdb") -> World:
    db = pg.open_db(path, engine)
    admin = setup.create_first_admin(db, login="admin", display_name="Ada Admin", password=PASSWORD)
    mona = users.create_user(db, admin, login="mona", display_name="Mona Manager", password=PASSWORD, role="manager")
    sam = users.create_user(db, admin, login="sam", display_name="Sam Seller", password=PASSWORD, role="member")
    olga = users.create_user(db, admin, login="olga", display_name="Olga Øster", password=PASSWORD, role="member")
    with db.transaction() as tx:
        setup.insert_pipeline(
            tx,
            "RFQ",
            [("Received", 10), ("Costing", 40), ("Quote sent", 70), ("Accepted", 100, "won"), ("Rejected", 0, "lost")],
            1,
        )
        for code, name, price in (("P1", "Pompa ciepła", "150.00"), ("P2", "Żarówka", "10.00"), ("P3", "Gratis", "0")):
            tx.execute("INSERT INTO products (code, name, price) VALUES (?, ?, ?)", [code, name, Decimal(price)])
        for name in ("Room A", "Room B"):
            tx.execute("INSERT INTO resources (name, kind) VALUES (?, 'room')", [name])
    db.dictionaries_changed()
    look = dictionaries.lookups(db)
    stages = {f"{look.pipelines[s.pipeline_id].name}:{s.name}": s.id for s in look.stages.values()}
    w = World(
        db=db,
        people={"admin": admin, "mona": mona, "sam": sam, "olga": olga},
        clients={},
        threads={},
        stages=stages,
        pipelines={p.name: p.id for p in look.pipelines.values()},
        amount_types={a.name: a.id for a in look.amount_types.values()},
        products={p.code: p.id for p in look.products.values()},
        resources={r.name: r.id for r in look.resources.values()},
        lost_reasons={r.name: r.id for r in look.lost_reasons.values()},
    )
    w.clients = {name: new_client(db, admin, name) for name in ("Acme", "Beta Łódź", "Gamma")}
    type_id = first_type(db)

    def log(
        who: str,
        at: dt.datetime,
        *,
        thread: str | None = None,
        new: str | None = None,
        client: str = "Acme",
        pipeline: str = "Sales",
        stage: str | None = None,
        lost: str | None = None,
        amounts: tuple[tuple[str, str], ...] = (),
        products: tuple[tuple[str, str, str], ...] = (),
    ) -> int:
        cmd = LogEvent(
            type_id=type_id,
            occurred_at=at,
            client_id=None if thread else w.clients[client],
            thread_id=w.threads[thread] if thread else None,
            new_thread_title=new or "",
            pipeline_id=w.pipelines[pipeline],
            note=f"{new or thread} at {at:%Y-%m-%d %H:%M}",
            stage_id=w.stages[f"{pipeline}:{stage}"] if stage else None,
            lost_reason_id=w.lost_reasons[lost] if lost else None,
            amounts=tuple(AmountInput(w.amount_types[k], v) for k, v in amounts),
            products=tuple(ProductInput(w.products[c], q, p) for c, q, p in products),
        )
        result = events.log_event(db, w.people[who], cmd, now=at + dt.timedelta(minutes=1))
        if new:
            w.threads[new] = result.thread_id
        return result.event_id

    def plan(
        who: str,
        start: dt.datetime,
        minutes: int,
        *,
        thread: str | None = None,
        new: str | None = None,
        client: str = "Gamma",
        pipeline: str = "Sales",
        now: dt.datetime,
        **kw,
    ) -> int:
        cmd = PlanEvent(
            type_id=type_id,
            starts_at=start,
            duration_min=minutes,
            thread_id=w.threads[thread] if thread else None,
            client_id=w.clients[client] if new else None,
            new_thread_title=new or "",
            pipeline_id=w.pipelines[pipeline] if new else None,
            accept_conflicts=True,
            **kw,
        )
        result = planning.plan_event(db, w.people[who], cmd, now=now)
        if new:
            w.threads[new] = result.thread_id
        return result.event_ids[0]

    # T7: opened in 2024, won in January 2025
    log("mona", local(2024, 12, 20), new="T7", client="Gamma", amounts=(("Offer value", "2000.00"),))
    log("mona", local(2025, 1, 15), thread="T7", stage="Won")
    # T1: the straight road to a win
    log("mona", local(2025, 1, 10), new="T1", amounts=(("Offer value", "1000.00"),), products=(("P1", "2", "150.00"),))
    log("mona", local(2025, 2, 1), thread="T1", stage="Qualified")
    log(
        "mona",
        local(2025, 3, 1),
        thread="T1",
        stage="Proposal",
        amounts=(("Offer value", "500.00"), ("Invoice", "200.00")),
    )
    log("mona", local(2025, 4, 15), thread="T1", stage="Won", amounts=(("Invoice", "1500.00"),))
    # T2: skips to negotiation, then lost on price
    log(
        "sam",
        local(2025, 1, 20, 9),
        new="T2",
        client="Beta Łódź",
        amounts=(("Offer value", "300.00"),),
        products=(("P3", "1", "0"),),
    )
    log("sam", local(2025, 2, 10, 9), thread="T2", stage="Negotiation")
    log("sam", local(2025, 3, 5, 9), thread="T2", stage="Lost", lost="Price too high")
    # T3: no amounts, stays a lead; an event just after local midnight on a Monday (Sunday in UTC)
    log("sam", local(2025, 3, 5, 12), new="T3")
    log("sam", local(2025, 3, 31, 0, 15), thread="T3", amounts=(("Cost", "10.00"),))
    # T4: several products on one event (one priced 0), moves back, then on; April begins locally
    log(
        "mona",
        local(2025, 2, 15),
        new="T4",
        client="Beta Łódź",
        amounts=(("Offer value", "100.01"),),
        products=(("P1", "1", "10.00"), ("P2", "3", "10.00"), ("P3", "1", "0")),
    )
    log("mona", local(2025, 2, 20), thread="T4", stage="Qualified")
    log("mona", local(2025, 3, 1), thread="T4", stage="Lead")
    log("mona", local(2025, 4, 1, 0, 30), thread="T4", stage="Proposal", amounts=(("Offer value", "50.00"),))
    # T5: the other pipeline, won
    log("olga", local(2025, 3, 10), new="T5", client="Beta Łódź", pipeline="RFQ", amounts=(("Offer value", "777.77"),))
    log("olga", local(2025, 3, 12), thread="T5", pipeline="RFQ", stage="Costing")
    log(
        "olga",
        local(2025, 5, 20),
        thread="T5",
        pipeline="RFQ",
        stage="Accepted",
        amounts=(("Invoice", "700.00"),),
        products=(("P2", "5", "20.00"),),
    )
    # T8: opened by planning (no opening event), later moved on by a logged event
    plan("olga", local(2025, 2, 3), 60, new="T8", now=local(2025, 2, 1, 8))
    log("olga", local(2025, 3, 1, 14), thread="T8", stage="Proposal")
    # T6: opened by planning in June, nothing logged since (its task is overdue now)
    plan("sam", local(2025, 6, 2, 10), 60, new="T6", client="Gamma", pipeline="RFQ", now=local(2025, 6, 1, 8))
    # the week of 2 June: Sam double-booked, Olga taking part, a room, a cancelled event, a done one
    plan(
        "sam",
        local(2025, 6, 2, 10, 30),
        60,
        thread="T3",
        now=local(2025, 6, 1, 8),
        participant_user_ids=(olga.id,),
        resource_ids=(w.resources["Room A"],),
    )
    plan("sam", local(2025, 6, 2, 13), 60, thread="T3", now=local(2025, 6, 1, 8))
    cancelled = plan("sam", local(2025, 6, 2, 13, 30), 60, thread="T3", now=local(2025, 6, 1, 8))
    plan_changes.cancel(db, sam, cancelled, expected_version=None)
    plan(
        "mona", local(2025, 6, 8, 23), 120, thread="T4", now=local(2025, 6, 1, 8), resource_ids=(w.resources["Room B"],)
    )
    log("olga", local(2025, 6, 3, 9), thread="T8", amounts=(("Offer value", "40.00"),))
    # T9: closed without an outcome (set directly: no service does it yet)
    log("sam", local(2025, 7, 1), new="T9", client="Gamma", amounts=(("Offer value", "60.00"),))
    with db.transaction() as tx:
        tx.execute(
            "UPDATE threads SET status = 'closed', closed_at = ? WHERE id = ?", [local(2025, 7, 20), w.threads["T9"]]
        )
    return w


@pytest.fixture(scope="module")
def worlds() -> Iterator[dict[str, World]]:
    """A module's hand-made worlds, one per engine, built when a test first asks (`world_on`)."""
    made: dict[str, World] = {}
    yield made
    for w in made.values():
        startup.close_app(w.db.config)  # what the app (AppTest) opened on it
        w.db.close()


def world_on(worlds: dict[str, World], engine: str, factory: pytest.TempPathFactory) -> World:
    if engine not in worlds:
        worlds[engine] = build_world(factory.mktemp(f"world_{engine}") / "crm.duckdb", engine)
    return worlds[engine]


def point_the_app_at(w: World, monkeypatch: pytest.MonkeyPatch) -> World:
    """The app (AppTest) on the world's database: its file, or its PostgreSQL database."""
    point_app_at(monkeypatch, w.db.config)
    return w


@pytest.fixture
def world(worlds: dict[str, World], engine: str, tmp_path_factory: pytest.TempPathFactory) -> World:
    """The hand-made world on this test's engine (the file, or PostgreSQL), shared by the module."""
    return world_on(worlds, engine, tmp_path_factory)


# -- the independent computation ---------------------------------------------------------------------------
class Tables:
    """The world's few rows as pandas frames (fine here: a dozen threads)."""

    def __init__(self, db: Database) -> None:
        with db.read() as tx:
            self.threads = tx.df("SELECT * FROM threads")
            self.events = tx.df("SELECT * FROM events")
            self.stages = tx.df("SELECT * FROM stages")
            self.participants = tx.df("SELECT * FROM event_participants")
            self.reservations = tx.df("SELECT * FROM reservations")
            self.users = tx.df("SELECT id, display_name FROM users")
            self.products = tx.df("SELECT id, code, name FROM products")
            self.lost_reasons = tx.df("SELECT id, name FROM lost_reasons")
            self.amounts = tx.dicts("SELECT * FROM event_amounts ORDER BY id")
            self.lines = tx.dicts("SELECT * FROM event_products ORDER BY id")

    def done_events(self) -> pd.DataFrame:
        return self.events[self.events["status"] == "done"]


def utc_range(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    return (
        dt.datetime.combine(start, dt.time(0), WARSAW).astimezone(dt.UTC),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time(0), WARSAW).astimezone(dt.UTC),
    )


def matching_threads(tb: Tables, f: ReportFilter) -> pd.DataFrame:
    t = tb.threads
    keep = pd.Series(True, index=t.index)
    for column, value in (("owner_id", f.owner_id), ("client_id", f.client_id), ("pipeline_id", f.pipeline_id)):
        if value is not None:
            keep &= t[column] == value
    if f.product_id is not None:
        done = set(tb.done_events()["id"])
        with_product = {
            ln["event_id"] for ln in tb.lines if ln["product_id"] == f.product_id and ln["event_id"] in done
        }
        threads_with = set(tb.events[tb.events["id"].isin(with_product)]["thread_id"])
        keep &= t["id"].isin(threads_with)
    return t[keep]


def path_steps(tb: Tables) -> dict[int, int | None]:
    steps: dict[int, int | None] = {}
    for pipeline_id, group in tb.stages.groupby("pipeline_id"):
        open_stages = group[~group["is_won"] & ~group["is_lost"]].sort_values(["sequence", "id"])
        for i, sid in enumerate(open_stages["id"], start=1):
            steps[int(sid)] = i
        for sid in group[group["is_won"]]["id"]:
            steps[int(sid)] = len(open_stages) + 1
        for sid in group[group["is_lost"]]["id"]:
            steps[int(sid)] = None
        del pipeline_id
    return steps


def history(tb: Tables, thread: pd.Series) -> list[tuple[dt.datetime, int]]:
    """(entered_at, stage_id) in order, with the opening rule for threads opened by planning."""
    ev = tb.done_events()
    ev = ev[(ev["thread_id"] == thread["id"]) & ev["stage_id"].notna()].sort_values(["starts_at", "id"])
    rows = [(s.to_pydatetime(), int(st)) for s, st in zip(ev["starts_at"], ev["stage_id"], strict=True)]
    if not rows:
        return [(thread["opened_at"].to_pydatetime(), int(thread["stage_id"]))]
    if rows[0][0] > thread["opened_at"].to_pydatetime():
        st = tb.stages
        first = st[(st["pipeline_id"] == thread["pipeline_id"]) & st["active"] & ~st["is_won"] & ~st["is_lost"]]
        rows.insert(0, (thread["opened_at"].to_pydatetime(), int(first.sort_values(["sequence", "id"])["id"].iloc[0])))
    return rows


def thread_values(tb: Tables, amount_type_id: int) -> dict[int, Decimal]:
    done = tb.done_events().set_index("id")["thread_id"].to_dict()
    out: dict[int, Decimal] = defaultdict(Decimal)
    for a in tb.amounts:
        if a["amount_type_id"] == amount_type_id and a["event_id"] in done:
            out[int(done[a["event_id"]])] += a["value"]
    return out


def expected_funnel(tb: Tables, f: ReportFilter, amount_type_id: int) -> dict:
    lo, hi = utc_range(f.start, f.end)
    threads = matching_threads(tb, f)
    cohort = threads[(threads["opened_at"] >= lo) & (threads["opened_at"] < hi)]
    steps = path_steps(tb)
    stage_info = tb.stages.set_index("id")
    values = thread_values(tb, amount_type_id)
    reached: dict[int, set[int]] = defaultdict(set)
    seconds: dict[tuple[int, int], float] = defaultdict(float)
    for _, th in cohort.iterrows():
        rows = history(tb, th)
        depth = max([1] + [steps[s] or 0 for _, s in rows] + [steps[int(th["stage_id"])] or 0])
        for sid, step in steps.items():
            if step is not None and stage_info.loc[sid, "pipeline_id"] == th["pipeline_id"] and step <= depth:
                reached[sid].add(int(th["id"]))
        for i, (entered, sid) in enumerate(rows):
            if stage_info.loc[sid, "is_won"] or stage_info.loc[sid, "is_lost"]:
                continue
            left = (
                rows[i + 1][0]
                if i + 1 < len(rows)
                else (th["closed_at"].to_pydatetime() if pd.notna(th["closed_at"]) else NOW)
            )
            seconds[(int(th["id"]), sid)] += max((left - entered).total_seconds(), 0)
    avg_days = {}
    for sid in {s for _, s in seconds}:
        per_thread = [v for (_, s), v in seconds.items() if s == sid]
        avg_days[sid] = sum(per_thread) / len(per_thread) / 86400
    statuses = cohort.set_index("id")["status"].to_dict()
    won = sum(1 for s in statuses.values() if s == "won")
    lost = sum(1 for s in statuses.values() if s == "lost")
    lost_by_reason: dict[int, tuple[int, Decimal]] = {}
    for _, th in cohort[cohort["status"] == "lost"].iterrows():
        n, v = lost_by_reason.get(int(th["lost_reason_id"]), (0, Decimal(0)))
        lost_by_reason[int(th["lost_reason_id"])] = (n + 1, v + values.get(int(th["id"]), Decimal(0)))
    return {
        "reached": {sid: len(ids) for sid, ids in reached.items()},
        "reached_ids": reached,
        "reached_value": {
            sid: sum((values.get(i, Decimal(0)) for i in ids), Decimal(0)) for sid, ids in reached.items()
        },
        "at_now": cohort["stage_id"].value_counts().to_dict(),
        "avg_days": avg_days,
        "threads": len(cohort),
        "won": won,
        "lost": lost,
        "win_rate": won / (won + lost) if won + lost else None,
        "lost_by_reason": lost_by_reason,
        "cohort_ids": set(cohort["id"]),
    }


def split_cents(cents: int, weights: list[tuple[int, int]]) -> dict[int, int]:
    """Largest-remainder split of `cents` by (product_id, weight)."""
    total = sum(w for _, w in weights)
    floors = {p: cents * w // total for p, w in weights}
    left = cents - sum(floors.values())
    for p, _ in sorted(weights, key=lambda pw: (-(cents * pw[1] % total), pw[0]))[:left]:
        floors[p] += 1
    return floors


def expected_money(tb: Tables, f: ReportFilter) -> dict[tuple[dt.date, int], Decimal]:
    """{(bucket start, key): total} over the buckets of the range and the one before."""
    periods = reports.buckets(f.start, f.end, f.granularity)
    first = reports.previous_bucket(periods[0], f.granularity)
    after = reports.next_bucket(periods[-1], f.granularity)
    lo, hi = utc_range(first, after - dt.timedelta(days=1))
    threads = matching_threads(tb, replace(f, product_id=None)).set_index("id")
    ev = tb.done_events()
    ev = ev[(ev["starts_at"] >= lo) & (ev["starts_at"] < hi) & ev["thread_id"].isin(threads.index)].set_index("id")
    lines: dict[int, dict[int, list]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for ln in tb.lines:
        lines[ln["event_id"]][ln["product_id"]][0] += int(ln["value"] * 100)
        lines[ln["event_id"]][ln["product_id"]][1] += 1
    out: dict[tuple[dt.date, int], Decimal] = defaultdict(Decimal)
    # an event's amounts of one type are added up before they are split among its products
    sums: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    for a in tb.amounts:
        if a["event_id"] in ev.index and (f.dimension == "amount_type" or a["amount_type_id"] == f.amount_type_id):
            sums[(a["event_id"], a["amount_type_id"])] += a["value"]
    for (event_id, amount_type_id), amount in sums.items():
        e = ev.loc[event_id]
        thread = threads.loc[e["thread_id"]]
        period = reports.bucket_start(e["starts_at"].to_pydatetime().astimezone(WARSAW).date(), f.granularity)
        key = {
            "owner": thread["owner_id"],
            "client": thread["client_id"],
            "pipeline": thread["pipeline_id"],
            "event_type": e["type_id"],
            "amount_type": amount_type_id,
            "product": None,
        }[f.dimension]
        parts: dict[int | None, Decimal] = {None: amount}
        if f.dimension == "product" or f.product_id is not None:
            by_product = lines.get(event_id, {})
            if by_product:
                total_value = sum(v for v, _ in by_product.values())
                weights = [(p, v if total_value else n) for p, (v, n) in by_product.items()]
                parts = {p: Decimal(c) / 100 for p, c in split_cents(int(amount * 100), weights).items()}
            if f.product_id is not None:
                parts = {p: v for p, v in parts.items() if p == f.product_id}
        for product, value in parts.items():
            k = (product or reports.NONE) if f.dimension == "product" else key
            out[(period, int(k))] += value
    return out


# -- tests: funnel ------------------------------------------------------------------------------------------
FUNNEL_FILTERS = {
    "the whole year": {},
    "one owner": {"owner_id": "mona"},
    "one client": {"client_id": "Beta Łódź"},
    "one product": {"product_id": "P2"},
    "one pipeline": {"pipeline_id": "RFQ"},
    "invoices as value": {"amount_type_id": "Invoice"},
    "an empty period": {"start": dt.date(2023, 1, 1), "end": dt.date(2023, 12, 31)},
    "the first quarter": {"start": dt.date(2025, 1, 1), "end": dt.date(2025, 3, 31)},
}


def make_filter(w: World, **given: object) -> ReportFilter:
    lookup = {
        "owner_id": lambda v: w.people[v].id,
        "client_id": w.clients.get,
        "product_id": w.products.get,
        "pipeline_id": w.pipelines.get,
        "amount_type_id": w.amount_types.get,
    }
    values = {k: lookup[k](v) if k in lookup else v for k, v in given.items()}
    values.setdefault("amount_type_id", w.amount_types["Offer value"])
    return replace(YEAR, **values)


@pytest.mark.parametrize("case", FUNNEL_FILTERS)
def test_the_funnel_matches_an_independent_computation(world: World, case: str) -> None:
    f = make_filter(world, **FUNNEL_FILTERS[case])
    got = reports.funnel(world.db, f, now=NOW)
    want = expected_funnel(Tables(world.db), f, f.amount_type_id)
    path = got.stages[got.stages["step"].notna()]
    assert {int(r.stage_id): int(r.reached) for r in path.itertuples() if r.reached} == want["reached"]
    assert {int(r.stage_id): r.reached_value for r in path.itertuples() if r.reached} == want["reached_value"]
    assert {int(r.stage_id): int(r.at_now) for r in got.stages.itertuples() if r.at_now} == want["at_now"]
    days = {int(r.stage_id): r.avg_days for r in got.stages.itertuples() if pd.notna(r.avg_days)}
    assert days.keys() == want["avg_days"].keys()
    for sid, value in want["avg_days"].items():
        assert days[sid] == pytest.approx(value, rel=1e-9)
    assert (got.threads, got.won, got.lost) == (want["threads"], want["won"], want["lost"])
    assert got.win_rate == want["win_rate"]
    lost = {int(r.lost_reason_id): (int(r.threads), r.value) for r in got.lost_reasons.itertuples()}
    assert lost == want["lost_by_reason"]


def test_the_funnel_of_the_year_in_numbers_a_person_can_check(world: World) -> None:
    f = make_filter(world)
    got = reports.funnel(world.db, f, now=NOW)
    sales = got.stages[got.stages["pipeline"] == "Sales"].set_index("stage")
    # T1, T2, T3, T4, T8, T9 opened in 2025 in Sales; T7 opened in 2024 does not count
    assert sales.loc["Lead", "reached"] == 6
    # T2 skipped to Negotiation, so it passed Proposal; T4 went back to Lead but had reached Qualified
    assert sales.loc["Proposal", "reached"] == 4
    # a won thread passed every stage before Won, whichever it skipped
    assert sales.loc["Negotiation", "reached"] == 2  # T1 and T2
    assert sales.loc["Won", "reached"] == 1
    assert sales.loc["Proposal", "conversion"] == pytest.approx(2 / 4)
    assert sales.loc["Negotiation", "conversion"] == pytest.approx(1 / 2)
    assert pd.isna(sales.loc["Won", "conversion"])
    assert sales.loc["Lost", "at_now"] == 1
    assert pd.isna(sales.loc["Lost", "reached"])
    # T1's offer: 1000 + 500; T4's: 100.01 + 50
    assert sales.loc["Won", "reached_value"] == Decimal("1500.00")
    assert sales.loc["Proposal", "at_now_value"] == Decimal("190.01")  # T4 150.01, T8 40
    outcomes = got.outcomes.set_index("pipeline")
    assert outcomes.loc["Sales", "win_rate"] == pytest.approx(0.5)  # T1 won, T2 lost; T9 closed, others open
    assert outcomes.loc["Sales", "closed"] == 1
    assert outcomes.loc["RFQ", "win_rate"] == pytest.approx(1.0)
    assert got.win_rate == pytest.approx(2 / 3)
    rfq = got.stages[got.stages["pipeline"] == "RFQ"].set_index("stage")
    assert rfq.loc["Received", "reached"] == 2  # T5, and T6 with no stage event at all
    assert rfq.loc["Accepted", "at_now"] == 1


def test_a_thread_with_no_amounts_counts_as_a_thread_worth_nothing(world: World) -> None:
    f = make_filter(world, client_id="Acme")
    got = reports.funnel(world.db, f, now=NOW)
    lead = got.stages.set_index("stage").loc["Lead"]
    assert lead["reached"] == 2  # T1 and T3
    assert lead["at_now"] == 1
    assert lead["at_now_value"] == Decimal("0.00")


def test_an_empty_period_gives_an_empty_funnel_not_an_error(world: World) -> None:
    got = reports.funnel(world.db, make_filter(world, start=dt.date(2023, 1, 1), end=dt.date(2023, 1, 31)), now=NOW)
    assert got.threads == 0
    assert got.win_rate is None
    assert got.stages.empty
    assert got.lost_reasons.empty


def test_a_chosen_pipeline_shows_its_stages_even_with_no_threads(world: World) -> None:
    f = make_filter(world, pipeline_id="RFQ", start=dt.date(2023, 1, 1), end=dt.date(2023, 1, 31))
    got = reports.funnel(world.db, f, now=NOW)
    assert list(got.stages["stage"]) == ["Received", "Costing", "Quote sent", "Accepted", "Rejected"]
    assert set(got.stages["reached"].dropna()) == {0}


@pytest.mark.parametrize(
    ("drill", "expected"),
    [
        (Drill("reached", stage_id=None), []),
        (Drill("cohort"), ["T1", "T2", "T3", "T4", "T5", "T6", "T8", "T9"]),
        (Drill("won"), ["T1", "T5"]),
        (Drill("lost"), ["T2"]),
        (Drill("won", pipeline_id=-1), []),
    ],
)
def test_drilling_down_lists_the_threads_behind_a_number(world: World, drill: Drill, expected: list[str]) -> None:
    frame, total = reports.drill_threads(world.db, make_filter(world), drill)
    names = {v: k for k, v in world.threads.items()}
    assert sorted(names[i] for i in frame["id"]) == expected
    assert total == len(expected)


def test_drilling_into_a_stage_lists_the_threads_that_reached_it_or_sit_in_it(world: World) -> None:
    f = make_filter(world)
    names = {v: k for k, v in world.threads.items()}
    proposal = world.stages["Sales:Proposal"]
    reached, total = reports.drill_threads(world.db, f, Drill("reached", stage_id=proposal))
    assert sorted(names[i] for i in reached["id"]) == ["T1", "T2", "T4", "T8"]
    assert total == 4
    want = expected_funnel(Tables(world.db), f, f.amount_type_id)["reached_ids"][proposal]
    assert set(reached["id"]) == want
    at, _ = reports.drill_threads(world.db, f, Drill("at", stage_id=proposal))
    assert sorted(names[i] for i in at["id"]) == ["T4", "T8"]
    reason = world.lost_reasons["Price too high"]
    lost, _ = reports.drill_threads(world.db, f, Drill("lost_reason", lost_reason_id=reason))
    assert [names[i] for i in lost["id"]] == ["T2"]
    assert lost["value"].tolist() == [Decimal("300.00")]


def test_drill_down_is_limited_but_says_how_many_there_are(world: World) -> None:
    frame, total = reports.drill_threads(world.db, make_filter(world), Drill("cohort"), limit=3)
    assert len(frame) == 3
    assert total == 8
    assert list(frame["value"]) == sorted(frame["value"], reverse=True)


# -- weighted pipeline ------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", ["the whole year", "one owner", "one client", "one product", "one pipeline"])
def test_the_weighted_pipeline_matches_an_independent_computation(world: World, case: str) -> None:
    f = make_filter(world, **FUNNEL_FILTERS[case])
    got = reports.weighted_pipeline(world.db, f)
    tb = Tables(world.db)
    values = thread_values(tb, f.amount_type_id)
    percent = tb.stages.set_index("id")["percent"].to_dict()
    open_now = matching_threads(tb, f)
    open_now = open_now[open_now["status"] == "open"]
    want: dict[int, list] = defaultdict(lambda: [0, Decimal(0), Decimal(0)])
    for _, th in open_now.iterrows():
        v = values.get(int(th["id"]), Decimal(0))
        row = want[int(th["owner_id"])]
        row[0] += 1
        row[1] += v
        row[2] += v * percent[int(th["stage_id"])] / 100
    cent = Decimal("0.01")
    assert {int(r.owner_id): [int(r.threads), r.value, r.weighted] for r in got.owners.itertuples()} == {
        k: [n, v, w.quantize(cent, rounding=ROUND_HALF_UP)] for k, (n, v, w) in want.items()
    }
    assert got.threads == len(open_now)
    assert got.weighted == sum((w for _, _, w in want.values()), Decimal(0)).quantize(cent, rounding=ROUND_HALF_UP)


def test_the_weighted_pipeline_ignores_the_period_and_counts_open_threads_now(world: World) -> None:
    got = reports.weighted_pipeline(world.db, make_filter(world, start=dt.date(2023, 1, 1), end=dt.date(2023, 1, 2)))
    # open: T3 (Lead 10 %, no offer), T4 (Proposal 50 % of 150.01), T6 (RFQ), T8 (Proposal 50 % of 40)
    assert got.threads == 4
    assert got.weighted == Decimal("95.01")  # 75.005 + 20, rounded half up once at the end
    assert isinstance(got.weighted, Decimal)


# -- money --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("granularity", reports.GRANULARITIES)
@pytest.mark.parametrize("dimension", reports.DIMENSIONS)
def test_money_matches_an_independent_computation(world: World, dimension: str, granularity: str) -> None:
    f = make_filter(
        world, dimension=dimension, granularity=granularity, start=dt.date(2025, 1, 1), end=dt.date(2025, 6, 30)
    )
    got = reports.money(world.db, f)
    want = expected_money(Tables(world.db), f)
    periods = reports.buckets(f.start, f.end, granularity)
    assert got.periods == periods
    keys = {k for (_, k), v in want.items()}
    assert set(got.rows["key"]) == keys
    assert len(got.rows) == len(periods) * len(keys)  # every bucket, empty ones too
    for row in got.rows.itertuples():
        total = want.get((row.period, row.key), Decimal(0))
        before = reports.previous_bucket(row.period, granularity)
        previous = want.get((before, row.key), Decimal(0))
        assert (row.total, row.previous, row.change) == (total, previous, total - previous), row
        if previous:
            assert row.change_ratio == pytest.approx(float((total - previous) / previous))
        else:
            assert pd.isna(row.change_ratio)  # no ratio against nothing
        assert isinstance(row.total, Decimal)


@pytest.mark.parametrize("dimension", ["owner", "product", "client"])
def test_money_filtered_by_product_keeps_that_products_share(world: World, dimension: str) -> None:
    f = make_filter(world, dimension=dimension, product_id="P2", start=dt.date(2025, 1, 1), end=dt.date(2025, 6, 30))
    got = reports.money(world.db, f)
    want = expected_money(Tables(world.db), f)
    assert {(r.period, r.key): r.total for r in got.rows.itertuples() if r.total} == {
        k: v for k, v in want.items() if v
    }
    assert got.rows["total"].sum() == Decimal("75.01")  # T4's offer 100.01 split 25.00 / 75.01 / 0.00


def test_an_amount_split_among_products_adds_up_to_the_amount_exactly(world: World) -> None:
    f = make_filter(world, dimension="product", start=dt.date(2025, 2, 1), end=dt.date(2025, 2, 28))
    rows = reports.money(world.db, f).rows.set_index("key")
    assert rows.loc[world.products["P1"], "total"] == Decimal("25.00")
    assert rows.loc[world.products["P2"], "total"] == Decimal("75.01")
    assert rows.loc[world.products["P3"], "total"] == Decimal("0.00")
    by_owner = reports.money(world.db, replace(f, dimension="owner")).rows
    assert rows["total"].sum() == by_owner["total"].sum() == Decimal("100.01")


def test_money_buckets_follow_the_organisations_time_zone(world: World) -> None:
    # 1 April 00:30 in Warsaw is still 31 March in UTC; 31 March 00:15 (a Monday) is a Sunday in UTC
    months = reports.money(world.db, make_filter(world, start=dt.date(2025, 3, 1), end=dt.date(2025, 4, 30))).rows
    april = months[months["period"] == dt.date(2025, 4, 1)]
    assert april["total"].sum() == Decimal("50.00")
    cost = make_filter(
        world, amount_type_id="Cost", granularity="week", start=dt.date(2025, 3, 24), end=dt.date(2025, 4, 6)
    )
    weeks = reports.money(world.db, cost).rows
    assert weeks.groupby("period")["total"].sum().to_dict() == {
        dt.date(2025, 3, 24): 0,
        dt.date(2025, 3, 31): Decimal("10.00"),
    }


def test_money_widens_the_range_to_whole_buckets_and_keeps_empty_months(world: World) -> None:
    got = reports.money(world.db, make_filter(world, start=dt.date(2025, 7, 15), end=dt.date(2025, 9, 2)))
    assert got.covered == (dt.date(2025, 7, 1), dt.date(2025, 9, 30))
    assert got.periods == [dt.date(2025, 7, 1), dt.date(2025, 8, 1), dt.date(2025, 9, 1)]
    totals = reports.money_totals(got)
    assert totals["total"].tolist() == [Decimal("60.00"), 0, 0]
    assert totals["previous"].tolist() == [Decimal("40.00"), Decimal("60.00"), 0]  # June: T8's 40.00
    assert totals["change_ratio"].tolist()[0] == pytest.approx(0.5)
    assert pd.isna(totals["change_ratio"].tolist()[2])  # nothing to compare with


def test_money_in_a_period_with_no_amounts_is_empty_but_has_its_buckets(world: World) -> None:
    got = reports.money(world.db, make_filter(world, start=dt.date(2023, 1, 1), end=dt.date(2023, 3, 31)))
    assert got.rows.empty
    assert reports.money_totals(got)["total"].tolist() == [0, 0, 0]
    assert reports.money_pivot(got, lambda k, label: str(label)).shape == (3, 2)


def test_keys_beyond_the_top_ones_are_added_up_as_other(world: World) -> None:
    f = make_filter(world, dimension="client")
    top1 = reports.money(world.db, f, top=1)
    every = reports.money(world.db, f)
    assert set(top1.rows["key"]) == {world.clients["Acme"], reports.OTHER}  # Acme has the most
    assert top1.rows["total"].sum() == every.rows["total"].sum()


def test_the_pivot_has_a_row_per_bucket_a_column_per_key_and_totals(world: World) -> None:
    got = reports.money(world.db, make_filter(world, dimension="owner", granularity="quarter"))
    pivot = reports.money_pivot(got, lambda key, label: label or "?")
    assert list(pivot["__period__"]) == [
        dt.date(2025, 1, 1),
        dt.date(2025, 4, 1),
        dt.date(2025, 7, 1),
        dt.date(2025, 10, 1),
    ]
    assert set(pivot.columns) == {"__period__", "Mona Manager", "Sam Seller", "Olga Øster", "__total__"}
    # Q1 offers: Mona 1000 + 500 + 100.01; Sam 300; Olga 777.77
    q1 = pivot.iloc[0]
    assert (q1["Mona Manager"], q1["Sam Seller"], q1["Olga Øster"]) == (
        Decimal("1600.01"),
        Decimal("300.00"),
        Decimal("777.77"),
    )
    assert q1["__total__"] == Decimal("2677.78")


def test_the_pivot_keeps_two_keys_with_the_same_name_apart(world: World) -> None:
    got = reports.money(world.db, make_filter(world, dimension="owner"))
    pivot = reports.money_pivot(got, lambda key, label: "Same name")
    assert len(set(pivot.columns)) == len(pivot.columns) == 3 + 2


# -- products -----------------------------------------------------------------------------------------------
def test_products_per_product_match_an_independent_computation(world: World) -> None:
    f = make_filter(world, granularity="quarter")
    got = reports.products(world.db, f)
    tb = Tables(world.db)
    lo, hi = utc_range(f.start, f.end)
    done = tb.done_events()
    done = done[(done["starts_at"] >= lo) & (done["starts_at"] < hi)].set_index("id")
    want: dict[int, list] = defaultdict(lambda: [Decimal(0), Decimal(0), set(), set()])
    for ln in tb.lines:
        if ln["event_id"] in done.index:
            row = want[ln["product_id"]]
            row[0] += ln["quantity"]
            row[1] += ln["value"]
            row[2].add(ln["event_id"])
            row[3].add(int(done.loc[ln["event_id"], "thread_id"]))
    won_threads = tb.threads[
        (tb.threads["status"] == "won") & (tb.threads["closed_at"] >= lo) & (tb.threads["closed_at"] < hi)
    ]
    all_done = tb.done_events().set_index("id")
    won: dict[int, set] = defaultdict(set)
    for ln in tb.lines:
        if ln["event_id"] in all_done.index and all_done.loc[ln["event_id"], "thread_id"] in set(won_threads["id"]):
            won[ln["product_id"]].add(int(all_done.loc[ln["event_id"], "thread_id"]))
    assert {
        int(r.product_id): [r.quantity, r.value, int(r.events), int(r.threads), int(r.threads_won)]
        for r in got.totals.itertuples()
    } == {p: [q, v, len(e), len(t), len(won.get(p, set()))] for p, (q, v, e, t) in want.items()}
    p2 = got.rows[got.rows["product_id"] == world.products["P2"]].set_index("period")
    assert p2.loc[dt.date(2025, 1, 1), "quantity"] == Decimal("3.000")
    assert p2.loc[dt.date(2025, 4, 1), "value"] == Decimal("100.00")
    assert p2.loc[dt.date(2025, 4, 1), "threads_won"] == 1  # T5, won in May


def test_products_of_an_empty_period_are_empty(world: World) -> None:
    got = reports.products(world.db, make_filter(world, start=dt.date(2023, 1, 1), end=dt.date(2023, 12, 31)))
    assert got.rows.empty
    assert got.totals.empty
    assert len(got.periods) == 12


@pytest.mark.parametrize("top", [1, 2, 8])
def test_the_products_chart_keeps_the_leading_products_and_adds_up_the_others_in_the_database(
    world: World, top: int
) -> None:
    got = reports.products(world.db, make_filter(world, granularity="quarter"), top=top)
    # the yardstick: what the Products page did in pandas before the report did it in SQL
    leaders = [int(p) for p in got.totals["product_id"][:top]]
    rest = got.rows[~got.rows["product_id"].isin(leaders)].groupby("period")["value"].sum()
    want = {
        p: [got.rows[(got.rows["product_id"] == p) & (got.rows["period"] == d)]["value"].sum() for d in got.periods]
        for p in leaders
    }
    if len(got.totals) > top:
        want[reports.OTHER] = [rest.get(d, Decimal(0)) for d in got.periods]
    chart = {int(k): list(part["value"]) for k, part in got.leaders.groupby("key", sort=False)}
    assert list(chart) == list(want)  # in the order of the totals, the others last
    assert chart == want
    assert all(list(part["period"]) == got.periods for _, part in got.leaders.groupby("key"))  # every bucket
    labels = dict(zip(got.leaders["key"], got.leaders["label"], strict=True))
    assert labels[world.products["P1"]] == "P1 · Pompa ciepła"
    assert (reports.OTHER in labels) == (top < 3)  # the world has three products
    assert pd.isna(labels.get(reports.OTHER))  # "other" is named by the page, in the user's language


def test_finding_events_and_threads_by_product(world: World) -> None:
    f = make_filter(world, product_id="P1")
    found, total = reports.product_events(world.db, f)
    names = {v: k for k, v in world.threads.items()}
    assert total == 2
    assert [names[t] for t in found["thread_id"]] == ["T4", "T1"]  # newest first
    assert found["value"].tolist() == [Decimal("10.00"), Decimal("300.00")]
    threads, count = reports.product_threads(world.db, f)
    assert count == 2
    assert [names[t] for t in threads["id"]] == ["T1", "T4"]
    assert threads["quantity"].tolist() == [Decimal("2.000"), Decimal("1.000")]
    nothing, none = reports.product_events(world.db, replace(f, owner_id=world.people["olga"].id))
    assert nothing.empty
    assert none == 0


# -- timelines ----------------------------------------------------------------------------------------------
def test_a_threads_timeline_lists_its_events_and_stays_in_stages(world: World) -> None:
    got = reports.thread_timeline(world.db, world.threads["T4"], now=NOW)
    assert len(got.events) == 5  # four logged, one planned (Mona's late meeting in June)
    assert got.events["stage"].dropna().tolist() == ["Lead", "Qualified", "Lead", "Proposal"]
    assert got.stages["stage"].tolist() == ["Lead", "Qualified", "Lead", "Proposal"]
    assert got.stages["left_at"].iloc[-1].to_pydatetime() == NOW  # still open
    assert list(got.stages["left_at"].iloc[:-1]) == list(got.stages["entered_at"].iloc[1:])


def test_the_timeline_of_a_thread_opened_by_planning_starts_at_its_opening(world: World) -> None:
    got = reports.thread_timeline(world.db, world.threads["T8"], now=NOW)
    assert got.stages["stage"].tolist() == ["Lead", "Proposal"]
    assert got.stages["entered_at"].iloc[0].to_pydatetime() == local(2025, 2, 1, 8)
    assert got.events["status"].tolist() == ["planned", "done", "done"]


def test_a_won_threads_last_stay_ends_when_it_closed(world: World) -> None:
    got = reports.thread_timeline(world.db, world.threads["T1"], now=NOW)
    assert got.stages["stage"].iloc[-1] == "Won"
    assert got.stages["left_at"].iloc[-1].to_pydatetime() == local(2025, 4, 15)


def week_of_june() -> ReportFilter:
    return ReportFilter(start=dt.date(2025, 6, 2), end=dt.date(2025, 6, 8))


def test_workload_flags_exactly_the_double_booked_intervals(world: World) -> None:
    got = reports.workload(world.db, week_of_june())
    tb = Tables(world.db)
    lo, hi = utc_range(dt.date(2025, 6, 2), dt.date(2025, 6, 8))
    ev = tb.events[(tb.events["status"] != "cancelled") & (tb.events["starts_at"] < hi) & (tb.events["ends_at"] > lo)]
    lanes = [(int(e.assignee_id), int(e.id), e.starts_at, e.ends_at) for e in ev.itertuples()]
    for p in tb.participants[tb.participants["user_id"].notna()].itertuples():
        match = ev[ev["id"] == p.event_id]
        if len(match):
            lanes.append((int(p.user_id), int(p.event_id), match["starts_at"].iloc[0], match["ends_at"].iloc[0]))
    want = {
        (u, e): any(u2 == u and e2 != e and s2 < en and s < en2 for u2, e2, s2, en2 in lanes) for u, e, s, en in lanes
    }
    assert {(int(r.user_id), int(r.event_id)): bool(r.overlap) for r in got.intervals.itertuples()} == want
    sam = world.people["sam"].id
    assert sum(want[k] for k in want if k[0] == sam) == 2  # 10:00 and 10:30; the cancelled 13:30 does not count
    people = got.people.set_index("user_id")
    assert people.loc[sam, "events"] == 3
    assert people.loc[sam, "overlapping"] == 2
    assert people.loc[world.people["olga"].id, "overlapping"] == 0
    # Mona's Sunday 23:00-01:00 counts only its hour inside the week
    assert people.loc[world.people["mona"].id, "hours"] == pytest.approx(1.0)
    assert not got.by_day


def test_workload_for_one_person_and_planned_only(world: World) -> None:
    olga = world.people["olga"].id
    got = reports.workload(world.db, replace(week_of_june(), owner_id=olga), include_done=False)
    assert set(got.intervals["user_id"]) == {olga}
    assert got.intervals["status"].tolist() == ["planned"]  # her done event on 3 June is left out


def test_workload_beyond_its_limit_gives_every_person_hours_per_day_instead_of_a_cut(world: World) -> None:
    got = reports.workload(world.db, week_of_june(), limit=2)
    assert got.by_day
    assert got.intervals.empty
    assert set(got.days["user_id"]) == set(got.people["user_id"])
    hours = got.days.groupby("user_id")["hours"].sum()
    assert hours.round(6).to_dict() == got.people.set_index("user_id")["hours"].round(6).to_dict()


def test_workload_of_an_empty_period_is_empty(world: World) -> None:
    got = reports.workload(world.db, ReportFilter(start=dt.date(2023, 1, 2), end=dt.date(2023, 1, 8)))
    assert got.intervals.empty
    assert got.people.empty
    assert not got.by_day


def test_resource_occupancy_is_booked_hours_over_working_hours(world: World) -> None:
    got = reports.resource_occupancy(world.db, week_of_june()).set_index("resource")
    # five working days of 8:00-17:00 = 45 hours; Room A holds one hour, Room B one hour inside
    assert got.loc["Room A", "available_hours"] == 45
    assert got.loc["Room A", "hours"] == pytest.approx(1.0)
    assert got.loc["Room A", "occupancy"] == pytest.approx(1 / 45)
    assert got.loc["Room B", "hours"] == pytest.approx(1.0)
    assert got.loc["Room B", "bookings"] == 1


def test_occupancy_of_a_weekend_has_nothing_available(world: World) -> None:
    got = reports.resource_occupancy(world.db, ReportFilter(start=dt.date(2025, 6, 7), end=dt.date(2025, 6, 8)))
    assert set(got["available_hours"]) == {0}
    assert got["occupancy"].isna().all()


# -- meeting key numbers ------------------------------------------------------------------------------------
def test_the_meeting_numbers_match_an_independent_computation(world: World) -> None:
    f = make_filter(world, start=dt.date(2025, 1, 1), end=dt.date(2025, 6, 30))
    got = reports.kpis(world.db, f, now=NOW)
    tb = Tables(world.db)
    lo, hi = utc_range(f.start, f.end)
    blo, bhi = utc_range(f.start - dt.timedelta(days=181), f.start - dt.timedelta(days=1))  # the 181 days before
    th, ev = tb.threads, tb.events
    values = thread_values(tb, f.amount_type_id)
    won_now = th[(th["status"] == "won") & (th["closed_at"] >= lo) & (th["closed_at"] < hi)]
    assert got.new_threads == ((th["opened_at"] >= lo) & (th["opened_at"] < hi)).sum() == 7
    assert got.new_threads_before == ((th["opened_at"] >= blo) & (th["opened_at"] < bhi)).sum() == 1
    assert got.won_threads == len(won_now) == 3
    assert got.won_value == sum((values.get(i, Decimal(0)) for i in won_now["id"]), Decimal(0)) == Decimal("4277.77")
    assert got.won_value_before == Decimal(0)
    done = ev[ev["status"] == "done"]
    assert got.events_logged == ((done["starts_at"] >= lo) & (done["starts_at"] < hi)).sum()
    assert got.events_logged_before == 1  # T7's opening in December 2024
    planned = ev[(ev["status"] == "planned") & (ev["starts_at"] < NOW)]
    assert got.overdue_tasks == len(planned) == 5
    assert got.weighted_pipeline == Decimal("95.01")


@pytest.mark.parametrize(
    ("days", "grain"), [(1, "week"), (30, "week"), (62, "week"), (63, "month"), (731, "month"), (732, "quarter")]
)
def test_the_meeting_charts_money_in_weeks_months_or_quarters_by_the_length_of_the_period(
    days: int, grain: str
) -> None:
    start = dt.date(2025, 1, 1)
    assert reports.granularity_for(start, start + dt.timedelta(days=days - 1)) == grain


def test_the_meeting_shows_the_funnel_of_the_pipeline_with_the_most_threads(world: World) -> None:
    got = reports.funnel(world.db, make_filter(world))
    counts = dict(zip(got.outcomes["pipeline_id"], got.outcomes["threads"], strict=True))
    assert counts[got.busiest_pipeline()] == max(counts.values())
    assert got.busiest_pipeline() == world.pipelines["Sales"]


def test_meeting_numbers_follow_the_owner_filter(world: World) -> None:
    got = reports.kpis(world.db, make_filter(world, owner_id="olga"), now=NOW)
    assert (got.new_threads, got.won_threads, got.won_value) == (2, 1, Decimal("777.77"))
    assert got.overdue_tasks == 1  # T8's planned task


# -- the filter ---------------------------------------------------------------------------------------------
def test_a_reversed_period_is_refused_with_a_message() -> None:
    with pytest.raises(ValidationError) as caught:
        ReportFilter(start=dt.date(2025, 2, 1), end=dt.date(2025, 1, 1))
    assert caught.value.errors[0].key == "validation.end_before_start"


@pytest.mark.parametrize("bad", [{"granularity": "decade"}, {"dimension": "t.owner_id; DROP TABLE users"}])
def test_only_allow_listed_granularities_and_dimensions_reach_the_sql(bad: dict) -> None:
    with pytest.raises(ValueError, match=next(iter(bad.values()))[:5]):
        replace(YEAR, **bad)


def test_a_range_of_too_many_periods_is_refused_with_a_message() -> None:
    with pytest.raises(ValidationError) as caught:
        ReportFilter(start=dt.date(2000, 1, 1), end=dt.date(2030, 1, 1), granularity="week")
    assert caught.value.errors[0].key == "reports.too_many_buckets"
    century = ReportFilter(start=dt.date(2000, 1, 1), end=dt.date(2099, 12, 31))  # in months: accepted
    assert len(reports.buckets(century.start, century.end, century.granularity)) == 1200


@pytest.mark.parametrize(
    ("day", "granularity", "start", "following"),
    [
        (dt.date(2025, 3, 5), "week", dt.date(2025, 3, 3), dt.date(2025, 3, 10)),
        (dt.date(2025, 12, 31), "month", dt.date(2025, 12, 1), dt.date(2026, 1, 1)),
        (dt.date(2025, 11, 30), "quarter", dt.date(2025, 10, 1), dt.date(2026, 1, 1)),
        (dt.date(2024, 2, 29), "year", dt.date(2024, 1, 1), dt.date(2025, 1, 1)),
    ],
)
def test_buckets_start_on_monday_and_on_the_first_of_the_month_quarter_or_year(
    day: dt.date, granularity: str, start: dt.date, following: dt.date
) -> None:
    assert reports.bucket_start(day, granularity) == start
    assert reports.next_bucket(start, granularity) == following
    assert reports.previous_bucket(following, granularity) == start


@pytest.mark.duckdb_only("the benchmark's yardsticks are DuckDB's own queries over the file (tests/benchmark.py)")
def test_the_benchmark_yardsticks_compute_what_the_reports_compute(sample) -> None:
    # tests/benchmark.py divides our time by these: they must be the same aggregates, or the
    # ratios mean nothing
    path, _ = sample
    db = Database.open(config_for(path))
    try:
        cases = {name: (ours(), floor(), naive()) for name, ours, floor, naive in yardsticks.cases(db)}
    finally:
        db.close()

    def total(rows, column: int) -> Decimal:
        return sum((Decimal(str(r[column])) for r in rows if r[column] is not None), Decimal(0))

    money, floor, naive = cases["money by owner per month"]
    # the naive versions add floats, as such dashboards do: equal to the cent
    assert sum(money.rows["total"]) == total(floor, 2) != 0
    assert round(float(naive.sum()), 2) == float(total(floor, 2))
    weighted, floor, naive = cases["weighted pipeline"]
    assert weighted.weighted == total(floor, 1).quantize(Decimal("0.01"), ROUND_HALF_UP)  # the documented rule
    # the naive float sum is the same unrounded total (to float precision); rounding it
    # independently may land on the other side of a half cent, so compare before rounding
    assert float(naive.sum()) == pytest.approx(float(total(floor, 1)), abs=1e-6)
    funnel, floor, naive = cases["funnel of a year's cohort"]
    assert funnel.threads == total(floor, 1) == int(naive["threads"].sum()) != 0
    assert sum(funnel.stages["at_now_value"]) == total(floor, 2)
    products, floor, (sold, _won) = cases["products per month"]
    assert sum(products.totals["value"]) == total(floor, 3) != 0
    assert round(float(sold["value"].sum()), 2) == float(total(floor, 3))
    assert sum(products.totals["threads_won"]) == total(floor, 6)


@pytest.mark.parametrize(
    ("day", "first"),
    [
        (dt.date(2026, 12, 1), dt.date(2026, 1, 1)),
        (dt.date(2026, 3, 15), dt.date(2025, 4, 1)),
        (dt.date(2024, 2, 29), dt.date(2023, 3, 1)),
    ],
)
def test_the_default_range_is_twelve_whole_months_ending_with_this_one(day: dt.date, first: dt.date) -> None:
    assert reports.twelve_months_to(day) == first


def test_a_drill_down_export_holds_every_thread_not_only_the_shown_ones(world: World) -> None:
    from pages._ui.tables import all_rows

    f = make_filter(world)
    shown, total = reports.drill_threads(world.db, f, Drill("cohort"), limit=3)
    exported = all_rows(shown, total, lambda: reports.drill_threads(world.db, f, Drill("cohort"), limit=None)[0])
    assert len(exported) == total == 8
    assert set(shown["id"]) < set(exported["id"])
