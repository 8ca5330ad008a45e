"""What the screenshots of every page (tests/screens.py) showed cut or hidden, through AppTest on
the sample data: the column a user reads first stays in sight."""

from __future__ import annotations

import json
import re

import pytest
from streamlit.testing.v1 import AppTest

from crm_data import threads
from pages._ui.core import NARROW_KEY
from tests.helpers import REPO, app_database, as_user


def open_page(user, page: str, **query: str) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    as_user(at, user)
    at.run()
    for name, value in query.items():
        at.query_params[name] = value
    at.switch_page(page).run()
    assert [e.value for e in at.exception] == []
    return at


def hidden_columns(frame) -> set[str]:
    return {name for name, config in json.loads(frame.proto.columns or "{}").items() if config.get("hidden")}


def a_client_with_an_open_thread() -> int:
    """On the database the app uses (`sample_env`: the file, or PostgreSQL)."""
    frame, _ = threads.list_threads(app_database(), threads.ThreadFilter(status="open"), limit=1)
    return int(frame["client_id"][0])


def test_the_client_card_lists_its_threads_without_the_client_column_every_row_repeats(sample_env) -> None:
    at = open_page(sample_env["member"], "pages/client.py", id=str(a_client_with_an_open_thread()))
    threads_table = at.dataframe[0]
    assert "title" in threads_table.value.columns
    assert "client" in hidden_columns(threads_table)  # Completion and Status are no longer pushed out of sight
    assert {"title", "stage", "percent", "status"}.isdisjoint(hidden_columns(threads_table))


def test_the_client_cards_recent_events_show_the_note_before_who_wrote_it(sample_env) -> None:
    at = open_page(sample_env["member"], "pages/client.py", id=str(a_client_with_an_open_thread()))
    recent = list(at.dataframe[1].value.columns)
    assert recent[:4] == ["when", "type", "status", "note"]  # the note was the last column, cut off at 1400 px


def test_money_per_period_shows_the_total_and_its_change_right_after_the_period(sample_env) -> None:
    at = open_page(sample_env["manager"], "pages/money.py")
    (pivot,) = [d for d in at.dataframe if "Total" in d.value.columns]
    columns = list(pivot.value.columns)
    assert len(columns) >= 5  # several owners after them
    # at the end, with six owners the total was cut off at 1400 px and the change was out of sight
    assert columns[:3] == ["Period", "Total", "Change"]


def test_the_funnels_numbers_are_written_inside_their_bars_where_nothing_cuts_them(sample_env) -> None:
    # beside a narrow bar plotly wrote "8 · 206,7 tys. PL", cut at the figure's edge (meeting mode, 1400 px)
    for page in ("pages/meeting.py", "pages/funnel.py"):
        at = open_page(sample_env["manager"], page)
        specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
        funnels = [t for spec in specs for t in spec["data"] if t.get("type") == "funnel"]
        assert funnels, page
        for t in funnels:
            # inside every bar that has a width; a stage nobody reached (the Won row, often) has
            # no bar to hold "0 · 0 PLN", so it is written beside it rather than not at all
            assert t["textposition"] == ["inside" if x else "outside" for x in t["x"]], page


def test_the_products_chart_writes_its_money_axis_through_the_formatter_in_polish(sample_env) -> None:
    user = sample_env["manager"]
    at = open_page(user, "pages/products.py")
    at.selectbox(key="sidebar_language").set_value("pl").run()
    try:
        at.switch_page("pages/products.py").run()
        assert [e.value for e in at.exception] == []
        (spec,) = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
        axis = spec["layout"]["yaxis"]
        assert "tickformat" not in axis  # plotly's own "~s" wrote "10M" in the Polish UI
        ticks = axis["ticktext"]
        assert any("mln" in t for t in ticks), ticks
        assert not any(t.endswith("M") for t in ticks), ticks
    finally:  # the shared sample user goes back to English for the other tests
        back = open_page(user, "pages/today.py")
        back.selectbox(key="sidebar_language").set_value("en").run()


