"""Business words in both languages: event types, pipelines, stages, amount types, lost reasons
and products have a name per UI language (falling back to the other), so a Polish colleague no
longer reads "Offer value według opiekuna" and an English one no longer reads "Telefon". The
set-up's language only chooses the organisation's default; the starter set is named in both."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from crm_data import admin as admin_service
from crm_data import agenda, clock, dictionaries, events, planning, reports, setup, threads, users
from crm_data import db as dbmod
from crm_data import settings as org_settings
from crm_data.db import Database
from crm_data.planning import PlanEvent, plan_event
from tests.helpers import PASSWORD, REPO, app_database, as_user, call, new_client

APP = str(REPO / "app.py")
STARTER_EN = ["Call", "Meeting", "E-mail", "Offer sent", "Note", "Visit", "Video call"]
STARTER_PL = ["Telefon", "Spotkanie", "E-mail", "Wysłana oferta", "Notatka", "Wizyta", "Wideorozmowa"]


def type_names(db: Database, lang: str | None) -> list[str]:
    return [t.name for t in dictionaries.lookups(db, lang).event_types.values()]


@pytest.mark.parametrize("setup_lang", ["en", "pl"])
def test_the_starter_set_is_named_in_both_languages_whatever_the_setup_chose(db: Database, setup_lang: str) -> None:
    setup.create_first_admin(db, login="admin", display_name="Ada Admin", password=PASSWORD, lang=setup_lang)
    assert type_names(db, "en") == STARTER_EN
    assert type_names(db, "pl") == STARTER_PL
    assert type_names(db, None) == (STARTER_PL if setup_lang == "pl" else STARTER_EN)  # the organisation's
    look_en, look_pl = dictionaries.lookups(db, "en"), dictionaries.lookups(db, "pl")
    assert [s.name for s in look_en.stages.values()] == ["Lead", "Qualified", "Proposal", "Negotiation", "Won", "Lost"]
    assert [s.name for s in look_pl.stages.values()][:2] == ["Kontakt", "Kwalifikacja"]
    assert next(a.name for a in look_pl.amount_types.values()) == "Wartość oferty"
    assert next(r.name for r in look_en.lost_reasons.values()) == "Price too high"
    assert [p.name for p in look_pl.pipelines.values()] == ["Sprzedaż"]


def test_a_row_named_in_one_language_shows_that_name_in_the_other_until_it_gets_its_own(db: Database) -> None:
    ada = setup.create_first_admin(db, login="admin", display_name="Ada Admin", password=PASSWORD, lang="pl")
    values = {"name_pl": "Targi", "name_en": "", "color": "#336699", "default_duration_min": 240, "is_meeting": True}
    fair = admin_service.save(db, ada, "event_types", values, lang="pl")
    assert dictionaries.lookups(db, "pl").event_types[fair].name == "Targi"
    assert dictionaries.lookups(db, "en").event_types[fair].name == "Targi"  # the fallback
    admin_service.save(db, ada, "event_types", {**values, "name_en": "Trade fair"}, fair, lang="pl")
    assert dictionaries.lookups(db, "en").event_types[fair].name == "Trade fair"
    assert dictionaries.lookups(db, "pl").event_types[fair].name == "Targi"
    assert dictionaries.lookups(db, None).event_types[fair].name == "Targi"  # the organisation speaks Polish


def test_a_name_in_either_language_is_unique_among_active_rows(db: Database) -> None:
    from crm_data.errors import ValidationError

    ada = setup.create_first_admin(db, login="admin", display_name="Ada Admin", password=PASSWORD, lang="pl")
    values = {"name_pl": "Rozmowa", "name_en": "call", "color": "#336699", "default_duration_min": 10}
    with pytest.raises(ValidationError) as exc:
        admin_service.save(db, ada, "event_types", values, lang="pl")
    assert [(e.field, e.key) for e in exc.value.errors] == [("name_en", "admin.duplicate")]


def test_reports_and_lists_name_dictionary_rows_in_the_readers_language(db: Database) -> None:
    """One database set up in Polish, read by an English and a Polish user: money by amount type,
    the funnel's stages and pipelines, the thread lists, Today's inbox and a thread's history."""
    ada = setup.create_first_admin(db, login="admin", display_name="Ada Admin", password=PASSWORD, lang="pl")
    eve = users.create_user(db, ada, login="eve", display_name="Eve English", password=PASSWORD, locale="en")
    look = dictionaries.lookups(db)
    offer = next(a.id for a in look.amount_types.values() if a.name == "Wartość oferty")
    client = new_client(db, eve, name="Okna Łódź")
    thread_id = call(db, eve, client, amounts=(events.AmountInput(offer, "1000"),)).thread_id
    # the organisation's day (between 23:00 and 24:00 UTC the call was logged on tomorrow's date
    # in Warsaw, and a range ending on the UTC date left it out)
    today = clock.today(org_settings.zone(org_settings.cached(db)))
    for lang, offer_name, first_stage, pipeline, call_type in [
        ("en", "Offer value", "Lead", "Sales", "Call"),
        ("pl", "Wartość oferty", "Kontakt", "Sprzedaż", "Telefon"),
    ]:
        f = reports.ReportFilter(start=today - dt.timedelta(days=30), end=today, dimension="amount_type", lang=lang)
        money = reports.money(db, f)
        assert offer_name in set(money.rows["label"]), lang
        funnel = reports.funnel(db, f)
        assert funnel.stages["stage"].iloc[0] == first_stage
        assert set(funnel.outcomes["pipeline"]) == {pipeline}
        frame, _ = threads.list_threads(db, threads.ThreadFilter(client_id=client), lang=lang)
        assert (frame["stage"].iloc[0], frame["pipeline"].iloc[0]) == (first_stage, pipeline)
        assert threads.get_thread(db, thread_id, lang=lang).stage == first_stage
        assert [e.type for e in threads.thread_events(db, thread_id, lang=lang)] == [call_type]
        assert threads.thread_events(db, thread_id, lang=lang)[0].amounts[0][0] == offer_name
        timeline = reports.thread_timeline(db, thread_id, lang=lang)
        assert list(timeline.events["type"]) == [call_type]
        assert list(timeline.stages["stage"]) == [first_stage]
        assert set(reports.workload(db, f).intervals["type"]) == {call_type}
        week = (clock.now() - dt.timedelta(days=3), clock.now() + dt.timedelta(days=3))
        assert list(agenda.calendar_events(db, None, *week, lang=lang).events["type"]) == [call_type]
        event_id = threads.thread_events(db, thread_id)[0].id
        assert agenda.agenda_event(db, event_id, lang=lang).type == call_type
    # Today's inbox speaks its owner's language
    meeting = next(t.id for t in look.event_types.values() if t.name == "Spotkanie")
    plan_event(
        db,
        eve,
        PlanEvent(type_id=meeting, starts_at=clock.now() + dt.timedelta(days=1), duration_min=30, thread_id=thread_id),
    )
    assert list(agenda.inbox(db, eve, "mine")["type"]) == ["Meeting"]
    piotr = users.set_locale(db, eve, "pl")
    assert list(agenda.inbox(db, piotr, "mine")["type"]) == ["Spotkanie"]
    tomorrow = agenda.inbox(db, piotr, "mine")["starts_at"].iloc[0]
    day = agenda.day_schedule(db, tomorrow - dt.timedelta(hours=1), tomorrow + dt.timedelta(hours=1), lang="pl")
    assert list(day["type"]) == ["Spotkanie"]
    # the overlap warning names the other event's type by id, so the panel names it in the reader's language
    start = clock.now() + dt.timedelta(days=1)
    (conflict,) = planning.check(db, planning.Slot(start, start + dt.timedelta(minutes=10), eve.id)).conflicts
    assert conflict.type_id == meeting
    assert dictionaries.lookups(db, "en").event_types[conflict.type_id].name == "Meeting"


