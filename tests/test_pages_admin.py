"""The admin panel and the account page through AppTest."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from crm_data import dictionaries, users
from crm_data.db import Database
from tests.helpers import PASSWORD, REPO, app_database, as_user, open_more_details, restore

APP = str(REPO / "app.py")


# an admin and a member, made once per module and copied for each test (tests/conftest.py)
DB_TEMPLATES = {"site": (("member",), lambda db, people, now: people)}


@pytest.fixture
def site(app_env: Path, templates) -> Iterator[tuple[Database, users.User, users.User]]:
    people = templates("site").value
    restore(templates("site"), app_env)
    db = app_database()
    yield db, people["admin"], people["member"]
    db.close()


def open_page(user: users.User, page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    as_user(at, user)
    at.switch_page(page).run()
    assert [e.value for e in at.exception] == []
    return at


def test_a_member_opening_the_admin_page_directly_sees_a_refusal(site) -> None:
    _, _, member = site
    at = open_page(member, "pages/admin.py")
    assert at.error[0].value == "Only an administrator can do this."
    assert not at.tabs


def test_an_admin_adds_edits_and_archives_an_event_type(site) -> None:
    db, admin, _ = site
    at = open_page(admin, "pages/admin.py")
    prefix = "admin_new_event_types_None"
    at.text_input(key=f"{prefix}_name_en").input("Trade fair")
    at.number_input(key=f"{prefix}_default_duration_min").set_value(240)
    at.checkbox(key=f"{prefix}_is_meeting").check()
    at.button(key=f"FormSubmitter:{prefix}-Save").click().run()
    assert [e.value for e in at.exception] == []
    look = dictionaries.lookups(db)
    fair = next(t for t in look.event_types.values() if t.name == "Trade fair")
    assert (fair.default_duration_min, fair.is_meeting, fair.active) == (240, True, True)
    assert at.success[0].value == "Saved."
    # a duplicate name is refused with a message, nothing written
    at.text_input(key=f"{prefix}_name_en").input("trade FAIR")
    at.button(key=f"FormSubmitter:{prefix}-Save").click().run()
    assert "already exists" in at.error[0].value
    assert sum(1 for t in dictionaries.lookups(db).event_types.values() if t.name.lower() == "trade fair") == 1


def test_a_new_required_custom_dictionary_appears_on_the_log_form(site) -> None:
    db, admin, member = site
    at = open_page(admin, "pages/admin.py")
    at.selectbox(key="admin_kind").set_value("dictionaries").run()
    at.text_input(key="admin_new_dictionaries_None_name").input("Lead source")
    at.button(key="FormSubmitter:admin_new_dictionaries_None-Save").click().run()
    dictionary_id = next(d.id for d in dictionaries.lookups(db).dictionaries.values() if d.name == "Lead source")
    at.selectbox(key="admin_kind").set_value("dictionary_values").run()
    at.text_input(key=f"admin_new_dictionary_values_{dictionary_id}_value").input("Trade fair")
    at.button(key=f"FormSubmitter:admin_new_dictionary_values_{dictionary_id}-Save").click().run()
    assert [e.value for e in at.exception] == []
    # link it to calls, required: done through the service the segmented control calls
    from crm_data import admin as svc

    call_type = dictionaries.Lookups.active(dictionaries.lookups(db).event_types)[0].id
    svc.link_dictionary(db, admin, dictionary_id, call_type, "required")
    log = open_more_details(open_page(member, "pages/log_event.py"))
    labels = [s.label for s in log.selectbox]
    assert "Lead source \\*" in labels


def test_an_admin_creates_and_deactivates_a_user(site) -> None:
    db, admin, _ = site
    at = open_page(admin, "pages/admin.py")
    at.text_input(key="admin_new_login").input("olga")
    at.text_input(key="admin_new_name").input("Olga Ołówek")
    at.text_input(key="admin_new_password").input("a long enough password")
    at.button(key="FormSubmitter:admin_new_user-Create user").click().run()
    assert [e.value for e in at.exception] == []
    olga = next(u for u in users.list_users(db) if u.login == "olga")
    assert (olga.display_name, olga.role) == ("Olga Ołówek", "member")
    users.set_active(db, admin, olga.id, False)
    assert users.session_valid(db, olga.id, olga.session_epoch) is None


def open_tab_index(at: AppTest) -> int:
    """The tab the page tells the browser to show, from its one tab container."""
    found = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None and proto.DESCRIPTOR.name == "Block" and proto.WhichOneof("type") == "tab_container":
            found.append(proto.tab_container.default_tab_index)
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at.main)
    (index,) = found
    return index


def test_after_creating_a_user_the_users_tab_stays_open(site) -> None:
    _, admin, _ = site
    at = open_page(admin, "pages/admin.py")
    at.session_state["admin_tab"] = "Users"  # the admin opened the Users tab
    at.run()
    at.text_input(key="admin_new_login").input("olga")
    at.text_input(key="admin_new_name").input("Olga Ołówek")
    at.text_input(key="admin_new_password").input("a long enough password")
    at.button(key="FormSubmitter:admin_new_user-Create user").click().run()
    assert [e.value for e in at.exception] == []
    assert at.success, "the save is confirmed"
    assert at.session_state["admin_tab"] == "Users"
    assert open_tab_index(at) == 1  # what the browser is told to show: still Users, not Dictionaries


def test_settings_are_saved_from_the_panel(site) -> None:
    db, admin, _ = site
    at = open_page(admin, "pages/admin.py")
    at.text_input(key="admin_set_currency").input("eur")
    at.button(key="FormSubmitter:admin_settings-Save").click().run()
    assert [e.value for e in at.exception] == []
    from crm_data import settings

    assert settings.load(db).currency == "EUR"


def test_any_time_zone_can_be_chosen_the_common_ones_first(site) -> None:
    """The page offered eight zones (and the current one): a team in Tokyo could not set its own,
    though the settings accept every IANA zone. The choice is crm_data's list of every zone."""
    db, admin, _ = site
    at = open_page(admin, "pages/admin.py")
    box = at.selectbox(key="admin_set_tz")
    assert box.options[:2] == ["Europe/Warsaw", "Europe/London"]
    assert {"Asia/Tokyo", "America/Sao_Paulo", "Australia/Sydney"} <= set(box.options)
    box.set_value("Asia/Tokyo")
    at.button(key="FormSubmitter:admin_settings-Save").click().run()
    assert [e.value for e in at.exception] == []
    from crm_data import settings

    assert settings.load(db).time_zone == "Asia/Tokyo"


