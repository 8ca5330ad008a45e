"""Two rollups (issue 27) of the reports' facts, each row derived from one done event and its
thread, with the event's local day in the organisation's time zone and the thread's owner,
client and pipeline:

- `money_facts` (Money): one row per event, amount type and product, the event's amounts of the
  type split among its products in whole cents (product 0: an event without products);
- `product_lines` (Products): one row per event and product, its lines' quantity and value.

The reports read these narrow rows by day instead of joining events, threads, amounts and
product lines (and splitting the amounts) at every read. A save with amounts or products adds
its event's rows in the same transaction (crm_data.rollups); `python -m crm_data.rollups
rebuild` recomputes them.

A migration in Python because filling the tables needs the definitions the rollup module keeps:
one definition of the split, not a copy in SQL here. No foreign keys: the rows are derived,
written only with their events' saves, and a key's index would cost more than the table on a
large file."""

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
CREATE TABLE product_lines (
    thread_id BIGINT NOT NULL,
    event_id BIGINT NOT NULL,
    day DATE NOT NULL,
    owner_id BIGINT NOT NULL,
    client_id BIGINT NOT NULL,
    pipeline_id BIGINT NOT NULL,
    product_id BIGINT NOT NULL,
    quantity DECIMAL(18, 3) NOT NULL,
    value DECIMAL(18, 2) NOT NULL
);
"""


def apply(tx: Tx) -> None:
    tx.script(SQL)
    rollups.rebuild_event_facts(tx)
