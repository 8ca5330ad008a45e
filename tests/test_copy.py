"""Copy that told users something untrue or hid the obvious choice."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import call
from tests.test_thread_choice import Team


def test_the_note_placeholder_mentions_naming_a_thread_only_for_a_new_thread(app_env: Path) -> None:
    team = Team(app_env)
    at = team.app(team.olga)  # Olga owns the client's one thread: it is chosen
    at.switch_page("pages/log_event.py").run()
    at.selectbox(key="log_client_0").set_value(team.client).run()
    assert at.text_area(key="log_note_0").placeholder == "What happened?"
    at.selectbox(key=f"log_thread_0_{team.client}").set_value(-1).run()
    assert "names the new thread" in at.text_area(key="log_note_0").placeholder


def test_someone_who_owns_no_open_threads_is_not_told_they_all_have_a_next_step(app_env: Path) -> None:
    team = Team(app_env)
    at = team.app(team.admin)
    at.run()
    captions = [c.value for c in at.caption]
    assert "You own no open threads." in captions
    assert "Every open thread of yours has a next step planned." not in captions


def test_me_comes_first_in_who_does_it(app_env: Path) -> None:
    team = Team(app_env)
    call(team.db, team.sam, team.client)
    at = team.app(team.sam)  # Ada Admin and Olga Other sort before Sam Seller by name
    at.session_state["today_plan_open"] = True  # the planner is built when its expander is open
    at.run()
    box = at.selectbox(key="today_plan_assignee_0")
    assert box.options[0] == "Me"
    assert box.value == team.sam.id


def test_the_threads_status_filter_says_all_in_english_too(app_env: Path) -> None:
    team = Team(app_env)
    at = team.app(team.sam)
    at.switch_page("pages/threads.py").run()
    box = at.selectbox(key="threads_status")
    assert box.value is None
    assert box.placeholder == "All"