def test_a_dictionary_forms_number_fields_carry_the_bounds_the_save_checks(site) -> None:
    """The form draws each field as crm_data describes it: a stage's percent is offered from 0 to
    100, a resource's buffer up to a day, as the save accepts (the page had its own table of
    widgets and no bounds)."""
    _, admin, _ = site
    at = open_page(admin, "pages/admin.py")
    at.selectbox(key="admin_kind").set_value("resources").run()
    buffer = at.number_input(key="admin_new_resources_None_buffer_min")
    assert (buffer.min, buffer.max) == (0, 24 * 60)


def test_the_audit_and_backup_sections_render(site) -> None:
    _, admin, _ = site
    at = open_page(admin, "pages/admin.py")
    assert any(c.value.endswith(("entry", "entries")) for c in at.caption)
    assert any(b.label == "Download a backup" for b in at.get("download_button"))


def test_changing_my_password_signs_me_out_with_a_notice(site) -> None:
    db, _, member = site
    at = open_page(member, "pages/account.py")
    at.text_input(key="account_old").input(PASSWORD)
    at.text_input(key="account_new").input("my new long password")
    at.text_input(key="account_repeat").input("my new long password")
    at.button(key="FormSubmitter:account_password-Change my password").click().run()
    assert [e.value for e in at.exception] == []
    assert at.title[0].value == "Sign in"
    assert at.info[0].value == "Your password was changed. Sign in again with the new one."
    assert users.authenticate(db, "sam", "my new long password").id == member.id


