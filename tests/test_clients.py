"""crm_data.clients: create, read, versioned update, literal search, duplicates, bad input, contacts."""

from __future__ import annotations

import dataclasses

import duckdb
import pytest

from crm_data import clients
from crm_data.clients import SEARCH_KEY_SQL, ClientInput, ContactInput, normalise_tax_id
from crm_data.db import Database
from crm_data.errors import NotFound, StaleRecord, ValidationError
from crm_data.identity import User
from crm_data.rules import search_key

LODZ = "Łódź Sp. z o.o."


def count(db: Database, table: str) -> int:
    with db.read() as tx:
        return tx.scalar(f"SELECT count(*) FROM {table}")  # table names come from the tests only


def counts(db: Database) -> dict[str, int]:
    return {t: count(db, t) for t in ("clients", "contacts", "audit_log")}


def found(db: Database, text: str) -> list[str]:
    frame, total = clients.search_clients(db, text)
    names = sorted(frame["name"].tolist())
    assert total == len(names)
    return names


def keys(error: ValidationError) -> list[tuple[str, str]]:
    return [(e.field, e.key) for e in error.errors]


# -- create, get, update -----------------------------------------------------------------------
def test_a_created_client_can_be_read_back_with_clean_values(db: Database, admin: User):
    client_id = clients.create_client(
        db,
        admin,
        ClientInput(
            name="  Acme Sp. z o.o.  ",
            tax_id="PL 123-456-32-18",
            address="ul. Piotrkowska 1\r\n90-001 Łódź",
            email="biuro@acme.pl",
            phone="+48 42 123 45 67",
            notes="first line\nsecond line",
        ),
    )

    assert clients.get_client(db, client_id) == clients.Client(
        id=client_id,
        name="Acme Sp. z o.o.",
        tax_id="1234563218",
        address="ul. Piotrkowska 1\n90-001 Łódź",
        email="biuro@acme.pl",
        phone="+48 42 123 45 67",
        notes="first line\nsecond line",
        active=True,
        version=1,
    )


def test_a_client_without_a_tax_id_stores_null_so_many_can_have_none(db: Database, admin: User):
    first = clients.create_client(db, admin, ClientInput(name="No Tax One"))
    second = clients.create_client(db, admin, ClientInput(name="No Tax Two", tax_id=" - "))
    assert clients.get_client(db, first).tax_id is None
    assert clients.get_client(db, second).tax_id is None


def test_creating_a_client_writes_an_audit_entry(db: Database, admin: User):
    client_id = clients.create_client(db, admin, ClientInput(name="Audited"))
    with db.read() as tx:
        rows = tx.all("SELECT user_id, entity, entity_id, action FROM audit_log WHERE entity = 'client'")
    assert rows == [(admin.id, "client", client_id, "create")]


def test_getting_an_unknown_client_is_not_found(db: Database):
    with pytest.raises(NotFound):
        clients.get_client(db, 999)


def test_an_update_with_the_current_version_saves_and_bumps_the_version(db: Database, admin: User):
    client_id = clients.create_client(db, admin, ClientInput(name="Acme"))

    new_version = clients.update_client(db, admin, client_id, ClientInput(name="Acme Polska", phone="123 456 789"), 1)

    client = clients.get_client(db, client_id)
    assert new_version == 2
    assert (client.name, client.phone, client.version) == ("Acme Polska", "123 456 789", 2)


def test_a_second_update_with_the_old_version_is_stale_and_changes_nothing(db: Database, admin: User, manager: User):
    client_id = clients.create_client(db, admin, ClientInput(name="Acme"))
    clients.update_client(db, admin, client_id, ClientInput(name="Acme by Ada"), 1)
    after_first = clients.get_client(db, client_id)
    before = counts(db)

    with pytest.raises(StaleRecord):
        clients.update_client(db, manager, client_id, ClientInput(name="Acme by Mona"), 1)

    assert clients.get_client(db, client_id) == after_first
    assert counts(db) == before


def test_updating_an_unknown_client_is_not_found(db: Database, admin: User):
    with pytest.raises(NotFound):
        clients.update_client(db, admin, 999, ClientInput(name="Ghost"), 1)


def test_a_client_may_keep_its_own_name_and_tax_id_on_update(db: Database, admin: User):
    client_id = clients.create_client(db, admin, ClientInput(name="Acme", tax_id="1234563218"))
    assert clients.update_client(db, admin, client_id, ClientInput(name="ACME", tax_id="123-456-32-18"), 1) == 2
    assert clients.get_client(db, client_id).name == "ACME"