def test_the_migration_names_old_rows_in_the_organisations_language_and_starter_rows_in_both(db: Database) -> None:
    """A database set up in Polish before names per language: its rows were named in Polish only."""
    setup.create_first_admin(db, login="admin", display_name="Ada Admin", password=PASSWORD, lang="pl")
    with db.transaction() as tx:
        tx.execute(
            "INSERT INTO event_types (name, color, default_duration_min, sequence) VALUES ('Targi', '#123456', 60, 99)"
        )
        for table in dictionaries.NAMED_IN_LANGUAGES:  # as before the migration (DuckDB cannot drop
            tx.execute(f"UPDATE {table} SET name_en = NULL, name_pl = NULL")  # columns under foreign keys)
    sql = next(text for version, _, text in dbmod.migration_files() if version == 8)
    data_part = "\n".join(line for line in sql.splitlines() if not line.startswith("ALTER TABLE"))
    dbmod.migrate(db, [(9008, "dictionary_names_again", data_part)])
    db.dictionaries_changed()
    assert type_names(db, "pl") == [*STARTER_PL, "Targi"]
    assert type_names(db, "en") == [*STARTER_EN, "Targi"]  # a custom row falls back to its one name
    with db.read() as tx:
        assert tx.one("SELECT name_en, name_pl FROM event_types WHERE name = 'Targi'") == (None, "Targi")
        assert tx.one("SELECT name_en, name_pl FROM stages WHERE name = 'Negocjacje'") == ("Negotiation", "Negocjacje")