def test_a_wrong_old_password_is_shown_by_the_field(site) -> None:
    _, _, member = site
    at = open_page(member, "pages/account.py")
    at.text_input(key="account_old").input("not my password")
    at.text_input(key="account_new").input("my new long password")
    at.text_input(key="account_repeat").input("my new long password")
    at.button(key="FormSubmitter:account_password-Change my password").click().run()
    assert at.title[0].value == "My account"
    assert any("Wrong login or password." in c.value for c in at.caption)


def test_an_admin_edits_then_archives_a_used_amount_type_and_restores_it(site) -> None:
    db, admin, member = site
    from tests.helpers import call, new_client

    look = dictionaries.lookups(db)
    offer = next(a for a in look.amount_types.values() if a.name == "Offer value")
    from crm_data import events

    call(db, member, new_client(db, member), amounts=(events.AmountInput(offer.id, "100"),))
    at = open_page(admin, "pages/admin.py")
    at.selectbox(key="admin_kind").set_value("amount_types").run()
    at.selectbox(key="admin_row_amount_types_None").set_value(offer.id).run()
    form = f"admin_edit_amount_types_{offer.id}"
    at.text_input(key=f"{form}_name_en").input("Offer value (net)")
    at.button(key=f"FormSubmitter:{form}-Save").click().run()
    assert [e.value for e in at.exception] == []
    assert dictionaries.lookups(db).amount_types[offer.id].name == "Offer value (net)"
    at.button(key=f"admin_remove_{offer.id}").click().run()
    assert not dictionaries.lookups(db).amount_types[offer.id].active  # in use: archived, not deleted
    log = open_more_details(open_page(member, "pages/log_event.py"))
    options = amount_type_options(log)
    assert "Offer value (net)" not in options  # new forms no longer offer it
    assert "Invoice" in options
    assert offer.id in dictionaries.lookups(db).amount_types  # old records keep it
    at.selectbox(key="admin_row_amount_types_None").set_value(offer.id).run()
    at.button(key=f"admin_restore_{offer.id}").click().run()
    assert dictionaries.lookups(db).amount_types[offer.id].active
    assert "Offer value (net)" in amount_type_options(open_more_details(open_page(member, "pages/log_event.py")))


def amount_type_options(at: AppTest) -> list[str]:
    """The amount types the log form's amounts table offers (its column configuration)."""
    import json

    for frame in at.dataframe:
        columns = json.loads(frame.proto.columns or "{}")
        if "type" in columns and columns["type"].get("type_config", {}).get("type") == "selectbox":
            return columns["type"]["type_config"]["options"]
    raise AssertionError("no amounts table on the log form")


def test_an_admin_changes_a_role_and_resets_a_password(site) -> None:
    db, admin, member = site
    at = open_page(admin, "pages/admin.py")
    at.selectbox(key="admin_user_pick").set_value(member.id).run()
    at.selectbox(key=f"admin_role_{member.id}").set_value("manager").run()
    assert [e.value for e in at.exception] == []
    assert users.get_user(db, member.id).role == "manager"
    at.text_input(key=f"admin_pw_{member.id}").input("a fresh password 99")
    at.button(key=f"FormSubmitter:admin_reset_{member.id}-Set this password").click().run()
    assert users.authenticate(db, "sam", "a fresh password 99").id == member.id
    assert users.session_valid(db, member.id, member.session_epoch) is None


def test_moving_in_is_for_admins_only_and_starts_by_asking_for_the_deals_file(site) -> None:
    _, admin, member = site
    at = open_page(member, "pages/moving_in.py")
    assert at.error[0].value == "Only an administrator can do this."
    assert not at.get("file_uploader")
    at = AppTest.from_file(APP, default_timeout=60)
    as_user(at, admin)
    at.session_state["mv_plan"] = ("an earlier file's preview", object())
    at.switch_page("pages/moving_in.py").run()
    assert [e.value for e in at.exception] == []
    assert at.title[0].value == "Moving in"
    assert "mv_plan" not in at.session_state  # no file: the preview held for it is let go
    assert at.info[0].value.startswith("Upload the deals file to begin.")
