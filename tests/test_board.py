"""The pipeline board: the one read (columns, cards, counts, values) and the one command (a move)."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from crm_data import admin as admin_service
from crm_data import board, dictionaries, events, threads
from crm_data.db import Database
from crm_data.errors import PermissionDenied, StaleRecord, ValidationError
from crm_data.identity import User
from tests.helpers import call, new_client, snapshot, template_value

DAY = dt.timedelta(days=1)


def stage(look: dictionaries.Lookups, name: str) -> dictionaries.Stage:
    return next(s for s in look.stages.values() if s.name == name)


def amount(look: dictionaries.Lookups, value: str, kind: str = "Offer value") -> events.AmountInput:
    return events.AmountInput(next(a.id for a in look.amount_types.values() if a.name == kind), value)


def build_world(db: Database, people: dict[str, User], now: dt.datetime) -> dict[str, Any]:
    """A hand-made pipeline: threads at every stage, with values, old and recent activity,
    planned next steps, a product, a won thread and a thread lost too long ago to show."""
    admin, member, other_member = people["admin"], people["member"], people["other_member"]
    look = dictionaries.lookups(db)
    qualified = stage(look, "Qualified")
    admin_service.save(
        db,
        admin,
        "stages",
        {"name": "Qualified", "percent": 25, "is_won": False, "is_lost": False, "rot_days": 10},
        qualified.id,
    )
    look = dictionaries.lookups(db)
    acme = new_client(db, member, "Acme")
    bolt = new_client(db, member, "Bolt Works")
    product_id = admin_service.save(
        db, admin, "products", {"code": "W-1", "name": "Window", "unit": "pcs", "price": "120"}
    )
    look = dictionaries.lookups(db)
    made: dict[str, int] = {}

    def thread(name: str, who: User, client: int, opened: dt.datetime, **extra: Any) -> int:
        result = call(db, who, client, note=name, at=opened, **extra)
        made[name] = result.thread_id
        return result.thread_id

    def move(name: str, who: User, stage_name: str, at: dt.datetime, **extra: Any) -> None:
        call(
            db,
            who,
            acme if name != "bolt-proposal" else bolt,
            thread_id=made[name],
            note=f"{name} moved",
            at=at,
            stage_id=stage(look, stage_name).id,
            **extra,
        )

    # Lead: two threads, one with a value and a planned next step, one with neither
    thread(
        "lead-big",
        member,
        acme,
        now - 3 * DAY,
        amounts=(amount(look, "1000.00"), amount(look, "250.50")),
        next_step=events.NextStep(look.active(look.event_types)[0].id, now + 2 * DAY, 30),
    )
    thread("lead-empty", other_member, acme, now - 1 * DAY)
    # Qualified (rots after 10 days): one untouched for 12 days, one touched yesterday
    thread("qual-old", member, acme, now - 20 * DAY, amounts=(amount(look, "400.00"),))
    move("qual-old", member, "Qualified", now - 12 * DAY)
    thread("qual-fresh", member, acme, now - 30 * DAY, amounts=(amount(look, "99.99"), amount(look, "5000", "Cost")))
    move("qual-fresh", member, "Qualified", now - 5 * DAY)
    call(db, member, acme, thread_id=made["qual-fresh"], note="still talking", at=now - 1 * DAY)
    # Proposal: a coworker's thread of another client, with a product
    thread(
        "bolt-proposal",
        other_member,
        bolt,
        now - 8 * DAY,
        amounts=(amount(look, "333.33"),),
        products=(events.ProductInput(product_id, "2"),),
    )
    move("bolt-proposal", other_member, "Proposal", now - 4 * DAY)
    # Won 2 days ago (shows in Won); lost 40 days ago (too old to show)
    thread("won", member, acme, now - 50 * DAY, amounts=(amount(look, "700.00"),))
    move("won", member, "Won", now - 2 * DAY)
    lost_reason = look.active(look.lost_reasons)[0].id
    thread("lost-long-ago", member, acme, now - 60 * DAY, amounts=(amount(look, "10.00"),))
    move("lost-long-ago", member, "Lost", now - 40 * DAY, lost_reason_id=lost_reason)
    return {"ids": made, "acme": acme, "bolt": bolt, "product": product_id, "pipeline": qualified.pipeline_id}


# `world` is made once per module and copied for each test; `now` is the moment it was made for
DB_TEMPLATES = {"world": (("member", "other_member"), build_world)}


@pytest.fixture
def world(
    request: pytest.FixtureRequest, db: Database, admin: User, member: User, other_member: User
) -> dict[str, Any]:
    return template_value(request)


def independent_board(db: Database, pipeline_id: int, now: dt.datetime, amount_type_id: int) -> dict[int, dict]:
    """The board computed another way: every row read plainly, the rules applied in Python."""
    with db.read() as tx:
        stages = {r["id"]: r for r in tx.dicts("SELECT * FROM stages WHERE pipeline_id = ?", [pipeline_id])}
        all_threads = tx.dicts("SELECT * FROM threads WHERE pipeline_id = ?", [pipeline_id])
        all_events = tx.dicts("SELECT * FROM events")
        amounts = tx.dicts("SELECT * FROM event_amounts")
    by_event = {e["id"]: e for e in all_events}
    out: dict[int, dict] = {
        sid: {"count": 0, "value": Decimal(0), "weighted": Decimal(0), "cards": {}} for sid in stages
    }
    for t in all_threads:
        if t["status"] != "open" and not (t["status"] in ("won", "lost") and t["closed_at"] >= now - 30 * DAY):
            continue
        value = sum(
            (
                a["value"]
                for a in amounts
                if a["amount_type_id"] == amount_type_id
                and by_event[a["event_id"]]["thread_id"] == t["id"]
                and by_event[a["event_id"]]["status"] == "done"
            ),
            Decimal(0),
        )
        moves = [
            e["starts_at"]
            for e in all_events
            if e["thread_id"] == t["id"] and e["status"] == "done" and e["stage_id"] == t["stage_id"]
        ]
        entered = max(moves) if moves else t["opened_at"]
        planned = [e for e in all_events if e["thread_id"] == t["id"] and e["status"] == "planned"]
        limit = stages[t["stage_id"]]["rot_days"]
        column = out[t["stage_id"]]
        column["count"] += 1
        column["value"] += value
        column["weighted"] += value * stages[t["stage_id"]]["percent"] / 100
        column["cards"][t["id"]] = {
            "value": value,
            "days_in_stage": ((t["closed_at"] or now) - entered).days,
            "rotting": t["status"] == "open" and limit is not None and t["last_event_at"] < now - limit * DAY,
            "no_next_step": t["status"] == "open" and not planned,
        }
    for column in out.values():
        column["weighted"] = column["weighted"].quantize(Decimal("0.01"), ROUND_HALF_UP)
    return out


def shown(b: board.Board) -> dict[int, dict]:
    return {
        c.stage_id: {
            "count": c.count,
            "value": c.value,
            "weighted": c.weighted,
            "cards": {
                k.id: {
                    "value": k.value,
                    "days_in_stage": k.days_in_stage,
                    "rotting": k.rotting,
                    "no_next_step": k.no_next_step,
                }
                for k in c.cards
            },
        }
        for c in b.columns
    }


def names(b: board.Board, world: dict[str, Any]) -> dict[str, list[str]]:
    ids = {v: k for k, v in world["ids"].items()}
    return {c.name: [ids[k.id] for k in c.cards] for c in b.columns}


# -- the read ------------------------------------------------------------------------------------------------
def test_the_board_equals_an_independent_computation_of_the_fixture(db: Database, world, now) -> None:
    b = board.board(db, board.BoardFilter(world["pipeline"]), now=now)
    assert shown(b) == independent_board(db, world["pipeline"], now, b.amount_type_id)
    assert [c.name for c in b.columns] == ["Lead", "Qualified", "Proposal", "Negotiation", "Won", "Lost"]
    # and the numbers the fixture was built for, so the two computations cannot both be wrong
    assert names(b, world) == {
        "Lead": ["lead-big", "lead-empty"],
        "Qualified": ["qual-old", "qual-fresh"],
        "Proposal": ["bolt-proposal"],
        "Negotiation": [],
        "Won": ["won"],
        "Lost": [],
    }
    lead, qualified, proposal = b.columns[0], b.columns[1], b.columns[2]
    assert (lead.count, lead.value, lead.weighted) == (2, Decimal("1250.50"), Decimal("125.05"))
    assert (qualified.count, qualified.value, qualified.weighted) == (2, Decimal("499.99"), Decimal("125.00"))
    assert [k.days_in_stage for k in qualified.cards] == [12, 5]
    assert [k.rotting for k in qualified.cards] == [True, False]
    assert [k.no_next_step for k in lead.cards] == [False, True]
    assert (lead.cards[0].next_at is not None, bool(lead.cards[0].next_type)) == (True, True)
    assert (proposal.cards[0].owner, proposal.cards[0].client) == ("Olga Other", "Bolt Works")
    assert (b.count, b.value, b.weighted) == (5, Decimal("2083.82"), Decimal("416.72"))


def test_each_column_shows_its_first_cards_by_value_with_the_true_count(db: Database, world, now) -> None:
    look = dictionaries.lookups(db)
    b = board.board(db, board.BoardFilter(world["pipeline"]), limit=1, now=now)
    lead = b.columns[0]
    assert (lead.count, lead.value, [k.title for k in lead.cards], lead.has_more) == (
        2,
        Decimal("1250.50"),
        ["lead-big"],
        True,
    )
    more = board.board(db, board.BoardFilter(world["pipeline"]), limit=1, limits={stage(look, "Lead").id: 5}, now=now)
    assert [len(c.cards) for c in more.columns[:2]] == [2, 1]
    by_activity = board.board(db, board.BoardFilter(world["pipeline"], sort="activity"), now=now)
    assert names(by_activity, world)["Qualified"] == ["qual-fresh", "qual-old"]


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ({"owner_id": "other"}, {"Lead": ["lead-empty"], "Proposal": ["bolt-proposal"]}),
        ({"client_id": "bolt"}, {"Proposal": ["bolt-proposal"]}),
        ({"text": "QUAL-"}, {"Qualified": ["qual-old", "qual-fresh"]}),
        ({"text": "still talking"}, {"Qualified": ["qual-fresh"]}),  # a note in the thread matches too
        ({"text": "%"}, {}),  # matched literally
        (
            {"no_next_step": True},
            {"Lead": ["lead-empty"], "Qualified": ["qual-old", "qual-fresh"], "Proposal": ["bolt-proposal"]},
        ),
        ({"rotting": True}, {"Qualified": ["qual-old"]}),
    ],
)
def test_filters_narrow_the_cards_and_the_counts(db: Database, world, other_member: User, now, flt, expected) -> None:
    values = {**flt}
    if values.get("owner_id") == "other":
        values["owner_id"] = other_member.id
    if values.get("client_id") == "bolt":
        values["client_id"] = world["bolt"]
    b = board.board(db, board.BoardFilter(world["pipeline"], **values), now=now)
    got = {name: cards for name, cards in names(b, world).items() if cards}
    assert got == expected
    assert all(c.count == len(c.cards) for c in b.columns)


def test_the_product_filter_keeps_threads_that_list_the_product(db: Database, world, now) -> None:
    b = board.board(db, board.BoardFilter(world["pipeline"], product_id=world["product"]), now=now)
    assert {n: c for n, c in names(b, world).items() if c} == {"Proposal": ["bolt-proposal"]}


def test_the_value_follows_the_chosen_amount_type(db: Database, world, now) -> None:
    look = dictionaries.lookups(db)
    cost = next(a.id for a in look.amount_types.values() if a.name == "Cost")
    b = board.board(db, board.BoardFilter(world["pipeline"], amount_type_id=cost), now=now)
    assert b.amount_type_id == cost
    assert shown(b) == independent_board(db, world["pipeline"], now, cost)
    assert b.columns[1].value == Decimal("5000.00")


# -- the move ------------------------------------------------------------------------------------------------
def card(db: Database, world, name: str, now) -> board.Card:
    b = board.board(db, board.BoardFilter(world["pipeline"]), now=now)
    return next(k for c in b.columns for k in c.cards if k.id == world["ids"][name])


def test_a_move_writes_exactly_one_event_and_the_stage_change(db: Database, world, member: User, now) -> None:
    look = dictionaries.lookups(db)
    before = snapshot(db)
    moved = card(db, world, "qual-old", now)
    result = board.move(db, member, board.MoveCard(moved.id, stage(look, "Proposal").id, moved.version, note="Sent"))
    after = snapshot(db)
    assert after["events"] == before["events"] + 1
    assert after["threads"] == before["threads"]
    detail = threads.get_thread(db, moved.id)
    assert (detail.stage, detail.status, detail.version) == ("Proposal", "open", moved.version + 1)
    event = threads.thread_events(db, moved.id)[0]
    assert (event.id, event.stage, event.note, event.status) == (result.event_id, "Proposal", "Sent", "done")
    assert event.type == "Note"  # the starter set's shortest non-meeting type, until an admin chooses
    b = board.board(db, board.BoardFilter(world["pipeline"]))
    assert names(b, world)["Proposal"] == ["qual-old", "bolt-proposal"]
    assert [c.count for c in b.columns[:3]] == [2, 1, 2]
    assert card(db, world, "qual-old", now).days_in_stage == 0


def test_a_move_that_fails_half_way_writes_nothing(db: Database, world, member: User, now, monkeypatch) -> None:
    look = dictionaries.lookups(db)
    moved = card(db, world, "qual-old", now)
    before = snapshot(db)
    real = events.audit.record

    def failing(tx, user_id, entity, entity_id, action, changes):  # the stage change is audited after the event
        if entity == "thread" and action == "stage":
            raise RuntimeError("disk on fire")
        return real(tx, user_id, entity, entity_id, action, changes)

    monkeypatch.setattr(events.audit, "record", failing)
    with pytest.raises(RuntimeError):
        board.move(db, member, board.MoveCard(moved.id, stage(look, "Proposal").id, moved.version))
    assert snapshot(db) == before


def test_a_member_moving_a_coworkers_card_is_refused(db: Database, world, member: User, now) -> None:
    look = dictionaries.lookups(db)
    theirs = card(db, world, "bolt-proposal", now)
    before = snapshot(db)
    with pytest.raises(PermissionDenied):
        board.move(db, member, board.MoveCard(theirs.id, stage(look, "Negotiation").id, theirs.version))
    assert snapshot(db) == before


def test_a_manager_moves_anyones_card(db: Database, world, admin: User, now) -> None:
    look = dictionaries.lookups(db)
    theirs = card(db, world, "bolt-proposal", now)
    board.move(db, admin, board.MoveCard(theirs.id, stage(look, "Negotiation").id, theirs.version))
    assert threads.get_thread(db, theirs.id).stage == "Negotiation"


def test_lost_without_a_reason_is_refused_and_with_one_the_card_leaves_the_board(
    db: Database, world, member: User, now
) -> None:
    look = dictionaries.lookups(db)
    moved = card(db, world, "lead-big", now)
    before = snapshot(db)
    with pytest.raises(ValidationError) as refused:
        board.move(db, member, board.MoveCard(moved.id, stage(look, "Lost").id, moved.version))
    assert [e.key for e in refused.value.errors] == ["stage.lost_needs_reason"]
    assert snapshot(db) == before
    reason = look.active(look.lost_reasons)[0]
    result = board.move(
        db, member, board.MoveCard(moved.id, stage(look, "Lost").id, moved.version, lost_reason_id=reason.id)
    )
    assert result.thread_status == "lost"
    detail = threads.get_thread(db, moved.id)
    assert (detail.status, detail.lost_reason, detail.closed_at is not None) == ("lost", reason.name, True)
    b = board.board(db, board.BoardFilter(world["pipeline"]))
    assert names(b, world)["Lead"] == ["lead-empty"]
    assert names(b, world)["Lost"] == ["lead-big"]  # recently lost: in the (collapsed) Lost column
    assert b.count == 4


def test_won_closes_the_thread_and_a_closed_card_cannot_move_again(db: Database, world, member: User, now) -> None:
    look = dictionaries.lookups(db)
    moved = card(db, world, "qual-fresh", now)
    board.move(db, member, board.MoveCard(moved.id, stage(look, "Won").id, moved.version))
    detail = threads.get_thread(db, moved.id)
    assert (detail.status, detail.closed_at is not None) == ("won", True)
    before = snapshot(db)
    with pytest.raises(ValidationError):
        board.move(db, member, board.MoveCard(moved.id, stage(look, "Lead").id, detail.version))
    assert snapshot(db) == before


def test_a_stale_version_is_refused(db: Database, world, member: User, now) -> None:
    look = dictionaries.lookups(db)
    seen = card(db, world, "qual-old", now)
    board.move(db, member, board.MoveCard(seen.id, stage(look, "Proposal").id, seen.version))  # someone else, meanwhile
    before = snapshot(db)
    with pytest.raises(StaleRecord):
        board.move(db, member, board.MoveCard(seen.id, stage(look, "Negotiation").id, seen.version))
    # the same move as the one made meanwhile is refused too, not logged as an event without a change
    with pytest.raises(StaleRecord):
        board.move(db, member, board.MoveCard(seen.id, stage(look, "Proposal").id, seen.version))
    assert snapshot(db) == before


def test_a_move_to_the_stage_it_is_at_or_of_another_pipeline_is_refused(
    db: Database, world, member: User, admin, now
) -> None:
    here = card(db, world, "qual-old", now)
    other = admin_service.save(db, admin, "pipelines", {"name": "Orders"})
    other_stage = admin_service.save(db, admin, "stages", {"name": "Packing", "percent": 10}, parent_id=other)
    before = snapshot(db)
    with pytest.raises(ValidationError) as same:
        board.move(db, member, board.MoveCard(here.id, here.stage_id, here.version))
    assert [e.key for e in same.value.errors] == ["stage.unchanged"]
    with pytest.raises(ValidationError) as foreign:
        board.move(db, member, board.MoveCard(here.id, other_stage, here.version))
    assert [e.key for e in foreign.value.errors] == ["stage.not_in_pipeline"]
    assert snapshot(db) == before


def test_the_admin_chooses_the_event_type_a_move_logs(db: Database, world, admin: User, member: User, now) -> None:
    look = dictionaries.lookups(db)
    call_type = next(t for t in look.event_types.values() if t.name == "Call")
    admin_service.save_settings(db, admin, {"stage_change_type_id": call_type.id})
    moved = card(db, world, "qual-old", now)
    board.move(db, member, board.MoveCard(moved.id, stage(look, "Proposal").id, moved.version))
    assert threads.thread_events(db, moved.id)[0].type == "Call"
    with pytest.raises(ValidationError):
        admin_service.save_settings(db, admin, {"stage_change_type_id": 999_999})


@pytest.mark.parametrize("bad", [0, -3, 3651, "soon", 2.5])
def test_a_stage_rotting_limit_is_between_one_day_and_ten_years_or_off(db: Database, admin: User, bad) -> None:
    look = dictionaries.lookups(db)
    lead = stage(look, "Lead")
    values = {"name": "Lead", "percent": 10, "is_won": False, "is_lost": False}
    with pytest.raises(ValidationError) as refused:
        admin_service.save(db, admin, "stages", {**values, "rot_days": bad}, lead.id)
    assert [e.field for e in refused.value.errors] == ["rot_days"]
    admin_service.save(db, admin, "stages", {**values, "rot_days": 14}, lead.id)
    assert dictionaries.lookups(db).stages[lead.id].rot_days == 14
    admin_service.save(db, admin, "stages", {**values, "rot_days": None}, lead.id)
    assert dictionaries.lookups(db).stages[lead.id].rot_days is None


# -- what the component sends back (issue #21, item 1) ------------------------------------------------
def shown_board(db: Database, world: dict[str, Any]) -> board.Board:
    return board.board(db, board.BoardFilter(world["pipeline"]))


FORGED = {
    "a string id": ("move", {"thread_id": "abc", "stage_id": 0, "version": 1}, "board.card_gone"),
    "a null id": ("move", {"thread_id": None, "stage_id": 0, "version": 1}, "board.card_gone"),
    "a float id (4.5 moved thread 4)": ("move", {"thread_id": 4.5, "stage_id": 0, "version": 1}, "board.card_gone"),
    "a bool id": ("open", {"thread_id": True}, "board.card_gone"),
    "a string version": ("move", {"thread_id": "CARD", "stage_id": "STAGE", "version": "x"}, "board.card_gone"),
    "a bare string": ("move", "DROP TABLE threads", "board.bad_action"),
    "an empty object": ("move", {}, "board.card_gone"),
    "a list": ("open", [1, 2], "board.bad_action"),
    "an unknown thread": ("move", {"thread_id": 999999, "stage_id": "STAGE", "version": 1}, "board.card_gone"),
    "a negative thread": ("open", {"thread_id": -5}, "board.card_gone"),
    "thread 0": ("open", {"thread_id": 0}, "board.card_gone"),
    "a thread past BIGINT": ("open", {"thread_id": 2**70}, "board.card_gone"),
    "an unknown stage": ("move", {"thread_id": "CARD", "stage_id": 999999, "version": 1}, "board.unknown_stage"),
    "a negative stage": ("move", {"thread_id": "CARD", "stage_id": -1, "version": 1}, "board.unknown_stage"),
    "a string stage to toggle": ("toggle", {"stage_id": "abc"}, "board.unknown_stage"),
    "a float stage for more": ("more", {"stage_id": 1.0}, "board.unknown_stage"),
    "a version past BIGINT": ("move", {"thread_id": "CARD", "stage_id": "STAGE", "version": 2**70}, "board.card_gone"),
    "an action the board has not": ("delete", {"thread_id": "CARD"}, "board.bad_action"),
    "a close date that is no date": (
        "close",
        {"thread_id": "CARD", "date": "2026-13-01", "version": 1},
        "validation.time_out_of_range",
    ),
    "a close date as a number": (
        "close",
        {"thread_id": "CARD", "date": 20261201, "version": 1},
        "validation.time_out_of_range",
    ),
    "a close date in 1999": (
        "close",
        {"thread_id": "CARD", "date": "1999-12-31", "version": 1},
        "validation.time_out_of_range",
    ),
    "a close date with a time": (
        "close",
        {"thread_id": "CARD", "date": "2026-12-01T10:00", "version": 1},
        "validation.time_out_of_range",
    ),
    "a close date of an unknown card": (
        "close",
        {"thread_id": 999999, "date": "2026-12-01", "version": 1},
        "board.card_gone",
    ),
    "a close date with a float version": (
        "close",
        {"thread_id": "CARD", "date": "2026-12-01", "version": 1.0},
        "board.card_gone",
    ),
}


@pytest.mark.parametrize(("kind", "payload", "key"), list(FORGED.values()), ids=list(FORGED))
def test_a_forged_board_payload_is_refused_with_a_message_and_changes_nothing(
    db: Database, world: dict[str, Any], kind: str, payload: Any, key: str
) -> None:
    shown = shown_board(db, world)
    card = shown.columns[0].cards[0]
    other_stage = shown.columns[1].stage_id

    def fill(value: Any) -> Any:
        return {"CARD": card.id, "STAGE": other_stage}.get(value, value) if isinstance(value, str) else value

    if isinstance(payload, dict):
        payload = {k: fill(v) for k, v in payload.items()}
    before = snapshot(db)
    with pytest.raises(ValidationError) as refused:
        board.read_action(kind, payload, shown)
    assert [e.key for e in refused.value.errors] == [key]
    assert snapshot(db) == before


def test_a_well_formed_payload_names_a_shown_card_and_column(db: Database, world: dict[str, Any]) -> None:
    shown = shown_board(db, world)
    card = shown.columns[0].cards[0]
    target = shown.columns[1].stage_id
    move = board.read_action("move", {"thread_id": card.id, "stage_id": target, "version": card.version}, shown)
    assert move == board.BoardAction("move", card.id, target, card.version)
    assert board.read_action("open", {"thread_id": card.id}, shown) == board.BoardAction("open", thread_id=card.id)
    assert board.read_action("toggle", {"stage_id": target}, shown).stage_id == target
    close = board.read_action("close", {"thread_id": card.id, "date": "2027-01-31", "version": card.version}, shown)
    assert close == board.BoardAction("close", thread_id=card.id, version=card.version, day=dt.date(2027, 1, 31))
