"""The private calendar feed (`/calendar/<secret>.ics`): read by two independent parsers
(icalendar and vobject) the way phone and desktop calendars would, and served over HTTP only
for a live secret."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import urllib.error
import urllib.request
from zoneinfo import ZoneInfo

import icalendar
import pytest
import vobject
from dateutil import tz as dateutil_tz

from crm_data import ics, plan_changes, planning, setup, users
from crm_data.db import Database
from crm_data.identity import User
from crm_data.planning import PlanEvent
from tests.helpers import PASSWORD, call, first_type, new_client

WARSAW = ZoneInfo("Europe/Warsaw")
HOST = "crm.example.com"


def at(day: str, hhmm: str) -> dt.datetime:
    """A Warsaw wall-clock time as an aware datetime."""
    return dt.datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=WARSAW)


@pytest.fixture
def thread(db: Database, member: User) -> int:
    return call(db, member, new_client(db, member, name="Kowalski i Syn")).thread_id


@pytest.fixture
def room(db: Database, admin: User) -> int:
    with db.transaction() as tx:
        room_id = tx.scalar(
            "INSERT INTO resources (name, kind, buffer_min) VALUES ('Sala Złota', 'room', 0) RETURNING id"
        )
    db.dictionaries_changed()
    return room_id


def plan(db: Database, actor: User, thread: int, start: dt.datetime, minutes: int = 60, **kw) -> int:
    cmd = PlanEvent(type_id=first_type(db), starts_at=start, duration_min=minutes, thread_id=thread, **kw)
    return planning.plan_event(db, actor, cmd).event_ids[0]


def fetch_feed(db: Database, user: User, **kw) -> bytes:
    secret = ics.new_feed(db, user, **kw)
    body = ics.feed(db, secret, host=HOST)
    assert body is not None
    return body


def by_icalendar(body: bytes) -> dict[str, icalendar.Event]:
    cal = icalendar.Calendar.from_ical(body)
    return {str(e["uid"]): e for e in cal.walk("VEVENT")}


def by_vobject(body: bytes) -> dict[str, object]:
    cal = vobject.readOne(body.decode("utf-8"))
    return {e.uid.value: e for e in getattr(cal, "vevent_list", [])}


def uid(event_id: int) -> str:
    return f"event-{event_id}@{HOST}"


# -- what the feed holds ---------------------------------------------------------------------------
def test_two_parsers_read_the_same_times_across_the_dst_change(db: Database, member: User, thread: int):
    # Poland moves its clocks on 26 March 2028: 10:00 is 09:00 UTC before and 08:00 UTC after
    before = plan(db, member, thread, at("2028-03-24", "10:00"), 60, accept_conflicts=True)
    after = plan(db, member, thread, at("2028-03-27", "10:00"), 90, accept_conflicts=True)
    body = fetch_feed(db, member)
    first, second = by_icalendar(body), by_vobject(body)
    assert set(first) == set(second) == {uid(before), uid(after)}
    for parsed_start, parsed_end, event_id, utc_hour, length in (
        (first[uid(before)].decoded("dtstart"), first[uid(before)].decoded("dtend"), before, 9, 60),
        (first[uid(after)].decoded("dtstart"), first[uid(after)].decoded("dtend"), after, 8, 90),
        (second[uid(before)].dtstart.value, second[uid(before)].dtend.value, before, 9, 60),
        (second[uid(after)].dtstart.value, second[uid(after)].dtend.value, after, 8, 90),
    ):
        assert parsed_start.tzinfo is not None, event_id
        assert parsed_start.astimezone(WARSAW).strftime("%H:%M") == "10:00"
        assert parsed_start.astimezone(dt.UTC).hour == utc_hour
        assert parsed_end - parsed_start == dt.timedelta(minutes=length)


def test_the_feed_carries_the_organisations_time_zone_and_a_refresh_hint(db: Database, member: User, thread: int):
    plan(db, member, thread, at("2028-03-27", "10:00"))
    body = fetch_feed(db, member)
    cal = icalendar.Calendar.from_ical(body)
    assert [str(tz["tzid"]) for tz in cal.walk("VTIMEZONE")] == ["Europe/Warsaw"]
    assert b"DTSTART;TZID=Europe/Warsaw:20280327T100000" in body
    assert cal.decoded("refresh-interval") == dt.timedelta(minutes=15)
    assert b"X-PUBLISHED-TTL:PT15M" in body  # Outlook reads this one; a duration, not "0:15:00"
    assert str(cal["version"]) == "2.0"
    assert "PRODID" in cal
    parsed = vobject.readOne(body.decode())
    assert parsed.vtimezone.tzid.value == "Europe/Warsaw"


def test_a_reschedule_raises_the_sequence_and_keeps_the_uid(db: Database, member: User, thread: int):
    event_id = plan(db, member, thread, at("2028-03-27", "10:00"))
    before = by_icalendar(fetch_feed(db, member))[uid(event_id)]
    version = before.decoded("sequence")
    plan_changes.reschedule(
        db, member, event_id, at("2028-03-28", "11:00"), at("2028-03-28", "12:00"), expected_version=version
    )
    body = fetch_feed(db, member)
    moved, moved_too = by_icalendar(body)[uid(event_id)], by_vobject(body)[uid(event_id)]
    assert moved.decoded("sequence") > before.decoded("sequence")
    assert int(moved_too.sequence.value) == moved.decoded("sequence")
    assert moved.decoded("dtstart").astimezone(WARSAW) == at("2028-03-28", "11:00")
    assert moved.decoded("last-modified") >= before.decoded("last-modified")
    assert moved.decoded("dtstamp").tzinfo is not None


def test_a_cancelled_event_stays_in_the_feed_as_cancelled(db: Database, member: User, thread: int):
    kept = plan(db, member, thread, at("2028-03-27", "10:00"))
    gone = plan(db, member, thread, at("2028-03-27", "14:00"))
    version = by_icalendar(fetch_feed(db, member))[uid(gone)].decoded("sequence")
    plan_changes.cancel(db, member, gone, expected_version=version)
    body = fetch_feed(db, member)
    first, second = by_icalendar(body), by_vobject(body)
    assert str(first[uid(gone)]["status"]) == "CANCELLED"
    assert second[uid(gone)].status.value == "CANCELLED"
    assert first[uid(gone)].decoded("sequence") > version
    assert not first[uid(gone)].walk("VALARM")  # no alarm for a meeting that will not happen
    assert str(first[uid(kept)]["status"]) == "CONFIRMED"


def test_location_names_the_booked_resource_and_the_alarm_follows_the_reminder(
    db: Database, member: User, thread: int, room: int
):
    booked = plan(db, member, thread, at("2028-03-27", "10:00"), resource_ids=(room,), remind_before_min=30)
    plain = plan(db, member, thread, at("2028-03-27", "14:00"), remind_before_min=15)
    body = fetch_feed(db, member)
    first, second = by_icalendar(body), by_vobject(body)
    assert str(first[uid(booked)]["location"]) == "Sala Złota"
    assert second[uid(booked)].location.value == "Sala Złota"
    assert "LOCATION" not in first[uid(plain)]
    assert [a.decoded("trigger") for a in first[uid(booked)].walk("VALARM")] == [dt.timedelta(minutes=-30)]
    assert [a.decoded("trigger") for a in first[uid(plain)].walk("VALARM")] == [dt.timedelta(minutes=-15)]
    assert second[uid(booked)].valarm.trigger.value == dt.timedelta(minutes=-30)
    assert str(first[uid(booked)].walk("VALARM")[0]["action"]) == "DISPLAY"
    assert "Kowalski i Syn" in str(first[uid(booked)]["summary"])


def test_the_feed_holds_my_events_and_the_delegated_ones_only_when_asked(
    db: Database, member: User, other_member: User, thread: int
):
    mine = plan(db, member, thread, at("2028-03-27", "10:00"))
    delegated = plan(db, member, thread, at("2028-03-27", "12:00"), assignee_id=other_member.id)
    theirs_to_me = plan(db, other_member, thread, at("2028-03-28", "10:00"), assignee_id=member.id)
    assert set(by_icalendar(fetch_feed(db, member))) == {uid(mine), uid(theirs_to_me)}
    assert set(by_vobject(fetch_feed(db, member, include_delegated=True))) == {
        uid(mine),
        uid(delegated),
        uid(theirs_to_me),
    }
    assert set(by_icalendar(fetch_feed(db, other_member))) == {uid(delegated)}


def test_a_user_with_nothing_planned_gets_a_valid_empty_calendar(db: Database, member: User):
    body = fetch_feed(db, member)
    assert by_icalendar(body) == {}
    assert by_vobject(body) == {}


# -- the secret ------------------------------------------------------------------------------------
def test_the_secret_is_stored_only_as_its_sha256(db: Database, member: User):
    secret = ics.new_feed(db, member)
    with db.read() as tx:
        rows = tx.all("SELECT * FROM calendar_feeds WHERE user_id = ?", [member.id])
    assert secret not in repr(rows)
    assert rows[0][2] == hashlib.sha256(secret.encode()).hexdigest()


def test_a_revoked_or_regenerated_secret_gives_nothing(db: Database, admin: User, member: User):
    first = ics.new_feed(db, member)
    second = ics.new_feed(db, member, include_delegated=True)
    assert ics.feed(db, first) is None
    assert ics.feed(db, second) is not None
    assert ics.current_feed(db, member).include_delegated is True
    ics.revoke_feed(db, member)
    assert ics.feed(db, second) is None
    assert ics.current_feed(db, member) is None
    third = ics.new_feed(db, member)
    users.set_active(db, admin, member.id, False)
    assert ics.feed(db, third) is None  # a deactivated user's feed stops too
    for made_up in ("", "x" * 500, "not-a-secret"):
        assert ics.feed(db, made_up) is None


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


@pytest.mark.slow
def test_over_http_a_live_secret_gets_the_calendar_and_a_revoked_or_regenerated_one_404(server_factory):
    secrets: dict[str, str] = {}

    def prepare(db: Database) -> None:
        admin = setup.create_first_admin(db, login="admin", display_name="Ada Admin", password=PASSWORD)
        member = users.create_user(db, admin, login="sam", display_name="Sam Seller", password=PASSWORD)
        thread = call(db, member, new_client(db, member)).thread_id
        plan(db, member, thread, at("2028-03-27", "10:00"))
        secrets["old"] = ics.new_feed(db, member)
        secrets["live"] = ics.new_feed(db, member)  # regenerated: the old one stops
        other = users.create_user(db, admin, login="olga", display_name="Olga Other", password=PASSWORD)
        secrets["revoked"] = ics.new_feed(db, other)
        ics.revoke_feed(db, other)

    server = server_factory(prepare)
    status, headers, body = get(f"{server.url}/calendar/{secrets['live']}.ics")
    assert status == 200
    assert headers["content-type"].startswith("text/calendar")
    assert len(by_icalendar(body)) == 1
    assert len(by_vobject(body)) == 1
    uids = set(by_icalendar(body))
    assert next(iter(uids)).endswith("@crm.local")
    # the same feed under another name of the host: the same events, not copies of them
    _, _, again = get(f"{server.url.replace('127.0.0.1', 'localhost')}/calendar/{secrets['live']}.ics")
    assert set(by_icalendar(again)) == uids
    for name in ("old", "revoked"):
        status, _, body = get(f"{server.url}/calendar/{secrets[name]}.ics")
        assert status == 404, name
        assert b"BEGIN:VCALENDAR" not in body
    assert get(f"{server.url}/calendar/made-up.ics")[0] == 404


@pytest.mark.parametrize(
    "zone", ["Europe/Warsaw", "Europe/London", "America/New_York", "Australia/Sydney", "Asia/Tokyo"]
)
def test_the_time_zone_rule_gives_the_same_offsets_as_the_zone_database_for_years_ahead(zone: str):
    component = ics._vtimezone(zone, 2026)
    assert component is not None
    assert b"RDATE" not in component.to_ical()
    # read by dateutil's VTIMEZONE parser (the one vobject builds on), not by name
    parsed = dateutil_tz.tzical(io.StringIO(component.to_ical().decode())).get()
    day = dt.datetime(2026, 1, 1, 12)
    while day.year < 2031:
        assert day.replace(tzinfo=parsed).utcoffset() == day.replace(tzinfo=ZoneInfo(zone)).utcoffset(), day
        day += dt.timedelta(days=3)


def test_a_zone_without_a_yearly_rule_falls_back_to_the_full_list_of_changes():
    assert ics._vtimezone("Africa/Casablanca", 2026) is None  # Ramadan moves every year
