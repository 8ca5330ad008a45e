"""The thread-value rollup (issue 27, item 2): kept in the transaction of every save that writes
amounts, equal to the base tables after any sequence of writes, rebuilt by its command."""

from __future__ import annotations

import random

import pytest

from crm_data import dictionaries, rollups, users
from crm_data.db import Database
from crm_data.errors import ValidationError
from crm_data.events import AmountInput
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
    # the file by --db; team mode's database by CRM_DATABASE_URL, as the command finds it
    where = ["--db", str(db.config.db_path)] if engine == "duckdb" else []
    if engine != "duckdb":
        monkeypatch.setenv("CRM_DATABASE_URL", db.config.database_url)
    db.close()
    assert rollups.main(["check", *where]) == 1
    assert rollups.main(["rebuild", *where]) == 0
    assert rollups.main(["check", *where]) == 0
    assert "0 rollup rows differed" in capsys.readouterr().out


def test_the_sample_data_comes_with_its_rollup(db: Database, admin: users.User) -> None:
    from crm_data import demo

    demo.generate(db, 2000, password=PASSWORD)
    base_equals_rollup(db)
    with db.read() as tx:
        assert tx.scalar("SELECT count(*) FROM thread_values") > 100