# -- search ------------------------------------------------------------------------------------
@pytest.fixture
def catalogue(db: Database, admin: User) -> dict[str, int]:
    names = [LODZ, "100% Natural", "Under_score Ltd", "Back\\slash Co", "Plain Company", "Robert'); DROP TABLE x;--"]
    return {name: clients.create_client(db, admin, ClientInput(name=name)) for name in names}


@pytest.mark.parametrize("text", ["lodz", "LODZ", "Łódź", "łÓdŹ", "ódź", "  lodz  ", "sp. z o.o."])
def test_search_ignores_case_and_diacritics(db: Database, catalogue, text):
    assert found(db, text) == [LODZ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("%", ["100% Natural"], id="percent"),
        pytest.param("0%", ["100% Natural"], id="percent-after-digit"),
        pytest.param("_", ["Under_score Ltd"], id="underscore"),
        pytest.param("r_s", ["Under_score Ltd"], id="underscore-inside"),
        pytest.param("\\", ["Back\\slash Co"], id="backslash"),
        pytest.param("k\\s", ["Back\\slash Co"], id="backslash-inside"),
        pytest.param("' OR 1=1 --", [], id="sql-or"),
        pytest.param("' OR '1'='1", [], id="sql-or-quoted"),
        pytest.param("%' OR 1=1 --", [], id="sql-with-percent"),
        pytest.param("'); DROP TABLE x;--", ["Robert'); DROP TABLE x;--"], id="sql-drop-found-literally"),
        pytest.param("_%", [], id="wildcards-only"),
        pytest.param("%%", [], id="double-percent"),
        pytest.param("\\%", [], id="escaped-percent"),
        pytest.param("Plain_Company", [], id="underscore-is-not-a-wildcard"),
        pytest.param("Plain%Company", [], id="percent-is-not-a-wildcard"),
    ],
)
def test_search_matches_wildcards_backslashes_and_sql_literally(db: Database, catalogue, text, expected):
    assert found(db, text) == expected


def test_an_sql_fragment_in_search_leaves_the_tables_intact(db: Database, catalogue):
    found(db, "'; DROP TABLE clients; --")
    assert count(db, "clients") == len(catalogue)


def test_an_empty_search_lists_every_active_client_with_paging(db: Database, catalogue):
    frame, total = clients.search_clients(db, "", limit=2, offset=0)
    rest, total_again = clients.search_clients(db, "", limit=10, offset=2)
    assert total == total_again == len(catalogue)
    assert len(frame) == 2
    assert sorted(frame["name"].tolist() + rest["name"].tolist()) == sorted(catalogue)


def test_an_archived_client_is_not_found(db: Database, catalogue):
    db.write(lambda tx: tx.execute("UPDATE clients SET active = false WHERE id = ?", [catalogue[LODZ]]))
    assert found(db, "lodz") == []


@pytest.mark.parametrize("text", ["\x00", "a\x00b", "x" * 5000, "\u202e", "\u200b", '"'])
def test_odd_search_text_finds_nothing_and_does_not_crash(db: Database, catalogue, text):
    assert found(db, text) == []


def test_search_finds_a_client_by_a_contact_name_without_diacritics(db: Database, admin: User, catalogue):
    clients.add_contact(db, admin, catalogue["Plain Company"], ContactInput(name="Grzegorz Brzęczyszczykiewicz"))
    assert found(db, "brzeczyszczyk") == ["Plain Company"]
    assert found(db, "GRZEGORZ") == ["Plain Company"]


def test_search_finds_a_client_by_email(db: Database, admin: User):
    clients.create_client(db, admin, ClientInput(name="Mailer", email="Biuro@Mailer.pl"))
    assert found(db, "biuro@mailer") == ["Mailer"]


@pytest.mark.parametrize("text", ["PL 123-456-32-18", "123-456-32-18", "1234563218", "456-32", "pl123", "32 18"])
def test_search_finds_a_client_by_tax_id_typed_with_any_punctuation(db: Database, admin: User, catalogue, text):
    clients.create_client(db, admin, ClientInput(name="Taxed", tax_id="PL 123-456-32-18"))
    assert found(db, text) == ["Taxed"]


