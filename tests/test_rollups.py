"""The rollups (issue 27, item 2): thread values, stage entries and money facts, kept in the transaction of
every save that changes them, equal to the base tables after any sequence of writes, filled by
their migration and rebuilt by their command."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest

from crm_data import admin as admin_module
from crm_data import clock, dictionaries, reports, rollups, users
from crm_data import db as db_module
from crm_data.db import Database
from crm_data.errors import ValidationError
from crm_data.events import AmountInput, ProductInput
from crm_data.reports import ReportFilter
from tests.helpers import PASSWORD, call, new_client, snapshot


def base_equals_rollup(db: Database) -> None:
    with db.read() as tx:
        assert rollups.differences(tx) == 0


def test_saves_with_amounts_keep_the_rollup_equal_to_the_base_tables(db: Database, admin: users.User) -> None:
    rng = random.Random(5)
    member = users.create_user(db, admin, login="sam", display_name="Sam Seller", password=PASSWORD)
    look = dictionaries.lookups(db)
    kinds = [a.id for a in look.active(look.amount_types)]
    client = new_client(db, admin)
    threads_made: list[int] = []
    for i in range(30):
        amounts = tuple(
            AmountInput(rng.choice(kinds), f"{rng.randint(1, 9999)}.{rng.randint(0, 99):02d}")
            for _ in range(rng.randint(0, 3))
        )
        who = rng.choice((admin, member))
        mine = [t for t in threads_made if rng.random() < 0.6]
        thread = rng.choice(mine) if mine and who is admin else None
        result = call(db, who if thread is None else admin, client, thread_id=thread, note=f"call {i}", amounts=amounts)
        threads_made.append(result.thread_id)
        base_equals_rollup(db)
    with db.read() as tx:
        assert tx.scalar("SELECT count(*) FROM thread_values") > 5  # the sequence wrote amounts


def test_a_refused_save_adds_nothing_to_the_rollup(db: Database, admin: users.User) -> None:
    client = new_client(db, admin)
    kind = dictionaries.lookups(db).active(dictionaries.lookups(db).amount_types)[0].id
    before = snapshot(db)
    with pytest.raises(ValidationError):
        call(db, admin, client, amounts=(AmountInput(kind, "100"), AmountInput(kind, "-5")))
    assert snapshot(db) == before


def test_the_rebuild_command_restores_a_damaged_rollup(
    db: Database, admin: users.User, capsys, engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = new_client(db, admin)
    kind = dictionaries.lookups(db).active(dictionaries.lookups(db).amount_types)[0].id
    call(db, admin, client, amounts=(AmountInput(kind, "250.00"),))
    with db.transaction() as tx:
        tx.execute("UPDATE thread_values SET value = value + 1")
        tx.execute("DELETE FROM thread_stage_entries")  # and the stage history lost
    # the file by --db; team mode's database by CRM_DATABASE_URL, as the command finds it
    where = ["--db", str(db.config.db_path)] if engine == "duckdb" else []
    if engine != "duckdb":
        monkeypatch.setenv("CRM_DATABASE_URL", db.config.database_url)
    db.close()
    assert rollups.main(["check", *where]) == 1
    assert rollups.main(["rebuild", *where]) == 0
    assert rollups.main(["check", *where]) == 0
    out = capsys.readouterr().out
    assert "2 rollup rows differed" in out  # one value, one stay
    assert "0 rollup rows differed" in out


def test_the_sample_data_comes_with_its_rollup(db: Database, admin: users.User) -> None:
    from crm_data import demo

    demo.generate(db, 2000, password=PASSWORD)
    base_equals_rollup(db)
    with db.read() as tx:
        assert tx.scalar("SELECT count(*) FROM thread_values") > 100


def stays(db: Database, thread_id: int) -> list[tuple]:
    with db.read() as tx:
        return tx.all(
            "SELECT s.name, x.entered_at, x.left_at FROM thread_stage_entries x JOIN stages s ON s.id = x.stage_id"
            " WHERE x.thread_id = ? ORDER BY x.entered_at",
            [thread_id],
        )


def test_a_stage_change_dated_before_a_later_one_ends_the_earlier_stay_there(db: Database, admin: users.User) -> None:
    """A salesperson logs yesterday's meeting that moved the deal after today's call already had:
    the stay it interrupts ends at it, and it lasts until the later change."""
    look = dictionaries.lookups(db)
    pipeline = look.active(look.pipelines)[0].id
    path = [s for s in look.stages_of(pipeline) if not s.closes]
    client = new_client(db, admin)
    now = clock.now()
    day = dt.timedelta(days=1)
    thread = call(db, admin, client, at=now - 10 * day, pipeline_id=pipeline).thread_id
    call(db, admin, client, thread_id=thread, at=now - 5 * day, stage_id=path[2].id)
    call(db, admin, client, thread_id=thread, at=now - 8 * day, stage_id=path[1].id)
    got = stays(db, thread)
    assert [(name, entered, left) for name, entered, left in got] == [
        (path[0].name, now - 10 * day, now - 8 * day),
        (path[1].name, now - 8 * day, now - 5 * day),
        (path[2].name, now - 5 * day, None),
    ]
    base_equals_rollup(db)


def test_a_database_from_before_the_stage_rollup_gets_it_filled_by_its_migration(
    db: Database, admin: users.User
) -> None:
    look = dictionaries.lookups(db)
    pipeline = look.active(look.pipelines)[0].id
    path = [s for s in look.stages_of(pipeline) if not s.closes]
    client = new_client(db, admin)
    now = clock.now()
    for i in range(3):
        thread = call(db, admin, client, at=now - dt.timedelta(days=9 - i), pipeline_id=pipeline).thread_id
        call(db, admin, client, thread_id=thread, at=now - dt.timedelta(days=5 - i), stage_id=path[1].id)
    with db.read() as tx:
        before = tx.all("SELECT * FROM thread_stage_entries ORDER BY thread_id, event_id")
    assert len(before) == 6
    with db.transaction() as tx:  # the database as it was before migration 13
        tx.execute("DROP TABLE thread_stage_entries")
        tx.execute("DELETE FROM schema_migrations WHERE version = 13")
    assert db_module.migrate(db) == [13]
    with db.read() as tx:
        assert tx.all("SELECT * FROM thread_stage_entries ORDER BY thread_id, event_id") == before
    base_equals_rollup(db)


def event_rows(db: Database, rollup: rollups.EventRollup = rollups.MONEY) -> list[tuple]:
    with db.read() as tx:
        return tx.all(f"SELECT {rollup.columns} FROM {rollup.table} ORDER BY {rollup.columns}")


def calls_with_money_and_products(db: Database, admin: users.User) -> None:
    with db.transaction() as tx:
        for code, price in (("P1", "150.00"), ("P2", "10.00"), ("P3", "0.01")):
            tx.execute("INSERT INTO products (code, name, price) VALUES (?, ?, ?)", [code, code, Decimal(price)])
    db.dictionaries_changed()
    look = dictionaries.lookups(db)
    kind = look.active(look.amount_types)[0].id
    products = sorted(look.products)
    client = new_client(db, admin)
    now = clock.now()
    for i, chosen in enumerate(([], products[:1], products)):
        call(
            db,
            admin,
            client,
            at=now - dt.timedelta(days=3 - i),
            amounts=(AmountInput(kind, f"{100 + i}.01"),),
            products=tuple(ProductInput(p, i + 1) for p in chosen),
        )


def test_a_database_from_before_the_money_and_product_rollups_gets_them_filled_by_their_migration(
    db: Database, admin: users.User
) -> None:
    calls_with_money_and_products(db, admin)
    money, lines = event_rows(db), event_rows(db, rollups.LINES)
    assert len(money) == 1 + 1 + 3  # no product, one product, the amount split among three
    assert len(lines) == 1 + 3
    with db.transaction() as tx:  # the database as it was before migration 14
        tx.execute("DROP TABLE money_facts")
        tx.execute("DROP TABLE product_lines")
        tx.execute("DELETE FROM schema_migrations WHERE version = 14")
    assert db_module.migrate(db) == [14]
    assert event_rows(db) == money
    assert event_rows(db, rollups.LINES) == lines
    base_equals_rollup(db)


def test_a_call_with_products_and_no_amount_counts_in_the_products_report(db: Database, admin: users.User) -> None:
    calls_with_money_and_products(db, admin)
    product = sorted(dictionaries.lookups(db).products)[0]
    call(db, admin, new_client(db, admin, "Beta"), products=(ProductInput(product, 4),))
    assert [row[-2:] for row in event_rows(db, rollups.LINES) if row[-3] == product] == [
        (Decimal("2.000"), Decimal("300.00")),
        (Decimal("3.000"), Decimal("450.00")),
        (Decimal("4.000"), Decimal("600.00")),
    ]
    base_equals_rollup(db)


def test_an_amount_split_among_products_adds_up_to_the_amount_to_the_cent(db: Database, admin: users.User) -> None:
    calls_with_money_and_products(db, admin)
    with db.read() as tx:
        split = tx.all("SELECT day, sum(cents), count(*) FROM money_facts GROUP BY day ORDER BY day")
    assert [(cents, parts) for _, cents, parts in split] == [(10001, 1), (10101, 1), (10201, 3)]


def test_a_new_time_zone_moves_every_amount_to_its_local_day_there(db: Database, admin: users.User) -> None:
    look = dictionaries.lookups(db)
    kind = look.active(look.amount_types)[0].id
    late = dt.datetime(2026, 3, 31, 23, 30, tzinfo=dt.UTC)  # 1 April in Warsaw, 31 March in New York
    call(db, admin, new_client(db, admin), at=late, amounts=(AmountInput(kind, "50"),))
    march = ReportFilter(start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31), granularity="month")

    def in_march() -> Decimal:
        return reports.money(db, march, today=dt.date(2026, 5, 1)).rows["total"].sum()

    with db.read() as tx:
        assert tx.all("SELECT day FROM money_facts") == [(dt.date(2026, 4, 1),)]
    assert in_march() == 0
    admin_module.save_settings(db, admin, {"time_zone": "America/New_York"})
    with db.read() as tx:
        assert tx.all("SELECT day FROM money_facts") == [(dt.date(2026, 3, 31),)]
    assert in_march() == Decimal("50.00")
    base_equals_rollup(db)
