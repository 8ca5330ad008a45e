"""The log form: client, thread, type, time, note, save; "More details" opens every extended
part. Used by the Log event page, the thread page and (to complete planned events) Today.

Its widget keys carry a generation (pages/_ui/formkeys.py): after a successful save the form
starts empty; after a failed save what the user typed stays."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from crm_data import clients, clock, events
from crm_data.checks import local_to_utc
from crm_data.errors import CrmError
from crm_data.planning import ConflictWarning, working_hours
from crm_data.reservations import ResourceTaken
from crm_data.rules import next_working_slot
from crm_data.threads import ThreadChoice
from pages._ui import chrome, closing, pickers, problems, slotfields
from pages._ui import core as ui
from pages._ui.formkeys import FormKeys


@dataclass(frozen=True)
class Preset:
    """What the form starts with: a client and thread chosen elsewhere, or a planned event
    to complete (its client, thread and type are then fixed)."""

    client_id: int | None = None
    thread_id: int | None = None
    complete_event_id: int | None = None
    complete_event_version: int | None = None
    type_id: int | None = None
    note: str = ""


def _errors_for(k: FormKeys, *fields: str) -> None:
    for name in fields:
        ui.field_errors(k.fixed("error"), name)


def _now_local() -> dt.datetime:
    now = clock.now().astimezone(ui.fmt().tz)
    return now.replace(second=0, microsecond=0)


def _rows(frame: pd.DataFrame | None) -> list[dict[str, Any]]:
    if frame is None:
        return []
    out = []
    for row in frame.to_dict("records"):
        if any(v not in (None, "") and not (isinstance(v, float) and pd.isna(v)) for v in row.values()):
            out.append(row)
    return out


def render(prefix: str, preset: Preset | None = None) -> None:
    """Draw the form. On a narrow screen "More details" moves below Save (pages/_ui/chrome.py),
    so a call is saved without scrolling past it; the form is one container, so nothing else on
    the page moves with it.

    A save (the day's most frequent action) costs one run of the page, not two: the form is
    drawn in a placeholder, and after a successful save the confirmation and the empty form for
    the next event replace it in the same run (before, the save ended with `st.rerun()`, which
    ran the whole page again). Nothing drawn before the form reads what a save changes; a
    completed planned event (`complete_event_id`) still reruns the page, as it leaves the list
    it was picked from."""
    with st.container(key=f"{prefix}_form"):
        slot = st.empty()
        with slot.container():
            saved = _render(prefix, preset)
        if saved:
            with slot.container():
                _render(prefix, preset)


def _render(prefix: str, preset: Preset | None) -> bool:
    """The form; True when it saved in this run and is to be drawn again, empty, in its place."""
    preset = preset or Preset()
    k = FormKeys(prefix)
    f = ui.fmt()
    look = ui.lookups()
    account = ui.require_user()
    settings = ui.org()

    # the last save's confirmation, on the form it was saved from: opened anew for another
    # client or thread, the form does not greet the user with an earlier save (nor offer its link)
    last = st.session_state.get(k.fixed("result"))
    if last is not None and last[0] == preset:
        _confirmation(last[1])

    fixed = preset.complete_event_id is not None
    client_id = pickers.client_for_event(k("client"), preset.client_id, disabled=fixed)
    _errors_for(k, "client_id")
    thread_id, thread = pickers.thread_for_event(k("thread"), client_id, preset.thread_id, disabled=fixed)
    _errors_for(k, "thread_id")

    types = look.active(look.event_types)
    type_ids = [et.id for et in types]
    default_type = preset.type_id if preset.type_id in type_ids else (type_ids[0] if type_ids else None)
    type_id = st.pills(
        f.t("field.type_id"),
        type_ids,
        default=default_type,
        format_func=lambda tid: look.event_types[tid].name,
        key=k("type"),
    )
    _errors_for(k, "type_id")
    now = _now_local()
    when = st.container(horizontal=True)  # one row on a phone too (columns stack there)
    day = when.date_input(f.t("field.day"), value=now.date(), format=f.date_input_format(), key=k("day"))
    at = when.time_input(f.t("field.time"), value=now.time(), step=300, key=k("time"))
    _errors_for(k, "occurred_at")
    note = st.text_area(
        f.t("field.note"),
        value=preset.note,
        key=k("note"),
        height=100,
        placeholder=f.t("log.note_placeholder_new" if thread_id is ThreadChoice.NEW else "log.note_placeholder"),
    )
    _errors_for(k, "note")

    extra = _details(k, look, account, settings, client_id, thread_id, thread, type_id)

    # what stands in the way, and a free slot taken, show just above Save, where the user looks
    error = st.session_state.get(k.fixed("error"))
    accept = False
    if isinstance(error, ConflictWarning | ResourceTaken):
        accept = problems.problem_panel(
            error,
            k("problem"),
            on_use_slot=lambda s, e: problems.set_when(lambda n: k(f"next_{n}"), s, e, problem_key=k.fixed("error")),
        )
    elif error is not None:
        ui.show_error(error)
    problems.chosen_slot_note(k("next_slot_chosen"))
    save = st.button(f.t("log.save"), type="primary", key=k("save"), icon=":material/save:")
    if save or accept:
        try:
            occurred = local_to_utc(day, at, settings.time_zone, "occurred_at") if day and at else None
            cmd = events.LogEvent(
                type_id=type_id,
                occurred_at=occurred,
                client_id=client_id,
                thread_id=thread_id,
                note=note or "",
                thread_version=thread.version if thread else None,
                complete_event_id=preset.complete_event_id,
                complete_event_version=preset.complete_event_version,
                accept_conflicts=accept,
                lang=f.lang,
                **extra(),
            )
            result = events.log_event(ui.db(), account, cmd)
        except CrmError as exc:
            st.session_state[k.fixed("error")] = exc
            st.session_state.pop(k("next_slot_chosen"), None)
            st.rerun()
        else:
            k.renew()
            st.session_state.pop(k.fixed("error"), None)
            st.session_state[k.fixed("result")] = (preset, result)
            if fixed:  # the completed event leaves the list it was picked from: confirm where the user lands
                st.session_state["planner_flash"] = _saved_text(result)
                st.rerun()
            return True
    return False


def _saved_text(result: events.LogResult) -> str:
    f = ui.fmt()
    return (
        ui.tm("log.saved", stage=result.stage_name, percent=f.percent(result.percent))
        + (" " + f.t("log.saved_new_thread") if result.new_thread else "")
        + closing.cancelled_text(result.cancelled)
    )


def _confirmation(result: events.LogResult) -> None:
    f = ui.fmt()
    with st.container(border=True):
        st.success(_saved_text(result), icon=":material/check_circle:")
        st.page_link(
            "pages/thread.py",
            label=f.t("log.open_thread"),
            icon=":material/forum:",
            query_params={"id": result.thread_id},
        )


def _keep() -> None:
    """The expander's change callback: Streamlit keeps its state (nothing else to do)."""


def _details(k: FormKeys, look, account, settings, client_id, thread_id, thread, type_id):
    """The "More details" expander. Returns a function giving the extended parts of the
    command (called only when saving)."""
    f = ui.fmt()
    # open or closed is the user's, kept in the session (a key and a change callback make
    # Streamlit track it): an untracked expander drawn anew came back closed in the middle of
    # filling it in (seen under load, after several reruns of the form); a failed save or a
    # chosen slot opens it
    open_key = k("more_open")
    if st.session_state.get(k.fixed("error")) or st.session_state.get(k("next_slot_chosen")):
        st.session_state[open_key] = True
    box = st.container(key=k("moredetails"))  # drawn twice in the run of a save: a key per generation
    expander = box.expander(f.t("log.more_details"), icon=":material/tune:", key=open_key, on_change=_keep)
    # Its fields are drawn from the moment the user opens it, and then for the rest of this form's
    # life, closed again or not (what was typed there stays). A call logged without opening it
    # draws none of them: they were about half of the form's work, and a save draws the form
    # twice (py-spy under load). Untouched, every one of them gives the command's own default,
    # so leaving them out gives the same command.
    drawn_key = k.fixed("details_drawn")  # the generation whose details were drawn
    if expander.open:
        st.session_state[drawn_key] = k.gen
    if st.session_state.get(drawn_key) != k.gen:
        return lambda: {}
    with expander:
        duration = slotfields.duration(
            st, f.t("field.duration_min"), k("duration"), value=None, step=5, placeholder=f.t("log.duration_default")
        )
        _errors_for(k, "duration_min")

        # thread: title and pipeline for a new one; a stage change for any
        title, pipeline_id = "", None
        if thread_id is ThreadChoice.NEW:
            c1, c2 = st.columns(2)
            title = c1.text_input(f.t("field.new_thread_title"), key=k("title"), placeholder=f.t("log.title_default"))
            pipes = look.active(look.pipelines)
            pipeline_id = c2.selectbox(
                f.t("field.pipeline_id"),
                [p.id for p in pipes],
                format_func=lambda pid: look.pipelines[pid].name,
                key=k("pipeline"),
            )
            _errors_for(k, "new_thread_title", "pipeline_id")
        stage_pipeline = thread.pipeline_id if thread else pipeline_id
        stage_id, lost_reason_id, cancel_planned = None, None, True
        if stage_pipeline is not None:
            stages = look.stages_of(stage_pipeline)
            current = thread.stage_id if thread else None
            choices = [None] + [s.id for s in stages if s.id != current]
            c1, c2 = st.columns(2)
            stage_id = c1.selectbox(
                f.t("field.stage_id"),
                choices,
                format_func=lambda sid: (
                    f.t("log.stage_unchanged")
                    if sid is None
                    else f"{look.stages[sid].name} ({f.percent(look.stages[sid].percent)})"
                ),
                key=k(f"stage_{stage_pipeline}"),
            )
            _errors_for(k, "stage_id")
            if stage_id is not None and look.stages[stage_id].is_lost:
                reasons = look.active(look.lost_reasons)
                lost_reason_id = c2.selectbox(
                    f.t("field.lost_reason_id"),
                    [r.id for r in reasons],
                    index=None,
                    format_func=lambda rid: look.lost_reasons[rid].name,
                    key=k("lost_reason"),
                )
                _errors_for(k, "lost_reason_id")
            if stage_id is not None and look.stages[stage_id].thread_status != "open" and thread:
                cancel_planned = closing.cancel_choice(st, thread.id, k("cancel_planned"))
        expectation = _expectation_fields(k, thread)

        # custom dictionaries of the chosen type
        dict_values: dict[int, int | None] = {}
        for dictionary, required in look.dictionaries_for(type_id) if type_id else []:
            values = [v for v in dictionary.values if v.active]
            label = ui.md_escape(dictionary.name) + (" \\*" if required else "")
            dict_values[dictionary.id] = st.selectbox(
                label,
                [v.id for v in values],
                index=None,
                format_func=lambda vid, d=dictionary: next(v.value for v in d.values if v.id == vid),
                placeholder=f.t("log.choose"),
                key=k(f"dict_{dictionary.id}"),
            )
            _errors_for(k, f"dictionary.{dictionary.id}")

        st.markdown(f"**{f.t('log.next_step')}**")
        plan = st.toggle(f.t("log.plan_next"), key=k("plan"))
        next_step = None
        if plan:
            next_step = _next_step_fields(k, settings)

        st.markdown(f"**{f.t('field.amounts')}**")
        st.caption(f.t("log.table_help"))
        amount_names = {a.name: a.id for a in look.active(look.amount_types)}
        amounts_frame = st.data_editor(
            pd.DataFrame({"type": pd.Series(dtype="str"), "value": pd.Series(dtype="str")}),
            num_rows="dynamic",
            hide_index=True,
            key=k("amounts"),
            placeholder="",
            column_config={
                "type": st.column_config.SelectboxColumn(
                    f.t("field.amount_type_id"), options=list(amount_names), required=True
                ),
                "value": st.column_config.TextColumn(
                    f.t("field.value"), help=f.t("log.amount_help", currency=settings.currency)
                ),
            },
        )
        _errors_for(k, "amounts")

        st.markdown(f"**{f.t('field.products')}**")
        product_labels = {p.label: p.id for p in look.active(look.products)}
        products_frame = st.data_editor(
            pd.DataFrame(
                {
                    "product": pd.Series(dtype="str"),
                    "quantity": pd.Series(dtype="str"),
                    "unit_price": pd.Series(dtype="str"),
                }
            ),
            num_rows="dynamic",
            hide_index=True,
            key=k("products"),
            placeholder="",
            column_config={
                "product": st.column_config.SelectboxColumn(
                    f.t("field.product_id"), options=list(product_labels), required=True
                ),
                "quantity": st.column_config.TextColumn(f.t("field.quantity"), default="1"),
                "unit_price": st.column_config.TextColumn(f.t("field.unit_price"), help=f.t("log.price_help")),
            },
        )
        _errors_for(k, "products")

        st.markdown(f"**{f.t('field.participants')}**")
        contacts = clients.contacts_of(ui.db(), client_id) if client_id else []
        c1, c2 = st.columns(2)
        contact_ids = c1.multiselect(
            f.t("log.client_contacts"),
            [c.id for c in contacts],
            format_func=lambda cid: next(c.name for c in contacts if c.id == cid),
            key=k(f"contacts_{client_id}"),
            placeholder=f.t("log.choose"),
        )
        people = [p for p in look.active(look.people) if p.id != account.id]
        coworker_ids = c2.multiselect(
            f.t("log.coworkers"),
            [p.id for p in people],
            format_func=lambda uid: look.people[uid].display_name,
            key=k("coworkers"),
            placeholder=f.t("log.choose"),
        )
        third = st.text_area(
            f.t("log.third_parties"), key=k("third"), height=68, placeholder=f.t("log.third_parties_help")
        )
        _errors_for(k, "participants")

        files = chrome.uploader(
            f.t("field.attachments"), key=k("files"), max_mb=settings.attachment_max_mb, accept_multiple_files=True
        )
        _errors_for(k, "attachments")

    def parts() -> dict[str, Any]:
        amounts = tuple(
            events.AmountInput(amount_names.get(row.get("type")), row.get("value")) for row in _rows(amounts_frame)
        )
        products = tuple(
            events.ProductInput(
                product_labels.get(row.get("product")), row.get("quantity") or "1", row.get("unit_price") or None
            )
            for row in _rows(products_frame)
        )
        participants = (
            [events.ParticipantInput(contact_id=cid) for cid in contact_ids]
            + [events.ParticipantInput(user_id=uid) for uid in coworker_ids]
            + [events.ParticipantInput(name=line.strip()) for line in (third or "").splitlines() if line.strip()]
        )
        return {
            "duration_min": duration,
            "new_thread_title": title or "",
            "pipeline_id": pipeline_id,
            "stage_id": stage_id,
            "lost_reason_id": lost_reason_id,
            "cancel_planned": cancel_planned,
            **expectation(),
            "dictionary_values": dict_values,
            "next_step": next_step() if next_step else None,
            "amounts": amounts,
            "products": products,
            "participants": tuple(participants),
            "attachments": tuple(events.AttachmentInput(fl.name, fl.getvalue()) for fl in files or []),
        }

    return parts


def _expectation_fields(k: FormKeys, thread: Any) -> Any:
    """The thread's expected close date and value (the forecast), shown as they are; returns a
    function giving the command's `expected_close`/`expected_value`, only those the user changed."""
    f = ui.fmt()
    close = None if thread is None or pd.isna(thread.expected_close) else pd.Timestamp(thread.expected_close).date()
    value = None if thread is None or pd.isna(thread.expected_value) else thread.expected_value
    shown = f.number(value, 2) if value is not None else ""
    c1, c2 = st.columns(2)
    chosen_close = c1.date_input(
        f.t("field.expected_close"),
        value=close,
        min_value=dt.date(2000, 1, 1),
        max_value=dt.date(2099, 12, 31),
        format=f.date_input_format(),
        key=k(f"close_{thread.id if thread is not None else 'new'}"),
        help=f.t("log.close_help"),
    )
    typed_value = c2.text_input(
        f.t("field.expected_value"),
        value=shown,
        key=k(f"value_{thread.id if thread is not None else 'new'}"),
        placeholder=f.t("thread.value_placeholder"),
        help=f.t("thread.value_help", currency=f.currency),
    )
    _errors_for(k, "expected_close", "expected_value")

    def changed() -> dict[str, Any]:
        return {
            "expected_close": chosen_close if chosen_close != close else None,
            "expected_value": typed_value if typed_value.strip() and typed_value != shown else None,
        }

    return changed


def _next_step_fields(k: FormKeys, settings: Any) -> Any:
    if k("next_day") not in st.session_state:
        # a next step comes after today: the first working day from tomorrow, at its usual start
        tomorrow = dt.datetime.combine(_now_local().date() + dt.timedelta(days=1), dt.time(0), ui.fmt().tz)
        proposed = next_working_slot(tomorrow, working_hours(settings))
        st.session_state[k("next_day")] = proposed.date()
        st.session_state[k("next_time")] = proposed.time().replace(tzinfo=None)
    st.session_state.setdefault(k("next_duration"), None)
    return slotfields.slot_fields(
        lambda name: k(f"next_{name}"),
        "field.next.",
        start_field="next.starts_at",
        after_row=lambda fields: _errors_for(k, *(f"next.{name}" for name in fields)),
    )