# 'strasse' does not find 'Straße': lower() keeps ß, an accepted limitation
@pytest.mark.parametrize("text", ["Straße", "straße", "STRAßE", "straße logistik"])
def test_a_client_named_with_sharp_s_is_found_by_its_name(db: Database, admin: User, text):
    clients.create_client(db, admin, ClientInput(name="Straße Logistik GmbH"))
    assert found(db, text) == ["Straße Logistik GmbH"]


def sql_search_key(text: str) -> str:
    return duckdb.sql(f"SELECT {SEARCH_KEY_SQL.format(col='?')}", params=[text]).fetchall()[0][0]


@pytest.mark.parametrize(
    "text",
    [
        "Łódź",
        "ŁÓDŹ",
        "Zażółć Gęślą Jaźń",
        "Ångström",
        "Crème Brûlée",
        "100% _x_ \\",
        "Straße",
        "STRAẞE",
        "ﬁrma",
        "\uff26\uff49\uff52\uff4d\uff41",
        "İstanbul",
        "Ελλάδα",
        "Привет Ёлка",
        "ΣΟΦΟΣ",
        "नमस्ते",
    ],
)
def test_the_sql_search_key_is_the_twin_of_the_python_one(text):
    assert sql_search_key(text) == search_key(text)


def test_a_client_named_in_greek_capitals_is_found_by_its_name(db: Database, admin: User):
    clients.create_client(db, admin, ClientInput(name="ΣΟΦΟΣ ΑΕ"))
    assert found(db, "ΣΟΦΟΣ") == ["ΣΟΦΟΣ ΑΕ"]


# -- duplicates --------------------------------------------------------------------------------
@pytest.fixture
def acme(db: Database, admin: User) -> int:
    return clients.create_client(db, admin, ClientInput(name="Acme Sp. z o.o.", tax_id="PL 123-456-32-18"))


@pytest.mark.parametrize(
    ("data", "field", "key"),
    [
        pytest.param(
            ClientInput(name="Other", tax_id="PL1234563218"), "tax_id", "client.duplicate_tax_id", id="tax-id"
        ),
        pytest.param(
            ClientInput(name="Other", tax_id="pl 123 456 32 18"),
            "tax_id",
            "client.duplicate_tax_id",
            id="tax-id-spaced",
        ),
        pytest.param(ClientInput(name="ACME SP. Z O.O."), "name", "client.duplicate_name", id="upper-case"),
        pytest.param(ClientInput(name="acme  sp z o o"), "name", "client.duplicate_name", id="spacing-and-dots"),
        pytest.param(ClientInput(name="Acme, Sp. z o.o."), "name", "client.duplicate_name", id="comma"),
        pytest.param(ClientInput(name="\u0410cme Sp. z o.o."), "name", "client.duplicate_name", id="cyrillic-a"),
        pytest.param(
            ClientInput(name="Acm\u0435 Sp. z \u043e.\u043e."), "name", "client.duplicate_name", id="cyrillic-e-o"
        ),
        pytest.param(ClientInput(name="\u0391cme Sp. z o.o."), "name", "client.duplicate_name", id="greek-alpha"),
        pytest.param(
            ClientInput(name="\uff21\uff43\uff4d\uff45 Sp. z o.o."), "name", "client.duplicate_name", id="fullwidth"
        ),
    ],
)
def test_a_duplicate_client_is_refused_and_nothing_is_written(db: Database, admin: User, acme, data, field, key):
    before = counts(db)

    with pytest.raises(ValidationError) as caught:
        clients.create_client(db, admin, data)

    assert keys(caught.value) == [(field, key)]
    assert caught.value.errors[0].params == {"name": "Acme Sp. z o.o."}
    assert counts(db) == before


def test_a_cyrillic_look_alike_of_an_existing_client_is_refused(db: Database, admin: User, acme):
    before = counts(db)
    with pytest.raises(ValidationError) as caught:
        clients.create_client(
            db, admin, ClientInput(name="\u0410\u0441m\u0435 Sp. z o.o.")
        )  # U+0410, U+0441, U+0435 are Cyrillic
    assert keys(caught.value) == [("name", "client.duplicate_name")]
    assert counts(db) == before


def test_renaming_a_client_to_the_look_alike_of_another_is_refused_and_changes_nothing(db: Database, admin: User, acme):
    other = clients.create_client(db, admin, ClientInput(name="Beta"))
    before = clients.get_client(db, other)

    with pytest.raises(ValidationError) as caught:
        clients.update_client(db, admin, other, ClientInput(name="\u0410CME SP. Z O.O."), 1)

    assert keys(caught.value) == [("name", "client.duplicate_name")]
    assert clients.get_client(db, other) == before


