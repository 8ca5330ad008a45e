"""The pipeline board page through AppTest (the drag itself is in test_browser_board.py): what
the page gives its component, the owner default per role, filters from the URL, Polish, and the
board's settings in the admin panel."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from crm_data import agenda, board, clock, dictionaries, events, users
from crm_data import settings as org_settings
from crm_data.db import Database
from tests.helpers import REPO, app_database, as_user, call, new_client, restore

APP = str(REPO / "app.py")
KEY_LIKE = re.compile(r"\b[a-z_]+\.[a-z_0-9]+(\.[a-z_]+)?\b")


def build_site(db: Database, people: dict[str, users.User], now: dt.datetime) -> dict[str, Any]:
    admin, member, other = people["admin"], people["member"], people["other_member"]
    look = dictionaries.lookups(db)
    offer = next(a.id for a in look.amount_types.values() if a.name == "Offer value")
    acme = new_client(db, admin, "Acme")
    at = clock.now() - dt.timedelta(hours=2)
    mine = call(db, member, acme, note="Sam's windows", at=at, amounts=(events.AmountInput(offer, "1000"),))
    call(db, other, acme, note="Olga's doors", at=at, amounts=(events.AmountInput(offer, "300"),))
    call(db, member, acme, note="Sam's roof **bold**", at=at - dt.timedelta(days=1))
    return {"admin": admin, "member": member, "other": other, "mine": mine.thread_id}


# made once per module and copied for each test (tests/conftest.py)
DB_TEMPLATES = {"site": (("member", "other_member"), build_site)}


@pytest.fixture
def site(app_env: Path, templates) -> Iterator[dict[str, Any]]:
    template = templates("site")
    restore(template, app_env)
    db = app_database()
    yield {"db": db, **template.value}
    db.close()


def open_board(user: users.User, **query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    as_user(at, user)
    for key, value in query.items():
        at.query_params[key] = value
    at.switch_page("pages/board.py").run()
    assert [e.value for e in at.exception] == []
    return at


def component(at: AppTest) -> dict[str, Any]:
    """The data the page gave the board component (what the browser draws); the app's chrome
    component (pages/_ui/chrome.py, no data) is in the sidebar of every page beside it."""
    found = [c for c in at.get("bidi_component") if str(c.key).startswith("board_")]
    assert len(found) == 1
    return json.loads(found[0].proto.json)


def titles(data: dict[str, Any]) -> dict[str, list[str]]:
    return {c["name"]: [k["title"] for k in c["cards"]] for c in data["columns"] if c["cards"]}


def test_a_member_sees_their_own_cards_by_default_and_a_manager_everyones(site) -> None:
    at = open_board(site["member"])
    assert at.title[0].value == "Pipeline board"
    data = component(at)
    assert titles(data) == {"Lead": ["Sam's windows", "Sam's roof **bold**"]}
    assert [m.value for m in at.metric] == ["2", "1,000.00\xa0PLN", "100.00\xa0PLN"]
    lead = data["columns"][0]
    assert (lead["count_text"], lead["value_text"], lead["weighted_text"]) == (
        "2 threads",
        "Value: 1,000.00\xa0PLN",
        "Weighted value: 100.00\xa0PLN",
    )
    assert lead["value_title"] == "1,000.00\xa0PLN"
    assert [c["name"] for c in data["columns"]] == ["Lead", "Qualified", "Proposal", "Negotiation", "Won", "Lost"]
    assert [c["closes"] for c in data["columns"]] == [False] * 4 + [True] * 2
    assert not any(c["expanded"] for c in data["columns"])  # won and lost start collapsed
    assert all(k["movable"] for k in lead["cards"])
    assert "“Note” event" in at.caption[0].value

    assert at.toggle(key="board_mine").value is True
    everyone = component(open_board(site["member"], board_mine="false"))
    assert titles(everyone) == {"Lead": ["Sam's windows", "Olga's doors", "Sam's roof **bold**"]}
    manager_view = component(open_board(site["admin"]))
    assert titles(manager_view) == {"Lead": ["Sam's windows", "Olga's doors", "Sam's roof **bold**"]}


def test_a_member_looking_at_a_coworkers_cards_cannot_move_them(site) -> None:
    at = open_board(site["member"], board_owner="Olga Other", board_mine="false")
    lead = component(at)["columns"][0]
    assert [(k["title"], k["movable"]) for k in lead["cards"]] == [("Olga's doors", False)]


def test_filters_come_from_the_url(site) -> None:
    data = component(open_board(site["admin"], board_text="roof", board_sort="activity"))
    assert titles(data) == {"Lead": ["Sam's roof **bold**"]}
    at = open_board(site["admin"], board_mine="true")
    assert titles(component(at)) == {}
    assert at.toggle(key="board_mine").value is True
    data = component(open_board(site["admin"], board_no_next="true", board_owner="Sam Seller"))
    assert titles(data) == {"Lead": ["Sam's windows", "Sam's roof **bold**"]}
    assert data["columns"][0]["cards"][0]["no_next"] is True


def test_a_column_with_more_cards_than_shown_offers_more(site, monkeypatch) -> None:
    monkeypatch.setattr(board, "CARD_LIMIT", 1)
    at = open_board(site["admin"])
    lead = component(at)["columns"][0]
    assert (len(lead["cards"]), lead["has_more"], lead["shown_text"]) == (1, True, "1 of 3")


def test_a_lost_drop_waiting_for_its_reason_opens_the_dialog(site) -> None:
    at = AppTest.from_file(APP, default_timeout=60)
    as_user(at, site["member"])
    lost = next(s for s in dictionaries.lookups(site["db"]).stages.values() if s.name == "Lost")
    at.session_state["board_pending"] = {
        "thread_id": site["mine"],
        "stage_id": lost.id,
        "title": "Sam's windows",
        "version": 1,
    }
    at.switch_page("pages/board.py").run()
    assert [e.value for e in at.exception] == []
    assert at.selectbox(key="board_lost_reason").label == "Lost reason"
    assert any("Sam's windows" in m.value for m in at.markdown)


def test_the_board_in_polish_shows_no_untranslated_keys(site) -> None:
    polish = users.set_locale(site["db"], site["member"], "pl")
    at = open_board(polish)
    texts = [e.value for e in (*at.title, *at.caption, *at.markdown) if isinstance(e.value, str)]
    texts += [w.label for w in (*at.selectbox, *at.toggle, *at.text_input)] + [m.label for m in at.metric]
    data = component(at)
    texts += list(data["labels"].values())
    texts += [v for c in data["columns"] for k in c["cards"] for v in k.values() if isinstance(v, str)]
    texts += [c[k] for c in data["columns"] for k in ("count_text", "value_text", "weighted_text")]
    assert [t for t in texts if KEY_LIKE.fullmatch(t.strip())] == []
    assert at.title[0].value == "Tablica procesu"
    assert data["columns"][0]["count_text"] == "2 wątki"


# -- the admin panel ------------------------------------------------------------------------------------------
def admin_page(user: users.User) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    as_user(at, user)
    at.switch_page("pages/admin.py").run()
    assert [e.value for e in at.exception] == []
    return at


def test_an_admin_sets_a_stages_rotting_limit_in_the_stage_editor(site) -> None:
    db = site["db"]
    at = admin_page(site["admin"])
    at.selectbox(key="admin_kind").set_value("stages").run()
    lead = next(s for s in dictionaries.lookups(db).stages.values() if s.name == "Lead")
    at.selectbox(key=f"admin_row_stages_{lead.pipeline_id}").set_value(lead.id).run()
    prefix = f"admin_edit_stages_{lead.id}"
    at.number_input(key=f"{prefix}_rot_days").set_value(7)
    at.button(key=f"FormSubmitter:{prefix}-Save").click().run()
    assert [e.value for e in at.exception] == []
    assert dictionaries.lookups(db).stages[lead.id].rot_days == 7


def test_an_admin_chooses_the_event_type_a_board_move_logs(site) -> None:
    db = site["db"]
    at = admin_page(site["admin"])
    call_type = next(t for t in dictionaries.lookups(db).event_types.values() if t.name == "Call")
    assert at.selectbox(key="admin_set_stage_type").value is None
    at.selectbox(key="admin_set_stage_type").set_value(call_type.id)
    at.button(key="FormSubmitter:admin_settings-Save").click().run()
    assert [e.value for e in at.exception] == []
    assert org_settings.load(db).stage_change_type_id == call_type.id
    assert "“Call” event" in open_board(site["member"]).caption[0].value


def test_a_rotting_limit_is_offered_within_its_bounds_and_a_refused_save_is_named(site) -> None:
    """The field offers the days the save accepts (crm_data.admin describes it: 1 to 3650, empty
    for off), so 0 cannot be typed in; a save the domain still refuses (won and lost at once)
    shows the message under the field's own name and writes nothing. The refusal of a bad
    limit itself is crm_data's (tests/test_board.py)."""
    db = site["db"]
    at = admin_page(site["admin"])
    at.selectbox(key="admin_kind").set_value("stages").run()
    lead = next(s for s in dictionaries.lookups(db).stages.values() if s.name == "Lead")
    at.selectbox(key=f"admin_row_stages_{lead.pipeline_id}").set_value(lead.id).run()
    prefix = f"admin_edit_stages_{lead.id}"
    rot = at.number_input(key=f"{prefix}_rot_days")
    assert (rot.min, rot.max) == (1, 3650)
    rot.set_value(14)
    at.checkbox(key=f"{prefix}_is_won").check()
    at.checkbox(key=f"{prefix}_is_lost").check()
    at.button(key=f"FormSubmitter:{prefix}-Save").click().run()
    assert [e.value for e in at.exception] == []
    assert "Means lost: A stage cannot mean both won and lost." in at.error[0].value
    assert dictionaries.lookups(db).stages[lead.id].rot_days is None
    at.checkbox(key=f"{prefix}_is_won").uncheck()
    at.checkbox(key=f"{prefix}_is_lost").uncheck()
    at.button(key=f"FormSubmitter:{prefix}-Save").click().run()
    assert dictionaries.lookups(db).stages[lead.id].rot_days == 14