@pytest.mark.parametrize("lang", ["en", "pl"])
def test_the_funnel_page_never_names_two_different_numbers_alike(sample_env, lang: str) -> None:
    # in Polish the threads opened in the period (431) and the threads open today (311) were both
    # "Otwarte wątki" on one page
    user = sample_env["manager"]
    at = open_page(user, "pages/funnel.py")
    try:
        if lang != "en":
            at.selectbox(key="sidebar_language").set_value(lang).run()
            at.switch_page("pages/funnel.py").run()
        assert [e.value for e in at.exception] == []
        shown = {(m.label, m.value) for m in at.metric}  # a number repeated under its own name is fine
        labels = [label for label, _ in shown]
        assert len(shown) >= 5
        assert sorted(labels) == sorted(set(labels)), labels
    finally:
        if lang != "en":
            back = open_page(user, "pages/today.py")
            back.selectbox(key="sidebar_language").set_value("en").run()


def test_a_planned_events_card_names_who_does_it_only_when_it_is_someone_else(app_env) -> None:
    from tests.test_pages_planning import World, local

    world = World(app_env)
    world.plan(world.sam, local(1, "09:00"))
    world.plan(world.sam, local(2, "10:00"), assignee_id=world.anna.id)
    at = world.app(world.sam)
    at.run()
    at.query_params["id"] = str(world.thread)
    at.switch_page("pages/thread.py").run()
    assert [e.value for e in at.exception] == []
    heads = [m.value for m in at.markdown if "Planned" in m.value]
    assert len(heads) == 2
    assert sum("Sam Seller → Anna Nowak" in h for h in heads) == 1  # delegated: who does it
    assert not any("Sam Seller → Sam Seller" in h for h in heads)  # for himself: said once


def test_phone_numbers_on_the_client_card_never_wrap_inside(sample_env) -> None:
    at = open_page(sample_env["member"], "pages/client.py", id=str(a_client_with_an_open_thread()))
    captions = " ".join(c.value for c in at.caption)
    phones = re.findall(r"\+48[\d\s\u00a0]+\d", captions)
    assert len(phones) >= 2  # the client's and its contacts'
    # "+48 541 651" / "937" in a narrow contact card: the spaces inside a number do not break
    assert all(" " not in p for p in phones), phones


def test_the_audit_logs_search_box_speaks_polish_too(sample_env) -> None:
    user = sample_env["admin"]
    at = open_page(user, "pages/admin.py")
    at.selectbox(key="sidebar_language").set_value("pl").run()
    try:
        at.switch_page("pages/admin.py").run()
        assert [e.value for e in at.exception] == []
        box = at.text_input(key="admin_audit_text")
        # Streamlit's own placeholder of a search box is the English "Search"
        assert box.placeholder == "Słowa ze zmian"
    finally:
        back = open_page(user, "pages/today.py")
        back.selectbox(key="sidebar_language").set_value("en").run()


def test_the_audit_log_leaves_the_changes_of_a_sign_in_empty_instead_of_writing_braces(sample_env) -> None:
    at = open_page(sample_env["admin"], "pages/admin.py")
    (log,) = [d.value for d in at.dataframe if "changes" in d.value.columns]
    sign_ins = log[log["action"] == "signed in"]
    assert len(sign_ins)  # the test's own sign-in at least
    assert set(sign_ins["changes"]) == {""}  # a sign-in has no changes: it showed "{}"
    assert (log["changes"] != "").any()  # what has changes still shows them


def test_a_thread_list_shows_the_next_step_before_the_last_activity_and_the_status_last(sample_env) -> None:
    """At 1400 px the thread list is wider than the page and its last column is cut at the edge:
    it was the Next step, the column a salesperson acts on."""
    from tests.test_pages import signed_in

    at = signed_in(sample_env["manager"])
    at.switch_page("pages/threads.py").run()
    assert [e.value for e in at.exception] == []
    columns = list(at.dataframe[0].value.columns)
    assert columns.index("next") == columns.index("percent") + 1
    assert columns[-1] == "status"