def test_a_different_name_that_only_loses_diacritics_is_not_a_duplicate(db: Database, admin: User):
    clients.create_client(db, admin, ClientInput(name="Łódź Trading"))
    clients.create_client(db, admin, ClientInput(name="Lodz Trading"))
    assert count(db, "clients") == 2


@pytest.mark.parametrize(
    "invisible",
    [
        pytest.param("\u00ad", id="soft-hyphen"),
        pytest.param("\u034f", id="combining-grapheme-joiner"),
        pytest.param("\u180e", id="mongolian-vowel-separator"),
        pytest.param("\u3164", id="hangul-filler"),
        pytest.param("\uffa0", id="halfwidth-hangul-filler"),
        pytest.param("\u061c", id="arabic-letter-mark"),
        pytest.param("\u2028", id="line-separator"),
        pytest.param("\u17b4", id="khmer-inherent-vowel"),
    ],
)
def test_a_name_with_an_invisible_character_is_refused(db: Database, admin: User, invisible):
    # before the fix 'Ac?me' was stored beside 'Acme' and looked identical
    clients.create_client(db, admin, ClientInput(name="Acme"))
    before = counts(db)
    for name in (f"Ac{invisible}me", f"Acme{invisible}"):
        with pytest.raises(ValidationError) as caught:
            clients.create_client(db, admin, ClientInput(name=name))
        assert keys(caught.value) == [("name", "validation.invisible")]
    assert counts(db) == before


def test_the_same_polish_tax_id_with_and_without_the_pl_prefix_is_a_duplicate(db: Database, admin: User, acme):
    before = counts(db)
    with pytest.raises(ValidationError) as caught:
        clients.create_client(db, admin, ClientInput(name="Other", tax_id="123-456-32-18"))
    assert keys(caught.value) == [("tax_id", "client.duplicate_tax_id")]
    assert counts(db) == before


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        pytest.param("PL 123-456-32-18", "1234563218", id="polish-with-prefix"),
        pytest.param("pl1234563218", "1234563218", id="polish-lower-case-prefix"),
        pytest.param("123-456-32-18", "1234563218", id="polish-without-prefix"),
        pytest.param("DE 123456789", "DE123456789", id="german-keeps-its-prefix"),
        pytest.param("de123456789", "DE123456789", id="german-lower-case"),
        pytest.param("CZ 12345678", "CZ12345678", id="czech-keeps-its-prefix"),
    ],
)
def test_a_polish_tax_id_loses_its_eu_vat_prefix_and_other_prefixes_stay(typed, stored):
    assert normalise_tax_id(typed) == stored


def test_a_client_whose_nip_was_typed_without_prefix_is_found_by_the_prefixed_nip(db: Database, admin: User):
    clients.create_client(db, admin, ClientInput(name="Bare NIP", tax_id="1234563218"))
    assert found(db, "PL1234563218") == ["Bare NIP"]
    assert found(db, "PL 123-456-32-18") == ["Bare NIP"]


def test_a_foreign_tax_id_keeps_its_prefix_and_differs_from_the_bare_number(db: Database, admin: User):
    german = clients.create_client(db, admin, ClientInput(name="Deutsche GmbH", tax_id="DE 123456789"))
    bare = clients.create_client(db, admin, ClientInput(name="Bare Number", tax_id="123456789"))
    assert clients.get_client(db, german).tax_id == "DE123456789"
    assert clients.get_client(db, bare).tax_id == "123456789"
    with pytest.raises(ValidationError) as caught:
        clients.create_client(db, admin, ClientInput(name="Other", tax_id="de-123-456-789"))
    assert keys(caught.value) == [("tax_id", "client.duplicate_tax_id")]


# -- bad input ---------------------------------------------------------------------------------
GOOD = ClientInput(name="Good Name", tax_id="1234563218", email="a@b.pl", phone="+48 600 100 200")


