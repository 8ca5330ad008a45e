"""A rollup (issue 27): the money reports' facts, one row per done event, amount type and product
(amounts split among an event's products in whole cents; product 0: an event without products),
with the event's local day in the organisation's time zone and its thread's owner, client and
pipeline. Money reads these narrow rows by day instead of joining events, threads, amounts and
product lines and splitting the amounts at every read. A save with amounts adds its event's rows
in the same transaction (crm_data.rollups); `python -m crm_data.rollups rebuild` recomputes them.

A migration in Python because filling the table needs the split the rollup module keeps: one
definition of it, not a copy in SQL here. No foreign keys: the rows are derived, written only
with their events' saves, and a key's index would cost more than the table on a large file."""

from __future__ import annotations

from crm_data import rollups
from crm_data.db import Tx

SQL = """
CREATE TABLE money_facts (
    thread_id BIGINT NOT NULL,
    day DATE NOT NULL,
    owner_id BIGINT NOT NULL,
    client_id BIGINT NOT NULL,
    pipeline_id BIGINT NOT NULL,
    type_id BIGINT NOT NULL,
    amount_type_id BIGINT NOT NULL,
    product_id BIGINT NOT NULL,
    cents BIGINT NOT NULL
);
"""


def apply(tx: Tx) -> None:
    tx.script(SQL)
    rollups.rebuild_money(tx)