def test_a_lost_drop_of_a_card_that_changed_meanwhile_is_refused_with_the_reason(site) -> None:
    at = AppTest.from_file(APP, default_timeout=60)
    as_user(at, site["member"])
    look = dictionaries.lookups(site["db"])
    lost = next(s for s in look.stages.values() if s.name == "Lost")
    at.session_state["board_pending"] = {
        "thread_id": site["mine"],
        "stage_id": lost.id,
        "title": "Sam's windows",
        "version": 0,
    }
    at.switch_page("pages/board.py").run()
    at.selectbox(key="board_lost_reason").set_value(look.active(look.lost_reasons)[0].id)
    at.button(key="board_lost_confirm").click().run()
    assert [e.value for e in at.exception] == []
    assert "Sam's windows" in at.error[0].value
    assert "Someone else changed this record" in at.error[0].value
    assert "board_pending" not in at.session_state


def test_the_lost_dialog_needs_a_reason_then_closes_the_thread(site) -> None:
    from crm_data import threads

    at = AppTest.from_file(APP, default_timeout=60)
    as_user(at, site["member"])
    look = dictionaries.lookups(site["db"])
    lost = next(s for s in look.stages.values() if s.name == "Lost")
    version = threads.get_thread(site["db"], site["mine"]).version
    at.session_state["board_pending"] = {
        "thread_id": site["mine"],
        "stage_id": lost.id,
        "title": "Sam's windows",
        "version": version,
    }
    at.switch_page("pages/board.py").run()
    at.text_area(key="board_lost_note").input("Too expensive for them")
    at.button(key="board_lost_confirm").click().run()
    assert "A lost thread needs a lost reason." in at.error[0].value
    assert at.text_area(key="board_lost_note").value == "Too expensive for them"  # what was typed stays
    assert at.button(key="board_lost_cancel").label == "Keep where it was"  # the way out stays too
    assert threads.get_thread(site["db"], site["mine"]).status == "open"
    reason = look.active(look.lost_reasons)[0]
    at.selectbox(key="board_lost_reason").set_value(reason.id)
    at.button(key="board_lost_confirm").click().run()
    assert [e.value for e in at.exception] == []
    detail = threads.get_thread(site["db"], site["mine"])
    assert (detail.status, detail.lost_reason) == ("lost", reason.name)
    assert threads.thread_events(site["db"], site["mine"])[0].note == "Too expensive for them"
    assert at.success[0].value == "“Sam's windows” moved to Lost."


