"""Moving in: a team's deals and their activities from the CRM it leaves (crm_data.deal_import).
Upload, map the columns and the source's stages, owners and types, preview every row, import
all at once. Admins only: the service refuses anyone else, and so does this page."""

from __future__ import annotations

import hashlib
from typing import Any

import pandas as pd
import streamlit as st

from crm_data import deal_import, dictionaries, imports
from crm_data.errors import CrmError, ValidationError
from crm_data.reports import tables as specs
from pages._ui import chrome, tables
from pages._ui import core as ui

account = ui.require_admin("moving.title")
f = ui.fmt()


def label(field: str) -> str:
    """The name of a field of the files (or of what an update changes) in the user's language."""
    base = field.removeprefix("mapping.")
    if base.startswith(deal_import.ENTERED):  # the day a deal entered a stage, as the file names it
        return base.removeprefix(deal_import.ENTERED)
    return f.t(f"moving.field_{ {'name': 'account'}.get(base, base) }")


st.caption(f.t("moving.help"))
if flash := st.session_state.pop("moving_flash", None):
    st.success(flash, icon=":material/check_circle:")
    # where a team looks first at what it brought
    links = st.container(horizontal=True)
    links.page_link("pages/threads.py", label=f.t("threads.title"), icon=":material/forum:")
    links.page_link("pages/funnel.py", label=f.t("funnel.title"), icon=":material/filter_alt:")
    links.page_link("pages/money.py", label=f.t("money.title"), icon=":material/payments:")

left, right = st.columns(2)
with left:
    deals_file = chrome.uploader(f.t("moving.deals_file"), key="mv_deals", types=["csv", "xlsx"])
with right:
    activities_file = chrome.uploader(f.t("moving.activities_file"), key="mv_activities", types=["csv", "xlsx"])
if deals_file is None:
    st.session_state.pop("mv_plan", None)  # a preview of 60,000 rows holds tens of MB: not kept for nothing
    st.info(f.t("moving.start"), icon=":material/upload_file:")
    st.stop()
try:
    deals = imports.read_table(deals_file.getvalue(), deals_file.name, max_rows=deal_import.MAX_DEALS)
    activities = (
        imports.read_table(activities_file.getvalue(), activities_file.name, max_rows=deal_import.MAX_ACTIVITIES)
        if activities_file is not None
        else None
    )
except CrmError as exc:
    ui.show_error(exc)
    st.stop()
st.caption(
    f.t("moving.rows", deals=f.number(len(deals)), activities=f.number(0 if activities is None else len(activities)))
)

db = ui.db()
look = dictionaries.lookups(db, f.lang)
saved = deal_import.saved_setups(db)
setup_name = None
if saved:
    setup_name = st.selectbox(
        f.t("moving.saved"),
        [None, *saved],
        format_func=lambda n: f.t("moving.saved_none") if n is None else n,
        key="mv_saved",
    )
chosen = saved.get(setup_name) if setup_name else None
# the saved mapping's name is part of every widget's key: choosing one draws its values afresh
prefix = f"mv_{hashlib.sha256((setup_name or '').encode()).hexdigest()[:8]}"


def pick(container: Any, label: str, options: list, default: Any, name: Any, key: str, **more: Any) -> Any:
    """A selectbox that starts at `default` (or at the first option when that is not offered)."""
    index = options.index(default) if default in options else 0
    return container.selectbox(label, options, index=index, format_func=name, key=key, **more)


def column_pickers(kind: str, frame: pd.DataFrame, targets: tuple[str, ...], given: dict | None) -> dict:
    guessed = deal_import.guess_mapping(list(frame.columns), kind)
    options = [None, *frame.columns]
    cols = st.columns(4)
    return {
        target: pick(
            cols[i % 4],
            f.t(f"moving.field_{target}") + (" *" if target in deal_import.DEAL_REQUIRED and kind == "deals" else ""),
            options,
            (given or {}).get(target, guessed[target]),
            lambda c: f.t("admin.import_skip") if c is None else str(c),
            f"{prefix}_{kind}_{target}",
        )
        for i, target in enumerate(targets)
    }


