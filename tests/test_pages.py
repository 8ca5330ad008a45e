"""Pages through Streamlit's AppTest, against real database files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from crm_data import sessions, setup, startup, threads, users
from crm_data.config import config_from_env
from pages._ui.core import md_escape
from tests.helpers import PASSWORD, REPO, app_database, as_user, open_more_details, open_page

APP = str(REPO / "app.py")
PAGES = [
    "pages/today.py",
    "pages/log_event.py",
    "pages/threads.py",
    "pages/clients.py",
    "pages/client.py",
    "pages/thread.py",
    "pages/calendar.py",
    "pages/resources.py",
    "pages/account.py",
    "pages/admin.py",
    "pages/board.py",
    "pages/moving_in.py",
]


def new_app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=60)


def signed_in(user: users.User) -> AppTest:
    at = new_app()
    as_user(at, user)
    return at


def no_exceptions(at: AppTest) -> None:
    assert [e.value for e in at.exception] == []


def test_first_start_shows_the_set_up_screen_and_creates_the_admin(app_env: Path) -> None:
    at = new_app()
    at.run()
    no_exceptions(at)
    assert at.title[0].value == "Set up your CRM"
    at.text_input(key="setup_name").input("Ada Admin")
    at.text_input(key="setup_login").input("ada")
    at.text_input(key="setup_password").input(PASSWORD)
    at.text_input(key="setup_repeat").input(PASSWORD)
    at.selectbox(key="setup_sample").set_value(2000)
    at.button[0].click().run()
    no_exceptions(at)
    assert at.title[0].value == "Today"
    assert at.success[0].value.startswith("Sample data loaded")
    db = app_database()
    assert [u.login for u in users.list_users(db) if u.role == "admin"] == ["ada"]


def test_the_set_up_screen_refuses_mismatched_passwords_and_keeps_the_input(app_env: Path) -> None:
    at = new_app()
    at.run()
    at.text_input(key="setup_name").input("Ada Admin")
    at.text_input(key="setup_login").input("ada")
    at.text_input(key="setup_password").input(PASSWORD)
    at.text_input(key="setup_repeat").input(PASSWORD + "x")
    at.button[0].click().run()
    no_exceptions(at)
    assert "The passwords differ." in at.error[0].value
    assert at.text_input(key="setup_login").value == "ada"
    assert at.title[0].value == "Set up your CRM"


def test_without_a_session_a_page_shows_the_way_to_the_sign_in_form_and_comes_back_to_it(sample_env) -> None:
    at = new_app()
    at.query_params["money_grain"] = "year"
    at.switch_page("pages/money.py").run()
    no_exceptions(at)
    assert at.title[0].value == "Sign in"
    link = at.markdown[0].value
    assert "/auth/signin?next=%2Fmoney%3Fmoney_grain%3Dyear" in link


def test_a_session_revoked_elsewhere_signs_the_open_tab_out_on_its_next_rerun(sample_env) -> None:
    at = signed_in(sample_env["member"])
    at.run()
    assert at.title[0].value == "Today"
    sessions.revoke(startup.database(config_from_env()), at.session_state["auth_token"])
    at.run()
    no_exceptions(at)
    assert at.title[0].value == "Sign in"
    assert not at.sidebar.button


@pytest.mark.parametrize("role", ["member", "admin"])
@pytest.mark.parametrize("page", PAGES)
def test_each_page_renders_with_sample_data(sample_env, role: str, page: str) -> None:
    at = signed_in(sample_env[role])
    at.run()
    open_page(at, page)
    no_exceptions(at)
    assert at.title, "every page has a title"


def test_the_thread_page_shows_stage_percent_and_events(sample_env) -> None:
    db = app_database()
    frame, _ = threads.list_threads(db, threads.ThreadFilter(status="open"), limit=1)
    thread_id = int(frame["id"][0])
    detail = threads.get_thread(db, thread_id)
    at = signed_in(sample_env["member"])
    at.run()
    at.query_params["id"] = str(thread_id)
    at.switch_page("pages/thread.py").run()
    no_exceptions(at)
    assert at.title[0].value == md_escape(detail.title)
    assert detail.stage in at.get("progress")[0].proto.text
    assert any(b.label.startswith("Log the next event") for b in at.button)


def test_the_quick_form_saves_a_call_that_then_appears_in_its_thread(app_env: Path) -> None:
    db = app_database()
    admin = setup.create_first_admin(db, login="admin", display_name="Ada Admin", password=PASSWORD)
    from tests.helpers import new_client

    client_id = new_client(db, admin, name="Okna Łódź Sp. z o.o.")
    at = signed_in(admin)
    at.switch_page("pages/log_event.py").run()
    no_exceptions(at)
    at.selectbox(key="log_client_0").set_value(client_id).run()
    thread_box = at.selectbox(key=f"log_thread_0_{client_id}")
    assert thread_box.value == -1  # no open threads yet: a new thread is the default
    at.text_area(key="log_note_0").input("Asked for 20 windows")
    at.button(key="log_save_0").click().run()
    no_exceptions(at)
    assert at.success[0].value.startswith("Saved. The thread is now at Lead")
    frame, total = threads.list_threads(db, threads.ThreadFilter(client_id=client_id))
    assert total == 1
    assert frame["title"][0] == "Asked for 20 windows"
    history = threads.thread_events(db, int(frame["id"][0]))
    assert [e.note for e in history] == ["Asked for 20 windows"]
    # the form is empty again, ready for the next call
    assert at.text_area(key="log_note_1").value == ""


def test_the_log_form_opened_for_another_thread_does_not_show_an_earlier_save(app_env: Path) -> None:
    """The confirmation of a save belongs to the form it was saved from. Opened again from the
    thread page, the form showed the earlier save's "Saved ..." and its "Open the thread" link
    above the new event: a user (and a browser test on a busy machine) who followed it before
    the new save had come back saw the thread without the event just logged."""
    db = app_database()
    admin = setup.create_first_admin(db, login="admin", display_name="Ada Admin", password=PASSWORD)
    from tests.helpers import new_client

    client_id = new_client(db, admin, name="Okna Łódź Sp. z o.o.")
    at = signed_in(admin)
    at.query_params["client"] = str(client_id)
    at.switch_page("pages/log_event.py").run()
    at.text_area(key="log_note_0").input("Asked for 20 windows")
    at.button(key="log_save_0").click().run()
    no_exceptions(at)
    assert at.success[0].value.startswith("Saved.")
    at.run()  # the same form, rerun: the confirmation stays
    assert at.success[0].value.startswith("Saved.")
    thread_id = int(threads.list_threads(db, threads.ThreadFilter(client_id=client_id))[0]["id"][0])

    at.query_params["thread"] = str(thread_id)  # "Log the next event in this thread"
    at.switch_page("pages/log_event.py").run()
    no_exceptions(at)
    assert [s.value for s in at.success] == []
    assert at.text_area(key="log_note_1").value == ""
    at.text_area(key="log_note_1").input("Sent the offer")
    at.button(key="log_save_1").click().run()
    no_exceptions(at)
    assert at.success[0].value.startswith("Saved.")
    assert [e.note for e in threads.thread_events(db, thread_id)] == ["Sent the offer", "Asked for 20 windows"]


def test_a_failed_save_shows_the_error_by_the_field_and_keeps_what_was_typed(app_env: Path) -> None:
    db = app_database()
    admin = setup.create_first_admin(db, login="admin", display_name="Ada Admin", password=PASSWORD)
    from tests.helpers import new_client, snapshot

    client_id = new_client(db, admin)
    at = signed_in(admin)
    before = snapshot(db)
    at.switch_page("pages/log_event.py").run()
    at.selectbox(key="log_client_0").set_value(client_id).run()
    at.text_area(key="log_note_0").input("bad \u202e note")
    at.button(key="log_save_0").click().run()
    no_exceptions(at)
    assert any("invisible" in c.value for c in at.caption)
    assert at.text_area(key="log_note_0").value == "bad \u202e note"
    assert snapshot(db) == before


KEY_LIKE = re.compile(r"\b[a-z_]+\.[a-z_]+(\.[a-z_]+)?\b")


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_in_polish_without_untranslated_keys(sample_env, page: str) -> None:
    path_user = sample_env["admin"] if page in ("pages/admin.py", "pages/moving_in.py") else sample_env["manager"]
    at = signed_in(path_user)
    at.run()
    at.selectbox(key="sidebar_language").set_value("pl").run()
    open_page(at, page)
    no_exceptions(at)
    texts = [e.value for e in (*at.title, *at.caption, *at.markdown, *at.info, *at.warning) if isinstance(e.value, str)]
    texts += [w.label for w in (*at.selectbox, *at.text_input, *at.text_area, *at.button, *at.toggle)]
    leaked = [t for t in texts if KEY_LIKE.fullmatch(t.strip())]
    assert leaked == []
    assert at.sidebar.selectbox(key="sidebar_language").value == "pl"
    # switch back so the shared sample user stays English for the other tests
    at.selectbox(key="sidebar_language").set_value("en").run()


def test_the_log_form_closing_a_thread_offers_to_cancel_its_planned_work(app_env: Path) -> None:
    """Issue #21, item 4: choosing Won or Lost in the log form for a thread with planned work
    shows the choice with its counts, ticked; the save cancels it and says so."""
    import datetime as dt

    from crm_data import clock, dictionaries, planning
    from tests.helpers import call, new_client

    db = app_database()
    admin = setup.create_first_admin(db, login="admin", display_name="Ada Admin", password=PASSWORD)
    client_id = new_client(db, admin, name="Okna Łódź Sp. z o.o.")
    thread_id = call(db, admin, client_id, note="First call").thread_id
    look = dictionaries.lookups(db)
    planned = planning.plan_event(
        db,
        admin,
        planning.PlanEvent(
            type_id=look.active(look.event_types)[0].id,
            starts_at=clock.now() + dt.timedelta(days=2),
            duration_min=30,
            thread_id=thread_id,
        ),
    ).event_ids[0]
    won = next(s for s in look.stages.values() if s.name == "Won")
    at = signed_in(admin)
    at.switch_page("pages/log_event.py").run()
    at.selectbox(key="log_client_0").set_value(client_id).run()
    at.selectbox(key=f"log_thread_0_{client_id}").set_value(thread_id).run()
    open_more_details(at)
    at.selectbox(key=f"log_stage_{won.pipeline_id}_0").set_value(won.id).run()
    no_exceptions(at)
    choice = at.checkbox(key="log_cancel_planned_0")
    assert choice.label == "Cancel its planned work: 1 planned event, 0 bookings"
    assert choice.value is True
    at.text_area(key="log_note_0").input("Signed")
    at.button(key="log_save_0").click().run()
    no_exceptions(at)
    assert "Cancelled with it: 1 planned event, 0 bookings." in at.success[0].value
    assert threads.thread_events(db, thread_id)[0].status in ("done", "cancelled")
    with db.read() as tx:
        assert tx.scalar("SELECT status FROM events WHERE id = ?", [planned]) == "cancelled"


@pytest.mark.parametrize("lang", ["en", "pl"])
def test_a_client_box_that_cannot_list_every_client_says_so_where_it_is_shown(
    app_env: Path, monkeypatch: pytest.MonkeyPatch, lang: str
) -> None:
    """A team with more clients than a box lists (5,000) could not pick the rest from it and
    was not told: the sidebar's box, the log form's and the reports' filter now say how many
    they list and where the others are; with every client listed they say nothing."""
    from crm_data import cache, clients
    from tests.helpers import new_client

    db = app_database()
    admin = setup.create_first_admin(db, login="admin", display_name="Ada Admin", password=PASSWORD)
    for name in ("Alfa", "Beta", "Gamma"):
        new_client(db, admin, name=name)
    admin = users.set_locale(db, admin, lang)
    expected = {
        "en": "The box lists the 2 most recently active of 3 clients; find the others on the Clients page.",
        "pl": "Lista pokazuje 2 ostatnio aktywnych z 3 klientów; pozostałych znajdziesz na stronie Klienci.",
    }[lang]

    def notes(page: str) -> list[str]:
        at = signed_in(admin)
        at.switch_page(page).run()
        assert not at.exception
        return [c.value for c in at.caption if c.value == expected]

    assert notes("pages/log_event.py") == []  # every client listed
    monkeypatch.setattr(clients, "CLIENT_BOX_LIMIT", 2)
    cache.CACHE.clear()  # the boxes' options were shared with every client listed
    assert len(notes("pages/log_event.py")) == 3  # the sidebar's box, the form's and the e-mail drop's
    assert len(notes("pages/money.py")) == 2  # the sidebar's box and the filter's