@pytest.mark.parametrize(
    ("changes", "field", "key"),
    [
        pytest.param({"name": "Acme\x00Corp"}, "name", "validation.nul", id="nul-in-name"),
        pytest.param({"name": "x" * 201}, "name", "validation.too_long", id="over-long-name"),
        pytest.param({"name": ""}, "name", "validation.required", id="empty-name"),
        pytest.param({"name": "   "}, "name", "validation.required", id="blank-name"),
        pytest.param({"name": "Ac\u200bme"}, "name", "validation.invisible", id="zero-width-in-name"),
        pytest.param({"name": "Acme\u202eCorp"}, "name", "validation.invisible", id="bidi-override-in-name"),
        pytest.param({"name": "Acme\nCorp"}, "name", "validation.control", id="newline-in-name"),
        pytest.param({"name": "Acme\rCorp"}, "name", "validation.control", id="cr-in-name"),
        pytest.param({"name": "Acme\x1f"}, "name", "validation.control", id="trailing-control-in-name"),
        pytest.param({"phone": "600 100 200\x1f"}, "phone", "validation.control", id="trailing-control-in-phone"),
        pytest.param({"notes": "call back\x1f"}, "notes", "validation.control", id="trailing-control-in-notes"),
        pytest.param({"name": "Acme\x1bCorp"}, "name", "validation.control", id="escape-in-name"),
        pytest.param({"email": "not-an-email"}, "email", "validation.email", id="email-without-at"),
        pytest.param({"email": "a@b"}, "email", "validation.email", id="email-without-domain"),
        pytest.param({"email": "a b@c.pl"}, "email", "validation.email", id="email-with-space"),
        pytest.param({"email": "a@@c.pl"}, "email", "validation.email", id="email-double-at"),
        pytest.param({"email": "a\u200b@c.pl"}, "email", "validation.invisible", id="email-zero-width"),
        pytest.param({"phone": "call me"}, "phone", "validation.phone", id="phone-words"),
        pytest.param({"phone": "12"}, "phone", "validation.phone", id="phone-too-short"),
        pytest.param({"phone": "+48 600 100 200 wew. 5"}, "phone", "validation.phone", id="phone-extension-text"),
        pytest.param({"phone": "1" * 41}, "phone", "validation.too_long", id="phone-over-long"),
        pytest.param({"tax_id": "PL\x00123"}, "tax_id", "validation.nul", id="nul-in-tax-id"),
        pytest.param({"address": "ul. Długa\x001"}, "address", "validation.nul", id="nul-in-address"),
        pytest.param({"notes": "n" * 10_001}, "notes", "validation.too_long", id="over-long-notes"),
        pytest.param({"notes": "call \u2066back\u2069"}, "notes", "validation.invisible", id="bidi-isolate-in-notes"),
    ],
)
def test_bad_client_input_is_refused_with_a_field_message_and_changes_nothing(
    db: Database, admin: User, changes, field, key
):
    existing = clients.create_client(db, admin, GOOD)
    stored = clients.get_client(db, existing)
    before = counts(db)
    bad = dataclasses.replace(GOOD, **{"name": "Another Name", "tax_id": "", **changes})

    with pytest.raises(ValidationError) as created:
        clients.create_client(db, admin, bad)
    with pytest.raises(ValidationError) as updated:
        clients.update_client(db, admin, existing, dataclasses.replace(GOOD, **changes), stored.version)

    assert keys(created.value) == [(field, key)]
    assert keys(updated.value) == [(field, key)]
    assert counts(db) == before
    assert clients.get_client(db, existing) == stored


def test_every_problem_of_a_client_form_is_reported_at_once(db: Database, admin: User):
    with pytest.raises(ValidationError) as caught:
        clients.create_client(db, admin, ClientInput(name="", email="nope", phone="call me"))
    assert keys(caught.value) == [
        ("name", "validation.required"),
        ("email", "validation.email"),
        ("phone", "validation.phone"),
    ]
    assert count(db, "clients") == 0


@pytest.mark.parametrize(
    "name",
    [
        "<script>alert('x')</script>",
        '<img src=x onerror="alert(1)">',
        "Tom & Jerry <b>Ltd</b>",
        "Robert'); DROP TABLE clients;--",
    ],
)
def test_html_or_sql_in_a_name_is_stored_as_plain_text(db: Database, admin: User, name):
    client_id = clients.create_client(db, admin, ClientInput(name=name, notes=name))
    client = clients.get_client(db, client_id)
    assert (client.name, client.notes) == (name, name)
    assert found(db, name) == [name]