def value_pickers(title: str, sources: list, options: list, defaults: list, name: Any, kind: str) -> dict:
    """One selectbox per value the source names (its stages, owners or types), three a row."""
    if not sources:
        return {}
    st.markdown(f"**{title}**")
    cols = st.columns(3)
    return {
        source: pick(
            cols[i % 3],
            ui.md_escape(" · ".join(part for part in source if part) if isinstance(source, tuple) else source),
            options,
            next((d[source] for d in defaults if source in d), None),
            name,
            f"{prefix}_{kind}_{i}",
        )
        for i, source in enumerate(sources)
    }


# open while a required column is not found in the files' headers
complete = all(deal_import.guess_mapping(list(deals.columns), "deals")[t] for t in deal_import.DEAL_REQUIRED) and (
    activities is None
    or all(deal_import.guess_mapping(list(activities.columns), "activities")[t] for t in deal_import.ACTIVITY_REQUIRED)
)
with st.expander(f.t("moving.columns"), expanded=chosen is None and not complete, icon=":material/view_column:"):
    st.markdown(f"**{f.t('moving.deals_file')}**")
    deal_mapping = column_pickers("deals", deals, deal_import.DEAL_TARGETS, chosen.deals if chosen else None)
    # the columns saying when each deal entered a stage are found by their headers
    dated = {
        k: c
        for k, c in deal_import.guess_mapping(list(deals.columns), "deals").items()
        if k.startswith(deal_import.ENTERED)
    }
    deal_mapping |= dated
    if dated:
        st.caption(f.t("moving.stage_dates", stages=", ".join(ui.md_escape(str(c)) for c in dated.values())))
    activity_mapping = None
    if activities is not None:
        st.markdown(f"**{f.t('moving.activities_file')}**")
        activity_mapping = column_pickers(
            "activities", activities, deal_import.ACTIVITY_TARGETS, chosen.activities if chosen else None
        )

values = deal_import.source_values(deals, deal_mapping, activities, activity_mapping)
guessed = deal_import.guess_choices(db, values)
given = chosen.choices if chosen else deal_import.Choices()
stages = {s.id: s for p in look.active(look.pipelines) for s in look.stages_of(p.id)}
stage_label = {sid: f"{look.pipelines[s.pipeline_id].name} · {s.name} ({s.percent} %)" for sid, s in stages.items()}
types = [t.id for t in look.active(look.event_types)]
type_name = lambda t: look.event_types[t].name  # noqa: E731

with st.expander(f.t("moving.values"), expanded=True, icon=":material/alt_route:"):
    choices = deal_import.Choices()
    choices.stages = value_pickers(
        f.t("moving.stages"),
        values["stages"],
        [None, deal_import.NEW_STAGE, *stages],
        [given.stages, guessed.stages],
        lambda s: (
            f.t("moving.not_mapped")
            if s is None
            else f.t("moving.new_stage")
            if s == deal_import.NEW_STAGE
            else stage_label[s]
        ),
        "stage",
    )
    choices.owners = value_pickers(
        f.t("moving.owners"),
        values["owners"],
        [deal_import.NEW_USER, *(p.id for p in look.people.values())],
        [given.owners, guessed.owners],
        lambda u: f.t("moving.new_owner") if u == deal_import.NEW_USER else look.people[u].display_name,
        "owner",
    )
    choices.types = value_pickers(
        f.t("moving.types"), values["types"], types, [given.types, guessed.types], type_name, "type"
    )
    choices.reasons = value_pickers(
        f.t("moving.reasons"),
        values["reasons"],
        [deal_import.NEW_REASON, *(r.id for r in look.active(look.lost_reasons))],
        [given.reasons, guessed.reasons],
        lambda r: f.t("moving.new_reason") if r == deal_import.NEW_REASON else look.lost_reasons[r].name,
        "reason",
    )
    a, b = st.columns(2)
    choices.amount_type_id = pick(
        a,
        f.t("moving.amount_type"),
        [t.id for t in look.active(look.amount_types)],
        given.amount_type_id or guessed.amount_type_id,
        lambda t: look.amount_types[t].name,
        f"{prefix}_amount_type",
    )
    choices.history_type_id = pick(
        b,
        f.t("moving.history_type"),
        types,
        given.history_type_id or guessed.history_type_id,
        type_name,
        f"{prefix}_history_type",
        help=f.t("moving.history_type_help"),
    )
    name_col, save_col = st.columns([3, 1], vertical_alignment="bottom")
    save_name = name_col.text_input(f.t("moving.save_name"), value=setup_name or "", key=f"{prefix}_save_name")
    if save_col.button(f.t("moving.save"), icon=":material/bookmark_add:", key=f"{prefix}_save"):
        try:
            deal_import.save_setup(
                db, account, save_name, deal_import.Setup(deal_mapping, activity_mapping or {}, choices)
            )
            st.toast(f.t("moving.saved_done", name=save_name.strip()), icon=":material/bookmark:")
        except CrmError as exc:
            ui.show_error(exc)