def test_the_lost_dialog_offers_to_cancel_the_threads_planned_work_and_says_what_it_cancelled(site) -> None:
    from crm_data import planning, threads

    db, member = site["db"], site["member"]
    look = dictionaries.lookups(db)
    planned = planning.plan_event(
        db,
        member,
        planning.PlanEvent(
            type_id=look.active(look.event_types)[0].id,
            starts_at=clock.now() + dt.timedelta(days=3),
            duration_min=30,
            thread_id=site["mine"],
        ),
    ).event_ids[0]
    at = AppTest.from_file(APP, default_timeout=60)
    as_user(at, member)
    lost = next(s for s in look.stages.values() if s.name == "Lost")
    at.session_state["board_pending"] = {
        "thread_id": site["mine"],
        "stage_id": lost.id,
        "title": "Sam's windows",
        "version": threads.get_thread(db, site["mine"]).version,
    }
    at.switch_page("pages/board.py").run()
    choice = at.checkbox(key="board_lost_cancel_planned")
    assert choice.label == "Cancel its planned work: 1 planned event, 0 bookings"
    assert choice.value is True
    at.selectbox(key="board_lost_reason").set_value(look.active(look.lost_reasons)[0].id)
    at.button(key="board_lost_confirm").click().run()
    assert [e.value for e in at.exception] == []
    assert at.success[0].value == "“Sam's windows” moved to Lost. Cancelled with it: 1 planned event, 0 bookings."
    assert agenda.agenda_event(db, planned).status == "cancelled"
