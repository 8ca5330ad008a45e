"""E-mails into a thread (issue 23 item 4): `.eml` files become e-mail events through the same
rules as a logged event; the same message twice is not doubled; HTML-only mail reads as text; a
malformed file gets a clear message while the others are saved."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from crm_data import clients, clock, dictionaries, mail, threads, users
from crm_data.db import Database
from crm_data.errors import ValidationError
from crm_data.i18n import translate
from tests.helpers import call, new_client


def message(
    *,
    subject: str = "Offer for 40 windows",
    body: str = "Hello,\n\nplease find the offer attached.\n\nAnna",
    html: str | None = None,
    sender: str = "Jan Kowalski <jan@okna.pl>",
    to: str = "Sam Seller <sam@ourfirm.pl>, office@okna.pl",
    sent: dt.datetime | None = None,
    attachments: tuple[tuple[str, bytes], ...] = (),
    message_id: str | None = None,
) -> bytes:
    m = EmailMessage()
    m["Subject"] = subject
    m["From"] = sender
    m["To"] = to
    m["Date"] = format_datetime(sent or clock.now() - dt.timedelta(days=2))
    m["Message-ID"] = message_id or make_msgid(domain="okna.pl")
    if html is not None:
        m.set_content(html, subtype="html")
    else:
        m.set_content(body)
    for name, data in attachments:
        m.add_attachment(data, maintype="application", subtype="pdf", filename=name)
    return bytes(m)


def setup_thread(db: Database, admin: users.User) -> tuple[int, int, int]:
    client = new_client(db, admin, "Okna Łódź Sp. z o.o.")
    contact = clients.add_contact(db, admin, client, clients.ContactInput("Jan Kowalski", "Kierownik", "JAN@okna.pl"))
    thread_id = call(db, admin, client).thread_id
    return client, contact, thread_id


def test_an_eml_becomes_an_email_in_the_thread_with_its_people_text_and_files(db: Database, admin: users.User) -> None:
    _, contact, thread_id = setup_thread(db, admin)
    sent = (clock.now() - dt.timedelta(days=3)).replace(microsecond=0)
    data = message(sent=sent, attachments=(("oferta.pdf", b"%PDF-1.4 offer"),))
    (outcome,) = mail.import_messages(db, admin, [("offer.eml", data)], thread_id=thread_id)
    assert outcome.error is None, outcome.error
    assert outcome.event_id is not None
    with db.read() as tx:
        event = tx.dicts("SELECT type_id, starts_at, note, thread_id FROM events WHERE id = ?", [outcome.event_id])[0]
        people = tx.all(
            "SELECT contact_id, name FROM event_participants WHERE event_id = ? ORDER BY name NULLS FIRST",
            [outcome.event_id],
        )
        files = sorted(
            r[0] for r in tx.all("SELECT display_name FROM attachments WHERE event_id = ?", [outcome.event_id])
        )
    look = dictionaries.lookups(db)
    assert look.event_types[event["type_id"]].name == "E-mail"
    assert event["thread_id"] == thread_id
    assert event["starts_at"] == sent
    assert event["note"].splitlines()[:3] == [
        "Offer for 40 windows",
        "From: Jan Kowalski <jan@okna.pl>",
        "To: Sam Seller <sam@ourfirm.pl>, office@okna.pl",
    ]
    assert "please find the offer attached." in event["note"]
    # the sender is the client's contact (matched by address, whatever its case); the others by name
    assert people == [(contact, None), (None, "Sam Seller <sam@ourfirm.pl>"), (None, "office@okna.pl")]
    assert files == ["oferta.pdf", "offer.eml"]


def test_the_same_message_twice_is_not_doubled(db: Database, admin: users.User) -> None:
    _, _, thread_id = setup_thread(db, admin)
    data = message(message_id="<abc-123@okna.pl>")
    first = mail.import_messages(db, admin, [("a.eml", data)], thread_id=thread_id)
    again = mail.import_messages(db, admin, [("a copy.eml", data), ("b.eml", message())], thread_id=thread_id)
    assert first[0].event_id is not None
    assert again[0].duplicate
    assert again[0].event_id is None
    assert again[1].event_id is not None
    with db.read() as tx:
        assert tx.scalar("SELECT count(*) FROM event_messages") == 2


def test_an_html_only_message_reads_as_text() -> None:
    parsed = mail.parse(
        message(
            html="<html><head><style>p{color:red}</style></head><body><p>Dzień dobry,</p>"
            "<p>cena: 12&nbsp;000&nbsp;zł<br>termin: <b>marzec</b></p><script>alert(1)</script>"
            "<ul><li>okna</li><li>drzwi</li></ul></body></html>"
        )
    )
    assert "<" not in parsed.text
    assert "alert" not in parsed.text
    assert "color" not in parsed.text
    assert parsed.text.splitlines()[:3] == ["Dzień dobry,", "", "cena: 12 000 zł"]
    assert "termin: marzec" in parsed.text
    assert "okna" in parsed.text
    assert "drzwi" in parsed.text


def test_a_malformed_file_is_refused_in_words_and_the_others_are_saved(db: Database, admin: users.User) -> None:
    _, _, thread_id = setup_thread(db, admin)
    outcomes = mail.import_messages(
        db,
        admin,
        [("notes.txt", b"\x00\x01 not a message at all"), ("ok.eml", message()), ("empty.eml", b"")],
        thread_id=thread_id,
        lang="pl",
    )
    assert [o.event_id is not None for o in outcomes] == [False, True, False]
    assert isinstance(outcomes[0].error, ValidationError)
    assert translate(outcomes[0].error.errors[0].key, "pl").startswith("To nie jest wiadomość e-mail")
    assert outcomes[2].error.errors[0].key == "mail.empty"
    with db.read() as tx:
        assert tx.scalar("SELECT count(*) FROM event_messages") == 1


def test_a_long_message_is_cut_in_the_note_said_so_and_attached_whole(db: Database, admin: users.User) -> None:
    _, _, thread_id = setup_thread(db, admin)
    data = message(body="Line of the offer.\n" * 2000)
    (outcome,) = mail.import_messages(db, admin, [("long.eml", data)], thread_id=thread_id)
    assert outcome.event_id is not None, outcome.error
    detail = threads.thread_events(db, thread_id)
    note = next(e.note for e in detail if e.id == outcome.event_id)
    assert note.endswith(translate("mail.cut", "en"))
    with db.read() as tx:
        size = tx.scalar(
            "SELECT size_bytes FROM attachments WHERE event_id = ? AND display_name = 'long.eml'", [outcome.event_id]
        )
    assert size == len(data)