# the preview: every row checked; computed again only when a file or a choice changes
signature = hashlib.sha256(
    repr(
        (
            deals_file.file_id,
            activities_file.file_id if activities_file else None,
            deal_mapping,
            activity_mapping,
            choices,
            f.lang,
        )
    ).encode()
).hexdigest()
cached = st.session_state.get("mv_plan")
if cached is None or cached[0] != signature:
    try:
        with st.spinner(f.t("moving.checking")):
            plan = deal_import.plan(db, deals, deal_mapping, choices, activities, activity_mapping, lang=f.lang)
    except ValidationError as exc:  # the mapping itself: named with this page's labels
        st.error(
            "\n".join(f"- {label(e.field)}: {f.t(e.key, **e.params)}" for e in exc.errors), icon=":material/error:"
        )
        st.stop()
    except CrmError as exc:
        ui.show_error(exc)
        st.stop()
    st.session_state["mv_plan"] = (signature, plan)
else:
    plan = cached[1]


st.subheader(f.t("moving.preview"), anchor=False)
dc, ac = plan.counts("deals"), plan.counts("activities")
cols = st.columns(4)
for col, status in zip(cols, ("new", "update", "unchanged", "error"), strict=True):
    col.metric(f.t(f"moving.status_{status}"), f.number(dc[status]))
    if activities is not None:
        col.caption(f.t("moving.activities_count", n=f.number(ac[status])))
for key, names in (
    ("moving.new_clients", plan.new_clients),
    ("moving.new_owners", plan.new_owners),
    ("moving.new_products", plan.new_products),
    ("moving.new_lost_reasons", plan.new_lost_reasons),
    ("moving.new_stages", [name for _, name in plan.new_stages]),
):
    if names:
        shown = ", ".join(names[:12]) + (
            f" {f.t('moving.and_more', n=f.number(len(names) - 12))}" if len(names) > 12 else ""
        )
        st.caption(f"{f.t(key, n=f.number(len(names)))}: {shown}")

errors = dc["error"] + ac["error"]
only_errors = bool(errors) and st.toggle(
    f.t("moving.only_errors", n=f.number(errors)), value=True, key="mv_only_errors"
)


def preview_frame(rows: list[deal_import.Row]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "file": [f.t(f"moving.kind_{r.kind}") for r in rows],
            "line": [r.line for r in rows],
            "id": [r.external_id for r in rows],
            "status": [f.t(f"moving.status_{r.status}") for r in rows],
            "detail": [
                "; ".join(f"{label(e.field)}: {f.t(e.key, **e.params)}" for e in r.errors)
                or ", ".join(label(c) for c in r.changes)
                for r in rows
            ],
        },
        columns=["file", "line", "id", "status", "detail"],
    )


every = [*plan.deals, *plan.activities]
rows = [r for r in every if r.status == "error" or not only_errors]
tables.table(specs.MOVING_PREVIEW, preview_frame(rows), "mv_preview", height=360)
if errors:  # to fix them in the spreadsheet they came from
    tables.downloads(
        specs.MOVING_PREVIEW,
        lambda: preview_frame([r for r in every if r.status == "error"]),
        "import-errors",
        "mv_errors_dl",
        what=f.t("moving.errors_file"),
    )
st.caption(f.t("moving.shown", shown=f.number(len(rows)), total=f.number(len(plan.deals) + len(plan.activities))))

if plan.writes:
    if st.button(f.t("moving.confirm", n=f.number(plan.writes)), type="primary", icon=":material/upload:", key="mv_go"):
        try:
            with st.spinner(f.t("moving.importing")):
                done = deal_import.apply(db, account, plan)
        except CrmError as exc:
            ui.show_error(exc)
        else:
            st.session_state.pop("mv_plan", None)
            st.session_state["moving_flash"] = f.t(
                "moving.done",
                threads=f.number(done["threads"]),
                updated=f.number(done["updated"]),
                activities=f.number(done["activities"]),
                clients=f.number(done["clients"]),
            )
            st.rerun()
else:
    st.info(f.t("moving.nothing"), icon=":material/info:")