@pytest.mark.parametrize("lang", ["en", "pl"])
@pytest.mark.parametrize("page", ["pages/today.py", "pages/threads.py"])
def test_at_1400_px_every_time_place_and_last_activity_of_a_list_reads_whole(sample_env, page: str, lang: str) -> None:
    """Today's Where was cut to "Confere" and Threads' Last activity was out of sight at 1400 px:
    each list asks for widths that hold its longest time range, place and date, and all its
    columns together fit the table (tests/test_browser_lists.py checks the estimate against
    Chromium and that nothing scrolls sideways)."""
    from pages._ui.tables import TABLE_WIDTH, text_width

    user = sample_env["manager"]
    at = open_page(user, page)
    try:
        if lang != "en":
            at.selectbox(key="sidebar_language").set_value(lang).run()
            at.switch_page(page).run()
            assert [e.value for e in at.exception] == []
        checked = set()
        for table in at.dataframe:
            frame = table.value
            widths = {k: v.get("width") for k, v in json.loads(table.proto.columns).items() if k in frame.columns}
            assert all(isinstance(w, int) for w in widths.values()), widths
            assert sum(widths.values()) <= TABLE_WIDTH, widths
            for column in {"when", "where", "next", "last"} & set(frame.columns):
                longest = max(frame[column].astype(str), key=text_width)
                assert widths[column] >= text_width(longest), (column, longest, widths[column])
                checked.add(column)
            if not table.proto.row_height:  # one line a row: every cell holds its whole text
                for column in set(frame.columns) - {"note", "percent"}:
                    assert widths[column] >= max(text_width(str(v)) for v in frame[column]), column
        assert checked >= ({"when", "last"} if page == "pages/today.py" else {"next", "last"})
    finally:
        if lang != "en":
            back = open_page(user, "pages/today.py")
            back.selectbox(key="sidebar_language").set_value("en").run()


@pytest.mark.parametrize("lang", ["en", "pl"])
def test_the_client_cards_lists_read_whole_in_their_column_and_are_cards_on_a_phone(sample_env, lang) -> None:
    """The client card's threads (Next step cut, Last activity and Status out of sight) and recent
    events (notes cut) at 1400 px, in two thirds of the page: they take its whole width now, every
    column sized to its longest value; on a phone the same rows are cards, a note shown whole."""
    from pages._ui.tables import TABLE_WIDTH, text_width

    user = sample_env["member"]
    client_id = str(a_client_with_an_open_thread())
    at = open_page(user, "pages/client.py", id=client_id)
    try:
        if lang != "en":
            at.selectbox(key="sidebar_language").set_value(lang).run()
            at.switch_page("pages/client.py").run()
            assert [e.value for e in at.exception] == []
        threads_table, recent = at.dataframe[0], at.dataframe[1]
        for table in (threads_table, recent):
            frame = table.value
            widths = {
                k: v.get("width")
                for k, v in json.loads(table.proto.columns).items()
                if k in frame.columns and not v.get("hidden")
            }
            assert all(isinstance(w, int) for w in widths.values()), widths
            assert sum(widths.values()) <= TABLE_WIDTH, widths
            for column in {"when", "next", "last", "status", "percent"} & set(widths):
                longest = max(frame[column].astype(str), key=text_width)
                assert widths[column] >= text_width(longest), (column, longest, widths[column])
        notes = [n for n in recent.value["note"] if isinstance(n, str) and n]
        assert notes

        def thread_links() -> list:
            return [p for p in at.get("page_link") if "thread" in p.proto.page]

        # on a wide screen no card is drawn at all (hidden cards doubled the page's cost)
        assert not any(note in [t.value for t in at.text] for note in notes)
        assert thread_links() == []
        # a narrow window (as the browser reports it) gets the cards
        at.session_state[NARROW_KEY] = True
        at.run()
        assert [e.value for e in at.exception] == []
        shown_in_cards = [t.value for t in at.text]
        assert all(note in shown_in_cards for note in notes)  # each note whole, in its card
        assert len(thread_links()) >= len(threads_table.value)
    finally:
        if lang != "en":
            back = open_page(user, "pages/today.py")
            back.selectbox(key="sidebar_language").set_value("en").run()