def test_a_tab_in_a_single_line_field_is_stored_as_a_space(db: Database, admin: User):
    client_id = clients.create_client(db, admin, ClientInput(name="Acme\tCorp", address="ul. Długa 1\tLok. 2"))
    client = clients.get_client(db, client_id)
    assert (client.name, client.address) == ("Acme Corp", "ul. Długa 1\tLok. 2")  # the address is multi-line
    with pytest.raises(ValidationError) as caught:
        clients.create_client(db, admin, ClientInput(name="Acme Corp"))
    assert keys(caught.value) == [("name", "client.duplicate_name")]


@pytest.mark.parametrize("phone", ["+48 600 100 200", "(42) 123-45-67", "600.100.200", "123"])
def test_ordinary_phone_numbers_are_accepted(db: Database, admin: User, phone):
    client_id = clients.create_client(db, admin, ClientInput(name="Phoned", phone=phone))
    assert clients.get_client(db, client_id).phone == phone


# -- contacts ----------------------------------------------------------------------------------
def test_contacts_are_added_and_listed_by_name(db: Database, admin: User, acme):
    zofia = clients.add_contact(
        db, admin, acme, ContactInput(name="Zofia Nowak", position="CFO", email="z@acme.pl", phone="600 100 200")
    )
    adam = clients.add_contact(db, admin, acme, ContactInput(name="Adam Kowalski"))

    listed = clients.contacts_of(db, acme)

    assert [c.id for c in listed] == [adam, zofia]
    assert listed[1] == clients.Contact(zofia, acme, "Zofia Nowak", "CFO", "z@acme.pl", "600 100 200", True, 1)


def test_contacts_of_one_client_are_not_listed_for_another(db: Database, admin: User, acme):
    other = clients.create_client(db, admin, ClientInput(name="Other"))
    clients.add_contact(db, admin, acme, ContactInput(name="Only Acme"))
    assert clients.contacts_of(db, other) == []


def test_a_contact_for_an_unknown_client_is_not_found_and_not_written(db: Database, admin: User):
    with pytest.raises(NotFound):
        clients.add_contact(db, admin, 999, ContactInput(name="Nobody"))
    assert count(db, "contacts") == 0


@pytest.mark.parametrize(
    ("data", "field", "key"),
    [
        (ContactInput(name=""), "name", "validation.required"),
        (ContactInput(name="Jan\x00Kowalski"), "name", "validation.nul"),
        (ContactInput(name="Jan", email="jan(at)acme.pl"), "email", "validation.email"),
        (ContactInput(name="Jan", phone="none"), "phone", "validation.phone"),
        (ContactInput(name="Jan", position="p" * 101), "position", "validation.too_long"),
    ],
)
def test_bad_contact_input_is_refused_and_nothing_written(db: Database, admin: User, acme, data, field, key):
    before = counts(db)
    with pytest.raises(ValidationError) as caught:
        clients.add_contact(db, admin, acme, data)
    assert keys(caught.value) == [(field, key)]
    assert counts(db) == before


def test_a_contact_update_with_the_current_version_saves(db: Database, admin: User, acme):
    contact_id = clients.add_contact(db, admin, acme, ContactInput(name="Jan Kowalski"))

    clients.update_contact(db, admin, contact_id, ContactInput(name="Jan Kowalski", position="CEO"), 1)

    (contact,) = clients.contacts_of(db, acme)
    assert (contact.position, contact.version) == ("CEO", 2)


def test_a_contact_update_with_an_old_version_is_stale_and_changes_nothing(db: Database, admin: User, acme):
    contact_id = clients.add_contact(db, admin, acme, ContactInput(name="Jan Kowalski"))
    clients.update_contact(db, admin, contact_id, ContactInput(name="Jan Kowalski", position="CEO"), 1)
    before = clients.contacts_of(db, acme)

    with pytest.raises(StaleRecord):
        clients.update_contact(db, admin, contact_id, ContactInput(name="Jan Kowalski", position="Intern"), 1)

    assert clients.contacts_of(db, acme) == before


def test_a_bad_contact_update_changes_nothing(db: Database, admin: User, acme):
    contact_id = clients.add_contact(db, admin, acme, ContactInput(name="Jan Kowalski"))
    before = clients.contacts_of(db, acme)
    with pytest.raises(ValidationError):
        clients.update_contact(db, admin, contact_id, ContactInput(name="Jan\u202eKowalski"), 1)
    assert clients.contacts_of(db, acme) == before


def test_updating_an_unknown_contact_is_not_found(db: Database, admin: User):
    with pytest.raises(NotFound):
        clients.update_contact(db, admin, 999, ContactInput(name="Ghost"), 1)
