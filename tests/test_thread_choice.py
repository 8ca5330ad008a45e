"""Which thread an event lands in: the user's own thread is pre-selected, a coworker's never;
"not chosen" and "new thread" are two states of the command, each with its own message."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from crm_data import agenda, clock, events, planning, setup, threads, users
from crm_data.db import Database
from crm_data.errors import ValidationError
from crm_data.identity import User
from crm_data.threads import ThreadChoice
from tests.helpers import PASSWORD, REPO, app_database, as_user, call, first_type, new_client, snapshot

APP = str(REPO / "app.py")
SOON = clock.now().replace(microsecond=0) + dt.timedelta(days=2)


def errors_of(exc: pytest.ExceptionInfo[ValidationError]) -> dict[str, str]:
    return {e.field: e.key for e in exc.value.errors}


# -- the rule ------------------------------------------------------------------------------------
def test_the_suggested_thread_is_my_own_most_recent_open_thread(db: Database, member: User, other_member: User) -> None:
    client_id = new_client(db, member)
    old = call(db, member, client_id, note="Old deal", at=clock.now() - dt.timedelta(days=3)).thread_id
    recent = call(db, member, client_id, note="Recent deal").thread_id
    call(db, other_member, client_id, note="Olga's even more recent deal")
    assert old != recent
    assert threads.suggested_thread(threads.open_threads_of(db, client_id), member.id) == recent


def test_a_coworkers_only_open_thread_is_never_suggested_a_new_thread_is(
    db: Database, member: User, other_member: User
) -> None:
    client_id = new_client(db, member)
    call(db, other_member, client_id, note="Olga's deal")
    assert threads.suggested_thread(threads.open_threads_of(db, client_id), member.id) is ThreadChoice.NEW


# -- the command -------------------------------------------------------------------------------------
def test_logging_with_the_thread_not_chosen_asks_to_choose_it_and_writes_nothing(
    db: Database, member: User, other_member: User
) -> None:
    client_id = new_client(db, member)
    call(db, other_member, client_id, note="Olga's deal")
    before = snapshot(db)
    cmd = events.LogEvent(first_type(db), clock.now(), client_id, ThreadChoice.NOT_CHOSEN, note="Hi")
    with pytest.raises(ValidationError) as exc:
        events.log_event(db, member, cmd)
    assert errors_of(exc) == {"thread_id": "thread.not_chosen"}
    assert snapshot(db) == before


def test_logging_into_a_new_thread_is_its_own_state_of_the_command(db: Database, member: User) -> None:
    client_id = new_client(db, member)
    existing = call(db, member, client_id, note="First deal").thread_id
    cmd = events.LogEvent(first_type(db), clock.now(), client_id, ThreadChoice.NEW, note="Second deal")
    result = events.log_event(db, member, cmd)
    assert result.new_thread
    assert result.thread_id != existing


def test_planning_with_the_thread_not_chosen_says_choose_the_thread_not_that_a_title_is_required(
    db: Database, member: User, other_member: User
) -> None:
    client_id = new_client(db, member)
    for i in range(4):
        call(db, other_member, client_id, note=f"Deal {i}", new_thread_title=f"Deal {i}")
    before = snapshot(db)
    cmd = planning.PlanEvent(first_type(db), SOON, 60, thread_id=ThreadChoice.NOT_CHOSEN, client_id=client_id)
    with pytest.raises(ValidationError) as exc:
        planning.plan_event(db, member, cmd)
    assert errors_of(exc) == {"thread_id": "thread.not_chosen"}
    assert snapshot(db) == before


def test_planning_into_a_new_thread_still_needs_its_title(db: Database, member: User) -> None:
    client_id = new_client(db, member)
    cmd = planning.PlanEvent(first_type(db), SOON, 60, thread_id=ThreadChoice.NEW, client_id=client_id)
    with pytest.raises(ValidationError) as exc:
        planning.plan_event(db, member, cmd)
    assert errors_of(exc) == {"new_thread_title": "validation.required"}


# -- the pages -------------------------------------------------------------------------------------------
class Team:
    def __init__(self, path: Path) -> None:
        self.db = app_database()  # the app's database at `path` (app_env)
        self.admin = setup.create_first_admin(self.db, login="admin", display_name="Ada Admin", password=PASSWORD)
        self.sam = users.create_user(self.db, self.admin, login="sam", display_name="Sam Seller", password=PASSWORD)
        self.olga = users.create_user(self.db, self.admin, login="olga", display_name="Olga Other", password=PASSWORD)
        self.client = new_client(self.db, self.sam, name="Okna Łódź Sp. z o.o.")
        self.olgas = call(self.db, self.olga, self.client, note="Olga's window deal").thread_id

    def app(self, user: User) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=60)
        as_user(at, user)
        return at


@pytest.fixture
def team(app_env: Path) -> Team:
    return Team(app_env)


def test_log_event_never_pre_selects_a_coworkers_only_thread_and_says_a_new_one_of_mine_starts(team: Team) -> None:
    at = team.app(team.sam)
    at.switch_page("pages/log_event.py").run()
    at.selectbox(key="log_client_0").set_value(team.client).run()
    assert at.selectbox(key=f"log_thread_0_{team.client}").value == -1
    assert any("A new thread of yours" in c.value for c in at.caption)
    at.text_area(key="log_note_0").input("Sam's own deal").run()
    at.button(key="log_save_0").click().run()
    assert [e.value for e in at.exception] == []
    frame, total = threads.list_threads(team.db, threads.ThreadFilter(client_id=team.client))
    assert total == 2
    assert dict(zip(frame["title"], frame["owner"], strict=True))["Sam's own deal"] == "Sam Seller"
    assert [e.note for e in threads.thread_events(team.db, team.olgas)] == ["Olga's window deal"]


def test_log_event_says_whose_thread_is_chosen(team: Team) -> None:
    mine = call(team.db, team.sam, team.client, note="Sam's deal").thread_id
    at = team.app(team.sam)
    at.switch_page("pages/log_event.py").run()
    at.selectbox(key="log_client_0").set_value(team.client).run()
    box = at.selectbox(key=f"log_thread_0_{team.client}")
    assert box.value == mine
    assert any("Your thread" in c.value for c in at.caption)
    box.set_value(team.olgas).run()
    assert any("Olga Other" in c.value and "not yours" in c.value for c in at.caption)


def test_log_event_names_the_preselected_thread_and_one_click_starts_a_new_one_instead(team: Team) -> None:
    """A newcomer's first call must not land in an existing thread unnoticed: the chosen thread
    is a sentence (title, stage, percent, whose), and "New thread instead" is one click."""
    mine = call(team.db, team.sam, team.client, note="Offer for 40 laptops").thread_id
    detail = threads.get_thread(team.db, mine)
    at = team.app(team.sam)
    at.switch_page("pages/log_event.py").run()
    at.selectbox(key="log_client_0").set_value(team.client).run()
    assert at.selectbox(key=f"log_thread_0_{team.client}").value == mine
    sentence = [c.value for c in at.caption if "Into:" in c.value]
    assert len(sentence) == 1
    assert "**Offer for 40 laptops**" in sentence[0]
    assert f"{detail.stage} {detail.percent} %" in sentence[0] or f"{detail.stage} {detail.percent}%" in sentence[0]
    assert "Your thread." in sentence[0]
    at.button(key=f"log_thread_0_{team.client}_new").click().run()
    assert at.selectbox(key=f"log_thread_0_{team.client}").value == -1
    assert not any("Into:" in c.value for c in at.caption)
    assert any("A new thread of yours" in c.value for c in at.caption)
    at.text_area(key="log_note_0").input("A second deal").run()
    at.button(key="log_save_0").click().run()
    assert [e.value for e in at.exception] == []
    assert [e.note for e in threads.thread_events(team.db, mine)] == ["Offer for 40 laptops"]
    frame, total = threads.list_threads(team.db, threads.ThreadFilter(client_id=team.client))
    assert total == 3  # Olga's thread, mine, and the new one
    assert "A second deal" in set(frame["title"])


def test_the_thread_sentence_speaks_polish_and_escapes_the_title(team: Team) -> None:
    mine = call(team.db, team.sam, team.client, note="Oferta *40* laptopów").thread_id
    at = team.app(users.set_locale(team.db, team.sam, "pl"))
    at.switch_page("pages/log_event.py").run()
    at.selectbox(key="log_client_0").set_value(team.client).run()
    assert at.selectbox(key=f"log_thread_0_{team.client}").value == mine
    sentence = [c.value for c in at.caption if "Do wątku:" in c.value]
    assert len(sentence) == 1
    assert "Twój wątek." in sentence[0]
    assert "Oferta \\*40\\* laptopów" in sentence[0]
    assert at.button(key=f"log_thread_0_{team.client}_new").label == "Zamiast tego nowy wątek"


def test_booking_for_a_client_with_four_coworkers_threads_starts_a_new_thread_with_its_title_field(team: Team) -> None:
    """The box is never left at an unchosen state that then complains about a field nobody saw."""
    for i in range(3):
        call(team.db, team.olga, team.client, note=f"Deal {i}", new_thread_title=f"Deal {i}")
    at = team.app(team.sam)
    at.switch_page("pages/resources.py").run()
    at.selectbox(key="resources_plan_client_0").set_value(team.client).run()
    assert at.selectbox(key=f"resources_plan_thread_0_{team.client}").value == -1
    assert any("A new thread of yours" in c.value for c in at.caption)
    assert at.text_input(key="resources_plan_title_0").label == "Thread title"
    before = snapshot(team.db)
    at.button(key="resources_plan_save_0").click().run()
    assert [e.value for e in at.exception] == []
    assert snapshot(team.db) == before
    # a coworker's thread chosen by hand: the booking goes there, and the page said whose it is
    at.selectbox(key=f"resources_plan_thread_0_{team.client}").set_value(team.olgas).run()
    assert any("Olga Other" in c.value for c in at.caption)
    at.button(key="resources_plan_save_0").click().run()
    assert [e.value for e in at.exception] == []
    assert len(agenda.inbox(team.db, team.sam, "mine")) == 1
    assert [e.status for e in threads.thread_events(team.db, team.olgas)] == ["planned", "done"]


def test_a_save_on_log_event_is_one_run_of_the_page_and_leaves_the_form_empty(
    team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Logging is the day's most frequent action: the save used to end with st.rerun(), so the
    whole page ran twice. The confirmation and the empty form now come from the save's own run."""
    import streamlit as st

    reruns: list[object] = []
    original = st.rerun
    monkeypatch.setattr(st, "rerun", lambda *a, **kw: reruns.append(kw) or original(*a, **kw))
    at = team.app(team.sam)
    at.switch_page("pages/log_event.py").run()
    at.selectbox(key="log_client_0").set_value(team.client).run()
    at.text_area(key="log_note_0").input("Asked for a quote").run()
    at.button(key="log_save_0").click().run()
    assert [e.value for e in at.exception] == []
    assert reruns == []
    assert any("Saved." in s.value for s in at.success)
    assert at.text_area(key="log_note_1").value == ""  # the next event starts empty
    assert at.selectbox(key="log_client_1").value is None
    frame, _ = threads.list_threads(team.db, threads.ThreadFilter(client_id=team.client))
    assert "Asked for a quote" in set(frame["title"])