# -- pages -----------------------------------------------------------------------------------------
def _org_in_polish(app_env: Path) -> tuple[Database, users.User, users.User]:
    db = app_database()
    ada = setup.create_first_admin(db, login="admin", display_name="Ada Admin", password=PASSWORD, lang="pl")
    eve = users.create_user(db, ada, login="eve", display_name="Eve English", password=PASSWORD, locale="en")
    return db, ada, eve


def test_an_english_user_of_a_polish_organisation_logs_with_english_types_and_reads_english_stages(
    app_env: Path,
) -> None:
    db, _ada, eve = _org_in_polish(app_env)
    client = new_client(db, eve, name="Okna Łódź")
    thread_id = call(db, eve, client, note="Windows").thread_id
    at = AppTest.from_file(APP, default_timeout=60)
    as_user(at, eve)
    at.switch_page("pages/log_event.py").run()
    assert [e.value for e in at.exception] == []
    assert at.pills(key="log_type_0").options == STARTER_EN
    at.switch_page("pages/thread.py")
    at.query_params["id"] = str(thread_id)
    at.run()
    assert [e.value for e in at.exception] == []
    shown = " ".join(m.value for m in [*at.markdown, *at.caption])
    assert "Lead" in shown
    assert "Kontakt" not in shown


def test_the_admin_edits_both_names_side_by_side(app_env: Path) -> None:
    db, ada, _eve = _org_in_polish(app_env)
    at = AppTest.from_file(APP, default_timeout=60)
    as_user(at, ada)
    at.switch_page("pages/admin.py").run()
    prefix = "admin_new_event_types_None"
    assert at.text_input(key=f"{prefix}_name_en").label == "Nazwa po angielsku"
    assert at.text_input(key=f"{prefix}_name_pl").label == "Nazwa po polsku"
    at.text_input(key=f"{prefix}_name_en").input("Trade fair")
    at.text_input(key=f"{prefix}_name_pl").input("Targi")
    at.number_input(key=f"{prefix}_default_duration_min").set_value(240)
    at.button(key=f"FormSubmitter:{prefix}-Zapisz").click().run()
    assert [e.value for e in at.exception] == []
    assert [e.value for e in at.error] == []
    assert "Trade fair" in type_names(db, "en")
    assert "Targi" in type_names(db, "pl")
