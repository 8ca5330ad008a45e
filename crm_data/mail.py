"""E-mails into a thread: `.eml` files (as Outlook, Thunderbird or Gmail's "download message"
save them) become events of the e-mail type, written through `events.log_event` like any logged
event: the date the message was sent, its sender and recipients as participants (a client's
contact when the address is known), the subject and the plain-text body as the note (an HTML-only
message turned into readable text), its attachments as attachments and the message itself
attached whole. A message is recognised by its Message-ID: dropped twice, it is not doubled.

Parsing uses Python's `email` package with the modern policy; a file that is not a message, or
one without a date, gets a clear message in the user's language and nothing is written for it."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import email.utils
import hashlib
import html
import re
import unicodedata
from dataclasses import dataclass, field
from email.message import EmailMessage
from html.parser import HTMLParser

from crm_data import clients, dictionaries, event_parts, events, threads
from crm_data.db import Database
from crm_data.errors import CrmError, ValidationError
from crm_data.i18n import translate
from crm_data.identity import User
from crm_data.rules import MAX_NOTE, strip_invisible

MAX_FILES = 20  # .eml files in one drop
MAX_MAIL_BYTES = 25 * 1024 * 1024
EMAIL_TYPE_NAMES = ("e-mail", "email", "mail")  # how the e-mail event type is recognised by name


@dataclass(frozen=True)
class Mail:
    message_id: str
    subject: str
    sent_at: dt.datetime
    sender: tuple[str, str]  # (name, address)
    recipients: tuple[tuple[str, str], ...]
    text: str
    attachments: tuple[tuple[str, bytes], ...] = field(default_factory=tuple)


class _Text(HTMLParser):
    """The readable text of an HTML message: paragraphs and line breaks kept, scripts and styles
    dropped, links' text kept."""

    BLOCKS = frozenset({"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:  # noqa: ARG002 - the parser passes them
        if tag in ("script", "style", "head"):
            self.skip += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")
        elif tag == "li":
            self.parts.append("\n• ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head"):
            self.skip = max(0, self.skip - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    parser = _Text()
    parser.feed(markup)
    parser.close()
    text = html.unescape("".join(parser.parts))
    lines = [re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _clean(text: str) -> str:
    """Text a note accepts: no invisible or control characters (but line breaks and tabs)."""
    text = unicodedata.normalize("NFC", strip_invisible(text))
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc").replace("\r", "")


def _file_name(name: str | None, fallback: str) -> str:
    """An attachment's name made acceptable (no path, no forbidden or control characters)."""
    text = _clean(name or "").replace("\n", " ").replace("\t", " ")
    text = re.sub(r'[<>:"/\\|?*]', "_", text).strip(" .")[:200]
    return text or fallback


def parse(data: bytes) -> Mail:
    """The message in `data`, or ValidationError (field `file`) when it is not one."""
    if not isinstance(data, bytes) or not data.strip():
        raise ValidationError.single("file", "mail.empty")
    if len(data) > MAX_MAIL_BYTES:
        raise ValidationError.single("file", "mail.too_large", max=MAX_MAIL_BYTES // (1024 * 1024))
    message = email.message_from_bytes(data, _class=EmailMessage, policy=email.policy.default)
    if not any(message.get(h) for h in ("From", "Date", "Subject", "Message-ID")):
        raise ValidationError.single("file", "mail.not_a_message")
    try:
        sent_at = email.utils.parsedate_to_datetime(str(message["Date"])) if message["Date"] else None
    except (TypeError, ValueError, IndexError):
        sent_at = None
    if sent_at is None:
        raise ValidationError.single("file", "mail.no_date")
    if sent_at.tzinfo is None:
        sent_at = sent_at.replace(tzinfo=dt.UTC)
    sender = email.utils.parseaddr(str(message.get("From", "")))
    recipients = tuple(
        (name, address)
        for name, address in email.utils.getaddresses([str(v) for h in ("To", "Cc") for v in message.get_all(h, [])])
        if address
    )
    body = message.get_body(preferencelist=("plain", "html"))
    text = ""
    if body is not None:
        try:
            content = body.get_content()
        except (LookupError, ValueError):  # an unknown charset: read what can be read
            content = (body.get_payload(decode=True) or b"").decode("utf-8", "replace")
        text = html_to_text(content) if body.get_content_type() == "text/html" else content
    files = []
    for i, part in enumerate(message.iter_attachments(), start=1):
        payload = part.get_payload(decode=True)
        if payload:
            files.append((_file_name(part.get_filename(), f"attachment-{i}"), payload))
    message_id = str(message.get("Message-ID", "")).strip()
    # a message without an id is recognised by its content
    key = message_id or "sha256:" + hashlib.sha256(data).hexdigest()
    return Mail(
        message_id=key[:998],
        subject=_clean(str(message.get("Subject", ""))).replace("\n", " ").strip(),
        sent_at=sent_at,
        sender=(_clean(sender[0]), sender[1].lower()),
        recipients=tuple((_clean(n), a.lower()) for n, a in recipients),
        text=_clean(text).strip(),
        attachments=tuple(files),
    )


def email_type(db: Database) -> int:
    """The event type an e-mail becomes: the active one named "E-mail" (in any language), else
    the first active type."""
    look = dictionaries.lookups(db)
    active = look.active(look.event_types)
    for t in active:
        names = {(n or "").strip().lower() for n in (t.name, getattr(t, "name_en", None), getattr(t, "name_pl", None))}
        if names & set(EMAIL_TYPE_NAMES):
            return t.id
    if not active:
        raise ValidationError.single("type_id", "validation.required")
    return active[0].id


@dataclass(frozen=True)
class Outcome:
    """What became of one dropped file: `event_id` when it was saved, `duplicate` when the same
    message was already in the CRM, else `error` (a CrmError to show)."""

    name: str
    event_id: int | None = None
    duplicate: bool = False
    error: CrmError | None = None


def _note(mail: Mail, f_sender: str, f_to: str, more: int, lang: str) -> str:
    head = [mail.subject or translate("mail.no_subject", lang), f_sender, f_to]
    tail = "\n\n" + translate("mail.more_attachments", lang, n=more) if more else ""
    body = mail.text
    room = MAX_NOTE - len("\n".join(head)) - len(tail) - 2
    if len(body) > room:
        cut = translate("mail.cut", lang)
        body = body[: max(0, room - len(cut) - 2)].rstrip() + "\n\n" + cut
    return "\n".join(head) + "\n\n" + body + tail


def import_messages(
    db: Database,
    actor: User,
    files: list[tuple[str, bytes]],
    *,
    thread_id: int | None = None,
    client_id: int | None = None,
    lang: str = "en",
) -> list[Outcome]:
    """Each `.eml` file (name, bytes) as an e-mail event in `thread_id` (or, for a client, in a
    new thread of its own); each file on its own: a bad one is reported and the others saved."""
    if len(files) > MAX_FILES:
        raise ValidationError.single("files", "validation.too_many", max=MAX_FILES)
    type_id = email_type(db)
    # the client whose contacts the addresses are matched with: read once for the whole drop
    owner_client = threads.get_thread(db, thread_id).client_id if thread_id is not None else client_id
    contacts = {c.email.lower(): c.id for c in clients.contacts_of(db, owner_client) if c.email} if owner_client else {}
    out = []
    for name, data in files:
        try:
            mail = parse(data)
            if events.message_known(db, mail.message_id):
                out.append(Outcome(name, duplicate=True))
                continue
            people = [mail.sender, *mail.recipients]
            participants = []
            seen: set[str] = set()
            for person_name, address in people:
                if address in seen:
                    continue
                seen.add(address)
                if address in contacts:
                    participants.append(events.ParticipantInput(contact_id=contacts[address]))
                else:
                    label = f"{person_name} <{address}>" if person_name else address
                    participants.append(events.ParticipantInput(name=label[:200]))
            kept = list(mail.attachments[: event_parts.MAX_ATTACHMENTS - 1])
            more = len(mail.attachments) - len(kept)
            sender = translate("mail.from", lang, who=_who(mail.sender))
            to = translate("mail.to", lang, who=", ".join(_who(r) for r in mail.recipients) or "—")
            result = events.log_event(
                db,
                actor,
                events.LogEvent(
                    type_id=type_id,
                    occurred_at=mail.sent_at,
                    client_id=owner_client,
                    thread_id=thread_id,
                    new_thread_title=(mail.subject or translate("mail.no_subject", lang))[:200],
                    note=_note(mail, sender, to, more, lang),
                    participants=tuple(participants[:50]),
                    attachments=(
                        *(events.AttachmentInput(n, d) for n, d in kept),
                        events.AttachmentInput(_file_name(name, "message.eml"), data),
                    ),
                    message_id=mail.message_id,
                    lang=lang,
                ),
            )
            out.append(Outcome(name, event_id=result.event_id))
        except CrmError as exc:
            out.append(Outcome(name, error=exc))
    return out


def _who(person: tuple[str, str]) -> str:
    name, address = person
    return f"{name} <{address}>" if name else address
