"""Sample data is what a new user judges the product by: plausible days and units that match."""

from __future__ import annotations

from crm_data import demo
from crm_data.db import Database
from crm_data.users import User
from tests.helpers import PASSWORD


def test_sample_people_are_rarely_double_booked(db: Database, admin: User) -> None:
    demo.generate(db, 40_000, password=PASSWORD)
    with db.read() as tx:
        planned, overlapping = tx.one(
            """
            SELECT count(*), count(*) FILTER (WHERE EXISTS (
                SELECT 1 FROM events o WHERE o.assignee_id = e.assignee_id AND o.id <> e.id AND o.status = 'planned'
                  AND o.starts_at < e.ends_at AND e.starts_at < o.ends_at))
            FROM events e WHERE e.status = 'planned'
            """
        )
    assert planned > 300
    assert overlapping / planned < 0.05


def test_sample_product_units_match_their_names(db: Database, admin: User) -> None:
    demo.generate(db, 300, password=PASSWORD, lang="pl")
    with db.read() as tx:
        units = dict(tx.all("SELECT code, unit FROM products"))
        kinds = {r[0] for r in tx.all("SELECT DISTINCT kind FROM resources")}
    assert units["STL-1T"] == "t"
    assert units["TRN-D"] == "dzień"
    assert units["SUP-Y"] == "rok"
    assert units["CAB-100"] == "szt."
    assert kinds == {"sala", "projektor", "samochód"}  # a Polish sample speaks Polish
