"""Moving in (issue 23): deals and activities from another CRM's export become threads and
events whose reports equal what pandas computes from the same files; a second import of the
same files changes nothing; a bad row never stops the preview; all or nothing."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pandas as pd
import pytest

from crm_data import deal_import, deal_writer, dictionaries, rollups
from crm_data import settings as org_settings
from crm_data.db import Database
from crm_data.errors import ValidationError
from crm_data.identity import User
from crm_data.imports import read_table
from crm_data.reports import ReportFilter
from crm_data.reports.forecast import forecast
from crm_data.reports.funnel import funnel
from crm_data.reports.money import money
from tests.export_sample import make_export

ZONE = "Europe/Warsaw"


def _choices(db: Database, deals: pd.DataFrame, activities: pd.DataFrame | None = None):
    dm = deal_import.guess_mapping(list(deals.columns), "deals")
    am = deal_import.guess_mapping(list(activities.columns), "activities") if activities is not None else None
    values = deal_import.source_values(deals, dm, activities, am)
    choices = deal_import.guess_choices(db, values)
    look = dictionaries.lookups(db)
    lead = next(s for s in look.stages.values() if s.name == "Lead")
    for key in choices.stages:
        if key[1] == "Prospecting":  # no stage here is called so: the user maps it
            choices.stages[key] = lead.id
    return dm, am, choices


def _import(db: Database, admin: User, deals: pd.DataFrame, activities: pd.DataFrame | None, now: dt.datetime):
    dm, am, choices = _choices(db, deals, activities)
    plan = deal_import.plan(db, deals, dm, choices, activities, am, now=now)
    return plan, deal_import.apply(db, admin, plan, now=now)


def test_guessed_mapping_of_a_salesforce_export(db: Database, admin: User, now: dt.datetime) -> None:
    deals, activities = make_export(1, 10, 60, now.date())
    dm, am, choices = _choices(db, deals, activities)
    assert dm["deal_id"] == "Opportunity ID"
    assert dm["account"] == "Account Name"
    assert dm["owner"] == "Opportunity Owner"
    assert dm["created"] == "Created Date"
    assert dm["closed"] == "Close Date"
    assert dm["amount"] == "Amount"
    assert dm["product"] == "Product"
    assert dm["lost_reason"] == "Lost Reason"
    assert am["deal_id"] == "Opportunity ID"
    assert am["activity_id"] == "Activity ID"
    assert am["note"] == "Description"
    look = dictionaries.lookups(db)
    stage_names = {k[1]: look.stages[v].name for k, v in choices.stages.items()}
    assert stage_names["Closed Won"] == "Won"
    assert stage_names["Closed Lost"] == "Lost"
    assert stage_names["Negotiation"] == "Negotiation"
    assert all(v == deal_import.NEW_USER for v in choices.owners.values())  # nobody of them works here yet
    type_names = {k: look.event_types[v].name for k, v in choices.types.items()}
    assert type_names == {"Call": "Call", "Meeting": "Meeting", "Email": "E-mail", "Note": "Note"}


def _expected(deals: pd.DataFrame, now: dt.datetime) -> dict:
    """What the reports must say, computed by pandas from the export itself."""
    d = deals.copy()
    d["status"] = d["Stage"].map({"Closed Won": "won", "Closed Lost": "lost"}).fillna("open")
    d["amount"] = (
        pd.to_numeric(d["Amount"], errors="coerce").fillna(0).map(lambda x: Decimal(str(x)).quantize(Decimal("0.01")))
    )
    # noon on the wall clock there (on a day the clocks change, not midnight + 12 hours)
    local = lambda col: (pd.to_datetime(d[col]) + pd.Timedelta(hours=12)).dt.tz_localize(ZONE)  # noqa: E731
    d["created"] = local("Created Date")
    d["closed"] = local("Close Date")
    won = d[d.status == "won"]
    return {"frame": d, "won": won}


def test_reports_reproduce_the_export(db: Database, admin: User, now: dt.datetime) -> None:
    today = now.astimezone(org_settings.zone(org_settings.cached(db))).date()
    deals, activities = make_export(7, 1500, 2000, today)
    plan, written = _import(db, admin, deals, activities, now)
    assert plan.counts("deals") == {"new": 1500, "update": 0, "unchanged": 0, "error": 0}
    assert plan.counts("activities")["new"] == 2000
    assert written["threads"] == 1500
    e = _expected(deals, now)
    d, won = e["frame"], e["won"]
    start, end = today - dt.timedelta(days=800), today
    look = dictionaries.lookups(db)
    amount_type = plan.choices.amount_type_id

    # funnel: threads, won, lost, win rate, and threads at each stage now
    f = funnel(db, ReportFilter(start, end, amount_type_id=amount_type), now=now)
    assert (f.threads, f.won, f.lost) == (1500, (d.status == "won").sum(), (d.status == "lost").sum())
    assert f.win_rate == pytest.approx((d.status == "won").sum() / (d.status != "open").sum())
    at_now = {row.stage: row.at_now for row in f.stages.itertuples() if row.at_now}
    expected_stage = (
        d["Stage"].map({"Closed Won": "Won", "Closed Lost": "Lost", "Prospecting": "Lead"}).fillna(d["Stage"])
    )
    assert at_now == expected_stage.value_counts().to_dict()
    # value of the won deals
    assert Decimal(f.outcomes["won_value"].sum()) == sum(won["amount"], Decimal(0))
    # days from opening to close: a closed deal spent them in the first stage
    closed = d[d.status != "open"]
    open_lead = d[(d.status == "open") & (d["Stage"] == "Prospecting")]
    lead_days = list((closed["closed"] - closed["created"]).dt.total_seconds() / 86400)
    lead_days += list((now - open_lead["created"]).dt.total_seconds() / 86400)
    lead = f.stages[f.stages["stage"] == "Lead"].iloc[0]
    assert lead.avg_days == pytest.approx(sum(lead_days) / len(lead_days), rel=1e-6)

    # won value per quarter and owner (the forecast's "won")
    q = ReportFilter(today.replace(month=1, day=1) - dt.timedelta(days=365), end, granularity="quarter")
    fc = forecast(db, q, today=today)
    names = {p.id: p.display_name for p in look.people.values()}
    got = {(r.period, names.get(r.key, r.key)): Decimal(r.won) for r in fc.rows.itertuples() if r.won}
    wq = won.assign(
        period=won["closed"].dt.tz_convert(ZONE).dt.tz_localize(None).dt.to_period("Q").dt.start_time.dt.date
    )
    wq = wq[wq.period >= q.start]
    want = {(k[0], k[1]): sum(g["amount"], Decimal(0)) for k, g in wq.groupby(["period", "Opportunity Owner"])}
    assert got == {k: v for k, v in want.items() if v}

    # Money per quarter and product: a won or lost deal's amount on its close date, an open one's
    # on its created date
    m = money(
        db,
        ReportFilter(start, end, granularity="quarter", dimension="product", amount_type_id=amount_type),
        today=today,
        top=50,
    )
    products = {p.id: p.name for p in look.products.values()}
    got_money = {(r.period, products[r.key]): Decimal(r.total) for r in m.rows.itertuples() if r.total}
    d["on"] = d["closed"].where(d.status != "open", d["created"])
    d["period"] = d["on"].dt.tz_convert(ZONE).dt.tz_localize(None).dt.to_period("Q").dt.start_time.dt.date
    want_money = {k: sum(g["amount"], Decimal(0)) for k, g in d.groupby(["period", "Product"])}
    assert got_money == {k: v for k, v in want_money.items() if v}

    with db.read() as tx:
        assert rollups.differences(tx) == 0
        assert tx.scalar("SELECT count(*) FROM events") == 1500 + (d.status != "open").sum() + 2000
        owners = tx.all("SELECT display_name, active FROM users WHERE id IN (SELECT owner_id FROM threads)")
    assert sorted(owners) == sorted((o, False) for o in d["Opportunity Owner"].unique())


def test_the_same_files_again_change_nothing_and_a_changed_row_is_logged(
    db: Database, admin: User, now: dt.datetime
) -> None:
    deals, activities = make_export(3, 60, 80, now.date())
    _import(db, admin, deals, activities, now)
    with db.read() as tx:
        before = tx.all("SELECT count(*), (SELECT count(*) FROM threads), (SELECT count(*) FROM clients) FROM events")
    plan, _ = _import(db, admin, deals, activities, now)
    assert plan.counts("deals")["unchanged"] == 60
    assert plan.counts("activities")["unchanged"] == 80
    assert plan.writes == 0
    with db.read() as tx:
        assert (
            tx.all("SELECT count(*), (SELECT count(*) FROM threads), (SELECT count(*) FROM clients) FROM events")
            == before
        )

    # one open deal is won meanwhile at a higher value; one activity's note is corrected
    i = deals.index[deals["Stage"].isin(deal_import_open := ["Qualified", "Proposal", "Negotiation"])][0]
    assert deal_import_open
    deals.loc[i, ["Stage", "Close Date", "Amount"]] = [
        "Closed Won",
        (now.date() - dt.timedelta(days=2)).isoformat(),
        "99999.00",
    ]
    activities.loc[0, "Description"] = "Corrected note"
    plan, _written = _import(db, admin, deals, activities, now)
    assert plan.counts("deals") == {"new": 0, "update": 1, "unchanged": 59, "error": 0}
    assert plan.counts("activities") == {"new": 0, "update": 1, "unchanged": 79, "error": 0}
    row = next(r for r in plan.deals if r.status == "update")
    assert set(row.changes) >= {"stage", "amount"}
    with db.read() as tx:
        status, value = tx.one(
            "SELECT t.status, v.value FROM threads t JOIN thread_values v ON v.thread_id = t.id"
            " JOIN import_keys k ON k.entity_id = t.id AND k.kind = 'deal' WHERE k.external_id = ?",
            [deals.loc[i, "Opportunity ID"]],
        )
        assert (status, value) == ("won", Decimal("99999.00"))
        assert tx.scalar(
            "SELECT note FROM events WHERE id = (SELECT entity_id FROM import_keys WHERE kind = 'activity' AND external_id = ?)",
            [activities.loc[0, "Activity ID"]],
        ).endswith("Corrected note")
        assert rollups.differences(tx) == 0
        assert tx.scalar("SELECT count(*) FROM threads") == before[0][1]


def test_bad_rows_are_listed_with_their_reasons_and_never_stop_the_preview(
    db: Database, admin: User, now: dt.datetime
) -> None:
    deals, activities = make_export(5, 8, 4, now.date())
    won = deals.index[deals["Stage"] == "Closed Won"][0]
    deals.loc[0, "Created Date"] = "yesterday"
    deals.loc[1, "Stage"] = "Sleeping"
    deals.loc[2, "Currency"] = "EUR"
    deals.loc[3, "Opportunity ID"] = deals.loc[4, "Opportunity ID"]
    deals.loc[won, "Close Date"] = ""
    activities.loc[0, "Opportunity ID"] = "nope"
    activities.loc[1, "Date"] = (now.date() + dt.timedelta(days=5)).isoformat()
    dm, am, choices = _choices(db, deals, activities)
    plan = deal_import.plan(db, deals, dm, choices, activities, am, now=now)
    reasons = {r.line: [e.key for e in r.errors] for r in [*plan.deals] if r.errors}
    assert "moving.not_a_date" in reasons[2]
    assert reasons[3] == ["moving.stage_unmapped"]
    assert reasons[4] == ["moving.currency"]
    assert "moving.id_twice" in reasons[6]
    assert "moving.close_date_needed" in reasons[won + 2]
    act = {r.line: [e.key for e in r.errors] for r in plan.activities if r.errors}
    assert act[2] == ["moving.no_deal"]
    assert act[3] == ["moving.activity_future"]
    # the good rows are still there, and only they are written
    good = sum(r.status == "new" for r in plan.deals)
    assert good == 8 - len(reasons)
    written = deal_import.apply(db, admin, plan, now=now)
    assert written["threads"] == good


def test_dates_as_other_systems_write_them() -> None:
    import zoneinfo

    zone = zoneinfo.ZoneInfo(ZONE)
    noon = dt.datetime(2025, 3, 31, 10, tzinfo=dt.UTC)  # 12:00 in Warsaw (summer time)
    assert deal_import.parse_moment("2025-03-31", zone, day_first_=True) == noon
    assert deal_import.parse_moment("31.03.2025", zone, day_first_=False) == noon
    assert deal_import.parse_moment("03/31/2025", zone, day_first_=False) == noon
    assert deal_import.parse_moment("31/03/2025", zone, day_first_=True) == noon
    assert deal_import.parse_moment("2025-03-31 00:00:00", zone, day_first_=True) == dt.datetime(
        2025, 3, 30, 22, tzinfo=dt.UTC
    )
    assert deal_import.parse_moment("03/31/2025 2:30 PM", zone, day_first_=False) == dt.datetime(
        2025, 3, 31, 12, 30, tzinfo=dt.UTC
    )
    assert deal_import.day_first(["01/02/2025", "13/02/2025"], "en") is True
    assert deal_import.day_first(["01/02/2025", "02/13/2025"], "pl") is False
    for bad in ("2025-02-30", "tomorrow", "1/2", "31.13.2025"):
        with pytest.raises(ValueError):
            deal_import.parse_moment(bad, zone, day_first_=True)


def test_all_or_nothing(db: Database, admin: User, now: dt.datetime, monkeypatch: pytest.MonkeyPatch) -> None:
    deals, activities = make_export(9, 30, 30, now.date())
    dm, am, choices = _choices(db, deals, activities)
    plan = deal_import.plan(db, deals, dm, choices, activities, am, now=now)
    real = deal_writer._insert

    def failing(tx, table, rows):
        if table == "event_products":
            raise RuntimeError("disk full")
        real(tx, table, rows)

    monkeypatch.setattr(deal_writer, "_insert", failing)
    with db.read() as tx:
        before = tx.all(
            "SELECT (SELECT count(*) FROM threads), (SELECT count(*) FROM clients), (SELECT count(*) FROM users)"
        )
    with pytest.raises(RuntimeError):
        deal_import.apply(db, admin, plan, now=now)
    with db.read() as tx:
        after = tx.all(
            "SELECT (SELECT count(*) FROM threads), (SELECT count(*) FROM clients), (SELECT count(*) FROM users)"
        )
        assert tx.scalar("SELECT count(*) FROM import_keys") == 0
    assert after == before


def test_only_admins_import_and_the_mapping_must_name_the_required_columns(
    db: Database, admin: User, member: User, now: dt.datetime
) -> None:
    deals, _ = make_export(2, 5, 0, now.date())
    dm, _, choices = _choices(db, deals)
    with pytest.raises(ValidationError) as exc:
        deal_import.plan(db, deals, dm | {"stage": None}, choices, now=now)
    assert [e.key for e in exc.value.errors] == ["moving.map_required"]
    plan = deal_import.plan(db, deals, dm, choices, now=now)
    from crm_data.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        deal_import.apply(db, member, plan, now=now)


def test_an_xlsx_export_reads_like_the_csv(db: Database, admin: User, now: dt.datetime) -> None:
    deals, _ = make_export(4, 12, 0, now.date())
    buffer = io.BytesIO()
    deals.to_excel(buffer, index=False)
    frame = read_table(buffer.getvalue(), "opportunities.xlsx")
    csv = read_table(deals.to_csv(index=False).encode(), "opportunities.csv")
    dm, _, choices = _choices(db, frame)
    a = deal_import.plan(db, frame, dm, choices, now=now)
    b = deal_import.plan(db, csv, dm, choices, now=now)
    assert [r.fingerprint for r in a.deals] == [r.fingerprint for r in b.deals]
    assert a.counts("deals")["new"] == 12


def test_a_saved_mapping_comes_back_as_it_was_chosen(db: Database, admin: User, member: User, now: dt.datetime) -> None:
    deals, activities = make_export(6, 20, 10, now.date())
    dm, am, choices = _choices(db, deals, activities)
    choices.owners["Jan Kowalski"] = admin.id
    chosen = deal_import.Setup(dm | {"tax_id": "Account Name"}, am, choices)
    deal_import.save_setup(db, admin, "  Salesforce  ", chosen, now=now)
    deal_import.save_setup(db, admin, "Salesforce", chosen, now=now)  # saved again: replaced
    assert deal_import.saved_setups(db) == {"Salesforce": chosen}
    with pytest.raises(ValidationError):
        deal_import.save_setup(db, admin, " ", chosen, now=now)
    from crm_data.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        deal_import.save_setup(db, member, "Mine", chosen, now=now)
    with db.read() as tx:
        assert tx.scalar("SELECT count(*) FROM audit_log WHERE entity = 'import' AND action = 'mapping'") == 2


def test_an_import_is_in_the_audit_log(db: Database, admin: User, now: dt.datetime) -> None:
    deals, activities = make_export(8, 25, 30, now.date())
    _, written = _import(db, admin, deals, activities, now)
    with db.read() as tx:
        changes = tx.scalar("SELECT changes FROM audit_log WHERE entity = 'import' AND action = 'deals'")
        created = tx.scalar("SELECT count(*) FROM audit_log WHERE entity = 'thread' AND action = 'create'")
    assert '"threads": [null, 25]' in changes
    assert '"activities": [null, 30]' in changes
    assert created == written["threads"] == 25


def test_an_unknown_stage_can_be_created_where_open_stages_end(db: Database, admin: User, now: dt.datetime) -> None:
    deals, _ = make_export(12, 40, 0, now.date())
    dm, _, choices = _choices(db, deals)
    prospecting = [k for k in choices.stages if k[1] == "Prospecting"]
    assert prospecting
    choices.stages[prospecting[0]] = deal_import.NEW_STAGE
    plan = deal_import.plan(db, deals, dm, choices, now=now)
    assert plan.new_stages == {prospecting[0]: 1}
    assert plan.counts("deals")["error"] == 0
    deal_import.apply(db, admin, plan, now=now)
    look = dictionaries.lookups(db)
    path = [s.name for s in look.stages_of(1)]
    assert path == ["Lead", "Qualified", "Proposal", "Negotiation", "Prospecting", "Won", "Lost"]
    created = next(s for s in look.stages.values() if s.name == "Prospecting")
    assert (created.percent, created.is_won, created.is_lost) == (75, False, False)
    with db.read() as tx:
        assert (
            tx.scalar("SELECT count(*) FROM threads WHERE stage_id = ?", [created.id])
            == (deals["Stage"] == "Prospecting").sum()
        )
    # imported again with the stage now found by its name: nothing changes
    choices = deal_import.guess_choices(db, deal_import.source_values(deals, dm))
    assert choices.stages[prospecting[0]] == created.id
    again = deal_import.plan(db, deals, dm, choices, now=now)
    assert again.counts("deals")["unchanged"] == 40


def test_dated_stage_history_gives_the_funnel_its_days_in_each_stage(
    db: Database, admin: User, now: dt.datetime
) -> None:
    """A HubSpot-style export says when each deal entered each stage: the funnel's reached
    counts and average days in each stage equal what pandas computes from those dates."""
    from tests.export_sample import DATED_STAGES, entered_column

    today = now.astimezone(org_settings.zone(org_settings.cached(db))).date()
    deals, _ = make_export(31, 600, 0, today, stage_dates=True)
    dm, _, choices = _choices(db, deals)
    assert {k for k in dm if k.startswith(deal_import.ENTERED)} == {deal_import.ENTERED + s for s in DATED_STAGES}
    plan = deal_import.plan(db, deals, dm, choices, now=now)
    assert plan.counts("deals")["error"] == 0
    deal_import.apply(db, admin, plan, now=now)
    f = funnel(db, ReportFilter(today - dt.timedelta(days=800), today), now=now)
    noon = lambda text: (pd.Timestamp(text) + pd.Timedelta(hours=12)).tz_localize(ZONE)  # noqa: E731
    stays: dict[str, list[float]] = {s: [] for s in ("Lead", *DATED_STAGES)}
    reached = dict.fromkeys(("Lead", *DATED_STAGES, "Won"), 0)
    get = deals.columns.get_loc
    for row in deals.itertuples(index=False):
        values = list(row)
        timeline = [("Lead", noon(values[get("Created Date")]))]
        timeline += [(s, noon(values[get(entered_column(s))])) for s in DATED_STAGES if values[get(entered_column(s))]]
        closed = values[get("Stage")] in ("Closed Won", "Closed Lost")
        end = noon(values[get("Close Date")]) if closed else pd.Timestamp(now)
        for (stage, at), (_, until) in zip(timeline, [*timeline[1:], (None, end)], strict=True):
            stays[stage].append((until - at).total_seconds() / 86400)
        for stage, _ in timeline:
            reached[stage] += 1
        if values[get("Stage")] == "Closed Won":
            reached["Won"] = reached["Won"] + 1
            for stage in ("Lead", *DATED_STAGES):  # a won deal went through every stage before
                if stage not in dict(timeline):
                    reached[stage] += 1
    got = {row.stage: (row.reached, row.avg_days) for row in f.stages.itertuples() if row.step is not None}
    for stage, days in stays.items():
        assert got[stage][1] == pytest.approx(sum(days) / len(days), rel=1e-9), stage
    assert {s: got[s][0] for s in reached} == reached


def test_a_stage_date_outside_the_deals_life_is_an_error_of_its_row(
    db: Database, admin: User, now: dt.datetime
) -> None:
    from tests.export_sample import entered_column

    deals, _ = make_export(32, 10, 0, now.date(), stage_dates=True)
    i = deals.index[deals[entered_column("Qualified")] != ""][0]
    deals.loc[i, entered_column("Qualified")] = "1999-01-01"
    deals.loc[i + 1 if i + 1 < 10 else 0, entered_column("Proposal")] = "soon"
    dm, _, choices = _choices(db, deals)
    plan = deal_import.plan(db, deals, dm, choices, now=now)
    errors = {r.line: [(e.field, e.key) for e in r.errors] for r in plan.deals if r.errors}
    assert errors[i + 2] == [(deal_import.ENTERED + "Qualified", "moving.entered_outside")]
    assert (deal_import.ENTERED + "Proposal", "moving.not_a_date") in errors[(i + 1 if i + 1 < 10 else 0) + 2]


def test_the_sources_lost_reasons_map_onto_ours_or_are_created(db: Database, admin: User, now: dt.datetime) -> None:
    deals, _ = make_export(33, 80, 0, now.date())
    dm, _, choices = _choices(db, deals)
    assert set(choices.reasons) == {"Price", "Competitor", "No budget"}
    assert all(v == deal_import.NEW_REASON for k, v in choices.reasons.items() if k != "No budget")
    look = dictionaries.lookups(db)
    ours = {r.name: r.id for r in look.lost_reasons.values()}
    assert choices.reasons["No budget"] == ours["No budget"]  # the same name: found
    choices.reasons["Price"] = ours["Price too high"]
    plan = deal_import.plan(db, deals, dm, choices, now=now)
    assert sorted(plan.new_lost_reasons) == ["Competitor", "Imported"]
    deal_import.apply(db, admin, plan, now=now)
    with db.read() as tx:
        got = dict(
            tx.all(
                "SELECT k.external_id, r.name FROM threads t JOIN import_keys k ON k.entity_id = t.id AND k.kind = 'deal'"
                " JOIN lost_reasons r ON r.id = t.lost_reason_id"
            )
        )
    lost = deals[deals["Stage"] == "Closed Lost"]
    want = {"Price": "Price too high", "Competitor": "Competitor", "No budget": "No budget", "": "Imported"}
    assert got == {row["Opportunity ID"]: want[row["Lost Reason"]] for _, row in lost.iterrows()}


def test_a_reimported_deal_of_another_account_is_refused_and_a_new_title_and_owner_are_taken(
    db: Database, admin: User, now: dt.datetime
) -> None:
    deals, _ = make_export(34, 12, 0, now.date())
    _import(db, admin, deals, None, now)
    deals.loc[0, "Account Name"] = "Somebody Else S.A."
    deals.loc[1, ["Opportunity Name", "Opportunity Owner"]] = ["Renamed deal", "Ada Admin"]
    dm, _, choices = _choices(db, deals)
    plan = deal_import.plan(db, deals, dm, choices, now=now)
    assert [e.key for e in plan.deals[0].errors] == ["moving.other_client"]
    assert plan.deals[1].status == "update"
    assert set(plan.deals[1].changes) == {"title", "owner"}
    deal_import.apply(db, admin, plan, now=now)
    with db.read() as tx:
        title, owner = tx.one(
            "SELECT t.title, t.owner_id FROM threads t JOIN import_keys k ON k.entity_id = t.id AND k.kind = 'deal'"
            " WHERE k.external_id = ?",
            [deals.loc[1, "Opportunity ID"]],
        )
        assert tx.scalar("SELECT count(*) FROM clients WHERE name = 'Somebody Else S.A.'") == 0
    assert (title, owner) == ("Renamed deal", admin.id)


def test_activities_imported_later_attach_to_the_deals_and_move_their_last_activity(
    db: Database, admin: User, now: dt.datetime
) -> None:
    deals, activities = make_export(35, 20, 60, now.date())
    _import(db, admin, deals, None, now)
    plan, written = _import(db, admin, deals, activities, now)
    assert plan.counts("deals")["unchanged"] == 20
    assert written["activities"] == 60
    with db.read() as tx:
        stale = tx.scalar(
            "SELECT count(*) FROM threads t WHERE t.last_event_at <"
            " (SELECT max(e.ends_at) FROM events e WHERE e.thread_id = t.id)"
        )
        assert stale == 0
        assert (
            tx.scalar("SELECT count(DISTINCT thread_id) FROM events WHERE type_id <> ?", [plan.choices.history_type_id])
            > 1
        )
